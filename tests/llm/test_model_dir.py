"""The version file a trained model dir carries."""

from __future__ import annotations

from pathlib import Path

from marketing_gen.llm.model_dir import PROMPT_FORMAT, read_version_file, write_version_file


def test_a_trained_model_records_the_prompt_format_it_learnt(tmp_path: Path) -> None:
    """Serving reads it: a slot model of format 1 learnt rule lines that format 2 prompts no longer carry."""
    write_version_file(tmp_path, base="b", kind="sft", slot_channels=["email"])
    (tmp_path / "config.json").write_text("{}")
    info = read_version_file(tmp_path)
    assert info is not None and info["prompt_format"] == PROMPT_FORMAT == 2
    assert info["slot_channels"] == ["email"]
