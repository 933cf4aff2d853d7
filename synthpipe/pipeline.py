"""The steps of a synthpipe run, as plain functions (no Prefect import here).

:func:`run_pipeline` composes them in order. It takes a ``runner`` that is called once per step
as ``runner(step_name, fn, *args, **kwargs)``; the default calls ``fn`` directly, the Prefect flow
(:mod:`synthpipe.orchestration`) passes one that runs each step as a Prefect task. So the order
of the steps is written once, here.

Data flow::

    ingest -> detect -> validate_input -> protect -> split -> train -> sample -> finish_output
      -> validate_synthetic -> evaluate -> gate -> publish
"""

from __future__ import annotations

import getpass
import logging
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from synthpipe.config import PIIAction, RunConfig
from synthpipe.errors import ConfigError, InputError
from synthpipe.io import (
    atomic_path,
    read_table,
    sha256_file,
    sha256_table,
    write_json,
    write_table,
)
from synthpipe.metadata import ColumnKind, TableMetadata, detect_metadata, load_overrides

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int, dict], None]

#: Packages whose versions the manifest records.
RECORDED_PACKAGES = (
    "synthpipe",
    "torch",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "sdv",
    "ctgan",
    "rdt",
    "sdmetrics",
    "great-expectations",
    "prefect",
    "faker",
    "pydantic",
)


