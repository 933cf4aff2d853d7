"""Great Expectations (1.x) data contracts: load, derive, validate.

Two uses in the pipeline:

- **Input contract.** A table with a bundled suite (``expectations/<table stem>.json``) or a
  user-given one is checked before anything else; any other table gets :func:`baseline_suite`
  (non-empty, columns present, target with two classes, no column entirely empty).
  :func:`check_input_contract` raises :class:`~synthpipe.errors.ContractError` listing every
  failed expectation in words.
- **Synthetic check.** :func:`derive_suite` profiles the *real* training table (column set, types,
  ranges, value sets, null rates, key uniqueness, key formats, date-order rules) and the synthetic
  table is validated against it. Every derived expectation carries ``meta["why"]``.

Great Expectations runs in one ephemeral context per process (no files, no Data Docs, no
progress bars). It is imported inside functions because its import alone takes ~4 s.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import tempfile
import threading
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synthpipe.errors import ConfigError, ContractError, InputError
from synthpipe.metadata import RARE_PLACEHOLDER, ColumnKind, TableMetadata

if TYPE_CHECKING:
    import great_expectations as gx

logger = logging.getLogger(__name__)

BUNDLED_PACKAGE = "synthpipe.expectations"

# dtype names as GX's pandas type check resolves them (numpy names, or pandas *Dtype classes).
INT_TYPES = [
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype",
    "UInt8Dtype", "UInt16Dtype", "UInt32Dtype", "UInt64Dtype",
]
FLOAT_TYPES = ["float16", "float32", "float64", "Float32Dtype", "Float64Dtype"]
BOOL_TYPES = ["bool", "BooleanDtype"]
# "str" checks each value of an object column; StringDtype covers pandas string columns.
STR_TYPES = ["str", "StringDtype"]
DATETIME_TYPES = ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"]

# Text form of a whole float: GX has no integer-value test, but its regex check matches on
# str(value), and a float's repr is either "12.0" or, from 1e16 up (always whole), "1.2e+16".
WHOLE_NUMBER_REGEX = r"^-?(?:\d+(?:\.0)?|\d(?:\.\d+)?e\+\d+)$"

# Synthetic null share may differ from the real one by this much (absolute), or by a quarter
# of it, or by three standard errors of the real estimate, whichever is largest.
NULL_SHARE_TOLERANCE = 0.02
# A date-order rule needs this many real rows where both dates are present to be believed.
MIN_PAIR_ROWS = 10
# A key format is derived only from at least this many values (fewer prove nothing).
MIN_FORMAT_ROWS = 20
# Examples of offending values shown per failed expectation.
EXAMPLES = 5
# BASIC carries counts and example values, all the report needs; SUMMARY adds per-value counts
# and row indexes that cost ~20% more time on a 20k-row table.
RESULT_FORMAT = "BASIC"

_LOCK = threading.RLock()
_BATCH_DEFINITION: Any = None


# --------------------------------------------------------------------------- reports


@dataclass
class ExpectationResult:
    """Outcome of one expectation.

    Attributes:
        expectation: GX expectation type, e.g. ``"expect_column_values_to_be_between"``.
        column: The column it is about (None for table-level and column-pair expectations).
        kwargs: The expectation's arguments (JSON-able).
        success: Whether it held.
        observed: A short readable account of what was found.
    """

    expectation: str
    column: str | None
    kwargs: dict = field(default_factory=dict)
    success: bool = True
    observed: str = ""

    def failure_line(self) -> str:
        """One readable line naming the column, the expectation and what was found."""
        if self.column is not None:
            where = self.column
        elif "column_A" in self.kwargs and "column_B" in self.kwargs:
            where = f"{self.kwargs['column_A']}/{self.kwargs['column_B']}"
        else:
            where = "table"
        shown = ", ".join(
            f"{k}={_short(v, 60)}"
            for k, v in self.kwargs.items()
            if k not in ("column", "column_A", "column_B") and v is not None
        )
        return f"{where}: {self.expectation}({shown}) failed: {self.observed}"


@dataclass
class ValidationReport:
    """Outcome of validating one table against one suite.

    Attributes:
        suite_name: Name of the suite.
        success: Whether every expectation held.
        evaluated: Number of expectations evaluated.
        successful: Number that held.
        results: One entry per expectation, in suite order.
    """

    suite_name: str
    success: bool
    evaluated: int
    successful: int
    results: list[ExpectationResult] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        """One readable line per failed expectation."""
        return [r.failure_line() for r in self.results if not r.success]

    def to_dict(self) -> dict:
        """JSON-able form (for metrics.json and the report)."""
        return {
            "suite_name": self.suite_name,
            "success": self.success,
            "evaluated": self.evaluated,
            "successful": self.successful,
            "failures": self.failures,
            "results": [asdict(r) for r in self.results],
        }


# --------------------------------------------------------------------------- GX plumbing


def _gx():
    """Import great_expectations with analytics off (the caller may still turn it on)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations

    return great_expectations


