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
progress bars). It is imported inside functions because importing it takes seconds.

Modules: ``suites`` (bundled suites, load and save), ``derive`` (baseline and derived suites),
``runner`` (validate, the input contract), ``results`` (outcomes in words) and ``_common``
(the GX context and expectation building). Every JSON form goes through
:func:`synthpipe.jsonutil.to_jsonable`, so a non-finite number is ``null``.
"""

from synthpipe.validation.derive import (
    BOOL_TYPES,
    DATETIME_TYPES,
    FLOAT_TYPES,
    INT_TYPES,
    MIN_FORMAT_ROWS,
    MIN_PAIR_ROWS,
    NULL_SHARE_TOLERANCE,
    STR_TYPES,
    WHOLE_NUMBER_REGEX,
    baseline_suite,
    derive_suite,
    outward_bounds,
    outward_months,
)
from synthpipe.validation.results import EXAMPLES, ExpectationResult, ValidationReport
from synthpipe.validation.runner import RESULT_FORMAT, check_input_contract, validate
from synthpipe.validation.suites import (
    BUNDLED_PACKAGE,
    bundled_suite_for,
    bundled_suites,
    load_suite,
    save_suite,
    suite_to_json,
)

__all__ = [
    "BOOL_TYPES",
    "BUNDLED_PACKAGE",
    "DATETIME_TYPES",
    "EXAMPLES",
    "FLOAT_TYPES",
    "INT_TYPES",
    "MIN_FORMAT_ROWS",
    "MIN_PAIR_ROWS",
    "NULL_SHARE_TOLERANCE",
    "RESULT_FORMAT",
    "STR_TYPES",
    "WHOLE_NUMBER_REGEX",
    "ExpectationResult",
    "ValidationReport",
    "baseline_suite",
    "bundled_suite_for",
    "bundled_suites",
    "check_input_contract",
    "derive_suite",
    "load_suite",
    "outward_bounds",
    "outward_months",
    "save_suite",
    "suite_to_json",
    "validate",
]
