"""Orchestration at scale: caching, retries, Dask, chunked output, approval (embedded server)."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import numpy as np
import pandas as pd
import pytest

from synthpipe.config import RunConfig
from tests.integration._prefect import task_runs


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(5)
    n = 600
    df = pd.DataFrame(
        {
            "amount": rng.lognormal(7, 1, n).round(2),
            "kind": rng.choice(["a", "b", "c"], n),
            "age": rng.integers(18, 80, n),
            "label": rng.choice(["Y", "N"], n, p=[0.1, 0.9]),
        }
    )
    path = tmp_path_factory.mktemp("orch") / "small.parquet"
    df.to_parquet(path)
    return path


def _by_step(task_runs):
    out: dict[str, list] = {}
    for t in task_runs:
        out.setdefault(t.name.rsplit("-", 1)[0], []).append(t)
    return out


def _config(table, out, **extra):
    base = {"table": str(table), "target": "label", "out": str(out),
            "model": {"name": "tvae", "epochs": 2}}
    return {**base, **extra}


def test_unchanged_rerun_is_cached_and_skips_training(prefect_harness, table, tmp_path):
    from synthpipe.orchestration import synthesize_table

    first = synthesize_table(_config(table, tmp_path / "a"), return_state=True)
    second = synthesize_table(_config(table, tmp_path / "b"), return_state=True)
    assert first.is_completed() and second.is_completed()
    run1 = _by_step(task_runs(first.state_details.flow_run_id))
    run2 = _by_step(task_runs(second.state_details.flow_run_id))
    assert run1["train"][0].state.name == "Completed"
    assert run2["train"][0].state.name == "Cached"
    m1 = json.loads((tmp_path / "a" / "manifest.json").read_text())
    m2 = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert m1["model"]["cache_key"] == m2["model"]["cache_key"]
    # a changed config is a different key: trained again
    third = synthesize_table(
        _config(table, tmp_path / "c", model={"name": "tvae", "epochs": 3}), return_state=True
    )
    run3 = _by_step(task_runs(third.state_details.flow_run_id))
    assert run3["train"][0].state.name == "Completed"


def test_no_cache_trains_again_even_with_a_cached_result(prefect_harness, table, tmp_path):
    """cache=False (``--no-cache``) must train anew, not take Prefect's cached train result."""
    from synthpipe.orchestration import synthesize_table

    first = synthesize_table(_config(table, tmp_path / "a", cache=False), return_state=True)
    second = synthesize_table(_config(table, tmp_path / "b", cache=False), return_state=True)
    run1 = _by_step(task_runs(first.state_details.flow_run_id))
    run2 = _by_step(task_runs(second.state_details.flow_run_id))
    assert run1["train"][0].state.name == "Completed"
    assert run2["train"][0].state.name == "Completed"
    m2 = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert m2["timings_seconds"]["train"] > 0.05  # a real fit, not a cache lookup


def test_transient_failure_is_retried_then_surfaces(prefect_harness, table, tmp_path, monkeypatch):
    import synthpipe.orchestration as orch
    from synthpipe.pipeline import run as pipeline_run

    calls = {"n": 0}

    def flaky_ingest(cfg):
        calls["n"] += 1
        raise OSError("storage hiccup while reading")

    # Patched where run_pipeline looks it up.
    monkeypatch.setattr(pipeline_run, "ingest", flaky_ingest)
    monkeypatch.setitem(orch.TASK_OPTIONS, "ingest",
                        {**orch.TASK_OPTIONS["ingest"], "retry_delay_seconds": 0})
    state = orch.synthesize_table(_config(table, tmp_path / "o"), return_state=True)
    assert state.is_failed()
    assert calls["n"] == 3  # the first try and two retries
    assert "storage hiccup" in str(state.result(raise_on_failure=False))
    runs = _by_step(task_runs(state.state_details.flow_run_id))
    assert runs["ingest"][0].run_count == 3
    assert not (tmp_path / "o").exists()


def test_bad_input_is_not_retried(prefect_harness, tmp_path):
    from synthpipe.orchestration import synthesize_table

    state = synthesize_table(
        {"table": str(tmp_path / "missing.csv"), "out": str(tmp_path / "o")}, return_state=True
    )
    assert state.is_failed()
    assert "missing.csv" in str(state.result(raise_on_failure=False))
    # The paths are checked before any step: no task ran, so none was retried.
    runs = _by_step(task_runs(state.state_details.flow_run_id))
    assert "ingest" not in runs
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_dask_runner_trains_two_models_in_parallel(prefect_harness, table, tmp_path):
    from synthpipe.orchestration import synthesize_table

    cfg = _config(
        table, tmp_path / "run", runner="dask", dask_workers=2,
        model={"name": "auto", "epochs": 60}, models=["tvae", "flow"], cache=False,
    )
    state = synthesize_table(cfg, return_state=True)
    assert state.is_completed(), state.message
    subflow_runs = _dask_subflowtask_runs(state.state_details.flow_run_id)
    trains = subflow_runs["train"]
    assert len(trains) == 2
    starts = [t.start_time for t in trains]
    ends = [t.end_time for t in trains]
    assert max(starts) < min(ends), "the two trainings did not overlap"
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {m["name"] for m in metrics["candidates"]["models"]} == {"tvae", "flow"}
    assert metrics["candidates"]["chosen"] in {"tvae", "flow"}


