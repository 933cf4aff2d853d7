"""The run folder: never written over another run's, and checked writable before any work."""

from __future__ import annotations

import os

import pytest

from synthpipe.config import SAMPLE_TABLE, load_config
from synthpipe.errors import ConfigError, InputError
from synthpipe.pipeline.publish import default_out_dir, out_dir_for


def test_a_free_or_empty_out_folder_is_taken(tmp_path):
    assert out_dir_for(load_config(None, table=SAMPLE_TABLE, out=tmp_path / "new")) == (
        tmp_path / "new")
    (tmp_path / "empty").mkdir()
    assert out_dir_for(load_config(None, table=SAMPLE_TABLE, out=tmp_path / "empty")) == (
        tmp_path / "empty")


def test_a_folder_holding_something_is_refused(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text("{}")
    with pytest.raises(InputError, match="already exists and is not empty"):
        out_dir_for(load_config(None, table=SAMPLE_TABLE, out=tmp_path / "old"))


def test_without_out_the_folder_is_named_after_the_table_under_runs_dir(tmp_path):
    cfg = load_config(None, table=SAMPLE_TABLE, runs_dir=tmp_path)
    path = default_out_dir(cfg)
    assert path.parent == tmp_path
    assert path.name.startswith(f"{SAMPLE_TABLE.stem}-") and path.name.endswith("Z")
    assert out_dir_for(cfg).parent == tmp_path


def test_an_out_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(ConfigError, match="is a file") as err:
        out_dir_for(load_config(None, table=SAMPLE_TABLE, out=tmp_path / "taken"))
    assert str(tmp_path / "taken") in err.value.message and "--out" in err.value.hint


@pytest.mark.parametrize("out", ["/proc/x/run", "/proc/run"])
def test_an_out_folder_that_cannot_be_created_is_refused(out):
    with pytest.raises(ConfigError, match="cannot be written") as err:
        out_dir_for(load_config(None, table=SAMPLE_TABLE, out=out))
    assert out in err.value.message and "--out" in err.value.hint


def test_an_out_folder_under_a_file_is_refused(tmp_path):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        out_dir_for(load_config(None, table=SAMPLE_TABLE, out=tmp_path / "plain" / "run"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_out_folder_under_a_read_only_folder_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(ConfigError, match="cannot be written"):
            out_dir_for(load_config(None, table=SAMPLE_TABLE, out=locked / "a" / "run"))
    finally:
        locked.chmod(0o755)


def test_checking_the_out_folder_leaves_nothing_behind(tmp_path):
    out = tmp_path / "a" / "b" / "run"
    assert out_dir_for(load_config(None, table=SAMPLE_TABLE, out=out)) == out
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_runs_dir_is_refused():
    with pytest.raises(ConfigError, match="cannot be written"):
        out_dir_for(load_config(None, table=SAMPLE_TABLE, runs_dir="/proc/runs"))


def _publish_one(tmp_path, output_mode, publishable):
    import json

    import pandas as pd

    from synthpipe.pipeline.publish import publish

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    verdict = {"publishable": publishable, "checks": [], "failed": [] if publishable else ["x"]}
    if not publishable:
        verdict["checks"] = [{"name": "x", "passed": False, "severity": "block",
                              "message": "x failed", "status": "failed"}]
    result = publish(tmp_path / "run", pd.DataFrame({"a": [1, 2]}),
                     {"output_mode": output_mode}, {}, None, str(model), verdict)
    return result, json.loads((tmp_path / "run" / "manifest.json").read_text())


def test_an_augmented_table_is_named_so_and_never_called_published(tmp_path):
    result, manifest = _publish_one(tmp_path, "augment", True)
    assert result.synthetic_path == tmp_path / "run" / "augmented.parquet"
    assert result.synthetic_path.is_file() and not (tmp_path / "run" / "synthetic.parquet").exists()
    assert result.verdict == manifest["verdict"] == "secure_zone_only"


def test_a_quarantined_augmented_table_goes_under_quarantine(tmp_path):
    result, manifest = _publish_one(tmp_path, "augment", False)
    assert result.synthetic_path == tmp_path / "run" / "quarantine" / "augmented.parquet"
    assert result.verdict == manifest["verdict"] == "quarantined"


def test_a_synthetic_table_is_published(tmp_path):
    result, manifest = _publish_one(tmp_path, "synthetic", True)
    assert result.synthetic_path.name == "synthetic.parquet"
    assert result.verdict == manifest["verdict"] == "published"
