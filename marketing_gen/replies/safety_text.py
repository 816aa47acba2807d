"""Text normalisation for the reply-safety detectors: the views of a text their patterns are matched against.

Owns ``views(text)``: the folded text (NFKC so full-width letters become ASCII, zero-width characters removed,
case folded, accents stripped, typographic quotes made plain), a de-leeted copy (``1gn0r3`` → ``ignore``,
masked swear words such as ``f*cking`` restored), and a joined copy (``i g n o r e`` and ``ign.ore`` →
``ignore``). Patterns are written once against plain lower-case ASCII and match every obfuscated spelling that
folds to it. ``Patterns`` compiles one family of patterns for those views (on the joined view, where word
boundaries may be lost, spaces in a pattern become optional). Also owns ``word_ngrams`` for the system-prompt
echo check. Does not own any pattern.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

_ZERO_WIDTH = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'", "“": '"', "”": '"', "«": '"', "»": '"'})
_SPACE = re.compile(r"\s+")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_LEET_TOKEN = re.compile(r"[\w@$]*[a-z][\w@$]*")
_LEET_CHARS = re.compile(r"[013457@$]")
_BANG_I = re.compile(r"(?<=[a-z])!(?=[a-z])")
_MASKED = re.compile(r"[a-z]+[*#]+[a-z*#]*|[*#]+[a-z]+[a-z*#]*")
_SPACED_LETTERS = re.compile(r"(?<![a-z])(?:[a-z][ .\-_*·|/]){2,}[a-z](?![a-z])")
_INNER_SEPARATOR = re.compile(r"(?<=[a-z])[.\-_*·|](?=[a-z])")
_FUSED = re.compile(r"[a-z]{16,}")
"""A letter run this long is words fused by ``join_letters`` (German compounds are matched strictly too)."""
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

MASKED_WORDS: tuple[str, ...] = (
    "fuck",
    "fucking",
    "fucked",
    "fucker",
    "fuckers",
    "shit",
    "shitty",
    "asshole",
    "assholes",
    "bitch",
    "bitches",
    "cunt",
    "cunts",
    "bastard",
    "bastards",
    "idiot",
    "idiots",
    "moron",
    "morons",
    "dick",
    "dickhead",
    "scheisse",
    "arschloch",
    "putain",
    "merde",
    "mierda",
    "puta",
    "kut",
    "kanker",
    "cazzo",
    "stronzo",
    "stronzi",
)
"""Swear words a writer may mask with ``*`` or ``#`` (``f*ck``, ``sh#t``); a masked word matching exactly one
of them (the masks standing for letters) is restored before matching."""


def fold(text: str) -> str:
    """Lower-case ASCII-ish text: NFKC, zero-width removed, case folded, accents stripped, quotes made plain."""
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH.sub("", text).translate(_QUOTES).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACE.sub(lambda m: "  " if len(m.group(0)) > 1 else " ", text).strip()


def _deleet_token(match: re.Match[str]) -> str:
    token = match.group(0)
    return token.translate(_LEET) if _LEET_CHARS.search(token) else token


@lru_cache(maxsize=256)
def _mask_pattern(masked: str) -> re.Pattern[str]:
    return re.compile("".join("[a-z]" if ch in "*#" else re.escape(ch) for ch in masked))


def _unmask(match: re.Match[str]) -> str:
    masked = match.group(0)
    pattern = _mask_pattern(masked)
    hits = [w for w in MASKED_WORDS if len(w) == len(masked) and pattern.fullmatch(w)]
    if len(hits) == 1:
        return hits[0]
    loose = re.compile(_mask_pattern(masked).pattern.replace("[a-z]", "[a-z]{1,3}"))
    hits = [w for w in MASKED_WORDS if loose.fullmatch(w)]
    return hits[0] if len(hits) == 1 else masked


def deleet(folded: str) -> str:
    """Digits and symbols standing for letters inside words mapped back (``y0ur`` → ``your``); masks restored."""
    text = _LEET_TOKEN.sub(_deleet_token, _BANG_I.sub("i", folded))
    return _MASKED.sub(_unmask, text)


def join_letters(text: str) -> str:
    """Letters split by single spaces or punctuation joined again (``i g n o r e`` / ``ign.ore`` → ``ignore``).

    A wider gap (two spaces or more) between such runs stays a word boundary.
    """
    text = _SPACED_LETTERS.sub(lambda m: re.sub(r"[ .\-_*·|/]", "", m.group(0)), text)
    return _INNER_SEPARATOR.sub("", text)


@dataclass(frozen=True)
class TextViews:
    """The normalised views of one text."""

    strict: tuple[str, ...]
    """Folded and de-leeted views (distinct), whitespace collapsed, plus the joined view when it differs."""
    joined: str | None
    """Letters joined again, when that fused words into one long run ("ignoreallpreviousinstructions"):
    patterns match it with optional spaces and no word boundaries."""


def views(text: str) -> TextViews:
    """The views of ``text`` the detectors match: folded, de-leeted, and letters joined."""
    folded = fold(text)
    plain = deleet(folded)
    joined = _SPACE.sub(" ", join_letters(plain))
    strict = tuple(dict.fromkeys(_SPACE.sub(" ", v) for v in (folded, plain, joined)))
    return TextViews(strict, joined if _FUSED.search(joined) else None)


class Patterns:
    """One family of regular expressions (plain lower-case ASCII) matched against every view of a text."""

    def __init__(self, patterns: Iterable[str]) -> None:
        sources = [f"(?:{p})" for p in patterns]
        self.strict = re.compile("|".join(sources))
        self.loose = re.compile("|".join(s.replace(" ", " ?").replace(r"\b", "") for s in sources))

    def search(self, text: TextViews) -> re.Match[str] | None:
        """The first match in any view (None: no match)."""
        for view in text.strict:
            if m := self.strict.search(view):
                return m
        return self.loose.search(text.joined) if text.joined else None

    def finditer(self, text: TextViews) -> list[re.Match[str]]:
        """Every match in the strict views."""
        return [m for view in text.strict for m in self.strict.finditer(view)]


def word_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """Word n-grams of the folded text (punctuation ignored)."""
    words = _WORD.findall(fold(text))
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
