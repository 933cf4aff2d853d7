"""Scheduled deployments against a real `prefect server start` on 127.0.0.1.

The test starts the server (and stops it), registers deployments with `synthpipe deploy` and
`synthpipe serve`, checks their cron schedule, triggers runs and waits for them to complete.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BIN = Path(sys.executable).parent
CRON = "0 2 * * *"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"prefect server exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError("prefect server did not become healthy")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_UI_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [BIN / "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        _wait_healthy(api, proc)
        yield {**env, "PREFECT_API_URL": api}
    finally:
        _stop(proc)
        log.close()


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(9)
    n = 300
    df = pd.DataFrame(
        {
            "amount": rng.lognormal(7, 1, n).round(2),
            "kind": rng.choice(["a", "b"], n),
            "label": rng.choice(["Y", "N"], n, p=[0.2, 0.8]),
        }
    )
    folder = tmp_path_factory.mktemp("deploy-data")
    (folder / "run.yaml").write_text("model:\n  epochs: 2\n")
    df.to_parquet(folder / "t.parquet")
    return folder


def _client_call(env, fn):
    """Run ``fn(client)`` against the test server (settings from ``env``)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def go():
        async with get_client() as client:
            return await fn(client)

    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}):
        return asyncio.run(go())


def _wait_for_run(env, flow_run_id, timeout=420):
    deadline = time.time() + timeout
    while time.time() < deadline:
        run = _client_call(env, lambda c: c.read_flow_run(flow_run_id))
        if run.state and run.state.is_final():
            return run
        time.sleep(2)
    raise AssertionError("the triggered flow run did not finish in time")


def _cron_of(deployment) -> list[str]:
    return [s.schedule.cron for s in deployment.schedules if hasattr(s.schedule, "cron")]


def test_deploy_registers_a_cron_deployment_and_a_worker_runs_it(server, table, tmp_path):
    res = subprocess.run(
        [BIN / "synthpipe", "deploy", "--name", "nightly", "--table", table / "t.parquet",
         "--target", "label", "--cron", CRON, "--config", table / "run.yaml"],
        env=server, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    dep = _client_call(server, lambda c: c.read_deployment_by_name("synthesize-table/nightly"))
    assert _cron_of(dep) == [CRON]
    assert dep.parameters["config"]["target"] == "label"
    assert dep.work_pool_name == "synthpipe"
    run = _client_call(server, lambda c: c.create_flow_run_from_deployment(dep.id))
    worker = subprocess.Popen(
        [BIN / "prefect", "worker", "start", "--pool", "synthpipe", "--run-once"],
        env=server, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )
    try:
        finished = _wait_for_run(server, run.id)
    finally:
        _stop(worker)
    assert finished.state.is_completed(), finished.state.message
    assert list((tmp_path / "runs").glob("t-*/manifest.json"))


def test_serve_registers_and_runs_a_triggered_run(server, table, tmp_path):
    proc = subprocess.Popen(
        [BIN / "synthpipe", "serve", "--name", "served", "--table", table / "t.parquet",
         "--target", "label", "--cron", CRON, "--config", table / "run.yaml"],
        env=server, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    try:
        dep = None
        deadline = time.time() + 180
        while dep is None and time.time() < deadline:
            try:
                dep = _client_call(
                    server, lambda c: c.read_deployment_by_name("synthesize-table/served")
                )
            except Exception:  # not registered yet (ObjectNotFound); keep polling
                time.sleep(1)
        assert dep is not None, "serve did not register its deployment"
        assert _cron_of(dep) == [CRON]
        run = _client_call(server, lambda c: c.create_flow_run_from_deployment(dep.id))
        finished = _wait_for_run(server, run.id)
        assert finished.state.is_completed(), finished.state.message
    finally:
        _stop(proc)
    assert list((tmp_path / "runs").glob("t-*/synthetic.parquet")) or list(
        (tmp_path / "runs").glob("t-*/quarantine/synthetic.parquet")
    )


def test_deploy_without_a_server_says_how_to_start_one(table, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    res = subprocess.run(
        [BIN / "synthpipe", "deploy", "--table", table / "t.parquet", "--cron", CRON],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert res.returncode == 2
    assert "PREFECT_API_URL" in res.stderr and "prefect server start" in res.stderr
