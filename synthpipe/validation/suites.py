"""Suites as files: the bundled ones, loading any suite JSON (GX 1.x or 0.x), saving one."""

from __future__ import annotations

import json
import os
import re
import tempfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthpipe.errors import ConfigError
from synthpipe.jsonutil import to_jsonable
from synthpipe.validation._common import gx_module

if TYPE_CHECKING:
    import great_expectations as gx

BUNDLED_PACKAGE = "synthpipe.expectations"


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
    gx = gx_module()
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
    return to_jsonable(suite.to_json_dict())


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


__all__ = [
    "BUNDLED_PACKAGE",
    "bundled_suite_for",
    "bundled_suites",
    "load_suite",
    "save_suite",
    "suite_to_json",
]
