"""A steward approves a paused run from the shell, after reading its report, as a user would.

Two processes, as in two terminals: ``synthpipe run --approval required`` (its own embedded
Prefect server) writes the run folder as awaiting approval and pauses; ``synthpipe approve``
(another embedded server over the same Prefect database) resumes it. The run then exits 0,
and ``synthpipe review --verify`` shows the decision bound to the report that was read.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthpipe.io import sha256_file
from tests.conftest import SAMPLE


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "ph"), "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}
    env.pop("PREFECT_API_URL", None)  # each command starts the embedded server itself
    return env


def _synthpipe(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "synthpipe.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=400)


def _wait_awaiting(proc: subprocess.Popen, out: Path, timeout: float = 400) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            manifest = json.loads((out / "manifest.json").read_text())
        except (OSError, ValueError):
            manifest = {}
        if manifest.get("verdict") == "awaiting_approval":
            return manifest
        time.sleep(1)
    pytest.fail("the run never reached the approval pause")


def test_a_steward_approves_a_paused_run_from_the_shell(tmp_path):
    env = _env(tmp_path)
    out = tmp_path / "run"
    # The bundled sample, as the README's run command: default model, capped training.
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthpipe.cli", "run", "--table", str(SAMPLE),
         "--target", "is_fraud", "--rows", "1500", "--time-budget", "20s", "--no-cache",
         "--approval", "required", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
    )
    try:
        manifest = _wait_awaiting(proc, out)
        # the steward reads the report; nothing a consumer could take is published yet
        assert "AWAITING APPROVAL" in (out / "report.html").read_text()
        assert not (out / "synthetic.parquet").exists()
        read = sha256_file(out / "report.html")
        assert manifest["prefect"]["flow_run_id"]

        # a review is not the way to decide it, and says which command is
        early = _synthpipe(env, "review", out, "--approve", "--by", "dana")
        assert early.returncode == 2 and "synthpipe approve" in early.stderr

        decided = _synthpipe(env, "approve", out, "--by", "dana", "--comment",
                             "privacy section read; DCR fine", "--json")
        assert decided.returncode == 0, decided.stderr
        answer = json.loads(decided.stdout)
        assert answer["status"] == "published" and answer["how"] == "resumed"
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, stderr
    assert "awaiting approval" in stderr and f"synthpipe approve {out}" in stderr
    assert "published" in stdout
    assert (out / "synthetic.parquet").is_file() and not (out / "pending").exists()

    entry = answer["entry"]
    assert entry["report_sha256"] == read  # the page the steward read, no other
    assert entry["by"] == "dana" and entry["comment"] == "privacy section read; DCR fine"
    final = json.loads((out / "manifest.json").read_text())
    assert final["verdict"] == "published"
    assert final["approval"]["review_entry"] == entry["entry_hash"]

    verify = _synthpipe(env, "review", out, "--verify", "--expected-head", entry["entry_hash"],
                        "--json")
    assert verify.returncode == 0, verify.stdout
    assert json.loads(verify.stdout)["entries"] == 1

    again = _synthpipe(env, "reject", out, "--by", "eve")
    assert again.returncode == 2 and "not awaiting approval" in again.stderr
