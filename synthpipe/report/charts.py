"""The report's charts: section data in, inline SVG strings out (drawn by :mod:`.svg`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from synthpipe.report import svg
from synthpipe.report.data import get, num
from synthpipe.report.profiles import DAY


def _date_label(seconds: float, step: float) -> str:
    t = datetime.fromtimestamp(seconds, tz=UTC)
    return t.strftime("%Y-%m-%d" if step >= DAY else "%Y-%m-%d %H:%M")


def _profile_chart(entry: Mapping[str, Any]) -> tuple[str, str]:
    """(svg, caption) for one column's real-vs-synthetic profile."""
    name = entry["column"]
    real, synth = entry.get("real"), entry.get("synthetic")
    base = real or synth or {}
    series, totals = {}, {}
    for label, prof in (("real", real), ("synthetic", synth)):
        if isinstance(prof, Mapping):
            totals[label] = prof.get("n")
    notes = []
    if base.get("type") == "histogram":
        edges = base.get("edges") or []
        for label, prof in (("real", real), ("synthetic", synth)):
            if isinstance(prof, Mapping) and len(prof.get("counts") or []) == len(edges) - 1:
                series[label] = prof["counts"]
        labels = None
        if base.get("datetime") and len(edges) >= 2:
            step = edges[1] - edges[0]
            labels = [_date_label(e, step) for e in edges]
        chart = svg.overlaid_histograms(edges, series, title=name, edge_labels=labels,
                                        totals=totals)
        for label, prof in (("real", real), ("synthetic", synth)):
            outside = [get(prof, "below"), get(prof, "above")]
            n_out = sum(v for v in outside if isinstance(v, int))
            if n_out and num(get(prof, "n")):
                notes.append(f"{label} outside the plotted range: "
                             f"{svg.fmt_pct(n_out / prof['n'])}")
    else:
        cats = list(base.get("categories") or [])
        extra = []
        if any(get(p, "other") for p in (real, synth)):
            extra.append(("(other)", "other"))
        if any(get(p, "missing") for p in (real, synth)):
            extra.append(("(missing)", "missing"))
        for label, prof in (("real", real), ("synthetic", synth)):
            if not isinstance(prof, Mapping):
                continue
            counts = list(prof.get("counts") or [])
            tail = [prof.get(key) for _, key in extra]
            if list(prof.get("categories") or []) != cats:
                # Profiled without the real categories as edges: a category outside this
                # side's own top list is unknown here (not zero), and so is its "other".
                by = dict(zip(prof.get("categories") or [], counts, strict=False))
                counts = [by.get(c) for c in cats]
                tail = [None if key == "other" else v for (_, key), v in zip(extra, tail,
                                                                            strict=True)]
                notes.append(f"{label} categories not aligned with the real ones")
            series[label] = counts + tail
        chart = svg.category_bars(cats + [lab for lab, _ in extra], series, title=name,
                                  totals=totals)
    for label, prof in (("real", real), ("synthetic", synth)):
        miss, n = get(prof, "missing"), num(get(prof, "n"))
        if isinstance(miss, int) and miss and n:
            notes.append(f"{label} missing {svg.fmt_pct(miss / n)}")
    if real is None:
        notes.append("no real profile")
    if synth is None:
        notes.append("no synthetic profile")
    return chart, "; ".join(notes)


