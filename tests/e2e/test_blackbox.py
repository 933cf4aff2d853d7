"""The installed `synthpipe` command, run as a separate process like a user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

BIN = Path(sys.executable).parent / "synthpipe"


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    env.pop("PREFECT_API_URL", None)
    return env


def test_help_lists_commands():
    assert shutil.which(str(BIN)) or BIN.exists()
    res = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0
    for cmd in ("run", "models", "evaluate"):
        assert cmd in res.stdout


def test_run_from_another_directory_uses_bundled_sample(tmp_path):
    """No --table: the bundled sample is found from any working directory."""
    res = subprocess.run(
        [BIN, "run", "--epochs", "1", "--rows", "400"],
        cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=600,
    )
    # One epoch is too little to pass every gate; published (0) or quarantined (3) both count.
    assert res.returncode in (0, 3), res.stderr[-3000:]
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("claims-")
    where = "synthetic.parquet" if res.returncode == 0 else "quarantine/synthetic.parquet"
    synth = pd.read_parquet(runs[0] / where)
    assert len(synth) == 400
    manifest = json.loads((runs[0] / "manifest.json").read_text())
    assert manifest["input"]["path"].endswith("claims.parquet")


def test_bad_usage_exit_code_two(tmp_path):
    res = subprocess.run([BIN, "run", "--rows", "minus"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
