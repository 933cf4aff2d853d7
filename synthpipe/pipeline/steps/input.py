"""Input stage: read the table, detect its column kinds, check it against its contract."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from synthpipe.config import RunConfig
from synthpipe.errors import ConfigError, InputError
from synthpipe.io import read_table, sha256_table
from synthpipe.metadata import ColumnKind, TableMetadata, detect_metadata, load_overrides

log = logging.getLogger(__name__)


@dataclass
class Ingested:
    """The input table as read, with its provenance.

    ``df`` is released (:meth:`release`) once the table is protected: every later step reads
    the protected copy, and on a large table the input frame would otherwise be the largest
    object of the run for its whole length. ``rows`` and ``n_columns`` stay.
    """

    df: pd.DataFrame | None
    path: str
    sha256: str
    metadata: TableMetadata
    rows: int = -1
    n_columns: int = -1

    def __post_init__(self) -> None:
        if self.df is not None and self.rows < 0:
            self.rows, self.n_columns = len(self.df), int(self.df.shape[1])

    def release(self) -> None:
        """Let go of the input frame (its shape is kept)."""
        self.df = None


def check_input_paths(cfg: RunConfig) -> None:
    """Check the files a run reads before any of them is read in full.

    The table must exist and be readable; the metadata file and the expectation suite are
    read and parsed here already (they are small), so a typo in either fails at once, not
    after a large table has been read.

    Raises:
        InputError: The table is missing or unreadable.
        ConfigError: The metadata file or the suite is missing, unreadable or invalid.
    """
    table = Path(cfg.table)
    if not table.exists():
        raise InputError(f"input table {table} does not exist", hint="check the --table path")
    try:
        if table.is_dir():
            os.listdir(table)
        else:
            with open(table, "rb") as f:
                f.read(1)
    except OSError as exc:
        raise InputError(f"input table {table} cannot be read: {exc.strerror}",
                         hint="check the file's permissions, or copy it somewhere readable"
                         ) from None
    for path, what, option in ((cfg.metadata, "metadata file", "--metadata"),
                               (cfg.expectations, "expectation suite", "--expectations")):
        if path is None or not Path(path).is_file():
            continue  # a missing one is reported by its loader (a suite may be a bundled name)
        try:
            with open(path, "rb") as f:
                f.read(1)
        except OSError as exc:
            raise ConfigError(f"{what} {path} cannot be read: {exc.strerror}",
                              hint=f"check the {option} file's permissions") from None
    if cfg.metadata is not None:
        load_overrides(cfg.metadata)
    if cfg.expectations is not None:
        from synthpipe import validation

        validation.load_suite(cfg.expectations)


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
        # Named after the table, so the suites of several tables do not collide in one GX
        # context.
        suite = validation.baseline_suite(df, cfg.target, name=f"{table_stem(cfg.table)}-baseline")
        source = "baseline"
    report = validation.check_input_contract(df, suite)
    out = report.to_dict()
    out["source"] = source
    return out


def table_stem(table: Path | str) -> str:
    """A table's name for suite names: its file or folder name without the extension."""
    name = Path(table).name
    for ext in (".gz", ".bz2", ".zip", ".xz"):
        name = name.removesuffix(ext)
    return Path(name).stem or "table"
