"""synthpipe.rebalance: spec parsing and exact per-class sampling."""

from __future__ import annotations

import pandas as pd
import pytest

from synthpipe.errors import ConfigError, ModelError
from synthpipe.rebalance import plan_counts, sample_counts

COUNTS = {"N": 980, "Y": 20}


@pytest.mark.parametrize(
    ("spec", "rows", "expected"),
    [
        ("0.5", 1000, {"Y": 500, "N": 500}),
        ("0.3", 101, {"Y": 30, "N": 71}),
        ("Y=0.25,N=0.75", 400, {"Y": 100, "N": 300}),
        ("y=0.1, n=0.9", 10, {"Y": 1, "N": 9}),
        ("Y=500,N=1500", None, {"Y": 500, "N": 1500}),
        ("Y=1,N=0", 7, {"Y": 7, "N": 0}),
    ],
)
def test_exact_counts(spec, rows, expected):
    counts = plan_counts(spec, COUNTS, rows)
    assert counts == expected
    if rows is not None:
        assert sum(counts.values()) == rows


def test_multiclass_share_keeps_other_proportions():
    counts = plan_counts("0.5", {"a": 600, "b": 300, "c": 100}, n_rows=None, default_rows=1000)
    assert counts == {"c": 500, "a": 333, "b": 167}


def test_boolean_classes_by_name():
    assert plan_counts("True=3,False=5", {False: 90, True: 10}, None) == {False: 5, True: 3}


@pytest.mark.parametrize(
    ("spec", "rows", "message"),
    [
        ("Z=0.5,N=0.5", 100, "does not have"),
        ("Y=0.3,N=0.5", 100, "add up to 0.8"),
        ("Y=-5,N=10", None, "must not be negative"),
        ("1.5", 100, "strictly between"),
        ("lots", 100, "neither a share"),
        ("Y=10,N=20", 100, "--rows asks for 100"),
        ("Y=0.5,Y=0.5", 100, "twice"),
    ],
)
def test_bad_specs(spec, rows, message):
    with pytest.raises(ConfigError, match=message):
        plan_counts(spec, COUNTS, rows)


class _FakeConditional:
    """Stands in for a model: returns exactly the requested class (or lies, when told)."""

    def __init__(self, lie: bool = False):
        self.lie = lie

    def sample(self, n, conditions=None, seed=None, progress=None):
        (col, value), = conditions.items()
        values = [value] * n
        if self.lie and n > 1:
            values[0] = "other"
        return pd.DataFrame({col: values, "x": range(n)})


def test_sample_counts_exact_and_shuffled():
    out = sample_counts(_FakeConditional(), "y", {"Y": 30, "N": 70}, seed=1)
    assert out["y"].value_counts().to_dict() == {"N": 70, "Y": 30}
    assert out["y"].iloc[:30].nunique() == 2  # shuffled, not class blocks


def test_sample_counts_detects_wrong_class():
    with pytest.raises(ModelError, match="rows of class"):
        sample_counts(_FakeConditional(lie=True), "y", {"Y": 3, "N": 2})


@pytest.mark.parametrize(
    ("spec", "expected_added"),
    [
        ("0.5", {"N": 0, "Y": 960}),  # 20 real Y + 960 synthetic = 980 = N
        ("Y=0.2,N=0.8", {"N": 0, "Y": 225}),  # total 1225: 245 Y, 980 N
        ("Y=100,N=980", {"N": 0, "Y": 80}),
    ],
)
def test_augment_counts_reach_the_share_without_removing_real_rows(spec, expected_added):
    from synthpipe.rebalance import augment_counts

    added = augment_counts(spec, COUNTS)
    assert added == expected_added
    final = {c: COUNTS[c] + added[c] for c in COUNTS}
    if "=" not in spec or "." in spec:
        share_y = final["Y"] / sum(final.values())
        assert share_y == pytest.approx(0.5 if spec == "0.5" else 0.2, abs=1e-3)


def test_augment_counts_refuse_to_remove_rows():
    from synthpipe.rebalance import augment_counts

    with pytest.raises(ConfigError, match="cannot remove real rows"):
        augment_counts("Y=100,N=500", COUNTS)
    with pytest.raises(ConfigError, match="zero share"):
        augment_counts("Y=1,N=0", COUNTS)


def test_synthetic_mode_reads_a_count_spec_as_its_class_mix():
    """A count spec sizes the synthetic output; the augmented comparison table only takes its
    mix, so counts below the real class sizes are fine (they were refused before)."""
    from synthpipe.rebalance import augment_counts

    added = augment_counts("Y=30,N=60", COUNTS, mode="synthetic")
    final = {c: COUNTS[c] + added[c] for c in COUNTS}
    assert added["N"] == 0
    assert final["Y"] / sum(final.values()) == pytest.approx(1 / 3, abs=1e-3)
    # The same spec in augment mode still asks to remove real rows.
    with pytest.raises(ConfigError, match="cannot remove real rows"):
        augment_counts("Y=30,N=60", COUNTS, mode="augment")
