"""The report page: the Jinja template (``template.html``), its filters, and the rendering."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC
from importlib import resources
from typing import Any

from synthpipe.report import fmt
from synthpipe.report.charts import render_charts
from synthpipe.report.data import num, parse_time


@functools.lru_cache(maxsize=1)
def _template():
    # Compiling the template costs more than rendering it: once per process.
    import jinja2

    source = resources.files("synthpipe.report").joinpath("template.html").read_text("utf-8")
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = fmt.fmt_num
    env.filters["pct"] = fmt.fmt_pct
    env.filters["duration"] = _fmt_duration
    env.filters["signed"] = _fmt_signed
    env.filters["score"] = _fmt_score
    env.filters["pretty"] = _pretty
    env.filters["when"] = _fmt_when
    env.filters["short"] = lambda h: (h[:12] + "\u2026") if isinstance(h, str) and h else "n/a"
    env.filters["status_word"] = lambda s: {"pass": "pass", "fail": "FAIL", "warn": "warn",
                                            "skipped": "skipped"}.get(s, str(s))
    env.globals["is_num"] = lambda x: num(x) is not None
    return env.from_string(source)


_PRETTY = {
    "roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "f1": "F1", "f1_best": "F1 (best threshold)",
    "f1_best_threshold": "F1 (best threshold)",
    "f1_at_0.5": "F1 at 0.5", "f1_05": "F1 at 0.5", "precision": "precision",
    "recall": "recall", "recall_at_1pct_fpr": "recall at 1% FPR",
    "recall_at_5pct_fpr": "recall at 5% FPR", "average_precision": "PR-AUC (avg. precision)",
}


def _pretty(key: Any) -> str:
    """A metric key as people write it (roc_auc -> ROC-AUC); unknown keys lose underscores."""
    k = str(key)
    return _PRETTY.get(k.lower(), k.replace("_", " "))


def _fmt_when(value: Any) -> str:
    """ISO timestamp -> '2026-11-22 10:03:25 UTC' (anything else: as recorded, or n/a)."""
    t = parse_time(value)
    if t is None:
        return str(value) if value else "not recorded"
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fmt_duration(seconds: Any) -> str:
    s = num(seconds)
    if s is None:
        return "n/a"
    if s < 60:
        return f"{fmt.fmt_num(s)} s"
    minutes, sec = divmod(int(round(s)), 60)
    if minutes < 60:
        return f"{minutes} min {sec} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _fmt_score(x: Any) -> str:
    """A score in [0, 1] to three decimals, so a column of scores lines up (0.890, not 0.89)."""
    v = num(x)
    return "n/a" if v is None else f"{v:.3f}"


def _fmt_signed(x: Any) -> str:
    """A difference of scores with its sign, three decimals: +0.034, \u22120.074, 0.000."""
    v = num(x)
    if v is None:
        return "n/a"
    text = f"{abs(v):.3f}"
    return text if text == "0.000" else ("+" if v > 0 else "\u2212") + text


def render_html(report: Mapping[str, Any]) -> str:
    """The self-contained HTML page of an assembled report (no scripts, no external assets)."""
    from markupsafe import Markup

    charts = render_charts(report)

    def mark(v: Any) -> Any:
        if isinstance(v, str):
            return Markup(v)  # noqa: S704 - built by report.svg, which escapes every text it draws
        if isinstance(v, list):
            return [mark(x) for x in v]
        return v

    sec = {s["id"]: s for s in report["sections"]}
    return _template().render(report=report, sec=sec,
                              charts={k: mark(v) for k, v in charts.items()})


__all__ = ["render_html"]
