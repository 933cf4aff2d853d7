"""Reading tables, writing outputs atomically, hashing inputs.

Nothing is guessed silently: CSV missing markers are explicit (``na_values``), dates are parsed
only when nearly every value is a date, infinite numbers and numbers beyond the float32 range
are refused (not read as missing, not modelled), and every failure names the file and the fix.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import logging
import lzma
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.errors import InputError
from synthpipe.jsonutil import to_jsonable
from synthpipe.metadata import parse_date_columns

DEFAULT_NA_VALUES = ("", "?")

logger = logging.getLogger(__name__)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_table(path: str | Path) -> str:
    """SHA-256 of an input table: the file's, or for a parquet dataset folder one digest over
    each part's relative path and digest (so renaming, adding or changing a part changes it)."""
    p = Path(path)
    if not p.is_dir():
        return sha256_file(p)
    h = hashlib.sha256()
    for part in _dataset_parts(p):
        h.update(f"{part.relative_to(p).as_posix()}\0{sha256_file(part)}\n".encode())
    return h.hexdigest()


def _dataset_parts(folder: Path) -> list[Path]:
    """The parquet files of a dataset folder, as pyarrow reads them (names starting with
    ``_`` or ``.``, such as Spark's ``_SUCCESS``, are not data)."""
    return sorted(f for f in folder.rglob("*.parquet") if f.is_file() and not any(
        part.startswith(("_", ".")) for part in f.relative_to(folder).parts))


def read_table(
    path: str | Path, na_values: list[str] | tuple[str, ...] = DEFAULT_NA_VALUES,
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """Read a parquet or CSV table.

    CSV cells equal to one of ``na_values`` become missing; every other string is kept as it is
    (the literal ``None`` or ``NA`` stays a label, since pandas' default markers are off). Columns
    that are entirely empty and unnamed (a trailing comma's ``_c39`` / ``Unnamed: 39``) are dropped,
    string columns that hold dates become datetimes. A CSV's delimiter is the one of ``,``
    ``;`` tab ``|`` its header line uses most (``.tsv``: tab); a ``;``-delimited file is read
    with decimal commas (``12,5``), the convention of the spreadsheets that write it. Spaces
    after a delimiter are skipped (UCI's ``39, State-gov, ?`` reads as ``39``, ``State-gov``
    and a missing value). Digit columns with a leading zero somewhere (``02134``) stay text:
    they are codes.

    Args:
        path: ``.parquet``/``.pq`` or ``.csv``/``.tsv``/``.txt`` file; the text files may be
            compressed (gzip, bz2, xz, or a zip with one member). Compression and parquet are
            recognised by the file's first bytes, whatever its name (a gzip file named
            ``.csv`` is read); the name only says what a compressed file holds. A folder of
            parquet files is read as one partitioned dataset.
        na_values: Strings read as missing in CSV files.
        encoding: Text encoding of a CSV file.

    Returns:
        The table.

    Raises:
        InputError: Missing, unreadable or empty file, an unsupported format, or numbers that
            cannot be modelled (infinite, or beyond the float32 range), named by column and row.
    """
    p = Path(path)
    suffix, compression = _table_format(p)
    with _read_errors(p, suffix, encoding):
        if suffix in (".parquet", ".pq"):
            df = _read_parquet(p)
        elif suffix in (".csv", ".tsv", ".txt"):
            df = _read_csv(p, suffix, na_values, encoding, compression)
        elif suffix in _WORKBOOKS:
            raise InputError(
                f"input table {p} is a spreadsheet workbook",
                hint="export the sheet as CSV (UTF-8) or parquet and pass that file",
            )
        else:
            raise InputError(
                f"input table {p} has unsupported extension {p.suffix!r}",
                hint="use a .parquet or .csv file",
            )
    df = _checked_shape(_drop_empty_unnamed(df), p)
    df.columns = [str(c) for c in df.columns]
    if suffix not in (".parquet", ".pq"):
        df = _parse_formatted_numbers(df)
    return parse_date_columns(df)


def _table_format(p: Path) -> tuple[str, str | None]:
    """The format a table is read by, and its compression, from its first bytes.

    The content decides, not the name: a gzip file named ``claims.csv`` is a compressed CSV,
    a parquet file named ``.csv`` is parquet, a plain CSV named ``.csv.gz`` is plain. The name
    only tells what a compressed file holds (``claims.csv.gz``: a CSV; no table suffix inside:
    a CSV too) and what an unrecognised file should be.

    Returns:
        The suffix the table is read as (``.csv``, ``.parquet``...) and the compression
        (``gzip``, ``bz2``, ``xz``, ``zip``) or None.

    Raises:
        InputError: Missing file, a folder without parquet files, a workbook, a compressed
            parquet file, or text named ``.parquet``, each named for what it is.
    """
    if not p.exists():
        raise InputError(f"input table {p} does not exist", hint="check the --table path")
    if p.is_dir():
        if not _dataset_parts(p):
            raise InputError(f"input table {p} is a directory without parquet files",
                             hint="point --table at a .parquet or .csv file, or at a folder "
                                  "of parquet parts (a partitioned dataset)")
        return ".parquet", None  # a partitioned dataset (Spark's output, synthpipe's own)
    suffix = p.suffix.lower()
    named_compression = suffix in _COMPRESSIONS
    if named_compression:
        suffix = p.suffixes[-2].lower() if len(p.suffixes) >= 2 else ".csv"
    try:
        kind = _magic(p)
    except OSError as exc:
        raise InputError(f"input table {p} cannot be read: {exc.strerror}",
                         hint="check the file's permissions") from None
    if kind == "parquet":
        if suffix not in (".parquet", ".pq"):
            logger.info("%s is a parquet file (by its first bytes); read as parquet", p.name)
        return ".parquet", None
    if kind == "workbook" or (kind == "zip" and suffix in _WORKBOOKS):
        return ".xlsx", None  # refused with the export hint
    if kind in _MAGIC_COMPRESSIONS:
        inner = _magic_inside(p, kind)
        if inner == "parquet" or suffix in (".parquet", ".pq"):
            raise InputError(
                f"input table {p} is a {kind}-compressed parquet file",
                hint=f"decompress it and pass the .parquet file (parquet compresses its "
                     f"own columns; {kind} around it adds nothing)",
            )
        return (suffix if suffix in (".csv", ".tsv", ".txt") else ".csv"), kind
    elif named_compression:
        logger.info("%s is not compressed (by its first bytes); read as plain text", p.name)
    elif suffix in (".parquet", ".pq") and _looks_like_text(p):
        raise InputError(
            f"input table {p} is not a parquet file: it starts with text",
            hint="if it is a CSV export, rename it to .csv (or pass it under a .csv name)",
        )
    return suffix, None


# First bytes of the formats a table arrives in, whatever its name says.
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty archive
    (b"PAR1", "parquet"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "workbook"),  # OLE2: a legacy .xls
)
_MAGIC_COMPRESSIONS = ("gzip", "bz2", "xz", "zip")
_WORKBOOKS = (".xlsx", ".xls", ".xlsm", ".ods")


