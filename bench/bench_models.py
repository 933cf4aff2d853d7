"""Benchmark: the model zoo against SDV on adult (quality, speed, CPU efficiency).

Answers docs/choosing-a-model.md and docs/cpu-efficiency.md. Every model runs in its own
subprocess (so its peak RSS is its own), in this order: ours (tvae, ctgan, tabddpm, flow,
argn), SDV GaussianCopula, SDV TVAE, the ctgan package's TVAE, and SDV
CTGAN last (the slowest, so a deadline loses the least). For each: fit wall time, rows/s sampled
unconditionally and for the minority class (">50K"), peak RSS, sdmetrics column shapes and pair
trends, detection AUC (each with the real holdout's own score as reference) and
train-on-synthetic-test-on-real ROC-AUC / F1 on adult_test.csv.

Throughput, measured (not estimated):

- the machine's float32 matmul rate (1024x1024 square and 4096x256 @ 256x256), measured with
  torch before every repeat;
- training FLOP/s of the synthpipe torch models (all but ctgan, which trains inside the
  ctgan package and is not measured): ``synthpipe.models.base.train`` is wrapped so that, before
  the real loop, ``torch.utils.flop_counter.FlopCounterMode`` counts one forward+backward of the
  model's loss on one training batch and one no-grad forward (a validation batch), under
  ``torch.random.fork_rng`` so the training's random stream is unchanged. Total FLOPs =
  steps x FLOPs/step + epochs x validation forward FLOPs; divided by the loop's wall time. The
  counter sees matmuls and convolutions only (not elementwise ops or the optimizer), so this is
  the matmul work the loop did per second, comparable with the matmul rate;
- sampling FLOP/s of the same models: the network part of ``sample()`` (``generate_encoded``: the
  ``_sample`` hook in the model's sampling batches, no table decoding),
  with class labels drawn from the class prior as ``sample()`` does for unconditional rows:
  FLOPs counted on 2,048 rows, wall time of 16,384 rows (median of 3, after one untimed call);
- paired windows of both (``_paired_shares``): after the above, five windows of real training
  (synthpipe's loop again on a copy of the fitted network, at least 100 steps) and five of
  sampling (at least 1 s), each between two 1-second matmul timings. A window's share is its
  FLOP/s over the mean of the matmul rates just before and after it; the report gives the
  median. The machine's speed drifts within minutes; a rate divided by a matmul rate timed
  seconds from it carries less of that drift than a whole fit divided by a matmul timed
  before it (both are reported), but not the contention that slows small ops more than a
  large matmul.

A synthpipe model left at its default budget trains to convergence (fidelity checks every few
hundred steps choose where to stop); ``NAME@EPOCHS`` fixes the epochs instead (``tvae@77``
``tabddpm@135`` ``flow@45`` are adult's fixed default budgets). In a converging fit the loop's
wall time includes the checks, which the FLOP count leaves out, so its "run" and "adjacent"
training shares are lower than the arithmetic alone would give; the paired windows train for
fixed epochs without checks.

Usage (docs/results/models.json and docs/results/models_efficiency.json were measured at the
fixed budgets named here, then the defaults)::

    python bench/bench_models.py --models tvae@77 tabddpm@135 flow@45 tabddpm@25 \
        sdv_gaussiancopula sdv_tvae --repeats 3 --deadline-seconds 3600
    python bench/bench_models.py --models tvae@77 tabddpm@135 flow@45 tabddpm@25 --repeats 3 \
        --deadline-seconds 3600 --out docs/results/models_efficiency.json
    python bench/bench_models.py --report        # the tables of docs/results/models.json

``--repeats N`` runs the whole model list N times, round-robin (every model once, then every
model again...). Each run is kept in ``runs[model]``; ``models[model]`` is the run with the
median fit time plus ``repeats`` (per-metric lists over the successful runs), and the report
shows medians. ``--params tvae='{"epochs": 50}'`` (repeatable) passes constructor overrides to
a synthpipe model. ``--smoke`` is a seconds-long check of the script itself: 2,000 training,
500 holdout and 1,000 test rows, 2 epochs, short matmul timing, sampling timed on 2,048 rows,
peers other than SDV GaussianCopula skipped; its numbers mean nothing.

Results are written to ``--out`` (default ``docs/results/models.json``) after every model, so
a killed run keeps what finished; the deadline applies to the whole run. Each run keeps the
evaluation's scores (each metric's synthetic and holdout value, the utility metrics), not its
per-column, per-pair and correlation detail. ``--report`` prints markdown tables from an
existing JSON file (documents written before ``--repeats`` existed count as one run per model).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import json
import math
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# Telemetry off (SDV's too) and synthpipe's OpenMP wait default (bounded spinning), before this
# process loads torch for the matmul timing or SDV for the peers.
from synthpipe._env import quiet_defaults, thread_wait_defaults  # noqa: E402

quiet_defaults()
thread_wait_defaults()

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
OUT = REPO / "docs" / "results" / "models.json"
TARGET = "income"
MINORITY = ">50K"
OURS = ["tvae", "ctgan", "tabddpm", "flow", "argn"]
PEERS = ["sdv_gaussiancopula", "sdv_tvae", "ctgan_pkg_tvae", "sdv_ctgan"]
ALL_MODELS = OURS + PEERS


def is_ours(name: str) -> bool:
    """A synthpipe model, or a budget variant of one (``flow@20``: flow with 20 epochs)."""
    return name.partition("@")[0] in OURS


def model_name(text: str) -> str:
    """argparse type of a model entry: a known model, or ``OURS@EPOCHS`` (a budget variant)."""
    base, sep, epochs = text.partition("@")
    if text in ALL_MODELS or (sep and base in OURS and epochs.isdigit() and int(epochs) > 0):
        return text
    raise argparse.ArgumentTypeError(
        f"unknown model {text!r}: use one of {', '.join(ALL_MODELS)}, or a synthpipe model "
        "with an epoch budget such as flow@20")
HOLDOUT_SHARE = 0.2
MINORITY_ROWS = 5000
# SDV conditional sampling (and rejection sampling for ctgan's TVAE) gets this long at most.
CONDITIONAL_LIMIT_S = 60.0
# Network-level sampling throughput: FLOPs counted on this many rows, time measured on
# SAMPLING_TIMED_ROWS rows, SAMPLING_TIMINGS times (median kept).
SAMPLING_COUNTED_ROWS = 2048
SAMPLING_TIMED_ROWS = 16384
SAMPLING_TIMINGS = 3
MATMUL_SECONDS = 3.0
# The same 1024x1024 matmul timed inside each synthpipe model's run, just before its fit and
# just after its sampling measurement: the machine is shared, and its speed drifts between the
# repeat's own matmul timing and a model's minutes of training.
ADJACENT_MATMUL_SECONDS = 1.5
# --smoke: tiny data, 2 epochs, short matmul timing, only the cheap peer.
SMOKE_ROWS = {"train": 2000, "holdout": 500, "test": 1000}
SMOKE_EPOCHS = 2
SMOKE_MATMUL_SECONDS = 0.5
SMOKE_ADJACENT_MATMUL_SECONDS = 0.2
SMOKE_PEERS = ["sdv_gaussiancopula"]
SMOKE_SAMPLING_TIMED_ROWS = 2048
# Paired efficiency windows, after a synthpipe model's sampling measurement: PAIRED_ROUNDS
# windows of real training (synthpipe's loop on a copy of the fitted network, at least
# PAIRED_TRAIN_STEPS optimizer steps) and as many of sampling (at least PAIRED_SAMPLE_SECONDS),
# each between two 1024x1024 matmul timings of PAIRED_MATMUL_SECONDS; a window's share is its
# GFLOP/s over the mean of the two matmul rates around it. The machine is shared and its speed
# drifts by up to 1.8x within minutes; a rate and a matmul rate timed seconds apart share the
# drift that slows both alike. Contention that slows a training step's short OpenMP regions
# more than one large matmul still shows (docs/cpu-efficiency.md).
PAIRED_ROUNDS = 5
PAIRED_TRAIN_STEPS = 100
PAIRED_SAMPLE_SECONDS = 1.0
PAIRED_MATMUL_SECONDS = 1.0
SMOKE_PAIRED = {"rounds": 2, "train_steps": 2, "sample_seconds": 0.1, "matmul_seconds": 0.1}
# Efficiency target: training and sampling FLOP/s at least this share of the matmul rate.
EFFICIENCY_TARGET = 0.5


class _Timeout(Exception):
    """Raised by the SIGALRM handler when a sampling call runs past its limit."""


def _alarm(_signum, _frame):
    raise _Timeout


def load_data(seed: int = 0, smoke: bool = False):
    """Adult train/holdout split (80/20, seeded), the real test set and detected metadata.

    With ``smoke`` only the first SMOKE_ROWS rows of each part are kept.
    """
    from synthpipe.io import read_table
    from synthpipe.metadata import detect_metadata

    df = read_table(SHARED / "adult.csv")
    test = read_table(SHARED / "adult_test.csv")
    metadata = detect_metadata(df)
    holdout = df.sample(frac=HOLDOUT_SHARE, random_state=seed)
    train = df.drop(index=holdout.index).reset_index(drop=True)
    holdout = holdout.reset_index(drop=True)
    if smoke:
        train = train.head(SMOKE_ROWS["train"])
        holdout = holdout.head(SMOKE_ROWS["holdout"])
        test = test.head(SMOKE_ROWS["test"]).reset_index(drop=True)
    return train, holdout, test, metadata


def matmul_gflops(size: int = 1024, batch: int | None = None,
                  seconds: float = MATMUL_SECONDS) -> float:
    """Float32 matmul throughput in GFLOP/s (``size`` square, or ``batch`` x size x size)."""
    import torch

    rows = batch or size
    a = torch.randn(rows, size)
    b = torch.randn(size, size)
    for _ in range(3):
        a @ b
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        n += 1
    elapsed = time.perf_counter() - t0
    return 2.0 * rows * size * size * n / elapsed / 1e9


# ---------------------------------------------------------------------------- FLOP counting


def _count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs that torch's FlopCounterMode sees in ``fn()`` (matmuls and convolutions).

    Runs under ``torch.random.fork_rng`` so that random draws inside ``fn`` leave the global
    random state as it was.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.random.fork_rng(), counter:
        fn()
    return int(counter.get_total_flops())


def _split_sizes(n: int, val_fraction: float) -> tuple[int, int]:
    """(n_train, n_val) exactly as :func:`synthpipe.training.train` splits ``n`` rows."""
    n_val = int(round(n * val_fraction)) if val_fraction > 0 else 0
    if n_val < 1 or n - n_val < 1:
        n_val = 0
    return n - n_val, n_val


@contextlib.contextmanager
def _training_flops(record: dict[str, Any],
                    windows: dict[str, Any] | None = None) -> Iterator[None]:
    """Within the block, measure the FLOP throughput of synthpipe's training loop.

    Patches ``synthpipe.models.base.train`` (the name the models' ``_train`` calls) with a
    wrapper that counts one training step's FLOPs (forward + backward of ``loss_fn`` on the
    first batch, model in train mode) and one validation forward's (no grad, eval mode), runs
    the real loop, and fills ``record`` with the totals and GFLOP/s. The counting runs under
    a forked RNG and clears the gradients it made, so the real training is unchanged.

    With ``windows`` (a dict), ``windows["train"]`` becomes ``f(min_steps, seed) -> GFLOP/s``:
    the same loop, settings and data again on a copy of the trained network, for whole epochs
    of at least ``min_steps`` optimizer steps (no early stop, no checkpoint), counted the
    same way (for :func:`_paired_shares`).
    """
    import torch

    from synthpipe.models import base

    real_train = base.train

    def counted_train(model, loss_fn, x, cond, cfg, device, progress=None, generator=None,
                      **kwargs):
        n_train, n_val = _split_sizes(int(x.shape[0]), cfg.val_fraction)
        bs = min(cfg.batch_size, n_train)
        xb = x[:bs].to(device=device, dtype=torch.float32)
        cb = cond[:bs].to(device=device, dtype=torch.long) if cond is not None else None
        was_training = model.training

        def train_step():
            loss_fn(model, xb, cb).reshape(()).backward()

        def eval_forward():
            with torch.no_grad():
                loss_fn(model, xb, cb)

        model.train()
        step_flops = _count_flops(train_step)
        model.zero_grad(set_to_none=True)
        model.eval()
        forward_flops = _count_flops(eval_forward)
        model.train(was_training)

        def gflops(result) -> tuple[int, float, float | None]:
            steps = math.ceil(n_train / bs) * result.epochs_run
            total = steps * step_flops + result.epochs_run * forward_flops * n_val / bs
            return steps, total, total / result.seconds / 1e9 if result.seconds > 0 else None

        result = real_train(model, loss_fn, x, cond, cfg, device, progress=progress,
                            generator=generator, **kwargs)  # monitor: a converging fit's checks
        steps, total, rate = gflops(result)
        if windows is not None:
            def train_window(min_steps: int, seed: int) -> float | None:
                epochs = max(1, math.ceil(min_steps / math.ceil(n_train / bs)))
                window_cfg = dataclasses.replace(cfg, epochs=epochs, patience=None,
                                                 checkpoint_path=None, resume=False,
                                                 time_budget=None)
                again = real_train(copy.deepcopy(model), loss_fn, x, cond, window_cfg, device,
                                   generator=torch.Generator().manual_seed(seed))
                return gflops(again)[2]

            windows["train"] = train_window
        record.update({
            "batch_size": bs, "n_train": n_train, "n_val": n_val,
            "epochs_run": result.epochs_run, "steps": steps,
            "flops_per_step": step_flops, "forward_flops_per_batch": forward_flops,
            "total_flops": total, "train_loop_seconds": result.seconds, "train_gflops": rate,
            "stop_reason": result.stop_reason, "fidelity_checks": len(result.checks),
        })
        return result

    base.train = counted_train
    try:
        yield
    finally:
        base.train = real_train


def _prior_labels(model, n: int):
    """Class labels for ``n`` unconditional rows, drawn from the class prior as
    ``Synthesizer.sample`` does (None for a model fitted without a target)."""
    import torch

    if model.target_ is None:
        return None
    prior = torch.tensor(model.class_prior_, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    labels = torch.multinomial(prior, n, replacement=True, generator=gen)
    return labels.to(model.device_)


def _sampling_flops(model, timed_rows: int = SAMPLING_TIMED_ROWS) -> dict[str, Any]:
    """Network-level sampling throughput of a fitted synthpipe torch model.

    Calls ``generate_encoded``, the network part of ``Synthesizer.sample`` (the ``_sample``
    hook in the model's own sampling batches, eval mode, no grad, prior-drawn labels when the
    model has a target; no decoding to a table): FLOPs counted on SAMPLING_COUNTED_ROWS rows,
    wall time of ``timed_rows`` rows (median of SAMPLING_TIMINGS calls after one untimed call,
    without the counter).
    """
    import torch

    def call(n: int, cond) -> None:
        gen = torch.Generator(device=model.device_).manual_seed(0)
        model.generate_encoded(n, cond, gen)  # in the model's sampling batches, as sample() does

    for module in model._modules().values():
        module.eval()
    counted = _prior_labels(model, SAMPLING_COUNTED_ROWS)
    flops = _count_flops(lambda: call(SAMPLING_COUNTED_ROWS, counted))
    timed = _prior_labels(model, timed_rows)
    # One untimed call first: the first call at this batch size faults in its activation
    # buffers (about 20,000 minor page faults, 80 MB, for TabDDPM on adult), the later ones
    # reuse them, as a long sampling run does.
    call(timed_rows, timed)
    seconds = []
    for _ in range(SAMPLING_TIMINGS):
        t0 = time.perf_counter()
        call(timed_rows, timed)
        seconds.append(time.perf_counter() - t0)
    per_row = flops / SAMPLING_COUNTED_ROWS
    median_s = statistics.median(seconds)
    return {
        "labels": "drawn from the class prior" if counted is not None else "none (no target)",
        "rows_counted": SAMPLING_COUNTED_ROWS, "flops_per_row": per_row,
        "rows_timed": timed_rows, "seconds": seconds, "seconds_median": median_s,
        "gflops": per_row * timed_rows / median_s / 1e9,
    }


def _paired_shares(model, train_window: Callable[[int, int], float | None] | None,
                   flops_per_row: float, rows: int, rounds: int = PAIRED_ROUNDS,
                   train_steps: int = PAIRED_TRAIN_STEPS,
                   sample_seconds: float = PAIRED_SAMPLE_SECONDS,
                   matmul_seconds: float = PAIRED_MATMUL_SECONDS) -> dict[str, Any]:
    """Training and sampling GFLOP/s of a fitted synthpipe torch model, each window between
    two matmul timings (see PAIRED_ROUNDS).

    Training windows replay synthpipe's loop (``train_window`` from :func:`_training_flops`);
    sampling windows call ``generate_encoded`` on ``rows`` prior-drawn labels until
    ``sample_seconds`` have passed. Returns per kind the window rates, the matmul rates around
    them, each window's share of the mean of its two neighbours and the median share. Runs
    under a forked RNG and leaves the fitted model's weights untouched.
    """
    import torch

    labels = _prior_labels(model, rows)

    def sample_window(seed: int) -> float:
        gen = torch.Generator(device=model.device_).manual_seed(seed)
        done, t0 = 0, time.perf_counter()
        while True:
            model.generate_encoded(rows, labels, gen)
            done += rows
            elapsed = time.perf_counter() - t0
            if elapsed >= sample_seconds:
                return flops_per_row * done / elapsed / 1e9

    kinds: dict[str, Callable[[int], float | None]] = {"sampling": sample_window}
    if train_window is not None:
        kinds = {"training": lambda seed: train_window(train_steps, seed), **kinds}
    out: dict[str, Any] = {"rounds": rounds, "train_steps_min": train_steps,
                           "sample_seconds_min": sample_seconds,
                           "matmul_seconds": matmul_seconds}
    with torch.random.fork_rng():
        for kind, window in kinds.items():
            matmul = [matmul_gflops(1024, seconds=matmul_seconds)]
            rates = []
            for r in range(rounds):
                rates.append(window(r))
                matmul.append(matmul_gflops(1024, seconds=matmul_seconds))
            shares = [rate / ((a + b) / 2) for rate, a, b in zip(rates, matmul, matmul[1:],
                                                                 strict=False)
                      if rate is not None]
            out[kind] = {"gflops": rates, "matmul_gflops": matmul, "shares": shares,
                         "share_median": statistics.median(shares) if shares else None}
    return out


# ---------------------------------------------------------------------------- fitting


def _fit_ours(name: str, train, metadata, params: dict[str, Any],
              sampling_rows: int = SAMPLING_TIMED_ROWS,
              matmul_seconds: float = ADJACENT_MATMUL_SECONDS,
              paired: dict[str, Any] | None = None):
    """Fit a synthpipe model (``params`` override its constructor defaults) and, for the
    torch models trained by synthpipe's loop, measure training and sampling FLOP/s (the
    latter timed on ``sampling_rows`` rows), the 1024x1024 matmul rate just before the fit
    and just after the sampling measurement (``matmul_seconds`` each), then the paired
    windows of :func:`_paired_shares` (``paired``: its keyword overrides)."""
    from synthpipe.models import create_model

    base, _, epochs = name.partition("@")
    if epochs:
        params = {"epochs": int(epochs), **params}
    model = create_model(base, seed=0, **params)
    measure = base != "ctgan"  # CTGAN trains inside the ctgan package: not measured.
    flops: dict[str, Any] = {}
    windows: dict[str, Any] = {}
    adjacent = [matmul_gflops(1024, seconds=matmul_seconds)] if measure else []
    t0 = time.perf_counter()
    with _training_flops(flops, windows) if measure else contextlib.nullcontext():
        model.fit(train, metadata, target=TARGET)
    fit_s = time.perf_counter() - t0

    def sample(n):
        return model.sample(n, seed=1)

    def sample_minority(n):
        out = model.sample(n, conditions={TARGET: MINORITY}, seed=2)
        return out, "native conditional sampling"

    info: dict[str, Any] = {
        "params": params,
        "epochs": getattr(model, "epochs_", None),
        "batch_size": getattr(model, "batch_size_", None),
    }
    result = getattr(model, "train_result_", None)
    if result is not None:
        info["epochs_run"] = result.epochs_run
        info["train_loop_seconds"] = result.seconds
    if measure:
        info["training_flops"] = flops
        info["sampling_flops"] = _sampling_flops(model, sampling_rows)
        adjacent.append(matmul_gflops(1024, seconds=matmul_seconds))
        info["adjacent_matmul_gflops"] = adjacent
        info["paired"] = _paired_shares(model, windows.get("train"),
                                        info["sampling_flops"]["flops_per_row"], sampling_rows,
                                        **(paired or {}))
    return fit_s, sample, sample_minority, info


def _sdv_frame(out):
    """SDV 2.0 returns {table: DataFrame}; older versions a DataFrame."""
    if isinstance(out, dict):
        return next(iter(out.values()))
    return out


def _fit_sdv(name: str, train, metadata):
    try:
        from sdv.metadata import Metadata
        from sdv.sampling import Condition
    except ImportError:
        sys.exit("the SDV peer needs the bench extra: pip install -e '.[bench]'")
    from sdv.single_table import (
        CTGANSynthesizer,
        GaussianCopulaSynthesizer,
        TVAESynthesizer,
    )

    cls = {
        "sdv_gaussiancopula": GaussianCopulaSynthesizer,
        "sdv_tvae": TVAESynthesizer,
        "sdv_ctgan": CTGANSynthesizer,
    }[name]
    md = Metadata.detect_from_dataframes({"adult": train})
    synth = cls(md)
    t0 = time.perf_counter()
    synth.fit({"adult": train})  # SDV 2.0 fits on {table name: DataFrame}
    fit_s = time.perf_counter() - t0

    def sample(n):
        return _sdv_frame(synth.sample(n))

    def sample_minority(n):
        cond = Condition(num_rows=n, column_values={TARGET: MINORITY})
        return _sdv_frame(synth.sample_from_conditions([cond])), "SDV sample_from_conditions"

    info = {"epochs": getattr(synth, "epochs", None), "sdv_class": cls.__name__}
    return fit_s, sample, sample_minority, info


def _fit_ctgan_pkg_tvae(name: str, train, metadata):
    import numpy as np
    import pandas as pd
    from ctgan import TVAE

    from synthpipe.metadata import ColumnKind

    discrete = [c for c in train.columns
                if metadata.kind(c) in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)
                or not pd.api.types.is_numeric_dtype(train[c])]
    # ctgan's encoder wants no missing categories; "?" is the raw file's own marker for them.
    data = train.copy()
    data[discrete] = data[discrete].astype(object).fillna("?")
    model = TVAE()
    t0 = time.perf_counter()
    model.fit(data, discrete_columns=discrete)
    fit_s = time.perf_counter() - t0

    def sample(n):
        out = model.sample(n)
        return out.replace({c: {"?": np.nan} for c in discrete})

    def sample_minority(n):
        # No conditional sampling in ctgan's TVAE: rejection sampling, bounded in time.
        got, total, t_start = [], 0, time.perf_counter()
        while total < n and time.perf_counter() - t_start < CONDITIONAL_LIMIT_S:
            batch = sample(max(n, 1000))
            keep = batch[batch[TARGET] == MINORITY]
            got.append(keep)
            total += len(keep)
        out = pd.concat(got, ignore_index=True).head(n)
        return out, "rejection sampling (unconditional batches filtered)"

    info = {"epochs": model.epochs, "batch_size": model.batch_size,
            "discrete_columns": discrete}
    return fit_s, sample, sample_minority, info


def run_one(name: str, out_path: Path, smoke: bool = False,
            params: dict[str, Any] | None = None) -> None:
    """Fit, time, sample and evaluate one model; write its result JSON to ``out_path``.

    ``params`` are constructor overrides for a synthpipe model (``smoke`` adds 2 epochs unless
    they set ``epochs`` themselves); peers take none.
    """
    import torch

    from synthpipe.evaluation import fidelity_report, utility_report
    from synthpipe.jsonutil import to_jsonable

    res: dict[str, Any] = {"model": name, "torch_threads": torch.get_num_threads(),
                           "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                           "gomp_spincount": os.environ.get("GOMP_SPINCOUNT"),
                           "smoke": smoke}
    train, holdout, test, metadata = load_data(smoke=smoke)
    res["rows"] = {"train": len(train), "holdout": len(holdout), "test": len(test)}
    if is_ours(name):
        params = {**({"epochs": SMOKE_EPOCHS} if smoke else {}), **(params or {})}
        res["params"] = params
        fitted = _fit_ours(
            name, train, metadata, params,
            sampling_rows=SMOKE_SAMPLING_TIMED_ROWS if smoke else SAMPLING_TIMED_ROWS,
            matmul_seconds=SMOKE_ADJACENT_MATMUL_SECONDS if smoke else ADJACENT_MATMUL_SECONDS,
            paired=SMOKE_PAIRED if smoke else None)
    elif name.startswith("sdv_"):
        fitted = _fit_sdv(name, train, metadata)
    else:
        fitted = _fit_ctgan_pkg_tvae(name, train, metadata)
    fit_s, sample, sample_minority, info = fitted
    res["fit_seconds"] = fit_s
    res["info"] = info

    n = len(train)
    t0 = time.perf_counter()
    synthetic = sample(n)
    res["sample_unconditional"] = {"rows": len(synthetic),
                                   "seconds": time.perf_counter() - t0}
    res["sample_unconditional"]["rows_per_s"] = (
        len(synthetic) / res["sample_unconditional"]["seconds"])

    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, CONDITIONAL_LIMIT_S + 5.0)
    t0 = time.perf_counter()
    try:
        minority, method = sample_minority(MINORITY_ROWS)
        elapsed = time.perf_counter() - t0
        signal.setitimer(signal.ITIMER_REAL, 0)
        share = float((minority[TARGET] == MINORITY).mean()) if len(minority) else 0.0
        res["sample_minority"] = {
            "method": method, "requested": MINORITY_ROWS, "rows": len(minority),
            "seconds": elapsed, "rows_per_s": len(minority) / elapsed,
            "share_requested_class": share, "status": "ok" if len(minority) else "no rows",
        }
    except _Timeout:
        res["sample_minority"] = {
            "status": "timed out", "limit_seconds": CONDITIONAL_LIMIT_S,
            "seconds": time.perf_counter() - t0, "rows_per_s": None,
        }
    except Exception as exc:  # noqa: BLE001 - a peer's failure is a result to report
        signal.setitimer(signal.ITIMER_REAL, 0)
        res["sample_minority"] = {"status": f"error: {type(exc).__name__}: {exc}"[:400],
                                  "seconds": time.perf_counter() - t0, "rows_per_s": None}
    res["peak_rss_mb_fit_sample"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    t0 = time.perf_counter()
    fid = fidelity_report(train, holdout, synthetic, metadata, seed=0)
    util = utility_report(train, holdout, synthetic, TARGET, metadata, seed=0, test=test)
    res["eval_seconds"] = time.perf_counter() - t0
    res["fidelity"] = scores(fid)
    res["utility"] = scores(util)
    res["peak_rss_mb_with_eval"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out_path.write_text(json.dumps(to_jsonable(res), indent=2))


# Evaluation detail the tables do not read: per column, per pair, the correlation matrices and
# the diagnosis's joint tables. Kept, they made a 3-repeat result file about a megabyte.
_DETAIL = frozenset({"per_column", "per_pair", "correlation", "diagnosis"})


def scores(report: Any) -> Any:
    """An evaluation report without its detail (``_DETAIL`` keys and lists): every score
    with its holdout reference, the utility metrics, the settings."""
    if isinstance(report, dict):
        return {k: scores(v) for k, v in report.items()
                if k not in _DETAIL and not isinstance(v, list)}
    return report


# ---------------------------------------------------------------------------- running


def _write(out: Path, doc: dict) -> None:
    """Write the results document atomically (a killed run leaves the last complete one)."""
    from synthpipe.io import write_json

    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(doc, out)


def _get(d: Any, *keys: str) -> Any:
    """``d[k1][k2]...``, or None when a level is missing."""
    for key in keys:
        try:
            d = d[key]
        except (KeyError, TypeError, IndexError):
            return None
    return d


def _minority_ratio(r: dict) -> float | None:
    """Minority-class rows/s over unconditional rows/s of one run."""
    mrate = _get(r, "sample_minority", "rows_per_s")
    unc = _get(r, "sample_unconditional", "rows_per_s")
    return mrate / unc if mrate is not None and unc else None


def _adjacent_share(r: dict, part: str, key: str) -> float | None:
    """A run's training or sampling GFLOP/s over the mean of the matmul rates timed in the
    same process just before its fit and just after its sampling measurement."""
    rate = _get(r, "info", part, key)
    adjacent = _get(r, "info", "adjacent_matmul_gflops")
    if rate is None or not adjacent:
        return None
    return rate / statistics.mean(adjacent)


# Per-run numbers the report shows; each is kept per repeat and reported as a median.
METRICS: dict[str, Callable[[dict], Any]] = {
    "fit_seconds": lambda r: r.get("fit_seconds"),
    "sample_rows_per_s": lambda r: _get(r, "sample_unconditional", "rows_per_s"),
    "minority_rows_per_s": lambda r: _get(r, "sample_minority", "rows_per_s"),
    "minority_ratio": _minority_ratio,
    "peak_rss_mb": lambda r: r.get("peak_rss_mb_fit_sample"),
    "column_shapes": lambda r: _get(r, "fidelity", "column_shapes", "synthetic"),
    "pair_trends": lambda r: _get(r, "fidelity", "pair_trends", "synthetic"),
    "detection": lambda r: _get(r, "fidelity", "detection", "synthetic"),
    "tstr_auc": lambda r: _get(r, "utility", "metrics", "roc_auc", "synthetic"),
    "tstr_f1": lambda r: _get(r, "utility", "metrics", "f1", "synthetic"),
    "train_gflops": lambda r: _get(r, "info", "training_flops", "train_gflops"),
    "sampling_gflops": lambda r: _get(r, "info", "sampling_flops", "gflops"),
    "train_share_adjacent": lambda r: _adjacent_share(r, "training_flops", "train_gflops"),
    "sampling_share_adjacent": lambda r: _adjacent_share(r, "sampling_flops", "gflops"),
    "train_share_paired": lambda r: _get(r, "info", "paired", "training", "share_median"),
    "sampling_share_paired": lambda r: _get(r, "info", "paired", "sampling", "share_median"),
    # The real data's own scores (the reference row).
    "holdout_column_shapes": lambda r: _get(r, "fidelity", "column_shapes", "holdout"),
    "holdout_pair_trends": lambda r: _get(r, "fidelity", "pair_trends", "holdout"),
    "holdout_detection": lambda r: _get(r, "fidelity", "detection", "holdout"),
    "real_tstr_auc": lambda r: _get(r, "utility", "metrics", "roc_auc", "real"),
    "real_tstr_f1": lambda r: _get(r, "utility", "metrics", "f1", "real"),
}


def _median(values) -> float | None:
    """Median of the values that are not None (None if there are none)."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(runs: list[dict]) -> dict:
    """One model's entry in ``doc["models"]``: the successful run with the median fit time
    (the lower one of two middles; the last run when none succeeded) plus ``repeats``, the
    per-metric lists over the successful runs."""
    ok = [r for r in runs if r.get("status") == "ok"]
    chosen = sorted(ok, key=lambda r: r["fit_seconds"])[(len(ok) - 1) // 2] if ok else runs[-1]
    repeats: dict[str, Any] = {"n_ok": len(ok), "n_runs": len(runs),
                               "statuses": [r.get("status") for r in runs]}
    repeats.update({key: [get(r) for r in ok] for key, get in METRICS.items()})
    return {**chosen, "repeats": repeats}


def _measure_matmul(machine: dict, seconds: float) -> None:
    """Append this repeat's matmul rates to ``machine`` and update their medians."""
    for key, size, batch in (("matmul_gflops_1024", 1024, None),
                             ("matmul_gflops_4096x256x256", 256, 4096)):
        runs = machine.setdefault(f"{key}_runs", [])
        runs.append(matmul_gflops(size, batch=batch, seconds=seconds))
        machine[key] = statistics.median(runs)


def _run_model(name: str, left_s: float, smoke: bool, params: dict[str, Any] | None) -> dict:
    """One run of one model in a subprocess (killed after ``left_s`` seconds)."""
    if left_s < 30:
        return {"model": name, "status": "not run: deadline reached"}
    if smoke and name in PEERS and name not in SMOKE_PEERS:
        return {"model": name, "status": "not run: smoke mode skips this peer"}
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        tmp_path = Path(tmp.name)
    cmd = [sys.executable, __file__, "--one", name, "--one-out", str(tmp_path)]
    if smoke:
        cmd.append("--smoke")
    if params:
        cmd += ["--params", f"{name}={json.dumps(params)}"]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, timeout=left_s, capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            res = {**json.loads(tmp_path.read_text()), "status": "ok"}
        else:
            res = {"model": name, "status": f"failed rc={proc.returncode}",
                   "stderr_tail": proc.stderr[-2000:]}
    except subprocess.TimeoutExpired:
        res = {"model": name, "status": f"killed at the deadline after {left_s:.0f} s"}
    finally:
        tmp_path.unlink(missing_ok=True)
    res["wall_seconds_total"] = time.perf_counter() - t0
    return res


def run_all(models: list[str], out: Path, deadline_s: float, repeats: int = 1,
            smoke: bool = False, params: dict[str, dict[str, Any]] | None = None) -> dict:
    """Run the model list ``repeats`` times, round-robin, each model in a subprocess.

    The matmul rate is measured before every repeat. Every run is kept in
    ``doc["runs"][name]`` and summarized in ``doc["models"][name]`` (see :func:`summarize`);
    the document is rewritten after every run. Runs that would start within 30 s of the
    deadline (counted from the start of the whole run) are recorded as not run.
    """
    import platform

    import torch

    params = params or {}
    start = time.time()
    doc: dict[str, Any] = {
        "started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start)),
        "command": " ".join(sys.argv),
        "machine": {
            "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "gomp_spincount": os.environ.get("GOMP_SPINCOUNT"),
        },
        "repeats": repeats,
        "smoke": smoke,
        "params": params,
        "note": (f"{repeats} round-robin repeat(s); models[name] is the successful run with "
                 "the median fit time, its 'repeats' lists every successful run's metrics "
                 "(the report prints their medians); runs[name] holds every run"
                 + ("; SMOKE RUN: tiny data and 2 epochs, the numbers mean nothing"
                    if smoke else "")),
        "models": {},
        "runs": {name: [] for name in models},
    }
    matmul_s = SMOKE_MATMUL_SECONDS if smoke else MATMUL_SECONDS
    for repeat in range(1, repeats + 1):
        if deadline_s - (time.time() - start) >= 30:
            _measure_matmul(doc["machine"], matmul_s)
            _write(out, doc)
        for name in models:
            left = deadline_s - (time.time() - start)
            run = {**_run_model(name, left, smoke, params.get(name)), "repeat": repeat}
            doc["runs"][name].append(run)
            doc["models"][name] = summarize(doc["runs"][name])
            _write(out, doc)
    doc["finished_utc"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    _write(out, doc)
    return doc


# ---------------------------------------------------------------------------- report


def _fmt(v, spec=".3f"):
    return "n/a" if v is None else format(v, spec)


def _ge(a, b) -> bool:
    """``a >= b``, False when either is missing."""
    return a is not None and b is not None and a >= b


def _best(values) -> float | None:
    """Largest of the values that are not None (None if there are none)."""
    return max((v for v in values if v is not None), default=None)


def medians(r: dict) -> dict[str, Any]:
    """Median of every METRICS number over a model's successful runs ({} if none).

    Documents written before ``--repeats`` existed have no ``repeats``: their one run counts.
    """
    if r.get("status") != "ok":
        return {}
    reps = r.get("repeats") or {}
    return {key: _median(reps[key] if key in reps else [get(r)])
            for key, get in METRICS.items()}


def _runs_text(r: dict) -> str:
    """Successful runs, as "k" or "k/n" when some runs failed."""
    reps = r.get("repeats")
    if not reps:
        return "1" if r.get("status") == "ok" else "0"
    n_ok, n_runs = reps["n_ok"], reps["n_runs"]
    return str(n_ok) if n_ok == n_runs else f"{n_ok}/{n_runs}"


def _matmul_text(machine: dict, key: str, label: str) -> str:
    runs = machine.get(f"{key}_runs") or []
    spread = (f", median of {len(runs)}: " + ", ".join(f"{v:.1f}" for v in runs)
              if len(runs) > 1 else "")
    return f"{_fmt(machine.get(key), '.1f')} GFLOP/s ({label}{spread})"


def _main_row(name: str, r: dict) -> str:
    """A model's row of the main table (medians over its successful runs)."""
    runs = _runs_text(r)
    if r.get("status") != "ok":
        return f"| {name} | {runs} | {r.get('status')} |" + " |" * 9
    m = medians(r)
    mino = r.get("sample_minority", {})
    if m["minority_rows_per_s"] is None:
        mtxt = mino.get("status", "n/a")
    else:
        mtxt = _fmt(m["minority_rows_per_s"], ",.0f")
        if mino.get("method", "").startswith("rejection"):
            mtxt += " (rejection)"
    return (f"| {name} | {runs} | {_fmt(m['fit_seconds'], '.1f')} | "
            f"{_fmt(m['sample_rows_per_s'], ',.0f')} | {mtxt} | "
            f"{_fmt(m['minority_ratio'], '.2f')} | {_fmt(m['peak_rss_mb'], '.0f')} | "
            f"{_fmt(m['column_shapes'])} | {_fmt(m['pair_trends'])} | "
            f"{_fmt(m['detection'])} | {_fmt(m['tstr_auc'])} | {_fmt(m['tstr_f1'])} |")


def _throughput_row(name: str, r: dict,
                    shares: dict[str, dict[str, float | None]]) -> str:
    """A synthpipe model's row of the measured-throughput table (``shares``: per basis of
    SHARE_BASES, this model's training and sampling shares)."""
    if name == "ctgan":
        return f"| {name} | not measured: trains inside the ctgan package |" + " |" * 10
    tf = _get(r, "info", "training_flops") or {}
    m = medians(r)
    if not tf and m.get("sampling_gflops") is None:
        return f"| {name} | not measured |" + " |" * 10
    step = tf.get("flops_per_step")
    cells = [str(tf.get("batch_size", "n/a")), str(tf.get("steps", "n/a")),
             _fmt(step / 1e9 if step is not None else None)]
    for kind, key in (("training", "train_gflops"), ("sampling", "sampling_gflops")):
        cells.append(_fmt(m[key], ".2f"))
        cells += [_fmt(shares[basis].get(kind), ".1%") for basis in SHARE_BASES]
    return f"| {name} | " + " | ".join(cells) + " |"


def report(doc: dict) -> str:
    """Markdown tables (and the target checks) from a results document."""
    m = doc["machine"]
    lines = [
        f"Machine: {m['cpu_count']} cores, torch {m['torch']}, torch threads "
        f"{m['torch_threads']}, OMP_WAIT_POLICY={m['omp_wait_policy']}, "
        f"GOMP_SPINCOUNT={m.get('gomp_spincount')}; float32 matmul "
        f"{_matmul_text(m, 'matmul_gflops_1024', '1024x1024')}, "
        f"{_matmul_text(m, 'matmul_gflops_4096x256x256', '4096x256 @ 256x256')}.",
    ]
    if doc.get("smoke"):
        lines.append("SMOKE RUN (tiny data, 2 epochs): the numbers below mean nothing.")
    lines += [
        "",
        "Medians over each model's successful runs (column \"runs\").",
        "",
        "| model | runs | fit s | sample rows/s | minority rows/s | minority/uncond "
        "| peak RSS MB | shapes | pairs | detection AUC | TSTR AUC | TSTR F1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ref = None
    for name, r in doc["models"].items():
        lines.append(_main_row(name, r))
        if r.get("status") == "ok":
            ref = medians(r)
    if ref is not None:
        lines.append(
            f"| real holdout (reference) | | | | | | | "
            f"{_fmt(ref['holdout_column_shapes'])} | {_fmt(ref['holdout_pair_trends'])} | "
            f"{_fmt(ref['holdout_detection'])} | {_fmt(ref['real_tstr_auc'])} | "
            f"{_fmt(ref['real_tstr_f1'])} |"
        )
    shares = {basis: _shares(doc, basis) for basis in SHARE_BASES}
    lines += [
        "",
        "Measured throughput (FlopCounterMode: matmul/conv FLOPs; batch, steps and GFLOP/step "
        "of the median-fit-time run; GFLOP/s are medians over the whole fit and the sampling "
        "measurement). Shares of the 1024x1024 matmul rate: \"run\" divides by the run's "
        "median rate, timed once per repeat before the models; \"adjacent\" is the median "
        "over runs of each run's rate divided by the matmul rate timed in the same process "
        "just before its fit and just after its sampling; \"paired\" is the median over runs "
        "of the median share of that run's paired windows (training steps or sampling, each "
        "between two matmul timings seconds apart):",
        "",
        "| model | batch | steps | GFLOP/step | train GFLOP/s | train share (run) "
        "| train share (adjacent) | train share (paired) | sampling GFLOP/s "
        "| sampling share (run) | sampling share (adjacent) | sampling share (paired) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in doc["models"].items():
        if is_ours(name) and r.get("status") == "ok":
            lines.append(_throughput_row(
                name, r, {basis: shares[basis].get(name, {}) for basis in SHARE_BASES}))
    return "\n".join(lines + [""] + target_checks(doc))


SHARE_BASES = ("run", "adjacent", "paired")


def _shares(doc: dict, basis: str = "run") -> dict[str, dict[str, float | None]]:
    """Training and sampling FLOP/s shares of our torch models:
    ``{model: {"training": share, "sampling": share}}``.

    ``run``: the median GFLOP/s over the run's median 1024x1024 matmul rate (timed once per
    repeat, before the models); ``adjacent``: the median over runs of each run's GFLOP/s
    over the matmul rate timed in its own process around it; ``paired``: the median over
    runs of each run's median paired-window share (:func:`_paired_shares`). Older results
    without those timings give None."""
    rate = doc["machine"].get("matmul_gflops_1024")
    out = {}
    for name in [k for k in doc["models"] if is_ours(k)]:
        m = medians(doc["models"].get(name, {}))
        if not m:
            continue
        if basis != "run":
            out[name] = {"training": m.get(f"train_share_{basis}"),
                         "sampling": m.get(f"sampling_share_{basis}")}
            continue
        out[name] = {kind: (m[key] / rate if m[key] is not None and rate else None)
                     for kind, key in (("training", "train_gflops"),
                                       ("sampling", "sampling_gflops"))}
    return out


def _share_verdict(share: dict[str, float | None]) -> str:
    """Efficiency verdict: MET when training and sampling both reach EFFICIENCY_TARGET."""
    parts, failed, missing = [], [], []
    for kind in ("training", "sampling"):
        value = share.get(kind)
        if value is None:
            parts.append(f"{kind} not measured")
            missing.append(kind)
        else:
            parts.append(f"{kind} {value:.0%}")
            if value < EFFICIENCY_TARGET:
                failed.append(kind)
    if failed:
        verdict = f"NOT MET ({' and '.join(failed)} below {EFFICIENCY_TARGET:.0%})"
    elif missing:
        verdict = f"not checked ({' and '.join(missing)} not measured)"
    else:
        verdict = "MET"
    return f"FLOP/s share {', '.join(parts)} -> {verdict}"


def target_checks(doc: dict) -> list[str]:
    """The three targets (speed against SDV TVAE, quality, efficiency; see
    docs/choosing-a-model.md and docs/cpu-efficiency.md), from the measured medians only."""
    med = {k: medians(r) for k, r in doc["models"].items() if r.get("status") == "ok"}
    ours = {k: m for k, m in med.items() if is_ours(k)}
    sdv = {k: m for k, m in med.items() if k.startswith("sdv_")}
    lines = ["Target checks (computed from this run's medians):", ""]
    if not ours:
        return lines + ["- no synthpipe model finished: no check possible"]

    if sdv:
        best_shape = _best(m["column_shapes"] for m in sdv.values())
        best_auc = _best(m["tstr_auc"] for m in sdv.values())
        lines.append(f"- speed: SDV's best column shapes {_fmt(best_shape)}, best TSTR AUC "
                     f"{_fmt(best_auc)} (SDV models finished: {', '.join(sdv)}).")
        tvae_fit = sdv.get("sdv_tvae", {}).get("fit_seconds")
        reach = {k: m for k, m in ours.items()
                 if _ge(m["column_shapes"], best_shape) and _ge(m["tstr_auc"], best_auc)}
        for k, m in ours.items():
            rel = (f", {m['fit_seconds'] / tvae_fit:.2f}x SDV TVAE's fit time"
                   if tvae_fit else "")
            lines.append(
                f"  - {k}: shapes {_fmt(m['column_shapes'])} "
                f"({'>=' if _ge(m['column_shapes'], best_shape) else '<'} SDV best), TSTR AUC "
                f"{_fmt(m['tstr_auc'])} ({'>=' if _ge(m['tstr_auc'], best_auc) else '<'} "
                f"SDV best), fit {m['fit_seconds']:.1f} s{rel}")
        if not reach:
            lines.append("  - NOT MET: no synthpipe model reaches both of SDV's best scores.")
        elif tvae_fit is None:
            lines.append(f"  - reached by {', '.join(reach)}; SDV TVAE did not finish, so the "
                         "fit-time ratio is not measured.")
        else:
            fastest = min(reach, key=lambda k: reach[k]["fit_seconds"])
            ratio = reach[fastest]["fit_seconds"] / tvae_fit
            verdict = "MET" if ratio <= 0.1 else "NOT MET (quality reached, time ratio > 0.1)"
            lines.append(f"  - {verdict}: fastest model reaching both is {fastest}, "
                         f"{ratio:.2f}x SDV TVAE's fit time (target <= 0.10).")
    else:
        lines.append("- speed: no SDV model finished: not measured.")
    lines.append("- quality (shapes >= 0.97, pairs >= 0.95, detection AUC <= 0.70):")
    for k, m in ours.items():
        checks = [_ge(m["column_shapes"], 0.97), _ge(m["pair_trends"], 0.95),
                  _ge(0.70, m["detection"])]
        lines.append(f"  - {k}: shapes {_fmt(m['column_shapes'])} "
                     f"{'ok' if checks[0] else 'miss'}, pairs {_fmt(m['pair_trends'])} "
                     f"{'ok' if checks[1] else 'miss'}, detection {_fmt(m['detection'])} "
                     f"{'ok' if checks[2] else 'miss'} -> "
                     f"{'MET' if all(checks) else 'NOT MET'}")
    shares = {basis: _shares(doc, basis) for basis in SHARE_BASES}
    lines.append(f"- efficiency (measured training and sampling GFLOP/s each >= "
                 f"{EFFICIENCY_TARGET:.0%} of the 1024 matmul rate, against the run's rate, "
                 "the adjacent rate and in paired windows; minority >= 0.5x unconditional "
                 "rows/s):")
    for k, m in ours.items():
        ratio = m["minority_ratio"]
        ratio_txt = (f"{ratio:.2f} {'MET' if ratio >= 0.5 else 'NOT MET'}"
                     if ratio is not None else "not measured")
        verdicts = "; ".join(f"{basis} {_share_verdict(shares[basis].get(k, {}))}"
                             for basis in SHARE_BASES)
        lines.append(f"  - {k}: {verdicts}; minority/unconditional {ratio_txt}")
    return lines


# ---------------------------------------------------------------------------- command line


def _param_item(text: str) -> tuple[str, dict[str, Any]]:
    """Parse one ``--params NAME=JSON`` value (a synthpipe model and a JSON object)."""
    name, sep, raw = text.partition("=")
    if not sep or not is_ours(name):
        raise argparse.ArgumentTypeError(
            f"expected NAME=JSON with NAME one of {', '.join(OURS)}, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{name}: invalid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{name}: expected a JSON object, got {raw!r}")
    return name, value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=ALL_MODELS, type=model_name,
                        help="models to run; OURS@EPOCHS (e.g. flow@20) is a budget variant")
    parser.add_argument("--out", type=Path, default=None,
                        help="results JSON (default docs/results/models.json; with --smoke a "
                        "file in the temp folder, so a smoke run keeps real results)")
    parser.add_argument("--deadline-seconds", type=float, default=3600.0,
                        help="stop the whole run (and kill a running model) after this long")
    parser.add_argument("--repeats", type=_positive_int, default=1,
                        help="run the model list this many times, round-robin")
    parser.add_argument("--params", type=_param_item, action="append", default=[],
                        metavar="NAME=JSON",
                        help="constructor overrides for a synthpipe model, e.g. "
                             "tvae='{\"epochs\": 50}' (repeatable)")
    parser.add_argument("--smoke", action="store_true",
                        help="seconds-long check of the script: tiny data, 2 epochs")
    parser.add_argument("--report", action="store_true",
                        help="print markdown tables from --out instead of running")
    parser.add_argument("--one", type=model_name, help=argparse.SUPPRESS)
    parser.add_argument("--one-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.out is None:
        args.out = (Path(tempfile.gettempdir()) / "bench_models_smoke.json" if args.smoke
                    else OUT)
    params: dict[str, dict[str, Any]] = {}
    for name, value in args.params:
        params.setdefault(name, {}).update(value)
    if args.one:
        run_one(args.one, args.one_out, smoke=args.smoke, params=params.get(args.one))
        return
    if args.report:
        sys.stdout.write(report(json.loads(args.out.read_text())) + "\n")
        return
    doc = run_all(args.models, args.out, args.deadline_seconds, repeats=args.repeats,
                  smoke=args.smoke, params=params)
    sys.stdout.write(report(doc) + "\n")


if __name__ == "__main__":
    main()
