"""report.json + report.html from a run folder; column profiles that publish only safe counts."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from synthpipe.errors import InputError
from synthpipe.metadata import ColumnKind, ColumnMeta, TableMetadata, detect_metadata
from synthpipe.report import assemble_report, build_report, column_profiles
from synthpipe.report.build import SECTIONS

from .fixtures.runs import SCRIPT_COLUMN, make_run, tables


class _Collector(HTMLParser):
    """Sections, gate rows, profile panels and every attribute value of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.gates: dict[str, str] = {}
        self.panels: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]
        if tag == "section" and "data-section" in a:
            self.sections.append(a["data-section"])
        if tag == "tr" and "data-gate" in a:
            self.gates[a["data-gate"]] = a.get("class") or ""
        if tag == "figure" and "data-column" in a:
            self.panels.append(a["data-column"])


def _build(tmp_path, kind):
    run = make_run(tmp_path, kind)
    html_path = build_report(run)
    html = html_path.read_text(encoding="utf-8")
    data = json.loads((run / "report.json").read_text(encoding="utf-8"))
    page = _Collector()
    page.feed(html)
    return run, html, data, page


def _section(data, sid):
    return next(s for s in data["sections"] if s["id"] == sid)


def _assert_self_contained(html: str, page: _Collector) -> None:
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<script\b", html, re.I)
    assert "script" not in page.tags
    for name, value in page.attrs:
        assert name not in ("src", "srcset"), f"external asset attribute {name}={value}"
        if name == "href":
            assert value.startswith("#"), f"link leaves the page: {value}"
    assert "@import" not in html and "url(" not in html


def test_publishable_report(tmp_path):
    run, html, data, page = _build(tmp_path, "publishable")
    _assert_self_contained(html, page)
    assert '<div class="word">PUBLISHABLE</div>' in html
    assert data["verdict"] == {"publishable": True, "label": "PUBLISHABLE", "failed": []}
    # Sections: all nine, in the specified order, the same in the page and in report.json.
    ids = [sid for sid, _ in SECTIONS]
    assert [s["id"] for s in data["sections"]] == ids
    assert page.sections == ids
    assert [s["number"] for s in data["sections"]] == list(range(1, 10))
    # Table of contents links every section.
    for sid in ids:
        assert f'href="#{sid}"' in html
    # Every modelled column has its real-vs-synthetic panel.
    real_profiles = json.loads((run / "metrics.json").read_text())["profiles"]["real"]
    assert sorted(page.panels) == sorted(real_profiles)
    assert len(page.panels) == 7
    # Gates: all listed with their status; the skipped one is not shown as passed.
    assert set(page.gates) >= {"mia_auc", "dcr_share", "pii_leaks", "utility_ratio"}
    gates = {c["name"]: c["status"] for c in _section(data, "verdict")["checks"]}
    assert gates["utility_ratio"] == "skipped" and gates["mia_auc"] == "pass"
    # Numbers are formatted for people.
    assert "3 min 25 s" in html
    assert "51%" in html  # DCR share 0.51
    # Optional sections rendered when present: downstream table and its verdict.
    assert "recall at 1% FPR" in html
    assert "Augmenting with synthetic fraud rows raised PR-AUC by 0.04." in html
    ds = _section(data, "utility")["downstream"]["table"]
    assert [r["name"] for r in ds["rows"]] == ["a", "b", "c"]
    # Charts: shapes bars, three heatmaps, DCR and MIA, training curve.
    assert html.count("<svg") >= 7 + 1 + 3 + 2 + 1
    assert "Training curve" in html
    assert _section(data, "model_card")["history"][0]["epoch"] == 1