def _batch_definition():
    """The process-wide whole-dataframe batch definition of an ephemeral GX context.

    Creating a context, data source and asset is cheap but not free, and each validation only
    swaps the dataframe, so one is kept per process.
    """
    global _BATCH_DEFINITION
    with _LOCK:
        if _BATCH_DEFINITION is None:
            gx = _gx()
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

            config = DataContextConfig(
                # In-memory stores and no Data Docs site: nothing is written anywhere.
                store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
                analytics_enabled=False,
                # tqdm bars on stderr would garble the CLI's own progress display.
                progress_bars=ProgressBarsConfig(globally=False),
            )
            context = gx.get_context(project_config=config, mode="ephemeral")
            source = context.data_sources.add_pandas(name="synthpipe")
            asset = source.add_dataframe_asset(name="table")
            _BATCH_DEFINITION = asset.add_batch_definition_whole_dataframe(name="whole_table")
        return _BATCH_DEFINITION


def _expect(kind: str, meta_why: str | None = None, **kwargs: Any):
    """Build a GX expectation by class name, with a ``meta["why"]`` note when given."""
    cls = getattr(_gx().expectations, kind)
    if meta_why is not None:
        kwargs["meta"] = {"why": meta_why}
    return cls(**kwargs)


def _new_suite(name: str, expectations: list, meta: dict[str, Any] | None = None):
    gx = _gx()
    suite_meta = {"synthpipe": meta} if meta else None
    return gx.ExpectationSuite(name=name, expectations=expectations, meta=suite_meta)


# --------------------------------------------------------------------------- load / save


def bundled_suites() -> list[str]:
    """Names of the suites shipped with synthpipe (``expectations/*.json``)."""
    root = resources.files(BUNDLED_PACKAGE)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".json"))


def bundled_suite_for(table_path: Path) -> Path | None:
    """The bundled suite named after a table, if there is one.

    Args:
        table_path: The input table (``claims.parquet`` looks for ``expectations/claims.json``).

    Returns:
        Path of the JSON suite, or None when no suite is bundled for that table name.
    """
    candidate = resources.files(BUNDLED_PACKAGE) / f"{Path(table_path).stem}.json"
    return Path(str(candidate)) if candidate.is_file() else None


def load_suite(path_or_name: str | Path) -> gx.ExpectationSuite:
    """Load a suite from a JSON file, or a bundled suite by name.

    Suites saved by GX 1.x (``name``, ``expectations[].type``) and by GX 0.x
    (``expectation_suite_name``, ``expectations[].expectation_type``) are both read. Date-only
    bounds (``"2022-01-01"``) are read as midnight timestamps, since GX 1.x cannot compare a
    datetime column with a plain date.

    Args:
        path_or_name: A ``.json`` file path, or the name of a bundled suite (``"claims"``).

    Returns:
        The suite.

    Raises:
        ConfigError: The file does not exist, is not valid JSON, or holds an invalid expectation.
    """
    path = Path(path_or_name)
    if not path.is_file():
        bundled = (
            bundled_suite_for(Path(path_or_name).with_suffix(".json"))
            if isinstance(path_or_name, str) and re.fullmatch(r"[\w.-]+", path_or_name)
            else None
        )
        if bundled is None:
            raise ConfigError(
                f"expectation suite {str(path_or_name)!r} is neither a file nor a bundled suite",
                hint=f"give a JSON file path or one of: {', '.join(bundled_suites()) or 'none'}",
            )
        path = bundled
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"expectation suite {path} could not be read as JSON: {exc}",
            hint="fix the file (it must be a GX suite: {'name': ..., 'expectations': [...]})",
        ) from exc
    return _suite_from_dict(data, source=str(path))


