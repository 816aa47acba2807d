"""Structured output: pull a channel's fields out of model text, tolerantly. Never raises on model output.

Channels ask for tagged fields, one per line (``SUBJECT: …``; list fields repeat the tag, ``HEADLINE: …``).
Accepted too: any letter case, markdown bold / bullets / numbering / headings, quoted values, numbered keys
(``Headline 1:``), singular tags for plural field names, continuation lines, an upper-case tag that starts mid-line
(a new line), and a JSON object in the text.
What could not be read is reported in ``ParseResult.problems`` (a finding on the draft, not an exception).
Owns parsing only; whether a value is acceptable is ``guardrails``' call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FieldKind = Literal["str", "list"]

_BULLET = re.compile(r"^\s*(?:[-*•·+>]+|\(?\d{1,2}[.)]|#{1,6})\s+")
_KEY = re.compile(r"^(?P<key>[A-Za-z][A-Za-z _/-]{0,40}?)[ _#-]*(?P<num>\d{1,2})?$")
_KEY_EMPHASIS = re.compile(r"\*\*|\*|`|\b__|__\b")
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "„": "“"}


@dataclass
class ParseResult:
    """The fields found (``str`` or ``list[str]`` by spec) and what went wrong, in words."""

    fields: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every field was found and nothing was odd."""
        return not self.problems


def _norm(key: str) -> str:
    return re.sub(r"[\s/-]+", "_", key.strip().lower()).strip("_")


def clean_value(value: str) -> str:
    """Strip whitespace, markdown emphasis at the ends, and one pair of surrounding quotes."""
    value = value.strip()
    for _ in range(2):
        m = re.fullmatch(r"(\*\*|__|\*|_|`)(.*)\1", value, flags=re.S)
        if m:
            value = m.group(2).strip()
        if len(value) >= 2 and _QUOTES.get(value[0]) == value[-1]:
            value = value[1:-1].strip()
    return value


class _Matcher:
    """Maps a written key (any case, numbered, singular/plural, alias) to a spec field."""

    def __init__(self, spec: Mapping[str, FieldKind], aliases: Mapping[str, str] | None) -> None:
        self.names: dict[str, str] = {}
        for name in spec:
            n = _norm(name)
            self.names[n] = name
            for variant in (n + "s", n + "es", n[:-1] if n.endswith("s") else "", n[:-2] if n.endswith("es") else ""):
                if variant:
                    self.names.setdefault(variant, name)
        for alias, name in (aliases or {}).items():
            if name in spec:
                self.names[_norm(alias)] = name
        self.spec = spec

    def match(self, key: str, num: str | None) -> str | None:
        k = _norm(key.strip().strip("*_`").strip())  # emphasis around the key; inner "_" is part of it
        if num is not None:
            for joined in (f"{k}{num}", f"{k}_{num}"):
                if joined in self.names:
                    return self.names[joined]
        return self.names.get(k)


def parse_fields(
    text: str,
    spec: Mapping[str, FieldKind],
    *,
    aliases: Mapping[str, str] | None = None,
) -> ParseResult:
    """Extract ``spec``'s fields (name → ``str`` | ``list``) from model text; ``aliases`` maps extra tags to names."""
    text = text if isinstance(text, str) else ""
    matcher = _Matcher(spec, aliases)
    result = _parse_json(text, spec, matcher) or _parse_tagged(text, spec, matcher)
    for name, kind in spec.items():
        value = result.fields.get(name)
        if kind == "list":
            items = [v for v in (value or []) if v]
            result.fields[name] = items
            if not items:
                result.problems.append(f"missing field {name}")
        else:
            result.fields[name] = value or ""
            if not value:
                result.problems.append(f"missing field {name}")
    return result


def _parse_json(text: str, spec: Mapping[str, FieldKind], matcher: _Matcher) -> ParseResult | None:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        obj = json.loads(text[start : end + 1])
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    result = ParseResult()
    for key, value in obj.items():
        m = _KEY.match(str(key).strip())
        name = matcher.match(m.group("key"), m.group("num")) if m else None
        if name is None:
            continue
        values = [clean_value(str(v)) for v in value] if isinstance(value, list) else [clean_value(str(value))]
        if spec[name] == "list":
            result.fields.setdefault(name, []).extend(values)
        elif name not in result.fields:
            result.fields[name] = "\n".join(values)
    return result if result.fields else None


