"""Candidate models: train, sample and judge each one, then pick the one to publish.

:func:`try_candidates` fans every candidate through train -> sample -> finish_output ->
validate_synthetic -> evaluate -> gate (one ``runner.map`` per step, so an orchestrator can run
the candidates side by side); :func:`select_candidate` picks one and
:func:`candidates_summary` records the choice for metrics.json.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from synthpipe.config import RunConfig
from synthpipe.metadata import TableMetadata
from synthpipe.pipeline.plan import RunPlan
from synthpipe.pipeline.steps.assess import evaluate, gate, validate_synthetic
from synthpipe.pipeline.steps.input import Ingested
from synthpipe.pipeline.steps.protect import Protected
from synthpipe.pipeline.steps.sample import finish_output, sample
from synthpipe.pipeline.steps.train import ProgressFn, train_model, training_key

if TYPE_CHECKING:
    from synthpipe.pipeline.run import StepRunner

log = logging.getLogger(__name__)

#: How :func:`select_candidate` chooses, as recorded in metrics.json.
SELECTION_RULE = ("blocking gates pass first, then the mean of column shapes, pair trends, the "
                  "worst pairs, detection and utility")


@dataclass
class Candidate:
    """One trained model, its sample and its scores.

    Attributes:
        name: The model's registry name.
        model_path: The saved model's folder.
        synthetic: The sampled rows (modelled columns).
        published: The sampled rows completed into the output table.
        plan: The sampling plan (mode, rows, class counts).
        metrics: Evaluation metrics, with the input contract, the synthetic suite's report and
            the sampling plan.
        suite_report: The synthetic suite's validation report.
        suite_json: The synthetic suite, published with the run.
        verdict: The gate verdict.
        cache_key: The training key the model is cached under.
    """

    name: str
    model_path: str
    synthetic: pd.DataFrame
    published: pd.DataFrame
    plan: dict
    metrics: dict
    suite_report: dict
    suite_json: dict
    verdict: dict
    cache_key: str


#: Pairs whose gap to the holdout enters the candidate score.
SCORE_WORST_PAIRS = 5


def score_parts(metrics: dict) -> dict[str, float]:
    """The parts of :func:`candidate_score`, each in [0, 1] (missing scores left out).

    ``column_shapes`` and ``pair_trends`` (their means), ``worst_pairs`` (1 minus the mean gap
    between the holdout's and the synthetic score of the :data:`SCORE_WORST_PAIRS` worst pairs:
    one broken relation drags it down where the mean hides it), ``detection`` (1 at AUC 0.5, 0
    at AUC 1) and, with a target, ``utility`` (the train-synthetic-test-real ROC-AUC over the
    train-real one, capped at 1).
    """
    from synthpipe.evaluation.diagnosis import worst_pairs

    fid = metrics.get("fidelity") or {}
    parts: dict[str, float] = {}
    for key in ("column_shapes", "pair_trends"):
        v = (fid.get(key) or {}).get("synthetic")
        if v is not None:
            parts[key] = float(v)
    worst = worst_pairs((fid.get("pair_trends") or {}).get("per_pair") or [],
                        SCORE_WORST_PAIRS)
    if worst:
        parts["worst_pairs"] = 1.0 - sum(max(0.0, p["gap"]) for p in worst) / len(worst)
    auc = (fid.get("detection") or {}).get("synthetic")
    if auc is not None:
        parts["detection"] = max(0.0, 1.0 - 2.0 * abs(float(auc) - 0.5))
    ratio = (((metrics.get("utility") or {}).get("metrics") or {}).get("roc_auc") or {}).get(
        "ratio")
    if ratio is not None:
        parts["utility"] = min(1.0, max(0.0, float(ratio)))
    return parts


def candidate_score(metrics: dict) -> float:
    """Quality of a candidate in [0, 1]: the mean of :func:`score_parts`."""
    parts = score_parts(metrics)
    return sum(parts.values()) / len(parts) if parts else 0.0


def select_candidate(candidates: list[Candidate]) -> int:
    """Index of the model to publish.

    Rule: a candidate whose blocking gates (privacy, contract) all pass beats any that fails
    one; among equals, fewer blocking failures win, then the higher :func:`candidate_score`,
    then the order given (so ties are deterministic).
    """

    def rank(i: int) -> tuple:
        c = candidates[i]
        failed = len(c.verdict.get("failed", []))
        return (failed == 0, -failed, candidate_score(c.metrics), -i)

    return max(range(len(candidates)), key=rank)


def candidates_summary(candidates: list[Candidate], chosen: Candidate) -> dict[str, Any]:
    """The ``candidates`` section of metrics.json: the rule, the choice and each model's scores.

    Args:
        candidates: Every candidate, in the order tried.
        chosen: The one :func:`select_candidate` picked.

    Returns:
        ``{"rule", "chosen", "models": [...]}`` with each model's verdict and scores.
    """
    return {
        "rule": SELECTION_RULE,
        "chosen": chosen.name,
        "models": [
            {
                "name": c.name,
                "publishable": c.verdict["publishable"],
                "failed_gates": c.verdict.get("failed", []),
                "score": round(candidate_score(c.metrics), 4),
                "column_shapes": c.metrics.get("fidelity", {}).get("column_shapes"),
                "pair_trends": c.metrics.get("fidelity", {}).get("pair_trends"),
                "detection": c.metrics.get("fidelity", {}).get("detection"),
                "score_parts": {k: round(v, 4) for k, v in score_parts(c.metrics).items()},
            }
            for c in candidates
        ],
    }


def try_candidates(
    runner: StepRunner,
    cfg: RunConfig,
    plan: RunPlan,
    ing: Ingested,
    prot: Protected,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    meta: TableMetadata,
    contract: dict,
    progress: ProgressFn | None = None,
    workdir: str | None = None,
    suite_name: str = "derived",
) -> list[Candidate]:
    """Train every candidate model and sample, complete, validate, evaluate and gate it.

    Each step runs once per candidate through ``runner.map``; the sample is the plan's first
    chunk, so all candidates are judged on the same number of rows.

    Args:
        runner: Runs the steps.
        cfg: The run configuration.
        plan: The run plan (candidates, modelled columns, first chunk).
        ing: The ingested table (its hash keys the model cache; its metadata types the output).
        prot: The protected table.
        train: The training split.
        holdout: The holdout split.
        meta: Metadata of the modelled columns.
        contract: The input contract's report, recorded in each candidate's metrics.
        progress: Training and sampling progress; phases are prefixed with the model's name
            when there is more than one candidate.
        workdir: The run's temporary folder, where models go when the cache is off.
        suite_name: Name of the derived suite (the table's and the run's, so suites of
            several runs do not collide in one GX context).

    Returns:
        One candidate per model, in the plan's order.
    """
    names, cols = list(plan.candidates), list(plan.columns)
    eval_rows, eval_counts = plan.chunks[0]
    keys = [training_key(ing.sha256, cfg, name) for name in names]
    train_calls = [
        (train[cols], meta, cfg, n, k, _progress_for(progress, n, len(names)), workdir)
        for n, k in zip(names, keys, strict=True)
    ]
    paths = list(runner.map("train", train_model, train_calls))
    for i, path in enumerate(paths):
        # An orchestrator's cached result can outlive the model folder (cache cleared): retrain.
        if not (Path(path) / "config.json").is_file():
            log.warning("cached model %s is gone; training %s again", path, names[i])
            paths[i] = runner.run("train_again", train_model, *train_calls[i])
    samples = runner.map("sample", sample, [
        (p, eval_rows, cfg, eval_counts, _progress_for(progress, n, len(names)))
        for n, p in zip(names, paths, strict=True)
    ])
    published = runner.map("finish_output", finish_output, [
        (syn, prot, ing.metadata, cfg.seed) for syn, _ in samples
    ])
    suites = runner.map("validate_synthetic", validate_synthetic, [
        (train, pub, ing.metadata, cfg.target, p, suite_name)
        for pub, p in zip(published, paths, strict=True)
    ])
    evaluated = runner.map("evaluate", evaluate, [
        (train, holdout, syn[cols], pub, meta, cfg, prot.pii_values, p)
        for (syn, _), pub, p in zip(samples, published, paths, strict=True)
    ])
    plans = [_with_train_counts(p, plan.class_counts) for _, p in samples]
    metrics_list = [
        {**m, "input_contract": contract, "synthetic_suite": report, "sampling": p}
        for m, (report, _), p in zip(evaluated, suites, plans, strict=True)
    ]
    verdicts = runner.map("gate", gate, [(m, cfg) for m in metrics_list])
    return [
        Candidate(n, path, syn, pub, p, m, report, suite, v, key)
        for n, path, (syn, _), pub, p, m, (report, suite), v, key in zip(
            names, paths, samples, published, plans, metrics_list, suites, verdicts, keys,
            strict=True,
        )
    ]


def _with_train_counts(sampling: dict, class_counts: dict[Any, int] | None) -> dict:
    """The sampling plan with the training split's class counts beside the sampled ones."""
    if class_counts is None:
        return sampling
    return {**sampling, "train_class_counts": {str(k): int(v) for k, v in class_counts.items()}}


def _progress_for(progress: ProgressFn | None, name: str, n_models: int) -> ProgressFn | None:
    """The progress callback of one candidate: phases named after the model when there are
    several."""
    if progress is None or n_models == 1:
        return progress
    return lambda phase, i, n, info: progress(f"{phase} {name}", i, n, info)
