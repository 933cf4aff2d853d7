"""Publication gates on crafted metrics dicts."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from synthpipe.config import GateConfig
from synthpipe.errors import ConfigError
from synthpipe.evaluation import gates


def _good() -> dict[str, Any]:
    return {
        "fidelity": {
            "column_shapes": {"synthetic": 0.95, "holdout": 0.98},
            "pair_trends": {"synthetic": 0.9, "holdout": 0.95},
            "detection": {"synthetic": 0.6, "holdout": 0.5},
        },
        "utility": None,
        "privacy": {
            "identical_match_share": {"synthetic": 0.001, "holdout": 0.002},
            "dcr": {"dcr_share": 0.51},
            "membership_inference": {"synthetic": 0.52},
            "pii_leakage": {"status": "ok", "total": 0},
        },
        "synthetic_suite": {"success": True},
        "rules": {"rules": [{"rule": "t = a + b", "violations": 0}], "violations": 0},
    }


def _check(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in result["checks"] if c["name"] == name)


def test_good_metrics_publish_with_every_check_listed() -> None:
    out = gates(_good(), GateConfig())
    assert out["publishable"] is True
    assert out["failed"] == [] and out["warnings"] == [] and out["skipped"] == []
    names = [c["name"] for c in out["checks"]]
    assert names == [
        "mia_auc", "dcr_share", "identical_match_share", "pii_leaks", "synthetic_suite",
        "business_rules", "column_shapes", "pair_trends", "detection_auc",
    ]
    mia = _check(out, "mia_auc")
    assert mia["category"] == "privacy" and mia["severity"] == "block"
    assert mia["op"] == "<=" and mia["threshold"] == 0.60 and mia["passed"] is True


@pytest.mark.parametrize(
    ("path", "value", "failed"),
    [
        (("membership_inference", "synthetic"), 0.61, "mia_auc"),
        (("dcr", "dcr_share"), 0.56, "dcr_share"),
        (("identical_match_share", "synthetic"), 0.003, "identical_match_share"),
        (("pii_leakage", "total"), 1, "pii_leaks"),
    ],
)
def test_each_privacy_breach_blocks(path: tuple[str, str], value: float, failed: str) -> None:
    metrics = _good()
    metrics["privacy"][path[0]][path[1]] = value
    out = gates(metrics, GateConfig())
    assert out["publishable"] is False
    assert out["failed"] == [failed]
    check = _check(out, failed)
    assert check["passed"] is False and check["status"] == "failed"
    assert check["message"]


def test_identical_match_compares_with_the_holdout_share_plus_margin() -> None:
    metrics = _good()
    metrics["privacy"]["identical_match_share"] = {"synthetic": 0.03, "holdout": 0.02}
    assert "identical_match_share" in gates(metrics, GateConfig())["failed"]
    relaxed = gates(metrics, GateConfig(identical_match_margin=0.01))
    assert relaxed["publishable"] is True
    assert _check(relaxed, "identical_match_share")["threshold"] == pytest.approx(0.03)


@pytest.mark.parametrize("missing", ["membership_inference", "dcr", "identical_match_share"])
def test_a_privacy_metric_that_could_not_be_computed_fails_closed(missing: str) -> None:
    metrics = _good()
    metrics["privacy"][missing] = {"error": "RuntimeError: boom"}
    out = gates(metrics, GateConfig())
    assert out["publishable"] is False
    name = {"membership_inference": "mia_auc", "dcr": "dcr_share"}.get(missing, missing)
    assert out["failed"] == [name]
    assert "boom" in _check(out, name)["message"]


def test_no_privacy_section_fails_every_privacy_check() -> None:
    metrics = _good()
    del metrics["privacy"]
    out = gates(metrics, GateConfig())
    assert out["failed"] == ["mia_auc", "dcr_share", "identical_match_share", "pii_leaks"]


def test_nan_privacy_value_fails_closed() -> None:
    metrics = _good()
    metrics["privacy"]["membership_inference"]["synthetic"] = math.nan
    assert gates(metrics, GateConfig())["failed"] == ["mia_auc"]


def test_pii_scan_not_requested_is_skipped_not_passed() -> None:
    metrics = _good()
    metrics["privacy"]["pii_leakage"] = {"status": "not_requested", "total": None}
    out = gates(metrics, GateConfig())
    assert out["publishable"] is True
    check = _check(out, "pii_leaks")
    assert check["status"] == "skipped" and check["passed"] is None
    assert out["skipped"] == ["pii_leaks"]


def test_pii_scan_that_errored_fails_closed() -> None:
    metrics = _good()
    metrics["privacy"]["pii_leakage"] = {"error": "KeyError: x", "total": None}
    assert gates(metrics, GateConfig())["failed"] == ["pii_leaks"]


def test_suite_failure_blocks_or_warns_by_config() -> None:
    metrics = _good()
    metrics["synthetic_suite"] = {"success": False}
    assert gates(metrics, GateConfig())["failed"] == ["synthetic_suite"]
    lenient = gates(metrics, GateConfig(require_suite_pass=False))
    assert lenient["publishable"] is True and lenient["warnings"] == ["synthetic_suite"]


def test_suite_not_run_is_skipped() -> None:
    metrics = _good()
    del metrics["synthetic_suite"]
    out = gates(metrics, GateConfig())
    assert out["publishable"] is True and out["skipped"] == ["synthetic_suite"]


def test_fidelity_floors_only_warn() -> None:
    metrics = _good()
    metrics["fidelity"]["column_shapes"]["synthetic"] = 0.5
    metrics["fidelity"]["detection"]["synthetic"] = 0.99
    out = gates(metrics, GateConfig())
    assert out["publishable"] is True
    assert out["warnings"] == ["column_shapes", "detection_auc"]
    assert _check(out, "column_shapes")["severity"] == "warn"


def test_missing_fidelity_is_skipped() -> None:
    metrics = _good()
    metrics["fidelity"]["pair_trends"]["synthetic"] = None
    del metrics["fidelity"]["detection"]
    out = gates(metrics, GateConfig())
    assert out["skipped"] == ["pair_trends", "detection_auc"]
    assert out["publishable"] is True


def test_thresholds_come_from_the_config() -> None:
    metrics = copy.deepcopy(_good())
    metrics["privacy"]["membership_inference"]["synthetic"] = 0.7
    assert gates(metrics, GateConfig(mia_auc_max=0.75))["publishable"] is True
    assert gates(metrics, None)["failed"] == ["mia_auc"]  # defaults: 0.60


def test_bad_arguments_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="metrics dict"):
        gates([], GateConfig())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="GateConfig"):
        gates(_good(), {"mia_auc_max": 0.6})  # type: ignore[arg-type]


def test_an_added_check_extends_the_verdict_without_changing_it() -> None:
    from synthpipe.evaluation.gates import approval_check, with_check

    verdict = gates(_good(), GateConfig())
    before = copy.deepcopy(verdict)
    approved = with_check(verdict, approval_check({"decision": "approved", "by": "dana"}))
    assert verdict == before
    assert approved["publishable"] is True and approved["failed"] == []
    assert approved["checks"][-1]["name"] == "steward_approval"
    assert approved["warnings"] == verdict["warnings"]
    rejected = with_check(approved, approval_check({"decision": "rejected", "by": "eve",
                                                    "comment": "too few rows"}))
    assert rejected["publishable"] is False and rejected["failed"] == ["steward_approval"]
    assert len(rejected["checks"]) == len(verdict["checks"]) + 2


def test_a_failed_verdict_stays_failed_whatever_is_added() -> None:
    from synthpipe.evaluation.gates import approval_check, with_check

    metrics = _good()
    metrics["privacy"]["dcr"]["dcr_share"] = 0.9
    out = with_check(gates(metrics, GateConfig()), approval_check({"decision": "approved"}))
    assert out["publishable"] is False and out["failed"] == ["dcr_share"]


def test_the_steward_decision_is_a_blocking_approval_check() -> None:
    from synthpipe.evaluation.gates import approval_check

    check = approval_check({"decision": "rejected", "by": "eve"})
    assert check["severity"] == "block" and check["category"] == "approval"
    assert check["passed"] is False and check["status"] == "failed"
    assert check["message"] == "rejected by eve: no comment"
    assert approval_check({"decision": "approved", "by": "dana", "comment": "ok"})["message"] == (
        "approved by dana: ok")


def test_leaks_in_any_chunk_block_publication() -> None:
    from synthpipe.evaluation.gates import chunk_leak_check

    clean = chunk_leak_check({"pii_leaks": 0, "parts": 3}, GateConfig())
    assert clean["name"] == "pii_leaks_all_chunks" and clean["passed"] is True
    leaked = chunk_leak_check({"pii_leaks": 2, "parts": 3})
    assert leaked["passed"] is False and leaked["severity"] == "block"
    assert leaked["category"] == "privacy" and "3 parts" in leaked["message"]
    assert chunk_leak_check({"pii_leaks": 2, "parts": 3}, GateConfig(pii_leaks_max=2))["passed"]


def test_a_broken_business_rule_blocks_and_no_rule_is_skipped() -> None:
    metrics = _good()
    metrics["rules"] = {"rules": [{"rule": "t = a + b", "violations": 3}], "violations": 3}
    out = gates(metrics, GateConfig())
    assert out["failed"] == ["business_rules"]
    assert "t = a + b" in _check(out, "business_rules")["message"]
    metrics["rules"] = {"rules": [], "violations": 0}
    assert gates(metrics, GateConfig())["skipped"] == ["business_rules"]
