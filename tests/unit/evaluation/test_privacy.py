"""Privacy metrics on hand-made tables with known answers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthpipe.errors import InputError
from synthpipe.evaluation import privacy_report
from synthpipe.evaluation.neighbours import MixedEncoder, nearest_neighbours, row_hashes
from synthpipe.metadata import ColumnKind, ColumnMeta, TableMetadata


def _meta(**kinds: ColumnKind) -> TableMetadata:
    return TableMetadata({c: ColumnMeta(c, k, "object") for c, k in kinds.items()})


MIXED = _meta(
    age=ColumnKind.NUMERICAL, city=ColumnKind.CATEGORICAL, email=ColumnKind.ID,
)


def _people(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "city": rng.choice(["Oslo", "Lyon", "Turin", "Graz"], n),
            "email": [f"user{seed}_{i}@example.com" for i in range(n)],
        }
    )


def test_copying_three_of_ten_rows_gives_identical_share_point_three() -> None:
    meta = _meta(a=ColumnKind.NUMERICAL, b=ColumnKind.CATEGORICAL)
    train = pd.DataFrame({"a": np.arange(10), "b": list("abcdefghij")})
    holdout = pd.DataFrame({"a": np.arange(10) + 100, "b": list("abcdefghij")})
    synth = pd.DataFrame(
        # three copies, written the way a model might return them (float, padded string)
        {"a": [0.0, 1.0, 2.0] + [50.5] * 7, "b": [" a", "b", "c"] + ["z"] * 7}
    )
    out = privacy_report(train, holdout, synth, meta)
    ims = out["identical_match_share"]
    assert ims["synthetic"] == pytest.approx(0.3)
    assert ims["synthetic_matches"] == 3
    assert ims["holdout"] == pytest.approx(0.0)
    assert out["dcr"]["zero_distance_share"]["synthetic"] == pytest.approx(0.3)


def test_row_hashes_treat_missing_as_equal_and_ignore_dtype() -> None:
    meta = _meta(a=ColumnKind.NUMERICAL, b=ColumnKind.CATEGORICAL)
    one = pd.DataFrame({"a": pd.array([1, None], dtype="Int64"), "b": ["x", None]})
    two = pd.DataFrame({"a": [1.0, np.nan], "b": ["x ", np.nan]})
    assert (row_hashes(one, ["a", "b"], meta) == row_hashes(two, ["a", "b"], meta)).all()


def test_dcr_by_hand_in_one_dimension() -> None:
    meta = _meta(v=ColumnKind.NUMERICAL)
    train = pd.DataFrame({"v": [0.0, 10.0, 20.0, 30.0]})
    holdout = pd.DataFrame({"v": [4.0, 14.0, 24.0, 34.0]})
    # 1: train 1 / holdout 3 -> train; 3: 3 / 1 -> holdout; 2: 2 / 2 -> tie (half);
    # 29: 1 / 5 -> train. Share = (1 + 0 + 0.5 + 1) / 4.
    synth = pd.DataFrame({"v": [1.0, 3.0, 2.0, 29.0]})
    dcr = privacy_report(train, holdout, synth, meta)["dcr"]
    assert dcr["dcr_share"] == pytest.approx(0.625)
    assert dcr["ties"] == pytest.approx(0.25)
    scale = np.subtract(*np.percentile([0.0, 10.0, 20.0, 30.0], [99, 1]))
    # Distances to train: 1, 3, 2, 1 -> median 1.5; holdout rows are 4 from train each.
    assert dcr["median"]["synthetic"] == pytest.approx(1.5 / scale)
    assert dcr["median"]["holdout"] == pytest.approx(4.0 / scale)
    # NNDR: 1/9, 3/7, 2/8, 1/9 -> median (1/9 + 2/8) / 2; holdout rows: 4/6 each.
    assert dcr["nndr_median"]["synthetic"] == pytest.approx((1 / 9 + 2 / 8) / 2)
    assert dcr["nndr_median"]["holdout"] == pytest.approx(4 / 6)
    hist = dcr["histogram"]
    assert sum(hist["synthetic"]) == 4 and sum(hist["holdout"]) == 4
    assert len(hist["bins"]) == len(hist["synthetic"]) + 1


def test_chunked_neighbours_equal_brute_force() -> None:
    rng = np.random.default_rng(0)
    q, r = rng.normal(size=(53, 6)) * 100 + 1e4, rng.normal(size=(41, 6)) * 100 + 1e4
    r[5] = q[7]  # an exact copy must come out at distance exactly 0
    full = np.sqrt(((q[:, None, :] - r[None, :, :]) ** 2).sum(-1))
    nn = nearest_neighbours(q, r, k=2, block_rows=7, reverse=True)
    assert np.allclose(nn["dist"], np.sort(full, axis=1)[:, :2], rtol=1e-9, atol=1e-9)
    assert (nn["index"][:, 0] == full.argmin(axis=1)).all()
    assert nn["dist"][7, 0] == 0.0
    assert np.allclose(nn["reverse_dist"], full.min(axis=0), rtol=1e-9, atol=1e-9)
    assert nn["reverse_dist"][5] == 0.0


def test_mixed_encoder_distances_are_mismatches_and_scaled_numbers() -> None:
    meta = _meta(v=ColumnKind.NUMERICAL, c=ColumnKind.CATEGORICAL)
    fit = pd.DataFrame({"v": np.linspace(0, 100, 101), "c": ["a", "b"] * 50 + ["a"]})
    enc = MixedEncoder(["v", "c"], meta).fit(fit)
    x = enc.transform(pd.DataFrame({"v": [50.0, 50.0, np.nan], "c": ["a", "b", "a"]}))
    assert np.linalg.norm(x[0] - x[1]) == pytest.approx(1.0)  # one label mismatch
    # a missing number: the indicator adds 1 (the fill value is the median, 50)
    assert np.linalg.norm(x[0] - x[2]) == pytest.approx(1.0)


def test_training_copy_is_caught_and_an_independent_sample_is_not() -> None:
    meta = _meta(age=ColumnKind.NUMERICAL, city=ColumnKind.CATEGORICAL, x=ColumnKind.NUMERICAL)
    rng = np.random.default_rng(1)

    def table(n: int) -> pd.DataFrame:
        age = rng.integers(18, 90, n)
        return pd.DataFrame(
            {
                "age": age,
                "city": rng.choice(["Oslo", "Lyon", "Turin", "Graz"], n),
                "x": np.round(age * 0.5 + rng.normal(size=n) * 10, 3),
            }
        )

    train, holdout, fresh = table(400), table(400), table(400)
    copy = privacy_report(train, holdout, train.copy(), meta, seed=0)
    assert copy["dcr"]["dcr_share"] > 0.95
    assert copy["membership_inference"]["attacks"]["distance"]["auc"] > 0.95
    assert copy["membership_inference"]["attacks"]["density_ratio"]["auc"] > 0.8
    assert copy["membership_inference"]["synthetic"] > 0.95
    clean = privacy_report(train, holdout, fresh, meta, seed=0)
    assert clean["dcr"]["dcr_share"] == pytest.approx(0.5, abs=0.1)
    assert clean["membership_inference"]["synthetic"] < 0.6
    assert clean["membership_inference"]["attacks"]["density_ratio"]["auc"] < 0.6
    json.dumps(clean, allow_nan=False)


def test_density_model_supplies_p_synth() -> None:
    train, holdout = _people(200, 0), _people(200, 1)
    members = set(train["email"])

    class Oracle:
        """Knows the training rows (by their id): the attack with it must be near perfect."""

        def log_prob(self, df: pd.DataFrame) -> np.ndarray:
            return np.where(df["email"].isin(members).to_numpy(), 0.0, -1000.0)

    out = privacy_report(train, holdout, _people(200, 2), MIXED, density_model=Oracle())
    attack = out["membership_inference"]["attacks"]["density_ratio"]
    assert attack["density"] == "density_model"
    assert attack["auc"] > 0.99


def test_failing_attack_leaves_mia_unknown() -> None:
    class Broken:
        def log_prob(self, df: pd.DataFrame) -> np.ndarray:
            raise RuntimeError("flow exploded")

    out = privacy_report(_people(60, 0), _people(60, 1), _people(60, 2), MIXED,
                         density_model=Broken())
    mia = out["membership_inference"]
    assert mia["synthetic"] is None
    assert "flow exploded" in mia["error"]
    assert mia["attacks"]["distance"]["auc"] is not None


def test_leaked_email_is_found_in_any_column_and_masked() -> None:
    train, holdout = _people(30, 0), _people(30, 1)
    real_emails = pd.Series(["John.Doe@corp.com", "x@y", "al"])
    published = _people(30, 2)
    published.loc[3, "email"] = "  john.doe@CORP.com "
    published.loc[4, "city"] = "john.doe@corp.com"
    published.loc[5, "city"] = "AL"  # shorter than 4 characters: ignored
    pii_values = {"email": real_emails, "name": pd.Series(["Al"])}
    out = privacy_report(train, holdout, published, MIXED, pii_values=pii_values)
    pii = out["pii_leakage"]
    assert pii["total"] == 2
    assert pii["per_column"]["email"]["count"] == 2
    assert pii["per_column"]["email"]["found_in"] == {"email": 1, "city": 1}
    assert pii["per_column"]["email"]["examples"] == ["jo***"]
    assert pii["per_column"]["email"]["values_checked"] == 1  # "x@y" and "al" are too short
    assert pii["per_column"]["name"]["count"] == 0


def test_real_birth_dates_are_not_searched_in_other_date_columns() -> None:
    # A policy that starts on some customer's birthday discloses nothing; the birth date
    # column itself and non-date columns are still searched.
    from synthpipe.evaluation.privacy import pii_leakage

    births = pd.Series(pd.to_datetime(["1985-03-12", "2004-07-01"]))
    published = pd.DataFrame({
        "date_of_birth": pd.to_datetime(["1990-01-01", "2004-07-01", "1970-05-05"]),
        "policy_start": pd.to_datetime(["2004-07-01", "1985-03-12", "2010-01-01"]),
        "note": ["x", "1985-03-12", "y"],
        "email": ["a@b.example", "c@d.example", "e@f.example"],
    })
    out = pii_leakage(published, {"date_of_birth": births,
                                  "email": pd.Series(["c@d.example"])})
    dob = out["per_column"]["date_of_birth"]
    assert dob["found_in"] == {"date_of_birth": 1, "note": 1}
    assert out["per_column"]["email"]["found_in"] == {"email": 1}
    assert out["total"] == 3
    assert out["date_identifiers_not_searched_in"] == ["policy_start"]
    # A text identifier is still searched in every column, dates included.
    text = pii_leakage(published, {"code": pd.Series(["2010-01-01"])})
    assert text["per_column"]["code"]["found_in"] == {"policy_start": 1}
    assert text["date_identifiers_not_searched_in"] == []


def test_pii_scan_states() -> None:
    args = (_people(20, 0), _people(20, 1), _people(20, 2), MIXED)
    assert privacy_report(*args)["pii_leakage"]["status"] == "not_requested"
    assert privacy_report(*args)["pii_leakage"]["total"] is None
    assert privacy_report(*args, pii_values={})["pii_leakage"]["total"] == 0


def test_samples_are_equal_size() -> None:
    out = privacy_report(_people(80, 0), _people(30, 1), _people(50, 2), MIXED, max_rows=25)
    assert out["rows"] == {"train_sample": 25, "holdout_sample": 25, "synthetic": 25}
    assert out["columns"] == ["age", "city"]  # the id column is not modelled


def test_empty_table_is_an_input_error() -> None:
    with pytest.raises(InputError, match="synthetic table has 0 rows"):
        privacy_report(_people(20, 0), _people(20, 1), _people(20, 2).iloc[:0], MIXED)


def test_failing_neighbour_search_fails_dcr_and_mia_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    import synthpipe.evaluation.privacy as privacy

    def broken(*args: object, **kwargs: object) -> None:
        raise MemoryError("no room")

    monkeypatch.setattr(privacy, "nearest_neighbours", broken)
    out = privacy_report(_people(40, 0), _people(40, 1), _people(40, 2), MIXED, pii_values={})
    assert "no room" in out["dcr"]["error"]
    assert out["membership_inference"]["synthetic"] is None
    assert out["identical_match_share"]["synthetic"] is not None
    assert out["pii_leakage"]["total"] == 0


def test_an_identifier_inside_a_longer_cell_is_a_leak_with_advice() -> None:
    from synthpipe.evaluation.privacy import pii_leakage

    real = {"ssn": pd.Series(["526-29-1789", "123-45-6789"]),
            "email": pd.Series(["Mary.Okafor@mail.example"])}
    published = pd.DataFrame({
        "ssn": ["111-22-3333", "444-55-6666", "777-88-9999"],
        "tag": ["SSN:526-29-1789", "SSN:222-33-4444", "n/a"],  # a modelled label
        "note": ["wrote to MARY.OKAFOR@mail.example", "ok", "ref 526 29 1789"],
    })
    out = pii_leakage(published, real)
    assert out["total"] == 3
    assert out["per_column"]["ssn"]["found_in"] == {"tag": 1, "note": 1}
    assert out["per_column"]["email"]["found_in"] == {"note": 1}
    tag = next(f for f in out["findings"] if f["column"] == "tag")
    assert (tag["identifier"], tag["match"], tag["cells"]) == ("ssn", "inside", 1)
    assert tag["leak"] is True
    assert tag["examples"] == ["52***"]
    assert "tag is learned or copied from the real table" in tag["advice"]
    assert "set a fake or drop policy for tag" in tag["advice"]
    assert "ssn found in tag (inside, 1 cells)" in out["message"]


def test_numbers_equal_by_chance_are_coincidences_and_copies_are_leaks() -> None:
    from synthpipe.evaluation.privacy import pii_leakage

    rng = np.random.default_rng(0)
    policies = pd.Series(rng.choice(np.arange(100_000, 1_000_000), 2_000, replace=False))
    amounts = rng.integers(100_000, 1_000_000, 1_000).astype(float)
    amounts[0] = float(policies.iloc[0])  # one amount equal to a policy number
    published = pd.DataFrame({"claim_amount": amounts})
    out = pii_leakage(published, {"policy_no": policies})
    (finding,) = out["findings"]
    assert (finding["match"], finding["leak"]) == ("number", False)
    assert 0 < finding["expected_by_chance"] < 10
    assert "nothing to do" in finding["advice"] and "never saw policy_no" in finding["advice"]
    assert out["total"] == 0
    assert out["per_column"]["policy_no"]["coincidences"] == {"claim_amount": finding["cells"]}
    assert out["per_column"]["policy_no"]["found_in"] == {}
    assert "numeric coincidences" in out["message"]

    # A column that copies the policy numbers is far beyond chance: a leak.
    copied = pd.DataFrame({"ref": policies.iloc[:300].to_numpy()})
    out = pii_leakage(copied, {"policy_no": policies})
    (finding,) = out["findings"]
    assert (finding["match"], finding["leak"], finding["cells"]) == ("number", True, 300)
    assert "ref holds policy_no's values" in finding["advice"]
    assert out["total"] == 300

    # In the identifier's own (faked) column any real value is a defect of the fakes.
    own = pd.DataFrame({"policy_no": [int(policies.iloc[5]), 5]})
    (finding,) = pii_leakage(own, {"policy_no": policies})["findings"]
    assert finding["leak"] and finding["match"] == "same"
    assert "defect of the fake values" in finding["advice"]
    assert "'policy_no: drop'" in finding["advice"]