def _magic(p: Path) -> str | None:
    """What the first bytes of ``p`` say it is (see :data:`_MAGIC`); a zip holding a
    spreadsheet (``xl/workbook.xml``, an OpenDocument ``mimetype``) is a ``workbook``."""
    with open(p, "rb") as f:
        head = f.read(8)
    kind = next((k for magic, k in _MAGIC if head.startswith(magic)), None)
    if kind == "zip":
        try:
            with zipfile.ZipFile(p) as zf:
                names = set(zf.namelist())
        except zipfile.BadZipFile:
            return kind  # reported as a corrupt archive when read
        if "xl/workbook.xml" in names or "content.xml" in names and "mimetype" in names:
            return "workbook"
    return kind


def _open_compressed(p: Path, compression: str | None) -> Any:
    """A binary stream of ``p``'s content, decompressed (a zip's first member)."""
    if compression == "zip":
        zf = zipfile.ZipFile(p)
        return zf.open(zf.namelist()[0])
    opener = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}.get(compression or "", open)
    return opener(p, "rb")


def _magic_inside(p: Path, compression: str) -> str | None:
    """What the decompressed content of ``p`` starts with (``parquet`` or None)."""
    try:
        with _open_compressed(p, compression) as f:
            head = f.read(4)
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError, IndexError):
        return None  # a corrupt archive is reported when it is read
    return "parquet" if head == b"PAR1" else None


