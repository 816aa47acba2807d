"""Audience segment expressions: a small, safe language parsed by hand (no ``eval``).

Owns parsing a segment string into a predicate over a user's profile. Does not own loading users
(``planning`` does that) or consent rules (consent is per channel, applied by ``planning``).

Grammar (keywords are case-insensitive)::

    expr      := and_expr ("or" and_expr)*
    and_expr  := not_expr ("and" not_expr)*
    not_expr  := "not" not_expr | "(" expr ")" | condition
    condition := FIELD ("=" | "!=" | "<" | "<=" | ">" | ">=") VALUE
               | FIELD ["not"] "in" "(" VALUE ("," VALUE)* ")"
               | FIELD "has" (VALUE | "(" VALUE ("," VALUE)* ")")

Fields: ``country``, ``locale``, ``timezone``, ``external_id`` (text, case-insensitive; ``locale = en``
also matches ``en-GB``), ``interests`` (categories of items the user interacted with; ``has X`` matches
X as a whole word anywhere in a category path), ``purchased_within_days`` (alias ``days_since_purchase``:
days since the last purchase; users who never purchased match no comparison), ``purchases`` (number of
purchase events), ``attributes.<key>`` (the user's attributes JSON; ``true``/``false``/numbers are typed).
A VALUE is a quoted string or bare words (``United Kingdom``); quote values that contain ``and``/``or``,
commas or parentheses. The empty expression matches everyone.

Example: ``country in (United Kingdom, France) and interests has Kitchen and purchased_within_days < 30
and attributes.vip = true and locale = en``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from marketing_gen.errors import InvalidRequest

TEXT_FIELDS = ("country", "locale", "timezone", "external_id")
NUMBER_FIELDS = {
    "purchased_within_days": "days_since_purchase",
    "days_since_purchase": "days_since_purchase",
    "purchases": "purchases",
}
COMPARISONS = ("<=", ">=", "!=", "=", "<", ">")
KEYWORDS = ("and", "or", "not", "in", "has")

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op><=|>=|!=|==|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[^\s()<>=!,"']+)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Profile:
    """What a segment may test about one user (built by ``planning`` from the database)."""

    country: str | None = None
    locale: str | None = None
    timezone: str | None = None
    external_id: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    interests: tuple[str, ...] = ()
    """Category paths of items the user interacted with."""
    days_since_purchase: float | None = None
    purchases: int = 0


@dataclass(frozen=True)
class _Tok:
    kind: str  # string | op | punct | word | end
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise InvalidRequest(f"segment: unexpected character {text[pos:].lstrip()[:1]!r} at position {pos}")
        kind = m.lastgroup or "word"
        value = m.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        if kind == "op" and value == "==":
            value = "="
        tokens.append(_Tok(kind, value, m.start(kind)))
        pos = m.end()
    tokens.append(_Tok("end", "", len(text)))
    return tokens


def _literal(raw: str, quoted: bool) -> Any:
    """Type a bare value: true/false/null, int, float; anything else (or quoted) stays text."""
    if quoted:
        return raw
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("null", "none"):
        return None
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


Predicate = Callable[[Profile], bool]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.needs: set[str] = set()

    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def next(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, msg: str, tok: _Tok | None = None) -> InvalidRequest:
        tok = tok or self.peek()
        where = "end of the expression" if tok.kind == "end" else f"position {tok.pos} ({tok.text!r})"
        return InvalidRequest(f"segment: {msg} at {where} in {self.text!r}")

    def is_kw(self, tok: _Tok, kw: str) -> bool:
        return tok.kind == "word" and tok.text.lower() == kw

    def parse(self) -> Predicate:
        pred = self.or_expr()
        if self.peek().kind != "end":
            raise self.error("expected 'and', 'or' or the end")
        return pred

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.is_kw(self.peek(), "or"):
            self.next()
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        alternatives = tuple(parts)
        return lambda p: any(f(p) for f in alternatives)

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while self.is_kw(self.peek(), "and"):
            self.next()
            parts.append(self.not_expr())
        if len(parts) == 1:
            return parts[0]
        required = tuple(parts)
        return lambda p: all(f(p) for f in required)

    def not_expr(self) -> Predicate:
        tok = self.peek()
        if self.is_kw(tok, "not"):
            self.next()
            inner = self.not_expr()
            return lambda p: not inner(p)
        if tok.kind == "punct" and tok.text == "(":
            self.next()
            inner = self.or_expr()
            self.expect(")")
            return inner
        return self.condition()

    def expect(self, punct: str) -> None:
        tok = self.next()
        if tok.kind != "punct" or tok.text != punct:
            raise self.error(f"expected {punct!r}", tok)

    def value(self) -> Any:
        """One VALUE: a quoted string, or consecutive bare words up to a delimiter or keyword."""
        tok = self.peek()
        if tok.kind == "string":
            self.next()
            return _literal(tok.text, quoted=True)
        words: list[str] = []
        while tok.kind == "word" and not (words and tok.text.lower() in ("and", "or")):
            words.append(self.next().text)
            tok = self.peek()
        if not words:
            raise self.error("expected a value")
        return _literal(" ".join(words), quoted=False)

    def value_list(self) -> list[Any]:
        self.expect("(")
        values = [self.value()]
        while self.peek().kind == "punct" and self.peek().text == ",":
            self.next()
            values.append(self.value())
        self.expect(")")
        return values

    def condition(self) -> Predicate:
        tok = self.next()
        if tok.kind != "word" or tok.text.lower() in KEYWORDS:
            raise self.error("expected a field name", tok)
        name = tok.text.lower()
        nxt = self.peek()
        negate_in = False
        if self.is_kw(nxt, "not"):
            self.next()
            nxt = self.peek()
            if not self.is_kw(nxt, "in"):
                raise self.error("expected 'in' after 'not'")
            negate_in = True
        if self.is_kw(nxt, "in"):
            self.next()
            values = self.value_list()
            pred = self._membership(name, values, tok)
            return (lambda p: not pred(p)) if negate_in else pred
        if self.is_kw(nxt, "has"):
            self.next()
            if name != "interests":
                raise self.error("'has' works only on 'interests'", nxt)
            is_list = self.peek().kind == "punct" and self.peek().text == "("
            values = self.value_list() if is_list else [self.value()]
            return self._has(values)
        if nxt.kind != "op":
            raise self.error(f"expected an operator ({', '.join(COMPARISONS)}, in, has) after {name!r}", nxt)
        op = self.next().text
        return self._compare(name, op, self.value(), tok)

    # --- predicates -------------------------------------------------------------------------------

    def _getter(self, name: str, tok: _Tok) -> Callable[[Profile], Any]:
        if name in TEXT_FIELDS:
            return lambda p: getattr(p, name)
        if name in NUMBER_FIELDS:
            attr = NUMBER_FIELDS[name]
            self.needs.add(attr)
            return lambda p: getattr(p, attr)
        if name.startswith("attributes.") and len(name) > len("attributes."):
            key = tok.text[len("attributes.") :]  # keep the key's case
            return lambda p: p.attributes.get(key, _MISSING) if p.attributes else _MISSING
        if name == "interests":
            raise self.error("use 'interests has VALUE'", tok)
        known = ", ".join((*TEXT_FIELDS, *NUMBER_FIELDS, "interests", "attributes.<key>"))
        raise self.error(f"unknown field {name!r} (known: {known})", tok)

    def _compare(self, name: str, op: str, value: Any, tok: _Tok) -> Predicate:
        get = self._getter(name, tok)
        if name in NUMBER_FIELDS and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise self.error(f"{name!r} needs a number, got {value!r}", tok)
        if name in TEXT_FIELDS and op not in ("=", "!="):
            raise self.error(f"{name!r} supports =, != and in", tok)
        is_locale = name == "locale"
        return lambda p: _apply(op, get(p), value, is_locale)

    def _membership(self, name: str, values: list[Any], tok: _Tok) -> Predicate:
        get = self._getter(name, tok)
        is_locale = name == "locale"
        return lambda p: any(_apply("=", get(p), v, is_locale) for v in values)

    def _has(self, values: list[Any]) -> Predicate:
        self.needs.add("interests")
        patterns = [re.compile(rf"(?<!\w){re.escape(str(v))}(?!\w)", re.IGNORECASE) for v in values]
        return lambda p: any(pat.search(cat) for pat in patterns for cat in p.interests)


_MISSING = object()


def _norm_locale(value: str) -> str:
    return value.lower().replace("_", "-")


def _apply(op: str, actual: Any, expected: Any, is_locale: bool = False) -> bool:
    """Compare a profile value with a literal; missing values match nothing but ``!=``."""
    if actual is _MISSING:
        return op == "!="
    if actual is None or expected is None:
        if op not in ("=", "!="):
            return False
        return (actual is None and expected is None) == (op == "=")
    if isinstance(actual, bool) or isinstance(expected, bool):
        equal = (
            actual == expected
            if isinstance(actual, bool) and isinstance(expected, bool)
            else (str(actual).lower() == str(expected).lower())
        )
        if op in ("=", "!="):
            return equal == (op == "=")
        return False
    a: Any
    b: Any
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        a, b = float(actual), float(expected)
    elif isinstance(actual, str):
        a, b = actual.strip().lower(), str(expected).strip().lower()
        if is_locale:
            a, b = _norm_locale(a), _norm_locale(b)
            if op in ("=", "!=") and "-" not in b:
                return (a.split("-")[0] == b) == (op == "=")
        elif op not in ("=", "!="):
            try:
                a, b = float(a), float(b)
            except ValueError:
                pass
    else:
        a, b = str(actual).lower(), str(expected).lower()
    try:
        return {
            "=": a == b,
            "!=": a != b,
            "<": a < b,
            "<=": a <= b,
            ">": a > b,
            ">=": a >= b,
        }[op]
    except TypeError:
        return False


@dataclass(frozen=True)
class Segment:
    """A parsed segment: ``matches(profile)`` and which derived facts it needs loaded."""

    text: str
    predicate: Predicate
    needs: frozenset[str]
    """Subset of {"interests", "days_since_purchase", "purchases"}: what ``planning`` must load."""

    def matches(self, profile: Profile) -> bool:
        """True when the user is in the segment."""
        return self.predicate(profile)


def parse_segment(text: str | None) -> Segment:
    """Parse a segment expression; raises ``InvalidRequest`` naming the position of a syntax error."""
    text = (text or "").strip()
    if not text:
        return Segment("", lambda _p: True, frozenset())
    parser = _Parser(text)
    pred = parser.parse()
    needs = set(parser.needs)
    if "days_since_purchase" in needs:
        needs.add("purchases")  # loaded by the same query
    return Segment(text, pred, frozenset(needs))
