"""Deployments against a real `prefect server start` on 127.0.0.1.

`synthpipe deploy` registers the deployment with its schedule and parameters (read back here);
`synthpipe serve` registers and serves it from one process. That the scheduler then creates
runs by itself and a process worker completes them is tested in test_schedule.py.
"""

from __future__ import annotations

import os
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

from tests.integration._server import BIN, client_call, stop, wait_for_run

CRON = "0 2 * * *"


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
    (folder / "run.yaml").write_text("model:\n  name: tvae\n  epochs: 2\n")
    df.to_parquet(folder / "t.parquet")
    return folder


def _cron_of(deployment) -> list[str]:
    return [s.schedule.cron for s in deployment.schedules if hasattr(s.schedule, "cron")]


def test_deploy_registers_a_cron_deployment_with_its_options(prefect_server, table, tmp_path):
    res = subprocess.run(
        [BIN / "synthpipe", "deploy", "--name", "nightly", "--table", table / "t.parquet",
         "--target", "label", "--cron", CRON, "--config", table / "run.yaml",
         "--model", "flow", "--epochs", "7", "--approval", "required"],
        env=prefect_server, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    dep = _client_call_deployment(prefect_server, "synthesize-table/nightly")
    assert _cron_of(dep) == [CRON]
    config = dep.parameters["config"]
    assert config["target"] == "label"
    assert config["table"] == str(table / "t.parquet")
    assert config["runs_dir"] == str(tmp_path / "runs")  # absolute: workers run elsewhere
    # the options win over the config file (tvae, 2 epochs)
    assert config["model"]["name"] == "flow" and config["model"]["epochs"] == 7
    assert config["approval"] == "required"
    assert dep.work_pool_name == "synthpipe"


def test_deploy_refuses_an_unknown_model_before_registering(prefect_server, table, tmp_path):
    res = subprocess.run(
        [BIN / "synthpipe", "deploy", "--name", "bad", "--table", table / "t.parquet",
         "--model", "gan9000", "--cron", CRON],
        env=prefect_server, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert res.returncode == 2 and "gan9000" in res.stderr
    bad = client_call(prefect_server, lambda c: c.read_deployments())
    assert "bad" not in {d.name for d in bad}


def _client_call_deployment(env, name):
    return client_call(env, lambda c: c.read_deployment_by_name(name))


def test_serve_registers_and_runs_a_triggered_run(prefect_server, table, tmp_path):
    server = prefect_server
    proc = subprocess.Popen(
        [BIN / "synthpipe", "serve", "--name", "served", "--table", table / "t.parquet",
         "--target", "label", "--cron", CRON, "--config", table / "run.yaml"],
        env=server, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        dep = None
        deadline = time.time() + 180
        while dep is None and time.time() < deadline:
            try:
                dep = _client_call_deployment(server, "synthesize-table/served")
            except Exception:  # not registered yet (ObjectNotFound); keep polling
                time.sleep(1)
        assert dep is not None, "serve did not register its deployment"
        assert _cron_of(dep) == [CRON]
        run = client_call(server, lambda c: c.create_flow_run_from_deployment(dep.id))
        finished = wait_for_run(server, run.id)
        assert finished.state.is_completed(), finished.state.message
    finally:
        stop(proc)
    assert list((tmp_path / "runs").glob("t-*/synthetic.parquet"))


def test_deploy_without_a_server_says_how_to_start_one(table, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    res = subprocess.run(
        [BIN / "synthpipe", "deploy", "--table", table / "t.parquet", "--cron", CRON],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert res.returncode == 2
    assert "PREFECT_API_URL" in res.stderr and "prefect server start" in res.stderr


def test_cli_run_logs_reach_the_server_and_stay_off_the_console(prefect_server, table, tmp_path):
    """Without -v the console has only the CLI's lines; the run's INFO lines go to the server."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    out = tmp_path / "run"
    res = subprocess.run(
        [BIN / "synthpipe", "run", "--table", table / "t.parquet", "--target", "label",
         "--config", table / "run.yaml", "--out", out],
        env=prefect_server, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "published" in res.stdout
    for noise in ("HTTP Request", "Task run", "Flow run", "INFO"):
        assert noise not in res.stderr, res.stderr
    (run,) = [r for r in client_call(prefect_server, lambda c: c.read_flow_runs())
              if (r.parameters.get("config") or {}).get("out") == str(out)]
    deadline, logs = time.time() + 20, []
    while time.time() < deadline and not any("published" in e.message for e in logs):
        logs = client_call(prefect_server, lambda c: c.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id]))))
        time.sleep(1)
    ours = [e for e in logs if e.name.startswith("synthpipe") and e.level == 20]
    assert any("synthesizing" in e.message for e in ours), [e.message for e in logs]
    assert any("published" in e.message for e in ours)
