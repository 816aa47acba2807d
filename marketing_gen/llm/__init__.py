"""The generative model: sampling parameters, the batched engine, base-model import, output parsing."""

from marketing_gen.llm.sampling import Completion, Prompt, SamplingParams

__all__ = ["Completion", "Prompt", "SamplingParams"]
