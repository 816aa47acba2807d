"""In-process micro-batcher for the HTTP API: concurrent reply requests share one ``engine.generate`` call.

Owns the queue, the collection window (up to ``max_wait_ms`` after the first request; ``busy_wait_ms`` when
the last batch had several callers; at most ``max_batch`` requests) and routing results back to each caller's
future. One worker task runs one batch at a time in a worker thread, so while the model is busy new requests
pile up and go out together in the next batch.
Requests with different sampling parameters (seed, n, …) go out as separate calls of the same batch, so each
request's texts depend only on its own seed and prompts. Does not own triage, prompts or checks (``suggest``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from marketing_gen.errors import ServerError
from marketing_gen.llm.protocol import GenerationEngine
from marketing_gen.replies.retrieval import ReplyIndex
from marketing_gen.replies.similarity import Similarity
from marketing_gen.replies.suggest import (
    ReplyPlan,
    ReplySuggestions,
    finish_replies,
    generate_for_plans,
)

log = logging.getLogger(__name__)


def model_thread() -> ThreadPoolExecutor:
    """A one-thread executor to load the engine in and then run every ``generate`` on.

    Torch's CPU kernels run their parallel regions on an OpenMP team per calling thread. Loading on one thread
    and generating on another leaves two teams; when their threads outnumber the cores (2 teams × 2 threads on a
    2-core machine) libgomp throttles its spin-wait, every small op pays a futex wake-up, and a decode step takes
    ~1.8× as long (measured: 2.31 s vs 1.29 s per reply request). One thread for both keeps one team.
    """
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="reply-model")


@dataclass
class BatcherStats:
    """Counters for benchmarks and ops."""

    requests: int = 0
    batches: int = 0
    generate_calls: int = 0
    max_requests_per_batch: int = 0
    batch_sizes: list[int] = field(default_factory=list)
    batch_seconds: list[float] = field(default_factory=list)
    """Model-thread time of each batch (generate + checks), same order as ``batch_sizes``."""


@dataclass
class _Pending:
    plan: ReplyPlan
    future: asyncio.Future[ReplySuggestions]


class ReplyBatcher:
    """Collects concurrent ``ReplyPlan``s and answers them with as few ``generate`` calls as possible."""

    def __init__(
        self,
        engine: GenerationEngine,
        *,
        max_wait_ms: float = 5.0,
        busy_wait_ms: float = 50.0,
        max_batch: int = 16,
        similarity: Similarity | None = None,
        executor: ThreadPoolExecutor | None = None,
        retriever: Callable[[], ReplyIndex | None] | None = None,
    ) -> None:
        self.engine = engine
        self.max_wait = max_wait_ms / 1000.0
        self.busy_wait = max(busy_wait_ms, max_wait_ms) / 1000.0
        self._last_size = 1
        self.max_batch = max_batch
        self.similarity = similarity
        self.retriever = retriever
        """Returns the nearest-thread index, or None (not ready / disabled); the API passes
        ``retrieval.start_default_index()``. None: model candidates only."""
        self.stats = BatcherStats()
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor = executor or model_thread()
        """One thread for every model call; pass the one that loaded the engine (see ``model_thread``)."""

    async def start(self) -> None:
        """Start the worker task on the running event loop."""
        if self._worker is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._run(), name="reply-batcher")

    async def stop(self) -> None:
        """Stop the worker; pending callers get a ``ServerError``."""
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None
        while self._queue is not None and not self._queue.empty():
            pending = self._queue.get_nowait()
            if not pending.future.done():
                pending.future.set_exception(ServerError("reply service stopped"))
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def suggest(self, plan: ReplyPlan) -> ReplySuggestions:
        """Queue the plan and wait for its suggestions (immediate when no model call is needed)."""
        if plan.params is None:
            return finish_replies(plan, [], similarity=self.similarity, model_version=self.engine.version)
        if self._queue is None or self._worker is None:
            raise ServerError("reply batcher not started")
        future: asyncio.Future[ReplySuggestions] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(plan, future))
        return await future

    async def _collect(self) -> list[_Pending]:
        assert self._queue is not None
        batch = [await self._queue.get()]
        # Under load (the last batch had several callers) wait a little longer for them to come back: tens of
        # milliseconds against a generate of seconds. A lone caller only pays the short window.
        deadline = time.monotonic() + (self.busy_wait if self._last_size > 1 else self.max_wait)
        while len(batch) < self.max_batch:
            # take what is already waiting (requests that queued while the model was busy) …
            while not self._queue.empty() and len(batch) < self.max_batch:
                batch.append(self._queue.get_nowait())
            remaining = deadline - time.monotonic()
            if remaining <= 0 or len(batch) >= self.max_batch:
                break
            # … and give new ones a few milliseconds to arrive
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), timeout=remaining))
            except asyncio.TimeoutError:
                break
        self._last_size = len(batch)
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect()
            self.stats.batches += 1
            self.stats.requests += len(batch)
            self.stats.batch_sizes.append(len(batch))
            self.stats.max_requests_per_batch = max(self.stats.max_requests_per_batch, len(batch))
            try:
                results = await loop.run_in_executor(self._executor, self._answer, [p.plan for p in batch])
            except Exception as exc:  # noqa: BLE001 - any failure must reach every waiting caller, not kill the loop
                log.exception("reply batch of %d failed", len(batch))
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            for pending, result in zip(batch, results, strict=True):
                if not pending.future.done():
                    pending.future.set_result(result)

    def _answer(self, plans: Sequence[ReplyPlan]) -> list[ReplySuggestions]:
        """Runs in the worker thread: one ``generate`` per distinct ``SamplingParams``, then finish each plan."""
        started = time.perf_counter()
        self.stats.generate_calls += len({p.params for p in plans if p.params is not None})
        completions = generate_for_plans(self.engine, plans)
        version = self.engine.version
        index = self.retriever() if self.retriever is not None else None
        results = [
            finish_replies(plan, comps, similarity=self.similarity, model_version=version, retriever=index)
            for plan, comps in zip(plans, completions, strict=True)
        ]
        self.stats.batch_seconds.append(time.perf_counter() - started)
        return results
