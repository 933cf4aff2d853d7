"""Publish stage: the run folder, written atomically, published or quarantined."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from synthpipe.config import RunConfig
from synthpipe.errors import ConfigError, InputError
from synthpipe.io import atomic_path, sha256_file, write_json, write_table, write_text
from synthpipe.report.integrity import AWAITING, PENDING


@dataclass
class RunResult:
    """What a run produced.

    Attributes:
        out_dir: The run folder.
        publishable: Whether every blocking gate passed (False: quarantined).
        synthetic_path: The published synthetic table, or the quarantined one.
        manifest_path: manifest.json.
        metrics_path: metrics.json.
        report_path: report.html, when built.
        metrics: The metrics dict (with the gate verdict under "gates").
        verdict: ``published``, ``quarantined``, ``secure_zone_only`` (augment mode passed
            its gates, but its table holds real training rows: never published), or
            ``awaiting_approval`` (gates passed, the table waits under ``pending/`` for a
            steward: :mod:`synthpipe.pipeline.approval`).
    """

    out_dir: Path
    publishable: bool
    synthetic_path: Path
    manifest_path: Path
    metrics_path: Path
    report_path: Path | None
    metrics: dict[str, Any]
    verdict: str = "published"


def default_out_dir(cfg: RunConfig) -> Path:
    """``<runs_dir>/<table stem>-<UTC timestamp>`` (runs_dir defaults to ``runs``)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(cfg.runs_dir) / f"{Path(cfg.table).stem}-{stamp}"