def _looks_like_text(p: Path) -> bool:
    """Whether the first KiB of ``p`` is printable text (a CSV under a parquet name)."""
    with open(p, "rb") as f:
        head = f.read(1024)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return bool(text) and all(ch.isprintable() or ch in "\r\n\t" for ch in text)


def _read_csv(p: Path, suffix: str, na_values: list[str] | tuple[str, ...],
              encoding: str, compression: str | None = None) -> pd.DataFrame:
    sep = "\t" if suffix == ".tsv" else _sniff_delimiter(p, encoding, compression)
    decimal = "," if sep == ";" else "."
    if sep != ",":
        logger.info("%s: delimiter %r, decimal mark %r", p.name, sep, decimal)
    # The header as written: pandas renames a repeated name (age, age -> age, age.1) silently.
    header = pd.read_csv(p, header=None, nrows=1, dtype=str, na_filter=False, sep=sep,
                         encoding=encoding, skipinitialspace=True, compression=compression)
    _refuse_duplicate_names([str(v) for v in header.iloc[0]], p)
    options = dict(sep=sep, encoding=encoding, keep_default_na=False,
                   na_values=list(na_values), low_memory=False, skipinitialspace=True,
                   compression=compression)
    df = pd.read_csv(p, decimal=decimal, **options)
    _refuse_unusable_numbers(
        df, p, raw=lambda i: pd.read_csv(p, usecols=[i], dtype=str, **options).iloc[:, 0])
    return _codes_as_text(p, df, options)


@contextmanager
def _read_errors(p: Path, suffix: str, encoding: str) -> Iterator[None]:
    """Turn the ways reading a table fails into input errors that name the fix."""
    try:
        yield
    except InputError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise InputError(
            f"input table {p} is empty", hint="provide a table with a header and rows"
        ) from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"input table {p} is not {encoding} text: {exc.reason} at byte {exc.start}",
            hint="re-save it as UTF-8, or pass its encoding (--encoding latin-1, cp1252, ...)",
        ) from exc
    except LookupError as exc:
        raise InputError(f"unknown text encoding {encoding!r}",
                         hint="use a Python codec name such as utf-8, latin-1 or cp1252") from exc
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, lzma.LZMAError,
            pd.errors.ParserError) as exc:
        # pyarrow raises ArrowInvalid (a ValueError) on a corrupt parquet file; a truncated
        # .gz raises EOFError, a corrupt .zip or .xz their own errors.
        raise InputError(
            f"input table {p} could not be read as {suffix[1:]}: {str(exc).splitlines()[0]}",
            hint="check that the file is a complete, valid table (re-export it)",
        ) from exc


def _checked_shape(df: pd.DataFrame, p: Path) -> pd.DataFrame:
    """``df``, once it has columns, rows and no duplicated column name."""
    if df.shape[1] == 0:
        raise InputError(f"input table {p} has no columns", hint="provide a table with columns")
    if len(df) == 0:
        raise InputError(
            f"input table {p} has no rows", hint="provide a table with at least one row"
        )
    dup = df.columns[df.columns.duplicated()].tolist()
    if dup:
        raise InputError(f"input table {p} has duplicated column names {dup}", hint="rename them")
    return df


_DELIMITERS = (",", ";", "\t", "|")


# Suffixes of compressed files: the suffix before them says what is inside (claims.csv.gz).
_COMPRESSIONS = (".gz", ".bz2", ".xz", ".zip")


def _first_line(p: Path, encoding: str, compression: str | None = None) -> str:
    """The first line of a text file, decompressed when ``compression`` says so."""
    with _open_compressed(p, compression) as raw:
        return io.TextIOWrapper(raw, encoding=encoding, newline="").readline(1 << 20)


def _sniff_delimiter(p: Path, encoding: str, compression: str | None = None) -> str:
    """The delimiter the header line of a CSV uses most (``,`` when none occurs)."""
    header = _first_line(p, encoding, compression)
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])  # ties keep the earlier (",")
    return best if counts[best] > 0 else ","


