"""Guardrails: every hard rule a piece of copy must pass before it is delivered. Findings are data.

``check(fields, context, channel, brand)`` runs the four families — format (``length.*``, ``count.*``,
``missing.*``, ``format.*``, ``sms.*``, ``push.*``), grounding (``grounding.*``), compliance
(``compliance.*``) and quality (``quality.*``) — and returns every ``Violation``; ``hard`` ones block.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marketing_gen.channels.base import ChannelSpec, get_channel
from marketing_gen.contexts import BrandFacts, UserContext
from marketing_gen.guardrails.compliance import check_compliance
from marketing_gen.guardrails.facts import Facts, Violation, build_facts
from marketing_gen.guardrails.format import check_format
from marketing_gen.guardrails.grounding import check_grounding
from marketing_gen.guardrails.quality import check_quality

__all__ = ["Facts", "Violation", "build_facts", "check", "check_with_facts", "hard"]


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


def check_with_facts(fields: Mapping[str, Any], facts: Facts, spec: ChannelSpec) -> list[Violation]:
    """``check`` with facts derived beforehand (the copywriter reuses them across attempts)."""
    known = {k: v for k, v in fields.items() if k in spec.field_names}
    return [
        *check_format(fields, spec, facts),
        *check_grounding(known, facts),
        *check_compliance(known, facts),
        *check_quality(known, facts),
    ]


def hard(violations: list[Violation]) -> list[Violation]:
    """Only the blocking findings."""
    return [v for v in violations if v.hard]
