"""``SamplingParams`` (frozen, validated) and ``Completion`` (plain results, input order)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, model_validator

ChatMessage = dict[str, str]
Prompt = str | list[ChatMessage]
"""A raw text prompt, or chat messages ``[{"role": "system"|"user"|"assistant", "content": …}]``
that the engine renders with the model's chat template."""


class SamplingParams(BaseModel):
    """How to sample. Frozen; unknown fields are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_new_tokens: int = Field(default=96, ge=1, le=4096)
    """Most tokens generated per text."""
    temperature: float = Field(default=0.0, ge=0.0, le=5.0)
    """0 = greedy decoding."""
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    """Nucleus sampling mass."""
    top_k: int = Field(default=0, ge=0)
    """0 = no top-k filter."""
    repetition_penalty: float = Field(default=1.0, gt=0.0, le=3.0)
    """>1 discourages repeating tokens."""
    no_repeat_ngram_size: int = Field(default=0, ge=0, le=16)
    """Forbid repeating any n-gram of this size (0 = off)."""
    n: int = Field(default=1, ge=1, le=64)
    """Texts per prompt."""
    seed: int | None = Field(default=None, ge=0)
    """Same seed + same inputs → same texts (seeded per request, not globally)."""
    stop: tuple[str, ...] = ()
    """Cut each text at the first of these strings."""

    @model_validator(mode="after")
    def _check(self) -> SamplingParams:
        if self.n > 1 and self.temperature == 0.0:
            raise ValueError("n > 1 needs temperature > 0, otherwise every text is the same greedy text")
        return self


@dataclass
class Completion:
    """Result for one prompt: ``n`` texts, why each stopped, and token counts."""

    index: int
    prompt: Prompt
    texts: list[str]
    finish_reasons: list[str] = field(default_factory=list)
    """``stop`` (EOS or stop string) or ``length`` (hit max_new_tokens)."""
    tokens: list[int] = field(default_factory=list)
    """Generated tokens per text."""
    prompt_tokens: int = 0
