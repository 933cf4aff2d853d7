"""Candidates: the score, the selection rule, the summary, and the per-candidate fan-out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from synthpipe.config import SAMPLE_TABLE, load_config
from synthpipe.metadata import ColumnKind, ColumnMeta, TableMetadata
from synthpipe.pipeline.candidates import (
    SELECTION_RULE,
    Candidate,
    candidate_score,
    candidates_summary,
    select_candidate,
    try_candidates,
)
from synthpipe.pipeline.plan import RunPlan
from synthpipe.pipeline.steps.input import Ingested
from synthpipe.pipeline.steps.protect import Protected
from synthpipe.pipeline.steps.train import training_key


def _metrics(shapes=None, trends=None, detection=None, roc_ratio=None) -> dict:
    fid = {}
    if shapes is not None:
        fid["column_shapes"] = {"synthetic": shapes}
    if trends is not None:
        fid["pair_trends"] = {"synthetic": trends}
    if detection is not None:
        fid["detection"] = {"synthetic": detection}
    out: dict = {"fidelity": fid}
    if roc_ratio is not None:
        # The shape utility_report writes (see the test against a real report below).
        out["utility"] = {"metrics": {"roc_auc": {"ratio": roc_ratio}}}
    return out


def test_the_score_is_the_mean_of_the_scores_present():
    assert candidate_score(_metrics(shapes=0.9, trends=0.7)) == pytest.approx(0.8)
    assert candidate_score(_metrics(shapes=0.9)) == pytest.approx(0.9)


@pytest.mark.parametrize(("auc", "score"), [(0.5, 1.0), (0.75, 0.5), (1.0, 0.0), (0.25, 0.5)])
def test_detection_scores_one_at_chance_and_zero_when_always_caught(auc, score):
    assert candidate_score(_metrics(detection=auc)) == pytest.approx(score)


def test_the_utility_ratio_counts_capped_at_one():
    assert candidate_score(_metrics(shapes=0.8, roc_ratio=1.4)) == pytest.approx(0.9)
    assert candidate_score(_metrics(shapes=0.8, roc_ratio=0.6)) == pytest.approx(0.7)


def test_the_utility_ratio_is_read_from_a_real_utility_report():
    """The score reads the key utility_report writes (it once read one nobody wrote, so every
    candidate's utility was silently left out)."""
    import numpy as np

    from synthpipe.evaluation.utility import utility_report
    from synthpipe.pipeline.candidates import score_parts

    rng = np.random.default_rng(0)
    x = rng.normal(size=600)
    real = pd.DataFrame({"x": x, "y": np.where(x + rng.normal(size=600) * 0.5 > 0, "Y", "N")})
    noise = real.assign(y=rng.permutation(real["y"].to_numpy()))  # the label carries nothing
    meta = TableMetadata({"x": ColumnMeta("x", ColumnKind.NUMERICAL, "float64"),
                          "y": ColumnMeta("y", ColumnKind.CATEGORICAL, "object")})
    good = utility_report(real.iloc[:400], real.iloc[400:], real.iloc[:400], "y", meta)
    bad = utility_report(real.iloc[:400], real.iloc[400:], noise.iloc[:400], "y", meta)
    good_part = score_parts({"utility": good})["utility"]
    bad_part = score_parts({"utility": bad})["utility"]
    assert good_part == pytest.approx(1.0)
    assert bad_part < 0.8


def test_one_broken_pair_lowers_the_score_where_the_mean_hides_it():
    from synthpipe.pipeline.candidates import score_parts

    pairs = [{"columns": [f"a{i}", f"b{i}"], "synthetic": 0.95, "holdout": 0.95}
             for i in range(40)]
    broken = [*pairs[:-1], {"columns": ["month", "claim_month"], "synthetic": 0.3,
                            "holdout": 0.95}]
    fine = {"fidelity": {"pair_trends": {"synthetic": 0.95, "per_pair": pairs}}}
    hurt = {"fidelity": {"pair_trends": {"synthetic": 0.934, "per_pair": broken}}}
    assert score_parts(fine)["worst_pairs"] == pytest.approx(1.0)
    assert score_parts(hurt)["worst_pairs"] == pytest.approx(1.0 - 0.65 / 5)
    assert candidate_score(hurt) < candidate_score(fine) - 0.06


def test_no_score_at_all_is_zero():
    assert candidate_score({}) == 0.0
    assert candidate_score({"fidelity": {"column_shapes": {"error": "failed"}}}) == 0.0


def _cand(name: str, score: float, failed: tuple[str, ...] = ()) -> Candidate:
    verdict = {"publishable": not failed, "failed": list(failed)}
    return Candidate(
        name=name, model_path=f"/models/{name}", synthetic=pd.DataFrame(),
        published=pd.DataFrame(), plan={}, metrics=_metrics(shapes=score), suite_report={},
        suite_json={}, verdict=verdict, cache_key=f"{name}-key",
    )


def test_a_candidate_that_passes_every_blocking_gate_beats_a_better_scoring_one_that_fails():
    cands = [_cand("tvae", 0.99, failed=("mia_auc",)), _cand("flow", 0.5)]
    assert select_candidate(cands) == 1


def test_among_failing_candidates_fewer_blocking_failures_win():
    cands = [
        _cand("tvae", 0.9, failed=("mia_auc", "dcr_share")),
        _cand("flow", 0.1, failed=("mia_auc",)),
    ]
    assert select_candidate(cands) == 1


def test_among_passing_candidates_the_higher_score_wins():
    assert select_candidate([_cand("tvae", 0.7), _cand("tabddpm", 0.8), _cand("flow", 0.75)]) == 1


def test_a_tie_goes_to_the_candidate_tried_first():
    assert select_candidate([_cand("tvae", 0.8), _cand("flow", 0.8)]) == 0
    assert select_candidate([_cand("tvae", 0.8, ("a",)), _cand("flow", 0.8, ("b",))]) == 0


def test_the_summary_names_the_rule_the_choice_and_each_models_scores():
    cands = [_cand("tvae", 0.61234, failed=("mia_auc",)), _cand("flow", 0.5)]
    cands[1].metrics["utility"] = {"metrics": {"roc_auc": {"ratio": 0.9}}}
    summary = candidates_summary(cands, cands[1])
    assert summary["rule"] == SELECTION_RULE
    assert summary["chosen"] == "flow"
    assert [m["name"] for m in summary["models"]] == ["tvae", "flow"]
    first, second = summary["models"]
    assert first["publishable"] is False and first["failed_gates"] == ["mia_auc"]
    assert first["score"] == 0.6123
    assert first["column_shapes"] == {"synthetic": 0.61234}
    assert first["pair_trends"] is None
    assert first["score_parts"] == {"column_shapes": 0.6123}
    assert second["score_parts"]["utility"] == 0.9


# ----------------------------------------------------------------------------- fan-out

STEP_ORDER = ["train", "sample", "finish_output", "validate_synthetic", "evaluate", "gate"]


class StubRunner:
    """Records the steps it is asked to run and answers each with a stand-in."""

    def __init__(self, folder: Path, lost: str | None = None) -> None:
        self.folder, self.lost = folder, lost
        self.steps: list[tuple[str, str, int]] = []
        self.train_calls: list[tuple] = []
        self.gated: list[dict] = []

    def run(self, name, fn, *args):
        self.steps.append((name, fn.__name__, 1))
        return self._answer(name, args, again=True)

    def map(self, name, fn, calls):
        self.steps.append((name, fn.__name__, len(calls)))
        return [self._answer(name, args) for args in calls]

    def _answer(self, name, args, again=False):
        if name in ("train", "train_again"):
            self.train_calls.append(args)
            model = args[3]
            path = self.folder / (f"{model}-again" if again else model)
            if model != self.lost or again:
                path.mkdir()
                (path / "config.json").write_text("{}")
            return str(path)
        if name == "sample":
            path, rows = args[0], args[1]
            return pd.DataFrame({"amount": [1.0] * rows, "fraud": ["Y"] * rows}), {
                "mode": "unconditional", "rows": rows, "from": path}
        if name == "finish_output":
            return args[0].assign(claim_id=range(len(args[0])))
        if name == "validate_synthetic":
            return {"success": True, "model": args[4]}, {"suite_of": args[4]}
        if name == "evaluate":
            score = 0.9 if "flow" in args[7] else 0.6
            return _metrics(shapes=score)
        if name == "gate":
            self.gated.append(args[0])
            return {"publishable": True, "failed": []}
        raise AssertionError(f"unexpected step {name}")


def _setting(models: list[str]):
    cfg = load_config(None, table=SAMPLE_TABLE, model_name="auto", models=models,
                      target="fraud")
    df = pd.DataFrame({"claim_id": range(6), "amount": [1.0] * 6, "fraud": ["Y", "N"] * 3})
    meta = TableMetadata({
        "claim_id": ColumnMeta("claim_id", ColumnKind.ID, "int64"),
        "amount": ColumnMeta("amount", ColumnKind.NUMERICAL, "float64"),
        "fraud": ColumnMeta("fraud", ColumnKind.CATEGORICAL, "object"),
    })
    ing = Ingested(df=df, path="/in.csv", sha256="abc", metadata=meta)
    prot = Protected(df=df, actions={}, findings=[], action_log=[])
    plan = RunPlan(
        candidates=tuple(models), columns=("amount", "fraud"),
        class_counts={"N": 3, "Y": 3}, counts=None, n_rows=4, chunks=((4, None),),
    )
    return cfg, plan, ing, prot, df, meta.subset(["amount", "fraud"])


def test_every_candidate_goes_through_the_steps_in_order(tmp_path):
    cfg, plan, ing, prot, df, meta = _setting(["tvae", "flow"])
    runner = StubRunner(tmp_path)
    contract = {"success": True, "source": "baseline"}
    cands = try_candidates(runner, cfg, plan, ing, prot, df, df, meta, contract)
    assert [s[0] for s in runner.steps] == STEP_ORDER
    assert [s[1] for s in runner.steps] == [
        "train_model", "sample", "finish_output", "validate_synthetic", "evaluate", "gate"]
    assert all(n == 2 for _, _, n in runner.steps)
    assert [c.name for c in cands] == ["tvae", "flow"]
    assert [c.cache_key for c in cands] == [training_key("abc", cfg, m) for m in ["tvae", "flow"]]
    assert [c.model_path for c in cands] == [str(tmp_path / "tvae"), str(tmp_path / "flow")]
    # Each model is trained on the modelled columns only, and judged on the first chunk.
    assert all(list(call[0].columns) == ["amount", "fraud"] for call in runner.train_calls)
    assert all(c.plan["rows"] == 4 and c.plan["from"] == c.model_path for c in cands)
    assert all(c.suite_json == {"suite_of": c.model_path} for c in cands)
    assert "claim_id" in cands[0].published and "claim_id" not in cands[0].synthetic


def test_the_gate_sees_the_contract_the_suite_and_the_sampling_plan(tmp_path):
    cfg, plan, ing, prot, df, meta = _setting(["tvae", "flow"])
    runner = StubRunner(tmp_path)
    contract = {"success": True}
    cands = try_candidates(runner, cfg, plan, ing, prot, df, df, meta, contract)
    for c, gated in zip(cands, runner.gated, strict=True):
        assert gated is c.metrics
        assert c.metrics["input_contract"] is contract
        assert c.metrics["synthetic_suite"] == c.suite_report
        assert c.metrics["sampling"] is c.plan
        assert c.plan["train_class_counts"] == {"N": 3, "Y": 3}
    assert cands[1].metrics["fidelity"]["column_shapes"]["synthetic"] == 0.9


def test_a_model_folder_that_is_gone_is_trained_again(tmp_path):
    cfg, plan, ing, prot, df, meta = _setting(["tvae", "flow"])
    runner = StubRunner(tmp_path, lost="flow")
    cands = try_candidates(runner, cfg, plan, ing, prot, df, df, meta, {})
    assert [s[0] for s in runner.steps][:2] == ["train", "train_again"]
    assert runner.train_calls[2][3] == "flow"  # the same call as the first time
    assert runner.train_calls[2][4] == runner.train_calls[1][4]
    assert cands[1].model_path == str(tmp_path / "flow-again")


def test_progress_is_named_after_the_model_only_when_there_are_several(tmp_path):
    seen = []

    def progress(phase, i, n, info):
        seen.append(phase)

    for models in (["tvae"], ["tvae", "flow"]):
        cfg, plan, ing, prot, df, meta = _setting(models)
        runner = StubRunner(tmp_path / str(len(models)))
        runner.folder.mkdir()
        try_candidates(runner, cfg, plan, ing, prot, df, df, meta, {}, progress)
        for call in runner.train_calls:
            call[5]("fit", 1, 2, {})
    assert seen == ["fit", "fit tvae", "fit flow"]
