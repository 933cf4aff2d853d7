"""Ctrl-C and SIGTERM during a run, as a user's shell or a scheduler sends them: the run stops
with one line and exit 130 / 143, and leaves no temporary folder, no half-written run folder
and no process (the embedded Prefect server included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SAMPLE


def _start(tmp_path: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "PREFECT_HOME": str(tmp_path / "ph"),
           "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "GX_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)  # the embedded server, started by the run itself
    (tmp_path / "tmp").mkdir()
    return subprocess.Popen(
        [sys.executable, "-m", "synthpipe.cli", "run", "--table", str(SAMPLE),
         "--target", "is_fraud", "--epochs", "500", "--no-cache", "--out", str(out), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,  # its own process group: every process it starts is in it
    )


def _wait_until_training(proc: subprocess.Popen, tmp: Path, timeout: float = 240) -> None:
    """Until the run's temporary folder exists and the embedded server has started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if list(tmp.glob("synthpipe-run-*")):
            time.sleep(5)  # into the training step
            return
        time.sleep(0.5)
    pytest.fail("the run never started")


def _group(pgid: int) -> list[str]:
    """The processes of a process group."""
    return subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True,
                          text=True).stdout.split()


def _group_gone(pgid: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.5)
    return False


@pytest.mark.parametrize(("sig", "code", "word"), [
    (signal.SIGTERM, 143, "terminated (SIGTERM)"),
    (signal.SIGINT, 130, "interrupted (Ctrl-C)"),
])
def test_a_signal_stops_the_run_and_leaves_nothing_behind(tmp_path, sig, code, word):
    out = tmp_path / "run"
    proc = _start(tmp_path, out)
    try:
        _wait_until_training(proc, tmp_path / "tmp")
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr and "Traceback" not in stdout
    assert [line for line in stderr.splitlines() if word in line] == [
        f"{word}: the run stopped; nothing was published and its temporary files were removed"
    ]
    assert not out.exists() or not any(out.iterdir())
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".run.")]
    assert list((tmp_path / "tmp").glob("synthpipe-*")) == []
    assert _group_gone(proc.pid), "a process of the run (the Prefect server?) outlived it"


def test_sigterm_on_dask_stops_the_cluster_it_started(tmp_path):
    """With ``--runner dask`` the run starts a local cluster (scheduler and worker processes):
    SIGTERM stops the run, and the cluster goes with it."""
    out = tmp_path / "run"
    proc = _start(tmp_path, out, "--runner", "dask", "--model", "auto")
    try:
        _wait_until_training(proc, tmp_path / "tmp")
        # the CLI, the embedded Prefect server, and the cluster's worker processes (the
        # cluster starts when the candidates are handed to it)
        deadline = time.monotonic() + 240
        while len(_group(proc.pid)) < 4 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.5)
        assert len(_group(proc.pid)) >= 4, _group(proc.pid)
        time.sleep(3)  # the candidates are training on the workers
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 143, stderr
    # One readable line: the worker processes share the terminal and log only CRITICAL
    # records, so distributed's broken-connection tracebacks (printed as the scheduler went,
    # before the workers were quieted) stay out of it.
    assert "terminated (SIGTERM): the run stopped" in stderr
    assert "Traceback" not in stderr and "distributed" not in stderr, stderr
    assert not out.exists() or not any(out.iterdir())
    assert list((tmp_path / "tmp").glob("synthpipe-*")) == []
    assert _group_gone(proc.pid), "a Dask worker or the Prefect server outlived the run"
