"""Training to convergence: fidelity checks choose the weights and the stop; a time cap holds."""

from __future__ import annotations

import pytest

from synthpipe.models import base, create_model
from synthpipe.models._converge import CHECK_STEPS


@pytest.fixture
def converge_small(monkeypatch):
    """Let the 1,000-row test table converge (the product keeps small tables fixed)."""
    monkeypatch.setattr(base, "CONVERGE_MIN_ROWS", 0)


def test_a_small_table_keeps_the_fixed_default_budget(known_frame, known_metadata):
    assert len(known_frame) < base.CONVERGE_MIN_ROWS
    model = create_model("argn", hidden_dims=(16,), seed=0, patience=None)
    model.fit(known_frame.head(300), known_metadata, target="y")
    assert model.training_["budget"] == "fixed"
    assert model.training_["epochs_run"] == model.default_epochs(300)


def test_the_default_budget_checks_fidelity_and_records_why_it_stopped(known_frame,
                                                                        known_metadata,
                                                                        converge_small):
    model = create_model("argn", hidden_dims=(64,), seed=0, batch_size=100)
    model.fit(known_frame, known_metadata, target="y")
    record = model.training_
    assert record["budget"] == "converge"
    assert record["stop_reason"] in ("fidelity", "epochs", "time budget")
    checks = record["checks"]
    assert len(checks) >= 2
    # A check every CHECK_STEPS steps (rounded to epochs: 900 training rows, batches of 100).
    assert checks[1]["step"] - checks[0]["step"] == pytest.approx(CHECK_STEPS, rel=0.2)
    best = min(checks, key=lambda c: c["score"])
    assert record["best_epoch"] == best["epoch"]
    assert all(0.0 <= c["score"] <= 1.0 for c in checks)
    if record["stop_reason"] == "fidelity":
        later = [c for c in checks if c["epoch"] > best["epoch"]]
        assert len(later) >= 8 and all(c["score"] > best["score"] - 0.005 for c in later)


def test_a_fixed_epoch_budget_trains_exactly_that_long(known_frame, known_metadata):
    model = create_model("argn", epochs=3, hidden_dims=(16,), seed=0, patience=None)
    model.fit(known_frame.head(300), known_metadata, target="y")
    assert model.training_["budget"] == "fixed"
    assert model.training_["epochs_run"] == 3 and model.training_["checks"] == []


def test_the_time_budget_stops_training_and_keeps_the_best_checked_weights(known_frame,
                                                                          known_metadata,
                                                                          converge_small):
    model = create_model("tabddpm", hidden=(32, 32), num_timesteps=50, sample_steps=5,
                         seed=0, batch_size=64)
    model.fit(known_frame, known_metadata, target="y", time_budget=2.0)
    record = model.training_
    assert record["stop_reason"] == "time budget"
    assert record["epochs_run"] < record["max_epochs"]
    assert record["checks"], "a check is made when the budget ends training"
    assert record["best_epoch"] == min(record["checks"], key=lambda c: c["score"])["epoch"]
    assert len(model.sample(50, seed=1)) == 50
