"""Train stage: the model parameters of a run, its cache key, training and loading a model."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from synthpipe.config import RunConfig
from synthpipe.io import sha256_file
from synthpipe.metadata import TableMetadata

log = logging.getLogger(__name__)

#: Progress callback of training and sampling: ``(phase, step, total, info)``.
ProgressFn = Callable[[str, int, int, dict], None]

# Class-balanced training batches when a rebalanced output is asked for: the rare class gets
# more of the gradient, so its synthetic rows are more like the real ones and a fraud model
# trained on them scores higher where the class is rare (docs/rebalancing.md).
REBALANCE_CLASS_BALANCE = 0.5
# Classifier-free guidance when a rebalanced output is asked for with a share or counts (models
# trained with label dropout: tabddpm, flow). On claims, insurance_claims, bank-full and the
# generated months table, 1.5 raised the synthetic-trained fraud model's PR-AUC on the real
# holdout in all four (medians of 2 seeds: 0.101 -> 0.126, 0.533 -> 0.582, 0.593 -> 0.600,
# 0.094 -> 0.101), at some cost in the minority rows' column shapes (docs/rebalancing.md).
# ``--rebalance auto`` judges the scale on validation rows instead.
REBALANCE_GUIDANCE = 1.5

_CODE_FINGERPRINT: str | None = None


def code_fingerprint() -> str:
    """SHA-256 over synthpipe's own source files: a code change invalidates cached models."""
    import hashlib

    import synthpipe

    global _CODE_FINGERPRINT
    if _CODE_FINGERPRINT is None:
        h = hashlib.sha256()
        # The whole package, not just this stage: any module can change what a model learns.
        root = Path(synthpipe.__file__).resolve().parent
        for f in sorted(root.rglob("*.py")):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
        _CODE_FINGERPRINT = h.hexdigest()
    return _CODE_FINGERPRINT


def training_key(input_sha256: str, cfg: RunConfig, model_name: str) -> str:
    """Cache key of a trained model: the input's hash and everything that shapes training.

    Includes the split (seed, holdout share, target), PII handling (policies and a fingerprint of
    the pseudonymization key, since pseudonyms change the training data), the model and its
    budget, the device, the cache folder and a fingerprint of synthpipe's code.
    """
    import hashlib
    import hmac
    import json
    import os

    key = os.environ.get("SYNTHPIPE_PII_KEY", "")
    fingerprint = hmac.new(key.encode(), b"synthpipe-cache", "sha256").hexdigest() if key else ""
    parts = {
        "input": input_sha256,
        "model": model_name,
        "epochs": cfg.model.epochs,
        "time_budget": cfg.model.time_budget,
        "params": model_params(cfg, model_name),
        "target": cfg.target,
        "seed": cfg.seed,
        "holdout_fraction": cfg.holdout_fraction,
        "na_values": cfg.na_values,
        "encoding": cfg.encoding,
        "metadata": sha256_file(cfg.metadata) if cfg.metadata else None,
        "pii": json.loads(cfg.pii.model_dump_json()),
        "rules": json.loads(cfg.rules.model_dump_json()),
        "pii_key": fingerprint,
        "device": cfg.device.value,
        "cache_dir": str(cfg.resolved_cache_dir().resolve()),
        "code": code_fingerprint(),
    }
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return f"{model_name}-{hashlib.sha256(blob).hexdigest()[:24]}"


