"""Environment defaults: telemetry off and bounded OpenMP spinning, a user's setting wins."""

from __future__ import annotations

import os
import subprocess
import sys

from synthpipe import _env


def test_bounded_spinning_is_the_default(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    _env.thread_wait_defaults()
    assert os.environ["GOMP_SPINCOUNT"] == _env.GOMP_SPINCOUNT


def test_a_users_wait_policy_or_spin_count_wins(monkeypatch):
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    _env.thread_wait_defaults()
    assert "GOMP_SPINCOUNT" not in os.environ
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setenv("GOMP_SPINCOUNT", "123")
    _env.thread_wait_defaults()
    assert os.environ["GOMP_SPINCOUNT"] == "123"


def test_importing_synthpipe_sets_it_before_torch_loads():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    code = ("import sys, os, synthpipe; "
            "print('torch' in sys.modules, os.environ.get('GOMP_SPINCOUNT'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", _env.GOMP_SPINCOUNT]


def test_quiet_defaults_keep_a_users_value(monkeypatch):
    monkeypatch.setenv("DO_NOT_TRACK", "0")
    monkeypatch.delenv("GX_ANALYTICS_ENABLED", raising=False)
    _env.quiet_defaults()
    assert os.environ["DO_NOT_TRACK"] == "0"
    assert os.environ["GX_ANALYTICS_ENABLED"] == "false"
