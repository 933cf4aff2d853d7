"""Bad input: a clear one-line error, exit code 2, and no output folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def _run(cli, tmp_path, table, *extra):
    out = tmp_path / "out"
    result = cli("run", "--table", table, "--epochs", "1", "--out", out, *extra)
    return result, out


def _frame(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"x": rng.normal(size=n), "c": rng.choice(["a", "b"], n), "y": rng.choice(["Y", "N"], n)}
    )


def _assert_clean_failure(result, out, *words):
    assert result.exit_code == 2, result.output
    assert "error:" in result.output
    for w in words:
        assert w in result.output, result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_missing_file(cli, tmp_path):
    result, out = _run(cli, tmp_path, tmp_path / "nope.parquet")
    _assert_clean_failure(result, out, "does not exist")


def test_corrupt_parquet(cli, tmp_path):
    p = tmp_path / "bad.parquet"
    p.write_bytes(b"PAR1garbagegarbage")
    result, out = _run(cli, tmp_path, p)
    _assert_clean_failure(result, out, "could not be read")


def test_empty_table(cli, tmp_path):
    p = tmp_path / "empty.parquet"
    _frame().iloc[:0].to_parquet(p)
    result, out = _run(cli, tmp_path, p)
    _assert_clean_failure(result, out, "no rows")


def test_target_absent(cli, tmp_path):
    p = tmp_path / "t.parquet"
    _frame().to_parquet(p)
    result, out = _run(cli, tmp_path, p, "--target", "label")
    _assert_clean_failure(result, out, "'label'", "not in the table")


def test_target_one_class(cli, tmp_path):
    p = tmp_path / "t.parquet"
    _frame().assign(y="Y").to_parquet(p)
    result, out = _run(cli, tmp_path, p, "--target", "y")
    _assert_clean_failure(result, out, "1 distinct value")


def test_all_null_column(cli, tmp_path):
    p = tmp_path / "t.parquet"
    _frame().assign(empty=pd.Series([None] * 200, dtype="float64")).to_parquet(p)
    result, out = _run(cli, tmp_path, p)
    _assert_clean_failure(result, out, "empty")


def test_nested_list_column(cli, tmp_path):
    p = tmp_path / "t.parquet"
    _frame().assign(tags=[[1, 2]] * 200).to_parquet(p)
    result, out = _run(cli, tmp_path, p)
    _assert_clean_failure(result, out, "tags", "nested")


def test_unknown_model(cli, tmp_path):
    p = tmp_path / "t.parquet"
    _frame().to_parquet(p)
    result, out = _run(cli, tmp_path, p, "--model", "gpt")
    _assert_clean_failure(result, out, "gpt")


@pytest.mark.slow
def test_huge_categorical_is_an_identifier(cli, tmp_path):
    """300,000 distinct labels: treated as an identifier, never one-hot encoded."""
    n = 300_000
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "code": np.char.add("K", rng.permutation(n).astype(str)),
            "x": rng.normal(size=n),
            "y": rng.choice(["Y", "N"], n, p=[0.1, 0.9]),
        }
    )
    p = tmp_path / "big.parquet"
    df.to_parquet(p)
    out = tmp_path / "out"
    result = cli("run", "--table", p, "--target", "y", "--epochs", "1", "--rows", "1000",
                 "--out", out)
    assert result.exit_code in (0, 3), result.output
    manifest = (out / "manifest.json").read_text()
    assert '"kind": "id"' in manifest
    synth_path = next(out.rglob("synthetic.parquet"))
    synth = pd.read_parquet(synth_path)
    assert synth["code"].is_unique and not set(synth["code"]) & set(df["code"])


def test_pseudonymize_without_key_refuses(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("SYNTHPIPE_PII_KEY", raising=False)
    p = tmp_path / "t.parquet"
    _frame().assign(email=[f"user{i}@example.com" for i in range(200)]).to_parquet(p)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("pii:\n  policies: {email: pseudonymize}\n")
    result, out = _run(cli, tmp_path, p, "--config", cfg)
    _assert_clean_failure(result, out, "SYNTHPIPE_PII_KEY")


def test_out_is_an_existing_file(cli, tmp_path):
    p = tmp_path / "t.parquet"
    _frame().to_parquet(p)
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    result = cli("run", "--table", p, "--epochs", "1", "--out", taken)
    _assert_clean_failure(result, tmp_path / "nothing", str(taken), "is a file", "--out")
    assert taken.read_text() == "not a folder"


@pytest.mark.parametrize("out", ["/proc/x/run", "/proc/run"])
def test_out_cannot_be_written_fails_before_training(cli, tmp_path, out):
    p = tmp_path / "t.parquet"
    _frame().to_parquet(p)
    result = cli("run", "--table", p, "--epochs", "1", "--out", out)
    _assert_clean_failure(result, tmp_path / "nothing", out, "cannot be written", "--out")
    assert "training" not in result.output and "sampling" not in result.output


def test_missing_metadata_file(cli, tmp_path):
    p = tmp_path / "t.parquet"
    _frame().to_parquet(p)
    result, out = _run(cli, tmp_path, p, "--metadata", tmp_path / "kinds.yaml")
    _assert_clean_failure(result, out, "kinds.yaml", "does not exist")


def test_infinite_numbers_are_refused_with_the_fix(cli, tmp_path):
    df = _frame().astype({"x": object})
    df.loc[[3, 10], "x"] = ["inf", "-inf"]
    p = tmp_path / "t.csv"
    df.to_csv(p, index=False)
    result, out = _run(cli, tmp_path, p)
    _assert_clean_failure(result, out, "column 'x'", "2 infinite numbers", "rows 4, 11",
                          "--na-values=inf --na-values=-inf")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_numbers_beyond_float32_are_refused_with_the_reason(cli, tmp_path, suffix):
    df = _frame()
    df.loc[[20, 30], "x"] = [1e308, -1e308]
    p = tmp_path / f"t{suffix}"
    df.to_csv(p, index=False) if suffix == ".csv" else df.to_parquet(p)
    result, out = _run(cli, tmp_path, p)
    _assert_clean_failure(result, out, "column 'x'", "2 numbers beyond", "float32",
                          "rows 21, 31")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_duplicated_column_names_are_refused(cli, tmp_path, suffix):
    """A second 'age' column held policy numbers; read as 'age.1' it was modelled and copied."""
    df = _frame()
    df.insert(1, "age", np.arange(200) % 60 + 18)
    df["age2"] = np.arange(500_000, 500_200)
    p = tmp_path / f"t{suffix}"
    if suffix == ".csv":
        p.write_text(df.to_csv(index=False).replace("age2", "age", 1))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        names = [("age" if c == "age2" else c) for c in df.columns]
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False).rename_columns(names), p)
    result, out = _run(cli, tmp_path, p)
    _assert_clean_failure(result, out, "duplicated column names", "'age' (columns 2, 5)")