def _suite_from_dict(data: Any, source: str) -> gx.ExpectationSuite:
    """Build a suite from its JSON form, failing loudly on any bad expectation.

    GX's own constructor only logs an invalid expectation and drops it; a contract that silently
    lost a check is worse than no contract, so each one is built here.
    """
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise ConfigError(
            f"expectation suite {source} has no 'expectations' list",
            hint="a GX suite is {'name': ..., 'expectations': [{'type': ..., 'kwargs': {...}}]}",
        )
    gx = _gx()
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    name = data.get("name") or data.get("expectation_suite_name") or Path(source).stem
    expectations = []
    for i, raw in enumerate(data["expectations"]):
        if not isinstance(raw, dict):
            raise ConfigError(f"expectation suite {source}: expectation #{i} is not an object")
        etype = raw.get("type") or raw.get("expectation_type")
        kwargs = raw.get("kwargs")
        if not isinstance(etype, str) or not isinstance(kwargs, dict):
            raise ConfigError(
                f"expectation suite {source}: expectation #{i} needs 'type' and 'kwargs'",
                hint='e.g. {"type": "expect_column_to_exist", "kwargs": {"column": "age"}}',
            )
        kwargs = {k: _midnight(v) if k in ("min_value", "max_value") else v
                  for k, v in kwargs.items()}
        try:
            config = ExpectationConfiguration(
                type=etype,
                kwargs=kwargs,
                meta=raw.get("meta") or None,
                notes=raw.get("notes"),
                severity=raw.get("severity") or "critical",
            )
            expectations.append(config.to_domain_obj())
        except Exception as exc:  # GX raises several unrelated types; all mean a bad entry
            raise ConfigError(
                f"expectation suite {source}: expectation #{i} ({etype}"
                f"{', column ' + repr(kwargs['column']) if 'column' in kwargs else ''}) "
                f"is invalid: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                hint="check the expectation type and its arguments against the GX 1.x gallery",
            ) from exc
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else None
    return gx.ExpectationSuite(name=name, expectations=expectations, meta=meta)


