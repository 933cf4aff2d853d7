"""``--rebalance auto``: choose the minority share that serves a fraud model best.

More fraud rows are not better by themselves: a generator that is vague about fraud only
repeats its vagueness more often. So the share is measured, not guessed. The training split is
cut once more (stratified): a generator of the run's model is trained on the larger part, and
for each candidate share (the natural one, then :data:`AUTO_SHARES` above it) a fraud model is
trained on as many synthetic rows as the larger part has and scored on the smaller part (PR-AUC,
the score a fraud team reads). The real holdout, which the report scores on, is never used. The
best share becomes the run's rebalance spec; the run's own model is then trained on the whole
training split as usual, and its output goes through every gate, privacy gates included.

In augment mode (``--mode augment``) each candidate is the real rows of the larger part plus
synthetic minority rows up to the share, and the natural share is the real rows alone: a share
is kept only when its added rows make a better fraud model than the real rows do, so an
augmented table is never chosen to be worse than the real one on validation. When none does,
the published augmented table is the real training rows with no synthetic row added, and the
manifest says so.

A gain over the natural share's PR-AUC that is below :data:`AUTO_MIN_GAIN`, or whose paired
bootstrap interval (:data:`AUTO_GAIN_LEVEL`) reaches zero, is noise on a validation part of a
few dozen frauds: the natural share is kept then (fewer invented frauds).

Guidance: a model trained with label dropout (TabDDPM and the flow model, ``p_uncond > 0``) can
sample with classifier-free guidance above 1, which pushes each class's rows further from the
other class's: sharper frauds, at some cost in variety. At the chosen share, the
:data:`AUTO_GUIDANCE` scales are judged the same way, and one is kept only when it beats plain
conditional sampling by :data:`AUTO_MIN_GAIN`; the run's model then samples with it.

The manifest and metrics.json record every share and scale tried, its scores, the choice and
why.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.config import RunConfig
from synthpipe.metadata import TableMetadata
from synthpipe.pipeline.steps.train import ProgressFn, model_params, table_rules

log = logging.getLogger(__name__)

#: Minority shares tried besides the natural one.
AUTO_SHARES = (0.1, 0.2, 0.3, 0.5)
#: Share of the training split the shares are judged on.
VALIDATION_FRACTION = 0.25
#: PR-AUC gain over the natural share below which the natural share is kept.
AUTO_MIN_GAIN = 0.01
#: A share is chosen only when the paired bootstrap interval of its PR-AUC gain over the
#: natural share, at this level, lies above zero (a one-sided 95% test).
AUTO_GAIN_LEVEL = 0.9
#: Classifier-free guidance scales tried at the chosen share (1, plain conditional, is the base).
AUTO_GUIDANCE = (1.5, 2.0)


def choose_rebalance(
    train: pd.DataFrame,
    metadata: TableMetadata,
    cfg: RunConfig,
    model_name: str,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Try minority shares on a validation part of ``train``; return the choice.

    Args:
        train: The training split (modelled columns, the target among them).
        metadata: Metadata of those columns.
        cfg: The run configuration (its model settings, seed and time budget).
        model_name: The generator to judge the shares with (the run's model).
        progress: Training progress of the judging generator.

    Returns:
        ``{"spec", "chosen_share", "natural_share", "minority", "candidates", "why",
        "rows": {"fit", "validation"}, "guidance_scale", "guidance"}``; ``spec`` is None for
        the natural share, ``guidance_scale`` None for plain conditional sampling.
    """
    from sklearn.metrics import average_precision_score
    from sklearn.model_selection import train_test_split

    from synthpipe.evaluation.downstream import _fit_scores, _recall_at_fpr
    from synthpipe.models import create_model
    from synthpipe.rebalance import augment_counts, plan_counts, sample_counts

    target = cfg.target
    counts = train[target].value_counts()
    minority = counts.index[-1]
    natural = float(counts.iloc[-1] / counts.sum())
    fit, val = train_test_split(train, test_size=VALIDATION_FRACTION, random_state=cfg.seed,
                                stratify=train[target])
    model = create_model(model_name, epochs=cfg.model.epochs, device=cfg.device.value,
                         seed=cfg.seed, **model_params(cfg, model_name))
    model.fit(fit, metadata, target=target, progress=progress,
              time_budget=cfg.model.time_budget, rules=table_rules(cfg, fit))
    features = [c for c in train.columns if c != target]
    y_val = (val[target] == minority).to_numpy().astype(int)
    fit_counts = fit[target].value_counts().to_dict()

    def judge(synthetic: pd.DataFrame) -> tuple[dict[str, float], np.ndarray] | None:
        """The fraud model trained on ``synthetic``: its PR-AUC and recall on the validation
        part, and its scores of the validation rows."""
        y_syn = (synthetic[target] == minority).to_numpy().astype(int)
        if y_syn.min() == y_syn.max():
            return None  # a sample without fraud trains no fraud model
        scores, _ = _fit_scores(synthetic, y_syn, val, features, metadata, cfg.seed)
        return {"pr_auc": round(float(average_precision_score(y_val, scores)), 4),
                "recall_at_1pct_fpr": round(_recall_at_fpr(y_val, scores, 0.01), 4)}, scores

    augment = cfg.rebalance.mode == "augment"

    def build(share: float | None) -> pd.DataFrame:
        """The fraud model's training rows for one candidate share (None: the natural one)."""
        if augment:  # real rows plus synthetic minority rows up to the share
            if share is None:
                return fit
            add = {c: k for c, k in augment_counts(str(share), fit_counts).items() if k > 0}
            return pd.concat([fit, sample_counts(model, target, add, seed=cfg.seed)],
                             ignore_index=True)
        if share is None:
            return model.sample(len(fit), seed=cfg.seed)
        return sample_counts(model, target, plan_counts(str(share), fit_counts, None, len(fit)),
                             seed=cfg.seed)

    tried, scores = [], []
    for share in (None, *[s for s in AUTO_SHARES if s > natural]):
        judged = judge(build(share))
        if judged is not None:
            tried.append({"share": round(natural, 4) if share is None else share,
                          "natural": share is None, **judged[0]})
            scores.append(judged[1])
    _gain_intervals(tried, scores, y_val, cfg.seed)
    choice = _decide(tried, natural, minority, len(fit), len(val))
    choice["mode"] = cfg.rebalance.mode
    if augment and choice["spec"] is None:
        # Augment mode keeps the real rows as they are: the natural share as a spec adds no row.
        choice["spec"] = repr(natural)
        choice["why"] += "; augmented.parquet holds the real training rows, no synthetic row added"
        choice.update({"guidance_scale": None, "guidance": []})
        return choice
    chosen = choice["chosen_share"] if choice["chosen_share"] is not None else natural
    choice.update(_choose_guidance(model, lambda: build(chosen), judge))
    return choice


