"""Prefect entrypoint for deployments: ``flows/synthesize_table.py:synthesize_table``.

The flow itself lives in the package (:mod:`synthpipe.orchestration`); this file only exposes it
at a path Prefect's ``prefect.yaml`` and ``prefect deploy`` can point at.
"""

from synthpipe.orchestration import synthesize_table

__all__ = ["synthesize_table"]

if __name__ == "__main__":
    # Runs the bundled sample once, on the embedded server.
    print(synthesize_table())