def _midnight(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return f"{value}T00:00:00"
    return value


def suite_to_json(suite: gx.ExpectationSuite) -> dict:
    """JSON-able form of a suite (the form :func:`load_suite` reads)."""
    return _jsonable(suite.to_json_dict())


def save_suite(suite: gx.ExpectationSuite, path: Path) -> None:
    """Write a suite as JSON, atomically (a reader never sees a half-written file).

    Args:
        suite: The suite.
        path: Target ``.json`` file; parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(suite_to_json(suite), indent=2, sort_keys=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        # After the replace the temporary name is gone; after a failure it is debris.
        Path(tmp).unlink(missing_ok=True)


# --------------------------------------------------------------------------- building suites


def baseline_suite(df: pd.DataFrame, target: str | None) -> gx.ExpectationSuite:
    """The minimum contract for a table that has no suite of its own.

    The table must have rows, every column of ``df`` must be present, no column may be entirely
    empty, and the target (when given) must exist with at least two distinct values.

    Args:
        df: The table the contract is for (its column list is recorded).
        target: Label column, or None.

    Returns:
        The suite (named ``baseline``).
    """
    _require_frame(df)
    exps = [_expect("ExpectTableRowCountToBeBetween", "a table without rows cannot be learned",
                    min_value=1)]
    for col in df.columns:
        exps.append(_expect("ExpectColumnToExist", "column of the table", column=str(col)))
    if target is not None:
        if target not in df.columns:
            exps.append(_expect("ExpectColumnToExist", "the target column", column=target))
        exps.append(_expect(
            "ExpectColumnUniqueValueCountToBeBetween",
            "a target with one class gives nothing to learn or rebalance",
            column=target, min_value=2,
        ))
    for col in df.columns:
        exps.append(_expect(
            "ExpectColumnProportionOfNonNullValuesToBeBetween",
            "an entirely empty column carries no information; drop it",
            column=str(col), min_value=0.0, strict_min=True,
        ))
    return _new_suite("baseline", exps, {"kind": "baseline", "target": target})


def derive_suite(
    train: pd.DataFrame,
    metadata: TableMetadata,
    target: str | None = None,
    name: str = "derived",
    min_label_count: int = 0,
    generated: Collection[str] = (),
) -> gx.ExpectationSuite:
    """Derive a suite from the real training table, to validate synthetic rows against.

    What the real data shows becomes a rule: the exact column set; each column's type family
    (integer / numeric / string / datetime / boolean); numeric and date ranges (real min and
    max, no slack: a synthetic value outside the real range is a finding); value sets of
    categorical and boolean columns; null shares (none if the real column has none, else within
    a tolerance); uniqueness and character format of id columns; the target keeping at least two
    classes; and, for every pair of date columns ordered the same way in every real row, that
    order. Numeric column pairs are not searched for order rules (rarely meaningful, and
    quadratic in the number of columns).

    The suite is published with the synthetic data, so it must not list what the synthetic data
    itself may not show: with ``min_label_count`` k, labels of a categorical column (the target
    excepted) seen fewer than k times in real are left out of its value set. The synthesizers
    merge exactly those labels (their ``rare_min_count``) and never emit them.

    Columns in ``generated`` get fresh values in the output (faked identifiers, which equal no
    real value by design), so they get no value set; their type, missing share, range and
    format rules still apply. The target's rows without a label are not learned (the models
    drop them), so the synthetic target must have no missing value whatever the real share.

    Args:
        train: The real training table.
        metadata: Its column metadata (kinds decide which rules apply).
        target: Label column, or None.
        name: Suite name.
        min_label_count: Rare-label threshold of the model whose output the suite checks
            (0: list every label).
        generated: Columns whose output values are generated, not learned (no value set).

    Returns:
        The suite; each expectation has ``meta["why"]`` saying what in the data it came from.

    Raises:
        InputError: ``train`` is not a non-empty DataFrame.
        ConfigError: ``metadata`` or ``target`` name columns ``train`` does not have.
    """
    _require_frame(train)
    if len(train) == 0:
        raise InputError("cannot derive expectations from an empty table",
                         hint="pass the real training rows")
    missing = [c for c in metadata.columns if c not in train.columns]
    unknown = [c for c in train.columns if c not in metadata.columns]
    if missing or unknown:
        raise ConfigError(
            "metadata and table disagree: "
            + "; ".join(p for p in (missing and f"not in table: {missing}",
                                    unknown and f"not in metadata: {unknown}") if p),
            hint="detect the metadata on this table, or subset both to the same columns",
        )
    if target is not None and target not in train.columns:
        raise ConfigError(f"target {target!r} is not a column of the table",
                          hint=f"use one of {list(train.columns)}")
    n = len(train)
    exps = [
        _expect("ExpectTableColumnsToMatchSet", "the real table's columns",
                column_set=[str(c) for c in train.columns], exact_match=True),
        _expect("ExpectTableRowCountToBeBetween", "an output without rows is no output",
                min_value=1),
    ]
    for col in train.columns:
        s = train[col]
        meta = metadata.columns[col]
        exps.extend(_type_rules(col, s, meta))
        if col == target and s.isna().any():
            exps.append(_expect(
                "ExpectColumnValuesToNotBeNull",
                f"{s.isna().mean():.2%} of real rows have no label; those rows are not learned, "
                "so every synthetic row has one", column=col))
        else:
            exps.extend(_null_rules(col, s, n))
        if s.notna().any():
            exps.extend(_value_rules(col, s, meta, min_label_count, is_target=col == target,
                                     generated=col in generated))
    if target is not None and train[target].nunique(dropna=True) >= 2:
        exps.append(_expect(
            "ExpectColumnUniqueValueCountToBeBetween",
            f"target has {train[target].nunique()} classes in real; one class is useless",
            column=target, min_value=2,
        ))
    exps.extend(_date_order_rules(train, metadata))
    logger.info("derived %d expectations from %d real rows x %d columns",
                len(exps), n, train.shape[1])
    return _new_suite(name, exps, {"kind": "derived", "rows": n, "target": target})


def _type_rules(col: str, s: pd.Series, meta: Any) -> list:
    """The column's type family, and whole-numberness where the dtype cannot show it."""
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt):
        return [_expect("ExpectColumnValuesToBeInTypeList", f"real dtype is {dt}",
                        column=col, type_list=BOOL_TYPES)]
    if isinstance(dt, pd.DatetimeTZDtype):
        # GX cannot name a tz-aware dtype in a type list; the tz-aware range check below
        # fails on naive or non-date values instead.
        return []
    if pd.api.types.is_datetime64_dtype(dt):
        return [_expect("ExpectColumnValuesToBeInTypeList", f"real dtype is {dt}",
                        column=col, type_list=DATETIME_TYPES)]
    if pd.api.types.is_integer_dtype(dt):
        types = INT_TYPES + BOOL_TYPES if meta.kind == ColumnKind.BOOLEAN else INT_TYPES
        return [_expect("ExpectColumnValuesToBeInTypeList",
                        f"real dtype is {dt}: values must stay whole numbers",
                        column=col, type_list=types)]
    if pd.api.types.is_float_dtype(dt):
        out = [_expect("ExpectColumnValuesToBeInTypeList", f"real dtype is {dt}",
                       column=col, type_list=FLOAT_TYPES + INT_TYPES)]
        if meta.is_integer:
            out.append(_expect(
                "ExpectColumnValuesToMatchRegex",
                f"real {dt} column holds only whole numbers (checked on the text form)",
                column=col, regex=WHOLE_NUMBER_REGEX,
            ))
        return out
    if isinstance(dt, pd.CategoricalDtype):
        # GX cannot match a categorical dtype in a type list; the value set check covers it.
        return []
    inferred = pd.api.types.infer_dtype(s, skipna=True)
    if inferred == "string":
        return [_expect("ExpectColumnValuesToBeInTypeList", "real values are all strings",
                        column=col, type_list=STR_TYPES)]
    if inferred == "boolean":
        return [_expect("ExpectColumnValuesToBeInTypeList", "real values are all booleans",
                        column=col, type_list=BOOL_TYPES)]
    return []


