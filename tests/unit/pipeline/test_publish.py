"""The run folder: never written over another run's."""

from __future__ import annotations

import pytest

from synthpipe.config import SAMPLE_TABLE, load_config
from synthpipe.errors import InputError
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