def _choose_guidance(model: Any, rows: Any, judge: Any) -> dict[str, Any]:
    """Judge :data:`AUTO_GUIDANCE` at the chosen share (models trained with label dropout).

    Args:
        model: The judging generator (its ``guidance_scale`` is restored afterwards).
        rows: Builds the fraud model's training rows at the chosen share with the model's
            current guidance scale.
        judge: Scores such rows on the validation part (``(scores, validation scores)``;
            None: no fraud model possible).

    Returns:
        ``{"guidance_scale", "guidance"}``: the scale kept (None: plain conditional sampling)
        and each scale's scores; empty scores when the model cannot be guided.
    """
    if not float(getattr(model, "p_uncond", 0) or 0) or not hasattr(model, "guidance_scale"):
        return {"guidance_scale": None, "guidance": []}
    base = model.guidance_scale
    tried = []
    try:
        for scale in (1.0, *AUTO_GUIDANCE):
            model.guidance_scale = scale
            judged = judge(rows())
            if judged is not None:
                tried.append({"guidance_scale": scale, **judged[0]})
    finally:
        model.guidance_scale = base
    plain = next((t for t in tried if t["guidance_scale"] == 1.0), None)
    best = max(tried, key=lambda t: t["pr_auc"]) if tried else None
    keep = (best is not None and plain is not None and best is not plain
            and best["pr_auc"] - plain["pr_auc"] >= AUTO_MIN_GAIN)
    if keep:
        log.info("rebalance auto: guidance %s (PR-AUC %s, plain %s)", best["guidance_scale"],
                 best["pr_auc"], plain["pr_auc"])
    return {"guidance_scale": best["guidance_scale"] if keep else None, "guidance": tried}


