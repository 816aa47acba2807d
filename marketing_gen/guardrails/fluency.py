"""Fluency (quality gate): a reference language model's mean per-token log-likelihood of each text.

``fluency.low``: a text of ≥ ``MIN_WORDS`` words whose score is below ``THRESHOLD`` — calibrated so that ≥ 99 %
of real human copy passes (seller copy of the Amazon and Online Retail catalogs, real brand replies from the
Twitter support sample; ``marketing-gen eval gate`` recomputes it, docs/quality.md has the figures). The reference
model is the base model (SmolLM2-135M-Instruct): the threshold holds for that model only.

Before scoring, the customer's item titles in the text become "the item" and the shop's name "the shop" (catalog
titles and names are not the copywriter's words; an UPPER-CASE title would score low), and each text is scored after an
``<|endoftext|>`` token, as a document start. ``FluencyScorer`` loads the model lazily with transformers
(no database, no ``llm`` package); ``check_fluency`` only compares scores and is pure.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from marketing_gen.guardrails.facts import Facts, Violation, words
from marketing_gen.guardrails.format import texts_of

THRESHOLD = -9.2
"""Mean per-token log-likelihood (nats) under the base model below which a text is not fluent. Calibrated with
``marketing-gen eval gate --per-source 600``: 99.0 % of Amazon seller copy and 99.8 % of real brand replies
(99.4 % of the 1,200 texts) score at or above it (docs/quality.md)."""
MIN_WORDS = 4
"""Shorter texts (CTAs, paths, most headlines) are judged by the content rules, not by the reference model."""
SKIP_FIELDS = frozenset({"path1", "path2", "cta"})


class Scorer(Protocol):
    """What the check needs: a mean per-token log-likelihood per text, in input order."""

    def score(self, texts: Sequence[str]) -> list[float]:
        """Scores for ``texts``."""
        ...


def fluency_texts(fields: Mapping[str, Any], facts: Facts) -> list[tuple[str, str]]:
    """``(field, text to score)`` pairs of a piece: texts of ≥ ``MIN_WORDS`` words, item titles replaced."""
    out: list[tuple[str, str]] = []
    for name, value in fields.items():
        if name in SKIP_FIELDS:
            continue
        for text in texts_of(value):
            if len(words(text)) >= MIN_WORDS:
                out.append((name, prepare(text, facts)))
    return out


def prepare(text: str, facts: Facts) -> str:
    """The text as the reference model scores it: titles → "the item", the shop's name → "the shop", whitespace
    collapsed. A shop's name is a proper noun the reference model cannot know: "Only at Northwind Goods" scored
    -10.23 per token and refused 5 of 50 held-out Meta ads of the demo model; "Only at the shop" reads as it is."""
    if facts.mask_re is not None:
        text = facts.mask_re.sub("the item", text)
    brand = (facts.brand.name or "").strip()
    if len(brand) >= 3:
        text = re.sub(rf"(?<!\w){re.escape(brand)}(?!\w)", "the shop", text)
    return " ".join(text.split())


def check_fluency(
    pairs: Sequence[tuple[str, str]], scores: Sequence[float], threshold: float = THRESHOLD
) -> list[Violation]:
    """``fluency.low`` for each scored text below ``threshold`` (pairs from ``fluency_texts``, scores in order)."""
    out: list[Violation] = []
    for (name, text), score in zip(pairs, scores, strict=True):
        if score < threshold:
            out.append(
                Violation(
                    "fluency.low",
                    name,
                    f"{text[:60]!r} reads as unnatural (log-likelihood {score:.2f} per token < {threshold:.2f})",
                )
            )
    return out


class FluencyScorer:
    """Mean per-token log-likelihood under a causal LM (a HF model dir), batched, loaded on first use."""

    def __init__(self, path: str | Path, *, batch_size: int = 32, max_tokens: int = 96, threads: int | None = None):
        self.path = Path(path)
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.threads = threads
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if self.threads:
            torch.set_num_threads(self.threads)
        self._tokenizer = AutoTokenizer.from_pretrained(self.path)
        model = AutoModelForCausalLM.from_pretrained(self.path, dtype=torch.float32)
        model.eval()
        self._model = model

    def score(self, texts: Sequence[str]) -> list[float]:
        """Mean log-likelihood per token of each text (after a document-start token), in input order."""
        import torch

        if not texts:
            return []
        with self._lock:
            if self._model is None:
                self._load()
        tok = self._tokenizer
        start = tok.convert_tokens_to_ids("<|endoftext|>")
        if not isinstance(start, int) or start < 0:
            start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        encoded = [[start, *tok(t, add_special_tokens=False)["input_ids"][: self.max_tokens]] for t in texts]
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))  # similar lengths batch together
        scores: list[float] = [0.0] * len(encoded)
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        for k in range(0, len(order), self.batch_size):
            idx = order[k : k + self.batch_size]
            width = max(len(encoded[i]) for i in idx)
            ids = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                ids[row, : len(encoded[i])] = torch.tensor(encoded[i])
                mask[row, : len(encoded[i])] = 1
            with torch.inference_mode():
                logits = self._model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            logp = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
            m = mask[:, 1:].float()
            means = (logp * m).sum(-1) / m.sum(-1).clamp(min=1)
            for row, i in enumerate(idx):
                scores[i] = float(means[row])
        return scores


_SCORERS: dict[str, FluencyScorer] = {}
_SCORERS_LOCK = threading.Lock()


def shared_scorer(path: str | Path) -> FluencyScorer:
    """One scorer per model dir and process (loading is lazy: the first ``score`` call pays it)."""
    key = str(Path(path).resolve())
    with _SCORERS_LOCK:
        if key not in _SCORERS:
            _SCORERS[key] = FluencyScorer(key)
        return _SCORERS[key]
