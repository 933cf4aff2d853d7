"""manifest.json: every field built from the run's parts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from synthpipe.config import SAMPLE_TABLE, load_config
from synthpipe.metadata import ColumnKind, ColumnMeta, TableMetadata
from synthpipe.pipeline.candidates import Candidate
from synthpipe.pipeline.manifest import RECORDED_PACKAGES, build_manifest
from synthpipe.pipeline.plan import RunPlan
from synthpipe.pipeline.steps.input import Ingested
from synthpipe.pipeline.steps.protect import Protected


class StubModel:
    device_ = "cpu"

    def get_params(self) -> dict:
        return {"epochs": 3, "class_balance": 0.5}


STARTED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _manifest(cfg=None, output=None, model=None, **plan_fields) -> dict:
    cfg = cfg or load_config(None, table=SAMPLE_TABLE, target="fraud", model_name="auto",
                             models=["tvae", "flow"])
    df = pd.DataFrame({"claim_id": [1, 2, 3], "name": list("abc"), "amount": [1.0, 2.0, 3.0],
                       "fraud": ["Y", "N", "N"]})
    kinds = {"claim_id": ColumnKind.ID, "name": ColumnKind.CATEGORICAL,
             "amount": ColumnKind.NUMERICAL, "fraud": ColumnKind.CATEGORICAL}
    meta = TableMetadata({c: ColumnMeta(c, k, str(df[c].dtype)) for c, k in kinds.items()})
    ing = Ingested(df=df, path="/data/claims.csv", sha256="f00d", metadata=meta)
    prot = Protected(df=df, actions={"name": "fake"}, findings=[{"column": "name"}],
                     action_log=[{"column": "name", "action": "fake"}])
    plan = RunPlan(**{
        "candidates": ("tvae", "flow"), "columns": ("amount", "fraud"),
        "class_counts": {"N": 2, "Y": 1}, "counts": None, "n_rows": 7, "chunks": ((7, None),),
        **plan_fields,
    })
    published = pd.DataFrame({"claim_id": [9], "name": ["z"], "amount": [1.0], "fraud": ["N"]})
    best = Candidate(
        name="flow", model_path="/models/flow", synthetic=published, published=published,
        plan={"mode": "unconditional", "rows": 7}, metrics={}, suite_report={}, suite_json={},
        verdict={}, cache_key="flow-123",
    )
    return build_manifest(
        cfg=cfg, plan=plan, ing=ing, prot=prot, train_rows=2, holdout_rows=1, best=best,
        model=model or StubModel(), output=published if output is None else output,
        verdict={"publishable": False, "failed": ["mia_auc"], "checks": []},
        timings={"ingest": 0.5}, started=STARTED,
    )


def test_the_manifest_records_input_rows_and_columns():
    m = _manifest()
    assert m["input"] == {"path": "/data/claims.csv", "sha256": "f00d", "rows": 3, "columns": 4}
    assert m["rows"] == {"input": 3, "train": 2, "holdout": 1, "synthetic": 7, "published": 1}
    by_name = {c["name"]: c for c in m["columns"]}
    assert list(by_name) == ["claim_id", "name", "amount", "fraud"]
    assert by_name["name"]["action"] == "fake" and not by_name["name"]["modelled"]
    assert by_name["claim_id"]["action"] == "regenerate" and not by_name["claim_id"]["modelled"]
    assert by_name["amount"]["action"] == "keep" and by_name["amount"]["modelled"]
    assert by_name["fraud"]["kind"] == "categorical"
    assert m["output_columns"] == ["claim_id", "name", "amount", "fraud"]


def test_a_chunked_output_counts_the_planned_rows():
    assert _manifest(output=Path("/tmp/parts"))["rows"]["published"] == 7


def test_the_manifest_records_the_chosen_model_and_its_origin():
    m = _manifest()
    assert m["model"] == {
        "name": "flow", "requested": "auto", "candidates": ["tvae", "flow"],
        "cache_key": "flow-123", "params": {"epochs": 3, "class_balance": 0.5}, "device": "cpu",
    }
    assert m["sampling"] == {"mode": "unconditional", "rows": 7}
    assert m["pii"] == {"findings": [{"column": "name"}],
                        "actions": [{"column": "name", "action": "fake"}]}


def test_a_model_without_a_device_reports_the_configured_one():
    class NoDevice:
        def get_params(self) -> dict:
            return {}

    assert _manifest(model=NoDevice())["model"]["device"] == "auto"


def test_the_manifest_records_config_versions_verdict_and_times():
    m = _manifest()
    assert m["config"]["target"] == "fraud" and m["seed"] == m["config"]["seed"]
    assert set(RECORDED_PACKAGES) | {"python"} == set(m["versions"])
    assert m["synthpipe_version"] == m["versions"]["synthpipe"]
    assert m["gates"] == {"publishable": False, "failed": ["mia_auc"]}
    assert m["approval"] is None  # publish marks an awaiting run, finalize the decision
    assert m["timings_seconds"] == {"ingest": 0.5}
    assert m["created_at"] == STARTED.isoformat()
    assert datetime.fromisoformat(m["finished_at"]) > STARTED
    assert isinstance(m["user"], str) and m["user"]


def test_the_output_mode_follows_the_rebalance_spec():
    assert _manifest()["output_mode"] == "synthetic"
    cfg = load_config(None, table=SAMPLE_TABLE, target="fraud", rebalance="0.5",
                      rebalance_mode="augment")
    assert _manifest(cfg=cfg)["output_mode"] == "augment"