def _null_rules(col: str, s: pd.Series, n: int) -> list:
    share = float(s.isna().mean())
    if share == 0.0:
        return [_expect("ExpectColumnValuesToNotBeNull",
                        f"no missing values in {n} real rows", column=col)]
    if share == 1.0:
        return [_expect("ExpectColumnValuesToBeNull",
                        f"all {n} real values are missing", column=col)]
    tol = max(NULL_SHARE_TOLERANCE, 0.25 * share, 3.0 * math.sqrt(share * (1 - share) / n))
    lo, hi = max(0.0, 1.0 - share - tol), min(1.0, 1.0 - share + tol)
    return [_expect(
        "ExpectColumnProportionOfNonNullValuesToBeBetween",
        f"{share:.2%} missing in real; synthetic share within +-{tol:.2%}",
        column=col, min_value=round(lo, 6), max_value=round(hi, 6),
    )]


def outward_bounds(lo: float, hi: float) -> tuple[float, float]:
    """``[lo, hi]`` widened to multiples of a round step: two significant digits of the width.

    The derived suite is published (metrics.json, the report), and a column's exact extremes
    are single real records: the largest claim, the oldest customer. Rounding outward keeps
    the rule's purpose (values far outside the real range fail) without printing them.
    ``[130.92, 822495.42]`` becomes ``[0, 830000]``; whole numbers less than 100 apart stay
    as they are (``[18, 90]``). A bound never crosses zero when the real one did not.
    """
    lo, hi = float(lo), float(hi)
    width = hi - lo
    scale = width if width > 0 else max(abs(lo), abs(hi))
    if not math.isfinite(scale) or scale == 0:
        return _whole(lo), _whole(hi)
    step = 10.0 ** (math.floor(math.log10(scale)) - 1)
    new_lo = float(f"{math.floor(lo / step) * step:.12g}")
    new_hi = float(f"{math.ceil(hi / step) * step:.12g}")
    if lo >= 0 > new_lo:
        new_lo = 0.0
    if hi <= 0 < new_hi:
        new_hi = 0.0
    return _whole(new_lo), _whole(new_hi)


def _whole(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def outward_months(lo: pd.Timestamp, hi: pd.Timestamp) -> tuple[str, str]:
    """``[lo, hi]`` widened to whole months (first day of ``lo``'s month to the first day of
    the month after ``hi``), as ISO text; see :func:`outward_bounds` for why."""
    start = lo.normalize().replace(day=1)
    end = hi.normalize().replace(day=1) + pd.DateOffset(months=1)
    return start.isoformat(), end.isoformat()


def _value_rules(col: str, s: pd.Series, meta: Any, min_label_count: int = 0,
                 is_target: bool = False, generated: bool = False) -> list:
    """Ranges, value sets, uniqueness and formats (``s`` has at least one value).

    A categorical value set leaves out labels seen fewer than ``min_label_count`` times and
    admits the merged-label placeholder, except in the target (its classes are sampled as
    they are, never merged). A ``generated`` column gets no value set and no range."""
    kind = meta.kind
    non_null = s.dropna()
    out = []
    if generated:
        # Filled with fresh fakes for the output: the protect step's fakes set no range the
        # output's must keep (a fresh policy number fell outside one and quarantined a run).
        pass
    elif kind == ColumnKind.NUMERICAL and pd.api.types.is_numeric_dtype(s.dtype) \
            and not pd.api.types.is_bool_dtype(s.dtype):
        lo, hi = outward_bounds(_py(non_null.min()), _py(non_null.max()))
        out.append(_expect("ExpectColumnValuesToBeBetween",
                           f"real values lie in [{lo}, {hi}] (the real range, rounded outward "
                           "to two significant digits of its width)",
                           column=col, min_value=lo, max_value=hi))
    elif kind == ColumnKind.DATETIME and pd.api.types.is_datetime64_any_dtype(s.dtype):
        lo, hi = outward_months(non_null.min(), non_null.max())
        out.append(_expect("ExpectColumnValuesToBeBetween",
                           f"real dates lie in [{lo}, {hi}] (the real range, rounded outward "
                           "to whole months)",
                           column=col, min_value=lo, max_value=hi))
    elif kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN) and not generated:
        merged = kind == ColumnKind.CATEGORICAL and not is_target
        text = merged and all(
            isinstance(v, str) for v in pd.unique(non_null.to_numpy(dtype=object)))
        n_rare = 0
        if merged and min_label_count > 1:
            counts = non_null.value_counts()
            n_rare = int((counts < min_label_count).sum())
            non_null = non_null[non_null.isin(counts.index[counts >= min_label_count])]
        values = _value_set(non_null)
        why = f"the {len(values)} values seen in real"
        if n_rare:
            why += (f" at least {min_label_count} times (not listed: {n_rare} rarer "
                    f"label{'s' * (n_rare != 1)}, which the model merges and never emits)")
        if text:
            # Synthesizers emit this token for labels too rare to copy out (privacy).
            values = sorted({*values, RARE_PLACEHOLDER})
            why += f", plus {RARE_PLACEHOLDER!r} (merged rare labels)"
        out.append(_expect("ExpectColumnValuesToBeInSet", why, column=col, value_set=values))
    elif kind == ColumnKind.ID:
        if non_null.is_unique:
            out.append(_expect("ExpectColumnValuesToBeUnique",
                               "key is unique in real", column=col))
        regex = _format_regex(non_null)
        if regex is not None:
            out.append(_expect("ExpectColumnValuesToMatchRegex",
                               "every real value has this character format",
                               column=col, regex=regex))
    return out


