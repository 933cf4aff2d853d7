"""The run plan: columns, class counts and chunks, from the config and the training split."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from synthpipe.config import AUTO_CANDIDATES, SAMPLE_TABLE, load_config
from synthpipe.errors import ConfigError
from synthpipe.metadata import ColumnKind, ColumnMeta, TableMetadata
from synthpipe.pipeline.plan import RunPlan, _split_exact, chunk_plan, make_plan


@pytest.mark.parametrize(
    ("n_rows", "chunk_rows", "counts"),
    [
        (2500, 1000, {"Y": 1250, "N": 1250}),
        (10_001, 1000, {"a": 7, "b": 3_333, "c": 6_661}),
        (999, 100, {0: 1, 1: 998}),
        (5, 2, {"x": 2, "y": 2, "z": 1}),
    ],
)
def test_chunks_keep_every_class_total_exact(n_rows, chunk_rows, counts):
    chunks = chunk_plan(n_rows, chunk_rows, counts)
    assert sum(rows for rows, _ in chunks) == n_rows
    for cls, total in counts.items():
        assert sum(part[cls] for _, part in chunks) == total
    for rows, part in chunks:
        assert rows == sum(part.values()) and rows <= chunk_rows
        assert all(n >= 0 for n in part.values())


@pytest.mark.parametrize(("n_rows", "chunk_rows"), [(2500, 1000), (10_001, 1000), (7, 3), (9, 3)])
def test_chunk_sizes_differ_by_at_most_one(n_rows, chunk_rows):
    sizes = [rows for rows, _ in chunk_plan(n_rows, chunk_rows, None)]
    assert len(sizes) == -(-n_rows // chunk_rows)
    assert max(sizes) - min(sizes) <= 1
    assert sum(sizes) == n_rows


def test_class_counts_are_split_in_proportion():
    chunks = chunk_plan(3000, 1000, {"Y": 600, "N": 2400})
    assert [part for _, part in chunks] == [{"Y": 200, "N": 800}] * 3


def test_without_classes_chunks_carry_no_counts_and_a_small_output_is_one_chunk():
    assert chunk_plan(2500, 1000, None) == [(834, None), (833, None), (833, None)]
    assert chunk_plan(10, 1000, {"Y": 4, "N": 6}) == [(10, {"Y": 4, "N": 6})]


def test_the_split_takes_largest_remainders_and_breaks_ties_in_order():
    assert _split_exact({"a": 1, "b": 1, "c": 1}, 2) == {"a": 1, "b": 1, "c": 0}
    assert _split_exact({"a": 1, "b": 4}, 2) == {"a": 0, "b": 2}  # remainders 0.4 and 0.6
    assert _split_exact({"a": 5, "b": 5}, 10) == {"a": 5, "b": 5}


def _meta() -> TableMetadata:
    kinds = {
        "claim_id": ColumnKind.ID,
        "amount": ColumnKind.NUMERICAL,
        "name": ColumnKind.CATEGORICAL,
        "agent": ColumnKind.CATEGORICAL,
        "notes": ColumnKind.TEXT,
        "fraud": ColumnKind.CATEGORICAL,
    }
    return TableMetadata({c: ColumnMeta(c, k, "object") for c, k in kinds.items()})


def _train(n_fraud: int = 10, n_ok: int = 90) -> pd.DataFrame:
    n = n_fraud + n_ok
    return pd.DataFrame({
        "claim_id": range(n),
        "amount": [float(i) for i in range(n)],
        "name": ["x"] * n,
        "agent": ["a"] * n,
        "notes": ["t"] * n,
        "fraud": ["Y"] * n_fraud + ["N"] * n_ok,
    })


ACTIONS = {"name": "fake", "agent": "pseudonymize"}


def test_without_a_target_the_output_is_as_large_as_the_training_split():
    plan = make_plan(load_config(None, table=SAMPLE_TABLE), _meta(), ACTIONS, _train())
    assert plan.columns == ("amount", "agent", "fraud")  # no id, text or faked name
    assert plan.class_counts is None and plan.counts is None
    assert plan.n_rows == 100
    assert plan.chunks == ((100, None),)
    assert not plan.chunked


def test_with_a_target_the_plan_counts_the_training_classes():
    cfg = load_config(None, table=SAMPLE_TABLE, target="fraud", rows=40)
    plan = make_plan(cfg, _meta(), ACTIONS, _train())
    assert plan.class_counts == {"N": 90, "Y": 10}
    assert plan.counts is None  # no rebalancing: sampled unconditionally
    assert plan.n_rows == 40 and plan.chunks == ((40, None),)


def test_a_target_the_policies_would_drop_is_still_modelled():
    cfg = load_config(None, table=SAMPLE_TABLE, target="fraud")
    plan = make_plan(cfg, _meta(), {**ACTIONS, "fraud": "fake"}, _train())
    assert plan.columns[-1] == "fraud"


def test_rebalancing_plans_exact_class_counts_split_over_chunks():
    cfg = load_config(None, table=SAMPLE_TABLE, target="fraud", rebalance="0.5", rows=2500,
                      chunk_rows=1000)
    plan = make_plan(cfg, _meta(), ACTIONS, _train())
    assert plan.counts == {"N": 1250, "Y": 1250}
    assert plan.n_rows == 2500
    assert plan.chunked and len(plan.chunks) == 3
    assert sum(part["Y"] for _, part in plan.chunks) == 1250


def test_augment_mode_refuses_an_output_of_several_chunks():
    cfg = load_config(None, table=SAMPLE_TABLE, target="fraud", rebalance="0.5",
                      rebalance_mode="augment", rows=2500, chunk_rows=1000)
    with pytest.raises(ConfigError, match="augment mode"):
        make_plan(cfg, _meta(), ACTIONS, _train())


def test_augment_mode_within_one_chunk_is_planned():
    cfg = load_config(None, table=SAMPLE_TABLE, target="fraud", rebalance="0.5",
                      rebalance_mode="augment")
    assert make_plan(cfg, _meta(), ACTIONS, _train()).chunks == ((100, {"N": 50, "Y": 50}),)


def test_the_candidates_are_the_configured_model_or_every_auto_candidate():
    one = make_plan(load_config(None, table=SAMPLE_TABLE, model_name="flow"), _meta(), {},
                    _train())
    auto = make_plan(load_config(None, table=SAMPLE_TABLE, model_name="auto"), _meta(), {},
                     _train())
    assert one.candidates == ("flow",)
    assert auto.candidates == tuple(AUTO_CANDIDATES)


def test_the_plan_is_frozen():
    plan = make_plan(load_config(None, table=SAMPLE_TABLE), _meta(), {}, _train())
    assert isinstance(plan, RunPlan)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.n_rows = 5  # type: ignore[misc]
