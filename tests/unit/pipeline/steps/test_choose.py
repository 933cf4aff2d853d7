"""``--rebalance auto``: the share with the best fraud-model PR-AUC, unless within noise."""

from __future__ import annotations

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


def test_auto_is_for_the_synthetic_mode():
    with pytest.raises(ConfigError, match="augment mode needs a share"):
        load_config(None, target="is_fraud", rebalance="auto", rebalance_mode="augment")
    assert load_config(None, target="is_fraud", rebalance="auto").rebalance.spec == "auto"


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
        return {"pr_auc": scores[float(synthetic["x"].iloc[0])], "recall_at_1pct_fpr": 0.0}
    return judge


CHOICE = {"spec": "0.3", "natural_share": 0.06}


def test_a_guidance_scale_is_kept_only_for_a_clear_gain():
    from synthpipe.pipeline.steps.choose import _choose_guidance

    model = _Guided()
    clear = _judge_by_scale({1.0: 0.40, 1.5: 0.40 + AUTO_MIN_GAIN + 0.01, 2.0: 0.35})
    out = _choose_guidance(model, CHOICE, {"Y": 30, "N": 470}, 500, "fraud", 0, clear)
    assert out["guidance_scale"] == 1.5
    assert [t["guidance_scale"] for t in out["guidance"]] == [1.0, 1.5, 2.0]
    assert model.guidance_scale == 1.0  # the judge's model is left as it was
    noise = _judge_by_scale({1.0: 0.40, 1.5: 0.40 + AUTO_MIN_GAIN / 2, 2.0: 0.39})
    assert _choose_guidance(model, CHOICE, {"Y": 30, "N": 470}, 500, "fraud", 0,
                            noise)["guidance_scale"] is None


def test_a_model_without_label_dropout_is_not_guided():
    from synthpipe.pipeline.steps.choose import _choose_guidance

    model = _Guided(p_uncond=0.0)
    out = _choose_guidance(model, CHOICE, {"Y": 30, "N": 470}, 500, "fraud", 0,
                           _judge_by_scale({}))
    assert out == {"guidance_scale": None, "guidance": []} and model.seen == []
