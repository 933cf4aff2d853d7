"""``--rebalance auto``: the share with the best fraud-model PR-AUC, unless within noise."""

from __future__ import annotations

import json

import pytest

from synthpipe.config import load_config
from synthpipe.errors import ConfigError
from synthpipe.pipeline.steps.choose import AUTO_MIN_GAIN, _decide


def _tried(*scores):
    shares = [0.06, 0.1, 0.2, 0.3, 0.5]
    return [{"share": s, "natural": i == 0, "pr_auc": p, "recall_at_1pct_fpr": 0.1}
            for i, (s, p) in enumerate(zip(shares, scores, strict=False))]


def test_a_clear_gain_picks_that_share():
    choice = _decide(_tried(0.20, 0.22, 0.26, 0.24), 0.06, "Y", 600, 200)
    assert choice["spec"] == "0.2" and choice["chosen_share"] == 0.2
    assert "best fraud-model PR-AUC" in choice["why"] and len(choice["candidates"]) == 4


def test_a_gain_within_noise_keeps_the_natural_share():
    choice = _decide(_tried(0.20, 0.20 + AUTO_MIN_GAIN / 2), 0.06, "Y", 600, 200)
    assert choice["spec"] is None and choice["chosen_share"] == 0.06
    assert "within noise" in choice["why"]


def test_the_natural_share_best_is_kept():
    choice = _decide(_tried(0.30, 0.25, 0.2), 0.06, "Y", 600, 200)
    assert choice["spec"] is None and choice["why"] == "the natural share scored best"


def test_auto_serves_both_modes_and_augment_still_needs_a_spec():
    cfg = load_config(None, target="is_fraud", rebalance="auto", rebalance_mode="augment")
    assert (cfg.rebalance.spec, cfg.rebalance.mode) == ("auto", "augment")
    assert load_config(None, target="is_fraud", rebalance="auto").rebalance.spec == "auto"
    with pytest.raises(ConfigError, match="--mode augment adds synthetic minority rows"):
        load_config(None, target="is_fraud", rebalance_mode="augment")


class _Guided:
    """A stand-in generator: its sample's fraud share grows with the guidance scale, so the
    judge below can score each scale; it records the scales it sampled with."""

    def __init__(self, p_uncond: float = 0.1) -> None:
        self.p_uncond, self.guidance_scale, self.seen = p_uncond, 1.0, []

    def sample(self, n, conditions=None, seed=0, progress=None):
        import pandas as pd

        self.seen.append(self.guidance_scale)
        return pd.DataFrame({"fraud": [conditions["fraud"]] * n, "x": [self.guidance_scale] * n})


def _judge_by_scale(scores):
    def judge(synthetic):
        pr_auc = scores[float(synthetic["x"].iloc[0])]
        return {"pr_auc": pr_auc, "recall_at_1pct_fpr": 0.0}, None
    return judge


def _rows(model):
    return lambda: model.sample(50, conditions={"fraud": "Y"})


def test_a_guidance_scale_is_kept_only_for_a_clear_gain():
    from synthpipe.pipeline.steps.choose import _choose_guidance

    model = _Guided()
    clear = _judge_by_scale({1.0: 0.40, 1.5: 0.40 + AUTO_MIN_GAIN + 0.01, 2.0: 0.35})
    out = _choose_guidance(model, _rows(model), clear)
    assert out["guidance_scale"] == 1.5
    assert [t["guidance_scale"] for t in out["guidance"]] == [1.0, 1.5, 2.0]
    assert model.guidance_scale == 1.0  # the judge's model is left as it was
    noise = _judge_by_scale({1.0: 0.40, 1.5: 0.40 + AUTO_MIN_GAIN / 2, 2.0: 0.39})
    assert _choose_guidance(model, _rows(model), noise)["guidance_scale"] is None


def test_a_model_without_label_dropout_is_not_guided():
    from synthpipe.pipeline.steps.choose import _choose_guidance

    model = _Guided(p_uncond=0.0)
    out = _choose_guidance(model, _rows(model), _judge_by_scale({}))
    assert out == {"guidance_scale": None, "guidance": []} and model.seen == []


