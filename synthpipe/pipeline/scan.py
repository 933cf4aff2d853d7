"""The leak scan of a whole run folder: no file may hold a real direct-identifier value.

The gates scan the synthetic table's cells (:func:`synthpipe.evaluation.privacy.pii_leakage`),
but a run folder holds more: metrics.json, manifest.json, report.html and report.json, the
expectation suite, the model's config.json and weights, REASONS.txt. A real identifier can
reach them by other ways than a cell: as a column name (a pivoted table whose headers are
customer ids), as a category label in the real profiles, in a message. :func:`scan_folder`
searches every file with the PII package's real-value matching
(:class:`synthpipe.pii.matching.RealValues`), the same test the fake values pass:

- JSON files: every key and every string (numbers are the metrics' own);
- HTML: every text node and attribute value;
- other text (REASONS.txt): each line, and its pieces between punctuation;
- binary files (model weights): every run of six or more printable characters;
- parquet: the column names, and the cells of a single-file table with the table scan
  (:func:`~synthpipe.evaluation.privacy.pii_leakage`, which judges numbers by chance); the
  parts of a large output were scanned one by one as they were written.

A string is a hit when it *is* a real value (comparison keys: case and blanks do not matter) or
*holds* a real identifier inside longer text (``ref 526-29-1789``).

What is not searched in files, and why (the files' own words, counts and dates would equal a
real value by chance and quarantine runs for nothing; table cells still get the full scan):

- placeholders: a value held by more than :data:`COMMON_SHARE` of an identifier column's
  values and by more than :data:`COMMON_MIN_ROWS` of them (``none``, ``pending``, ``n/a``)
  identifies no one;
- numbers with fewer than :data:`MIN_NUMBER_DIGITS` digits (``100005``, a six-digit policy
  number, is also a row count); longer ones (SSNs, phone and card numbers) are searched;
- dates (a birth date is also a bin edge of some date column's histogram).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd

from synthpipe.pii.matching import RealValues
from synthpipe.pii.text import canonical_text

#: A value held by more than this share of an identifier column (and by more than
#: COMMON_MIN_ROWS rows) is a placeholder, not searched in files.
COMMON_SHARE = 0.01
COMMON_MIN_ROWS = 20
#: Numbers (digits and separators only) are searched in files from this many digits on.
MIN_NUMBER_DIGITS = 9
#: Whole-value hits shorter than this are ignored (as in the table scan).
MIN_LENGTH = 4
_MIN_BINARY_RUN = 6
_NUMBER_LIKE = re.compile(r"[\d\s\-./()+]+")
_PIECES = re.compile(r"[,;|:()\[\]{}\"'<>=]+")
_PRINTABLE_RUN = re.compile(rb"[\x20-\x7e]{%d,}" % _MIN_BINARY_RUN)


@dataclass
class OutputValues:
    """What the file scan searches for.

    Attributes:
        real: The index of the real identifier values searched in files.
        pii_values: All real direct-identifier values, for the cells of a single-file table.
    """

    real: RealValues
    pii_values: dict[str, pd.Series] = field(repr=False, default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.real.parts) or bool(self.pii_values)


def output_values(pii_values: dict[str, pd.Series] | None) -> OutputValues:
    """Index the real direct-identifier values for the file scan (see the module docstring
    for what is left out of it, and why).

    Args:
        pii_values: ``{column: real values}`` of the input's direct identifiers
            (:attr:`synthpipe.pipeline.steps.protect.Protected.pii_values`).
    """
    kept: dict[str, pd.Series] = {}
    for col, values in (pii_values or {}).items():
        s = pd.Series(values).dropna()
        if not len(s) or pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        text = canonical_text(s).dropna()
        counts = text.value_counts()
        common = counts.index[counts > max(COMMON_MIN_ROWS, COMMON_SHARE * len(text))]
        number_like = text.str.fullmatch(_NUMBER_LIKE)
        short_number = number_like & (text.str.count(r"\d") < MIN_NUMBER_DIGITS)
        keep = ~text.isin(common) & ~short_number
        if keep.any():
            kept[str(col)] = text[keep].drop_duplicates().astype(object)
    return OutputValues(RealValues.of(kept), dict(pii_values or {}))


def scan_folder(folder: Path, values: OutputValues) -> list[dict[str, Any]]:
    """Search every file under ``folder`` for real identifier values.

    Args:
        folder: A run folder (or the temporary folder that becomes one).
        values: From :func:`output_values`.

    Returns:
        One finding per file and identifier column: ``file`` (relative, POSIX), ``identifier``
        (the real column whose values were found) and ``strings`` (how many strings or cells
        hold one). Never the value itself.
    """
    folder = Path(folder)
    out: list[dict[str, Any]] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        counts: dict[str, int] = {}
        if values.real.parts:
            for source, n in _hits(file_strings(path), values.real).items():
                counts[source] = counts.get(source, 0) + n
        if path.suffix == ".parquet" and values.pii_values and _single_table(path, folder):
            for source, n in _cell_hits(path, values.pii_values).items():
                counts[source] = counts.get(source, 0) + n
        out.extend({"file": rel, "identifier": s, "strings": n} for s, n in counts.items())
    return out


def file_strings(path: Path) -> list[str]:
    """The strings of one file the scan compares with real values (see the module docstring).

    Args:
        path: Any file of a run folder.

    Returns:
        The strings, in file order (duplicates kept).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return [str(n) for n in pq.read_schema(path).names]
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return [m.decode("ascii") for m in _PRINTABLE_RUN.findall(raw)]
    if suffix == ".json":
        try:
            return list(_json_strings(json.loads(text)))
        except json.JSONDecodeError:
            pass
    if suffix in (".html", ".htm", ".svg", ".xml"):
        parser = _TextAndAttributes()
        parser.feed(text)
        parser.close()
        return parser.strings
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            out.append(line)
            out.extend(p.strip(" -") for p in _PIECES.split(line) if p.strip(" -"))
    return out


