"""run_pipeline: every path a run owns is checked before any work starts."""

from __future__ import annotations

import pytest

from synthpipe.config import load_config
from synthpipe.errors import ConfigError, InputError


@pytest.fixture
def no_work(monkeypatch):
    """Make reading the table (the first step with work) fail loudly if it is reached."""
    import synthpipe.pipeline.run as run

    def ingest(cfg):
        raise AssertionError("the table was read before the paths were checked")

    monkeypatch.setattr(run, "ingest", ingest)


@pytest.fixture
def table(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("x,y\n1,a\n2,b\n")
    return p


def _run(**overrides):
    from synthpipe.pipeline import run_pipeline

    return run_pipeline(load_config(None, **overrides))


def test_missing_metadata_file(no_work, table, tmp_path):
    with pytest.raises(ConfigError, match="metadata file .*kinds.yaml does not exist"):
        _run(table=table, out=tmp_path / "run", metadata=tmp_path / "kinds.yaml")


def test_invalid_metadata_file(no_work, table, tmp_path):
    (tmp_path / "kinds.json").write_text("{not json")
    with pytest.raises(ConfigError, match="kinds.json is not valid"):
        _run(table=table, out=tmp_path / "run", metadata=tmp_path / "kinds.json")


def test_missing_expectations_file(no_work, table, tmp_path):
    with pytest.raises(ConfigError, match="suite.json"):
        _run(table=table, out=tmp_path / "run", expectations=tmp_path / "suite.json")


def test_unwritable_model_cache(no_work, table, tmp_path):
    with pytest.raises(ConfigError, match="model cache .*/proc/cache.* cannot be written") as e:
        _run(table=table, out=tmp_path / "run", cache_dir="/proc/cache")
    assert "--no-cache" in e.value.hint


def test_a_run_without_cache_does_not_need_a_writable_cache(no_work, table, tmp_path):
    with pytest.raises(AssertionError, match="the table was read"):
        _run(table=table, out=tmp_path / "run", cache_dir="/proc/cache", cache=False)


def test_missing_table(no_work, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        _run(table=tmp_path / "none.csv", out=tmp_path / "run")


def test_unwritable_out(no_work, table):
    with pytest.raises(ConfigError, match="cannot be written"):
        _run(table=table, out="/proc/x/run")
