"""The steps of a synthpipe run, as plain functions (no Prefect import here).

Data flow::

    ingest -> validate_input -> protect -> split -> [plan] -> per candidate: train -> sample
      -> finish_output -> validate_synthetic -> evaluate -> gate -> [select] -> augment
      -> downstream -> sample_chunks -> [manifest] -> publish -> [approval: finalize]

Modules:

- :mod:`~synthpipe.pipeline.run`: :func:`run_pipeline`, the one composition of the steps, and
  the :class:`StepRunner` it executes them with.
- :mod:`~synthpipe.pipeline.steps`: one module per stage (input, protect, train, sample,
  assess).
- :mod:`~synthpipe.pipeline.plan`: the pure :class:`RunPlan` (columns, class counts, chunks).
- :mod:`~synthpipe.pipeline.candidates`: train and judge each candidate model, pick one.
- :mod:`~synthpipe.pipeline.manifest`: manifest.json.
- :mod:`~synthpipe.pipeline.publish`: the run folder, written atomically.
- :mod:`~synthpipe.pipeline.approval`: a steward's decision on a run that awaits one.
"""

from synthpipe.pipeline.candidates import (
    Candidate,
    candidate_score,
    candidates_summary,
    select_candidate,
    try_candidates,
)
from synthpipe.pipeline.manifest import RECORDED_PACKAGES, build_manifest, package_versions
from synthpipe.pipeline.plan import RunPlan, chunk_plan, make_plan
from synthpipe.pipeline.publish import RunResult, build_report, default_out_dir, publish
from synthpipe.pipeline.run import DirectRunner, StepRunner, preflight, run_pipeline
from synthpipe.pipeline.steps.assess import (
    column_profiles,
    downstream,
    evaluate,
    gate,
    validate_synthetic,
    within_class_fidelity,
)
from synthpipe.pipeline.steps.input import Ingested, ingest, validate_input
from synthpipe.pipeline.steps.protect import Protected, model_columns, protect, split
from synthpipe.pipeline.steps.sample import (
    augment,
    finish_output,
    sample,
    sample_all_chunks,
    sample_chunk,
    unique_across_parts,
)
from synthpipe.pipeline.steps.train import (
    REBALANCE_CLASS_BALANCE,
    ProgressFn,
    code_fingerprint,
    load_model,
    model_params,
    train_model,
    training_key,
)

__all__ = [
    "REBALANCE_CLASS_BALANCE",
    "RECORDED_PACKAGES",
    "Candidate",
    "DirectRunner",
    "Ingested",
    "ProgressFn",
    "Protected",
    "RunPlan",
    "RunResult",
    "StepRunner",
    "augment",
    "build_manifest",
    "build_report",
    "candidate_score",
    "candidates_summary",
    "chunk_plan",
    "code_fingerprint",
    "column_profiles",
    "default_out_dir",
    "downstream",
    "evaluate",
    "finish_output",
    "gate",
    "ingest",
    "load_model",
    "make_plan",
    "model_columns",
    "model_params",
    "package_versions",
    "preflight",
    "protect",
    "publish",
    "run_pipeline",
    "sample",
    "sample_all_chunks",
    "sample_chunk",
    "select_candidate",
    "split",
    "train_model",
    "training_key",
    "try_candidates",
    "unique_across_parts",
    "validate_input",
    "validate_synthetic",
    "within_class_fidelity",
]
