"""``marketing-gen lint``: exit 0 ok, 1 violations, 2 bad input; JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from marketing_gen.cli import main

CONTEXT = {
    "first_name": "Anna",
    "locale": "en",
    "offer": "50%",
    "items": [{"title": "White Heart Holder", "price": 2.55, "currency": "GBP"}],
}


def _run(tmp_path: Path, channel: str, draft: object, context: object | None = None, *extra: str):
    draft_file = tmp_path / "draft.json"
    draft_file.write_text(draft if isinstance(draft, str) else json.dumps(draft), encoding="utf-8")
    args = ["lint", "--channel", channel, "--draft", str(draft_file), *extra]
    if context is not None:
        ctx_file = tmp_path / "context.json"
        ctx_file.write_text(context if isinstance(context, str) else json.dumps(context), encoding="utf-8")
        args += ["--context", str(ctx_file)]
    return CliRunner().invoke(main, args)


def test_clean_copy_exits_0(tmp_path: Path) -> None:
    draft = {
        "headlines": ["White Heart Holder", "Soft Light For Evenings", "Picked For You"],
        "descriptions": ["The White Heart Holder is £2.55.", "Now 50% off for you."],
    }
    result = _run(tmp_path, "google_ads_rsa", draft, CONTEXT, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ok"] is True


def test_violations_exit_1_with_codes(tmp_path: Path) -> None:
    draft = {
        "headlines": ["Heart Holder Now Only £2.55", "Today only: 60% off everything!!"],
        "descriptions": ["x" * 91, "Fine."],
    }
    result = _run(tmp_path, "google_ads_rsa", draft, CONTEXT, "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    codes = {v["code"] for v in report["violations"]}
    assert {
        "count.headlines",
        "length.headlines",
        "length.descriptions",
        "grounding.percent",
        "compliance.urgency",
    } <= codes
    assert all({"code", "field", "message"} <= set(v) for v in report["violations"])


def test_offer_50_vs_copy_60_is_a_grounding_violation(tmp_path: Path) -> None:
    result = _run(tmp_path, "social_reply", {"text": "Good news: 60% off the White Heart Holder!"}, CONTEXT, "--json")
    assert result.exit_code == 1
    assert [v["code"] for v in json.loads(result.output)["violations"]] == ["grounding.percent"]
    ok = _run(tmp_path, "social_reply", {"text": "Good news: 50% off the White Heart Holder!"}, CONTEXT, "--json")
    assert ok.exit_code == 0, ok.output


def test_sms_needs_opt_out_and_brand(tmp_path: Path) -> None:
    context = {**CONTEXT, "brand": {"name": "Acme"}}
    result = _run(tmp_path, "sms", {"text": "New heart holders are in"}, context, "--json")
    codes = {v["code"] for v in json.loads(result.output)["violations"]}
    assert result.exit_code == 1 and {"sms.optout", "sms.brand"} <= codes


def test_without_context_grounding_is_skipped_and_said(tmp_path: Path) -> None:
    result = _run(tmp_path, "push", {"title": "Only £99", "body": "A lamp for you."}, None, "--json")
    assert result.exit_code == 0
    assert json.loads(result.output)["skipped"] == ["grounding", "quality.language"]


def test_human_output(tmp_path: Path) -> None:
    result = _run(tmp_path, "push", {"title": "Hurry, last chance", "body": "x"})
    assert result.exit_code == 1
    assert "compliance.urgency" in result.output


@pytest.mark.parametrize(
    ("channel", "draft", "context", "message"),
    [
        ("fax", {"text": "x"}, None, "valid channels"),
        ("sms", "{not json", None, "not valid JSON"),
        ("sms", "[1, 2]", None, "JSON object"),
        ("sms", {"text": "x"}, "{", "not valid JSON"),
        ("sms", {"text": "x"}, {"items": [{"title": "A", "price": "abc"}]}, "price must be a number"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, channel: str, draft: object, context: object, message: str) -> None:
    result = _run(tmp_path, channel, draft, context)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_missing_draft_file_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["lint", "--channel", "sms", "--draft", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "cannot read draft file" in result.output
