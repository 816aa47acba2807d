"""Supervised fine-tuning with TRL's ``SFTTrainer`` on conversational prompt-completion rows.

Owns the training run: config (CPU-safe: ``use_cpu``, no bf16 on CPU; bf16 on CUDA), full fine-tune or LoRA,
logging, checkpoints and resume, saving a plain Hugging Face dir under ``models_dir/<name>`` and registering
it. Does not build rows (``training.datasets``) nor decide promotion (``training.gate``).

Loss is on the completion only: SmolLM2's chat template has no ``{% generation %}`` markers, so
``assistant_only_loss`` cannot work; prompt-completion rows give completion-only loss by default.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from marketing_gen.config import Settings
from marketing_gen.errors import InvalidRequest, ModelLoadError
from marketing_gen.llm.model_dir import slot_channels, write_version_file, zero_shot_channels
from marketing_gen.versions.registry import ModelVersionInfo, get_version, register_version

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SFTParams:
    """Hyperparameters of one SFT run (recorded with the model version)."""

    max_steps: int = 80
    """Optimizer steps (the run's length; epochs follow from rows × batch)."""
    batch_size: int = 8
    """Rows per device per step (before gradient accumulation)."""
    grad_accum: int = 1
    """Gradient accumulation steps."""
    learning_rate: float | None = None
    """Peak learning rate. None: 1e-3 for full fine-tuning (SmolLM2's official SFT recipe), 5e-4 for LoRA."""
    warmup: float = 0.1
    """Warmup as a fraction of ``max_steps`` (cosine decay afterwards)."""
    scheduler: str = "cosine"
    """``transformers`` LR scheduler name."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    max_length: int = 1024
    """Longest tokenized prompt+completion; longer rows are left out (TRL would cut their completion and EOS)."""
    train_layers: int | None = None
    """Full fine-tune only: train just the top N decoder layers (+ final norm); embeddings and lower layers stay
    frozen, so the backward pass stops early (about 1.7× faster with 10 of SmolLM2's 30 layers). None: all."""
    lora: bool = False
    """Train LoRA adapters (peft) and merge them into a plain model dir, instead of all weights."""
    lora_r: int = 16
    """LoRA rank."""
    lora_alpha: int = 32
    """LoRA scaling numerator."""
    logging_steps: int = 5
    """Log the loss every this many steps."""
    save_steps: int = 20
    """Write a resumable checkpoint every this many steps (the last two are kept)."""
    seed: int = 42
    """Shuffling and initialization seed."""

    @property
    def effective_lr(self) -> float:
        """The learning rate this run uses."""
        if self.learning_rate is not None:
            return self.learning_rate
        return 5e-4 if self.lora else 1e-3


@dataclass(frozen=True)
class TrainResult:
    """What ``run_sft`` measured."""

    train_loss: float
    """Mean training loss over the run (Trainer's ``train_loss``)."""
    first_loss: float | None
    """First logged loss."""
    last_loss: float | None
    """Last logged loss."""
    steps: int
    runtime_s: float
    device: str
    log_history: list[dict[str, Any]]


def _use_cuda(settings: Settings) -> bool:
    import torch

    if settings.device == "cpu":
        return False
    if settings.device.startswith("cuda"):
        return True
    return torch.cuda.is_available()


def _sft_config(params: SFTParams, output_dir: Path, *, cuda: bool, progress: bool) -> Any:
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(output_dir),
        max_steps=params.max_steps,
        per_device_train_batch_size=params.batch_size,
        gradient_accumulation_steps=params.grad_accum,
        learning_rate=params.effective_lr,
        lr_scheduler_type=params.scheduler,
        warmup_steps=params.warmup,  # a float in [0, 1) is a ratio of max_steps in transformers 5
        weight_decay=params.weight_decay,
        max_length=params.max_length,
        logging_steps=max(1, min(params.logging_steps, params.max_steps)),  # short runs still log a loss
        save_strategy="steps",
        save_steps=params.save_steps,
        save_total_limit=2,
        seed=params.seed,
        # CPU: bf16 autocast is refused without use_cpu and is slow to train in; GPU: bf16 mixed precision.
        use_cpu=not cuda,
        bf16=cuda,
        # A 135M model fits easily; checkpointing would only cost ~20 % speed.
        gradient_checkpointing=False,
        report_to="none",
        disable_tqdm=not progress,
        dataloader_num_workers=0,
        shuffle_dataset=True,
        # rows of similar length share a batch (less padding: prompts differ by up to ~200 tokens)
        train_sampling_strategy="group_by_length",
    )


def _load_trainable(path: Path, *, cuda: bool) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        # fp32 master weights on both devices; on CUDA the Trainer's bf16 autocast does the fast math.
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load model dir {path}: {exc}") from exc
    if getattr(model.config, "quantization_config", None) is not None:
        raise ModelLoadError(f"{path} holds a quantized model; re-import it as a plain dir (`model import-base`)")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.use_cache = False
    return model, tokenizer


def freeze_lower_layers(model: Any, train_layers: int) -> int:
    """Freeze embeddings (and the tied LM head) and all but the top ``train_layers`` decoder layers; returns
    the number of trainable parameters."""
    layers = getattr(getattr(model, "model", None), "layers", None)
    if layers is None:
        raise InvalidRequest("train_layers needs a decoder with model.layers (Llama-style); use full or LoRA")
    if not 1 <= train_layers <= len(layers):
        raise InvalidRequest(f"train_layers={train_layers}: pick 1..{len(layers)} (the model has {len(layers)})")
    for p in model.parameters():
        p.requires_grad_(False)
    for layer in list(layers)[len(layers) - train_layers :]:
        for p in layer.parameters():
            p.requires_grad_(True)
    norm = getattr(model.model, "norm", None)
    if norm is not None:
        for p in norm.parameters():
            p.requires_grad_(True)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def fitting_rows(rows: Sequence[dict[str, Any]], tokenizer: Any, max_length: int) -> list[dict[str, Any]]:
    """The rows whose rendered prompt + completion fits in ``max_length`` tokens (InvalidRequest when none)."""
    from marketing_gen.training.datasets import format_row

    kept = [
        r
        for r in rows
        if len(tokenizer(format_row(r, tokenizer).text, add_special_tokens=False)["input_ids"]) <= max_length
    ]
    if not kept:
        raise InvalidRequest(f"no row fits in max_length={max_length} tokens; raise max_length")
    if len(kept) < len(rows):
        log.warning("left out %d of %d rows longer than %d tokens", len(rows) - len(kept), len(rows), max_length)
    return kept


def _latest_checkpoint(output_dir: Path) -> Path | None:
    checkpoints = sorted(output_dir.glob("checkpoint-*"), key=lambda p: int(p.name.rsplit("-", 1)[1]))
    return checkpoints[-1] if checkpoints else None


def run_sft(
    model_path: Path,
    rows: Sequence[dict[str, Any]],
    out_dir: Path,
    *,
    params: SFTParams,
    checkpoint_dir: Path,
    cuda: bool = False,
    resume: bool = True,
    progress: bool = True,
) -> TrainResult:
    """Train ``model_path`` on prompt-completion ``rows`` and save a plain HF model dir to ``out_dir``."""
    from datasets import Dataset  # type: ignore[import-untyped]
    from trl import SFTTrainer

    if not rows:
        raise InvalidRequest("no training rows: build a dataset first (`marketing-gen train bootstrap`)")
    for key in ("prompt", "completion"):
        if key not in rows[0]:
            raise InvalidRequest(f"training rows need 'prompt' and 'completion' (conversational); missing {key!r}")
    model, tokenizer = _load_trainable(model_path, cuda=cuda)
    rows = fitting_rows(rows, tokenizer, params.max_length)
    peft_config = None
    if params.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=params.lora_r,
            lora_alpha=params.lora_alpha,
            lora_dropout=0.0,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
    elif params.train_layers is not None:
        freeze_lower_layers(model, params.train_layers)
    dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
    trainer = SFTTrainer(
        model=model,
        args=_sft_config(params, checkpoint_dir, cuda=cuda, progress=progress),
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    checkpoint = _latest_checkpoint(checkpoint_dir) if resume else None
    if checkpoint is not None:
        log.warning("resuming from %s", checkpoint)
    started = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    runtime = time.perf_counter() - started
    trained: Any = trainer.model
    if params.lora:
        trained = trained.merge_and_unload()
    trained.config.use_cache = True
    out_dir.mkdir(parents=True, exist_ok=True)
    trained.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    generation_config = getattr(trained, "generation_config", None)
    if generation_config is not None:
        generation_config.save_pretrained(out_dir)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return TrainResult(
        train_loss=float(output.metrics.get("train_loss", float("nan"))),
        first_loss=losses[0] if losses else None,
        last_loss=losses[-1] if losses else None,
        steps=int(trainer.state.global_step),
        runtime_s=round(runtime, 1),
        device="cuda" if cuda else "cpu",
        log_history=list(trainer.state.log_history),
    )


def default_name(base: str, kind: str = "sft") -> str:
    """``<base>-<kind>-<UTC timestamp>``."""
    return f"{base}-{kind}-{dt.datetime.now(dt.timezone.utc):%Y%m%d-%H%M%S}"


def train_sft(
    base_version: str,
    rows: Sequence[dict[str, Any]],
    *,
    settings: Settings,
    lora: bool = False,
    max_steps: int = 80,
    output_name: str | None = None,
    dataset_hash: str | None = None,
    params: SFTParams | None = None,
    resume: bool = True,
    progress: bool = True,
    activate: bool = False,
    trained_on: dict[str, Any] | None = None,
) -> ModelVersionInfo:
    """Fine-tune a registered version on ``rows``, save it under ``models_dir/<name>`` and register it (kind sft).

    ``trained_on``: what the rows came from (store, dataset file), kept in the hyperparameters for `model list`."""
    from marketing_gen.llm.devices import configure_threads

    base = get_version(base_version, url=settings.database_url)
    params = params or SFTParams(max_steps=max_steps, lora=lora)
    name = output_name or default_name(base.name)
    out_dir = Path(settings.models_dir) / name
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InvalidRequest(f"{out_dir} already exists; pick another --name or remove it")
    checkpoint_dir = Path(settings.models_dir) / "checkpoints" / name
    cuda = _use_cuda(settings)
    if not cuda:
        configure_threads(settings.torch_threads)
    result = run_sft(
        Path(base.path),
        rows,
        out_dir,
        params=params,
        checkpoint_dir=checkpoint_dir,
        cuda=cuda,
        resume=resume,
        progress=progress,
    )
    (out_dir / "training_log.json").write_text(json.dumps(result.log_history, indent=1))
    shutil.rmtree(checkpoint_dir, ignore_errors=True)  # the final dir is complete; checkpoints were for resuming
    hyper = {**asdict(params), "learning_rate": params.effective_lr, "rows": len(rows), "device": result.device}
    if trained_on:
        hyper["trained_on"] = trained_on
    metrics = {
        "train": {
            "train_loss": result.train_loss,
            "first_loss": result.first_loss,
            "last_loss": result.last_loss,
            "steps": result.steps,
            "runtime_s": result.runtime_s,
        }
    }
    write_version_file(
        out_dir,
        base=base.name,
        kind="sft",
        zero_shot_channels=zero_shot_channels(rows, base.path),
        slot_channels=slot_channels(rows, base.path),
        dataset_hash=dataset_hash,
        hyperparameters=hyper,
        metrics=metrics,
    )
    return register_version(
        name,
        str(out_dir),
        base=base.name,
        kind="sft",
        dataset_hash=dataset_hash,
        hyperparameters=hyper,
        metrics=metrics,
        activate=activate,
        url=settings.database_url,
    )
