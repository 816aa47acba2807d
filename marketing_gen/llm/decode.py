"""The engine's decode loop: one prefill, then one token per step for every row still running.

Owns stepping the model over a left-padded micro-batch with a preallocated KV cache (``kv_cache.py``): logits
processors (``processors.py``) pick each row's token, rows stop on EOS or a stop string, and rows that stopped
are dropped from the batch once that saves more compute than the cache copy costs (``transformers``'
``generate`` keeps computing finished rows until the longest one ends). Does not own batching, prompts or
text decoding (``engine.py``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from marketing_gen.llm.processors import GeneratedRepetition, SeededSampler, StopOnStrings
from marketing_gen.llm.sampling import SamplingParams

if TYPE_CHECKING:
    import torch

COMPACT_GAIN = 1.0
"""Drop finished rows when (finished rows / running rows) × steps left reaches this: the rows' remaining decode
work is then worth more than one copy of the cache (which costs about a third of a decode step on CPU)."""


@functools.cache
def _takes_logits_to_keep(model_class: type) -> bool:
    return "logits_to_keep" in inspect.signature(model_class.forward).parameters


def prefill_heads(model: Any, head_ids: torch.Tensor, head_attention: torch.Tensor, cache: Any, shared: int) -> None:
    """Encode each group's shared head once (``cache`` holds the system prefix for every group), leaving the
    cache with one row per group; the caller then copies group rows to prompt rows."""
    import torch

    positions = (head_attention.cumsum(-1) - 1).clamp(min=0)[:, shared:]
    extra = {"logits_to_keep": 1} if _takes_logits_to_keep(type(model)) else {}
    with torch.inference_mode():
        model(
            input_ids=head_ids,
            attention_mask=head_attention,
            position_ids=positions,
            cache=cache,
            use_cache=True,
            **extra,
        )


def decode(
    model: Any,
    input_ids: torch.Tensor,
    attention: torch.Tensor,
    cache: Any,
    params: SamplingParams,
    *,
    cached: int,
    seeds: Sequence[int],
    eos_ids: Sequence[int],
    tokenizer: Any,
    ignore_eos: bool = False,
) -> list[list[int]]:
    """Generated token ids per row (each ends at its EOS token or the token completing a stop string).

    ``input_ids``/``attention``: the left-padded prompts; ``cache`` already holds their first ``cached``
    positions (a shared system prefix) or nothing. ``ignore_eos`` generates ``max_new_tokens`` for every row.
    """
    import torch

    rows, width = input_ids.shape
    steps = params.max_new_tokens
    device = input_ids.device
    mask = torch.ones((rows, width + steps), dtype=attention.dtype, device=device)
    mask[:, :width] = attention
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    next_position = positions[:, -1:] + 1
    extra = {"logits_to_keep": 1} if _takes_logits_to_keep(type(model)) else {}

    repetition = (
        GeneratedRepetition(0, params.repetition_penalty, params.no_repeat_ngram_size)
        if params.repetition_penalty != 1.0 or params.no_repeat_ngram_size
        else None
    )
    sampler = SeededSampler(list(seeds), 0, params) if params.temperature > 0 else None
    stopper = StopOnStrings(tokenizer, params.stop, 0) if params.stop else None
    eos = torch.tensor(list(eos_ids), dtype=torch.long, device=device)

    out: list[list[int] | None] = [None] * rows
    active = torch.arange(rows, device=device)  # the original row of each running row
    finished = torch.zeros(rows, dtype=torch.bool, device=device)  # stopped, not yet dropped
    generated = torch.empty((rows, steps), dtype=torch.long, device=device)
    length = width

    with torch.inference_mode():
        logits = model(
            input_ids=input_ids[:, cached:],
            attention_mask=mask[:, :length],
            position_ids=positions[:, cached:],
            cache=cache,
            use_cache=True,
            **extra,
        ).logits[:, -1, :]
        for step in range(steps):
            scores = logits.float()
            if ignore_eos and eos.numel():
                scores[:, eos] = float("-inf")
            so_far = generated[:, :step]
            if repetition is not None:
                scores = repetition(so_far, scores)
            if sampler is not None:
                scores = sampler(so_far, scores)
            tokens = scores.argmax(dim=-1)
            generated[:, step] = tokens
            if step == steps - 1:
                break
            stopped = torch.zeros_like(finished)
            if not ignore_eos:
                stopped |= torch.isin(tokens, eos)
            if stopper is not None:
                stopped |= stopper(generated[:, : step + 1], scores)
            stopped &= ~finished
            if stopped.any():
                for k in stopped.nonzero().flatten().tolist():
                    out[int(active[k])] = generated[k, : step + 1].tolist()
                finished |= stopped
            n_done = int(finished.sum())
            if n_done == len(active):
                break
            if n_done and n_done / len(active) * (steps - step - 1) >= COMPACT_GAIN:
                keep = (~finished).nonzero().flatten()
                active, generated, tokens = active[keep], generated[keep], tokens[keep]
                mask, next_position, finished = mask[keep], next_position[keep], finished[keep]
                cache.batch_select_indices(keep)
                if sampler is not None:
                    sampler.keep(keep)
            length += 1
            logits = model(
                input_ids=tokens[:, None],
                attention_mask=mask[:, :length],
                position_ids=next_position,
                cache=cache,
                use_cache=True,
                **extra,
            ).logits[:, -1, :]
            next_position = next_position + 1
    last = generated.shape[1] if step == steps - 1 else step + 1
    for k in (~finished).nonzero().flatten().tolist():
        out[int(active[k])] = generated[k, :last].tolist()
    return [ids if ids is not None else [] for ids in out]