def _gain_intervals(tried: list[dict[str, Any]], scores: list[np.ndarray], y_val: np.ndarray,
                    seed: int) -> None:
    """Give each candidate the paired bootstrap interval of its PR-AUC gain over the natural
    share (``gain_ci``, at :data:`AUTO_GAIN_LEVEL`); ``scores[i]`` are candidate ``i``'s
    fraud-model scores of the validation rows.

    The validation part holds a few dozen frauds, so a gain of a few hundredths is often a
    draw of the rows: on the months table a share chosen for +0.013 on validation scored 0.020
    below the real rows on the holdout. Both fraud models are scored on the same resampled
    validation rows, which makes the interval of their difference narrow where they agree.
    """
    from synthpipe.evaluation.downstream import bootstrap_intervals

    base = next((i for i, t in enumerate(tried) if t["natural"]), None)
    if base is None:
        return
    # The natural share stands where bootstrap_intervals expects the real-trained model.
    paired = {("real" if i == base else str(i)): (s, 0.5) for i, s in enumerate(scores)}
    _, vs = bootstrap_intervals(y_val, paired, level=AUTO_GAIN_LEVEL, seed=seed)
    for i, t in enumerate(tried):
        if i != base:
            ci = vs[str(i)]["pr_auc"]["ci95"]
            t["gain_ci"] = None if ci is None else [round(v, 4) for v in ci]


def _decide(tried: list[dict[str, Any]], natural: float, minority: Any, n_fit: int,
            n_val: int) -> dict[str, Any]:
    """The share with the best PR-AUC, unless it beats the natural share by less than noise."""
    base = next((t for t in tried if t["natural"]), None)
    best = max(tried, key=lambda t: t["pr_auc"]) if tried else None
    if best is None:
        chosen, why = None, f"no candidate share gave a sample with {minority} rows"
    elif base is None:
        # The natural share's sample had no minority row, so it trains no fraud model at all.
        chosen = best
        why = (f"the natural share's sample had no {minority} row; share {best['share']} "
               f"gave the best fraud-model PR-AUC on the validation part ({best['pr_auc']})")
    elif best["natural"] or best["pr_auc"] - base["pr_auc"] < AUTO_MIN_GAIN \
            or (best.get("gain_ci") or [1.0])[0] <= 0:
        chosen = base
        ci = best.get("gain_ci")
        interval = ("" if not ci else
                    f", {AUTO_GAIN_LEVEL:.0%} interval {ci[0]:+.4f} to {ci[1]:+.4f}")
        why = ("the natural share scored best" if best is base else
               f"share {best['share']} scored PR-AUC {best['pr_auc']}, only "
               f"{best['pr_auc'] - base['pr_auc']:+.4f} over the natural share "
               f"({base['pr_auc']}{interval}): within noise, so no frauds are added")
    else:
        chosen = best
        why = (f"share {best['share']} gave the best fraud-model PR-AUC on the validation "
               f"part ({best['pr_auc']}, natural share {base['pr_auc']})")
    log.info("rebalance auto: %s", why)
    return {
        "spec": None if chosen is None or chosen["natural"] else str(chosen["share"]),
        "chosen_share": None if chosen is None else chosen["share"],
        "natural_share": round(natural, 4),
        "minority": minority.item() if isinstance(minority, np.generic) else minority,
        "candidates": tried,
        "why": why,
        "rows": {"fit": n_fit, "validation": n_val},
    }