def _split_key(line: str) -> tuple[str, str | None, str] | None:
    """``**Headline 2:** text`` → (``Headline``, ``2``, ``text``); None when the line has no key."""
    cut = min((i for i in (line.find(":"), line.find("：")) if i >= 0), default=-1)
    if cut <= 0:
        return None
    m = _KEY.match(_KEY_EMPHASIS.sub("", line[:cut]).strip().strip("_").strip())  # keeps PRIMARY_TEXT's "_"
    if m is None:
        return None
    value = re.sub(r"^(\*\*|__)\s*", "", line[cut + 1 :].strip())
    return m.group("key").strip(), m.group("num"), value


_TAGS = "SUBJECT|PREHEADER|HEADLINES?|BODY|CTA|DESCRIPTIONS?|PATH[12]|PRIMARY_TEXT|TEXT|TITLE"
_INLINE_TAG = re.compile(rf"(?<=\S)[ \t]+(?=(?:{_TAGS})(?: ?\d{{1,2}})?:(?:\s|$))")
"""A channel's upper-case tag after text on the same line ("… Polka Dot HEADLINE: …"): a field the model began
without a line break. It starts a new line, so a one-line field ends before it."""
_OTHER_TAG = re.compile(rf"^(?:{_TAGS}|[A-Z]{{3,}}(?:_[A-Z]+)*)(?: ?\d{{1,2}})?:")
"""A line that starts with an upper-case tag, a channel's or any other word in capitals ("HEAD:", which the demo
model wrote under an SMS's TEXT line): when this channel has no such field, the model ran on into another
answer, and the field before it ends there (it is not continued by that line). Once every one-line field is filled,
reading stops there: the demo model wrote "PATH3:" … "PATH10:" after a complete RSA, then "DESCRIPTION 2:" again,
read as a third description."""


def _parse_tagged(text: str, spec: Mapping[str, FieldKind], matcher: _Matcher) -> ParseResult:
    result = ParseResult()
    current: str | None = None  # the field that continuation lines extend
    blank_before = False
    repeated: set[str] = set()
    for raw in _INLINE_TAG.sub("\n", text).splitlines():
        line = raw.strip()
        if not line:
            blank_before = True
            continue
        unbulleted = _BULLET.sub("", line)
        was_bullet = unbulleted != line
        split = _split_key(unbulleted)
        name = matcher.match(split[0], split[1]) if split else None
        if name is not None and split is not None:
            value = clean_value(split[2])
            current = name
            if spec[name] == "list":
                if value:
                    result.fields.setdefault(name, []).append(value)
                else:
                    result.fields.setdefault(name, [])
            elif result.fields.get(name):
                if value and name not in repeated:
                    repeated.add(name)
                    result.problems.append(f"field {name} given more than once; kept the first")
                if all(result.fields.get(f) for f, kind in spec.items() if kind != "list"):
                    break  # the answer was complete and the model began another: list lines after it are not ours
                current = None  # do not glue the second one's continuation onto the first
            else:
                result.fields[name] = value
        elif _OTHER_TAG.match(line):
            if result.fields and all(result.fields.get(f) for f, kind in spec.items() if kind != "list"):
                break  # after a complete answer, a tag of no field here is a run-on ("PATH3: …" after PATH2)
            current = None
        elif current is not None:
            value = clean_value(unbulleted if spec[current] == "list" else line)
            if spec[current] == "list":
                items = result.fields.setdefault(current, [])
                if was_bullet or not items or blank_before:
                    items.append(value)
                else:
                    items[-1] = f"{items[-1]} {value}".strip()
            else:
                joiner = "\n\n" if blank_before else "\n"
                prev = result.fields.get(current, "")
                result.fields[current] = f"{prev}{joiner}{value}" if prev else value
        blank_before = False
    return result