def outputs_leak_check(findings: list[dict[str, Any]]) -> dict[str, Any]:
    """The file scan as a blocking privacy check, ``pii_leaks_outputs`` (fails closed).

    Args:
        findings: From :func:`scan_folder` (empty: the check passes).

    Returns:
        The check; its message names the files and identifier columns, never a value.
    """
    from synthpipe.evaluation.gates import gate_check

    where = sorted({f["file"] for f in findings})
    columns = sorted({f["identifier"] for f in findings})
    return gate_check(
        "pii_leaks_outputs", "privacy", "block", len(where), 0, "<=", fail_closed=True,
        why=f"real values of {', '.join(columns)} appear in {', '.join(where)}",
        fix="The run is quarantined and every file still holding one is withheld (listed in "
            "REASONS.txt and the manifest). Rename columns whose names are identifier values, "
            "or set a fake or drop policy for the columns that carry them",
    )


def _hits(strings: list[str], real: RealValues) -> dict[str, int]:
    """Strings equal to or holding a real value, counted per identifier column."""
    if not strings:
        return {}
    hits = real.hits(pd.Series(strings, dtype=object))
    hits = hits[(hits["match"] == "inside") | (hits["value"].str.len() >= MIN_LENGTH)]
    return {str(s): int(g["row"].nunique()) for s, g in hits.groupby("source", sort=True)}


def _single_table(path: Path, folder: Path) -> bool:
    """Whether ``path`` is a whole table (``synthetic.parquet``), not a part of a dataset."""
    return not path.name.startswith("part-") and path.parent.name != "synthetic"


def _cell_hits(path: Path, pii_values: dict[str, pd.Series]) -> dict[str, int]:
    """Leaked cells of a single-file table, by identifier column (the table scan's rules)."""
    from synthpipe.evaluation.privacy import pii_leakage

    table = pd.read_parquet(path)
    counts: dict[str, int] = {}
    for f in pii_leakage(table, pii_values)["findings"]:
        if f["leak"]:
            counts[f["identifier"]] = counts.get(f["identifier"], 0) + int(f["cells"])
    return counts


def _json_strings(node: Any) -> Any:
    """Every key and string value of a parsed JSON document."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from _json_strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _json_strings(v)


class _TextAndAttributes(HTMLParser):
    """Collects an HTML page's text nodes and attribute values (character references
    resolved)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.strings: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.strings.extend(v for _, v in attrs if v)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        data = data.strip()
        if data:
            self.strings.append(data)


__all__ = ["OutputValues", "file_strings", "output_values", "outputs_leak_check", "scan_folder"]