@pytest.mark.slow
def test_local_runner_trains_auto_candidates_one_after_another(prefect_harness, table, tmp_path):
    """In one process, two trainings side by side would oversubscribe the cores (each uses all
    of them): the local runner trains the candidates in turn, each still a Prefect task."""
    from synthpipe.orchestration import synthesize_table

    cfg = _config(table, tmp_path / "run", model={"name": "auto", "epochs": 3},
                  models=["tvae", "flow"], cache=False)
    state = synthesize_table(cfg, return_state=True)
    assert state.is_completed(), state.message
    trains = sorted(_by_step(task_runs(state.state_details.flow_run_id))["train"],
                    key=lambda t: t.start_time)
    assert len(trains) == 2 and all(t.state.is_completed() for t in trains)
    assert trains[0].end_time <= trains[1].start_time, "the two trainings overlapped"


def test_local_dask_workers_start_with_their_share_of_the_cores():
    """The worker processes really get OMP_NUM_THREADS (distributed's Nanny ``env``)."""
    from distributed import Client, LocalCluster

    from synthpipe.dask_runner import local_cluster_kwargs

    api = "http://127.0.0.1:4200/api"
    with LocalCluster(**local_cluster_kwargs(2, cores=2, api_url=api)) as cluster, Client(
            cluster) as client:
        seen = client.run(lambda: (__import__("os").environ.get("OMP_NUM_THREADS"),
                                   __import__("os").environ.get("PREFECT_API_URL")))
    assert sorted(seen.values()) == [("1", api), ("1", api)]


def _dask_subflowtask_runs(parent_flow_run_id):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    async def fetch():
        async with get_client() as client:
            children = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent_flow_run_id])
                )
            )
            return children

    children = asyncio.run(fetch())
    assert len(children) == 1
    return _by_step(task_runs(children[0].id))


def test_chunked_sampling_writes_an_exact_partitioned_dataset(table, tmp_path):
    from synthpipe.pipeline import run_pipeline

    # An id column whose fakes are drawn per part: 3,500 five-digit ids in four parts would
    # repeat across parts (~60 expected) unless the output is made unique afterwards.
    src = pd.read_parquet(table)
    ids = np.random.default_rng(1).choice(100_000, len(src), replace=False)
    src.insert(0, "policy_id", [f"P-{i:05d}" for i in ids])
    with_ids = tmp_path / "with_ids.parquet"
    src.to_parquet(with_ids)
    cfg = RunConfig(
        table=with_ids, target="label", out=tmp_path / "big", rows=3500, chunk_rows=1000,
        rebalance={"spec": "0.3"}, model={"name": "tvae", "epochs": 2}, cache=False,
    )
    result = run_pipeline(cfg)
    folder = result.synthetic_path
    assert folder.is_dir() and folder.name == "synthetic"
    parts = sorted(folder.glob("part-*.parquet"))
    assert len(parts) == 4
    data = pd.read_parquet(folder)
    assert len(data) == 3500
    assert data["label"].value_counts().to_dict() == {"N": 2450, "Y": 1050}
    assert max(len(pd.read_parquet(p)) for p in parts) <= 1000
    assert data["policy_id"].is_unique and data["policy_id"].str.fullmatch(r"P-\d{5}").all()
    assert not data["policy_id"].isin(set(src["policy_id"])).any()
    manifest = json.loads((result.out_dir / "manifest.json").read_text())
    assert manifest["rows"]["synthetic"] == 3500
    assert any(k.startswith("synthetic/part-") for k in manifest["outputs"])
    assert not list(tmp_path.glob(".big.parts"))  # the staging folder is gone