def test_quarantined_report_lists_every_failed_gate(tmp_path):
    run, html, data, page = _build(tmp_path, "quarantined")
    _assert_self_contained(html, page)
    assert '<div class="word">QUARANTINED</div>' in html
    failed = ["mia_auc", "dcr_share", "identical_match_share", "pii_leaks", "synthetic_suite"]
    assert data["verdict"]["publishable"] is False
    assert data["verdict"]["failed"] == failed
    for name in failed:
        assert "row-fail" in page.gates[name], name
        assert name in _section(data, "verdict")["summary"]
    # The fidelity floor that failed is a warning, not a block.
    assert "row-warn" in page.gates["pair_trends"]
    # REASONS.txt is quoted, failed expectations come first and are marked.
    assert "must not be published" in html
    suite = _section(data, "validation")["synthetic_suite"]
    assert len(suite["failed"]) == 2 and all(r["success"] is False for r in suite["failed"])
    synthetic_part = html[html.index("Synthetic suite"):]
    assert synthetic_part.index("Failed expectations (2)") < synthetic_part.index(
        "Met expectations, by column")
    # Leaks are shown masked, with their count.
    assert "jo***" in html
    assert _section(data, "privacy")["pii_leakage"]["total"] == 2


def test_sparse_run_degrades_to_not_computed(tmp_path):
    run, html, data, page = _build(tmp_path, "sparse")
    _assert_self_contained(html, page)
    assert page.sections == [sid for sid, _ in SECTIONS]
    assert "QUARANTINED" in html  # the manifest's verdict, nothing more known
    for what in ("no gate checks", "no fidelity metrics", "no column profiles",
                 "no privacy metrics", "no PII record", "no input contract results",
                 "no loss history", "no downstream model comparison"):
        assert f"Not computed: {what}" in html or what in html, what
    fid = _section(data, "fidelity")
    assert fid["computed"] is False and fid["overall"] == []
    priv = _section(data, "privacy")
    assert priv["computed"] is False and priv["scores"] == []
    # No invented numbers: the privacy facts say it was not verified.
    assert any("NOT verified" in x for x in _section(data, "model_card")["limits"])


