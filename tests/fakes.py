"""Test fakes at the model boundary: ``ScriptedEngine`` answers ``generate`` with queued texts.

A real class implementing ``llm.protocol.GenerationEngine`` (``version``, ``few_shot_for``, ``uses_slots``,
``generate``) with a call history, so tests exercise the real copywriter / campaign / reply code paths without a model.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from marketing_gen.llm.sampling import Completion, Prompt, SamplingParams


@dataclass
class EngineCall:
    """One ``generate`` call as the fake saw it."""

    prompts: list[Prompt]
    params: SamplingParams


@dataclass
class ScriptedEngine:
    """Returns queued texts in order, one per requested text; a default (or a function) when the queue is empty.

    ``texts`` are consumed across calls: prompt by prompt, ``params.n`` texts each.
    ``responder(prompt, params, call_index)`` — when given — answers instead once the queue is empty.
    """

    texts: Iterable[str] = ()
    default: str = ""
    responder: Callable[[Prompt, SamplingParams, int], str] | None = None
    version: str = "scripted-test-engine"
    zero_shot_channels: frozenset[str] | None = None
    """Like ``Engine.zero_shot_channels``: channels served without the example turn (a fine-tuned model)."""
    slot_channels: frozenset[str] = frozenset()
    """Like ``Engine.slot_channels``: channels the model writes with slots ({NAME}, {ITEM1} …)."""
    int8_decode_layers: int = 0
    """Like ``Engine.int8_decode_layers`` (reports show it); a fake never decodes."""
    finish_reason: str = "stop"
    """Reported for every text: ``stop``, or ``length`` to act as if each text hit max_new_tokens."""
    calls: list[EngineCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue: deque[str] = deque(self.texts)

    def few_shot_for(self, channel: str) -> bool:
        """Like ``Engine.few_shot_for``."""
        return self.zero_shot_channels is None or channel not in self.zero_shot_channels

    def uses_slots(self, channel: str) -> bool:
        """Like ``Engine.uses_slots``."""
        return channel in self.slot_channels

    def queue(self, *texts: str) -> None:
        """Append more scripted texts."""
        self._queue.extend(texts)

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams | None = None) -> list[Completion]:
        """Answer each prompt with ``params.n`` texts from the queue, in input order."""
        params = params or SamplingParams()
        self.calls.append(EngineCall(prompts=list(prompts), params=params))
        out: list[Completion] = []
        for i, prompt in enumerate(prompts):
            texts = [self._next(prompt, params) for _ in range(params.n)]
            out.append(
                Completion(
                    index=i,
                    prompt=prompt,
                    texts=texts,
                    finish_reasons=[self.finish_reason] * len(texts),
                    tokens=[len(t.split()) for t in texts],
                )
            )
        return out

    def _next(self, prompt: Prompt, params: SamplingParams) -> str:
        if self._queue:
            return self._queue.popleft()
        if self.responder is not None:
            return self.responder(prompt, params, len(self.calls) - 1)
        return self.default

    @property
    def prompts_seen(self) -> int:
        """Total prompts across all calls."""
        return sum(len(c.prompts) for c in self.calls)