def _value_set(non_null: pd.Series) -> list:
    values = [_py(v) for v in pd.unique(non_null.to_numpy(dtype=object))]
    try:
        return sorted(values)
    except TypeError:  # mixed types (str and bool, say) have no order
        return sorted(values, key=str)


def _format_regex(non_null: pd.Series) -> str | None:
    """A regex every value matches, when all values share one character layout.

    Digits become ``\\d``, letters that vary become ``[A-Za-z]``, letters and punctuation that
    are the same in every value stay literal (``CLM-``, ``(###) ###-####``). Digits never stay
    literal: a constant leading digit in a sample says nothing about the next key.
    """
    if len(non_null) < MIN_FORMAT_ROWS or pd.api.types.infer_dtype(non_null) != "string":
        return None
    strings = non_null.astype(str)
    lengths = strings.str.len()
    width = int(lengths.iloc[0])
    if width == 0 or width > 64 or (lengths != width).any():
        return None
    # Unicode code points, one row per value: vectorized character classes without np.char.
    codes = strings.to_numpy(dtype=f"<U{width}").view(np.uint32).reshape(len(strings), width)
    is_digit = (codes >= 48) & (codes <= 57)
    is_alpha = ((codes >= 65) & (codes <= 90)) | ((codes >= 97) & (codes <= 122))
    constant = (codes == codes[0]).all(axis=0)
    # Each position must hold the same class in every value: digit, letter, or one fixed symbol.
    for cls in (is_digit, is_alpha):
        if (cls.all(axis=0) != cls.any(axis=0)).any():
            return None
    symbol = ~(is_digit | is_alpha)
    if (symbol.any(axis=0) & ~constant).any():
        return None
    tokens = []
    for j in range(width):
        if is_digit[0, j]:
            tokens.append(r"\d")
        elif is_alpha[0, j] and not constant[j]:
            tokens.append("[A-Za-z]")
        else:
            tokens.append(re.escape(chr(int(codes[0, j]))))
    parts = []
    for tok in tokens:  # run-length encode: \d\d\d -> \d{3}
        if parts and parts[-1][0] == tok:
            parts[-1][1] += 1
        else:
            parts.append([tok, 1])
    body = "".join(t if k == 1 else f"{t}{{{k}}}" for t, k in parts)
    return f"^{body}$"


def _date_order_rules(train: pd.DataFrame, metadata: TableMetadata) -> list:
    """``B >= A`` for every pair of date columns where that holds in every real row."""
    cols = [c for c in metadata.names(ColumnKind.DATETIME)
            if pd.api.types.is_datetime64_any_dtype(train[c].dtype)]
    out = []
    for i, a in enumerate(cols):
        for b in cols[i + 1:]:
            both = train[a].notna() & train[b].notna()
            support = int(both.sum())
            if support < MIN_PAIR_ROWS:
                continue
            try:
                va, vb = train.loc[both, a], train.loc[both, b]
                a_le_b, b_le_a = bool((va <= vb).all()), bool((vb <= va).all())
            except TypeError:  # tz-aware vs naive: not comparable, so no rule
                continue
            if a_le_b:
                early, late = a, b
            elif b_le_a:
                early, late = b, a
            else:
                continue
            out.append(_expect(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                f"{late} >= {early} in all {support} real rows with both dates",
                column_A=late, column_B=early, or_equal=True,
                ignore_row_if="either_value_is_missing",
            ))
    return out


# --------------------------------------------------------------------------- validation


