"""Preference tuning with TRL: DPO on pairs, KTO on unpaired binary rows; plus bootstrap pairs from guardrails.

Data comes from two places:
- outcomes (``feedback.preferences.build_preference_rows``): clicked vs not-clicked variants of the same send
  (DPO pairs) or clicked / not clicked drafts (KTO rows);
- guardrails, for bootstrapping before any feedback exists (``guardrail_pairs``): for a training context the
  current model's sample that fails a hard check is ``rejected``; ``chosen`` is its best passing sample, or,
  when none passes (a weak base model), the teacher copy for the same prompt (marked ``chosen_source``).
Both trainers run CPU-safe (``use_cpu``, no bf16 on CPU) and save a plain HF dir that is registered (kind
``dpo`` / ``kto``), like ``training.sft``. Owns these runs. Does not decide promotion (``training.gate``).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from marketing_gen.channels.base import get_channel
from marketing_gen.config import Settings
from marketing_gen.contexts import UserContext
from marketing_gen.errors import InvalidRequest
from marketing_gen.llm.protocol import GenerationEngine
from marketing_gen.versions.registry import ModelVersionInfo, get_version, register_version

METHODS = ("dpo", "kto")


def guardrail_pairs(
    engine: GenerationEngine,
    contexts: Sequence[UserContext],
    channels: Sequence[str] = ("email", "google_ads_rsa"),
    *,
    n: int = 4,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """DPO pairs (conversational) where ``rejected`` is the model's copy that fails a hard check."""
    from marketing_gen.llm.parse import parse_fields
    from marketing_gen.llm.sampling import SamplingParams
    from marketing_gen.slots import fill, slotify, unfilled
    from marketing_gen.training.datasets import format_fields, served_findings, serving_prompt
    from marketing_gen.training.quality import quality_score
    from marketing_gen.training.teacher import teacher_fields

    pairs: list[dict[str, Any]] = []
    for channel in channels:
        spec = get_channel(channel)
        params = SamplingParams(max_new_tokens=spec.max_new_tokens, temperature=0.8, top_p=0.95, n=n, seed=seed)
        slots = engine.uses_slots(channel)  # a slot model's pairs are written with slots, as it is served
        prompts = [serving_prompt(c, channel, slots=slots) for c in contexts]  # the rows' prompts (zero-shot)
        asked = [serving_prompt(c, channel, few_shot=engine.few_shot_for(channel), slots=slots) for c in contexts]
        for context, prompt, completion in zip(contexts, prompts, engine.generate(asked, params), strict=True):
            passing: list[tuple[float, str]] = []
            failing: list[str] = []

            for text in completion.texts:
                fields = parse_fields(text, spec.parse_spec(), aliases=spec.parse_aliases()).fields
                fields = fill(fields, context) if slots else fields
                if unfilled(fields) or served_findings(fields, context, channel):
                    failing.append(text)
                else:
                    passing.append(
                        (
                            quality_score(fields, context, channel),
                            format_fields(slotify(fields, context) if slots else fields, channel),
                        )
                    )
            if not failing:
                continue
            if passing:
                chosen, source = max(passing)[1], "model"
            else:
                teacher = teacher_fields(context, channel)
                if not teacher or served_findings(teacher, context, channel):
                    continue
                chosen, source = format_fields(slotify(teacher, context) if slots else teacher, channel), "teacher"
            pairs.append(
                {
                    "prompt": prompt,
                    "chosen": [{"role": "assistant", "content": chosen}],
                    "rejected": [{"role": "assistant", "content": failing[0]}],
                    "meta": {"channel": channel, "user": context.external_id, "chosen_source": source},
                }
            )
    return pairs


