"""synthpipe.constraints: datetime order rules found in real data, kept by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthpipe.constraints import OrderConstraints
from synthpipe.metadata import detect_metadata


def _claims(n=300, seed=0):
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D")
    incident = start + pd.to_timedelta(rng.integers(1, 400, n), "D")
    report = incident + pd.to_timedelta(rng.integers(0, 60, n), "D")
    other = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D")
    return pd.DataFrame(
        {"start": start, "incident": incident, "report": report, "other": other,
         "x": rng.normal(size=n)}
    )


def test_finds_chain_and_not_unrelated_columns():
    df = _claims()
    oc = OrderConstraints().fit(df, detect_metadata(df))
    rules = {(r.column, r.anchor, r.mode) for r in oc.rules_}
    assert rules == {("incident", "start", "gap"), ("report", "incident", "gap")}


def test_clip_rule_keeps_the_column_range():
    """Policies started any time over 15 years, incidents within one year: a gap from the
    policy start would be wider than the incident's own spread, so the rule is clipped."""
    rng = np.random.default_rng(1)
    n = 300
    incident = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D")
    start = incident - pd.to_timedelta(rng.integers(1, 5500, n), "D")
    df = pd.DataFrame({"start": start, "incident": incident})
    oc = OrderConstraints().fit(df, detect_metadata(df))
    assert [(r.column, r.anchor, r.mode) for r in oc.rules_] == [("incident", "start", "clip")]
    enc = oc.transform(df)
    assert "incident" in enc.columns  # clip mode: modelled as it is
    enc.loc[:50, "incident"] = enc.loc[:50, "start"] - pd.Timedelta(days=30)  # broken rows
    back = oc.inverse_transform(enc, df.dtypes.to_dict())
    assert (back["incident"] >= back["start"]).all()
    assert (back.loc[:50, "incident"] == back.loc[:50, "start"]).all()
    assert back["incident"].max() <= df["incident"].max()


def test_round_trip_is_exact():
    df = _claims()
    oc = OrderConstraints().fit(df, detect_metadata(df))
    enc = oc.transform(df)
    assert "report" not in enc.columns and "report__gap_days" in enc.columns
    assert (enc["report__gap_days"] >= 0).all()
    back = oc.inverse_transform(enc, df.dtypes.to_dict())
    pd.testing.assert_frame_equal(back[df.columns], df)


def test_negative_gaps_are_clipped_so_rule_holds():
    df = _claims()
    oc = OrderConstraints().fit(df, detect_metadata(df))
    enc = oc.transform(df)
    enc["report__gap_days"] = -5.0  # a model that got it wrong
    back = oc.inverse_transform(enc, df.dtypes.to_dict())
    assert (back["report"] >= back["incident"]).all()


def test_a_rebuilt_date_stays_within_the_real_range():
    # The latest incident plus a long gap would pass the latest real report (the bundled
    # sample's derived suite quarantined a run for one report a month after the last real
    # one): rebuilt dates are held within the real range, never before their incident, also
    # after a save and load.
    df = _claims()
    oc = OrderConstraints().fit(df, detect_metadata(df))
    enc = oc.transform(df)
    enc["report__gap_days"] = 400.0
    for c in (oc, OrderConstraints.from_state(oc.to_state())):
        back = c.inverse_transform(enc, df.dtypes.to_dict())
        assert back["report"].max() == df["report"].max()
        assert (back["report"] >= back["incident"]).all()


def test_missing_anchor_blocks_rule_and_state_round_trips():
    df = _claims()
    df.loc[:10, "start"] = pd.NaT  # incident present where start is missing
    oc = OrderConstraints().fit(df, detect_metadata(df))
    assert {(r.column, r.anchor) for r in oc.rules_} == {("report", "incident")}
    assert oc.rules_[0].mode == "gap"
    again = OrderConstraints.from_state(oc.to_state())
    assert again.rules_ == oc.rules_


def test_every_model_keeps_the_order_rule_and_saves_it(tmp_path):
    """Synthetic rows never put a report before its incident, also after save/load."""
    from synthpipe.models import Synthesizer, get_model

    df = _claims(n=400)
    meta = detect_metadata(df)
    model = get_model("tvae")(epochs=2, seed=0).fit(df, meta)
    out = model.sample(500, seed=1)
    assert (out["report"] >= out["incident"]).all()
    assert (out["incident"] >= out["start"]).all()
    assert out["report"].dtype == df["report"].dtype
    model.save(tmp_path / "m")
    again = Synthesizer.load(tmp_path / "m")
    pd.testing.assert_frame_equal(again.sample(50, seed=2), model.sample(50, seed=2))
    assert again.constraints_.rules_ == model.constraints_.rules_
