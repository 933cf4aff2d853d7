"""Prefect entrypoint for deployments: ``flows/synthesize_table.py:synthesize_table``.

The flow itself lives in the package (:mod:`synthpipe.orchestration`); this file only exposes it
at a path Prefect's ``prefect.yaml`` and ``prefect deploy`` can point at.
"""

import logging

from synthpipe.orchestration import synthesize_table

__all__ = ["synthesize_table"]

if __name__ == "__main__":
    # Runs the bundled sample once, on the embedded server.
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger(__name__).info("%s", synthesize_table())
