"""synthpipe: synthetic tabular data that keeps PII out and proves fidelity and privacy."""

__version__ = "0.1.0"
