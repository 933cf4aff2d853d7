"""Synthesizer: the template every model follows.

One class of about 600 lines, kept whole on purpose: it is the contract every model shares,
and each public method (fit, sample, save, load) is written once here rather than per model.

Public methods live here once: input checks, target handling, encoding, device, seeding,
batched sampling, save and load. A model writes only the tensor-world hooks:

- ``_build(n_features)``: create its networks (on ``self.device_``) from ``self.transformer_``;
  called by :meth:`Synthesizer.fit` right before ``_fit`` and by :meth:`Synthesizer.load`.
- ``_fit(x, cond)``: train, normally through :meth:`Synthesizer._train`.
- ``_sample(n, cond, generator) -> (n, output_dim)``: generate encoded rows (discrete spans may
  be logits or one-hots).
- ``_modules()``: the modules whose ``state_dict`` is saved.
- optionally ``_extra_state()`` / ``_load_extra_state(state)``: JSON-ready model state that is
  not a tensor (restored before ``_build`` on load).

Attributes set by ``fit`` (scikit-learn style, trailing underscore): ``transformer_``,
``columns_``, ``dtypes_``, ``target_``, ``classes_``, ``class_prior_``, ``n_classes_``,
``n_features_``, ``device_``, ``epochs_``, ``batch_size_``, ``loss_history_``, ``fit_seconds_``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from synthpipe.constraints import OrderConstraints
from synthpipe.errors import ModelError
from synthpipe.metadata import TableMetadata
from synthpipe.models.params import (
    COUNT,
    ENCODING,
    TRAINING,
    Interval,
    check_params,
    constraints_of,
)
from synthpipe.rules import TableRules
from synthpipe.training import (
    TrainConfig,
    TrainResult,
    resolve_device,
    seed_everything,
    train,
)
from synthpipe.transform import TableTransformer

logger = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int, dict], None]

_FORMAT = "synthpipe-model"
_FORMAT_VERSION = 1
# Targets with more distinct values than this are not class labels.
_MAX_CLASSES = 1000
_BASE_PARAMS = ("epochs", "batch_size", "device", "seed")
#: With the default budget (``epochs=None``), training runs to convergence: at most this many
#: times the model's default epochs, stopped earlier by the fidelity checks or a time budget.
CONVERGE_FACTOR = 5
#: Fewer training rows than this keep the default fixed budget. On a small table a longer run
#: copies rows: the 1,000-row insurance_claims table trained to convergence reached a
#: membership-inference AUC of 0.72 and a DCR share of 0.67 (quarantined), against 0.56 and
#: 0.53 at the fixed budget; the in-training memorisation check, on 80 validation rows, saw
#: too little of it to stop in time.
CONVERGE_MIN_ROWS = 5_000


#: TrainConfig fields a model may set through parameters of the same name (the budget,
#: ``epochs``, ``batch_size`` and ``time_budget``, is resolved by ``fit``).
_LOOP_FIELDS = tuple(
    f.name for f in dataclasses.fields(TrainConfig)
    if f.name not in ("epochs", "batch_size", "time_budget")
)

#: Model name -> class, filled as the model classes are defined (see Synthesizer.load).
_SAVED_KINDS: dict[str, type[Synthesizer]] = {}


def _native(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


class Synthesizer:
    """Base class of all synthesizers (see the module docstring for the hooks).

    Args:
        epochs: Training epochs; None scales with the data (:meth:`default_epochs`).
        batch_size: Rows per step; None scales with the data (:meth:`default_batch_size`).
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        seed: Seeds training and, unless given per call, sampling.
        **model_params: Model hyperparameters (stored as attributes of the same name).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    supports_conditions: ClassVar[bool] = True
    #: Whether the default budget trains to convergence (synthpipe's loop and its fidelity
    #: check); a model trained by another package's loop keeps its fixed default budget.
    converges: ClassVar[bool] = True
    # Names read by the TableTransformer when a model exposes them as parameters.
    _transformer_param_names: ClassVar[tuple[str, ...]] = (
        "numerical", "max_categories", "rare_min_count",
    )
    #: What each constructor parameter accepts (:mod:`synthpipe.models.params`); a model's
    #: table adds to its bases'. Checked by :meth:`validate_params` when ``fit`` starts.
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "epochs": [COUNT, None],
        "batch_size": [COUNT, None],
        "device": [str],
        "seed": [Interval(int, None, None)],
        **TRAINING,
        **ENCODING,
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Saved models name their class; load() finds it here, so the base class never
        # imports the registry (which imports every model, and so the base).
        super().__init_subclass__(**kwargs)
        if cls.name:
            _SAVED_KINDS[cls.name] = cls

    def __init__(self, *, epochs: int | None = None, batch_size: int | None = None,
                 device: str = "auto", seed: int = 0, **model_params: Any) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.device = device
        self.seed = seed
        self._extra_param_names = tuple(model_params)
        for key, value in model_params.items():
            setattr(self, key, value)

    # ------------------------------------------------------------------ parameters

    @classmethod
    def param_names(cls) -> list[str]:
        """Constructor parameter names (the model's own, then the base ones)."""
        names: list[str] = []
        for klass in cls.__mro__:
            if "__init__" not in vars(klass) or klass is object:
                continue
            for p in inspect.signature(klass.__init__).parameters.values():
                if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                    if p.name not in names:
                        names.append(p.name)
            if klass is Synthesizer:
                break
        return names

    def validate_params(self) -> None:
        """Check every parameter against the model's constraint table.

        Raises:
            ModelError: The first invalid parameter, its value and what it accepts.
        """
        check_params(self.name or type(self).__name__, self.get_params(),
                     constraints_of(type(self)))

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters and their values (enough to rebuild an unfitted copy)."""
        names = [*self.param_names(), *getattr(self, "_extra_param_names", ())]
        return {n: getattr(self, n) for n in dict.fromkeys(names)}

    @classmethod
    def default_epochs(cls, n_rows: int) -> int:
        """Epoch budget for ``n_rows`` rows: about 2,000 optimizer steps, within [5, 300]."""
        steps_per_epoch = max(1, math.ceil(n_rows / cls.default_batch_size(n_rows)))
        return int(min(300, max(5, math.ceil(2000 / steps_per_epoch))))

    @classmethod
    def default_batch_size(cls, n_rows: int) -> int:
        """Rows per step: a power of two near ``n_rows / 32``, within [64, 4096]."""
        target = max(1.0, n_rows / 32)
        return int(min(4096, max(64, 2 ** round(math.log2(target)))))

    # ------------------------------------------------------------------ fit

    def fit(self, data: pd.DataFrame, metadata: TableMetadata, target: str | None = None,
            progress: ProgressFn | None = None,
            time_budget: float | None = None,
            rules: TableRules | None = None) -> Synthesizer:
        """Learn the table.

        With ``epochs=None`` (the default budget) and at least :data:`CONVERGE_MIN_ROWS`
        rows, training runs to convergence: every few
        hundred steps a sample is scored against real rows (see
        :mod:`synthpipe.models._converge`); the best-scoring weights are kept
        and training stops when the score has not improved for a few checks, after
        :data:`CONVERGE_FACTOR` times :meth:`default_epochs`, or at ``time_budget``. A fixed
        ``epochs`` trains exactly that long (the time budget still caps it).

        Args:
            data: Training rows.
            metadata: Column kinds; only modelled columns (not ids, not text) are learnt.
            target: Class label column to condition on (rebalancing), or None.
            progress: Called as ``progress("fit", epoch, epochs, {"loss": ...})``.
            time_budget: Wall-time cap of training in seconds (None: none).
            rules: Declared business rules, and whether to find others (default: find them
                in ``data``); kept by construction (see :mod:`synthpipe.rules`).

        Returns:
            self.

        Raises:
            ModelError: An invalid parameter (:meth:`validate_params`), empty data, unknown
                target, a target with fewer than two classes, or no column to learn.
        """
        started = time.perf_counter()
        self.validate_params()
        features, cond = self._prepare(data, metadata, target)
        self.device_ = resolve_device(self.device)
        generator = seed_everything(self.seed)
        self._generator = generator
        raw = features  # as the fidelity checks compare samples with it
        # Business rules (totals, rates, dependencies, orders) are kept by construction: the
        # columns they fix are derived after sampling, not modelled.
        self.rules_ = (rules or TableRules()).fit(features, metadata)
        features = self.rules_.transform(features)
        ruled = self.rules_.transformed_metadata(metadata)
        # Datetime order rules of the real data (report >= incident) likewise: the later
        # column is modelled as a non-negative gap from its anchor.
        self.constraints_ = OrderConstraints().fit(features, ruled)
        features = self.constraints_.transform(features)
        self.transformer_ = TableTransformer(**self._transformer_options()).fit(
            features, self.constraints_.transformed_metadata(ruled)
        )
        x = self.transformer_.transform(features)
        self.n_features_ = int(x.shape[1])
        n_rows = len(features)
        self.converge_ = (self.converges and self.epochs is None
                          and len(features) >= CONVERGE_MIN_ROWS)
        default = self.default_epochs(n_rows)
        self.epochs_ = int(self.epochs or default * (CONVERGE_FACTOR if self.converge_ else 1))
        self.batch_size_ = int(self.batch_size or self.default_batch_size(n_rows))
        self.loss_history_: list[dict[str, Any]] = []
        self._progress = progress
        self._time_budget = time_budget
        self._fit_frame = (raw, metadata, cond)
        try:
            self._build(self.n_features_)
            self._fit(x, cond)
        finally:
            self._progress = None
            self._generator = None
            self._fit_frame = None
        for module in self._modules().values():
            module.eval()
        self.fit_seconds_ = time.perf_counter() - started
        logger.info("%s fitted on %d rows x %d features in %.1f s",
                    self.name or type(self).__name__, n_rows, self.n_features_, self.fit_seconds_)
        return self

    def _prepare(self, data: pd.DataFrame, metadata: TableMetadata,
                 target: str | None) -> tuple[pd.DataFrame, torch.Tensor | None]:
        """Validate input, keep modelled columns, split off the target as class indices."""
        if not isinstance(data, pd.DataFrame):
            raise ModelError(f"fit expects a pandas DataFrame, got {type(data).__name__}")
        if len(data) == 0:
            raise ModelError("cannot fit on an empty table", hint="check the input and filters")
        columns = [c for c in metadata.modelled if c in data.columns]
        if target is not None and target not in data.columns:
            raise ModelError(
                f"target column {target!r} is not in the table",
                hint=f"use one of {list(data.columns)}",
            )
        if target is not None and target not in columns:
            columns.append(target)
            columns = [c for c in data.columns if c in columns]
        if not columns or columns == [target]:
            raise ModelError(
                "no column to learn besides the target",
                hint="the table needs numerical, categorical, boolean or date columns",
            )
        data = data[columns]
        self.columns_ = list(columns)
        self.dtypes_ = {c: str(data[c].dtype) for c in columns}
        self.target_ = target
        self.classes_: list[Any] = []
        self.class_prior_: list[float] = []
        self.n_classes_ = 0
        cond = None
        if target is not None:
            labels = data[target]
            if labels.isna().any():
                logger.warning("dropping %d rows whose target %r is missing",
                               int(labels.isna().sum()), target)
                data = data[labels.notna()]
                labels = data[target]
            counts = labels.value_counts()
            if len(counts) < 2:
                raise ModelError(
                    f"target {target!r} has {len(counts)} class(es); conditioning needs >= 2",
                    hint="choose another target or fit without one",
                )
            if len(counts) > _MAX_CLASSES:
                raise ModelError(
                    f"target {target!r} has {len(counts)} distinct values, not a class label",
                    hint="choose a categorical or boolean target",
                )
            classes = sorted(counts.index, key=lambda v: (str(type(v)), v))
            self.classes_ = [_native(v) for v in classes]
            self.n_classes_ = len(classes)
            total = float(counts.sum())
            self.class_prior_ = [float(counts[c]) / total for c in classes]
            codes = pd.Index(classes, dtype=object).get_indexer(labels.astype(object))
            cond = torch.as_tensor(codes, dtype=torch.long)
            data = data.drop(columns=[target])
        return data.reset_index(drop=True), cond

    def _transformer_options(self) -> dict[str, Any]:
        opts = {k: getattr(self, k) for k in self._transformer_param_names if hasattr(self, k)}
        return {**opts, "seed": self.seed}

    def _train_config(self, **overrides: Any) -> TrainConfig:
        """A TrainConfig from the resolved budget and the model's own parameters.

        Every TrainConfig field the model has as a parameter of the same name (``lr``,
        ``ema_decay``, ``patience``...) is taken from it; a model hook's ``overrides`` win.
        """
        own = {name: getattr(self, name) for name in _LOOP_FIELDS if name in self.get_params()}
        if own.get("checkpoint_path"):
            own["checkpoint_path"] = Path(own["checkpoint_path"])
        if getattr(self, "converge_", False) and "lr_schedule" not in own:
            # A schedule that decays towards the cap would leave a model stopped early at a
            # high rate; a constant rate with the weight EMA keeps every check comparable.
            # A model with an lr_schedule parameter of its own (tabddpm, flow) keeps it: their
            # converging defaults were measured with it (docs/training-length.md).
            overrides.setdefault("lr_schedule", "constant")
        return TrainConfig(**{**own, **overrides, "epochs": self.epochs_,
                              "batch_size": self.batch_size_,
                              "time_budget": getattr(self, "_time_budget", None)})

    def _monitor(self, cfg: TrainConfig, n: int,
                 generator: torch.Generator) -> Callable[[torch.nn.Module], dict] | None:
        """The fidelity check of a converging fit (see :mod:`synthpipe.models._converge`)."""
        from synthpipe.models._converge import build_monitor

        return build_monitor(self, cfg, n, generator)

    def _train(self, model: torch.nn.Module, loss_fn: Callable[..., torch.Tensor],
               x: torch.Tensor, cond: torch.Tensor | None,
               config: TrainConfig | None = None, **overrides: Any) -> TrainResult:
        """Run :func:`synthpipe.training.train` with this model's budget, device, seed and
        progress callback, and record the loss history.

        Args:
            model: Module to train.
            loss_fn: ``loss_fn(model, x_batch, cond_batch) -> scalar``.
            x: Encoded table.
            cond: Class indices or None.
            config: Full config (else built by :meth:`_train_config` with ``overrides``).
            **overrides: TrainConfig fields (``lr``, ``ema_decay``...).
        """
        cfg = config if config is not None else self._train_config(**overrides)
        generator = getattr(self, "_generator", None) or torch.Generator().manual_seed(self.seed)
        monitor = self._monitor(cfg, int(x.shape[0]), generator)
        result = train(model, loss_fn, x, cond, cfg, self.device_,
                       progress=getattr(self, "_progress", None), generator=generator,
                       monitor=monitor)
        self.loss_history_ = [
            {"epoch": h["epoch"], "train_loss": h["train_loss"], "val_loss": h["val_loss"]}
            for h in result.history
        ]
        self.train_result_ = result
        self.training_ = {
            "budget": "converge" if monitor is not None else "fixed",
            "max_epochs": cfg.epochs,
            "epochs_run": result.epochs_run,
            "best_epoch": result.best_epoch,
            "stop_reason": result.stop_reason,
            "seconds": round(result.seconds, 2),
            "time_budget": cfg.time_budget,
            "checks": [{k: v for k, v in c.items()} for c in result.checks],
        }
        return result

    # ------------------------------------------------------------------ sample

    def _check_fitted(self) -> None:
        if not hasattr(self, "transformer_"):
            raise ModelError(f"{type(self).__name__} is not fitted", hint="call fit(...) first")

    def _class_index(self, conditions: dict | None) -> int | None:
        """Index of the requested class, or None for unconditional sampling."""
        if not conditions:
            return None
        if not isinstance(conditions, dict):
            raise ModelError(f"conditions must be a dict, got {type(conditions).__name__}")
        if self.target_ is None:
            raise ModelError(
                "conditional sampling needs a model fitted with a target",
                hint="fit(data, metadata, target=...) first",
            )
        unknown = set(conditions) - {self.target_}
        if unknown:
            raise ModelError(
                f"can only condition on the target {self.target_!r}, not {sorted(unknown)}"
            )
        value = conditions[self.target_]
        for i, c in enumerate(self.classes_):
            # bool is an int subclass: keep True from matching the class 1.
            if c == value and isinstance(c, bool) == isinstance(value, (bool, np.bool_)):
                return i
        # Values from the command line arrive as strings.
        for i, c in enumerate(self.classes_):
            if str(c) == str(value):
                return i
        raise ModelError(
            f"{self.target_}={value!r} is not a class seen in training",
            hint=f"use one of {self.classes_}",
        )

    def sample_batch_size(self) -> int:
        """Rows generated per ``_sample`` call."""
        return max(4096, int(getattr(self, "batch_size_", 0) or 0))

    def sample(self, n: int, conditions: dict | None = None, seed: int | None = None,
               progress: ProgressFn | None = None) -> pd.DataFrame:
        """Generate ``n`` rows.

        Args:
            n: Rows to generate.
            conditions: None, or ``{target: value}`` for rows of that class only.
            seed: Sampling seed (default: the model's ``seed``); same seed, same rows on CPU.
            progress: Called per batch as ``progress("sample", batch, n_batches, {"rows": k})``.

        Returns:
            A DataFrame with the fitted columns in their original order and dtypes.

        Raises:
            ModelError: Not fitted, bad ``n``, or conditions the model cannot meet.
        """
        self._check_fitted()
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ModelError(f"n must be a non-negative integer, got {n!r}")
        n = int(n)
        class_idx = self._class_index(conditions)
        seed = self.seed if seed is None else int(seed)
        cpu_gen = seed_everything(seed)
        labels = None
        if self.target_ is not None:
            if class_idx is not None:
                labels = torch.full((n,), class_idx, dtype=torch.long)
            elif n:
                prior = torch.tensor(self.class_prior_, dtype=torch.float64)
                labels = torch.multinomial(prior, n, replacement=True, generator=cpu_gen)
            else:
                labels = torch.zeros(0, dtype=torch.long)
        generator = torch.Generator(device=self.device_).manual_seed(seed)
        x = self.generate_encoded(n, labels, generator, progress)
        return self._finish_frame(self.decode(x), labels)

    def decode(self, x: torch.Tensor) -> pd.DataFrame:
        """Encoded rows -> the fitted columns (target excluded), every rule applied."""
        frame = self.transformer_.inverse_transform(x)
        frame = self.constraints_.inverse_transform(frame, self.dtypes_)
        features = [c for c in self.columns_ if c != self.target_]
        return self.rules_.inverse_transform(frame, self.dtypes_, features)

    def generate_encoded(self, n: int, labels: torch.Tensor | None, generator: torch.Generator,
                         progress: ProgressFn | None = None) -> torch.Tensor:
        """Encoded rows (on the CPU) from ``_sample`` in batches of :meth:`sample_batch_size`.

        The network part of :meth:`sample`, without decoding to a table (the benchmarks time
        it on its own).

        Args:
            n: Rows to generate.
            labels: Class index per row (length ``n``) or None.
            generator: Random generator on the model's device.
            progress: Called per batch as ``progress("sample", batch, n_batches, {"rows": k})``.
        """
        for module in self._modules().values():
            module.eval()
        batch = self.sample_batch_size()
        n_batches = max(1, math.ceil(n / batch))
        # Each batch goes straight into its rows of the result: no list of batches and no final
        # concatenation, so the encoded rows are held once, not twice.
        result = torch.empty(n, self.n_features_)
        with torch.no_grad():
            for b in range(n_batches):
                k = min(batch, n - b * batch)
                if k <= 0:
                    break
                cb = labels[b * batch: b * batch + k].to(self.device_) if labels is not None \
                    else None
                result[b * batch: b * batch + k].copy_(self._sample(k, cb, generator))
                if progress is not None:
                    progress("sample", b + 1, n_batches, {"rows": k})
        return result

    def encode(self, data: pd.DataFrame) -> torch.Tensor:
        """Encode rows of the fitted columns (target excluded) as the model sees them."""
        self._check_fitted()
        features = [c for c in self.columns_ if c != self.target_]
        missing = [c for c in features if c not in data.columns]
        if missing:
            raise ModelError(f"the rows lack fitted columns {missing}")
        frame = self.rules_.transform(data[features].reset_index(drop=True))
        return self.transformer_.transform(self.constraints_.transform(frame))

    def _finish_frame(self, frame: pd.DataFrame, labels: torch.Tensor | None) -> pd.DataFrame:
        """Put the target back (exact labels) and restore column order."""
        if self.target_ is not None and labels is not None:
            values = np.empty(len(self.classes_), dtype=object)
            values[:] = self.classes_
            col = pd.Series(values[labels.numpy()], name=self.target_, dtype=object)
            frame[self.target_] = _astype_like(col, self.dtypes_[self.target_])
        return frame[self.columns_]

    # ------------------------------------------------------------------ hooks

    def _build(self, n_features: int) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _fit(self, x: torch.Tensor, cond: torch.Tensor | None) -> None:  # pragma: no cover
        raise NotImplementedError

    def _sample(self, n: int, cond: torch.Tensor | None,
                generator: torch.Generator) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def _modules(self) -> dict[str, torch.nn.Module]:  # pragma: no cover - interface
        raise NotImplementedError

    def _extra_state(self) -> dict[str, Any]:
        """JSON-ready, non-tensor model state to save (default none)."""
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`_extra_state` output (before ``_build`` on load)."""

    # ------------------------------------------------------------------ save / load

    def _config(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "model": self.name,
            "params": self.get_params(),
            "transformer": self.transformer_.to_state(),
            "constraints": self.constraints_.to_state(),
            "rules": self.rules_.to_state(),
            "columns": self.columns_,
            "dtypes": self.dtypes_,
            "target": self.target_,
            "classes": self.classes_,
            "class_prior": self.class_prior_,
            "n_features": self.n_features_,
            "epochs": self.epochs_,
            "batch_size": self.batch_size_,
            "loss_history": self.loss_history_,
            "training": getattr(self, "training_", None),
            "extra": self._extra_state(),
        }

    def save(self, path: str | Path) -> None:
        """Write the fitted model as a directory: ``config.json`` + ``weights.pt``.

        The weights file holds state_dicts only (tensors), loadable with
        ``torch.load(weights_only=True)``; everything else is JSON. The directory appears
        atomically (written to a temporary sibling, then renamed).

        Raises:
            ModelError: Not fitted, or parameters that are not JSON-serialisable.
        """
        self._check_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            text = json.dumps(self._config(), indent=1, default=_json_default)
        except TypeError as exc:
            raise ModelError(f"model state is not JSON-serialisable: {exc}") from exc
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            (tmp / "config.json").write_text(text)
            weights = {k: {n: t.detach().cpu() for n, t in m.state_dict().items()}
                       for k, m in self._modules().items()}
            torch.save(weights, tmp / "weights.pt")
            if path.exists():
                old = path.with_name(f".{path.name}.old-{os.getpid()}")
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        logger.info("saved %s to %s", self.name, path)

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> Synthesizer:
        """Load a model written by :meth:`save`.

        ``Synthesizer.load`` dispatches on the model name recorded in ``config.json``; a
        subclass's ``load`` insists on its own name. No pickle is involved: weights load with
        ``torch.load(weights_only=True)``.

        Args:
            path: The model directory.
            device: Override of the saved device setting (e.g. ``"cpu"`` for a model trained on
                a GPU machine).

        Raises:
            ModelError: Missing or foreign files, or a model of another class.
        """
        path = Path(path)
        cfg_file, weights_file = path / "config.json", path / "weights.pt"
        if not cfg_file.is_file() or not weights_file.is_file():
            raise ModelError(
                f"{path} is not a saved synthpipe model (needs config.json and weights.pt)"
            )
        try:
            config = json.loads(cfg_file.read_text())
        except json.JSONDecodeError as exc:
            raise ModelError(f"{cfg_file} is not valid JSON: {exc}") from exc
        if config.get("format") != _FORMAT or config.get("version") != _FORMAT_VERSION:
            raise ModelError(f"{path} was not written by this synthpipe version's save()")
        klass = _SAVED_KINDS.get(str(config.get("model")))
        if klass is None:
            raise ModelError(f"{path} holds an unknown model {config.get('model')!r}",
                             hint=f"known models: {', '.join(sorted(_SAVED_KINDS))}")
        if cls is not Synthesizer and not issubclass(klass, cls):
            raise ModelError(f"{path} holds a {config['model']!r} model, not {cls.name!r}",
                             hint="load it with Synthesizer.load")
        params = dict(config["params"])
        if device is not None:
            params["device"] = device
        obj = klass(**params)
        obj._restore(config)
        try:
            weights = torch.load(weights_file, map_location=obj.device_, weights_only=True)
        except Exception as exc:  # torch raises several types; any of them means a bad file
            raise ModelError(f"could not read weights from {weights_file}: {exc}") from exc
        modules = obj._modules()
        if set(weights) != set(modules):
            raise ModelError(f"{weights_file} holds {sorted(weights)}, expected {sorted(modules)}")
        for key, module in modules.items():
            module.load_state_dict(weights[key])
            module.eval()
        return obj

    def _restore(self, config: dict[str, Any]) -> None:
        """Fitted attributes from a saved config, then ``_load_extra_state`` and ``_build``."""
        self.transformer_ = TableTransformer.from_state(config["transformer"])
        self.constraints_ = OrderConstraints.from_state(config.get("constraints") or {})
        self.rules_ = TableRules.from_state(config.get("rules"))
        self.columns_ = list(config["columns"])
        self.dtypes_ = dict(config["dtypes"])
        self.target_ = config["target"]
        self.classes_ = list(config["classes"])
        self.class_prior_ = [float(p) for p in config["class_prior"]]
        self.n_classes_ = len(self.classes_)
        self.n_features_ = int(config["n_features"])
        self.epochs_ = int(config["epochs"])
        self.batch_size_ = int(config["batch_size"])
        self.loss_history_ = list(config["loss_history"])
        self.training_ = config.get("training")
        self.device_ = resolve_device(self.device)
        self._load_extra_state(config.get("extra") or {})
        self._build(self.n_features_)


def _json_default(v: Any) -> Any:
    """JSON for a saved model's config.json: the one place that does not use
    :func:`synthpipe.jsonutil.to_jsonable`, on purpose.

    A model's state must load back exactly: a categorical encoder's missing marker is NaN, and
    to_jsonable's ``null`` would load as None (another missing value, and another dtype once
    decoded), so NaN is written as the token ``NaN`` that Python's json reads back; and a
    parameter of a type JSON cannot hold (a callable, say) is an error here, where to_jsonable
    would write its ``str`` and the model could not be loaded.
    """
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (tuple, set)):
        return list(v)
    if isinstance(v, Path):
        return str(v)
    if hasattr(v, "value"):  # string enums such as Device
        return v.value
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")


def _astype_like(col: pd.Series, dtype: str) -> pd.Series:
    """Cast decoded labels back to the training dtype."""
    target = pd.api.types.pandas_dtype(dtype)
    if pd.api.types.is_object_dtype(target):
        return col
    return col.astype(target)
