"""The stages of a run, one module each; every step is a plain module-level function.

- :mod:`~synthpipe.pipeline.steps.input`: read the table, check its contract.
- :mod:`~synthpipe.pipeline.steps.protect`: PII policies, modelled columns, train / holdout.
- :mod:`~synthpipe.pipeline.steps.train`: model parameters, cache key, training.
- :mod:`~synthpipe.pipeline.steps.sample`: synthetic rows, completed into the output table.
- :mod:`~synthpipe.pipeline.steps.assess`: validation, evaluation, gates, downstream check.

Steps stay at module level because Prefect and Dask pickle them by name.
"""
