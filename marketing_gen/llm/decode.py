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
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from marketing_gen.llm.processors import GeneratedRepetition, SeededSampler, StopOnStrings
from marketing_gen.llm.sampling import SamplingParams

if TYPE_CHECKING:
    import torch

CHECK_EVERY = 8
"""Steps between host checks (stop strings, all rows done, dropping the rows that stopped). In between, the device
runs ahead without a synchronisation; a row that stopped computes up to this many extra tokens, cut off later."""
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
    on_prefilled: Callable[[], None] | None = None,
) -> list[list[int]]:
    """Generated token ids per row (each ends at its EOS token or the token completing a stop string).

    ``input_ids``/``attention``: the left-padded prompts; ``cache`` already holds their first ``cached``
    positions (a shared system prefix) or nothing. ``ignore_eos`` generates ``max_new_tokens`` for every row.
    ``on_prefilled`` is called once the prompts are encoded, before the first decode step (for timings).
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
    kept = torch.full((rows,), steps, dtype=torch.long, device=device)  # tokens a row keeps (its stop + 1)
    generated = torch.empty((rows, steps), dtype=torch.long, device=device)
    can_stop = not ignore_eos or stopper is not None
    checked = 0  # generation steps whose stop strings have been looked at
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
        if on_prefilled is not None:
            on_prefilled()
        for step in range(steps):
            # 1. pick every row's token (rows that already stopped keep going until the next check drops them)
            scores = logits.float()
            if ignore_eos and eos.numel():
                scores[:, eos] = float("-inf")
            if repetition is not None:
                scores = repetition(generated[:, :step], scores)
            tokens = sampler.pick(step, scores) if sampler is not None else scores.argmax(dim=-1)
            generated[:, step] = tokens
            # 2. EOS on the device: no synchronisation
            if not ignore_eos:
                hit = torch.isin(tokens, eos) & ~finished
                kept = torch.where(hit, step + 1, kept)
                finished |= hit
            last = step == steps - 1
            # 3. every CHECK_EVERY steps on the host: stop strings, all done?, drop the rows that stopped
            if can_stop and (last or (step + 1) % CHECK_EVERY == 0):
                if stopper is not None:
                    kept, finished = _stop_strings(stopper, generated, kept, finished, checked, step + 1)
                checked = step + 1
                n_done = int(finished.sum())
                if n_done == len(active):
                    break
                if not last and n_done and n_done / len(active) * (steps - step - 1) >= COMPACT_GAIN:
                    for k in finished.nonzero().flatten().tolist():
                        out[int(active[k])] = generated[k, : int(kept[k])].tolist()
                    keep = (~finished).nonzero().flatten()
                    active, generated, tokens, kept = active[keep], generated[keep], tokens[keep], kept[keep]
                    mask, next_position, finished = mask[keep], next_position[keep], finished[keep]
                    cache.batch_select_indices(keep)
                    if sampler is not None:
                        sampler.keep(keep)
            if last:
                break
            # 4. one decode step for every running row
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
    done = step + 1
    for k, (row, n) in enumerate(zip(active.tolist(), kept.tolist(), strict=True)):
        out[row] = generated[k, : min(n, done)].tolist()
    return [ids if ids is not None else [] for ids in out]


def _stop_strings(
    stopper: StopOnStrings, generated: torch.Tensor, kept: torch.Tensor, finished: torch.Tensor, start: int, end: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows whose text completes a stop string at a step in [start, end): each stops at the first such step
    (as if checked every step). One copy of the recent tokens to the host."""
    import torch

    lo = max(0, start - stopper.window)
    recent = generated[:, lo:end].cpu()
    stop_at = kept.tolist()
    for step in range(start, end):
        running = [k for k, n in enumerate(stop_at) if n > step]
        if not running:
            break
        hits = stopper.hits(recent[running, : step + 1 - lo])
        for k, hit in zip(running, hits, strict=True):
            if hit:
                stop_at[k] = step + 1
    new_kept = torch.tensor(stop_at, dtype=kept.dtype).to(kept.device)
    return new_kept, finished | (new_kept < generated.shape[1])