def model_params(cfg: RunConfig, model_name: str) -> dict[str, Any]:
    """Constructor parameters for ``model_name`` in this run.

    Hyperparameters in the config belong to the configured model; auto candidates use their own
    defaults (an unknown parameter name fails at construction, naming the valid ones). With
    ``--rebalance``, models trained by synthpipe's loop get class-balanced batches
    (``class_balance`` = :data:`REBALANCE_CLASS_BALANCE`) and, for a share or counts, models
    trained with label dropout sample with guidance :data:`REBALANCE_GUIDANCE`, unless the
    config sets them.
    """
    import inspect

    from synthpipe.models import get_model

    params = dict(cfg.model.params) if model_name == cfg.model.name else {}
    cls = get_model(model_name)
    names = cls.param_names()
    if cfg.rebalance.spec and cfg.target and "class_balance" in names:
        params.setdefault("class_balance", REBALANCE_CLASS_BALANCE)
    if cfg.rebalance.spec and cfg.rebalance.spec != "auto" and cfg.target \
            and {"guidance_scale", "p_uncond"} <= set(names):
        p_uncond = params.get("p_uncond",
                              inspect.signature(cls.__init__).parameters["p_uncond"].default)
        if float(p_uncond) > 0:
            params.setdefault("guidance_scale", REBALANCE_GUIDANCE)
    return params


def check_models(cfg: RunConfig) -> None:
    """Construct every candidate model once, so an unknown model or parameter fails early.

    Construction only stores the parameters, so this costs nothing and runs before any data is
    read.

    Raises:
        ModelError: A model name or one of its parameters is unknown.
    """
    from synthpipe.models import create_model

    for name in cfg.candidate_models():
        create_model(name, **model_params(cfg, name))


def check_cache_dir(cfg: RunConfig) -> None:
    """With the model cache on, its folder must be writable: a model is saved there only after
    training, too late to find out.

    Raises:
        ConfigError: The cache folder cannot be created or written.
    """
    if not cfg.cache:
        return
    from synthpipe.pipeline.publish import check_writable

    folder = cfg.resolved_cache_dir()
    check_writable(
        folder, f"model cache {folder}",
        hint="set cache_dir (or SYNTHPIPE_CACHE_DIR) to a folder you can write to, "
             "or run with --no-cache",
    )


#: Prefix of the temporary folder a model trained without the cache is saved in.
TEMP_MODEL_PREFIX = "synthpipe-model-"


def train_model(
    train: pd.DataFrame,
    metadata: TableMetadata,
    cfg: RunConfig,
    model_name: str,
    key: str,
    progress: ProgressFn | None = None,
    workdir: str | None = None,
) -> str:
    """Fit a synthesizer on the training split and save it; return the saved model's folder.

    With ``cfg.cache`` the folder is ``<cache_dir>/<key>`` and an existing one is reused, so an
    unchanged table is not trained again. Without it the model goes to ``<workdir>/<key>``:
    :func:`synthpipe.pipeline.run_pipeline` passes its run's temporary folder, which it removes
    when the run ends however it ends (a saved model holds category values of the real table).
    A caller that passes no ``workdir`` gets a fresh temporary folder and must remove it.
    """
    import tempfile

    from synthpipe.models import create_model

    if cfg.cache:
        path = cfg.resolved_cache_dir() / key
        if (path / "config.json").is_file():
            log.info("reusing cached model %s", path)
            return str(path)
    else:
        base = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix=TEMP_MODEL_PREFIX))
        path = base / key
    model = create_model(
        model_name, epochs=cfg.model.epochs, device=cfg.device.value, seed=cfg.seed,
        **model_params(cfg, model_name),
    )
    model.fit(train, metadata, target=cfg.target, progress=progress,
              time_budget=cfg.model.time_budget, rules=table_rules(cfg, train))
    model.save(path)
    return str(path)


def table_rules(cfg: RunConfig, train: pd.DataFrame) -> Any:
    """The run's declared rules, checked on ``train``, and whether to find others."""
    from synthpipe.rules import TableRules, declared_rules

    declared = declared_rules(cfg.rules.declared, train, list(train.columns), cfg.target)
    return TableRules(declared, detect=cfg.rules.detect)


def load_model(path: str | Path) -> Any:
    """Load a saved synthesizer (weights only; no pickle)."""
    from synthpipe.models import Synthesizer

    return Synthesizer.load(path)
