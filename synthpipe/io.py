"""Reading tables, writing outputs atomically, hashing inputs.

Nothing is guessed silently: CSV missing markers are explicit (``na_values``), dates are parsed
only when nearly every value is a date, and every failure names the file and the fix.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from synthpipe.errors import InputError
from synthpipe.metadata import parse_date_columns

DEFAULT_NA_VALUES = ("", "?")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def read_table(
    path: str | Path, na_values: list[str] | tuple[str, ...] = DEFAULT_NA_VALUES
) -> pd.DataFrame:
    """Read a parquet or CSV table.

    CSV cells equal to one of ``na_values`` become missing; every other string is kept as it is
    (the literal ``None`` or ``NA`` stays a label, since pandas' default markers are off). Columns
    that are entirely empty and unnamed (a trailing comma's ``_c39`` / ``Unnamed: 39``) are dropped,
    string columns that hold dates become datetimes.

    Args:
        path: ``.parquet``/``.pq`` or ``.csv``/``.tsv``/``.txt`` file.
        na_values: Strings read as missing in CSV files.

    Returns:
        The table.

    Raises:
        InputError: Missing, unreadable or empty file, or an unsupported format.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"input table {p} does not exist", hint="check the --table path")
    if p.is_dir():
        raise InputError(
            f"input table {p} is a directory", hint="point --table at a .parquet or .csv file"
        )
    suffix = p.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(p)
        elif suffix in (".csv", ".tsv", ".txt"):
            sep = "\t" if suffix == ".tsv" else ","
            df = pd.read_csv(
                p, sep=sep, keep_default_na=False, na_values=list(na_values), low_memory=False
            )
        else:
            raise InputError(
                f"input table {p} has unsupported extension {p.suffix!r}",
                hint="use a .parquet or .csv file",
            )
    except InputError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise InputError(
            f"input table {p} is empty", hint="provide a table with a header and rows"
        ) from exc
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        # pyarrow raises ArrowInvalid (a ValueError) on a corrupt parquet file.
        raise InputError(
            f"input table {p} could not be read as {suffix[1:]}: {str(exc).splitlines()[0]}",
            hint="check that the file is a complete, valid table (re-export it)",
        ) from exc
    df = _drop_empty_unnamed(df)
    if df.shape[1] == 0:
        raise InputError(f"input table {p} has no columns", hint="provide a table with columns")
    if len(df) == 0:
        raise InputError(
            f"input table {p} has no rows", hint="provide a table with at least one row"
        )
    dup = df.columns[df.columns.duplicated()].tolist()
    if dup:
        raise InputError(f"input table {p} has duplicated column names {dup}", hint="rename them")
    df.columns = [str(c) for c in df.columns]
    return parse_date_columns(df)


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
    """Write JSON atomically, with sorted keys kept in insertion order and readable indent."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")
    return Path(path)


def write_text(text: str, path: str | Path) -> Path:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def _json_default(obj: Any) -> Any:
    """JSON encoding of numpy scalars, paths, timestamps and enums."""
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (Path, pd.Timestamp)):
        return str(obj)
    if hasattr(obj, "value"):
        return obj.value
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")
