"""Per-step logits processors and stopping for the engine's decode loop.

Each works on the *generated* tokens only (``input_ids[:, prompt_width:]``; the decode loop passes just the
generated tokens with ``prompt_width=0``) and on one row independently of the others, so results do not depend
on which rows share a batch. ``keep(rows)`` follows the decode loop when it drops finished rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from marketing_gen.llm.sampling import SamplingParams

if TYPE_CHECKING:
    import torch


class GeneratedRepetition:
    """Repetition penalty and no-repeat n-grams over the *generated* tokens only (a LogitsProcessor).

    transformers' own processors also count the prompt, which penalises exactly what copy must repeat: the
    product names and prices in the data block and the field tags of the answer format. Here the prompt
    (``prompt_width`` columns, padding included) is ignored.
    """

    def __init__(self, prompt_width: int, penalty: float, ngram: int) -> None:
        self.prompt_width = prompt_width
        self.penalty = penalty
        self.ngram = ngram

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        import torch

        generated = input_ids[:, self.prompt_width :]
        if not generated.shape[1]:
            return scores
        if self.penalty != 1.0:
            seen = torch.gather(scores, 1, generated)
            seen = torch.where(seen < 0, seen * self.penalty, seen / self.penalty)
            scores = scores.scatter(1, generated, seen)
        n = self.ngram
        if n and generated.shape[1] >= n:
            rows = generated.tolist()
            for k, row in enumerate(rows):
                prefix = tuple(row[len(row) - n + 1 :]) if n > 1 else ()
                banned = {row[i + n - 1] for i in range(len(row) - n + 1) if tuple(row[i : i + n - 1]) == prefix}
                if banned:
                    scores[k, list(banned)] = float("-inf")
        return scores


class SeededSampler:
    """Temperature / top-k / top-p sampling with one private random stream per row (a LogitsProcessor).

    Returns scores that are -inf everywhere but the sampled token, so the greedy search picks it.
    """

    def __init__(self, seeds: list[int], prompt_width: int, params: SamplingParams) -> None:
        import torch

        steps = params.max_new_tokens
        self.uniforms = torch.stack([torch.rand(steps, generator=torch.Generator().manual_seed(s)) for s in seeds])
        self.prompt_width = prompt_width
        self.temperature = params.temperature
        self.top_k = params.top_k
        self.top_p = params.top_p
        self._device_uniforms: torch.Tensor | None = None

    def keep(self, rows: torch.Tensor) -> None:
        """Keep only the streams of ``rows`` (indices into the current batch), in that order."""
        self.uniforms = self.uniforms[rows.cpu()]
        if self._device_uniforms is not None:
            self._device_uniforms = self._device_uniforms[rows]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        import torch

        if self._device_uniforms is None:
            self._device_uniforms = self.uniforms.to(scores.device)
        step = input_ids.shape[1] - self.prompt_width
        u = self._device_uniforms[:, step : step + 1]
        logits = scores.float() / self.temperature
        if self.top_k and self.top_k < logits.shape[-1]:
            cand, ids = torch.topk(logits, self.top_k, dim=-1)  # sorted, descending; renormalized like HF's TopK
            chosen = self._pick(torch.softmax(cand, dim=-1), ids, u)
        elif self.top_p < 1.0:
            chosen = self._nucleus(logits, u)
        else:
            chosen = self._pick(torch.softmax(logits, dim=-1), None, u)
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(-1, chosen, 0.0)
        return out

    def _nucleus(self, logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Top-p without sorting the whole vocabulary: a row whose top-k candidates already hold ``top_p`` of the
        mass has its whole nucleus among them (exact); rows that do not retry with more candidates. The choice
        depends on the row alone, so results do not depend on the batch."""
        import torch

        vocab = logits.shape[-1]
        lse = torch.logsumexp(logits, dim=-1, keepdim=True)
        chosen = torch.zeros((logits.shape[0], 1), dtype=torch.long, device=logits.device)
        pending = torch.arange(logits.shape[0], device=logits.device)
        for k in (64, 1024, vocab):
            if k >= vocab:
                cand, ids = torch.sort(logits[pending], dim=-1, descending=True)
            else:
                cand, ids = torch.topk(logits[pending], k, dim=-1)
            probs = torch.exp(cand - lse[pending])  # probabilities in the full distribution
            covered = probs.sum(dim=-1) >= self.top_p if k < vocab else torch.ones_like(pending, dtype=torch.bool)
            done = pending[covered]
            if done.numel():
                chosen[done] = self._pick(probs[covered], ids[covered], u[done])
            pending = pending[~covered]
            if not pending.numel():
                break
        return chosen

    def _pick(self, probs: torch.Tensor, ids: torch.Tensor | None, u: torch.Tensor) -> torch.Tensor:
        """Inverse-CDF draw with one uniform per row; ``probs`` sorted descending when ``top_p`` < 1."""
        import torch

        if self.top_p < 1.0:
            before = torch.cumsum(probs, dim=-1) - probs  # mass of strictly more likely tokens
            probs = probs.masked_fill(before >= self.top_p, 0.0)  # the top token always stays
        cdf = torch.cumsum(probs, dim=-1)
        pick = torch.searchsorted(cdf, u * cdf[:, -1:]).clamp_(max=cdf.shape[-1] - 1)
        return pick if ids is None else ids.gather(-1, pick)


class StopOnStrings:
    """Stops a row once its recent generated text contains one of the stop strings (a StoppingCriteria)."""

    def __init__(self, tokenizer: Any, stops: Sequence[str], prompt_width: int) -> None:
        self.tokenizer = tokenizer
        self.stops = tuple(stops)
        self.prompt_width = prompt_width
        self.window = 8 + max(len(s) for s in stops)  # every token decodes to ≥ 1 character

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        import torch

        tails = input_ids[:, self.prompt_width :][:, -self.window :]
        texts = self.tokenizer.batch_decode(tails, skip_special_tokens=True)
        hits = [any(s in t for s in self.stops) for t in texts]
        return torch.tensor(hits, dtype=torch.bool, device=input_ids.device)