def validate(df: pd.DataFrame, suite: gx.ExpectationSuite | str | Path) -> ValidationReport:
    """Validate a table against a suite.

    Args:
        df: The table.
        suite: A suite, or a JSON path / bundled name for :func:`load_suite`.

    Returns:
        The report; results follow the suite's order.

    Raises:
        InputError: ``df`` is not a DataFrame.
        ConfigError: ``suite`` is not a suite (or cannot be loaded).
    """
    _require_frame(df)
    if isinstance(suite, (str, Path)):
        suite = load_suite(suite)
    gx = _gx()
    if not isinstance(suite, gx.ExpectationSuite):
        raise ConfigError(
            f"validate() needs a great_expectations ExpectationSuite, got {type(suite).__name__}",
            hint="build one with derive_suite()/baseline_suite() or read one with load_suite()",
        )
    # GX copies the frame for almost every metric, and copying a fragmented frame (one built
    # column by column, like a decoded synthetic table) re-consolidates its blocks each time:
    # one consolidating copy here halves the run time on 20k rows. It also keeps GX away from
    # the caller's frame.
    df = df.rename(columns=str) if not all(isinstance(c, str) for c in df.columns) else df.copy()
    with _LOCK:
        batch = _batch_definition().get_batch(batch_parameters={"dataframe": df})
        raw = batch.validate(
            suite, result_format={"result_format": RESULT_FORMAT, "partial_unexpected_count": 20}
        )
    results = [_to_result(r, df) for r in _in_suite_order(raw.results, suite)]
    stats = raw.statistics
    report = ValidationReport(
        suite_name=suite.name,
        success=bool(raw.success),
        evaluated=int(stats.get("evaluated_expectations", len(results))),
        successful=int(stats.get("successful_expectations", sum(r.success for r in results))),
        results=results,
    )
    logger.info("suite %s: %d/%d expectations held on %d rows", suite.name,
                report.successful, report.evaluated, len(df))
    return report


def check_input_contract(
    df: pd.DataFrame, suite: gx.ExpectationSuite | str | Path
) -> ValidationReport:
    """Validate the input table against its contract; stop the run if it fails.

    Args:
        df: The input table.
        suite: The contract (a suite, a JSON path or a bundled name).

    Returns:
        The (successful) report.

    Raises:
        ContractError: Any expectation failed; ``failures`` lists each in words.
    """
    report = validate(df, suite)
    if not report.success:
        failed = report.evaluated - report.successful
        raise ContractError(
            f"the input table failed its contract {report.suite_name!r}: "
            f"{failed} of {report.evaluated} expectations failed",
            report.failures,
            hint="fix the listed columns in the input, or run with a contract that fits the table",
        )
    return report


def _in_suite_order(results: list, suite: Any) -> list:
    """GX groups results by metric, not by suite position; put them back in suite order."""
    slots: dict[str, list[int]] = {}
    for i, exp in enumerate(suite.expectations):
        slots.setdefault(_config_key(exp.configuration), []).append(i)
    keyed = []
    for r in results:
        positions = slots.get(_config_key(r.expectation_config))
        keyed.append((positions.pop(0) if positions else len(keyed) + 10**6, r))
    return [r for _, r in sorted(keyed, key=lambda t: t[0])]


def _config_key(config: Any) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    return config.type + json.dumps(_jsonable(kwargs), sort_keys=True, default=str)


def _to_result(r: Any, df: pd.DataFrame) -> ExpectationResult:
    config = r.expectation_config
    kwargs = _jsonable({k: v for k, v in config.kwargs.items() if k != "batch_id"})
    column = kwargs.get("column")
    return ExpectationResult(
        expectation=config.type,
        column=column,
        kwargs=kwargs,
        success=bool(r.success),
        observed=_observed(config.type, kwargs, dict(r.result or {}), r.exception_info, df),
    )


def _observed(etype: str, kwargs: dict, res: dict, exc: Any, df: pd.DataFrame) -> str:
    """A short readable account of one result."""
    cols = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
    absent = [c for c in cols if c not in df.columns]
    if absent:
        return f"column {absent[0]!r} is missing" if len(absent) == 1 else \
            f"columns {absent} are missing"
    if etype == "expect_column_to_exist":
        return "column present"
    message = _exception_message(exc)
    if message:
        return f"could not be evaluated: {message}"
    if etype == "expect_table_columns_to_match_set":
        mismatch = (res.get("details") or {}).get("mismatched") or {}
        parts = [f"{k} columns {_short(v)}" for k, v in mismatch.items() if v]
        return "; ".join(parts) if parts else f"columns {_short(res.get('observed_value'))}"
    if "unexpected_count" in res:
        return _describe_unexpected(etype, kwargs, res, df)
    obs = res.get("observed_value")
    if etype == "expect_table_row_count_to_be_between":
        return f"{obs} rows"
    if etype == "expect_column_proportion_of_non_null_values_to_be_between":
        return f"non-null share {_num(obs)}" if obs is not None else "no rows"
    if etype == "expect_column_unique_value_count_to_be_between":
        return f"{obs} distinct value{'s' if obs != 1 else ''}"
    if etype == "expect_column_values_to_be_in_type_list":
        return f"column dtype is {obs}"
    return f"observed {_short(obs)}" if obs is not None else "no observed value"


