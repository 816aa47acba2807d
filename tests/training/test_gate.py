"""The promotion gate refuses a candidate worse on any hard metric, accepts with --force or when not worse."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from marketing_gen.cli import main
from marketing_gen.config import get_settings
from marketing_gen.training.gate import promote
from marketing_gen.versions.registry import active_version, register_version, store_metrics


def _eval(pass_rate: float, grounding: float = 0.1, eval_set: str = "set-1") -> dict:
    return {
        "eval": {
            "eval_set": eval_set,
            "n": 50,
            "channels": {
                "email": {"pass_rate": pass_rate, "grounding_error_rate": grounding, "parse_fail_rate": 0.0},
                "google_ads_rsa": {"pass_rate": 0.9, "grounding_error_rate": 0.0, "parse_fail_rate": 0.0},
            },
        }
    }


@pytest.fixture
def versions(settings_env: None) -> str:
    url = get_settings().database_url
    register_version("base", "/m/base", kind="base", metrics=_eval(0.60), activate=True, url=url)
    register_version("worse", "/m/worse", kind="sft", base="base", metrics=_eval(0.55), url=url)
    register_version("ungrounded", "/m/u", kind="sft", base="base", metrics=_eval(0.95, grounding=0.2), url=url)
    register_version("better", "/m/better", kind="sft", base="base", metrics=_eval(0.92, grounding=0.05), url=url)
    register_version("unevaluated", "/m/x", kind="sft", base="base", url=url)
    register_version("other-set", "/m/o", kind="sft", base="base", metrics=_eval(0.99, eval_set="set-2"), url=url)
    return url


def test_refuses_a_candidate_worse_on_any_hard_metric(versions: str) -> None:
    for name, metric in (("worse", "pass_rate"), ("ungrounded", "grounding_error_rate")):
        decision = promote(name, url=versions)
        assert not decision.promoted
        assert any(r.startswith(f"email {metric}") for r in decision.reasons)
        assert active_version(url=versions).name == "base"


def test_force_promotes_and_keeps_the_reasons(versions: str) -> None:
    decision = promote("worse", force=True, url=versions)
    assert decision.promoted and decision.forced and decision.reasons
    assert active_version(url=versions).name == "worse"


def test_promotes_a_candidate_that_is_not_worse(versions: str) -> None:
    decision = promote("better", url=versions)
    assert decision.promoted and not decision.reasons
    assert decision.compared["email"]["pass_rate"] == (0.92, 0.60)
    assert active_version(url=versions).name == "better"


def test_refuses_what_it_cannot_compare(versions: str) -> None:
    assert "eval copy --model unevaluated" in promote("unevaluated", url=versions).reasons[0]
    assert "different held-out sets" in promote("other-set", url=versions).reasons[0]
    store_metrics("unevaluated", _eval(0.7), url=versions)
    assert promote("unevaluated", url=versions).promoted


def test_cli_promote_refuses_then_forces(versions: str) -> None:
    runner = CliRunner()
    refused = runner.invoke(main, ["model", "promote", "worse"])
    assert refused.exit_code != 0 and "refused to promote worse" in refused.output
    assert "email pass_rate" in refused.output
    forced = runner.invoke(main, ["model", "promote", "worse", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "promoted worse" in forced.output and "forced" in forced.output
    assert active_version(url=versions).name == "worse"


def _sendable(pass_rate: float, sendable: float) -> dict:
    metrics = _eval(pass_rate)
    for channel in metrics["eval"]["channels"].values():
        channel["sendable_rate"] = sendable
    return metrics


def test_with_sendable_rates_the_gate_compares_what_could_be_sent(settings_env: None) -> None:
    """The demo's SMS: the base passed the hard checks more often (83 %) but was sendable less (42 %) than the
    fine-tune (58 % / 58 %): promoted. A candidate less sendable is refused, whatever its pass rate."""
    url = get_settings().database_url
    register_version("base", "/m/base", kind="base", metrics=_sendable(0.83, 0.42), activate=True, url=url)
    register_version("ft", "/m/ft", kind="sft", base="base", metrics=_sendable(0.58, 0.58), url=url)
    register_version("junk", "/m/junk", kind="sft", base="base", metrics=_sendable(0.99, 0.40), url=url)
    refused = promote("junk", url=url)
    assert not refused.promoted and refused.reasons[0].startswith("email sendable_rate: 40.00% vs active 42.00%")
    decision = promote("ft", url=url)
    assert decision.promoted and decision.compared["email"] == {"sendable_rate": (0.58, 0.42)}