def _config(
    method: str,
    out: Path,
    *,
    max_steps: int,
    batch_size: int,
    learning_rate: float,
    max_length: int,
    beta: float,
    cuda: bool,
    progress: bool,
    desirable_weight: float,
    undesirable_weight: float,
) -> Any:
    common: dict[str, Any] = dict(
        output_dir=str(out),
        max_steps=max_steps,
        per_device_train_batch_size=batch_size,
        learning_rate=learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=0.1,
        max_length=max_length,
        beta=beta,
        logging_steps=max(1, min(5, max_steps // 4)),
        save_strategy="no",
        use_cpu=not cuda,
        bf16=cuda,
        gradient_checkpointing=False,
        report_to="none",
        disable_tqdm=not progress,
        seed=42,
    )
    if method == "dpo":
        from trl import DPOConfig

        return DPOConfig(**common)
    from trl import KTOConfig

    return KTOConfig(**common, desirable_weight=desirable_weight, undesirable_weight=undesirable_weight)


def train_preference(
    base_version: str,
    rows: Sequence[dict[str, Any]],
    *,
    method: str,
    settings: Settings,
    max_steps: int = 40,
    batch_size: int = 4,
    learning_rate: float = 5e-6,
    beta: float = 0.1,
    max_length: int = 1024,
    output_name: str | None = None,
    dataset_hash: str | None = None,
    desirable_weight: float = 1.0,
    undesirable_weight: float = 1.0,
    progress: bool = True,
    activate: bool = False,
) -> ModelVersionInfo:
    """DPO (rows: prompt/chosen/rejected) or KTO (rows: prompt/completion/label) from a registered version."""
    from datasets import Dataset  # type: ignore[import-untyped]

    from marketing_gen.llm.devices import configure_threads
    from marketing_gen.llm.model_dir import slot_channels, write_version_file, zero_shot_channels
    from marketing_gen.training.sft import _load_trainable, _use_cuda, default_name

    if method not in METHODS:
        raise InvalidRequest(f"method={method!r} is not one of {', '.join(METHODS)}")
    need = ("prompt", "chosen", "rejected") if method == "dpo" else ("prompt", "completion", "label")
    if not rows:
        raise InvalidRequest(f"no {method.upper()} rows: collect feedback or build guardrail pairs first")
    missing = [k for k in need if k not in rows[0]]
    if missing:
        raise InvalidRequest(f"{method.upper()} rows need {', '.join(need)}; missing {', '.join(missing)}")
    if method == "kto" and len({bool(r["label"]) for r in rows}) < 2:
        raise InvalidRequest("KTO needs both desirable (label true) and undesirable (label false) rows")
    base = get_version(base_version, url=settings.database_url)
    name = output_name or default_name(base.name, method)
    out_dir = Path(settings.models_dir) / name
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InvalidRequest(f"{out_dir} already exists; pick another --name or remove it")
    cuda = _use_cuda(settings)
    if not cuda:
        configure_threads(settings.torch_threads)
    model, tokenizer = _load_trainable(Path(base.path), cuda=cuda)
    run_dir = Path(settings.models_dir) / "checkpoints" / name
    args = _config(
        method,
        run_dir,
        max_steps=max_steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        max_length=max_length,
        beta=beta,
        cuda=cuda,
        progress=progress,
        desirable_weight=desirable_weight,
        undesirable_weight=undesirable_weight,
    )
    dataset = Dataset.from_list([{k: r[k] for k in need} for r in rows])
    if method == "dpo":
        from trl import DPOTrainer

        trainer: Any = DPOTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    else:
        from trl import KTOTrainer

        trainer = KTOTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    started = time.perf_counter()
    output = trainer.train()
    runtime = time.perf_counter() - started
    trainer.model.config.use_cache = True
    out_dir.mkdir(parents=True, exist_ok=True)
    trainer.model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "training_log.json").write_text(json.dumps(trainer.state.log_history, indent=1))
    shutil.rmtree(run_dir, ignore_errors=True)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    metrics = {
        "train": {
            "train_loss": float(output.metrics.get("train_loss", float("nan"))),
            "first_loss": losses[0] if losses else None,
            "last_loss": losses[-1] if losses else None,
            "steps": int(trainer.state.global_step),
            "runtime_s": round(runtime, 1),
        }
    }
    hyper = {
        "method": method,
        "max_steps": max_steps,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "beta": beta,
        "max_length": max_length,
        "rows": len(rows),
        "device": "cuda" if cuda else "cpu",
        "desirable_weight": desirable_weight,
        "undesirable_weight": undesirable_weight,
    }
    write_version_file(
        out_dir,
        base=base.name,
        kind=method,
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
        kind=method,
        dataset_hash=dataset_hash,
        hyperparameters=hyper,
        metrics=metrics,
        activate=activate,
        url=settings.database_url,
    )