class _NoisyFrauds:
    """A stand-in generator whose fraud rows carry no fraud signal (x drawn at random)."""

    p_uncond = 0.0

    def __init__(self, **_):
        pass

    def fit(self, data, metadata, target=None, **_):
        self.columns = list(data.columns)
        return self

    def sample(self, n, conditions=None, seed=0, progress=None):
        import numpy as np
        import pandas as pd

        rng = np.random.default_rng(seed)
        label = (conditions or {}).get("fraud", "N")
        return pd.DataFrame({"x": rng.normal(0, 3, n), "fraud": [label] * n})[self.columns]


def _signal_table(n=1_200, seed=0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    fraud = rng.random(n) < 0.08
    x = np.where(fraud, rng.normal(2.5, 1, n), rng.normal(0, 1, n))
    return pd.DataFrame({"x": x, "fraud": np.where(fraud, "Y", "N")})


def test_augment_auto_keeps_the_real_rows_when_added_frauds_do_not_help(monkeypatch):
    # Added frauds that carry no signal make a worse fraud model than the real rows: augment
    # mode's auto keeps the real rows (a spec that adds no row) and says so.
    import synthpipe.models as models
    from synthpipe.metadata import detect_metadata
    from synthpipe.pipeline.steps.choose import choose_rebalance
    from synthpipe.rebalance import augment_counts

    monkeypatch.setattr(models, "create_model", lambda name, **kw: _NoisyFrauds())
    train = _signal_table()
    cfg = load_config(None, target="fraud", rebalance="auto", rebalance_mode="augment")
    choice = choose_rebalance(train, detect_metadata(train), cfg, "tvae")
    natural = next(c for c in choice["candidates"] if c["natural"])
    assert all(c["pr_auc"] <= natural["pr_auc"] + AUTO_MIN_GAIN for c in choice["candidates"])
    assert choice["mode"] == "augment" and choice["chosen_share"] == natural["share"]
    assert "no synthetic row added" in choice["why"]
    counts = train["fraud"].value_counts().to_dict()
    assert all(k == 0 for k in augment_counts(choice["spec"], counts).values())
    # In synthetic mode the same generator's natural sample (unconditional: no fraud row from
    # this stand-in) trains no fraud model, so a share that does is chosen, and why says so.
    synthetic = choose_rebalance(train, detect_metadata(train),
                                 load_config(None, target="fraud", rebalance="auto"), "tvae")
    assert synthetic["mode"] == "synthetic"
    assert not any(c["natural"] for c in synthetic["candidates"])
    assert synthetic["spec"] == str(synthetic["chosen_share"]) and "had no Y row" in \
        synthetic["why"]


def test_no_candidate_with_frauds_chooses_nothing():
    choice = _decide([], 0.06, "Y", 600, 200)
    assert choice["spec"] is None and choice["chosen_share"] is None
    assert "no candidate share" in choice["why"]


def test_a_gain_whose_interval_reaches_zero_keeps_the_natural_share():
    # +0.05 on validation, but the paired bootstrap interval of the gain reaches below zero:
    # a draw of the few dozen validation frauds, not a better share.
    tried = _tried(0.20, 0.25)
    tried[1]["gain_ci"] = [-0.01, 0.11]
    choice = _decide(tried, 0.06, "Y", 600, 200)
    assert choice["spec"] is None and "within noise" in choice["why"]
    assert "interval -0.0100 to +0.1100" in choice["why"]
    tried[1]["gain_ci"] = [0.01, 0.09]
    assert _decide(tried, 0.06, "Y", 600, 200)["spec"] == "0.1"


def test_gain_intervals_are_paired_against_the_natural_share():
    import numpy as np

    from synthpipe.pipeline.steps.choose import _gain_intervals

    rng = np.random.default_rng(0)
    y = (rng.random(2_000) < 0.1).astype(int)
    noise = rng.normal(size=2_000)
    tried = [{"share": 0.1, "natural": True, "pr_auc": 0.3},
             {"share": 0.2, "natural": False, "pr_auc": 0.9},
             {"share": 0.3, "natural": False, "pr_auc": 0.3}]
    _gain_intervals(tried, [noise + y, noise + 3 * y, noise + y + 1e-3], y, seed=0)
    assert "gain_ci" not in tried[0]  # the natural share is the reference
    json.dumps(tried)  # what the manifest records: no score arrays in it
    assert tried[1]["gain_ci"][0] > 0  # a clearly better fraud model
    low, high = tried[2]["gain_ci"]  # the same model, shifted: no gain
    assert low <= 0 <= high and high - low < 0.01
