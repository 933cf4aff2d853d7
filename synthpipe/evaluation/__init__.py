"""Evaluation of a synthetic table: fidelity, utility, privacy, and the publication gates.

Every score comes with its real-data reference (the holdout against the training split), so a
number reads as "this close to what real data achieves". :func:`evaluate` runs the reports;
:func:`gates` turns them into a publish / quarantine verdict that fails closed on privacy.
"""

from synthpipe.evaluation.fidelity import fidelity_report
from synthpipe.evaluation.gates import gates
from synthpipe.evaluation.privacy import privacy_report
from synthpipe.evaluation.suite import evaluate
from synthpipe.evaluation.utility import utility_report

__all__ = ["evaluate", "fidelity_report", "gates", "privacy_report", "utility_report"]
