"""Running a suite on a table: :func:`validate`, and the input contract that stops a run."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from synthpipe.errors import ConfigError, ContractError
from synthpipe.jsonutil import to_jsonable
from synthpipe.validation._common import LOCK, batch_definition, gx_module, require_frame
from synthpipe.validation.results import ExpectationResult, ValidationReport, describe_result
from synthpipe.validation.suites import load_suite

if TYPE_CHECKING:
    import great_expectations as gx

logger = logging.getLogger(__name__)

# BASIC carries counts and example values, all the report needs; SUMMARY adds per-value counts
# and row indexes that cost ~20% more time on a 20k-row table.
RESULT_FORMAT = "BASIC"


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
    require_frame(df)
    if isinstance(suite, (str, Path)):
        suite = load_suite(suite)
    gx = gx_module()
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
    with LOCK:
        batch = batch_definition().get_batch(batch_parameters={"dataframe": df})
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
    return config.type + json.dumps(to_jsonable(kwargs), sort_keys=True, default=str)


def _to_result(r: Any, df: pd.DataFrame) -> ExpectationResult:
    config = r.expectation_config
    kwargs = to_jsonable({k: v for k, v in config.kwargs.items() if k != "batch_id"})
    column = kwargs.get("column")
    return ExpectationResult(
        expectation=config.type,
        column=column,
        kwargs=kwargs,
        success=bool(r.success),
        observed=describe_result(config.type, kwargs, dict(r.result or {}), r.exception_info, df),
    )


__all__ = ["RESULT_FORMAT", "check_input_contract", "validate"]
