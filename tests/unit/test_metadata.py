"""synthpipe.metadata: column-kind detection and overrides."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthpipe.errors import ConfigError, InputError
from synthpipe.metadata import ColumnKind, TableMetadata, detect_metadata, load_overrides


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 400
    return pd.DataFrame(
        {
            "claim_id": [f"CLM-{i:06d}" for i in range(n)],
            "amount": rng.lognormal(8, 1, n),
            "age": rng.integers(18, 90, n),
            "state": rng.choice(["CA", "TX", "NY"], n),
            "rating": rng.integers(1, 4, n),
            "is_fraud": rng.random(n) < 0.1,
            "when": pd.date_range("2020-01-01", periods=n, freq="D"),
            "notes": [f"customer called about the claim number {i} twice today" for i in range(n)],
        }
    )


def test_kinds(frame):
    meta = detect_metadata(frame)
    kinds = {c: meta.kind(c) for c in frame.columns}
    assert kinds == {
        "claim_id": ColumnKind.ID,
        "amount": ColumnKind.NUMERICAL,
        "age": ColumnKind.NUMERICAL,
        "state": ColumnKind.CATEGORICAL,
        "rating": ColumnKind.CATEGORICAL,
        "is_fraud": ColumnKind.BOOLEAN,
        "when": ColumnKind.DATETIME,
        "notes": ColumnKind.TEXT,
    }
    assert meta.columns["age"].is_integer and not meta.columns["amount"].is_integer
    assert meta.modelled == ["amount", "age", "state", "rating", "is_fraud", "when"]


def test_high_cardinality_strings_are_ids_not_categories():
    n = 300_000
    df = pd.DataFrame({"code": np.char.add("k", np.arange(n).astype(str)), "x": np.zeros(n)})
    meta = detect_metadata(df)
    assert meta.kind("code") == ColumnKind.ID
    assert "code" not in meta.modelled


def test_nested_column_rejected():
    df = pd.DataFrame({"a": [[1, 2], [3], [4]], "b": [1, 2, 3]})
    with pytest.raises(InputError, match="nested or mixed"):
        detect_metadata(df)


def test_duration_column_rejected_with_a_fix():
    df = pd.DataFrame({"wait": pd.to_timedelta([1, 2, 3], unit="D"), "b": [1, 2, 3]})
    with pytest.raises(InputError, match="holds durations") as err:
        detect_metadata(df)
    assert "total_seconds" in err.value.hint


def test_overrides_win_and_round_trip(tmp_path, frame):
    path = tmp_path / "meta.json"
    path.write_text(json.dumps({"columns": {"rating": {"kind": "numerical"}}}))
    meta = detect_metadata(frame, load_overrides(path))
    assert meta.kind("rating") == ColumnKind.NUMERICAL
    assert meta.columns["rating"].reason == "declared in metadata file"
    assert TableMetadata.from_dict(meta.to_dict()).to_dict() == meta.to_dict()


def test_yaml_overrides(tmp_path, frame):
    path = tmp_path / "meta.yaml"
    path.write_text("columns:\n  state:\n    kind: id\n")
    assert detect_metadata(frame, load_overrides(path)).kind("state") == ColumnKind.ID


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"columns": {"x": {"kind": "weird"}}}', "has kind 'weird'"),
        ('{"cols": {}}', "top-level 'columns'"),
        ("{not json", "not valid"),
    ],
)
def test_bad_override_files(tmp_path, text, message):
    path = tmp_path / "m.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_overrides(path)


def test_override_unknown_column(frame):
    with pytest.raises(ConfigError, match="does not have"):
        detect_metadata(frame, {"nope": {"kind": "id"}})
