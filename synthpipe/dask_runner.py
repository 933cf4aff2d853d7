"""Dask for the flow's tasks: the address check, quiet logs, and the local cluster's shape.

With ``runner: dask`` the flow runs its tasks on prefect-dask's ``DaskTaskRunner``
(:mod:`synthpipe.orchestration`); this module builds it. Dask serves the steps that fan out
(``--model auto``'s candidates, the parts of a large output): when it pays on one machine is
measured in docs/dask.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from synthpipe.config import RunConfig, Runner
from synthpipe.errors import ConfigError

log = logging.getLogger(__name__)


#: Seconds to wait for a Dask scheduler to answer before refusing the run. distributed's own
#: connect timeout (30 s) is what made a mistyped address fail late, as a bug (exit 1).
DASK_CONNECT_TIMEOUT = 5.0

_NEEDS_DASK = "runner 'dask' needs prefect-dask and distributed"


def check_dask_address(cfg: RunConfig, timeout: float = DASK_CONNECT_TIMEOUT) -> None:
    """Fail fast when ``runner: dask`` names a scheduler that does not answer.

    Runs before any work (the CLI calls it before the flow starts; the flow calls it again for
    deployments). Nothing to check without ``dask_address`` (a local cluster is started).

    Raises:
        ConfigError: distributed is missing, or nothing answers at the address in ``timeout``.
    """
    if cfg.runner != Runner.DASK or not cfg.dask_address:
        return
    try:
        from distributed import Client
    except ImportError as exc:
        raise ConfigError(_NEEDS_DASK, hint="pip install 'synthpipe[dask]'") from exc
    try:
        with _quiet_distributed(), Client(
            cfg.dask_address, timeout=timeout, set_as_default=False
        ) as client:
            workers = len(client.scheduler_info().get("workers", {}))
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(
            f"no Dask scheduler answers at {cfg.dask_address} (waited {timeout:g} s)",
            hint="start one there (`dask scheduler`, then `dask worker ADDRESS`), fix "
            "--dask-address, or leave it out to run a local Dask cluster",
        ) from exc
    if workers == 0:
        log.warning("the Dask scheduler at %s has no workers yet: tasks wait for one",
                    cfg.dask_address)


@contextlib.contextmanager
def _quiet_distributed() -> Iterator[None]:
    """distributed logs each failed connection attempt at ERROR; the caller reports it once."""
    logger = logging.getLogger("distributed")
    level = logger.level
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def dask_task_runner(cfg: RunConfig) -> Any:
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise ConfigError(_NEEDS_DASK, hint="pip install 'synthpipe[dask]'") from exc
    check_dask_address(cfg)
    if cfg.dask_address:
        return DaskTaskRunner(address=cfg.dask_address)
    verbose = logging.getLogger().isEnabledFor(logging.INFO)
    return DaskTaskRunner(cluster_kwargs=local_cluster_kwargs(cfg.dask_workers,
                                                              api_url=_api_url(),
                                                              quiet=not verbose))


def _api_url() -> str | None:
    """The Prefect API this process talks to (the embedded server's, once it has started)."""
    from prefect import get_client

    try:
        with get_client(sync_client=True) as client:
            return str(client.api_url).rstrip("/")
    except Exception:  # noqa: BLE001 - the workers then find an API their own way
        return None


def local_cluster_kwargs(workers: int, cores: int | None = None,
                         api_url: str | None = None, quiet: bool = True) -> dict[str, Any]:
    """Keyword arguments of the local Dask cluster: ``workers`` processes of one task each.

    Each worker's torch gets ``cores // workers`` threads (at least 1), set through the worker
    processes' environment (libgomp reads it at load): two trainings on 2 cores, each at 2
    threads, step slower than at 1 thread each (bench/bench_threads.py "pair",
    docs/cpu-efficiency.md). ``api_url`` (the flow's Prefect API) goes to the workers as
    ``PREFECT_API_URL``: without it each worker started an embedded Prefect server of its own
    to report its task runs, a server start-up per worker on the same cores (docs/dask.md).

    ``quiet`` (the default, unless ``--verbose``): the worker processes log only CRITICAL
    records. They share the terminal, and when a run is stopped (Ctrl-C, SIGTERM) its scheduler
    goes first, so each worker printed distributed's broken-connection tracebacks under the
    run's one line. A task that fails on a worker still reaches the flow as its exception.
    """
    cores = cores or os.cpu_count() or 1
    env = {"OMP_NUM_THREADS": str(max(1, cores // max(1, workers)))}
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return {
        "n_workers": workers,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": None,
        "host": "127.0.0.1",
        "env": env,
        "silence_logs": logging.CRITICAL if quiet else logging.WARNING,
    }


__all__ = ["check_dask_address", "dask_task_runner", "local_cluster_kwargs"]