def render_charts(report: Mapping[str, Any]) -> dict[str, Any]:
    """Draw the report's charts (inline SVG strings) from its section data."""
    sec = {s["id"]: s for s in report["sections"]}
    fid, priv, card = sec["fidelity"], sec["privacy"], sec["model_card"]
    charts: dict[str, Any] = {}
    if fid["per_column"]:
        thr = next((o["threshold"] for o in fid["overall"] if o["key"] == "column_shapes"), None)
        charts["shapes"] = svg.bar_chart(
            [c["column"] for c in fid["per_column"]],
            [c["synthetic"] for c in fid["per_column"]],
            reference=[c["holdout"] for c in fid["per_column"]],
            title="Column shape score per column (1 = same distribution as train)",
            vmin=0.0, vmax=1.0, threshold=thr, width=900,
        )
    if fid["profiles"]["computed"]:
        panels = []
        for entry in fid["profiles"]["columns"]:
            chart, note = _profile_chart(entry)
            cap = f'<figcaption>{svg.esc(note)}</figcaption>' if note else ""
            panels.append((entry["column"], chart + cap))
        charts["profiles"] = svg.small_multiples(panels)
    corr = fid["correlation"]
    if corr["computed"]:
        cols = corr["columns"]
        charts["corr"] = [
            svg.heatmap(corr["real"], cols, title="Real (train)", size=300),
            svg.heatmap(corr["synthetic"], cols, title="Synthetic", size=300),
            # A narrower scale than the matrices': a 0.2 shift in a correlation matters.
            svg.heatmap(corr["difference"], cols, title="Difference (synthetic \u2212 real)",
                        size=300, vmin=-0.5, vmax=0.5),
        ]
    hist = priv["dcr_histogram"]
    if hist:
        charts["dcr"] = svg.overlaid_histograms(
            hist["edges"], hist["series"], title="Distance to closest training record",
            width=560, height=220, colors=(svg.SYNTHETIC, svg.HOLDOUT),
        )
    if priv["mia"]:
        charts["mia"] = svg.bar_chart(
            [m["attack"] for m in priv["mia"]], [m["auc"] for m in priv["mia"]],
            title="Membership-inference attack ROC-AUC (0.5 = chance)", vmin=0.0, vmax=1.0,
            threshold=priv.get("mia_threshold"), color=svg.SYNTHETIC, value_name="attack AUC",
        )
    if card["history"]:
        h = card["history"]
        series = {"train loss": [e["train_loss"] for e in h]}
        if any(e["val_loss"] is not None for e in h):
            series["validation loss"] = [e["val_loss"] for e in h]
        charts["training"] = svg.line_chart([e["epoch"] for e in h], series,
                                            title="Training curve", x_label="epoch",
                                            y_label="loss")
    classes = sec["utility"]["classes"]
    if classes:
        charts["classes"] = svg.category_bars(
            [c["label"] for c in classes],
            {"before (train)": [c["before"] for c in classes],
             "after (synthetic)": [c["after"] for c in classes]},
            title="Class shares before and after sampling", width=420, height=200,
        )
    pr = _pr_curves(sec["utility"]["downstream"])
    if pr:
        charts["pr_curves"] = pr
    timings = sec["run"]["timings_seconds"]
    if timings:
        charts["timings"] = svg.bar_chart(
            list(timings), [timings[k] for k in timings], title="Seconds per step",
            width=560, bar_height=12, color=svg.HOLDOUT, value_name="seconds",
        )
    return charts


# Each training set keeps its colour whichever sets were scored.
_SET_COLORS = {"real-trained": svg.REAL, "synthetic-trained": svg.SYNTHETIC,
               "augmented-trained": svg.SERIES_COLORS[2]}


def _pr_curves(ds: Mapping[str, Any] | None) -> str | None:
    """Precision-recall curves of the downstream fraud models on the real holdout."""
    curves = (ds or {}).get("curves")
    if not curves:
        return None
    rate = ds.get("holdout_positive_rate")
    return svg.curve_chart(
        {label: (c["recall"], c["precision"]) for label, c in curves.items()},
        title="Precision-recall on the real holdout", x_label="recall (share of frauds caught)",
        y_label="precision", baseline=rate,
        baseline_label=f"guessing: {svg.fmt_pct(rate)}" if rate is not None else "",
        width=600, height=320, colors=[_SET_COLORS.get(label, svg.HOLDOUT) for label in curves],
    )


__all__ = ["render_charts"]