def _describe_unexpected(etype: str, kwargs: dict, res: dict, df: pd.DataFrame) -> str:
    n = int(res.get("unexpected_count") or 0)
    pct = res.get("unexpected_percent")
    share = f" ({_pct(pct)})" if pct is not None and n else ""
    examples = _examples(res.get("partial_unexpected_list") or [])
    tail = f": {examples}" if n and examples else ""
    if n == 0:
        return "no missing values" if etype == "expect_column_values_to_not_be_null" \
            else "0 unexpected values"
    if etype == "expect_column_values_to_not_be_null":
        return f"{n} missing value{_s(n)}{share}"
    if etype == "expect_column_values_to_be_null":
        return f"{n} non-missing value{_s(n)}{share}{tail}"
    if etype == "expect_column_values_to_be_unique":
        return f"{n} rows share a duplicated value{share}{tail}"
    if etype == "expect_column_values_to_be_in_set":
        return f"{n} value{_s(n)} outside the set{share}{tail}"
    if etype == "expect_column_values_to_match_regex":
        return f"{n} value{_s(n)} not matching the pattern{share}{tail}"
    if etype == "expect_column_values_to_be_in_type_list":
        return f"{n} value{_s(n)} of another type{share}{tail}"
    if etype == "expect_column_pair_values_a_to_be_greater_than_b":
        op = "<" if kwargs.get("or_equal") else "<="
        return f"{n} row{_s(n)} where {kwargs['column_A']} {op} {kwargs['column_B']}{share}{tail}"
    if etype == "expect_column_values_to_be_between":
        split = _between_split(df[kwargs["column"]], kwargs)
        if split:
            return f"{split}{share}{tail}"
    return f"{n} unexpected value{_s(n)}{share}{tail}"


def _between_split(s: pd.Series, kwargs: dict) -> str:
    """'12 values below 0, 3 above 100', recounted on the data (GX only gives the total)."""
    lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
    try:
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            lo_v = pd.Timestamp(lo) if lo is not None else None
            hi_v = pd.Timestamp(hi) if hi is not None else None
        else:
            lo_v, hi_v = lo, hi
        below = int((s < lo_v).sum() if not kwargs.get("strict_min") else (s <= lo_v).sum()) \
            if lo_v is not None else 0
        above = int((s > hi_v).sum() if not kwargs.get("strict_max") else (s >= hi_v).sum()) \
            if hi_v is not None else 0
    except (TypeError, ValueError):
        return ""
    parts = []
    if below:
        parts.append(f"{below} value{_s(below)} below {_short(lo)}")
    if above:
        parts.append(f"{above} value{_s(above)} above {_short(hi)}")
    return ", ".join(parts)


def _exception_message(exc: Any) -> str:
    """The first exception message in GX's (possibly per-metric nested) exception_info."""
    if not isinstance(exc, dict):
        return ""
    if exc.get("raised_exception") and exc.get("exception_message"):
        return str(exc["exception_message"]).splitlines()[0]
    for v in exc.values():
        if isinstance(v, dict) and v.get("exception_message"):
            return str(v["exception_message"]).splitlines()[0]
    return ""


# --------------------------------------------------------------------------- small helpers


def _require_frame(df: Any) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame, got {type(df).__name__}",
                         hint="read the table with synthpipe.io.read_table first")


def _py(v: Any) -> Any:
    """Plain Python (JSON-able) version of a scalar."""
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return _jsonable(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


def _jsonable(obj: Any) -> Any:
    if obj is pd.NaT or obj is pd.NA:
        return None
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (pd.Timestamp, datetime, date)):
        return obj.isoformat()
    if isinstance(obj, np.datetime64):
        return None if np.isnat(obj) else pd.Timestamp(obj).isoformat()
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        if isinstance(obj, float) and not math.isfinite(obj):
            return str(obj)
        return obj
    return str(obj)


def _short(v: Any, limit: int = 80) -> str:
    v = _jsonable(v)
    if isinstance(v, list) and len(v) > 8:
        text = "[" + ", ".join(repr(x) for x in v[:8]) + f", ... +{len(v) - 8}]"
    elif isinstance(v, float):
        text = _num(v)
    elif isinstance(v, str):
        text = f"'{v}'"  # no repr: a regex shown with doubled backslashes is hard to read
    else:
        text = repr(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _examples(values: list) -> str:
    """Up to EXAMPLES distinct offending values, shortened."""
    seen: list[str] = []
    for v in values:
        text = _short(tuple(v) if isinstance(v, (list, tuple)) else v, 40)
        if text not in seen:
            seen.append(text)
        if len(seen) == EXAMPLES:
            break
    return "[" + ", ".join(seen) + "]" if seen else ""


def _num(v: Any) -> str:
    try:
        return f"{float(v):.6g}"
    except (TypeError, ValueError):
        return str(v)


def _pct(p: float) -> str:
    return f"{p:.1f}%" if p >= 0.1 or p == 0 else "<0.1%"


def _s(n: int) -> str:
    return "" if n == 1 else "s"
