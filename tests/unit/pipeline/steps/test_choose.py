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
