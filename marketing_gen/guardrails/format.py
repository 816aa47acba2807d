"""Format checks: required fields, list counts, length limits, formula-like starts, single-line fields,
placeholders, SMS, push."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marketing_gen.channels import push, sms
from marketing_gen.channels.base import ChannelSpec, all_channels
from marketing_gen.csv_safe import is_formula_like
from marketing_gen.guardrails.facts import Facts, Violation

SINGLE_LINE = {
    "subject",
    "preheader",
    "headline",
    "cta",
    "headlines",
    "descriptions",
    "path1",
    "path2",
    "title",
    "description",
}
"""Fields a platform shows on one line."""

_PLACEHOLDER_RE = re.compile(
    r"\[[^\]\n]{1,40}\]|\{\{.*?\}\}|\{%.*?%\}|\{[a-z_]{2,30}\}|<(?:name|first[ _]name|product|brand|link|url)>"
    r"|\bX{3,}\b|\bTBD\b",
    re.IGNORECASE,
)
_TAGS = sorted({f.prompt_tag for s in all_channels().values() for f in s.fields} | {"PATH", "PATH1", "PATH2"})
_TAG_PREFIXES = sorted({t[:n] for t in _TAGS for n in range(3, len(t) + 1)}, key=len, reverse=True)
_TAG_RE = re.compile(
    rf"(?<![\w-])(?:{'|'.join(_TAGS)})(?:\s?\d{{1,2}})?\s*:|(?<![\w-])(?:{'|'.join(_TAG_PREFIXES)})(?=:)"
)
"""A field tag left in a text (``BODY:``, ``DESCRIPTION 2:``), also cut short (``HEAD:`` of ``HEADLINE:``; upper
case only)."""


def texts_of(value: Any) -> list[str]:
    """A field value as a list of texts (str → [str], list → its str items)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


def check_format(fields: Mapping[str, Any], spec: ChannelSpec, facts: Facts) -> list[Violation]:
    """Required fields, counts, lengths (code points), one-line fields, placeholders, SMS and push limits."""
    out: list[Violation] = []
    for f in spec.fields:
        value = fields.get(f.name)
        if value is not None and not isinstance(value, (str, list, tuple)):
            out.append(Violation(f"type.{f.name}", f.name, f"{f.name} must be text or a list of texts"))
            continue
        if f.kind == "str" and isinstance(value, (list, tuple)):
            out.append(Violation(f"type.{f.name}", f.name, f"{f.name} must be one text, not a list"))
            continue
        texts = [t for t in texts_of(value) if t.strip()]
        if not texts:
            if f.required:
                out.append(Violation(f"missing.{f.name}", f.name, f"{f.name} is required"))
            continue
        if f.kind == "list" and not f.min_count <= len(texts) <= f.max_count:
            out.append(
                Violation(f"count.{f.name}", f.name, f"{len(texts)} {f.name}; needs {f.min_count}–{f.max_count}")
            )
        for i, text in enumerate(texts):
            label = f"{f.name}[{i}]" if f.kind == "list" else f.name
            if f.max_len is not None and len(text) > f.max_len:
                out.append(
                    Violation(
                        f"length.{f.name}", f.name, f"{label} has {len(text)} characters; the limit is {f.max_len}"
                    )
                )
            if f.soft_min_len is not None and len(text.strip()) < f.soft_min_len:
                out.append(
                    Violation(
                        f"length.{f.name}_short",
                        f.name,
                        f"{label} has {len(text.strip())} characters; aim for ≥ {f.soft_min_len}",
                        hard=False,
                    )
                )
            if is_formula_like(text):  # a spreadsheet would run it (CSV exports neutralise it, but with a ')
                out.append(
                    Violation(
                        f"format.formula.{f.name}",
                        f.name,
                        f"{label} begins with {text[:1]!r}: spreadsheets and ad-platform bulk sheets read it as a "
                        "formula; start with a word",
                    )
                )
            if f.name in SINGLE_LINE and ("\n" in text.strip() or "\r" in text.strip()):
                out.append(Violation(f"format.newline.{f.name}", f.name, f"{label} must be one line"))
            masked = facts.mask(text)
            leftover = _PLACEHOLDER_RE.search(masked) or _TAG_RE.search(masked)
            if leftover:
                out.append(
                    Violation(
                        "format.placeholder",
                        f.name,
                        f"{label} contains a placeholder or tag {leftover.group(0).strip()!r}",
                    )
                )
    if spec.render_target == "sms":
        out.extend(_check_sms(fields, spec, facts))
    if spec.render_target == "push":
        out.extend(_check_push(fields, spec))
    return out


def _check_sms(fields: Mapping[str, Any], spec: ChannelSpec, facts: Facts) -> list[Violation]:
    text = fields.get("text")
    if not isinstance(text, str) or not text.strip():
        return []
    out: list[Violation] = []
    info = sms.sms_info(text)
    if info.segments > spec.max_segments:
        detail = ""
        if info.encoding == "UCS-2":
            detail = f" (UCS-2 because of {''.join(sms.non_gsm_chars(text)[:5])!r})"
        out.append(
            Violation(
                "sms.segments",
                "text",
                f"{info.segments} segments ({info.units} {info.encoding} units){detail}; "
                f"the limit is {spec.max_segments}",
            )
        )
    if not sms.has_opt_out(text, facts.language):
        out.append(Violation("sms.optout", "text", f"the SMS must include '{sms.opt_out_line(facts.language)}'"))
    if facts.brand.name.strip() and not sms.has_brand(text, facts.brand.name):
        out.append(Violation("sms.brand", "text", f"the SMS must name the brand {facts.brand.name!r}"))
    return out


def _check_push(fields: Mapping[str, Any], spec: ChannelSpec) -> list[Violation]:
    title, body = fields.get("title"), fields.get("body")
    if not isinstance(title, str) or not isinstance(body, str):
        return []
    # Worst case of what render adds: a tracking URL of typical length and the draft id.
    # and the localized disclaimer (≤ 40 characters, up to 4 UTF-8 bytes each).
    probe = {"url": "https://example.invalid/c/" + "x" * 200, "draft_id": "0" * 12, "disclaimer": "x" * 160}
    sizes = [
        push.payload_bytes(push.build_apns(title, body, data=probe)),
        push.payload_bytes(push.build_fcm(title, body, data=probe)),
    ]
    if max(sizes) > spec.max_payload_bytes:
        return [Violation("push.payload", "*", f"payload is {max(sizes)} bytes; the limit is {spec.max_payload_bytes}")]
    return []
