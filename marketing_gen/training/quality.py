"""Quality score of one piece of copy that already passes the hard checks, and corpus diversity (distinct-n).

Used to rank best-of-n bootstrap candidates and reported by ``eval copy``. A score in [0, 1]:
- specific (0.4): names one of the user's items (a ≥ 2-word run of a title) or states one of its features;
- personal (0.2): uses the first name or an interest when the context has them;
- not repetitive (0.3): share of distinct word bigrams within the copy;
- length fit (0.1): share of texts between the field's soft minimum (or a quarter of its limit) and its limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from marketing_gen.channels.base import ChannelSpec, get_channel
from marketing_gen.contexts import UserContext

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def tokens(text: str) -> list[str]:
    """Lower-case word tokens."""
    return [t.lower() for t in _TOKEN.findall(text)]


def field_texts(fields: Mapping[str, Any]) -> list[str]:
    """Every text of a fields dict (lists flattened), in order."""
    out: list[str] = []
    for value in fields.values():
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, (list, tuple)):
            out.extend(v for v in value if isinstance(v, str))
    return out


def distinct_n(texts: Iterable[str], n: int = 2) -> float:
    """Distinct n-grams / all n-grams over ``texts`` (1.0 when there are none)."""
    total = 0
    seen: set[tuple[str, ...]] = set()
    for text in texts:
        toks = tokens(text)
        grams = [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 1.0


def _mentions_item(text: str, context: UserContext) -> bool:
    low = " ".join(tokens(text))
    for item in context.items:
        title = tokens(item.title)
        for i in range(len(title) - 1):
            if f" {title[i]} {title[i + 1]} " in f" {low} ":
                return True
        for feature in item.features:
            ft = tokens(feature)
            if len(ft) >= 3 and " ".join(ft[:3]) in low:
                return True
    return False


def length_fit(fields: Mapping[str, Any], spec: ChannelSpec) -> float:
    """Share of the copy's texts whose length lies in the field's comfortable range."""
    ok = total = 0
    for f in spec.fields:
        value = fields.get(f.name)
        texts = [value] if isinstance(value, str) else list(value or [])
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                continue
            total += 1
            low = f.soft_min_len or (f.max_len // 4 if f.max_len else 1)
            high = f.max_len or 10**9
            ok += low <= len(text.strip()) <= high
    return ok / total if total else 0.0


def quality_score(fields: Mapping[str, Any], context: UserContext, channel: str | ChannelSpec) -> float:
    """Specific + personal + not repetitive + length fit, in [0, 1] (see the module docstring)."""
    spec = get_channel(channel)
    texts = field_texts(fields)
    joined = " \n ".join(texts)
    specific = 1.0 if _mentions_item(joined, context) else 0.0
    wants = [w for w in (context.first_name, *context.interests) if w]
    if wants:
        low = joined.lower()
        personal = 1.0 if any(w.lower() in low for w in wants) else 0.0
    else:
        personal = 1.0
    return round(0.4 * specific + 0.2 * personal + 0.3 * distinct_n([joined]) + 0.1 * length_fit(fields, spec), 4)