def test_no_verdict_recorded_is_not_publishable(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    (run / "manifest.json").write_text("{}")
    (run / "metrics.json").write_text("{}")
    build_report(run)
    data = json.loads((run / "report.json").read_text())
    assert data["verdict"]["publishable"] is None
    assert "NO VERDICT RECORDED" in (run / "report.html").read_text()


def test_disagreeing_records_fail_closed(tmp_path):
    run = make_run(tmp_path, "publishable")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["verdict"] = "quarantined"
    (run / "manifest.json").write_text(json.dumps(manifest))
    data = assemble_report(run)
    assert data["verdict"]["publishable"] is False
    assert "disagree" in _section(data, "verdict")["notes"][0]


def test_hostile_column_name_stays_text(tmp_path):
    run, html, data, page = _build(tmp_path, "publishable")
    assert SCRIPT_COLUMN in page.panels  # the attribute value decodes to the raw name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert SCRIPT_COLUMN not in html


def test_build_is_deterministic_and_atomic(tmp_path):
    run = make_run(tmp_path, "publishable")
    first = build_report(run).read_bytes()
    first_json = (run / "report.json").read_bytes()
    second = build_report(run).read_bytes()
    assert first == second
    assert (run / "report.json").read_bytes() == first_json
    leftovers = [p.name for p in run.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_nan_in_metrics_becomes_null_not_a_crash(tmp_path):
    run = make_run(tmp_path, "publishable")
    text = (run / "metrics.json").read_text().replace('"synthetic": 0.86', '"synthetic": NaN', 1)
    (run / "metrics.json").write_text(text)
    build_report(run)
    raw = (run / "report.json").read_text()
    assert "NaN" not in raw
    pt = next(o for o in _section(json.loads(raw), "fidelity")["overall"]
              if o["key"] == "pair_trends")
    assert pt["synthetic"] is None


def test_candidates_rendered_when_present(tmp_path):
    run = make_run(tmp_path, "publishable")
    metrics = json.loads((run / "metrics.json").read_text())
    # The pipeline's shape: metric dicts, a list of failed gates, a selection rule.
    metrics["candidates"] = {
        "rule": "blocking gates pass first, then the mean score",
        "chosen": "tvae",
        "models": [
            {"name": "tvae", "publishable": True, "failed_gates": [], "score": 0.91,
             "column_shapes": {"name": "column_shapes", "synthetic": 0.9, "holdout": 0.95}},
            {"name": "ctgan", "publishable": False, "failed_gates": ["mia_auc", "dcr_share"],
             "score": 0.85, "column_shapes": {"name": "column_shapes", "synthetic": 0.85}},
        ],
    }
    (run / "metrics.json").write_text(json.dumps(metrics))
    html = build_report(run).read_text()
    cand = _section(json.loads((run / "report.json").read_text()), "utility")["candidates"]
    assert [r["name"] for r in cand["table"]["rows"]] == ["tvae", "ctgan"]
    assert cand["table"]["rows"][1]["values"]["column_shapes"] == 0.85
    assert "Candidate models" in html and "mia_auc, dcr_share" in html
    assert "blocking gates pass first" in html


def test_loss_history_from_metrics_training(tmp_path):
    run = make_run(tmp_path, "publishable")
    (run / "model" / "config.json").write_text("{}")
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["training"] = {"history": [{"epoch": 1, "train_loss": 2.0, "val_loss": None},
                                       {"epoch": 2, "train_loss": 1.5, "val_loss": None}]}
    (run / "metrics.json").write_text(json.dumps(metrics))
    data = assemble_report(run)
    hist = _section(data, "model_card")["history"]
    assert [h["train_loss"] for h in hist] == [2.0, 1.5]


@pytest.mark.parametrize("missing", ["manifest.json", "metrics.json"])
def test_missing_input_file_is_named(tmp_path, missing):
    run = make_run(tmp_path, "publishable")
    (run / missing).unlink()
    with pytest.raises(InputError, match=re.escape(missing)):
        build_report(run)
    assert not (run / "report.html").exists()


def test_missing_folder_and_bad_json(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        build_report(tmp_path / "nope")
    run = make_run(tmp_path, "publishable")
    (run / "metrics.json").write_text("{not json")
    with pytest.raises(InputError, match="metrics.json"):
        build_report(run)


# ----------------------------------------------------------------------------- profiles


def _meta(**kinds: ColumnKind) -> TableMetadata:
    return TableMetadata({c: ColumnMeta(c, k, "object") for c, k in kinds.items()})


def test_profiles_suppress_rare_categories_and_hold_only_counts():
    real, _ = tables()
    meta = detect_metadata(real)
    prof = column_profiles(real, meta)
    text = json.dumps(prof)
    assert "atlantis" not in text  # 3 rows: below the floor, never named
    assert "claim_id" not in prof  # identifiers are not profiled
    region = prof["region"]
    assert region["categories"] == ["north", "south", "east", "west"]
    assert region["other"] is None  # the 3 rare rows, withheld
    assert all(isinstance(c, int) and c >= 5 for c in region["counts"])
    # Only aggregated numbers: no raw value of any row appears.
    edges = prof["amount"]["edges"]
    assert real["amount"].min() not in edges and real["amount"].max() not in edges
    for p in prof.values():
        assert set(p) <= {"kind", "type", "datetime", "edges", "counts", "missing", "below",
                          "above", "n", "min_count", "categories", "other"}
        assert all(c is None or c == 0 or (isinstance(c, int) and c >= 5) for c in p["counts"])


def test_histogram_counts_add_up_and_ranges_are_rounded():
    df = pd.DataFrame({"x": np.r_[np.linspace(3.7, 96.2, 400), [np.nan] * 10]})
    prof = column_profiles(df, _meta(x=ColumnKind.NUMERICAL), bins=10)["x"]
    assert prof["edges"][0] <= 3.7 and prof["edges"][-1] >= 96.2
    assert prof["edges"][0] == 0.0 and prof["edges"][-1] == 100.0  # not the exact min/max
    assert sum(prof["counts"]) == 400 and prof["missing"] == 10 and prof["n"] == 410


def test_lone_small_cell_gets_a_complementary_suppression():
    # 3 rows in the top bin: withheld, and another bin too, so 410 - sum(shown) reveals nothing.
    x = np.r_[np.repeat([1.5, 2.5, 3.5], [50, 40, 60]), [9.5] * 3]
    prof = column_profiles(pd.DataFrame({"x": x}), _meta(x=ColumnKind.NUMERICAL), bins=9)["x"]
    hidden = [i for i, c in enumerate(prof["counts"]) if c is None]
    assert len(hidden) == 2
    assert prof["counts"][:3] == [50, None, 60] and prof["counts"][-1] is None


def test_rare_categories_go_to_other_without_a_complement():
    s = ["a"] * 50 + ["b"] * 30 + ["rare1"] * 2 + ["rare2"] * 1
    prof = column_profiles(pd.DataFrame({"c": s}), _meta(c=ColumnKind.CATEGORICAL))["c"]
    assert prof["categories"] == ["a", "b"] and prof["counts"] == [50, 30]
    assert prof["other"] is None and prof["missing"] == 0


def test_min_count_zero_publishes_everything():
    s = ["a"] * 50 + ["rare"] * 2
    prof = column_profiles(pd.DataFrame({"c": s}), _meta(c=ColumnKind.CATEGORICAL),
                           min_count=0)["c"]
    assert prof["categories"] == ["a", "rare"] and prof["counts"] == [50, 2]


def test_synthetic_profile_reuses_real_bins_and_counts_out_of_range():
    real = pd.DataFrame({"x": np.linspace(0, 10, 200), "c": ["a", "b"] * 100})
    syn = pd.DataFrame({"x": np.r_[np.linspace(0, 10, 190), [-50.0] * 5, [99.0] * 5],
                        "c": ["a"] * 150 + ["zzz"] * 50})
    meta = _meta(x=ColumnKind.NUMERICAL, c=ColumnKind.CATEGORICAL)
    rp = column_profiles(real, meta)
    sp = column_profiles(syn, meta, edges=rp)
    assert sp["x"]["edges"] == rp["x"]["edges"]
    assert sp["x"]["below"] == 5 and sp["x"]["above"] == 5
    assert sp["c"]["categories"] == rp["c"]["categories"] == ["a", "b"]
    assert sp["c"]["counts"] == [150, 0] and sp["c"]["other"] == 50
    # Plain lists as edges work too.
    assert column_profiles(syn, meta, edges={"x": [0, 5, 10]})["x"]["counts"] == [95, 95]


def test_datetime_boolean_and_numeric_codes():
    n = 120
    df = pd.DataFrame({
        "d": pd.date_range("2024-01-01", periods=n, freq="D"),
        "flag": [True, False, False] * (n // 3),
        "code": [1, 2, 3] * (n // 3),
    })
    meta = _meta(d=ColumnKind.DATETIME, flag=ColumnKind.BOOLEAN, code=ColumnKind.CATEGORICAL)
    prof = column_profiles(df, meta)
    d = prof["d"]
    assert d["datetime"] is True and all(e % 86_400 == 0 for e in d["edges"])  # whole days
    # 3 rows in the first (partial) week are withheld, with one complementary bin.
    assert d["counts"].count(None) == 2 and sum(c or 0 for c in d["counts"]) == n - 3 - 5
    assert prof["flag"]["categories"] == ["False", "True"] and prof["flag"]["counts"] == [80, 40]
    # Float codes of the synthetic side map onto the real integer labels.
    syn = pd.DataFrame({"code": [1.0, 2.0, 3.0] * 10})
    sp = column_profiles(syn, _meta(code=ColumnKind.CATEGORICAL), edges={"code": prof["code"]})
    assert sp["code"]["counts"] == [10, 10, 10] and sp["code"]["other"] == 0


def test_profile_argument_checks():
    meta = _meta(x=ColumnKind.NUMERICAL)
    with pytest.raises(InputError, match="bins"):
        column_profiles(pd.DataFrame({"x": [1.0]}), meta, bins=0)
    with pytest.raises(InputError, match="min_count"):
        column_profiles(pd.DataFrame({"x": [1.0]}), meta, min_count=-1)


def test_all_missing_column_profile():
    df = pd.DataFrame({"x": [np.nan] * 20})
    prof = column_profiles(df, _meta(x=ColumnKind.NUMERICAL))["x"]
    assert prof["counts"] == [] and prof["missing"] == 20


@pytest.mark.slow
def test_report_reads_the_real_evaluation_output(tmp_path):
    """The report against what synthpipe.evaluation actually returns (not only the fixture)."""
    from synthpipe.evaluation import evaluate, gates

    real, synth = tables()
    meta = detect_metadata(real)
    cols = meta.modelled
    train, hold = real.iloc[:300], real.iloc[300:]
    metrics = evaluate(train[cols], hold[cols], synth[cols], meta.subset(cols), "is_fraud",
                       pii_values={"claim_id": real["claim_id"]}, published=synth)
    verdict = gates(metrics)
    run = make_run(tmp_path, "publishable")
    stored = json.loads((run / "metrics.json").read_text())
    stored.update({k: metrics[k] for k in ("fidelity", "utility", "privacy")}, gates=verdict)
    stored.pop("downstream")
    (run / "metrics.json").write_text(json.dumps(stored))
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["gates"] = {"publishable": verdict["publishable"], "failed": verdict["failed"]}
    manifest["verdict"] = "published" if verdict["publishable"] else "quarantined"
    (run / "manifest.json").write_text(json.dumps(manifest))

    data = assemble_report(run)
    assert data["verdict"]["publishable"] is verdict["publishable"]
    checks = _section(data, "verdict")["checks"]
    assert {c["name"] for c in checks} == {c["name"] for c in verdict["checks"]}
    for c in checks:  # gates.py's passed/failed/skipped map onto the report's words
        original = next(o for o in verdict["checks"] if o["name"] == c["name"])
        expected = {"passed": "pass", "skipped": "skipped"}.get(
            original["status"], "warn" if original["severity"] == "warn" else "fail")
        assert c["status"] == expected
    fid = _section(data, "fidelity")
    assert fid["computed"] and [o["key"] for o in fid["overall"]] == [
        "column_shapes", "pair_trends", "detection"]
    assert all(o["synthetic"] is not None and o["holdout"] is not None for o in fid["overall"])
    assert len(fid["per_column"]) == len(cols) and fid["correlation"]["computed"]
    priv = _section(data, "privacy")
    names = [s["name"] for s in priv["scores"]]
    assert names[:3] == ["identical-match share", "DCR share",
                         "median distance to closest record"]
    assert all(s["synthetic"] is not None for s in priv["scores"])
    assert {m["attack"] for m in priv["mia"]} == {"distance", "density ratio", "highest (gated)"}
    assert priv["dcr_histogram"] is not None and priv["errors"] == [] and priv["other"] == []
    assert priv["pii_leakage"]["computed"] and priv["pii_leakage"]["total"] == 0
    util = _section(data, "utility")
    assert [r["metric"] for r in util["utility"]][:2] == ["roc_auc", "pr_auc"]
    assert all(r["real"] is not None for r in util["utility"])
    html = build_report(run).read_text()
    assert "ROC-AUC" in html and "density ratio" in html


def test_expectation_arguments_are_coarsened_and_pairs_named(tmp_path):
    """A derived suite holds the real data's exact extremes and category sets: not published."""
    run = make_run(tmp_path, "publishable")
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["synthetic_suite"]["success"] = False
    metrics["synthetic_suite"]["results"] += [
        {"expectation": "expect_column_values_to_be_between", "column": "amount",
         "kwargs": {"column": "amount", "min_value": 130.92, "max_value": 822495.42},
         "success": False, "observed": "2 values above the maximum"},
        {"expectation": "expect_column_values_to_be_in_set", "column": "region",
         "kwargs": {"column": "region", "value_set": ["north", "atlantis-rare-label"]},
         "success": False, "observed": "1 value outside the set"},
        {"expectation": "expect_column_values_to_be_between", "column": "claim_date",
         "kwargs": {"column": "claim_date", "min_value": "1935-01-23T00:00:00"},
         "success": False, "observed": "x"},
        {"expectation": "expect_column_pair_values_a_to_be_greater_than_b", "column": None,
         "kwargs": {"column_A": "report_date", "column_B": "claim_date"},
         "success": False, "observed": "3 rows"},
    ]
    (run / "metrics.json").write_text(json.dumps(metrics))
    html = build_report(run).read_text()
    report_json = (run / "report.json").read_text()
    for secret in ("822495.42", "822,495", "130.92", "atlantis-rare-label", "1935-01-23"):
        assert secret not in html and secret not in report_json, secret
    assert "max_value=822,000" in html and "min_value=131" in html
    assert "value_set=2 allowed values" in html and "min_value=1935-01" in html
    failed = _section(json.loads(report_json), "validation")["synthetic_suite"]["failed"]
    assert failed[-1]["column"] == "report_date / claim_date"
    assert failed[-1]["short"] == "pair values a to be greater than b"


def test_counts_print_exactly(tmp_path):
    run = make_run(tmp_path, "publishable")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["rows"]["train"] = 15_666
    (run / "manifest.json").write_text(json.dumps(manifest))
    html = build_report(run).read_text()
    assert "train 15,666" in html


def test_long_tail_is_plotted_over_its_central_range():
    rng = np.random.default_rng(0)
    x = np.r_[rng.uniform(100, 1000, 1994), [500_000.0] * 6]
    prof = column_profiles(pd.DataFrame({"x": x}), _meta(x=ColumnKind.NUMERICAL))["x"]
    assert prof["edges"][-1] <= 1000 and prof["above"] == 6
    assert sum(prof["counts"]) + prof["above"] + prof["below"] == 2000


def _with_downstream(tmp_path, downstream):
    run = make_run(tmp_path, "publishable")
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["downstream"] = downstream
    (run / "metrics.json").write_text(json.dumps(metrics))
    html = build_report(run).read_text()
    return html, _section(json.loads((run / "report.json").read_text()), "utility")["downstream"]


@pytest.mark.slow
def test_downstream_comparison_from_the_real_fraud_check(tmp_path):
    """The section against what synthpipe.evaluation.downstream returns: one table of the
    three training sets with intervals, differences marked when within noise, PR curves."""
    import pandas as pd

    from synthpipe.evaluation.downstream import downstream_report

    real, synth = tables(n=1200)
    meta = detect_metadata(real)
    cols = meta.modelled
    train, hold = real.iloc[:800][cols], real.iloc[800:][cols]
    augmented = pd.concat([train, synth[cols][synth["is_fraud"]]], ignore_index=True)
    out = downstream_report(train, hold, synth[cols], "is_fraud", True, meta.subset(cols),
                            augmented=augmented)
    html, ds = _with_downstream(tmp_path, json.loads(json.dumps(out)))
    assert [r["label"] for r in ds["rows"]] == [
        "real-trained", "synthetic-trained", "augmented-trained"]
    assert [m["label"] for m in ds["metrics"]] == [
        "PR-AUC", "ROC-AUC", "Recall at 1% FPR", "Recall at 5% FPR",
        "Precision at the chosen threshold"]
    for row in ds["rows"]:
        for cell in row["cells"]:
            assert cell["lo"] <= cell["value"] <= cell["hi"]
            assert (cell["difference"] is None) == (row["set"] == "real")
    noisy = [c for r in ds["rows"] for c in r["cells"] if c["within_noise"]]
    assert html.count("vs real &asymp;") == len(noisy)
    assert len(ds["noise"]) == len({r["set"] for r in ds["rows"] for c in r["cells"]
                                     if c["within_noise"]})
    assert ds["verdict"].startswith("Training on synthetic data") and ds["verdict"].endswith(".")
    assert ds["verdict"].count(". ") == 0  # one sentence
    assert "Precision-recall on the real holdout" in html and "guessing:" in html
    assert "200 bootstrap resamples" in html
    assert "results.real" not in html  # no raw dotted keys any more


def test_downstream_without_intervals_still_reads_as_one_table(tmp_path):
    """A fraud check recorded before intervals existed: the same table, no interval lines."""
    scores = {"pr_auc": 0.645, "roc_auc": 0.882, "recall_at_1pct_fpr": 0.102,
              "recall_at_5pct_fpr": 0.306, "threshold": 0.39, "precision_at_threshold": 0.629}
    html, ds = _with_downstream(tmp_path, {
        "positive": "Y", "holdout_rows": 200, "holdout_positive_rate": 0.245,
        "results": {"real": {"rows": 800, "positive_rate": 0.25, **scores},
                    "synthetic": {"rows": 800, "positive_rate": 0.5,
                                  "skipped": "training set has a single class"}},
        "verdict": "no verdict: no other training set was scored",
    })
    assert ds["intervals"] is False and ds["differences"] is False and ds["curves"] == {}
    assert "bootstrap" not in html and "Under that" not in html
    assert "not scored: training set has a single class" in html
    assert ">0.890<" not in html and ">0.882<" in html and "real-trained 0.39" in html