def _codes_as_text(p: Path, df: pd.DataFrame, options: dict[str, Any]) -> pd.DataFrame:
    """Number columns in which some value has a leading zero (``02134``) are codes: kept as
    the text the file holds (zip codes, account numbers), not integers that lose the zeros."""
    numeric = [i for i, c in enumerate(df.columns)
               if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    if not numeric:
        return df
    raw = pd.read_csv(p, usecols=numeric, dtype=str, **options)
    out = df
    for i, raw_col in zip(numeric, raw.columns, strict=True):
        text = raw[raw_col].dropna()
        if text.str.fullmatch(r"0\d+").any():
            out = df.copy() if out is df else out
            out[df.columns[i]] = raw[raw_col]
            logger.info("column %s: digit codes with leading zeros kept as text", df.columns[i])
    return out


# "1,234", "-1,234.50", "$ 1,234.50", "€12.00": thousands separators and a currency sign,
# what spreadsheets write for formatted amounts.
_FORMATTED_NUMBER = re.compile(r"[-+]?[$€£]?\s*[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


def _parse_formatted_numbers(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns in which every value is a formatted number become numbers.

    pandas reads ``"1,234.50"`` or ``$12.00`` as text; left so, the column would look like an
    identifier and be replaced by fakes. Converted only when every value parses, so no value
    is lost; the currency sign is not kept.
    """
    out = None
    for c in df.columns:
        s = df[c]
        if not pd.api.types.is_object_dtype(s):
            continue
        values = s.dropna()
        if len(values) == 0 or not all(isinstance(v, str) for v in values.head(200)):
            continue
        text = values.astype(str).str.strip()
        # Plain digits that pandas left as text are codes (see _codes_as_text), not amounts.
        if not text.str.contains(r"[,$€£]").any() or not text.str.fullmatch(
                _FORMATTED_NUMBER).all():
            continue
        numbers = pd.to_numeric(text.str.replace(r"[$€£,\s]", "", regex=True), errors="coerce")
        if numbers.isna().any():
            continue
        out = df.copy() if out is None else out
        out[c] = numbers.reindex(s.index)
        logger.info("column %s: formatted numbers (thousands separators, currency) read "
                    "as numbers", c)
    return df if out is None else out


def _read_parquet(p: Path) -> pd.DataFrame:
    """A parquet file as a frame of plain columns.

    - Decimal columns (``decimal128``, what databases export for money) become float64: the
      models learn numbers, and pandas would otherwise hold Python ``Decimal`` objects. The
      output column is float64.
    - Dates (``date32``/``date64``) become ``datetime64`` (pandas would hold ``datetime.date``
      objects).
    - A saved pandas index (``df.to_parquet`` keeps a named or non-default index) comes back
      as ordinary columns, so no column of the file is left out of the synthetic table.
    - A folder is read as one dataset: its parts in order, hive partition folders
      (``region=north/``) as a column.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    _refuse_duplicate_names(pq.read_schema(_dataset_parts(p)[0] if p.is_dir() else p).names, p)
    table = pq.read_table(p)
    decimals = [f.name for f in table.schema if pa.types.is_decimal(f.type)]
    for name in decimals:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, table.column(i).cast(pa.float64()))
    if decimals:
        logger.info("decimal columns read as float64: %s", ", ".join(decimals))
    df = table.to_pandas(date_as_object=False)
    if not isinstance(df.index, pd.RangeIndex) or df.index.name is not None:
        df = df.reset_index()
    _refuse_unusable_numbers(df, p)
    return df


#: The largest float32. The encoded tables and the privacy distances are float32, and
#: statistics of values near float64's limit overflow (a range of +-1e308 is infinite).
FLOAT32_MAX = float(np.finfo(np.float32).max)
_ROWS_NAMED = 5


def _row_list(mask: np.ndarray) -> str:
    """``row 4`` / ``rows 4, 11, 20, ...``: the first few 1-based row numbers of ``mask``."""
    rows = np.flatnonzero(mask) + 1
    shown = ", ".join(str(r) for r in rows[:_ROWS_NAMED])
    more = ", ..." if len(rows) > _ROWS_NAMED else ""
    return f"{'row' if len(rows) == 1 else 'rows'} {shown}{more}"


def _count(mask: np.ndarray, noun: str) -> str:
    n = int(mask.sum())
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _refuse_unusable_numbers(df: pd.DataFrame, p: Path,
                             raw: Callable[[int], pd.Series] | None = None) -> None:
    """Refuse infinite numbers and numbers beyond the float32 range, naming where they are.

    Both used to be accepted: an infinity was taken for a missing value by the encoders (the
    output column came out half empty) and broke the evaluation's histograms; a number like
    ``1e308`` overflowed every statistic and its real value was copied out (the quantile map
    decodes its ends to the real extremes). Neither is a value anyone means: they are
    spreadsheet or export artefacts, sentinels and errors, so the owner decides what they stand
    for.

    Args:
        df: The table as read.
        p: Its path (for the message).
        raw: For a CSV, the text of column ``i`` as written, so the hint can name the exact
            spellings to pass as ``--na-values``.

    Raises:
        InputError: Naming each column, how many values, their first row numbers (data rows
            counted from 1) and the fix.
    """
    problems: list[str] = []
    hints: list[str] = []
    spellings: list[str] = []
    for i, c in enumerate(df.columns):
        s = df.iloc[:, i]
        if not pd.api.types.is_float_dtype(s):
            continue
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        infinite = np.isinf(v)
        with np.errstate(invalid="ignore"):
            huge = np.isfinite(v) & (np.abs(v) > FLOAT32_MAX)
        if infinite.any():
            problems.append(f"column {str(c)!r} holds {_count(infinite, 'infinite number')} "
                            f"({_row_list(infinite)})")
            if raw is not None:
                texts = raw(i).to_numpy(dtype=object)[infinite]
                spellings.extend(str(t).strip() for t in texts)
        if huge.any():
            problems.append(f"column {str(c)!r} holds {_count(huge, 'number')} beyond "
                            f"±{FLOAT32_MAX:.2g}".replace("e+", "e")
                            + f", outside the float32 range synthpipe's models compute in "
                            f"({_row_list(huge)})")
    if not problems:
        return
    if any("infinite" in m for m in problems):
        if raw is not None:
            flags = " ".join(f"--na-values={t}" for t in dict.fromkeys(spellings))
            hints.append(f"make those cells empty, or read them as missing with {flags}")
        else:
            hints.append("write the infinite values as nulls (missing values) or drop those rows")
    if any("float32" in m for m in problems):
        hints.append("numbers that large are usually sentinels or errors: make those cells "
                     "empty (missing), or rescale the column (e.g. to thousands, or a log scale)")
    raise InputError(f"input table {p} holds numbers synthpipe cannot model: "
                     + "; ".join(problems), hint="; ".join(hints))


def _refuse_duplicate_names(names: list[str], p: Path) -> None:
    """Refuse a table in which two columns share a name, naming each name and its positions.

    pandas would keep the first and rename the others (``age.1``); the renamed column then
    passes for a column of its own, with none of the care its real name would get (policy
    numbers under a second ``age`` header were modelled and copied out).

    Raises:
        InputError: Some non-empty name occurs more than once (positions counted from 1).
    """
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        if name.strip():  # empty names are the unnamed columns pandas numbers itself
            positions.setdefault(name, []).append(i)
    dup = {n: pos for n, pos in positions.items() if len(pos) > 1}
    if not dup:
        return
    listed = "; ".join(f"{n!r} (columns {', '.join(map(str, pos))})" for n, pos in dup.items())
    first = next(iter(dup))
    raise InputError(
        f"input table {p} has duplicated column names: {listed}",
        hint=f"rename them so every column has its own name (reading on would have renamed "
             f"the second {first!r} to {first + '.1'!r} silently)",
    )


def _drop_empty_unnamed(df: pd.DataFrame) -> pd.DataFrame:
    """Drop columns that are unnamed artefacts of a trailing delimiter and entirely empty."""
    empty_unnamed = [
        c
        for c in df.columns
        if (str(c).startswith("Unnamed:") or str(c).startswith("_c")) and df[c].isna().all()
    ]
    return df.drop(columns=empty_unnamed)


@contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it into place only on success.

    Works for files and directories. On any error the temporary path is removed and ``final`` is
    left as it was.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        if final.is_dir() and tmp.is_dir():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as parquet atomically (temp file + rename)."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
    return Path(path)


def write_json(data: Any, path: str | Path) -> Path:
    """Write JSON atomically, keys in insertion order, indented.

    Values go through :func:`synthpipe.jsonutil.to_jsonable`, the one JSON conversion of the
    package: a non-finite float or a missing value is ``null``, a timestamp ISO 8601 text.
    """
    text = json.dumps(to_jsonable(data), indent=2, allow_nan=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")
    return Path(path)


def write_text(text: str, path: str | Path) -> Path:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)

