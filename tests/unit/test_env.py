"""Environment defaults (telemetry off, OpenMP spinning, malloc); a user's setting wins."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

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


# A sampling-like loop: no-grad MLP forwards on 4,096 rows (MB-sized activation buffers).
_FAULTS = """
import resource, sys
if sys.argv[1] == "synthpipe":
    import synthpipe  # noqa: F401
import torch
torch.set_num_threads(1)
net = torch.nn.Sequential(torch.nn.Linear(108, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                          torch.nn.ReLU(), torch.nn.Linear(256, 108))
x = torch.randn(4096, 108)
with torch.no_grad():
    for _ in range(3):
        x = net(x).tanh()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        x = net(x).tanh()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def _faults_per_forward(mode: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", _FAULTS, mode], env=env, capture_output=True,
                         text=True, check=True).stdout
    return float(out.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_importing_synthpipe_keeps_freed_buffers_instead_of_faulting_them_back():
    plain = _faults_per_forward("plain")
    if plain < 100:
        pytest.skip(f"this C library does not return the buffers to the kernel ({plain} faults)")
    assert _faults_per_forward("synthpipe") < plain / 10


def test_a_users_malloc_setting_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1000000")
    assert _env.malloc_defaults() is False
