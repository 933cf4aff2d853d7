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
from synthpipe.io import atomic_path, sha256_file, write_json, write_table


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
    """

    out_dir: Path
    publishable: bool
    synthetic_path: Path
    manifest_path: Path
    metrics_path: Path
    report_path: Path | None
    metrics: dict[str, Any]


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
) -> RunResult:
    """Write the run folder atomically: everything goes to a temp folder renamed at the end.

    A publishable run writes ``synthetic.parquet`` at the top; a run that failed a blocking gate
    writes it under ``quarantine/`` beside ``REASONS.txt``, and nothing at the top level that a
    consumer could pick up by mistake. A large output arrives as a folder of parquet parts and
    is published as the dataset ``synthetic/`` (or ``quarantine/synthetic/``).
    """
    out_dir = Path(out_dir)
    check_out_dir(out_dir)
    publishable = bool(verdict["publishable"])
    name = "synthetic" if isinstance(published, Path) else "synthetic.parquet"
    rel_synth = Path(name) if publishable else Path("quarantine") / name
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        if isinstance(published, Path):
            (tmp / rel_synth).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(published, tmp / rel_synth)
        else:
            write_table(published, tmp / rel_synth)
        if not publishable:
            reasons = "\n".join(
                f"- {c['name']}: {c['message']}"
                for c in verdict["checks"]
                if not c["passed"] and c["severity"] == "block"
            )
            (tmp / "quarantine" / "REASONS.txt").write_text(
                "This dataset failed a blocking gate and must not be published.\n" + reasons + "\n"
            )
        if suite_json is not None:
            write_json(suite_json, tmp / "expectations" / "synthetic_suite.json")
        shutil.copytree(model_path, tmp / "model")
        write_json(metrics, tmp / "metrics.json")
        manifest = {
            **manifest,
            "verdict": "published" if publishable else "quarantined",
            "outputs": _hash_outputs(tmp),
        }
        write_json(manifest, tmp / "manifest.json")
        if report_builder is not None:
            report_builder(tmp)
    report = out_dir / "report.html"
    return RunResult(
        out_dir=out_dir,
        publishable=publishable,
        synthetic_path=out_dir / rel_synth,
        manifest_path=out_dir / "manifest.json",
        metrics_path=out_dir / "metrics.json",
        report_path=report if report.exists() else None,
        metrics=metrics,
    )


def _hash_outputs(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()
    }


def build_report(folder: Path) -> None:
    """Write report.html and report.json into a run folder."""
    from synthpipe.report import build_report as build

    build(folder)
