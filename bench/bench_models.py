"""Benchmark: the model zoo against SDV on adult (issue 7, "Benchmark" section).

Every model runs in its own subprocess (so its peak RSS is its own), in this order: ours
(tvae, ctgan, tabddpm, flow), SDV GaussianCopula, SDV TVAE, the ctgan package's TVAE, and SDV
CTGAN last (the slowest, so a deadline loses the least). For each: fit wall time, rows/s sampled
unconditionally and for the minority class (">50K"), peak RSS, sdmetrics column shapes and pair
trends, detection AUC (each with the real holdout's own score as reference) and
train-on-synthetic-test-on-real ROC-AUC / F1 on adult_test.csv. The run also measures the
machine's float32 matmul throughput with torch, and estimates each synthpipe torch model's
training throughput as a share of it from its Linear layer sizes.

Usage::

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/bench_models.py \
        --out docs/bench_models.json --deadline-seconds 2400

Results are written to ``--out`` after every model, so a killed run keeps what finished.
``--report`` prints markdown tables from an existing JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("SDV_DISABLE_TELEMETRY", "1")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TARGET = "income"
MINORITY = ">50K"
OURS = ["tvae", "ctgan", "tabddpm", "flow"]
PEERS = ["sdv_gaussiancopula", "sdv_tvae", "ctgan_pkg_tvae", "sdv_ctgan"]
ALL_MODELS = OURS + PEERS
HOLDOUT_SHARE = 0.2
MINORITY_ROWS = 5000
# SDV conditional sampling (and rejection sampling for ctgan's TVAE) gets this long at most.
CONDITIONAL_LIMIT_S = 60.0


class _Timeout(Exception):
    """Raised by the SIGALRM handler when a sampling call runs past its limit."""


def _alarm(_signum, _frame):
    raise _Timeout


def load_data(seed: int = 0):
    """Adult train/holdout split (80/20, seeded), the real test set and detected metadata."""
    from synthpipe.io import read_table
    from synthpipe.metadata import detect_metadata

    df = read_table(SHARED / "adult.csv")
    test = read_table(SHARED / "adult_test.csv")
    metadata = detect_metadata(df)
    holdout = df.sample(frac=HOLDOUT_SHARE, random_state=seed)
    train = df.drop(index=holdout.index).reset_index(drop=True)
    return train, holdout.reset_index(drop=True), test, metadata


def matmul_gflops(size: int = 1024, batch: int | None = None, seconds: float = 3.0) -> float:
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


def _linear_macs(modules) -> int:
    """Multiply-adds per row through every Linear layer of ``modules``."""
    import torch

    total = 0
    for module in modules:
        for layer in module.modules():
            if isinstance(layer, torch.nn.Linear):
                total += layer.in_features * layer.out_features
    return total


def _fit_ours(name: str, train, metadata):
    from synthpipe.models import create_model

    model = create_model(name, seed=0)
    t0 = time.perf_counter()
    model.fit(train, metadata, target=TARGET)
    fit_s = time.perf_counter() - t0

    def sample(n):
        return model.sample(n, seed=1)

    def sample_minority(n):
        out = model.sample(n, conditions={TARGET: MINORITY}, seed=2)
        return out, "native conditional sampling"

    info: dict[str, Any] = {
        "epochs": getattr(model, "epochs_", None),
        "batch_size": getattr(model, "batch_size_", None),
    }
    result = getattr(model, "train_result_", None)
    if result is not None:
        info["epochs_run"] = result.epochs_run
        info["train_loop_seconds"] = result.seconds
    if name != "ctgan":
        # CTGAN trains inside the ctgan package (discriminator not exposed): not estimated.
        info["linear_macs_per_row"] = _linear_macs(model._modules().values())
    return fit_s, sample, sample_minority, info


def _sdv_frame(out):
    """SDV 2.0 returns {table: DataFrame}; older versions a DataFrame."""
    if isinstance(out, dict):
        return next(iter(out.values()))
    return out


def _fit_sdv(name: str, train, metadata):
    from sdv.metadata import Metadata
    from sdv.sampling import Condition
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


def run_one(name: str, out_path: Path) -> None:
    """Fit, time, sample and evaluate one model; write its result JSON to ``out_path``."""
    import torch

    from synthpipe.evaluation import fidelity_report, utility_report
    from synthpipe.evaluation.utility import jsonable

    res: dict[str, Any] = {"model": name, "torch_threads": torch.get_num_threads(),
                           "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}
    train, holdout, test, metadata = load_data()
    res["rows"] = {"train": len(train), "holdout": len(holdout), "test": len(test)}
    if name in OURS:
        fitter = _fit_ours
    elif name.startswith("sdv_"):
        fitter = _fit_sdv
    else:
        fitter = _fit_ctgan_pkg_tvae
    fit_s, sample, sample_minority, info = fitter(name, train, metadata)
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
    res["fidelity"] = fid
    res["utility"] = util
    res["peak_rss_mb_with_eval"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out_path.write_text(json.dumps(jsonable(res), indent=2))


def _write(out: Path, doc: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2))


def run_all(models: list[str], out: Path, deadline_s: float) -> dict:
    """Run each model in a subprocess in order, stopping children that pass the deadline."""
    import platform

    import torch

    start = time.time()
    doc: dict[str, Any] = {
        "started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start)),
        "command": " ".join(sys.argv),
        "machine": {
            "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        },
        "note": "single run; the machine was shared with a concurrent test suite run",
        "models": {},
    }
    doc["machine"]["matmul_gflops_1024"] = matmul_gflops(1024)
    doc["machine"]["matmul_gflops_4096x256x256"] = matmul_gflops(256, batch=4096)
    _write(out, doc)
    for name in models:
        left = deadline_s - (time.time() - start)
        if left < 30:
            doc["models"][name] = {"model": name, "status": "not run: deadline reached"}
            _write(out, doc)
            continue
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            tmp_path = Path(tmp.name)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--one", name, "--one-out", str(tmp_path)],
                timeout=left, capture_output=True, text=True, check=False,
            )
            if proc.returncode == 0:
                doc["models"][name] = {**json.loads(tmp_path.read_text()), "status": "ok"}
            else:
                doc["models"][name] = {"model": name, "status": f"failed rc={proc.returncode}",
                                       "stderr_tail": proc.stderr[-2000:]}
        except subprocess.TimeoutExpired:
            doc["models"][name] = {"model": name,
                                   "status": f"killed at the deadline after {left:.0f} s"}
        doc["models"][name]["wall_seconds_total"] = time.perf_counter() - t0
        tmp_path.unlink(missing_ok=True)
        _write(out, doc)
    doc["finished_utc"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    _write(out, doc)
    return doc


def _fmt(v, spec=".3f"):
    return "n/a" if v is None else format(v, spec)


def _metric(res: dict, report: str, key: str, which: str):
    try:
        return res[report][key][which]
    except (KeyError, TypeError):
        return None


def _tstr(res: dict, metric: str, which: str = "synthetic"):
    try:
        return res["utility"]["metrics"][metric][which]
    except (KeyError, TypeError):
        return None


def report(doc: dict) -> str:
    """Markdown tables (and the issue's target checks) from a results document."""
    m = doc["machine"]
    lines = [
        f"Machine: {m['cpu_count']} cores, torch {m['torch']}, torch threads "
        f"{m['torch_threads']}, OMP_WAIT_POLICY={m['omp_wait_policy']}; float32 matmul "
        f"{m['matmul_gflops_1024']:.1f} GFLOP/s (1024x1024), "
        f"{m['matmul_gflops_4096x256x256']:.1f} GFLOP/s (4096x256 @ 256x256).",
        "",
        "| model | fit s | sample rows/s | minority rows/s | minority/uncond | peak RSS MB "
        "| shapes | pairs | detection AUC | TSTR AUC | TSTR F1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ref = None
    for name, r in doc["models"].items():
        if r.get("status") != "ok":
            lines.append(f"| {name} | {r.get('status')} |" + " |" * 10)
            continue
        ref = r
        unc = r["sample_unconditional"]["rows_per_s"]
        mino = r["sample_minority"]
        mrate = mino.get("rows_per_s")
        mtxt = _fmt(mrate, ",.0f") if mrate is not None else mino["status"]
        if mrate is not None and mino.get("method", "").startswith("rejection"):
            mtxt += " (rejection)"
        ratio = _fmt(mrate / unc, ".2f") if mrate is not None else "n/a"
        lines.append(
            f"| {name} | {r['fit_seconds']:.1f} | {unc:,.0f} | {mtxt} | {ratio} | "
            f"{r['peak_rss_mb_fit_sample']:.0f} | "
            f"{_fmt(_metric(r, 'fidelity', 'column_shapes', 'synthetic'))} | "
            f"{_fmt(_metric(r, 'fidelity', 'pair_trends', 'synthetic'))} | "
            f"{_fmt(_metric(r, 'fidelity', 'detection', 'synthetic'))} | "
            f"{_fmt(_tstr(r, 'roc_auc'))} | {_fmt(_tstr(r, 'f1'))} |"
        )
    if ref is not None:
        lines.append(
            f"| real holdout (reference) | | | | | | "
            f"{_fmt(_metric(ref, 'fidelity', 'column_shapes', 'holdout'))} | "
            f"{_fmt(_metric(ref, 'fidelity', 'pair_trends', 'holdout'))} | "
            f"{_fmt(_metric(ref, 'fidelity', 'detection', 'holdout'))} | "
            f"{_fmt(_tstr(ref, 'roc_auc', 'real'))} | {_fmt(_tstr(ref, 'f1', 'real'))} |"
        )
    lines += ["", "| model | epochs run | train loop s | Linear MACs/row | est. train GFLOP/s "
              "| share of 1024 matmul |", "|---|---|---|---|---|---|"]
    for name, r in doc["models"].items():
        if r.get("status") != "ok" or name not in OURS:
            continue
        info = r["info"]
        macs, secs = info.get("linear_macs_per_row"), info.get("train_loop_seconds")
        epochs = info.get("epochs_run")
        if macs and secs and epochs:
            # forward + backward ~ 3 forward passes of 2 FLOPs per multiply-add, every train
            # row once per epoch; Linear layers only, so this is a lower bound on the work.
            flops = 6.0 * macs * epochs * r["rows"]["train"]
            gf = flops / secs / 1e9
            lines.append(f"| {name} | {epochs} | {secs:.1f} | {macs:,} | {gf:.2f} | "
                         f"{gf / m['matmul_gflops_1024']:.1%} |")
        else:
            lines.append(f"| {name} | {_fmt(epochs, 'd') if epochs else 'n/a'} | "
                         f"{_fmt(secs, '.1f')} | {_fmt(macs, ',') if macs else 'n/a'} "
                         "| not measured | not measured |")
    return "\n".join(lines + [""] + target_checks(doc))


def _shares(doc: dict) -> dict[str, float]:
    """Estimated training GFLOP/s of our torch models as a share of the 1024 matmul rate."""
    out = {}
    for name in OURS:
        r = doc["models"].get(name, {})
        if r.get("status") != "ok":
            continue
        info = r["info"]
        macs, secs = info.get("linear_macs_per_row"), info.get("train_loop_seconds")
        epochs = info.get("epochs_run")
        if macs and secs and epochs:
            gf = 6.0 * macs * epochs * r["rows"]["train"] / secs / 1e9
            out[name] = gf / doc["machine"]["matmul_gflops_1024"]
    return out


def target_checks(doc: dict) -> list[str]:
    """The issue's three targets, computed from the measured numbers only."""
    ok = {k: r for k, r in doc["models"].items() if r.get("status") == "ok"}
    ours = {k: r for k, r in ok.items() if k in OURS}
    sdv = {k: r for k, r in ok.items() if k.startswith("sdv_")}
    lines = ["Target checks (computed from this run):", ""]
    if not ours:
        return lines + ["- no synthpipe model finished: no check possible"]

    def shapes(r):
        return _metric(r, "fidelity", "column_shapes", "synthetic")

    def pairs(r):
        return _metric(r, "fidelity", "pair_trends", "synthetic")

    def det(r):
        return _metric(r, "fidelity", "detection", "synthetic")

    if sdv:
        best_shape = max(shapes(r) for r in sdv.values())
        best_auc = max(_tstr(r, "roc_auc") for r in sdv.values())
        lines.append(f"- speed: SDV's best column shapes {best_shape:.3f}, best TSTR AUC "
                     f"{best_auc:.3f} (SDV models finished: {', '.join(sdv)}).")
        tvae_fit = sdv["sdv_tvae"]["fit_seconds"] if "sdv_tvae" in sdv else None
        reach = {k: r for k, r in ours.items()
                 if shapes(r) >= best_shape and _tstr(r, "roc_auc") >= best_auc}
        for k, r in ours.items():
            rel = (f", {r['fit_seconds'] / tvae_fit:.2f}x SDV TVAE's fit time"
                   if tvae_fit else "")
            lines.append(f"  - {k}: shapes {shapes(r):.3f} "
                         f"({'>=' if shapes(r) >= best_shape else '<'} SDV best), TSTR AUC "
                         f"{_tstr(r, 'roc_auc'):.3f} "
                         f"({'>=' if _tstr(r, 'roc_auc') >= best_auc else '<'} SDV best), "
                         f"fit {r['fit_seconds']:.1f} s{rel}")
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
    for k, r in ours.items():
        checks = [shapes(r) >= 0.97, pairs(r) >= 0.95, det(r) <= 0.70]
        lines.append(f"  - {k}: shapes {shapes(r):.3f} {'ok' if checks[0] else 'miss'}, "
                     f"pairs {pairs(r):.3f} {'ok' if checks[1] else 'miss'}, detection "
                     f"{det(r):.3f} {'ok' if checks[2] else 'miss'} -> "
                     f"{'MET' if all(checks) else 'NOT MET'}")
    shares = _shares(doc)
    lines.append("- efficiency (training >= 50% of matmul throughput; minority >= 0.5x "
                 "unconditional rows/s):")
    for k, r in ours.items():
        share = shares.get(k)
        unc = r["sample_unconditional"]["rows_per_s"]
        mrate = r["sample_minority"].get("rows_per_s")
        ratio = mrate / unc if mrate else None
        share_txt = (f"{share:.0%} {'MET' if share >= 0.5 else 'NOT MET'}"
                     if share is not None else "not measured")
        ratio_txt = (f"{ratio:.2f} {'MET' if ratio >= 0.5 else 'NOT MET'}"
                     if ratio is not None else "not measured")
        lines.append(f"  - {k}: training share {share_txt}; minority/unconditional {ratio_txt}")
    return lines


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=ALL_MODELS, choices=ALL_MODELS)
    parser.add_argument("--out", type=Path, default=Path("docs/bench_models.json"))
    parser.add_argument("--deadline-seconds", type=float, default=3600.0,
                        help="stop (and kill a running model) after this many seconds")
    parser.add_argument("--report", action="store_true",
                        help="print markdown tables from --out instead of running")
    parser.add_argument("--one", choices=ALL_MODELS, help=argparse.SUPPRESS)
    parser.add_argument("--one-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.one_out)
        return
    if args.report:
        sys.stdout.write(report(json.loads(args.out.read_text())) + "\n")
        return
    doc = run_all(args.models, args.out, args.deadline_seconds)
    sys.stdout.write(report(doc) + "\n")


if __name__ == "__main__":
    main()
