"""Micro-batcher: concurrent requests share one generate call and each caller gets its own result."""

from __future__ import annotations

import asyncio
import re

from fakes import ScriptedEngine

from marketing_gen.contexts import BrandFacts
from marketing_gen.llm.sampling import Prompt, SamplingParams
from marketing_gen.replies.batcher import ReplyBatcher
from marketing_gen.replies.similarity import LexicalSimilarity
from marketing_gen.replies.suggest import plan_replies

BRAND = BrandFacts(name="Acme Home")
COLOURS = ["red", "blue", "green", "yellow", "purple", "orange"]


def _echo_colour(prompt: Prompt, params: SamplingParams, call: int) -> str:
    """Answers with the colour named in the prompt's comment, so routing errors show up.

    The task's words come back reversed: they keep candidates of different intents apart without repeating the
    prompt verbatim (the policy rejects a reply that echoes its prompt)."""
    assert isinstance(prompt, list)
    comment = re.search(r'"""(.*)"""', prompt[-1]["content"])
    assert comment is not None
    colour = next(c for c in COLOURS if c in comment.group(1))
    task = prompt[-1]["content"].rsplit("Write a reply that", 1)[1].strip()
    return f"Thanks for asking about the {colour} kettle, this reply {' '.join(reversed(task.lower().split()))}"


async def _run_concurrently(batcher: ReplyBatcher, texts: list[str], seed: int | list[int] = 0) -> list:  # type: ignore[type-arg]
    seeds = seed if isinstance(seed, list) else [seed] * len(texts)
    await batcher.start()
    try:
        plans = [plan_replies(t, brand=BRAND, k=3, m=4, seed=s) for t, s in zip(texts, seeds, strict=True)]
        return await asyncio.gather(*(batcher.suggest(p) for p in plans))
    finally:
        await batcher.stop()


def test_concurrent_requests_share_one_generate_call() -> None:
    engine = ScriptedEngine(responder=_echo_colour)
    batcher = ReplyBatcher(engine, max_wait_ms=200, max_batch=16, similarity=LexicalSimilarity())
    texts = [f"Does the {c} kettle boil fast?" for c in COLOURS]
    results = asyncio.run(_run_concurrently(batcher, texts))
    assert len(engine.calls) == 1
    assert len(engine.calls[0].prompts) == sum(4 for _ in texts)  # m=4 → 4 intent prompts per request
    assert batcher.stats.max_requests_per_batch == len(texts)
    for colour, result in zip(COLOURS, results, strict=True):
        model_texts = [s.text for s in result.suggestions if not s.fallback]
        assert model_texts, result
        for text in model_texts:
            assert f"the {colour} kettle" in text


def test_different_seeds_are_separate_calls_in_one_batch() -> None:
    engine = ScriptedEngine(responder=_echo_colour)
    batcher = ReplyBatcher(engine, max_wait_ms=200, similarity=LexicalSimilarity())
    texts = [f"Does the {c} kettle boil fast?" for c in COLOURS[:4]]
    results = asyncio.run(_run_concurrently(batcher, texts, seed=[1, 2, 1, 2]))
    assert batcher.stats.batches == 1
    assert sorted(c.params.seed for c in engine.calls) == [1, 2]
    assert all(len(r.suggestions) == 3 for r in results)


def test_escalations_skip_the_queue() -> None:
    engine = ScriptedEngine(responder=_echo_colour)
    batcher = ReplyBatcher(engine, similarity=LexicalSimilarity())
    results = asyncio.run(_run_concurrently(batcher, ["you are useless idiots"]))
    assert results[0].escalate and results[0].suggestions == ()
    assert engine.calls == []


def test_engine_failure_reaches_every_caller() -> None:
    class Broken(ScriptedEngine):
        def generate(self, prompts, params=None):  # type: ignore[no-untyped-def]
            raise RuntimeError("device lost")

    batcher = ReplyBatcher(Broken(), max_wait_ms=100, similarity=LexicalSimilarity())

    async def go() -> list[object]:
        await batcher.start()
        try:
            plans = [plan_replies(f"Does the {c} kettle boil?", brand=BRAND, m=4) for c in COLOURS[:3]]
            return await asyncio.gather(*(batcher.suggest(p) for p in plans), return_exceptions=True)
        finally:
            await batcher.stop()

    outcomes = asyncio.run(go())
    assert all(isinstance(o, RuntimeError) for o in outcomes)


def test_busy_window_gathers_stragglers_after_a_shared_batch() -> None:
    engine = ScriptedEngine(responder=_echo_colour)
    batcher = ReplyBatcher(engine, max_wait_ms=1, busy_wait_ms=400, similarity=LexicalSimilarity())

    async def go() -> None:
        await batcher.start()
        try:
            first = [plan_replies(f"Does the {c} kettle boil?", brand=BRAND, m=4) for c in COLOURS[:3]]
            await asyncio.gather(*(batcher.suggest(p) for p in first))  # queued together: one batch of 3

            async def late(i: int) -> object:
                await asyncio.sleep(0.05 * i)  # arrive 0, 50, 100 ms apart: more than the 1 ms window
                return await batcher.suggest(plan_replies(f"Is the {COLOURS[3 + i]} one nice?", brand=BRAND, m=4))

            await asyncio.gather(*(late(i) for i in range(3)))
        finally:
            await batcher.stop()

    asyncio.run(go())
    assert batcher.stats.batch_sizes == [3, 3]
