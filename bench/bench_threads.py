"""Benchmark: how torch's OpenMP threads wait between ops, and what it costs a training step.

Answers the thread settings part of docs/cpu-efficiency.md.

torch runs each CPU op of a training step in an OpenMP parallel region; a small table model
runs hundreds of them per step, microseconds apart. Between regions libgomp's threads either
spin (burning a core, ready at once) or sleep (a wake-up per region). synthpipe sets
``GOMP_SPINCOUNT=3000`` (bounded spinning) unless the user chose a policy; this script measures
that choice against the alternatives, on adult (../shared/data/adult.csv):

- ``passive``: ``OMP_WAIT_POLICY=PASSIVE`` (sleep at once: a wake-up per region);
- ``spin3000``: ``GOMP_SPINCOUNT=3000`` (synthpipe's default);
- ``spin10000``, ``spin30000``: in between;
- ``spin300000``: ``GOMP_SPINCOUNT=300000`` (libgomp's own default when no policy is set);
- ``one_thread``: ``OMP_NUM_THREADS=1`` (no parallel regions at all).

Scenarios: ``alone`` (one training process) and ``pair`` (two training processes at once, as
when ``--model auto`` trains candidates side by side or another job shares the machine). Each
measurement is a fresh subprocess that fits the model for a few epochs through synthpipe's real
training loop and reports milliseconds per optimizer step (loop wall time / steps); the
statistic is the median over ``--repeats`` runs, and the report gives each setting's ratio to
the fastest setting of the same model and scenario, measured in the same run.

Usage (the second command is the one behind docs/results/threads.json)::

    python bench/bench_threads.py --repeats 3          # every model and setting
    python bench/bench_threads.py --models tvae tabddpm \
        --settings spin3000 spin10000 spin30000 spin300000 one_thread --repeats 3
    python bench/bench_threads.py --report             # the table of docs/results/threads.json

Writes ``--out`` (default ``docs/results/threads.json``) after every repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from synthpipe.io import write_json

SETTINGS: dict[str, dict[str, str]] = {
    "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
    "spin3000": {"GOMP_SPINCOUNT": "3000"},
    "spin10000": {"GOMP_SPINCOUNT": "10000"},
    "spin30000": {"GOMP_SPINCOUNT": "30000"},
    "spin300000": {"GOMP_SPINCOUNT": "300000"},
    "one_thread": {"OMP_NUM_THREADS": "1"},
}
SCENARIOS = ("alone", "pair")
MODELS = {"tvae": 3, "tabddpm": 3, "flow": 2}  # model: epochs per measurement
REPO = Path(__file__).resolve().parents[1]

# The child: fit on adult for a few epochs, print ms per optimizer step as JSON.
_CHILD = """
import json, sys
sys.path.insert(0, {bench!r})
import bench_models as bm
from synthpipe.models import create_model
train, _, _, metadata = bm.load_data(seed=0)
model = create_model({model!r}, seed=0, epochs={epochs})
rec = {{}}
with bm._training_flops(rec):  # steps and loop wall time of the real loop
    model.fit(train, metadata, target=bm.TARGET)
print(json.dumps({{"ms_per_step": rec["train_loop_seconds"] / rec["steps"] * 1e3,
                  "steps": rec["steps"], "gflops": rec["train_gflops"]}}))
"""


def _child_env(setting: str) -> dict[str, str]:
    """This environment without any setting's variables, plus ``setting``'s (telemetry is
    turned off by the child's import of bench_models)."""
    ours = {key for values in SETTINGS.values() for key in values}
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env.update(SETTINGS[setting])
    return env


def measure(model: str, setting: str, scenario: str) -> float:
    """One measurement: ms per optimizer step (the mean of the two processes of a pair)."""
    code = _CHILD.format(bench=str(REPO / "bench"), model=model, epochs=MODELS[model])
    n = 2 if scenario == "pair" else 1
    procs = [subprocess.Popen([sys.executable, "-c", code], env=_child_env(setting),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for _ in range(n)]
    outs = [p.communicate()[0] for p in procs]
    for p in procs:
        if p.returncode:
            raise RuntimeError(f"{model} {setting} {scenario}: child failed ({p.returncode})")
    values = [json.loads(o.strip().splitlines()[-1])["ms_per_step"] for o in outs]
    return statistics.mean(values)


def run(out: Path, repeats: int, models: list[str], settings: list[str]) -> dict[str, Any]:
    doc: dict[str, Any] = {"command": " ".join(sys.argv), "cpu_count": os.cpu_count(),
                           "repeats": repeats, "settings": settings, "results": {}}
    # Round-robin over settings within each repeat, so drift on a shared machine hits all.
    for rep in range(repeats):
        for model in models:
            for scenario in SCENARIOS:
                for setting in settings:
                    ms = measure(model, setting, scenario)
                    cell = doc["results"].setdefault(model, {}).setdefault(scenario, {})
                    cell.setdefault(setting, []).append(ms)
                    print(f"repeat {rep + 1}: {model} {scenario} {setting}: {ms:.1f} ms/step",
                          flush=True)
        write_json(doc, out)  # after every repeat, atomically: a killed run keeps the last
    return doc


def report(doc: dict[str, Any]) -> str:
    """Markdown table: median ms/step per setting, and its ratio to the fastest setting."""
    settings = doc.get("settings", ["passive", "spin3000", "spin300000", "one_thread"])
    head = "| model | scenario | " + " | ".join(settings) + " |"
    lines = [f"{doc['cpu_count']} cores; median ms per training step of {doc['repeats']} "
             "runs (ratio to the fastest setting of the row).", "", head,
             "|" + "---|" * (2 + len(settings))]
    for model, scenarios in doc["results"].items():
        for scenario, cells in scenarios.items():
            med = {s: statistics.median(v) for s, v in cells.items()}
            best = min(med.values())
            row = [f"{med[s]:.1f} ({med[s] / best:.2f}x)" if s in med else "" for s in settings]
            lines.append(f"| {model} | {scenario} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "results" / "threads.json",
                    help="results JSON (default docs/results/threads.json)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    ap.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    ap.add_argument("--report", action="store_true", help="print the table from --out")
    args = ap.parse_args()
    if args.report:
        print(report(json.loads(args.out.read_text())))
        return
    print(report(run(args.out, args.repeats, args.models, args.settings)))


if __name__ == "__main__":
    main()
