"""Column kinds: what each column of a table is, detected from its dtype and values.

The kind decides how a column is encoded for the models and how it is evaluated:

- ``numerical``: ints and floats (integer-valuedness is remembered so it is restored on decode);
- ``categorical``: a small set of labels (strings, or numbers with few distinct values);
- ``boolean``: two values (bool dtype, or yes/no style strings stay categorical);
- ``datetime``: timestamps and dates;
- ``id``: a key or a high-cardinality label, never modelled (it is regenerated or faked);
- ``text``: free text, never modelled.

Detection is a few explicit rules (below); an override file (``--metadata``, YAML or JSON, of the
form ``{"columns": {"col": {"kind": "categorical"}}}``) wins over them.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import pandas as pd

from synthpipe.errors import ConfigError, InputError

# A column with more distinct values than this (and mostly unique) is an identifier, not a
# category: one-hot encoding it would blow up memory and memorise rows.
MAX_CATEGORIES = 1_000
# What a synthesizer emits for a label too rare to copy out (shared by encoders and the
# derived Great Expectations suite).
RARE_PLACEHOLDER = "__rare__"
# Numbers with at most this many distinct values are treated as categories (codes, ratings).
NUMERIC_AS_CATEGORY_MAX = 10
_ID_NAME = re.compile(r"(^id$|_id$|^id_|_key$|_number$|_no$|^uuid|guid|number$)", re.IGNORECASE)


class ColumnKind(str, Enum):
    """What a column is, for encoding and evaluation."""

    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    ID = "id"
    TEXT = "text"

    @property
    def modelled(self) -> bool:
        """Whether a synthesizer learns this kind (ids and free text are generated apart)."""
        return self not in (ColumnKind.ID, ColumnKind.TEXT)


@dataclass
class ColumnMeta:
    """What synthpipe knows about one column.

    Attributes:
        name: Column name.
        kind: Detected or declared kind.
        dtype: The pandas dtype of the input column, as a string (restored on output).
        is_integer: Numerical column whose non-missing values are all whole numbers.
        nullable: Whether the column had missing values in the input.
        reason: Which rule decided the kind (shown in the manifest and report).
    """

    name: str
    kind: ColumnKind
    dtype: str
    is_integer: bool = False
    nullable: bool = False
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["kind"] = self.kind.value
        return d


@dataclass
class TableMetadata:
    """Column metadata of one table, in column order."""

    columns: dict[str, ColumnMeta] = field(default_factory=dict)

    def kind(self, column: str) -> ColumnKind:
        """Kind of ``column``."""
        return self.columns[column].kind

    def names(self, *kinds: ColumnKind) -> list[str]:
        """Column names of the given kinds (all columns when none given), in table order."""
        return [c for c, m in self.columns.items() if not kinds or m.kind in kinds]

    @property
    def modelled(self) -> list[str]:
        """Columns a synthesizer learns (everything but ids and free text)."""
        return [c for c, m in self.columns.items() if m.kind.modelled]

    def subset(self, columns: list[str]) -> TableMetadata:
        """Metadata restricted to ``columns`` (in that order)."""
        return TableMetadata({c: self.columns[c] for c in columns})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the shape of an override file)."""
        return {"columns": {c: m.to_dict() for c, m in self.columns.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableMetadata:
        """Inverse of :meth:`to_dict`."""
        cols = {}
        for name, m in data["columns"].items():
            cols[name] = ColumnMeta(
                name=name,
                kind=ColumnKind(m["kind"]),
                dtype=m.get("dtype", "object"),
                is_integer=bool(m.get("is_integer", False)),
                nullable=bool(m.get("nullable", False)),
                reason=m.get("reason", ""),
            )
        return cls(cols)


def _detect_column(name: str, s: pd.Series) -> tuple[ColumnKind, str]:
    """Kind of one column and the rule that decided it."""
    non_null = s.dropna()
    n = len(non_null)
    if n == 0:
        return ColumnKind.CATEGORICAL, "all values missing"
    if pd.api.types.is_bool_dtype(s):
        return ColumnKind.BOOLEAN, "boolean dtype"
    if pd.api.types.is_datetime64_any_dtype(s):
        return ColumnKind.DATETIME, "datetime dtype"
    is_numeric = pd.api.types.is_numeric_dtype(s)
    if not is_numeric:
        _check_plain_values(name, s, non_null)
    # nunique on a huge string column is the one pass we cannot avoid; it is hash based and
    # bounded in memory by the distinct values.
    nunique = int(non_null.nunique())
    unique_share = nunique / n
    if is_numeric:
        if set(pd.unique(non_null)) <= {0, 1} and nunique == 2 and _looks_flag(name):
            return ColumnKind.BOOLEAN, "0/1 values with a flag-like name"
        if _ID_NAME.search(name) and unique_share > 0.95 and n > 20:
            return ColumnKind.ID, "identifier-like name with unique values"
        if nunique <= NUMERIC_AS_CATEGORY_MAX and n >= 10 * nunique and _is_whole(non_null):
            return ColumnKind.CATEGORICAL, f"only {nunique} distinct whole numbers"
        return ColumnKind.NUMERICAL, "numeric dtype"
    sample = non_null.head(1000)
    strings = sample.astype(str)
    if _ID_NAME.search(name) and unique_share > 0.5:
        return ColumnKind.ID, "identifier-like name with mostly unique values"
    if nunique > MAX_CATEGORIES and unique_share > 0.5:
        avg_words = strings.str.split().str.len().mean()
        if avg_words >= 4:
            return ColumnKind.TEXT, f"{nunique} distinct multi-word values"
        return ColumnKind.ID, f"{nunique} distinct values (high cardinality)"
    if nunique > MAX_CATEGORIES:
        return ColumnKind.ID, f"{nunique} distinct values, over the {MAX_CATEGORIES} category limit"
    parsed = _try_dates(strings)
    if parsed is not None:
        return ColumnKind.DATETIME, "strings that parse as dates"
    if unique_share > 0.9 and n > 50:
        avg_words = strings.str.split().str.len().mean()
        if avg_words >= 4:
            return ColumnKind.TEXT, "mostly unique multi-word values"
        return ColumnKind.ID, "mostly unique values"
    return ColumnKind.CATEGORICAL, f"{nunique} distinct labels"


def _check_plain_values(name: str, s: pd.Series, non_null: pd.Series) -> None:
    """Reject columns of lists, dicts or other objects that are not plain strings/booleans."""
    if pd.api.types.is_timedelta64_dtype(s.dtype):
        raise InputError(
            f"column {name!r} holds durations ({s.dtype}), which synthpipe does not model",
            hint=f"store {name!r} as a number (seconds or days, e.g. "
                 f"df[{name!r}].dt.total_seconds()) or drop it",
        )
    if not (
        pd.api.types.is_object_dtype(s)
        or pd.api.types.is_string_dtype(s)
        or isinstance(s.dtype, pd.CategoricalDtype)
    ):
        raise InputError(
            f"column {name!r} has unsupported type {s.dtype}",
            hint="synthpipe handles numbers, strings, booleans and dates; drop or flatten it",
        )
    sample = non_null.head(1000)
    bad = [type(v).__name__ for v in sample if not isinstance(v, (str, bool))]
    if bad:
        raise InputError(
            f"column {name!r} holds values of type {bad[0]} (nested or mixed values)",
            hint="flatten lists/structs into plain columns or drop the column before running",
        )


def _looks_flag(name: str) -> bool:
    return bool(re.search(r"(^is_|^has_|flag|_ind$|^y$|fraud|label|target)", name, re.I))


def _is_whole(s: pd.Series) -> bool:
    vals = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64")
    return bool(((vals % 1) == 0).all())


_DATE_RE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?$")


def _try_dates(strings: pd.Series) -> pd.Series | None:
    """Parsed dates when (nearly) every string looks like a date, else None."""
    if not strings.str.match(_DATE_RE).mean() > 0.98:
        return None
    parsed = pd.to_datetime(strings, errors="coerce", format="mixed")
    return parsed if parsed.notna().mean() > 0.98 else None


def parse_date_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Convert string columns that hold dates into datetime64 columns (a new frame).

    Readers hand over CSV dates as strings; the models need them as timestamps.
    """
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            non_null = s.dropna()
            if len(non_null) == 0 or not all(isinstance(v, str) for v in non_null.head(200)):
                continue
            if _try_dates(non_null.head(1000).astype(str)) is None:
                continue
            parsed = pd.to_datetime(s, errors="coerce", format="mixed")
            if parsed.notna().sum() >= 0.98 * s.notna().sum():
                out[c] = parsed
    return out


def load_overrides(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a metadata override file (YAML or JSON) into ``{column: {"kind": ...}}``."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"metadata file {p} does not exist", hint="check the --metadata path")
    text = p.read_text()
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # yaml and json raise different types; both mean "bad file"
        raise ConfigError(
            f"metadata file {p} is not valid {p.suffix[1:] or 'JSON'}: {exc}"
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise ConfigError(
            f"metadata file {p} must have a top-level 'columns' mapping",
            hint='e.g. {"columns": {"zip": {"kind": "categorical"}}}',
        )
    for col, spec in data["columns"].items():
        kind = spec.get("kind") if isinstance(spec, dict) else None
        if kind not in {k.value for k in ColumnKind}:
            raise ConfigError(
                f"metadata file {p}: column {col!r} has kind {kind!r}",
                hint=f"use one of {', '.join(k.value for k in ColumnKind)}",
            )
    return data["columns"]


def detect_metadata(
    df: pd.DataFrame, overrides: dict[str, dict[str, Any]] | None = None
) -> TableMetadata:
    """Detect the kind of every column of ``df``.

    Args:
        df: The table (dates already parsed, see :func:`parse_date_columns`).
        overrides: ``{column: {"kind": ...}}`` that wins over detection.

    Returns:
        The table's metadata, in column order.

    Raises:
        ConfigError: An override names a column the table does not have.
        InputError: A column has an unsupported type (lists, structs, mixed objects).
    """
    overrides = overrides or {}
    unknown = set(overrides) - set(df.columns)
    if unknown:
        raise ConfigError(
            f"metadata overrides name columns the table does not have: {sorted(unknown)}",
            hint="fix the column names in the --metadata file",
        )
    cols: dict[str, ColumnMeta] = {}
    for name in df.columns:
        s = df[name]
        if name in overrides:
            kind, reason = ColumnKind(overrides[name]["kind"]), "declared in metadata file"
        else:
            kind, reason = _detect_column(str(name), s)
        non_null = s.dropna()
        is_int = bool(
            kind == ColumnKind.NUMERICAL
            and pd.api.types.is_numeric_dtype(s)
            and len(non_null)
            and _is_whole(non_null)
        )
        cols[name] = ColumnMeta(
            name=str(name),
            kind=kind,
            dtype=str(s.dtype),
            is_integer=is_int,
            nullable=bool(s.isna().any()),
            reason=reason,
        )
    return TableMetadata(cols)
