"""synthpipe.config: typed configuration from files and overrides."""

from __future__ import annotations

import pytest

from synthpipe.config import SAMPLE_TABLE, PIIAction, load_config
from synthpipe.errors import ConfigError


def test_defaults_point_at_bundled_sample():
    cfg = load_config(None)
    assert cfg.table == SAMPLE_TABLE
    assert cfg.model.name == "tabddpm" and cfg.device.value == "auto"
    assert cfg.gates.mia_auc_max == 0.60


def test_file_then_overrides(tmp_path):
    p = tmp_path / "run.yaml"
    p.write_text(
        "table: data/t.csv\ntarget: y\nmodel:\n  name: flow\n  params: {hidden: 64}\n"
        "pii:\n  policies: {email: drop}\n"
    )
    cfg = load_config(p, epochs=3, model_name="tabddpm", target=None)
    assert cfg.table == (tmp_path / "data" / "t.csv").resolve()  # relative to the file
    assert cfg.target == "y"  # None overrides are ignored
    assert cfg.model.name == "tabddpm" and cfg.model.epochs == 3
    assert cfg.model.params == {"hidden": 64}
    assert cfg.pii.policies == {"email": PIIAction.DROP}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tabel: x.csv\n", "tabel"),
        ("gates:\n  mia_auc_max: 0.3\n", "mia_auc_max"),
        ("pii:\n  default_direct: keep\n", "cannot be kept by default"),
        ("- a\n- b\n", "mapping"),
    ],
)
def test_invalid_configs_are_named(tmp_path, text, message):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(p)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(("text", "seconds"), [("90", 90.0), ("90s", 90.0), ("10m", 600.0),
                                               ("1h30m", 5400.0), ("1.5h", 5400.0)])
def test_a_time_budget_is_read_as_a_duration(text, seconds):
    from synthpipe.config import load_config

    assert load_config(None, time_budget=text).model.time_budget == seconds


def test_a_time_budget_that_is_not_a_duration_is_a_config_error():
    from synthpipe.config import load_config
    from synthpipe.errors import ConfigError

    with pytest.raises(ConfigError, match="not a duration"):
        load_config(None, time_budget="ten minutes")
