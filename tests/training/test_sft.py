"""SFT on the tiny model: loss logged, weights changed, version registered; LoRA merges; layer freezing."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from marketing_gen.config import get_settings
from marketing_gen.errors import InvalidRequest
from marketing_gen.training.sft import SFTParams, train_sft
from marketing_gen.versions.registry import get_version


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path / "model.safetensors"))


def test_full_sft_two_steps_logs_loss_changes_weights_and_registers(
    short_rows: list, tiny_base: str, tiny_model_dir: Path
) -> None:
    settings = get_settings()
    info = train_sft(
        tiny_base,
        short_rows,
        settings=settings,
        output_name="tiny-sft",
        dataset_hash="abc123",
        params=SFTParams(max_steps=2, batch_size=2, logging_steps=1, save_steps=100, max_length=128),
        progress=False,
    )

    assert info.kind == "sft" and info.base == tiny_base and info.dataset_hash == "abc123"
    assert not info.is_active
    stored = get_version("tiny-sft", url=settings.database_url)
    train = stored.metrics["train"]
    assert train["steps"] == 2
    assert train["first_loss"] is not None and train["first_loss"] > 0
    assert stored.hyperparameters["learning_rate"] == pytest.approx(1e-3)
    before, after = _weights(tiny_model_dir), _weights(Path(info.path))
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed, "no weight changed after two steps at lr 1e-3"
    assert (Path(info.path) / "tokenizer_config.json").is_file()
    assert not (settings.models_dir / "checkpoints" / "tiny-sft").exists()
    # trained on zero-shot rows → served zero-shot; the base model keeps its example turn
    from marketing_gen.llm.engine import Engine

    tuned = Engine.from_path(info.path, settings=settings)
    assert tuned.zero_shot_channels == {"email"}  # the rows' channel, trained without the example turn
    assert tuned.few_shot_for("email") is False and tuned.few_shot_for("sms") is True
    assert Engine.from_path(tiny_model_dir, settings=settings).few_shot_for("email") is True


def test_train_layers_freezes_embeddings_and_lower_layers(
    short_rows: list, tiny_base: str, tiny_model_dir: Path
) -> None:
    info = train_sft(
        tiny_base,
        short_rows,
        settings=get_settings(),
        output_name="tiny-top1",
        params=SFTParams(max_steps=2, batch_size=2, train_layers=1, save_steps=100, max_length=128),
        progress=False,
    )
    before, after = _weights(tiny_model_dir), _weights(Path(info.path))
    assert torch.equal(before["model.embed_tokens.weight"], after["model.embed_tokens.weight"])
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("model.layers.0."))
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("model.layers.1."))


def test_lora_run_saves_a_merged_plain_model(short_rows: list, tiny_base: str) -> None:
    info = train_sft(
        tiny_base, short_rows, settings=get_settings(), lora=True, max_steps=2, output_name="tiny-lora", progress=False
    )
    out = Path(info.path)
    assert (out / "model.safetensors").is_file()
    assert not (out / "adapter_config.json").exists()
    assert not any("lora" in k for k in _weights(out))
    assert info.hyperparameters["lora"] is True and info.hyperparameters["learning_rate"] == pytest.approx(5e-4)


def test_resume_from_checkpoint_continues_the_step_count(
    short_rows: list, tiny_base: str, tiny_model_dir: Path
) -> None:
    from marketing_gen.training.sft import run_sft

    settings = get_settings()
    checkpoints = settings.models_dir / "checkpoints" / "resumed"
    params = SFTParams(max_steps=2, batch_size=2, save_steps=2, logging_steps=1, max_length=128)
    first = run_sft(
        tiny_model_dir,
        short_rows,
        settings.models_dir / "first",
        params=params,
        checkpoint_dir=checkpoints,
        progress=False,
    )
    assert (checkpoints / "checkpoint-2").is_dir()
    # Different rows: had steps 1–2 been re-run, their logged losses would differ from the first run's.
    other = [
        {**r, "completion": [{"role": "assistant", "content": "HEADLINE: something else entirely"}]} for r in short_rows
    ]
    longer = SFTParams(max_steps=3, batch_size=2, save_steps=100, logging_steps=1, max_length=128)
    result = run_sft(
        tiny_model_dir, other, settings.models_dir / "second", params=longer, checkpoint_dir=checkpoints, progress=False
    )
    assert result.steps == 3
    logged = [h for h in result.log_history if "loss" in h]
    assert [h["step"] for h in logged] == [1, 2, 3]
    assert [h["loss"] for h in logged[:2]] == [first.first_loss, first.last_loss]


def test_refuses_existing_output_dir_and_empty_rows(short_rows: list, tiny_base: str) -> None:
    settings = get_settings()
    with pytest.raises(InvalidRequest, match="no training rows"):
        train_sft(tiny_base, [], settings=settings, output_name="empty", max_steps=1, progress=False)
    (settings.models_dir / "taken").mkdir(parents=True)
    (settings.models_dir / "taken" / "x").write_text("x")
    with pytest.raises(InvalidRequest, match="already exists"):
        train_sft(tiny_base, short_rows, settings=settings, output_name="taken", max_steps=1, progress=False)
