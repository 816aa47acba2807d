"""DPO and KTO on the tiny model (2 steps): loss logged, weights changed, version registered; guardrail pairs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from fakes import ScriptedEngine
from safetensors.torch import load_file

from marketing_gen.config import get_settings
from marketing_gen.errors import InvalidRequest
from marketing_gen.training.datasets import format_fields
from marketing_gen.training.preference import guardrail_pairs, train_preference
from marketing_gen.training.teacher import teacher_fields


def _prompt(i: int) -> list[dict]:
    return [{"role": "system", "content": "Write an email subject."}, {"role": "user", "content": f"lantern {i}"}]


def _changed(a: Path, b: Path) -> bool:
    before, after = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    return any(not torch.equal(before[k], after[k]) for k in before)


def test_dpo_two_steps(tiny_base: str, tiny_model_dir: Path) -> None:
    rows = [
        {
            "prompt": _prompt(i),
            "chosen": [{"role": "assistant", "content": f"SUBJECT: A warm lantern {i}"}],
            "rejected": [{"role": "assistant", "content": "buy buy buy"}],
        }
        for i in range(4)
    ]
    info = train_preference(
        tiny_base,
        rows,
        method="dpo",
        settings=get_settings(),
        max_steps=2,
        batch_size=2,
        learning_rate=1e-3,
        output_name="tiny-dpo",
        progress=False,
    )
    assert info.kind == "dpo" and info.base == tiny_base
    assert info.metrics["train"]["steps"] == 2 and info.metrics["train"]["first_loss"] is not None
    assert _changed(tiny_model_dir, Path(info.path))


def test_kto_two_steps(tiny_base: str, tiny_model_dir: Path) -> None:
    rows = [
        {
            "prompt": _prompt(i),
            "completion": [{"role": "assistant", "content": f"SUBJECT: lantern {i}"}],
            "label": i % 2 == 0,
        }
        for i in range(8)
    ]
    info = train_preference(
        tiny_base,
        rows,
        method="kto",
        settings=get_settings(),
        max_steps=2,
        batch_size=4,
        learning_rate=1e-3,
        output_name="tiny-kto",
        desirable_weight=1.0,
        progress=False,
    )
    assert info.kind == "kto" and info.metrics["train"]["steps"] == 2
    assert info.hyperparameters["method"] == "kto"
    assert _changed(tiny_model_dir, Path(info.path))


def test_rejects_rows_of_the_wrong_shape(tiny_base: str) -> None:
    with pytest.raises(InvalidRequest, match="chosen"):
        train_preference(
            tiny_base, [{"prompt": _prompt(0), "completion": []}], method="dpo", settings=get_settings(), max_steps=1
        )
    with pytest.raises(InvalidRequest, match="both desirable"):
        train_preference(
            tiny_base,
            [{"prompt": _prompt(0), "completion": [], "label": True}],
            method="kto",
            settings=get_settings(),
            max_steps=1,
        )


def test_guardrail_pairs_reject_failing_copy_and_choose_passing_or_teacher(make_context) -> None:
    context = make_context(0)
    teacher = format_fields(teacher_fields(context, "email"), "email")
    failing = "SUBJECT: Huge sale, hurry, today only!"
    engine = ScriptedEngine(texts=[failing, teacher, failing, failing])
    pairs = guardrail_pairs(engine, [context, make_context(1)], ["email"], n=2)
    assert len(pairs) == 2
    assert pairs[0]["rejected"][0]["content"] == failing
    assert pairs[0]["meta"]["chosen_source"] == "model"
    assert pairs[1]["meta"]["chosen_source"] == "teacher"
    assert pairs[1]["chosen"][0]["content"] == format_fields(teacher_fields(make_context(1), "email"), "email")
