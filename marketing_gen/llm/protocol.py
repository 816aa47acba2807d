"""``GenerationEngine``: the one interface the workflows (copywriter, campaigns, replies, training) type an engine as.

``llm.engine.Engine`` implements it; so does the test fake ``tests/fakes.ScriptedEngine``. Owns the protocol only:
it imports no torch, so typing against it loads nothing. Loading a model is ``Engine.from_path`` /
``versions.active.load_active_engine``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from marketing_gen.llm.sampling import Completion, Prompt, SamplingParams


class GenerationEngine(Protocol):
    """Prompts in, completions out (input order), plus what callers report or shape their prompts by."""

    version: str
    """The model version's name (stored on every draft and report)."""
    int8_decode_layers: int
    """Layers whose small-batch decode steps read int8 weight copies (reply latency mode); 0 when off."""

    def few_shot_for(self, channel: str) -> bool:
        """Whether prompts for ``channel`` carry the template's example turn (False for channels the model learnt)."""
        ...

    def uses_slots(self, channel: str) -> bool:
        """Whether the model learnt ``channel`` with slots (``marketing_gen.slots``): prompted and read that way."""
        ...

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams | None = None) -> list[Completion]:
        """``params.n`` texts for each prompt, in input order (default ``SamplingParams()``)."""
        ...
