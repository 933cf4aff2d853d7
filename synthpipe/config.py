"""Typed run configuration.

One :class:`RunConfig` describes a whole run. It is built from a YAML/JSON config file
(``--config``), then CLI options override single fields. Every model hyperparameter is reachable
through ``model.params``; every gate threshold through ``gates``.

Example config file::

    table: sample_data/claims.parquet
    target: is_fraud
    model:
      name: tabddpm
      epochs: 50
      params: {batch_size: 512}
    pii:
      policies: {claimant_name: fake, policy_number: pseudonymize}
    gates:
      mia_auc_max: 0.6
"""

from __future__ import annotations

import json
import os
import re
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from synthpipe.errors import ConfigError

# The bundled sample ships inside the package (pyproject maps sample_data/ to
# synthpipe.sample_data), so it is found from any working directory.
SAMPLE_TABLE = Path(str(resources.files("synthpipe.sample_data") / "claims.parquet"))


#: Default wall-time cap of training, in seconds.
DEFAULT_TIME_BUDGET = 120.0
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(h|m|s)")


def parse_duration(text: str) -> float:
    """Seconds in ``"90"``, ``"90s"``, ``"10m"``, ``"1h30m"`` or ``"1.5h"``.

    Raises:
        ValueError: The text is not such a duration (pydantic reports it as a config error).
    """
    t = str(text).strip().lower().replace(" ", "")
    try:
        return float(t)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(t)
    if not parts or "".join(n + u for n, u in parts) != t:
        raise ValueError(f"{text!r} is not a duration; use e.g. 90s, 10m or 1h30m")
    return float(sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Device(str, Enum):
    """Where torch models train: ``auto`` picks CUDA when present."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


class PIIAction(str, Enum):
    """What happens to a PII column before modelling."""

    DROP = "drop"
    PSEUDONYMIZE = "pseudonymize"
    FAKE = "fake"
    KEEP = "keep"


class Runner(str, Enum):
    """Where the flow's tasks run."""

    LOCAL = "local"
    DASK = "dask"


class Approval(str, Enum):
    """Whether a steward must approve in the flow before publication."""

    NONE = "none"
    REQUIRED = "required"


#: Candidates tried by ``--model auto`` when the config names none.
AUTO_CANDIDATES = ("tvae", "tabddpm", "flow", "argn")


class ModelConfig(_Strict):
    """Which synthesizer, and its budget.

    Attributes:
        name: Registry name (``synthpipe models`` lists them).
        epochs: Training epochs, exactly; None (the default) trains to convergence: the
            fidelity of a sample is checked every few hundred steps and training stops when it
            no longer improves (see :meth:`synthpipe.models.Synthesizer.fit`).
        time_budget: Wall-time cap of training, in seconds, or text such as ``"10m"``,
            ``"90s"``, ``"1h30m"`` (None: no cap). The default keeps a whole run on a table of
            up to 50,000 rows within about five minutes on two CPU cores.
        params: Any other constructor parameter of the model.
    """

    name: str = "tabddpm"
    epochs: int | None = Field(default=None, ge=1)
    time_budget: float | None = Field(default=DEFAULT_TIME_BUDGET, gt=0)
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("time_budget", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        return parse_duration(v) if isinstance(v, str) else v


class PIIConfig(_Strict):
    """PII handling.

    Attributes:
        policies: Per-column action, overriding the defaults (direct identifiers -> fake).
        default_direct: Action for detected direct identifiers without an explicit policy.
        detect: Whether to run detection at all (off only when the table is known clean).
    """

    policies: dict[str, PIIAction] = Field(default_factory=dict)
    default_direct: PIIAction = PIIAction.FAKE
    detect: bool = True

    @field_validator("default_direct")
    @classmethod
    def _no_default_keep(cls, v: PIIAction) -> PIIAction:
        if v == PIIAction.KEEP:
            raise ValueError("direct identifiers cannot be kept by default; opt in per column")
        return v


class RebalanceConfig(_Strict):
    """Target class shares or counts in the output (``--rebalance``).

    Attributes:
        spec: The raw spec string (``0.5``, ``Y=0.3,N=0.7``, ``Y=500,N=1500``), or ``auto``:
            the minority share that gives a fraud model the best PR-AUC on a validation part
            of the training rows (see :mod:`synthpipe.pipeline.steps.choose`).
        mode: ``synthetic`` (only synthetic rows) or ``augment`` (real train + synthetic minority).
    """

    spec: str | None = None
    mode: str = "synthetic"

    @field_validator("mode")
    @classmethod
    def _mode(cls, v: str) -> str:
        if v not in ("synthetic", "augment"):
            raise ValueError("mode must be 'synthetic' or 'augment'")
        return v


class RulesConfig(_Strict):
    """Business rules kept exactly in every synthetic row (see :mod:`synthpipe.rules`).

    In a config file, ``rules:`` takes either a list of declared rules or this mapping.

    Attributes:
        declared: Rules in the readable syntax (``"total = a + b"``, ``"a -> b"``,
            ``"charge = minutes * 0.17"``, ``"a >= b"``); one the real data breaks is an
            input error naming the rows.
        detect: Also keep the rules found in the real rows (those holding in nearly all).
    """

    declared: list[str] = Field(default_factory=list)
    detect: bool = True

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, v: Any) -> Any:
        return {"declared": v} if isinstance(v, list) else v


class GateConfig(_Strict):
    """Publication gates. Privacy gates fail closed; fidelity floors only warn.

    Attributes:
        mia_auc_max: Highest membership-inference attack AUC allowed.
        dcr_share_max: Highest share of synthetic rows closer to train than to holdout.
        identical_match_margin: Allowed excess of the synthetic identical-match share over the
            holdout's own share.
        pii_leaks_max: Direct-identifier values of the input allowed in the output (0).
        require_suite_pass: Whether the derived Great Expectations suite must pass.
        column_shapes_min: Warn below this column-shape score.
        pair_trends_min: Warn below this pair-trend score.
        detection_auc_max: Above this real-vs-synthetic detection AUC the dataset is called
            poor: a warning naming the columns that give it away (0.5 is indistinguishable).
        block_on_detection: Make that warning a blocking gate (quarantine above the line).
    """

    mia_auc_max: float = Field(default=0.60, ge=0.5, le=1.0)
    dcr_share_max: float = Field(default=0.55, ge=0.0, le=1.0)
    identical_match_margin: float = Field(default=0.0, ge=0.0, le=1.0)
    pii_leaks_max: int = Field(default=0, ge=0)
    require_suite_pass: bool = True
    column_shapes_min: float = Field(default=0.85, ge=0.0, le=1.0)
    pair_trends_min: float = Field(default=0.80, ge=0.0, le=1.0)
    detection_auc_max: float = Field(default=0.75, ge=0.5, le=1.0)
    block_on_detection: bool = False


class RunConfig(_Strict):
    """Everything one run needs.

    Attributes:
        table: Input parquet or CSV. Defaults to the bundled sample claims table.
        target: Label column (stratified split, conditional sampling, utility scores).
        rows: Rows to synthesize; None means as many as the training split.
        out: Output folder; None means ``<runs_dir>/<table>-<UTC timestamp>/``.
        runs_dir: Where default output folders go (relative to the working directory; a
            deployment stores it absolute, since workers run elsewhere).
        seed: Seed for split, training and sampling.
        device: ``auto`` | ``cpu`` | ``cuda``.
        holdout_fraction: Share of rows kept out of training as the yardstick.
        na_values: Extra strings read as missing (CSV), besides empty strings and ``?``.
        encoding: Text encoding of a CSV input (``latin-1``, ``cp1252``...).
        metadata: Optional override file of column kinds.
        expectations: Optional Great Expectations suite (JSON) for the input contract.
        model: The synthesizer; ``model.name == "auto"`` trains every candidate in ``models``.
        models: Candidate model names for ``auto`` (default: tvae, tabddpm, flow).
        cache: Reuse a trained model when the input hash and config are unchanged.
        cache_dir: Where trained models are cached (default ``$SYNTHPIPE_CACHE_DIR`` or
            ``~/.cache/synthpipe``). The cache holds models trained on personal data: keep it
            inside the secure zone.
        runner: ``local`` (threads in this process) or ``dask`` (prefect-dask's DaskTaskRunner).
        dask_address: ``tcp://host:port`` of an existing Dask scheduler; None starts a local
            cluster of ``dask_workers`` workers.
        chunk_rows: Outputs larger than this are sampled in parallel chunks of this many rows and
            written as a partitioned parquet dataset (memory per worker stays bounded).
        approval: ``required`` pauses the flow before publishing until a steward approves.
        rules: Declared business rules and whether to find others (kept by construction).
    """

    table: Path = SAMPLE_TABLE
    target: str | None = None
    rows: int | None = Field(default=None, ge=1)
    out: Path | None = None
    runs_dir: Path = Path("runs")
    seed: int = 0
    device: Device = Device.AUTO
    holdout_fraction: float = Field(default=0.2, gt=0.0, lt=0.9)
    na_values: list[str] = Field(default_factory=lambda: ["", "?"])
    encoding: str = "utf-8"
    metadata: Path | None = None
    expectations: Path | None = None
    model: ModelConfig = Field(default_factory=ModelConfig)
    models: list[str] | None = None
    cache: bool = True
    cache_dir: Path | None = None
    runner: Runner = Runner.LOCAL
    dask_address: str | None = None
    dask_workers: int = Field(default=2, ge=1)
    chunk_rows: int = Field(default=250_000, ge=1_000)
    approval: Approval = Approval.NONE
    pii: PIIConfig = Field(default_factory=PIIConfig)
    rebalance: RebalanceConfig = Field(default_factory=RebalanceConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    gates: GateConfig = Field(default_factory=GateConfig)

    @model_validator(mode="after")
    def _rebalance_needs_a_target(self) -> RunConfig:
        # Without these checks the options would be silently ignored.
        if self.rebalance.spec is not None and self.target is None:
            raise ValueError(
                f"--rebalance {self.rebalance.spec} needs a label column to rebalance: "
                "add --target COL (for the sample: --target is_fraud)"
            )
        if self.rebalance.mode == "augment" and self.rebalance.spec is None:
            raise ValueError(
                "--mode augment adds synthetic minority rows up to a --rebalance share: "
                "add --rebalance SPEC (e.g. 0.5), or drop --mode"
            )
        return self

    def candidate_models(self) -> list[str]:
        """Model names this run trains: one, or every candidate for ``auto``."""
        if self.model.name != "auto":
            return [self.model.name]
        return list(self.models or AUTO_CANDIDATES)

    def resolved_cache_dir(self) -> Path:
        """The model cache folder."""
        if self.cache_dir is not None:
            return Path(self.cache_dir)
        env = os.environ.get("SYNTHPIPE_CACHE_DIR")
        return Path(env) if env else Path.home() / ".cache" / "synthpipe" / "models"

    def public_dict(self) -> dict[str, Any]:
        """JSON-ready form for the manifest."""
        return json.loads(self.model_dump_json())


def _problem(error: dict[str, Any]) -> str:
    """One pydantic error as ``field: message`` (just the message for whole-config checks)."""
    msg = str(error["msg"]).removeprefix("Value error, ")
    loc = ".".join(str(x) for x in error["loc"])
    return f"{loc}: {msg}" if loc else msg


def load_config(path: str | Path | None, **overrides: Any) -> RunConfig:
    """Build a :class:`RunConfig` from a YAML/JSON file and field overrides.

    Args:
        path: Config file, or None for defaults.
        **overrides: Top-level fields (``table``, ``target``...) and the dotted shortcuts
            ``model_name``, ``epochs`` and ``time_budget``; None values are ignored.

    Raises:
        ConfigError: Unreadable file, unknown keys or invalid values, each named.
    """
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {p} does not exist", hint="check the --config path")
        try:
            if p.suffix.lower() in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(p.read_text()) or {}
            else:
                data = json.loads(p.read_text())
        except Exception as exc:  # yaml and json raise different types; both mean "bad file"
            raise ConfigError(f"config file {p} could not be parsed: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"config file {p} must hold a mapping at the top level")
        # Relative paths in a config file are relative to the file, not to the cwd.
        for key in ("table", "out", "runs_dir", "metadata", "expectations", "cache_dir"):
            if isinstance(data.get(key), str) and not Path(data[key]).is_absolute():
                data[key] = str((p.parent / data[key]).resolve())
    data = {**data}
    model = dict(data.get("model") or {})
    if overrides.get("model_name") is not None:
        model["name"] = overrides.pop("model_name")
    if overrides.get("epochs") is not None:
        model["epochs"] = overrides.pop("epochs")
    if overrides.get("time_budget") is not None:
        model["time_budget"] = overrides.pop("time_budget")
    overrides.pop("model_name", None)
    overrides.pop("epochs", None)
    overrides.pop("time_budget", None)
    if model:
        data["model"] = model
    if overrides.get("rebalance") is not None:
        data["rebalance"] = {**(data.get("rebalance") or {}), "spec": overrides.pop("rebalance")}
    if overrides.get("rebalance_mode") is not None:
        data["rebalance"] = {
            **(data.get("rebalance") or {}),
            "mode": overrides.pop("rebalance_mode"),
        }
    overrides.pop("rebalance", None)
    overrides.pop("rebalance_mode", None)
    rules = data.get("rules")
    rules = {"declared": rules} if isinstance(rules, list) else dict(rules or {})
    if overrides.get("rules"):
        rules["declared"] = [*(rules.get("declared") or []), *overrides["rules"]]
    if overrides.get("detect_rules") is not None:
        rules["detect"] = overrides["detect_rules"]
    overrides.pop("rules", None)
    overrides.pop("detect_rules", None)
    if rules:
        data["rules"] = rules
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return RunConfig(**data)
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise ConfigError(f"invalid configuration: {problems}") from exc
