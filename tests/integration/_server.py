"""A real `prefect server start` on 127.0.0.1 for the deployment and schedule tests.

One server per test session (start-up costs 10-30 s on 2 cores); subprocesses get its address
through the environment returned by :func:`start_server`, in-process calls through
:func:`client_call`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"prefect server exited early with {proc.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"prefect server did not become healthy:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    """Stop ``proc`` and every process of its session (a worker's flow-run children too)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    else:
        # The leader is gone; children of its session may still run.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def start_server(home: Path) -> Iterator[dict[str, str]]:
    """Run a Prefect server with its own PREFECT_HOME; yield the environment that points at it.

    The server log is ``home/server.log`` (the scheduler's errors land there).
    """
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_UI_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    log_path = home / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [BIN / "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            _wait_healthy(api, proc, log_path)
            yield {**env, "PREFECT_API_URL": api}
        finally:
            stop(proc)


def client_call(env: dict[str, str], fn: Any) -> Any:
    """Run ``await fn(client)`` against the server of ``env``."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def go():
        async with get_client() as client:
            return await fn(client)

    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}):
        return asyncio.run(go())


def flow_runs_of(env: dict[str, str], deployment_id: Any) -> list:
    """Every flow run of one deployment."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    return client_call(
        env,
        lambda c: c.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        ),
    )


def wait_for_run(env: dict[str, str], flow_run_id: Any, timeout: float = 420) -> Any:
    """Poll until the flow run is in a final state; return it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        run = client_call(env, lambda c: c.read_flow_run(flow_run_id))
        if run.state and run.state.is_final():
            return run
        time.sleep(2)
    raise AssertionError("the flow run did not finish in time")
