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


NUCLEUS_CANDIDATES = (64, 1024)
"""Top-k prefilters tried for top-p, smallest first: a row whose k most likely tokens hold ``top_p`` of the mass
has its whole nucleus among them. Rows that no prefilter covers take the sort-free threshold search."""
THRESHOLD_STEPS = 32
"""Bisection steps of the threshold search: enough to close any bracket of non-negative float32 bit patterns."""


class SeededSampler:
    """Temperature / top-k / top-p sampling with one private random stream per row (a LogitsProcessor).

    ``pick(step, scores)`` returns each row's token; called as a LogitsProcessor it returns scores that are -inf
    everywhere but the sampled token, so a greedy search picks it. No full-vocabulary sort: top-p works on a
    top-k prefilter when the nucleus fits in it (checked per row) and on a threshold search otherwise.
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

        chosen = self.pick(input_ids.shape[1] - self.prompt_width, scores)
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(-1, chosen[:, None], 0.0)
        return out

    def pick(self, step: int, scores: torch.Tensor) -> torch.Tensor:
        """The token of every row at generation step ``step`` ([rows] long tensor on the scores' device)."""
        import torch

        if self._device_uniforms is None:
            self._device_uniforms = self.uniforms.to(scores.device)
        u = self._device_uniforms[:, step : step + 1]
        logits = scores.float() / self.temperature
        if self.top_k and self.top_k < logits.shape[-1]:
            cand, ids = torch.topk(logits, self.top_k, dim=-1)  # sorted, descending; renormalized like HF's TopK
            chosen = self._pick(torch.softmax(cand, dim=-1), ids, u)
        elif self.top_p < 1.0:
            chosen = self._nucleus(logits, u)
        else:
            chosen = self._pick(torch.softmax(logits, dim=-1), None, u)
        return chosen[:, 0]

    def _nucleus(self, logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Top-p without sorting the vocabulary. Each row's choice depends on the row alone (results do not depend
        on the batch): the first top-k prefilter that holds ``top_p`` of its mass decides it exactly; rows none
        covers take ``_threshold_pick``. One host synchronisation per prefilter when some row is not covered."""
        import torch

        vocab = logits.shape[-1]
        lse = torch.logsumexp(logits, dim=-1, keepdim=True)
        chosen = torch.zeros((logits.shape[0], 1), dtype=torch.long, device=logits.device)
        pending: torch.Tensor | None = None  # rows still undecided (None: all of them)
        for k in NUCLEUS_CANDIDATES:
            if k >= vocab:
                break
            rows = logits if pending is None else logits[pending]
            cand, ids = torch.topk(rows, k, dim=-1)
            probs = torch.exp(cand - (lse if pending is None else lse[pending]))  # mass in the full distribution
            covered = probs.sum(dim=-1) >= self.top_p
            picked = self._pick(probs, ids, u if pending is None else u[pending])
            if pending is None:
                chosen = picked
                if bool(covered.all()):  # the common case: one synchronisation, no indexing
                    return chosen
                pending = (~covered).nonzero().flatten()
            else:
                chosen[pending[covered]] = picked[covered]
                pending = pending[~covered]
                if not pending.numel():
                    return chosen
        rest = torch.arange(logits.shape[0], device=logits.device) if pending is None else pending
        chosen[rest] = self._threshold_pick(logits[rest], lse[rest], u[rest])
        return chosen

    def _threshold_pick(self, logits: torch.Tensor, lse: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Top-p draw without a sort: the nucleus by ``threshold_nucleus``, then an inverse-CDF draw in vocabulary
        order with the row's uniform (the same distribution as the sorted draw, not the same token)."""
        import torch

        kept = threshold_nucleus(torch.exp(logits - lse), self.top_p)
        cdf = torch.cumsum(kept, dim=-1)
        return torch.searchsorted(cdf, u * cdf[:, -1:]).clamp_(max=cdf.shape[-1] - 1)

    def _pick(self, probs: torch.Tensor, ids: torch.Tensor | None, u: torch.Tensor) -> torch.Tensor:
        """Inverse-CDF draw with one uniform per row; ``probs`` sorted descending when ``top_p`` < 1."""
        import torch

        if self.top_p < 1.0:
            before = torch.cumsum(probs, dim=-1) - probs  # mass of strictly more likely tokens
            probs = probs.masked_fill(before >= self.top_p, 0.0)  # the top token always stays
        cdf = torch.cumsum(probs, dim=-1)
        pick = torch.searchsorted(cdf, u * cdf[:, -1:]).clamp_(max=cdf.shape[-1] - 1)
        return pick if ids is None else ids.gather(-1, pick)


def threshold_nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """``probs`` with every token outside the top-``top_p`` nucleus zeroed, found without sorting.

    The nucleus is every token with probability ≥ τ, where τ is the smallest probability whose strictly more likely
    tokens hold less than ``top_p`` (a full sort keeps the same tokens; of tokens tied exactly at τ, it keeps
    those its sort puts first, this keeps all). Non-negative float32 values order like their bit patterns, so τ
    is found by bisection over those integers: ``THRESHOLD_STEPS`` passes over the row, no synchronisation.
    """
    import torch

    probs = probs.float()
    keys = probs.view(torch.int32)
    lo = torch.full((probs.shape[0], 1), -1, dtype=torch.int32, device=probs.device)  # mass above lo ≥ top_p
    hi = keys.amax(dim=-1, keepdim=True)  # mass above hi: none (< top_p)
    for _ in range(THRESHOLD_STEPS):
        mid = lo + (hi - lo) // 2
        above = torch.where(keys > mid, probs, 0.0).sum(dim=-1, keepdim=True)
        small = above < top_p
        hi = torch.where(small, mid, hi)
        lo = torch.where(small, lo, mid)
    return torch.where(keys >= hi, probs, 0.0)


class StopOnStrings:
    """Stops a row once its recent generated text contains one of the stop strings (a StoppingCriteria)."""

    def __init__(self, tokenizer: Any, stops: Sequence[str], prompt_width: int) -> None:
        self.tokenizer = tokenizer
        self.stops = tuple(stops)
        self.prompt_width = prompt_width
        self.window = 8 + max(len(s) for s in stops)  # every token decodes to ≥ 1 character

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        import torch

        hits = self.hits(input_ids[:, self.prompt_width :])
        return torch.tensor(hits, dtype=torch.bool, device=input_ids.device)

    def hits(self, generated: torch.Tensor) -> list[bool]:
        """Whether each row's generated tokens end with a window that contains a stop string."""
        texts = self.tokenizer.batch_decode(generated[:, -self.window :], skip_special_tokens=True)
        return [any(s in t for s in self.stops) for t in texts]
