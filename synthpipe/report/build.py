"""Assemble a run's review report: ``report.json`` for machines, ``report.html`` for people.

The report is built only from what the run folder holds (``manifest.json``, ``metrics.json``,
``model/config.json``, ``quarantine/REASONS.txt``, ``review_log.jsonl``). The real rows are not
in the folder, so real-vs-synthetic distributions come from aggregated profiles
(:func:`~synthpipe.report.profiles.column_profiles`) that the pipeline stores in
``metrics["profiles"]``.

Every section degrades on its own: a key that is missing or half-filled gives "not computed"
for that part, never an exception and never a made-up number.

The build is deterministic (no wall-clock time, no absolute path of the run folder): rebuilding
an unchanged folder gives byte-identical files, so a rebuild does not invalidate a review
(see :mod:`synthpipe.report.review`).

Where the parts live: :mod:`~synthpipe.report.data` reads the folder's JSON defensively, one
module per section under :mod:`~synthpipe.report.sections` turns it into section data,
:mod:`~synthpipe.report.charts` draws the charts and :mod:`~synthpipe.report.html` renders the
page. This module composes them.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synthpipe.errors import InputError
from synthpipe.io import atomic_path, sha256_file
from synthpipe.jsonutil import to_jsonable
from synthpipe.report.charts import render_charts
from synthpipe.report.data import load_json
from synthpipe.report.html import render_html
from synthpipe.report.profiles import MIN_COUNT, column_profiles
from synthpipe.report.sections.contracts import rules_section, suite_section
from synthpipe.report.sections.fidelity import fidelity_section
from synthpipe.report.sections.model_card import model_card_section
from synthpipe.report.sections.privacy import privacy_section
from synthpipe.report.sections.run import pii_section, run_section
from synthpipe.report.sections.signoff import signoff_section
from synthpipe.report.sections.utility import utility_section
from synthpipe.report.sections.verdict import verdict_section

log = logging.getLogger(__name__)

SCHEMA = "synthpipe.report/1"

SECTIONS = (
    ("verdict", "Verdict"),
    ("run", "Run facts"),
    ("pii", "Personal data (PII)"),
    ("validation", "Data contracts (Great Expectations)"),
    ("fidelity", "Fidelity"),
    ("privacy", "Privacy"),
    ("utility", "Utility and rebalancing"),
    ("model_card", "Model card"),
    ("signoff", "Review and sign-off"),
)


def assemble_report(run_dir: str | Path) -> dict[str, Any]:
    """Read a run folder and return every report section as plain data (``report.json``).

    Args:
        run_dir: A run folder written by the pipeline.

    Returns:
        ``{"schema", "title", "verdict", "sources", "sections": [{"id", "number", "title",
        ...section data}]}``.

    Raises:
        InputError: The folder, its manifest.json or its metrics.json is missing or unreadable.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"run folder {run_dir} does not exist",
                         hint="pass the folder a `synthpipe run` wrote (its --out)")
    manifest = load_json(run_dir / "manifest.json", required=True)
    metrics = load_json(run_dir / "metrics.json", required=True)
    if not isinstance(manifest, dict) or not isinstance(metrics, dict):
        raise InputError(f"manifest.json and metrics.json in {run_dir} must each hold an object",
                         hint="the run folder is damaged; re-run the job")
    model_cfg = load_json(run_dir / "model" / "config.json", required=False)
    reasons_path = run_dir / "quarantine" / "REASONS.txt"
    reasons = reasons_path.read_text(encoding="utf-8") if reasons_path.is_file() else None

    run = run_section(manifest, model_cfg if isinstance(model_cfg, Mapping) else None)
    gates_cfg = run["gates_config"]
    verdict = verdict_section(manifest, metrics, reasons)
    pii = pii_section(manifest)
    fidelity = fidelity_section(metrics, manifest, gates_cfg)
    privacy = privacy_section(metrics, gates_cfg)
    data = {
        "verdict": verdict, "run": run, "pii": pii,
        "validation": {
            "input_contract": suite_section(metrics.get("input_contract")),
            "synthetic_suite": suite_section(metrics.get("synthetic_suite")),
            "rules": rules_section(metrics),
        },
        "fidelity": fidelity, "privacy": privacy,
        "utility": utility_section(metrics, manifest, run["target"]),
        "model_card": model_card_section(metrics, model_cfg, run, fidelity, privacy, pii),
        "signoff": signoff_section(run_dir),
    }
    sections = [
        {"id": sid, "number": i + 1, "title": title, **data[sid]}
        for i, (sid, title) in enumerate(SECTIONS)
    ]
    table = run["input"]["file"]
    return to_jsonable({
        "schema": SCHEMA,
        "title": f"Synthetic data review: {table}" if table else "Synthetic data review",
        "verdict": {"publishable": verdict["publishable"], "label": verdict["label"],
                    "failed": verdict["failed"]},
        "sources": {
            name: sha256_file(run_dir / name)
            for name in ("manifest.json", "metrics.json", "model/config.json")
            if (run_dir / name).is_file()
        },
        "sections": sections,
    })


def _write_atomic(text: str, path: Path) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


def build_report(run_dir: str | Path) -> Path:
    """Build ``report.json`` and ``report.html`` in a run folder (each written atomically).

    Args:
        run_dir: A run folder written by the pipeline (``synthpipe report RUN_DIR``).

    Returns:
        The path of ``report.html``.

    Raises:
        InputError: The folder, its manifest.json or its metrics.json is missing or unreadable.
    """
    run_dir = Path(run_dir)
    report = assemble_report(run_dir)
    html_text = render_html(report)
    _write_atomic(json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                  run_dir / "report.json")
    out = run_dir / "report.html"
    _write_atomic(html_text, out)
    log.info("report written to %s", out)
    return out


__all__ = [
    "MIN_COUNT",
    "SECTIONS",
    "assemble_report",
    "build_report",
    "column_profiles",
    "render_charts",
    "render_html",
]
