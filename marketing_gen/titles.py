"""Product titles as copy names them: display case, cut to a length on whole words, the short name.

Plain string functions with no other dependency, shared by the prompts (the data block's ``short`` name), the
teacher, the slots and the quality gate (which must know the short name as the item's name).
"""

from __future__ import annotations

import re


def display_title(title: str) -> str:
    """A catalog title as copy shows it: UPPER-CASE titles in Title Case, whitespace collapsed."""
    text = " ".join(title.split())
    letters = [c for c in text if c.isalpha()]
    if letters and all(c.isupper() for c in letters if c.isascii()) and sum(c.isupper() for c in letters) > 3:
        text = re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), text.lower())
    return text


def shorten(text: str, limit: int) -> str:
    """Cut a catalog string at a word boundary to ≤ ``limit`` characters (prompt data, not copy)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip(" ,;:-") + "…"


def fit(text: str, limit: int) -> str:
    """The whole text if it fits ``limit``, else its longest prefix of ≥ 2 whole words that does, else ``""``.

    For catalog strings in fallback copy: a word-prefix of a title is still the title's name (guardrails mask
    such prefixes), and nothing generated is ever cut.
    """
    words = " ".join(text.split()).split(" ")
    for n in range(len(words), 1, -1):
        candidate = " ".join(words[:n]).rstrip(" ,;:-–—(/&")
        if n < len(words) and candidate.split()[-1].lower() in _DANGLING:
            continue  # "Hot Water Bottle Tea And": a cut title must not end on a connector
        if len(candidate) <= limit and len(candidate.split()) >= 2:
            return candidate
    return text if len(text) <= limit and text.strip() else ""


_DANGLING = frozenset(
    "a an the and or of in on to for with by from at as that which is are be your our its their my next every each "
    "& - +".split()
)
_CUT = re.compile(r"\s+[-–|(,/]\s*|\s*[,(|/]\s*")


def trim_words(text: str, max_len: int) -> str:
    """The longest leading run of whole words that fits in ``max_len``, without a dangling "and"/"of"."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > max_len:
        text = text[: max_len + 1].rsplit(" ", 1)[0] if " " in text[: max_len + 1] else ""
    words = text.rstrip(",;:-–(/&+ ").split()
    while words and words[-1].lower().strip(",;:") in _DANGLING:
        words.pop()
    return " ".join(words).rstrip(",;:-–(/&+ ")


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
"""Where a sentence ends, as the quality gate splits them (an ellipsis marks a cut, not an end)."""


def trim_sentences(text: str, max_len: int) -> str:
    """The longest leading run of whole sentences that fits in ``max_len`` (``""`` when the first does not).

    A text cut inside its last sentence can lose what that sentence was for: "… 10% off your next order with
    code" once the code no longer fits."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= max_len:
        return text
    out = ""
    for sentence in _SENTENCE_END.split(text):
        joined = f"{out} {sentence}".strip()
        if len(joined) > max_len:
            break
        out = joined
    return out if out and out[-1] in ".!?" else ""


_QUALIFIER = frozenset("with for and in of from by &".split())


def short_title(title: str, max_len: int) -> str:
    """An item title cut at its first clause (" - ", ",", "(") and then to ``max_len`` on whole words, keeping the
    product's noun: before a qualifier when there is one ("Hand Grinder" of "Hand Grinder with Steel Burrs"), else
    the longest tail of words that fits ("Butterfly Kids Play Tent" of "Melissa & Doug Bella Butterfly Kids Play
    Tent": an English product name ends on its noun, and a cut head, "Melissa & Doug Bella", names nothing)."""
    head = _CUT.split(title, maxsplit=1)[0].strip()
    if len(head) < 4:
        head = title
    head = " ".join(head.split())
    if len(head) <= max_len:
        return head
    words = head.split()
    cut = next((i for i, w in enumerate(words) if i >= 2 and w.lower() in _QUALIFIER), None)
    if cut is not None and len(before := " ".join(words[:cut])) <= max_len:
        return before
    if cut is not None:
        words = words[:cut]
    tail = _noun_tail(words, max_len)
    return tail or trim_words(" ".join(words), max_len)


def _noun_tail(words: list[str], max_len: int) -> str:
    """The longest run of ≥ 2 words ending the name that fits ``max_len``, starting on a word that begins a name
    (a letter or digit, not a connector, not right after "of"/"the": "Bilbo Baggins Figure", not "Rings …")."""
    for start in range(1, len(words) - 1):
        tail = " ".join(words[start:]).rstrip(",;:-–(/&+ ")
        first, before = words[start], words[start - 1].lower()
        if len(tail) > max_len or not first[0].isalnum() or first.lower() in _DANGLING or before in _DANGLING:
            continue
        return tail
    return ""


SHORT_NAME_CHARS = 28
"""Length of the ``short`` product name in the data block: fits an RSA headline (30) and a push title (40)."""

DISTINCT_NAME_CHARS = 40
"""Longest display title a second item may be called by when its short name is an earlier item's (a push title)."""


def short_names(titles: list[str] | tuple[str, ...]) -> list[str]:
    """The short names of one customer's items, in order, each told apart from the earlier ones: variants of a
    catalog line cut to the same words ("Heart Zinc T-Light Holder" of a single and of a hanging one) would make
    copy name two products alike, so a later one is called by its display title when that fits 40 characters."""
    out: list[str] = []
    for title in titles:
        short = short_name(title)
        if short and short.lower() in {o.lower() for o in out}:
            full = display_title(title)
            short = full if len(full) <= DISTINCT_NAME_CHARS else short
        out.append(short)
    return out


def short_name(title: str) -> str:
    """The name copy uses where space is tight: the display title cut at its first clause, ≤ 28 characters.

    Given to the model in the data block (a 135M model cannot count characters, it can copy a string)."""
    return short_title(display_title(title), SHORT_NAME_CHARS)
