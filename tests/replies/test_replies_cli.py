"""CLI: `replies suggest --json` prints exactly the documented shape; commands have help."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from marketing_gen.cli import main
from marketing_gen.config import get_settings
from marketing_gen.versions.registry import register_version


def test_escalation_json_without_a_model(settings_env: None) -> None:
    result = CliRunner().invoke(main, ["replies", "suggest", "--text", "My lawyer will sue you", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body == {
        "escalate": True,
        "reason": body["reason"],
        "category": "legal_safety",
        "suggestions": [],
        "ai_generated": False,
        "notice": body["notice"],
    }
    assert body["reason"]


def test_suggest_json_with_the_real_engine(settings_env: None, tiny_model_dir: Path) -> None:
    register_version("tiny", str(tiny_model_dir), activate=True, url=get_settings().database_url)
    result = CliRunner().invoke(
        main, ["replies", "suggest", "--text", "Does the kettle come in black?", "--k", "2", "--m", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output[result.output.index("{") :])
    assert set(body) == {"escalate", "reason", "category", "suggestions", "ai_generated", "notice"}
    assert body["escalate"] is False and body["reason"] is None
    assert len(body["suggestions"]) == 2
    assert all(set(s) == {"text", "intent", "fallback", "ai_mark", "label"} and s["text"] for s in body["suggestions"])
    # every suggestion says where it came from, as the API does; AI text is labelled so
    marks = {s["ai_mark"]: s["label"] for s in body["suggestions"]}
    assert set(marks) <= {"model", "fallback", "retrieved"}
    assert marks.get("model", "AI suggestion") == "AI suggestion"
    assert body["ai_generated"] == ("model" in marks) and "AI model" in body["notice"]


def test_no_model_says_what_to_do(settings_env: None) -> None:
    result = CliRunner().invoke(main, ["replies", "suggest", "--text", "Does it come in black?"])
    assert result.exit_code != 0
    assert "import-base" in result.output


def test_commands_have_help() -> None:
    for args in (["replies", "suggest"], ["replies", "batch"], ["serve"], ["eval", "replies"], ["bench", "replies"]):
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0 and len(result.output) > 100, args


def test_eval_help_states_the_api_token_cap() -> None:
    from marketing_gen.replies.suggest import DEFAULT_MAX_NEW_TOKENS

    result = CliRunner().invoke(main, ["eval", "replies", "--help"])
    assert f"[default: {DEFAULT_MAX_NEW_TOKENS}, the API's cap]" in " ".join(result.output.split())


def test_eval_replies_measures_the_candidates_the_api_serves() -> None:
    """The served rows of `eval replies` are the API's path only if both rank the same number of candidates."""
    from marketing_gen.api.replies import API_CANDIDATES
    from marketing_gen.cli.replies_cmds import EVAL_M, eval_cmd

    assert EVAL_M == API_CANDIDATES
    assert next(p for p in eval_cmd.params if p.name == "m").default == API_CANDIDATES
