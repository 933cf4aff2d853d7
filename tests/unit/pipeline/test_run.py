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


# ----------------------------------------------------------------------------- temp folders


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """A temp folder of this test only, as tempfile's default: what a run leaves is visible."""
    import tempfile

    folder = tmp_path / "systmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _ours(folder):
    """synthpipe's entries in ``folder`` (torch keeps its own compile cache there)."""
    return [p.name for p in folder.iterdir() if p.name.startswith(("synthpipe", ".synthpipe"))]


def _small_table(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 200
    p = tmp_path / "t.parquet"
    pd.DataFrame({"amount": rng.gamma(2.0, 100.0, n).round(2),
                  "region": rng.choice(["north", "south", "east"], n),
                  "fraud": rng.choice(["Y", "N"], n, p=[0.2, 0.8])}).to_parquet(p)
    return p


def _no_cache_cfg(tmp_path, **overrides):
    from synthpipe.config import GateConfig, ModelConfig, RunConfig

    gates = overrides.pop("gates", GateConfig())
    return RunConfig(table=_small_table(tmp_path), out=tmp_path / "run", cache=False,
                     model=ModelConfig(name="tvae", epochs=1), gates=gates, **overrides)


@pytest.mark.slow
def test_a_no_cache_run_leaves_no_model_copy_in_tmp(tmp_path, private_tmp):
    from synthpipe.pipeline import run_pipeline

    result = run_pipeline(_no_cache_cfg(tmp_path))
    assert (result.out_dir / "model" / "config.json").is_file()
    assert _ours(private_tmp) == []


@pytest.mark.slow
def test_a_quarantined_no_cache_run_leaves_no_model_copy_in_tmp(tmp_path, private_tmp):
    from synthpipe.config import GateConfig
    from synthpipe.pipeline import run_pipeline

    result = run_pipeline(_no_cache_cfg(tmp_path, gates=GateConfig(dcr_share_max=0.0)))
    assert not result.publishable
    assert _ours(private_tmp) == []


@pytest.mark.slow
def test_a_failed_no_cache_run_leaves_no_model_copy_and_no_parts(tmp_path, private_tmp,
                                                                 monkeypatch):
    import synthpipe.pipeline.run as run

    def publish(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(run, "publish", publish)
    cfg = _no_cache_cfg(tmp_path, rows=2_500, chunk_rows=1_000)
    with pytest.raises(OSError, match="disk full"):
        run.run_pipeline(cfg)
    assert _ours(private_tmp) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["systmp", "t.parquet"]


# ----------------------------------------------------------------------------- rare labels


@pytest.mark.slow
def test_rare_labels_are_reported_and_never_published(tmp_path):
    import numpy as np
    import pandas as pd

    from synthpipe.config import ModelConfig, RunConfig
    from synthpipe.metadata import RARE_PLACEHOLDER
    from synthpipe.pipeline import run_pipeline

    rng = np.random.default_rng(0)
    n = 400
    branch = rng.choice(["north", "south", "east"], n).astype(object)
    branch[:24] = [f"outpost-{i}" for i in range(12)] * 2  # twelve labels of two rows each
    p = tmp_path / "t.parquet"
    pd.DataFrame({"branch": branch, "amount": rng.gamma(2.0, 50.0, n).round(2),
                  "fraud": rng.choice(["Y", "N"], n, p=[0.2, 0.8])}).to_parquet(p)
    cfg = RunConfig(table=p, out=tmp_path / "run", cache=False, target="fraud",
                    model=ModelConfig(name="tvae", epochs=1))
    result = run_pipeline(cfg)
    rare = result.metrics["rare_labels"]["branch"]
    assert rare["labels_merged"] == 12 and rare["decoded_as"] == "a kept label"
    assert 0 < rare["share_of_cells"] <= 24 / 320  # of the training split's cells
    synthetic = pd.read_parquet(result.synthetic_path)
    assert set(synthetic["branch"].dropna()) <= {"north", "south", "east"}
    assert RARE_PLACEHOLDER not in set(synthetic["branch"].dropna())


def test_suites_are_named_after_the_table_and_the_run(tmp_path):
    # Suites of several runs must not collide in one GX context.
    import json

    from synthpipe.config import SAMPLE_TABLE, load_config
    from synthpipe.pipeline import run_pipeline

    out = tmp_path / "nightly-7"
    result = run_pipeline(load_config(None, table=SAMPLE_TABLE, target="is_fraud", epochs=1,
                                      rows=300, out=out, cache=False))
    metrics = json.loads(result.metrics_path.read_text())
    assert metrics["synthetic_suite"]["suite_name"] == "claims-nightly-7-derived"
    suite = json.loads((out / "expectations" / "synthetic_suite.json").read_text())
    assert suite["name"] == "claims-nightly-7-derived"
