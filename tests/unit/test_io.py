"""synthpipe.io: reading tables, atomic writes, hashes."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from synthpipe.errors import InputError
from synthpipe.io import (
    atomic_path,
    read_table,
    sha256_file,
    sha256_table,
    write_json,
    write_table,
)


def test_csv_missing_markers_and_literal_none(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b,c,_c3\n1,None,?,\n2,x,,\n")
    df = read_table(p)
    assert list(df.columns) == ["a", "b", "c"]  # empty trailing column dropped
    assert df["b"].tolist() == ["None", "x"]  # the literal string stays a label
    assert df["c"].isna().all()  # "?" and "" are missing


def test_csv_extra_na_values(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b\n1,N/A\n2,y\n")
    assert read_table(p)["b"].tolist() == ["N/A", "y"]
    assert read_table(p, na_values=["", "?", "N/A"])["b"].isna().tolist() == [True, False]


def test_csv_dates_parsed(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("d,x\n10/17/2014,1\n6/27/2006,2\n1/3/2000,3\n")
    df = read_table(p)
    assert pd.api.types.is_datetime64_any_dtype(df["d"])
    assert df["d"].iloc[0] == pd.Timestamp("2014-10-17")


def test_parquet_round_trip_keeps_dtypes(tmp_path):
    df = pd.DataFrame(
        {
            "i": pd.array([1, None, 3], dtype="Int64"),
            "b": pd.array([True, None, False], dtype="boolean"),
            "d": pd.to_datetime(["2020-01-01", "2021-02-03", None]),
            "s": ["x", None, "z"],
        }
    )
    p = write_table(df, tmp_path / "t.parquet")
    back = read_table(p)
    assert back.dtypes.astype(str).tolist() == df.dtypes.astype(str).tolist()
    pd.testing.assert_frame_equal(back, df)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.parquet", None, "does not exist"),
        ("corrupt.parquet", b"PAR1 this is not parquet", "could not be read"),
        ("empty.csv", b"", "is empty"),
        ("header_only.csv", b"a,b\n", "has no rows"),
        ("table.json", b"{}", "unsupported extension"),
    ],
)
def test_bad_files_raise_input_error(tmp_path, name, content, message):
    p = tmp_path / name
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(InputError, match=message) as err:
        read_table(p)
    assert err.value.hint  # every input error says how to fix it


def test_sha256_matches_hashlib(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"abc" * 1000)
    assert sha256_file(p) == hashlib.sha256(b"abc" * 1000).hexdigest()


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    final = tmp_path / "out.json"
    with pytest.raises(RuntimeError), atomic_path(final) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert not final.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_replaces_only_on_success(tmp_path):
    final = tmp_path / "run"
    with atomic_path(final) as tmp:
        tmp.mkdir()
        (tmp / "a.txt").write_text("a")
    assert (final / "a.txt").read_text() == "a"
    write_json({"x": 1}, final / "m.json")
    assert (final / "m.json").read_text().strip().startswith("{")


def test_write_json_writes_valid_json_with_null_for_non_finite_numbers(tmp_path):
    import json
    from enum import Enum

    import numpy as np

    class Kind(Enum):
        ID = "id"

    data = {
        "nan": float("nan"), "inf": np.float64("inf"), "n": np.int64(3), "na": pd.NA,
        "when": pd.Timestamp("2024-05-01 12:30"), "nat": pd.NaT, "kind": Kind.ID,
        "path": tmp_path / "x", "nested": [np.float32("nan"), (1, 2.5)],
    }
    text = write_json(data, tmp_path / "m.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {
        "nan": None, "inf": None, "n": 3, "na": None, "when": "2024-05-01T12:30:00",
        "nat": None, "kind": "id", "path": str(tmp_path / "x"), "nested": [None, [1, 2.5]],
    }


def test_parquet_decimals_dates_and_a_saved_index_become_plain_columns(tmp_path):
    import datetime as dt
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "amount": pa.array([decimal.Decimal("12.50"), None, decimal.Decimal("-3.07")],
                           pa.decimal128(12, 2)),
        "opened": pa.array([dt.date(2020, 1, 1), dt.date(2021, 6, 30), None], pa.date32()),
    })
    pq.write_table(table, tmp_path / "db.parquet")
    df = read_table(tmp_path / "db.parquet")
    assert df["amount"].dtype == "float64"
    assert df["amount"].tolist()[0] == 12.5 and df["amount"].isna().tolist() == [False, True, False]
    assert pd.api.types.is_datetime64_any_dtype(df["opened"])
    assert df["opened"].iloc[1] == pd.Timestamp("2021-06-30")

    indexed = pd.DataFrame({"policy": [7, 8, 9], "x": [1.0, 2.0, 3.0]}).set_index("policy")
    indexed.to_parquet(tmp_path / "indexed.parquet")
    back = read_table(tmp_path / "indexed.parquet")
    assert list(back.columns) == ["policy", "x"]  # the index is a column again, not lost
    assert back["policy"].tolist() == [7, 8, 9]


def test_csv_delimiter_and_decimal_comma_are_detected(tmp_path):
    p = tmp_path / "eu.csv"
    p.write_text("Prämie;Alter;Region\n12,50;34;Nord\n7,25;51;Süd\n")
    df = read_table(p)
    assert list(df.columns) == ["Prämie", "Alter", "Region"]
    assert df["Prämie"].tolist() == [12.5, 7.25]
    tab = tmp_path / "t.txt"
    tab.write_text("a\tb\n1.5\tx\n2.5\ty\n")
    assert read_table(tab)["a"].tolist() == [1.5, 2.5]
    spaced = tmp_path / "uci.csv"
    spaced.write_text("age, workclass, income\n39, State-gov, <=50K\n50, ?, >50K\n")
    uci = read_table(spaced)
    assert list(uci.columns) == ["age", "workclass", "income"]
    assert uci["workclass"].tolist()[0] == "State-gov" and uci["workclass"].isna().tolist()[1]
    # Telco churn's TotalCharges: a lone space in a number column is a missing value.
    blank = tmp_path / "telco.csv"
    blank.write_text("id,TotalCharges\nA-1,29.85\nA-2, \nA-3,108.15\n")
    charges = read_table(blank)["TotalCharges"]
    assert charges.dtype == "float64" and charges.isna().tolist() == [False, True, False]
    plain = tmp_path / "one.csv"
    plain.write_text("only\n1\n2\n")
    assert read_table(plain)["only"].tolist() == [1, 2]


def test_csv_encoding(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes("name,x\nMüller,1\nGarçon,2\n".encode("latin-1"))
    with pytest.raises(InputError) as err:
        read_table(p)
    assert "not utf-8 text" in str(err.value) and "--encoding" in err.value.hint
    assert read_table(p, encoding="latin-1")["name"].tolist() == ["Müller", "Garçon"]
    with pytest.raises(InputError, match="unknown text encoding"):
        read_table(p, encoding="no-such-codec")


def test_csv_formatted_numbers_become_numbers(tmp_path):
    p = tmp_path / "amounts.csv"
    p.write_text('amount,price,mixed\n"1,234.50",$12.00,"1,234"\n'
                 '"-12,000",€ 7.5,n/a\n3,"$1,000,000","2,500"\n')
    df = read_table(p)
    assert df["amount"].tolist() == [1234.5, -12000.0, 3.0]
    assert df["price"].tolist() == [12.0, 7.5, 1_000_000.0]
    assert df["mixed"].tolist() == ["1,234", "n/a", "2,500"]  # one value is not a number


def test_csv_digit_codes_with_leading_zeros_stay_text(tmp_path):
    p = tmp_path / "codes.csv"
    p.write_text("zip,n,amount,acct\n02134,1,0.5,000123\n94110,0,10.25,\n10001,12,3,456789\n")
    df = read_table(p)
    assert df["zip"].tolist() == ["02134", "94110", "10001"]
    assert df["acct"].tolist()[0] == "000123" and df["acct"].isna().tolist()[1]
    assert df["n"].tolist() == [1, 0, 12]  # a lone 0 is a number
    assert df["amount"].tolist() == [0.5, 10.25, 3.0]  # 0.5 is not a code


@pytest.mark.parametrize("ext", [".gz", ".bz2", ".xz", ".zip"])
def test_compressed_csv(tmp_path, ext):
    frame = pd.DataFrame({"zip": ["02134", "94110"], "premium": [12.5, 7.25], "y": ["a", "b"]})
    p = tmp_path / f"t.csv{ext}"
    frame.to_csv(p, sep=";", decimal=",", index=False)  # compression from the extension
    pd.testing.assert_frame_equal(read_table(p), frame)


@pytest.mark.parametrize("ext", [".gz", ".bz2", ".xz", ".zip"])
def test_corrupt_or_truncated_compressed_csv_is_an_input_error(tmp_path, ext):
    p = tmp_path / f"t.csv{ext}"
    pd.DataFrame({"x": range(5000)}).to_csv(p, index=False)
    p.write_bytes(p.read_bytes()[:200])  # cut short
    with pytest.raises(InputError, match="could not be read"):
        read_table(p)


def test_a_workbook_is_refused_with_the_export_hint(tmp_path):
    p = tmp_path / "claims.xlsx"
    p.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError, match="spreadsheet workbook") as err:
        read_table(p)
    assert "export the sheet as CSV" in err.value.hint


def test_a_parquet_dataset_folder_is_one_table(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.DataFrame({"amount": [1.5, 2.5, 3.5, 4.5], "state": ["OH", "IN", "OH", "IL"]})
    folder = tmp_path / "claims"
    pq.write_to_dataset(pa.Table.from_pandas(frame), folder, partition_cols=["state"])
    (folder / "_SUCCESS").write_text("")  # Spark's marker is not data
    df = read_table(folder)
    assert sorted(df["amount"]) == [1.5, 2.5, 3.5, 4.5]
    assert dict(zip(df["amount"], df["state"].astype(str), strict=True)) == {
        1.5: "OH", 2.5: "IN", 3.5: "OH", 4.5: "IL"}  # the partition folders are a column
    digest = sha256_table(folder)
    assert digest == sha256_table(folder)
    (folder / "_SUCCESS").write_text("changed")  # not data: same digest
    assert sha256_table(folder) == digest
    part = next(folder.rglob("*.parquet"))
    part.rename(part.with_name("renamed.parquet"))
    assert sha256_table(folder) != digest
    assert sha256_table(part.with_name("renamed.parquet")) == sha256_file(
        part.with_name("renamed.parquet"))

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="directory without parquet files") as err:
        read_table(empty)
    assert "folder of parquet parts" in err.value.hint


def test_csv_infinities_are_refused_naming_column_count_rows_and_spellings(tmp_path):
    p = tmp_path / "t.csv"
    rows = [f"{i},{v},a" for i, v in enumerate(["1.5", "inf", "2", "-inf", "Infinity", "3"])]
    p.write_text("id,x,c\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as err:
        read_table(p)
    msg, hint = err.value.message, err.value.hint
    assert "column 'x'" in msg and "3 infinite numbers" in msg and "rows 2, 4, 5" in msg
    assert "--na-values=inf --na-values=-inf --na-values=Infinity" in hint
    # The hint's fix works: those spellings are read as missing.
    back = read_table(p, na_values=["", "?", "inf", "-inf", "Infinity"])
    assert back["x"].isna().tolist() == [False, True, False, True, True, False]


def test_parquet_infinities_are_refused(tmp_path):
    p = tmp_path / "t.parquet"
    pd.DataFrame({"x": [1.0, float("-inf"), 2.0], "y": [0.5, 0.1, float("inf")]}).to_parquet(p)
    with pytest.raises(InputError) as err:
        read_table(p)
    assert "column 'x'" in err.value.message and "column 'y'" in err.value.message
    assert "(row 2)" in err.value.message and "(row 3)" in err.value.message
    assert "missing" in err.value.hint


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_numbers_beyond_the_float32_range_are_refused_with_the_reason(tmp_path, suffix):
    df = pd.DataFrame({"x": [1.0, 1e308, 2.0, -1e39, 3e38]})
    p = tmp_path / f"t{suffix}"
    df.to_csv(p, index=False) if suffix == ".csv" else df.to_parquet(p)
    with pytest.raises(InputError) as err:
        read_table(p)
    assert "column 'x'" in err.value.message and "2 numbers" in err.value.message
    assert "rows 2, 4" in err.value.message and "float32" in err.value.message
    assert "empty" in err.value.hint


def test_finite_numbers_within_float32_are_read(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("x\n1e38\n-3e38\n5\n")
    assert read_table(p)["x"].tolist() == [1e38, -3e38, 5.0]


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".tsv"])
def test_a_duplicated_csv_header_is_refused_with_names_and_positions(tmp_path, suffix):
    sep = "\t" if suffix == ".tsv" else ","
    p = tmp_path / f"t{suffix}"
    text = sep.join(["age", "x", "age", "policy", "x", "age"]) + "\n" + sep.join("123456") + "\n"
    if suffix.endswith(".gz"):
        import gzip

        p.write_bytes(gzip.compress(text.encode()))
    else:
        p.write_text(text)
    with pytest.raises(InputError) as err:
        read_table(p)
    assert "'age' (columns 1, 3, 6)" in err.value.message
    assert "'x' (columns 2, 5)" in err.value.message
    assert "age.1" in err.value.hint and "rename" in err.value.hint


def test_a_csv_column_really_named_like_a_pandas_rename_is_read(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("age,age.1\n1,2\n")
    assert list(read_table(p).columns) == ["age", "age.1"]


def test_duplicated_parquet_column_names_are_refused_with_positions(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "t.parquet"
    arrays = [pa.array([1, 2]), pa.array(["a", "b"]), pa.array([3, 4])]
    pq.write_table(pa.Table.from_arrays(arrays, names=["x", "y", "x"]), p)
    with pytest.raises(InputError) as err:
        read_table(p)
    assert "'x' (columns 1, 3)" in err.value.message and "rename" in err.value.hint


_FRAME = pd.DataFrame({"zip": ["02134", "94110"], "premium": [12.5, 7.25], "y": ["a", "b"]})


@pytest.mark.parametrize("ext", [".gz", ".bz2", ".xz", ".zip"])
def test_compression_is_found_by_its_magic_bytes_whatever_the_name(tmp_path, ext):
    packed = tmp_path / f"packed.csv{ext}"
    _FRAME.to_csv(packed, index=False)
    p = tmp_path / "claims.csv"  # a gzip (bz2, xz, zip) file named like plain text
    packed.rename(p)
    pd.testing.assert_frame_equal(read_table(p), _FRAME)


def test_a_plain_csv_named_like_a_compressed_one_is_read(tmp_path):
    p = tmp_path / "claims.csv.gz"
    _FRAME.to_csv(p, index=False, compression=None)
    pd.testing.assert_frame_equal(read_table(p), _FRAME)


def test_a_parquet_file_named_csv_is_read_as_parquet(tmp_path):
    p = tmp_path / "claims.csv"
    _FRAME.to_parquet(p, index=False)
    pd.testing.assert_frame_equal(read_table(p), _FRAME)


def test_a_workbook_named_csv_is_refused_with_the_export_hint(tmp_path):
    import zipfile

    p = tmp_path / "claims.csv"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(InputError, match="spreadsheet workbook") as err:
        read_table(p)
    assert "export the sheet as CSV" in err.value.hint


def test_a_compressed_parquet_file_is_named_for_what_it_is(tmp_path):
    import gzip

    raw = tmp_path / "raw.parquet"
    _FRAME.to_parquet(raw)
    p = tmp_path / "claims.parquet.gz"
    p.write_bytes(gzip.compress(raw.read_bytes()))
    with pytest.raises(InputError, match="gzip-compressed parquet") as err:
        read_table(p)
    assert "decompress" in err.value.hint


def test_text_named_parquet_is_named_for_what_it_is(tmp_path):
    p = tmp_path / "claims.parquet"
    _FRAME.to_csv(p, index=False)
    with pytest.raises(InputError, match="not a parquet file.*text") as err:
        read_table(p)
    assert ".csv" in err.value.hint