class StepRunner(Protocol):
    """How the steps are executed: :class:`DirectRunner` here, Prefect tasks in orchestration."""

    def run(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one step and return its result."""
        ...

    def map(self, name: str, fn: Callable[..., Any], calls: list[tuple]) -> list[Any]:
        """Run one step once per argument tuple (concurrently where the runner can)."""
        ...


class DirectRunner:
    """Run every step in this process, one after the other (no orchestration)."""

    def run(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    def map(self, name: str, fn: Callable[..., Any], calls: list[tuple]) -> list[Any]:
        return [fn(*args) for args in calls]


# ----------------------------------------------------------------------------- data classes


@dataclass
class Ingested:
    """The input table as read, with its provenance."""

    df: pd.DataFrame
    path: str
    sha256: str
    metadata: TableMetadata


@dataclass
class Protected:
    """The table after PII policies, plus what the leak scan needs."""

    df: pd.DataFrame
    actions: dict[str, str]
    findings: list[dict]
    action_log: list[dict]
    # Real values of direct identifiers of the INPUT, kept in memory only for the leak scan.
    pii_values: dict[str, pd.Series] = field(repr=False, default_factory=dict)
    # Faked date-of-birth columns whose real values agreed with an age column (see
    # synthpipe.pii.dates): their synthetic values are drawn to agree too.
    age_links: dict[str, Any] = field(default_factory=dict)

    def real_direct_strings(self) -> set[str]:
        """Every real direct-identifier value as text: no output cell may equal one (a fake
        zip code must not equal a real policy number either)."""
        return set().union(*(set(v.astype(str)) for v in self.pii_values.values()))

    def fill_like(self, column: str) -> pd.Series:
        """The column new output values imitate: the REAL values of a faked direct identifier
        (its formats, and the values to avoid), else the protected column (a pseudonymized
        column's tokens, an id column). Imitating the protect step's fakes would only narrow
        the choice: for dates of birth, to the few days neither a real nor an earlier fake
        value fell on."""
        if self.imitates_real(column):
            return self.pii_values[column].reindex(self.df.index).astype(self.df[column].dtype)
        return self.df[column]

    def imitates_real(self, column: str) -> bool:
        """Whether :meth:`fill_like` gives the real values (a faked direct identifier)."""
        return self.actions.get(column) == "fake" and column in self.pii_values


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


# ----------------------------------------------------------------------------- steps


def ingest(cfg: RunConfig) -> Ingested:
    """Read the table, hash it, detect column kinds; check the target exists and varies."""
    df = read_table(cfg.table, na_values=cfg.na_values, encoding=cfg.encoding)
    overrides = load_overrides(cfg.metadata) if cfg.metadata else None
    metadata = detect_metadata(df, overrides)
    if cfg.target is not None:
        if cfg.target not in df.columns:
            raise InputError(
                f"target column {cfg.target!r} is not in the table",
                hint=f"choose one of: {', '.join(map(str, df.columns[:40]))}",
            )
        n_classes = df[cfg.target].nunique(dropna=True)
        if n_classes < 2:
            raise InputError(
                f"target column {cfg.target!r} has {n_classes} distinct value(s); "
                "it needs at least 2",
                hint="pick a label column with two or more classes, or run without --target",
            )
        meta = metadata.columns[cfg.target]
        if meta.kind not in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
            n = df[cfg.target].nunique()
            if n > 50:
                raise InputError(
                    f"target column {cfg.target!r} has {n} distinct values; "
                    "synthpipe conditions on class labels",
                    hint="use a categorical label as --target (e.g. a fraud flag)",
                )
            meta.kind, meta.reason = ColumnKind.CATEGORICAL, "target column (class label)"
    log.info("read %s: %d rows x %d columns", cfg.table, len(df), df.shape[1])
    return Ingested(
        df=df, path=str(Path(cfg.table).resolve()), sha256=sha256_table(cfg.table),
        metadata=metadata,
    )


def validate_input(df: pd.DataFrame, cfg: RunConfig) -> dict:
    """Validate the input against its Great Expectations contract; raise ContractError on failure.

    The contract is ``cfg.expectations`` if given; the bundled sample gets its own suite
    (``expectations/claims.json``); any other table gets the derived baseline (non-empty,
    target with two or more classes, no all-null column).
    """
    from synthpipe import validation
    from synthpipe.config import SAMPLE_TABLE

    suite_path = cfg.expectations
    if suite_path is None and Path(cfg.table).resolve() == SAMPLE_TABLE.resolve():
        suite_path = validation.bundled_suite_for(SAMPLE_TABLE)
    if suite_path is not None:
        suite = validation.load_suite(suite_path)
        source = str(suite_path)
    else:
        suite = validation.baseline_suite(df, cfg.target)
        source = "baseline"
    report = validation.check_input_contract(df, suite)
    out = report.to_dict()
    out["source"] = source
    return out


def protect(df: pd.DataFrame, metadata: TableMetadata, cfg: RunConfig) -> Protected:
    """Detect PII and apply the per-column policies to the real table.

    Direct identifiers never reach a model: by default they are replaced by fake values here and
    regenerated for the synthetic rows in :func:`finish_output`.
    """
    from synthpipe import pii

    findings = pii.detect_pii(df, metadata, seed=cfg.seed) if cfg.pii.detect else []
    actions = pii.plan_actions(findings, metadata, cfg.pii)
    if cfg.target in actions and actions[cfg.target] != PIIAction.KEEP:
        log.warning("target %s was flagged as PII; keeping it since it is the label", cfg.target)
        actions[cfg.target] = PIIAction.KEEP
    needs_key = any(a == PIIAction.PSEUDONYMIZE for a in actions.values())
    key = pii.pii_key_from_env(required=needs_key)
    protected, action_log = pii.protect_table(df, actions, findings, key, cfg.seed)
    by_col = {f.column: f for f in findings}
    pii_values = {
        c: df[c].dropna()
        for c, f in by_col.items()
        if f.category == "direct" and actions.get(c) != PIIAction.KEEP
    }
    plain = {c: PIIAction(a).value for c, a in actions.items()}
    # Faked dates of birth follow the synthetic age where the real ones followed an age column.
    births = [c for c, a in plain.items() if a == "fake" and pii.is_date_pii(
        df[c], by_col[c].pii_type if c in by_col else "")]
    age_links = pii.find_age_links(df, births, model_columns(metadata, plain)) if births else {}
    for entry in action_log:
        if entry["column"] in age_links:
            entry["consistent_with"] = age_links[entry["column"]].to_dict()
    return Protected(
        df=protected,
        actions=plain,
        findings=[f.to_dict() for f in findings],
        action_log=action_log,
        pii_values=pii_values,
        age_links=age_links,
    )


def model_columns(metadata: TableMetadata, actions: dict[str, str]) -> list[str]:
    """Columns a synthesizer learns: modelled kinds that PII policies did not take away.

    A pseudonymized column is modelled only if it is a categorical label (an agent code, say):
    its tokens keep the categories and their relations. Any other pseudonymized column (an id,
    a date turned into tokens) is regenerated like an id.
    """
    out = []
    for c in metadata.modelled:
        action = actions.get(c)
        if action in ("drop", "fake"):
            continue
        if action == "pseudonymize" and metadata.kind(c) != ColumnKind.CATEGORICAL:
            continue
        out.append(c)
    return out


def split(df: pd.DataFrame, cfg: RunConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split into train and holdout, stratified on the target when given.

    The holdout is never trained on: it is the yardstick for fidelity and privacy.
    """
    from sklearn.model_selection import train_test_split

    if len(df) < 10:
        raise InputError(
            f"the table has {len(df)} rows; synthpipe needs at least 10 to hold some out",
            hint="provide a larger table",
        )
    stratify = None
    if cfg.target is not None:
        counts = df[cfg.target].value_counts(dropna=False)
        if counts.min() >= 2:
            stratify = df[cfg.target].astype(str)
        else:
            log.warning("a class of %s has a single row; the split is not stratified", cfg.target)
    train, holdout = train_test_split(
        df, test_size=cfg.holdout_fraction, random_state=cfg.seed, stratify=stratify
    )
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def code_fingerprint() -> str:
    """SHA-256 over synthpipe's own source files: a code change invalidates cached models."""
    import hashlib

    global _CODE_FINGERPRINT
    if _CODE_FINGERPRINT is None:
        h = hashlib.sha256()
        root = Path(__file__).resolve().parent
        for f in sorted(root.rglob("*.py")):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
        _CODE_FINGERPRINT = h.hexdigest()
    return _CODE_FINGERPRINT


_CODE_FINGERPRINT: str | None = None


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
        "params": model_params(cfg, model_name),
        "target": cfg.target,
        "seed": cfg.seed,
        "holdout_fraction": cfg.holdout_fraction,
        "na_values": cfg.na_values,
        "encoding": cfg.encoding,
        "metadata": sha256_file(cfg.metadata) if cfg.metadata else None,
        "pii": json.loads(cfg.pii.model_dump_json()),
        "pii_key": fingerprint,
        "device": cfg.device.value,
        "cache_dir": str(cfg.resolved_cache_dir().resolve()),
        "code": code_fingerprint(),
    }
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return f"{model_name}-{hashlib.sha256(blob).hexdigest()[:24]}"


# Class-balanced training batches when a rebalanced output is asked for: the rare class gets
# more of the gradient, so its synthetic rows are more realistic. a = 0.5 raised the minority
# rows' within-class column shapes and pair trends for tvae, tabddpm and flow on the claims
# sample (2% fraud) and on bank-full (12%), and the claims fraud model's PR-AUC for all three
# (docs/benchmarks.md, rebalancing section; medians of two seeds).
REBALANCE_CLASS_BALANCE = 0.5


def model_params(cfg: RunConfig, model_name: str) -> dict[str, Any]:
    """Constructor parameters for ``model_name`` in this run.

    Hyperparameters in the config belong to the configured model; auto candidates use their own
    defaults (an unknown parameter name fails at construction, naming the valid ones). With
    ``--rebalance``, models trained by synthpipe's loop get class-balanced batches
    (``class_balance`` = :data:`REBALANCE_CLASS_BALANCE`) unless the config sets it.
    """
    from synthpipe.models import get_model

    params = dict(cfg.model.params) if model_name == cfg.model.name else {}
    if cfg.rebalance.spec and cfg.target and "class_balance" in get_model(model_name).param_names():
        params.setdefault("class_balance", REBALANCE_CLASS_BALANCE)
    return params


def train_model(
    train: pd.DataFrame,
    metadata: TableMetadata,
    cfg: RunConfig,
    model_name: str,
    key: str,
    progress: ProgressFn | None = None,
) -> str:
    """Fit a synthesizer on the training split and save it; return the saved model's folder.

    With ``cfg.cache`` the folder is ``<cache_dir>/<key>`` and an existing one is reused, so an
    unchanged table is not trained again; without it the model goes to a temporary folder.
    """
    import tempfile

    from synthpipe.models import create_model

    if cfg.cache:
        path = cfg.resolved_cache_dir() / key
        if (path / "config.json").is_file():
            log.info("reusing cached model %s", path)
            return str(path)
    else:
        path = Path(tempfile.mkdtemp(prefix="synthpipe-model-")) / key
    model = create_model(
        model_name, epochs=cfg.model.epochs, device=cfg.device.value, seed=cfg.seed,
        **model_params(cfg, model_name),
    )
    model.fit(train, metadata, target=cfg.target, progress=progress)
    model.save(path)
    return str(path)


def load_model(path: str | Path) -> Any:
    """Load a saved synthesizer (weights only; no pickle)."""
    from synthpipe.models import Synthesizer

    return Synthesizer.load(path)


def sample(
    model_path: str,
    n_rows: int,
    cfg: RunConfig,
    counts: dict[Any, int] | None = None,
    progress: ProgressFn | None = None,
    seed: int | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Sample synthetic rows: ``counts`` rows of each class, or ``n_rows`` unconditionally.

    Returns:
        The synthetic rows (modelled columns) and the sampling plan (class counts).
    """
    from synthpipe import rebalance

    model = load_model(model_path)
    seed = cfg.seed if seed is None else seed
    if counts is None:
        synthetic = model.sample(n_rows, seed=seed, progress=progress)
        plan: dict[str, Any] = {"mode": "unconditional", "rows": n_rows}
        if cfg.target is not None:
            plan["class_counts"] = _class_counts(synthetic[cfg.target])
        return synthetic, plan
    synthetic = rebalance.sample_counts(model, cfg.target, counts, seed=seed, progress=progress)
    return synthetic, {
        "mode": "rebalanced",
        "spec": cfg.rebalance.spec,
        "rows": int(sum(counts.values())),
        "class_counts": {str(k): int(v) for k, v in counts.items()},
    }


def chunk_plan(
    n_rows: int, chunk_rows: int, counts: dict[Any, int] | None
) -> list[tuple[int, dict[Any, int] | None]]:
    """Split an output of ``n_rows`` into chunks of at most ``chunk_rows`` rows.

    Class counts are split across chunks so that each class's total stays exact.

    Returns:
        One ``(rows, counts or None)`` per chunk.
    """
    n_chunks = max(1, -(-n_rows // chunk_rows))
    sizes = [n_rows // n_chunks + (1 if i < n_rows % n_chunks else 0) for i in range(n_chunks)]
    if counts is None:
        return [(size, None) for size in sizes]
    left = dict(counts)
    out = []
    for i, size in enumerate(sizes):
        if i == n_chunks - 1:
            part = dict(left)
        else:
            part = _split_exact(left, size)
            left = {c: left[c] - part[c] for c in left}
        out.append((sum(part.values()), part))
    return out


def _split_exact(counts: dict[Any, int], size: int) -> dict[Any, int]:
    """``size`` rows taken from ``counts`` in proportion, by largest remainders."""
    total = sum(counts.values())
    raw = {c: n * size / total for c, n in counts.items()}
    part = {c: int(v) for c, v in raw.items()}
    for c in sorted(raw, key=lambda c: raw[c] - part[c], reverse=True)[: size - sum(part.values())]:
        part[c] += 1
    return part


def sample_chunk(
    model_path: str,
    index: int,
    rows: int,
    counts: dict[Any, int] | None,
    cfg: RunConfig,
    prot: Protected,
    metadata: TableMetadata,
    folder: str,
) -> dict:
    """Generate one chunk of a large output and write it as ``part-<index>.parquet``.

    Each chunk has its own seed, is completed (ids, fakes) and scanned for leaked direct
    identifiers on the worker, so a worker holds one chunk at a time, never the whole output.
    """
    seed = cfg.seed + 1000 * index
    synthetic, _ = sample(model_path, rows, cfg, counts, seed=seed)
    part = finish_output(synthetic, prot, metadata, seed)
    from synthpipe.evaluation.privacy import pii_leakage

    leaks = pii_leakage(part, prot.pii_values)["total"] if prot.pii_values else 0
    path = Path(folder) / f"part-{index:05d}.parquet"
    write_table(part, path)
    return {"path": str(path), "rows": int(len(part)), "pii_leaks": leaks}


def _class_counts(s: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in s.value_counts(dropna=False).sort_index().items()}


def finish_output(
    synthetic: pd.DataFrame, prot: Protected, metadata: TableMetadata, seed: int
) -> pd.DataFrame:
    """Complete the synthetic rows into the published table.

    Columns that were never modelled (ids, free text, faked or pseudonymized identifiers) are
    filled with fresh format-preserving values that match no real value; dropped columns stay
    out; column order and dtypes follow the input.
    """
    from synthpipe import pii

    protected = prot.df
    columns = [c for c in protected.columns if prot.actions.get(c) != "drop"]
    missing = [c for c in columns if c not in synthetic.columns]
    every_real = prot.real_direct_strings()
    forbidden = {c: every_real for c in missing}
    kinds = {c: metadata.kind(c).value for c in metadata.columns}
    pii_types = {f["column"]: f["pii_type"] for f in prot.findings if f["column"] in missing}
    swap = [c for c in missing if prot.imitates_real(c)]
    basis = protected.copy() if swap else protected  # copied only when a column changes
    for c in swap:
        basis[c] = prot.fill_like(c)
    out = pii.fill_output_columns(
        synthetic, basis, missing, kinds, pii_types, seed, forbidden=forbidden,
        age_links=prot.age_links,
    )
    out = out[columns]
    for c in columns:
        want = protected[c].dtype
        if out[c].dtype != want:
            try:
                out[c] = out[c].astype(want)
            except (TypeError, ValueError):
                log.warning("column %s could not be cast back to %s", c, want)
    return out.reset_index(drop=True)


def validate_synthetic(
    train: pd.DataFrame, published: pd.DataFrame, metadata: TableMetadata, target: str | None,
    model_path: str | None = None,
) -> tuple[dict, dict]:
    """Derive a Great Expectations suite from the real training data; validate the output.

    The suite covers every column of the (protected) training table, so a column missing from
    the output fails its column-set check. It is published with the run, so its value sets
    leave out the labels the model at ``model_path`` merged as rare (its ``rare_min_count``).
    Columns that model did not learn (ids, text, faked identifiers) are filled with fresh
    values, so they get no value set.

    Returns:
        The validation report (dict) and the suite (JSON dict) saved beside the run.
    """
    from synthpipe import validation

    min_count, generated = 0, []
    if model_path:
        model = load_model(model_path)
        min_count = int(model.transformer_.rare_min_count)
        generated = [c for c in train.columns if c not in model.columns_]
    suite = validation.derive_suite(train, metadata.subset(list(train.columns)), target,
                                    min_label_count=min_count, generated=generated)
    report = validation.validate(published, suite)
    return report.to_dict(), validation.suite_to_json(suite)


def evaluate(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    published: pd.DataFrame,
    metadata: TableMetadata,
    cfg: RunConfig,
    pii_values: dict[str, pd.Series],
    model_path: str | None = None,
) -> dict:
    """Fidelity, utility and privacy of the synthetic rows against train and holdout.

    A model with a ``log_prob`` (the flow model) also serves the density-ratio attack.
    """
    from synthpipe.evaluation import evaluate as run_evaluation

    model = load_model(model_path) if model_path else None
    density_model = model if hasattr(model, "log_prob") else None
    cols = list(synthetic.columns)
    metrics = run_evaluation(
        train[cols],
        holdout[cols],
        synthetic,
        metadata.subset(cols),
        cfg.target,
        seed=cfg.seed,
        pii_values=pii_values,
        published=published,
        density_model=density_model,
    )
    if cfg.target is not None:
        metrics["within_class"] = within_class_fidelity(
            train[cols], holdout[cols], synthetic, metadata.subset(cols), cfg.target, cfg.seed
        )
    return metrics


def within_class_fidelity(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    metadata: TableMetadata,
    target: str,
    seed: int,
    min_rows: int = 20,
) -> dict:
    """Fidelity computed inside each class: real minority rows vs synthetic minority rows.

    Rebalancing multiplies the minority class; these scores show whether those rows are
    realistic, beside the same scores for the real holdout's rows of that class.
    """
    from synthpipe.evaluation import fidelity_report

    features = [c for c in train.columns if c != target]
    out: dict[str, Any] = {}
    for cls in sorted(train[target].dropna().unique(), key=str):
        parts = [f[f[target] == cls][features] for f in (train, holdout, synthetic)]
        sizes = {"train": len(parts[0]), "holdout": len(parts[1]), "synthetic": len(parts[2])}
        if min(sizes.values()) < min_rows:
            out[str(cls)] = {"rows": sizes, "skipped": f"fewer than {min_rows} rows in a split"}
            continue
        rep = fidelity_report(*parts, metadata.subset(features), seed=seed, max_rows=5_000)
        out[str(cls)] = {
            "rows": sizes,
            **{
                k: {"synthetic": rep[k].get("synthetic"), "holdout": rep[k].get("holdout")}
                for k in ("column_shapes", "pair_trends", "detection")
                if k in rep
            },
        }
    return out


def gate(metrics: dict, cfg: RunConfig) -> dict:
    """Apply the publication gates: privacy failures block, fidelity floors warn."""
    from synthpipe.evaluation import gates

    return gates(metrics, cfg.gates)


def default_out_dir(cfg: RunConfig) -> Path:
    """``<runs_dir>/<table stem>-<UTC timestamp>`` (runs_dir defaults to ``runs``)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(cfg.runs_dir) / f"{Path(cfg.table).stem}-{stamp}"


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape a run's result."""
    versions = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


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
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError(
            f"output folder {out_dir} already exists and is not empty",
            hint="choose a new --out folder or remove the old one",
        )
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


def augment(
    best: Candidate,
    train: pd.DataFrame,
    prot: Protected,
    metadata: TableMetadata,
    cols: list[str],
    class_counts: dict[Any, int],
    cfg: RunConfig,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Real training rows plus synthetic rows of the under-represented classes.

    Always built when a rebalance spec is given (the downstream check compares it); it is the
    published table only in ``augment`` mode, for teams allowed to use real rows.

    Returns:
        The table to publish, the augmented table (modelled columns, for the downstream check)
        and a summary for metrics.json.
    """
    from synthpipe import rebalance

    add = rebalance.augment_counts(cfg.rebalance.spec, class_counts)
    add = {c: n for c, n in add.items() if n > 0}
    model = load_model(best.model_path)
    extra = rebalance.sample_counts(model, cfg.target, add, seed=cfg.seed + 1) if add else None
    real_part = train[list(best.published.columns)]
    if extra is not None:
        extra_pub = finish_output(extra, prot, metadata, cfg.seed + 1)
        aug_pub = pd.concat([real_part, extra_pub], ignore_index=True)
    else:
        aug_pub = real_part.reset_index(drop=True)
    order = np.random.default_rng(cfg.seed).permutation(len(aug_pub))
    aug_pub = aug_pub.iloc[order].reset_index(drop=True)
    summary = {
        "mode": cfg.rebalance.mode,
        "real_rows": int(len(real_part)),
        "synthetic_rows_added": {str(c): int(n) for c, n in add.items()},
        "class_counts": {
            str(k): int(v) for k, v in aug_pub[cfg.target].value_counts().sort_index().items()
        },
    }
    published = aug_pub if cfg.rebalance.mode == "augment" else best.published
    return published, aug_pub[cols], summary


def downstream(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    augmented: pd.DataFrame | None,
    class_counts: dict[Any, int],
    metadata: TableMetadata,
    cfg: RunConfig,
) -> dict:
    """Fraud-model check on the real holdout: real vs synthetic vs augmented training data."""
    from synthpipe.evaluation.downstream import downstream_report

    positive = min(class_counts, key=lambda c: (class_counts[c], str(c)))
    return downstream_report(
        train,
        holdout,
        synthetic,
        cfg.target,
        positive,
        metadata,
        augmented=augmented,
        seed=cfg.seed,
    )


def sample_all_chunks(
    runner: StepRunner,
    best: Candidate,
    chunks: list[tuple[int, dict[Any, int] | None]],
    cfg: RunConfig,
    prot: Protected,
    metadata: TableMetadata,
    out_dir: Path,
) -> tuple[Path, dict]:
    """Write a large output as a partitioned parquet dataset, chunks generated in parallel.

    Part 0 is the evaluated sample; the other parts are generated by ``sample_chunk`` tasks
    (on Dask workers with ``runner: dask``) into a staging folder beside the run folder, which
    :func:`publish` moves into place.
    """
    staging = out_dir.parent / f".{out_dir.name}.parts"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    write_table(best.published, staging / "part-00000.parquet")
    results = runner.map(
        "sample_chunk",
        sample_chunk,
        [
            (best.model_path, i, rows, counts, cfg, prot, metadata, str(staging))
            for i, (rows, counts) in enumerate(chunks)
            if i > 0
        ],
    )
    total = len(best.published) + sum(r["rows"] for r in results)
    summary = {
        "parts": len(chunks),
        "rows": total,
        "chunk_rows": cfg.chunk_rows,
        "pii_leaks": sum(r["pii_leaks"] for r in results),
        "evaluated_part": "part-00000.parquet",
        "redrawn_across_parts": unique_across_parts(staging, prot, metadata, cfg.seed),
    }
    return staging, summary


def unique_across_parts(folder: Path, prot: Protected, metadata: TableMetadata,
                        seed: int) -> dict[str, int]:
    """Keep filled columns unique over all parts of a large output; returns redraws per column.

    Each part is filled on its own (possibly on another worker), so a fake id of one part can
    repeat one of another (four parts of 250,000 seven-digit ids would share tens of thousands).
    Every filled column whose real values are unique is read from all parts, and each repeat of
    an earlier value is replaced by a fresh fake; the parts that changed are rewritten.
    """
    from synthpipe import pii

    parts = sorted(Path(folder).glob("part-*.parquet"))
    protected = prot.df
    modelled = set(model_columns(metadata, prot.actions))
    columns = [c for c in protected.columns if prot.actions.get(c) != "drop"
               and c not in modelled and protected[c].notna().any()
               and protected[c].dropna().is_unique]
    if len(parts) < 2 or not columns:
        return {}
    # Only the columns checked are read from every part; a part is read whole only to be
    # rewritten, so the flow never holds the whole output.
    frames = [pd.read_parquet(p, columns=columns) for p in parts]
    sizes = [len(f) for f in frames]
    every_real = prot.real_direct_strings()
    types = {f["column"]: f["pii_type"] for f in prot.findings}
    redrawn: dict[str, int] = {}
    updates: dict[int, dict[str, np.ndarray]] = {}
    for col in columns:
        values = pd.concat([f[col] for f in frames], ignore_index=True)
        pii_type = types.get(col) or pii.fallback_type(protected[col], metadata.kind(col).value)
        fixed = pii.redraw_repeats(values, prot.fill_like(col), pii_type, seed + 7919, every_real)
        moved = (fixed.astype(str) != values.astype(str)).to_numpy()
        if not moved.any():
            continue
        redrawn[str(col)] = int(moved.sum())
        start = 0
        for i, n in enumerate(sizes):
            if moved[start:start + n].any():
                updates.setdefault(i, {})[col] = fixed.iloc[start:start + n].to_numpy()
            start += n
    for i, new_columns in sorted(updates.items()):
        part = pd.read_parquet(parts[i])
        for col, arr in new_columns.items():
            part[col] = pd.Series(arr, index=part.index).astype(part[col].dtype)
        write_table(part, parts[i])
    if redrawn:
        log.info("redrew values repeated across parts: %s", redrawn)
    return redrawn


# ----------------------------------------------------------------------------- candidates


@dataclass
class Candidate:
    """One trained model, its sample and its scores."""

    name: str
    model_path: str
    synthetic: pd.DataFrame
    published: pd.DataFrame
    plan: dict
    metrics: dict
    suite_report: dict
    suite_json: dict
    verdict: dict


def candidate_score(metrics: dict) -> float:
    """Quality of a candidate in [0, 1]: the mean of its fidelity and utility scores.

    Column shapes, pair trends, detection (1 at AUC 0.5, 0 at AUC 1) and, with a target, the
    train-synthetic-test-real ROC-AUC ratio (capped at 1). Missing scores are left out.
    """
    fid = metrics.get("fidelity", {})
    parts = []
    for key in ("column_shapes", "pair_trends"):
        v = (fid.get(key) or {}).get("synthetic")
        if v is not None:
            parts.append(float(v))
    auc = (fid.get("detection") or {}).get("synthetic")
    if auc is not None:
        parts.append(max(0.0, 1.0 - 2.0 * abs(float(auc) - 0.5)))
    ratio = ((metrics.get("utility") or {}).get("ratios") or {}).get("roc_auc")
    if ratio is not None:
        parts.append(min(1.0, float(ratio)))
    return sum(parts) / len(parts) if parts else 0.0


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


# ----------------------------------------------------------------------------- composition


def run_pipeline(
    cfg: RunConfig,
    progress: ProgressFn | None = None,
    runner: StepRunner | None = None,
    approve: Callable[[dict], dict] | None = None,
) -> RunResult:
    """Run every step of a synthpipe job and publish (or quarantine) the result.

    Args:
        cfg: The run configuration.
        progress: Callback for training and sampling progress ``(phase, step, total, info)``.
        runner: How each step is executed (default: directly, in order).
        approve: Called before publishing with ``{"publishable", "failed"}``; returns the
            steward's decision ``{"decision": "approved"|"rejected", "by", "comment", "at"}``.
            A rejection quarantines the dataset (gate ``steward_approval``).

    Returns:
        Paths of the outputs and the metrics; ``publishable`` False means quarantined.

    Raises:
        SynthpipeError: Bad input, configuration or contract, with a message naming the fix.
    """
    runner = runner or DirectRunner()
    timings: dict[str, float] = {}
    started = datetime.now(UTC)

    def step(name: str, fn: Callable[..., Any], *args: Any) -> Any:
        t0 = time.perf_counter()
        result = runner.run(name, fn, *args)
        timings[name] = round(time.perf_counter() - t0, 3)
        return result

    def each(name: str, fn: Callable[..., Any], calls: list[tuple]) -> list[Any]:
        t0 = time.perf_counter()
        result = runner.map(name, fn, calls)
        timings[name] = round(time.perf_counter() - t0, 3)
        return result

    out_dir = Path(cfg.out) if cfg.out else default_out_dir(cfg)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError(
            f"output folder {out_dir} already exists and is not empty",
            hint="choose a new --out folder or remove the old one",
        )
    names = cfg.candidate_models()
    from synthpipe.models import create_model

    for name in names:
        # An unknown model or parameter fails before any work is done (__init__ only stores).
        create_model(name, **model_params(cfg, name))

    ing: Ingested = step("ingest", ingest, cfg)
    contract = step("validate_input", validate_input, ing.df, cfg)
    prot: Protected = step("protect", protect, ing.df, ing.metadata, cfg)
    train, holdout = step("split", split, prot.df, cfg)
    cols = model_columns(ing.metadata, prot.actions)
    if cfg.target is not None and cfg.target not in cols:
        cols.append(cfg.target)
    meta = ing.metadata.subset(cols)
    class_counts = train[cfg.target].value_counts().to_dict() if cfg.target else None
    counts = None
    if cfg.target is not None and cfg.rebalance.spec is not None:
        from synthpipe.rebalance import plan_counts

        counts = plan_counts(cfg.rebalance.spec, class_counts, cfg.rows, len(train))
    n_rows = sum(counts.values()) if counts else (cfg.rows or len(train))
    # Large outputs are sampled in chunks; the first chunk is the one every candidate is
    # evaluated and gated on, and it is published as the first part.
    chunks = chunk_plan(n_rows, cfg.chunk_rows, counts)
    if len(chunks) > 1 and cfg.rebalance.mode == "augment":
        raise ConfigError(
            f"augment mode writes real rows and is limited to {cfg.chunk_rows} output rows",
            hint="use the synthetic mode for large outputs, or raise chunk_rows",
        )
    eval_rows, eval_counts = chunks[0]

    def progress_for(name: str) -> ProgressFn | None:
        if progress is None or len(names) == 1:
            return progress
        return lambda phase, i, n, info: progress(f"{phase} {name}", i, n, info)

    keys = [training_key(ing.sha256, cfg, name) for name in names]
    train_calls = [
        (train[cols], meta, cfg, n, k, progress_for(n)) for n, k in zip(names, keys, strict=True)
    ]
    paths = each("train", train_model, train_calls)
    for i, path in enumerate(paths):
        # An orchestrator's cached result can outlive the model folder (cache cleared): retrain.
        if not (Path(path) / "config.json").is_file():
            log.warning("cached model %s is gone; training %s again", path, names[i])
            paths[i] = step("train_again", train_model, *train_calls[i])
    samples = each(
        "sample",
        sample,
        [
            (p, eval_rows, cfg, eval_counts, progress_for(n))
            for n, p in zip(names, paths, strict=True)
        ],
    )
    published = each(
        "finish_output",
        finish_output,
        [(syn, prot, ing.metadata, cfg.seed) for syn, _ in samples],
    )
    suites = each(
        "validate_synthetic",
        validate_synthetic,
        [(train, pub, ing.metadata, cfg.target, p)
         for pub, p in zip(published, paths, strict=True)],
    )
    metrics_list = each(
        "evaluate",
        evaluate,
        [
            (train, holdout, syn[cols], pub, meta, cfg, prot.pii_values, p)
            for (syn, _), pub, p in zip(samples, published, paths, strict=True)
        ],
    )
    for m, (suite_report, _), (_, plan) in zip(metrics_list, suites, samples, strict=True):
        m["input_contract"] = contract
        m["synthetic_suite"] = suite_report
        if class_counts is not None:
            plan["train_class_counts"] = {str(k): int(v) for k, v in class_counts.items()}
        m["sampling"] = plan
    verdicts = each("gate", gate, [(m, cfg) for m in metrics_list])
    candidates = [
        Candidate(n, p, syn, pub, plan, m, sr, sj, v)
        for n, p, (syn, plan), pub, m, (sr, sj), v in zip(
            names, paths, samples, published, metrics_list, suites, verdicts, strict=True
        )
    ]
    best = candidates[select_candidate(candidates)]
    metrics = best.metrics
    metrics["gates"] = best.verdict
    metrics["profiles"] = column_profiles(train[cols], best.synthetic[cols], meta)
    output = best.published
    augmented = None
    if cfg.target is not None and cfg.rebalance.spec is not None:
        output, augmented, metrics["augment"] = step(
            "augment", augment, best, train, prot, ing.metadata, cols, class_counts, cfg
        )
    if cfg.target is not None:
        metrics["downstream"] = step(
            "downstream",
            downstream,
            train[cols],
            holdout[cols],
            best.synthetic[cols],
            augmented,
            class_counts,
            meta,
            cfg,
        )
    if len(candidates) > 1:
        metrics["candidates"] = {
            "rule": "blocking gates pass first, then the mean of fidelity and utility scores",
            "chosen": best.name,
            "models": [
                {
                    "name": c.name,
                    "publishable": c.verdict["publishable"],
                    "failed_gates": c.verdict.get("failed", []),
                    "score": round(candidate_score(c.metrics), 4),
                    "column_shapes": c.metrics.get("fidelity", {}).get("column_shapes"),
                    "pair_trends": c.metrics.get("fidelity", {}).get("pair_trends"),
                    "detection": c.metrics.get("fidelity", {}).get("detection"),
                    "utility": (c.metrics.get("utility") or {}).get("ratios"),
                }
                for c in candidates
            ],
        }
    verdict = best.verdict
    if len(chunks) > 1:
        output, chunk_summary = step(
            "sample_chunks",
            sample_all_chunks,
            runner,
            best,
            chunks,
            cfg,
            prot,
            ing.metadata,
            out_dir,
        )
        metrics["chunks"] = chunk_summary
        verdict = _with_check(verdict, _chunk_leak_check(chunk_summary, cfg))
        metrics["gates"] = verdict
    approval = None
    if approve is not None:
        approval = approve(
            {"publishable": verdict["publishable"], "failed": verdict.get("failed", [])}
        )
        verdict = _with_check(verdict, _approval_check(approval))
        metrics["gates"] = verdict
    model = load_model(best.model_path)
    manifest = {
        "synthpipe_version": package_versions()["synthpipe"],
        "created_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "user": _user(),
        "host": platform.node(),
        "input": {
            "path": ing.path,
            "sha256": ing.sha256,
            "rows": len(ing.df),
            "columns": ing.df.shape[1],
        },
        "rows": {
            "input": len(ing.df),
            "train": len(train),
            "holdout": len(holdout),
            "synthetic": n_rows,
            "published": len(output) if isinstance(output, pd.DataFrame) else n_rows,
        },
        "columns": [
            {
                **m.to_dict(),
                "action": prot.actions.get(c, "keep" if c in cols else "regenerate"),
                "modelled": c in cols,
            }
            for c, m in ing.metadata.columns.items()
        ],
        "output_columns": list(best.published.columns),
        "output_mode": cfg.rebalance.mode if cfg.rebalance.spec else "synthetic",
        "pii": {"findings": prot.findings, "actions": prot.action_log},
        "model": {
            "name": best.name,
            "requested": cfg.model.name,
            "candidates": names,
            "cache_key": keys[names.index(best.name)],
            "params": model.get_params(),
            "device": str(getattr(model, "device_", cfg.device.value)),
        },
        "sampling": best.plan,
        "config": cfg.public_dict(),
        "seed": cfg.seed,
        "versions": package_versions(),
        "timings_seconds": timings,
        "gates": {
            "publishable": verdict["publishable"],
            "failed": verdict.get("failed", []),
        },
        "approval": approval,
    }
    return step(
        "publish",
        publish,
        out_dir,
        output,
        manifest,
        metrics,
        best.suite_json,
        best.model_path,
        verdict,
        build_report,
    )


def _approval_check(approval: dict) -> dict:
    """The steward's decision as a blocking gate check."""
    approved = approval.get("decision") == "approved"
    return {
        "name": "steward_approval",
        "category": "approval",
        "value": approval.get("decision"),
        "threshold": "approved",
        "op": "==",
        "severity": "block",
        "passed": approved,
        "status": "passed" if approved else "failed",
        "message": f"{approval.get('decision')} by {approval.get('by')}: "
        f"{approval.get('comment') or 'no comment'}",
    }


def _chunk_leak_check(summary: dict, cfg: RunConfig) -> dict:
    """The PII-leak scan of every chunk of a large output as a blocking gate check."""
    from synthpipe.evaluation.gates import gate_check

    return gate_check(
        "pii_leaks_all_chunks",
        "privacy",
        "block",
        int(summary["pii_leaks"]),
        cfg.gates.pii_leaks_max,
        "<=",
        fail_closed=True,
        why=f"real direct-identifier values appear in the {summary['parts']} parts",
        fix="Check the PII policies of the identifier columns.",
    )


def _with_check(verdict: dict, check: dict) -> dict:
    """The gate verdict with one more blocking check added."""
    failed = [*verdict.get("failed", []), *([] if check["passed"] else [check["name"]])]
    return {
        **verdict,
        "checks": [*verdict.get("checks", []), check],
        "failed": failed,
        "publishable": bool(verdict["publishable"] and check["passed"]),
    }


def column_profiles(train: pd.DataFrame, synthetic: pd.DataFrame, meta: TableMetadata) -> dict:
    """Aggregated per-column distributions of real and synthetic data for the report."""
    from synthpipe.report import column_profiles as profile

    real = profile(train, meta)
    # The real profile fixes bins and categories, so synthetic bars line up with real ones.
    return {"real": real, "synthetic": profile(synthetic, meta, edges=real)}


def build_report(folder: Path) -> None:
    """Write report.html and report.json into a run folder."""
    from synthpipe.report import build_report as build

    build(folder)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


__all__ = [
    "Ingested",
    "Protected",
    "RunResult",
    "run_pipeline",
    "ingest",
    "validate_input",
    "protect",
    "split",
    "train_model",
    "sample",
    "finish_output",
    "validate_synthetic",
    "evaluate",
    "gate",
    "publish",
    "package_versions",
    "DirectRunner",
    "StepRunner",
    "Candidate",
    "select_candidate",
    "candidate_score",
    "training_key",
    "load_model",
]
