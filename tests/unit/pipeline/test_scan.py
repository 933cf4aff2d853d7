"""The leak scan of every file of a run folder, and publish's fail-closed answer to a hit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthpipe.pipeline.publish import publish
from synthpipe.pipeline.scan import file_strings, output_values, scan_folder

SSN = "526-29-1789"
EMAIL = "mary.okafor77@mail.example"


def _pii() -> dict[str, pd.Series]:
    n = 300
    return {
        "ssn": pd.Series([SSN] + [f"{100 + i}-{10 + i % 80}-{1000 + i}" for i in range(n - 1)]),
        # 60% "none": a placeholder, not anyone's email
        "email": pd.Series([EMAIL] + ["none"] * 180 + [f"user{i}@x.example" for i in range(119)]),
        "policy_no": pd.Series(np.arange(100_000, 100_000 + n)),  # six-digit numbers
        "birth_date": pd.Series(pd.date_range("1950-01-01", periods=n, freq="7D")),
    }


def test_json_files_give_their_keys_and_strings_not_their_numbers(tmp_path):
    p = tmp_path / "m.json"
    p.write_text(json.dumps({"columns": {SSN: {"mean": 100123}}, "note": ["a", {"b": "c"}]}))
    strings = file_strings(p)
    assert {"columns", SSN, "mean", "note", "a", "b", "c"} <= set(strings)
    assert "100123" not in strings


def test_html_gives_text_and_attributes(tmp_path):
    p = tmp_path / "r.html"
    p.write_text(f'<html><body><td title="{EMAIL}">x</td><p>ref &amp; {SSN}</p></body></html>')
    strings = file_strings(p)
    assert EMAIL in strings and f"ref & {SSN}" in strings


def test_a_real_identifier_is_found_in_every_kind_of_file(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"profiles": {SSN: [1, 2]}}))
    (tmp_path / "report.html").write_text(f"<p>Wrote to {EMAIL} about it</p>")
    (tmp_path / "quarantine").mkdir()
    (tmp_path / "quarantine" / "REASONS.txt").write_text(f"- column {SSN}: odd\n")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.pt").write_bytes(b"\x00\x01" + EMAIL.encode() + b"\x00")
    pd.DataFrame({SSN: [1.0, 2.0]}).to_parquet(tmp_path / "synthetic.parquet")
    found = scan_folder(tmp_path, output_values(_pii()))
    where = {(f["file"], f["identifier"]) for f in found}
    assert where == {("metrics.json", "ssn"), ("report.html", "email"),
                     ("quarantine/REASONS.txt", "ssn"), ("model/weights.pt", "email"),
                     ("synthetic.parquet", "ssn")}
    assert SSN not in json.dumps(found) and EMAIL not in json.dumps(found)


def test_placeholders_short_numbers_and_dates_are_not_searched_in_files(tmp_path):
    """Files hold words, counts and dates of their own: 'none', 336 rows, 1950-01-01 equal a
    real value by chance, not because one was copied (table cells are scanned elsewhere)."""
    (tmp_path / "metrics.json").write_text(json.dumps({
        "failed": "none", "rows": "100005", "edge": "1950-01-01", "msg": "kept 100007 rows"}))
    assert scan_folder(tmp_path, output_values(_pii())) == []


def _publish(tmp_path, metrics, pii_values, publishable=True):
    model = tmp_path / "model_src"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"columns": ["amount"]}))
    verdict = {"publishable": publishable, "failed": [], "checks": []}
    out = tmp_path / "run"

    def report(folder: Path) -> None:
        m = json.loads((folder / "metrics.json").read_text())
        (folder / "report.html").write_text(f"<p>{json.dumps(m)}</p>")

    result = publish(out, pd.DataFrame({"amount": [1.0, 2.0]}), {"input": "t.csv"},
                     metrics, None, str(model), verdict, report, pii_values=pii_values)
    return result, out


def test_a_clean_run_folder_is_published_as_before(tmp_path):
    result, out = _publish(tmp_path, {"fidelity": {"score": 0.9}}, _pii())
    assert result.publishable and (out / "synthetic.parquet").is_file()
    check = next(c for c in result.metrics["gates"]["checks"] if c["name"] == "pii_leaks_outputs")
    assert check["passed"] is True


def test_a_leak_in_metrics_quarantines_and_withholds_the_files_that_hold_it(tmp_path):
    result, out = _publish(tmp_path, {"profiles": {SSN: {"mean": 1.0}}}, _pii())
    assert not result.publishable
    assert "pii_leaks_outputs" in result.metrics["gates"]["failed"]
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert "quarantine/synthetic.parquet" in files and "synthetic.parquet" not in files
    assert "metrics.json" not in files and "report.html" not in files
    for p in out.rglob("*"):
        if p.is_file():
            assert SSN.encode() not in p.read_bytes(), p
    reasons = (out / "quarantine" / "REASONS.txt").read_text()
    assert "pii_leaks_outputs" in reasons and "metrics.json" in reasons and "ssn" in reasons
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["verdict"] == "quarantined"
    assert set(manifest["withheld"]) == {"metrics.json", "report.html"}
    assert "metrics.json" not in manifest["outputs"]


# ----------------------------------------------------------------------------- a whole run


def _run_with_planted(tmp_path, plant: str):
    from synthpipe.config import ModelConfig, RunConfig
    from synthpipe.pipeline import run_pipeline

    rng = np.random.default_rng(0)
    n = 240
    ssns = [f"{rng.integers(100, 665)}-{rng.integers(10, 99)}-{rng.integers(1000, 9999)}"
            for _ in range(n)]
    df = pd.DataFrame({
        "ssn": ssns,
        "region": rng.choice(["north", "south", "east"], n),
        "amount": rng.gamma(2.0, 100.0, n).round(2),
        "fraud": rng.choice(["Y", "N"], n, p=[0.2, 0.8]),
    })
    secret = ssns[7]
    if plant == "column name":
        # A pivoted export: one column is headed by a customer's SSN.
        df[secret] = rng.normal(size=n).round(3)
    else:
        # A label column in which one real SSN is a frequent label (a data-entry habit).
        df["handler"] = np.where(np.arange(n) % 4 == 0, secret, rng.choice(["ann", "bob"], n))
    p = tmp_path / "t.parquet"
    df.to_parquet(p)
    cfg = RunConfig(table=p, out=tmp_path / "run", cache=False, target="fraud",
                    model=ModelConfig(name="tvae", epochs=1))
    return run_pipeline(cfg), tmp_path / "run", secret


def _files_holding(out: Path, secret: str) -> list[str]:
    import pyarrow.parquet as pq

    hits = []
    for p in sorted(out.rglob("*")):
        if not p.is_file():
            continue
        text = p.read_bytes().decode("latin-1")
        if p.suffix == ".parquet":
            df = pd.read_parquet(p)
            text += " ".join(map(str, pq.read_schema(p).names))
            text += " ".join(df.astype(str).to_numpy().ravel())
        if secret in text:
            hits.append(p.relative_to(out).as_posix())
    return hits


@pytest.mark.slow
@pytest.mark.parametrize("plant", ["column name", "category value"])
def test_a_real_identifier_planted_in_the_outputs_is_caught_by_the_gate(tmp_path, plant):
    result, out, secret = _run_with_planted(tmp_path, plant)
    assert not result.publishable
    assert "pii_leaks_outputs" in result.metrics["gates"]["failed"]
    check = next(c for c in result.metrics["gates"]["checks"] if c["name"] == "pii_leaks_outputs")
    assert "ssn" in check["message"] and secret not in check["message"]
    assert _files_holding(out, secret) == []
    assert (out / "quarantine" / "REASONS.txt").is_file()
    assert not (out / "synthetic.parquet").exists()
