"""Scheduled deployments run by themselves: a real server's scheduler and a process worker.

Nothing here triggers a run by hand. Two deployments of ``synthesize-table`` get an
every-minute cron, one registered by ``synthpipe deploy`` and one by ``prefect deploy`` from
``flows/prefect.yaml`` (after creating the work pool, as the README says); one process worker
serves the pool. The test waits (bounded) until the scheduler has created a run of each and the
worker has finished it, then checks the runs' states and their run folders.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.integration._server import BIN, client_call, flow_runs_of, stop

REPO = Path(__file__).resolve().parents[2]
EVERY_MINUTE = "* * * * *"
POOL = "scheduled"
#: A run is due at the next minute boundary (up to 60 s), the worker polls every 10-15 s, and a
#: flow run of the tiny config takes 20-60 s in a fresh process on 2 busy cores.
WAIT_SECONDS = 300


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """300 rows, 3 columns, TVAE for one epoch: publishes (checked), in seconds."""
    folder = tmp_path_factory.mktemp("sched-data")
    rng = np.random.default_rng(9)
    n = 300
    pd.DataFrame(
        {
            "amount": rng.lognormal(7, 1, n).round(2),
            "kind": rng.choice(["a", "b"], n),
            "label": rng.choice(["Y", "N"], n, p=[0.2, 0.8]),
        }
    ).to_parquet(folder / "t.parquet")
    (folder / "run.yaml").write_text("model:\n  name: tvae\n  epochs: 1\n")
    return folder


def _prefect(env, *args, cwd, timeout=180):
    res = subprocess.run(
        [BIN / "prefect", *map(str, args)], env=env, cwd=cwd, capture_output=True, text=True,
        timeout=timeout,
    )
    assert res.returncode == 0, f"prefect {' '.join(map(str, args))}:\n{res.stdout}{res.stderr}"
    return res


def _project_file(tmp: Path, tiny: Path, runs: Path) -> Path:
    """flows/prefect.yaml as shipped, with the tiny table, an every-minute cron and the test
    pool (entrypoint, pull step and everything else unchanged)."""
    project = yaml.safe_load((REPO / "flows" / "prefect.yaml").read_text())
    (dep,) = project["deployments"]
    dep["schedules"] = [{"cron": EVERY_MINUTE, "timezone": "UTC"}]
    dep["work_pool"]["name"] = POOL
    dep["parameters"]["config"].update(
        table=str(tiny / "t.parquet"), target="label", runs_dir=str(runs),
        model={"name": "tvae", "epochs": 1},
    )
    path = tmp / "prefect.yaml"
    path.write_text(yaml.safe_dump(project, sort_keys=False))
    return path


def _wait_for_scheduled_runs(env, deployment_ids, worker, worker_log):
    """Poll until every deployment has a finished run; return {deployment id: that run}."""
    deadline = time.time() + WAIT_SECONDS
    done: dict = {}
    while time.time() < deadline and len(done) < len(deployment_ids):
        if worker.poll() is not None:
            raise AssertionError(
                f"the worker exited with {worker.returncode}:\n{worker_log.read_text()[-3000:]}"
            )
        for dep_id in deployment_ids:
            if dep_id in done:
                continue
            finished = [r for r in flow_runs_of(env, dep_id) if r.state and r.state.is_final()]
            if finished:
                done[dep_id] = min(finished, key=lambda r: r.expected_start_time)
        time.sleep(3)
    return done


def test_scheduler_creates_runs_and_a_worker_completes_them(prefect_server, tiny, tmp_path):
    env = prefect_server
    runs_yaml = tmp_path / "yaml"
    # The pool first: `prefect deploy` refuses a pool that does not exist.
    _prefect(env, "work-pool", "create", POOL, "--type", "process", cwd=tmp_path)
    res = subprocess.run(
        [BIN / "synthpipe", "deploy", "--name", "every-minute", "--pool", POOL,
         "--table", tiny / "t.parquet", "--target", "label", "--config", tiny / "run.yaml",
         "--cron", EVERY_MINUTE],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    project = _project_file(tmp_path, tiny, runs_yaml)
    # The project file's pull step sets the working directory to $PWD at deploy time: the
    # repository root, where the entrypoint flows/synthesize_table.py lives.
    _prefect({**env, "PWD": str(REPO)}, "deploy", "--prefect-file", project, "--all", cwd=REPO)

    deps = {
        name: client_call(env, lambda c, n=name: c.read_deployment_by_name(n))
        for name in ("synthesize-table/every-minute", "synthesize-table/claims-nightly")
    }
    for dep in deps.values():
        assert dep.work_pool_name == POOL
        assert [s.schedule.cron for s in dep.schedules] == [EVERY_MINUTE]

    worker_log = tmp_path / "worker.log"
    with open(worker_log, "w") as log:
        worker = subprocess.Popen(
            [BIN / "prefect", "worker", "start", "--pool", POOL, "--type", "process"],
            env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            done = _wait_for_scheduled_runs(env, [d.id for d in deps.values()], worker, worker_log)
        finally:
            stop(worker)
    server_log = (Path(env["PREFECT_HOME"]) / "server.log").read_text()
    # Under SQLAlchemy 2.1 the scheduler failed on every loop with this error.
    assert "Can't evaluate bulk DML" not in server_log, server_log[-3000:]
    assert len(done) == 2, f"no scheduled run finished within {WAIT_SECONDS} s: {done}"
    for name, dep in deps.items():
        run = done[dep.id]
        assert run.auto_scheduled and "auto-scheduled" in run.tags, name  # made by the scheduler
        assert run.state.is_completed(), f"{name}: {run.state.name} {run.state.message}"

    # `synthpipe deploy` stores runs_dir absolute, resolved from its working directory.
    for runs in (tmp_path / "runs", runs_yaml):
        folders = [p.parent for p in runs.glob("t-*/manifest.json")]
        assert folders, f"no run folder in {runs}"
        assert any((f / "synthetic.parquet").is_file() for f in folders)
