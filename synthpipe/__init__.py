"""synthpipe: synthetic tabular data that keeps PII out and proves fidelity and privacy.

Public API::

    from synthpipe import RunConfig, load_config, run_pipeline
    result = run_pipeline(load_config(None, target="is_fraud"))
"""

from synthpipe._env import malloc_defaults, thread_wait_defaults

# Bounded OpenMP spinning (see synthpipe/_env.py); must be set before torch loads.
thread_wait_defaults()
# Freed tensor buffers kept for reuse instead of page-faulted back in (glibc).
malloc_defaults()

from synthpipe.config import RunConfig, load_config  # noqa: E402
from synthpipe.errors import (  # noqa: E402
    ConfigError,
    ContractError,
    InputError,
    ModelError,
    SynthpipeError,
)

__version__ = "0.1.0"


def run_pipeline(config: RunConfig, **kwargs):  # noqa: ANN001, ANN201 (thin re-export)
    """Run a whole synthpipe job without Prefect; see :func:`synthpipe.pipeline.run_pipeline`."""
    from synthpipe.pipeline import run_pipeline as _run

    return _run(config, **kwargs)


__all__ = [
    "ConfigError",
    "ContractError",
    "InputError",
    "ModelError",
    "RunConfig",
    "SynthpipeError",
    "__version__",
    "load_config",
    "run_pipeline",
]