def check_out_dir(out_dir: Path) -> None:
    """Refuse to write into a folder that holds something: a run never overwrites another.

    Raises:
        ConfigError: ``out_dir`` is an existing file.
        InputError: ``out_dir`` exists and is not empty.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(
            f"output folder {out_dir} is a file",
            hint="pass --out a folder path that does not exist yet (or an empty folder)",
        )
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError(
            f"output folder {out_dir} already exists and is not empty",
            hint="choose a new --out folder or remove the old one",
        )


def check_writable(folder: Path, what: str, hint: str) -> None:
    """Create ``folder`` (and its missing parents) and a temporary file in it, then remove
    everything this created.

    A real attempt, not ``os.access``: permission bits say nothing for root, and neither for a
    read-only mount, ``/proc`` or a path under a file.

    Args:
        folder: The folder that must be writable.
        what: How the error names it ("output folder /x/run").
        hint: The fix the error suggests.

    Raises:
        ConfigError: The folder cannot be created or written, naming the reason.
    """
    folder = Path(folder)
    missing: list[Path] = []
    p = folder
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    if not p.is_dir():
        raise ConfigError(f"{what} cannot be created: {p} is not a folder", hint=hint)
    created: list[Path] = []
    try:
        for d in reversed(missing):
            d.mkdir()
            created.append(d)
        fd, probe = tempfile.mkstemp(prefix=".synthpipe-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        where = f" ({exc.filename})" if exc.filename else ""
        raise ConfigError(f"{what} cannot be written: {reason}{where}", hint=hint) from None
    finally:
        for d in reversed(created):
            try:
                d.rmdir()
            except OSError:
                pass


def out_dir_for(cfg: RunConfig) -> Path:
    """The run folder of ``cfg`` (``cfg.out`` or :func:`default_out_dir`), checked to be free
    and its parent to be writable.

    Checked before any work, so a run does not train for minutes to fail at the end. The parent
    is what publishing writes into (the temporary run folder renamed into place, the parts of
    a large output), so that is the folder probed.

    Raises:
        ConfigError: The path is a file, or its parent cannot be created or written.
        InputError: The folder exists and is not empty.
    """
    out_dir = Path(cfg.out) if cfg.out else default_out_dir(cfg)
    check_out_dir(out_dir)
    option = "--out" if cfg.out else "runs_dir (or --out)"
    check_writable(
        out_dir.parent, f"output folder {out_dir}",
        hint=f"pass {option} a folder in a place you can write to (its parent folder must "
             "exist or be creatable)",
    )
    return out_dir


def publish(
    out_dir: Path,
    published: pd.DataFrame | Path,
    manifest: dict,
    metrics: dict,
    suite_json: dict | None,
    model_path: str,
    verdict: dict,
    report_builder: Callable[[Path], Any] | None = None,
    pii_values: dict[str, pd.Series] | None = None,
    pending: bool = False,
) -> RunResult:
    """Write the run folder atomically: everything goes to a temp folder renamed at the end.

    A publishable run writes ``synthetic.parquet`` at the top (``augmented.parquet`` in augment
    mode: real training rows plus synthetic minority rows, for use inside the secure zone only,
    and never called published); with ``pending`` (``approval: required``) it writes it under
    ``pending/`` instead, with the verdict ``awaiting_approval``, for a steward to decide on the
    report (:mod:`synthpipe.pipeline.approval`); a run that failed a blocking gate
    writes it under ``quarantine/`` beside ``REASONS.txt``, and nothing at the top level that a
    consumer could pick up by mistake. A large output arrives as a folder of parquet parts and
    is published as the dataset ``synthetic/`` (or ``quarantine/synthetic/``).

    Before the rename, every file of the folder is searched for the real direct-identifier
    values (:func:`synthpipe.pipeline.scan.scan_folder`); the verdict records the search as the
    blocking check ``pii_leaks_outputs``. A hit fails closed, in two steps:

    1. the run is quarantined (the table moves under ``quarantine/``, REASONS.txt says why)
       and metrics.json, manifest.json and the report are written again with that verdict;
    2. the folder is searched again, and every file that still holds a real value is
       withheld: deleted before anyone can read it, and listed by name (never by value) in
       REASONS.txt and under ``withheld`` in the manifest.

    So a value that reached the metrics through, say, a column name costs the run its
    metrics and report, not its privacy.

    Args:
        out_dir: The run folder (must not hold anything).
        published: The output table, or the staging folder of a large output's parts.
        manifest: The manifest so far (:func:`synthpipe.pipeline.manifest.build_manifest`).
        metrics: The metrics, with the gate verdict under ``gates``.
        suite_json: The synthetic expectation suite, or None.
        model_path: The saved model's folder, copied to ``model/``.
        verdict: The gate verdict.
        report_builder: Writes report.html and report.json into a folder.
        pii_values: The real direct-identifier values of the input searched in the files
            (:attr:`synthpipe.pipeline.steps.protect.Protected.pii_values`).
        pending: Hold a publishable table for a steward's decision.
    """
    from synthpipe.evaluation.gates import with_check
    from synthpipe.pipeline.scan import output_values, outputs_leak_check, scan_folder

    out_dir = Path(out_dir)
    check_out_dir(out_dir)
    values = output_values(pii_values)
    gated = with_check(verdict, outputs_leak_check([]))  # true if the search below finds none
    publishable = bool(gated["publishable"])
    augment = manifest.get("output_mode") == "augment"
    name = "synthetic" if isinstance(published, Path) else (
        "augmented.parquet" if augment else "synthetic.parquet")
    rel_synth = Path(name) if publishable else Path("quarantine") / name
    if publishable and pending:
        rel_synth = Path(PENDING) / name
        manifest = {**manifest, "approval": {"required": True, "decision": None}}
    withheld: list[str] = []
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        if isinstance(published, Path):
            (tmp / rel_synth).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(published, tmp / rel_synth)
        else:
            write_table(published, tmp / rel_synth)
        if suite_json is not None:
            write_json(suite_json, tmp / "expectations" / "synthetic_suite.json")
        shutil.copytree(model_path, tmp / "model")
        metrics = {**metrics, "gates": gated}
        _write_records(tmp, manifest, metrics, gated, report_builder)
        found = scan_folder(tmp, values) if values else []
        if found:
            gated = with_check(verdict, outputs_leak_check(found))
            metrics = {**metrics, "gates": gated}
            if publishable:
                quarantined = Path("quarantine") / name
                (tmp / quarantined).parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp / rel_synth, tmp / quarantined)
                rel_synth, publishable = quarantined, False
            _write_records(tmp, manifest, metrics, gated, report_builder)
            withheld = _withhold(tmp, scan_folder(tmp, values), manifest, gated)
    report = out_dir / "report.html"
    return RunResult(
        out_dir=out_dir,
        publishable=publishable,
        synthetic_path=out_dir / rel_synth,
        manifest_path=out_dir / "manifest.json",
        metrics_path=out_dir / "metrics.json",
        report_path=report if report.exists() else None,
        metrics={**metrics, "withheld": withheld} if withheld else metrics,
        verdict=run_verdict_word(publishable, augment, awaiting(manifest)),
    )


def awaiting(manifest: dict) -> bool:
    """Whether a manifest's run requires a steward's decision that was not taken yet."""
    approval = manifest.get("approval")
    return isinstance(approval, dict) and approval.get("required") is True and (
        approval.get("decision") is None)


def run_verdict_word(publishable: bool, augment: bool, pending: bool = False) -> str:
    """The run's verdict as recorded: an augmented table is never "published"; a table that
    waits for a steward is ``awaiting_approval``."""
    if not publishable:
        return "quarantined"
    if pending:
        return AWAITING
    return "secure_zone_only" if augment else "published"


def _write_records(folder: Path, manifest: dict, metrics: dict, verdict: dict,
                   report_builder: Callable[[Path], Any] | None) -> None:
    """REASONS.txt (when quarantined), metrics.json, manifest.json and the report, for
    ``verdict``; written again whenever the verdict changes."""
    if not verdict["publishable"]:
        _write_reasons(folder, verdict)
    write_json(metrics, folder / "metrics.json")
    _write_manifest(folder, manifest, verdict)
    if report_builder is not None:
        report_builder(folder)


def _write_manifest(folder: Path, manifest: dict, verdict: dict,
                    withheld: list[str] | None = None) -> None:
    record = {
        **manifest,
        "gates": {"publishable": bool(verdict["publishable"]),
                  "failed": verdict.get("failed", [])},
        "verdict": run_verdict_word(bool(verdict["publishable"]),
                                    manifest.get("output_mode") == "augment", awaiting(manifest)),
        "outputs": _hash_outputs(folder, skip=("manifest.json", "report.html", "report.json")),
    }
    if withheld:
        record["withheld"] = withheld
    write_json(record, folder / "manifest.json")


def _write_reasons(folder: Path, verdict: dict, withheld: dict[str, list[str]] | None = None
                   ) -> None:
    reasons = "\n".join(
        f"- {c['name']}: {c['message']}"
        for c in verdict["checks"]
        if c["passed"] is False and c["severity"] == "block"  # None: skipped, not a reason
    )
    text = "This dataset failed a blocking gate and must not be published.\n" + reasons + "\n"
    for file, columns in (withheld or {}).items():
        text += f"- withheld: {file} (held real values of {', '.join(columns)})\n"
    (folder / "quarantine").mkdir(exist_ok=True)
    write_text(text, folder / "quarantine" / "REASONS.txt")


def _withhold(folder: Path, found: list[dict], manifest: dict, verdict: dict) -> list[str]:
    """Delete every file ``found`` still names; record them in REASONS.txt and the manifest.

    Returns:
        The withheld files (relative POSIX paths).
    """
    by_file: dict[str, list[str]] = {}
    for f in found:
        by_file.setdefault(f["file"], []).append(f["identifier"])
    for rel in by_file:
        (folder / rel).unlink()
    withheld = sorted(by_file)
    if withheld:
        # Both hold only gate messages, file names and identifier column names.
        _write_reasons(folder, verdict, by_file)
        if "manifest.json" not in by_file:
            _write_manifest(folder, manifest, verdict, withheld)
    return withheld


def _hash_outputs(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """SHA-256 of every file of ``folder`` but the records written after it (``skip``)."""
    return {
        str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*"))
        if p.is_file() and str(p.relative_to(folder)) not in skip
    }


def build_report(folder: Path) -> None:
    """Write report.html and report.json into a run folder."""
    from synthpipe.report import build_report as build

    build(folder)