@pytest.mark.parametrize("approve", [True, False])
def test_steward_decides_a_paused_run_on_its_report(prefect_harness, table, tmp_path, approve):
    """The flow pauses once the report exists; the steward's decision from the shell
    (``send_decision``, what ``synthpipe approve|reject`` calls) resumes it; the folder is
    finalized by the flow and its review log verifies."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from synthpipe.orchestration import synthesize_table
    from synthpipe.report.review import verify_reviews
    from synthpipe.steward import send_decision

    out = tmp_path / "run"
    box = {}

    def run():
        box["state"] = synthesize_table(
            _config(table, out, approval="required"), return_state=True
        )

    thread = threading.Thread(target=run)
    thread.start()
    flow_run_id = _wait_for_paused_run()
    # the evidence exists before the pause: the report, and the table held back
    pending = json.loads((out / "manifest.json").read_text())
    assert pending["verdict"] == "awaiting_approval"
    assert pending["prefect"]["flow_run_id"] == str(flow_run_id)
    assert (out / "report.html").is_file() and (out / "pending" / "synthetic.parquet").is_file()
    artifacts = _read(lambda c: c.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
    ))
    [link] = [a for a in artifacts if a.key == "synthpipe-report"]  # a markdown link
    assert (out / "report.html").resolve().as_uri() in str(link.data)

    decided = send_decision(out, "approve" if approve else "reject", "dana",
                            "checked the report", wait=240)
    thread.join(timeout=300)
    assert decided["how"] == "resumed" and decided["entry"]["by"] == "dana"
    # A rejection quarantines the dataset: the run ends Failed("Quarantined").
    assert box["state"].is_completed() == approve
    assert box["state"].name == ("Completed" if approve else "Quarantined")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["approval"]["by"] == "dana"
    assert manifest["approval"]["decision"] == ("approved" if approve else "rejected")
    assert manifest["approval"]["review_entry"] == decided["entry"]["entry_hash"]
    assert (out / "synthetic.parquet").exists() == approve
    assert (out / "quarantine" / "synthetic.parquet").exists() != approve
    check = verify_reviews(out)
    assert check.ok and check.entries == 1, check.problems


def _read(call):
    from prefect.client.orchestration import get_client

    async def go():
        async with get_client() as client:
            return await call(client)

    return asyncio.run(go())


def test_quarantined_run_ends_failed_naming_the_gates(prefect_harness, table, tmp_path):
    """A quarantine is a failure to the orchestrator (alerts fire), with its reason and the
    run's summary kept; the gate table and the summary are artifacts; synthpipe's INFO lines
    reach the server."""
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.client.schemas.objects import StateType

    from synthpipe.orchestration import synthesize_table

    out = tmp_path / "q"
    # No synthetic row set can have a share of 0 closer to train than to holdout.
    state = synthesize_table(_config(table, out, gates={"dcr_share_max": 0.0}), return_state=True)
    flow_run_id = state.state_details.flow_run_id
    run = _read(lambda c: c.read_flow_run(flow_run_id))
    assert run.state.type == StateType.FAILED
    assert run.state.name == "Quarantined"
    assert "failed gates" in run.state.message and "dcr_share" in run.state.message
    summary = state.result(raise_on_failure=False)
    assert summary["publishable"] is False and "dcr_share" in summary["failed_gates"]
    assert (out / "quarantine" / "synthetic.parquet").is_file()

    artifacts = _read(lambda c: c.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
    ))
    assert {"synthpipe-gates", "synthpipe-summary"} <= {a.key for a in artifacts}

    logs, deadline = [], time.time() + 20  # the API log handler sends in batches
    while time.time() < deadline:
        logs = _read(lambda c: c.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        ))
        if any("quarantined: failed gates" in entry.message for entry in logs):
            break
        time.sleep(1)
    ours = [entry for entry in logs if entry.name.startswith("synthpipe")]
    assert any(e.level == 20 and "synthesizing" in e.message for e in ours), [
        e.message for e in logs
    ]
    # a step's own line, logged inside its task run
    assert any(e.name.startswith("synthpipe.pipeline") and e.task_run_id for e in ours)
    assert any("quarantined: failed gates" in e.message for e in ours)


def _wait_for_paused_run(timeout=240):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    async def paused():
        async with get_client() as client:
            return await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
                )
            )

    deadline = time.time() + timeout
    while time.time() < deadline:
        runs = asyncio.run(paused())
        if runs:
            return runs[0].id
        time.sleep(1)
    raise AssertionError("the flow never paused for approval")


_ACTIVE = {"now": 0, "max": 0}
_LOCK = threading.Lock()


def _slow_part(i):
    with _LOCK:
        _ACTIVE["now"] += 1
        _ACTIVE["max"] = max(_ACTIVE["max"], _ACTIVE["now"])
    time.sleep(0.5)
    with _LOCK:
        _ACTIVE["now"] -= 1
    return i * 10


def test_local_parts_run_at_most_two_side_by_side(prefect_harness):
    """Mapped steps that overlap in one process (the output's parts) run in waves, so a large
    output does not hold every part in memory at once; results keep their order."""
    from prefect import flow

    from synthpipe.orchestration import LOCAL_PARALLEL_CALLS, PrefectRunner

    @flow
    def parts():
        return PrefectRunner().map("sample_chunk", _slow_part, [(i,) for i in range(5)])

    assert parts() == [0, 10, 20, 30, 40]
    assert _ACTIVE["max"] == LOCAL_PARALLEL_CALLS == 2
