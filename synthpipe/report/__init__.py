"""The data steward's review report of a run, its sign-off and the audit trail.

- :func:`build_report` writes ``report.html`` (self-contained, prints to PDF) and ``report.json``
  (the same sections as data) into a run folder.
- :func:`column_profiles` turns a table into aggregated, privacy-floored distributions that the
  pipeline stores in ``metrics["profiles"]`` so the report can plot real vs synthetic without
  the real rows.
- :func:`record_review` / :func:`verify_reviews` keep the hash-chained review log.
"""

from synthpipe.report.build import assemble_report, build_report
from synthpipe.report.profiles import column_profiles
from synthpipe.report.review import VerifyResult, record_review, verify_reviews

__all__ = [
    "VerifyResult",
    "assemble_report",
    "build_report",
    "column_profiles",
    "record_review",
    "verify_reviews",
]
