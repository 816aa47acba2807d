"""Guardrails: every hard rule a piece of copy must pass before it is delivered. Findings are data.

``check(fields, context, channel, brand)`` runs the hard checks — format (``length.*``, ``count.*``,
``missing.*``, ``format.*``, ``sms.*``, ``push.*``), grounding (``grounding.*``), compliance
(``compliance.*``) and quality (``quality.*``) — and the quality gate — fidelity (``fidelity.*``), content
(``content.*``) and language (``language.*``) — and returns every ``Violation``; ``hard`` ones block. The gate's
fourth family, fluency (``fluency.*``), needs a reference model: ``guardrails.fluency``, applied by the copywriter.

Two verdicts per piece (docs/quality.md): ``passes`` — no hard finding of the hard checks (what "pass" meant
before the gate) — and ``sendable`` — no hard finding at all, the gate's included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from marketing_gen.channels.base import ChannelSpec, get_channel
from marketing_gen.contexts import BrandFacts, UserContext
from marketing_gen.guardrails.compliance import check_compliance
from marketing_gen.guardrails.content import check_content, check_echo
from marketing_gen.guardrails.facts import Facts, Violation, build_facts
from marketing_gen.guardrails.fidelity import check_fidelity
from marketing_gen.guardrails.format import check_format
from marketing_gen.guardrails.grounding import check_grounding
from marketing_gen.guardrails.language import check_language
from marketing_gen.guardrails.quality import check_quality

__all__ = [
    "GATE_FAMILIES",
    "Facts",
    "Violation",
    "build_facts",
    "check",
    "check_gate",
    "check_with_facts",
    "hard",
    "is_gate",
    "passes",
    "sendable",
]

GATE_FAMILIES = ("fidelity", "content", "language", "fluency")
"""The quality gate's families (code prefixes): copy that passes the hard checks may still not be sendable."""


def check(
    fields: Mapping[str, Any],
    context: UserContext | None,
    channel: str | ChannelSpec,
    brand: BrandFacts | None = None,
    *,
    tracking_base_url: str | None = None,
) -> list[Violation]:
    """All findings for one piece of copy (context None: grounding and language are skipped)."""
    facts = build_facts(context, brand, tracking_base_url=tracking_base_url)
    return check_with_facts(fields, facts, get_channel(channel))


def check_with_facts(
    fields: Mapping[str, Any], facts: Facts, spec: ChannelSpec, *, example: str = ""
) -> list[Violation]:
    """``check`` with facts derived beforehand (the copywriter reuses them across attempts); ``example``: the
    prompt's example answer, for the gate's ``content.echo`` rule."""
    known = {k: v for k, v in fields.items() if k in spec.field_names}
    return [
        *check_format(fields, spec, facts),
        *check_grounding(known, facts),
        *check_compliance(known, facts),
        *check_quality(known, facts),
        *check_gate(known, facts, spec, example=example),
    ]


def check_gate(fields: Mapping[str, Any], facts: Facts, spec: ChannelSpec, *, example: str = "") -> list[Violation]:
    """The quality gate without fluency: fidelity, content and language (marketing channels; replies skip it).
    ``example``: the prompt's example answer (few-shot prompts), which copy must not echo."""
    if spec.name == "social_reply":
        return []
    return [
        *check_fidelity(fields, facts),
        *check_content(fields, facts, spec),
        *(check_echo(fields, example, facts) if example else []),
        *check_language(fields, facts),
    ]


def is_gate(code: str) -> bool:
    """True for a quality-gate finding code (``fidelity.*``, ``content.*``, ``language.*``, ``fluency.*``)."""
    return code.split(".", 1)[0] in GATE_FAMILIES


def _blocking(violations: Sequence[Violation | Mapping[str, Any]]) -> list[str]:
    return [
        v.code if isinstance(v, Violation) else str(v["code"])
        for v in violations
        if (v.hard if isinstance(v, Violation) else v.get("hard", True))
    ]


def passes(violations: Sequence[Violation | Mapping[str, Any]]) -> bool:
    """No hard finding of the hard checks (gate findings ignored): the "pass" of the reports."""
    return not any(not is_gate(code) for code in _blocking(violations))


def sendable(violations: Sequence[Violation | Mapping[str, Any]]) -> bool:
    """No hard finding at all, the quality gate's included: copy a marketer would send."""
    return not _blocking(violations)


def hard(violations: list[Violation]) -> list[Violation]:
    """Only the blocking findings."""
    return [v for v in violations if v.hard]
