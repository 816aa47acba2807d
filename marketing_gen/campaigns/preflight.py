"""Preflight: what rendering and sending a campaign will need, checked before any compute is spent.

Owns the checks ``campaign create`` and ``campaign run`` make: the brand's postal address for email (CAN-SPAM),
signing key and public base URL for links (``config.link_settings_problems``, the one rule render applies too),
an audience per channel (segment ∩ consent ∩ address ∖ unsubscribed / suppressed / frequency cap — the rule of
``eligibility`` and ``planning``), and at least one recommended, in-stock, priced item per user. Each finding
names its fix. Errors refuse the campaign; warnings are reported and the campaign goes on.
Does not plan or write anything (``planning`` does, after preflight).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketing_gen.campaigns.eligibility import Recipient, exclusion
from marketing_gen.campaigns.planning import iter_segment_users, over_cap
from marketing_gen.campaigns.segments import parse_segment
from marketing_gen.config import Settings, link_settings_problems
from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Item, Recommendation, User, utcnow
from marketing_gen.errors import Refused

LINK_CHANNELS = ("email", "push")
"""Channels whose rendering signs links (unsubscribe, click tracking): they need the key and a public base URL."""

CHUNK = 1000
"""Users per round of consent / cap / item queries."""


class PreflightFailed(Refused):
    """The campaign cannot render or reach anyone as configured; the message lists each problem and its fix."""


@dataclass(frozen=True)
class Finding:
    """One problem preflight found."""

    code: str
    """Stable id: ``brand.missing``, ``brand.postal_address``, ``links.settings``, ``audience.empty``,
    ``items.none``, ``items.missing``."""
    severity: Literal["error", "warning"]
    """``error`` refuses the campaign; ``warning`` is reported only."""
    message: str
    """What is wrong and what to do."""
    channel: str | None = None
    """The channel it concerns, or None for all."""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {"code": self.code, "severity": self.severity, "channel": self.channel, "message": self.message}


@dataclass
class Preflight:
    """What preflight found for one campaign (or one campaign about to be created)."""

    channels: list[str]
    matched: int = 0
    """Users in the segment."""
    audience: dict[str, int] = field(default_factory=dict)
    """Per channel: users who may get it now (consent, address, not opted out, under the frequency cap)."""
    excluded: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per channel: users left out, by reason (``consent:sms``, ``unsubscribed:email``, ``frequency_cap`` …)."""
    with_items: dict[str, int] = field(default_factory=dict)
    """Per channel: audience users with at least one recommended item that is in stock and has a price."""
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        """Findings that refuse the campaign."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def ok(self) -> bool:
        """True when nothing refuses the campaign."""
        return not self.errors

    def message(self) -> str:
        """One message listing every error and its fix."""
        lines = [f"- {f.message}" for f in self.errors]
        return "preflight refused the campaign (nothing was generated):\n" + "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for ``--json``."""
        return {
            "ok": self.ok,
            "channels": list(self.channels),
            "matched": self.matched,
            "audience": dict(self.audience),
            "excluded": {c: dict(v) for c, v in self.excluded.items()},
            "with_items": dict(self.with_items),
            "findings": [f.to_dict() for f in self.findings],
        }


def _users_with_items(session: Session, user_ids: list[int]) -> set[int]:
    """Users among ``user_ids`` with a recommendation whose item is in stock and priced (what copy needs)."""
    rows = session.execute(
        select(Recommendation.user_id)
        .join(Item, Item.id == Recommendation.item_id)
        .where(Recommendation.user_id.in_(user_ids), Item.in_stock.is_(True), Item.price > 0)
        .distinct()
    )
    return {uid for (uid,) in rows}


def _count_audience(
    session: Session, report: Preflight, segment: str, settings: Settings, campaign_id: int, now: dt.datetime
) -> None:
    since = now - dt.timedelta(days=settings.frequency_window_days)
    excluded: dict[str, dict[str, int]] = {c: defaultdict(int) for c in report.channels}

    def count(users: list[User]) -> None:
        with_items = _users_with_items(session, [u.id for u in users])
        for channel in report.channels:
            eligible = []
            for u in users:
                reason = exclusion(Recipient.of(u), channel)
                if reason:
                    excluded[channel][reason] += 1
                else:
                    eligible.append(u.id)
            capped = (
                over_cap(session, campaign_id, channel, eligible, cap=settings.frequency_cap, since=since)
                if eligible
                else set()
            )
            if capped:
                excluded[channel]["frequency_cap"] += len(capped)
            kept = [uid for uid in eligible if uid not in capped]
            report.audience[channel] += len(kept)
            report.with_items[channel] += sum(1 for uid in kept if uid in with_items)

    batch: list[User] = []
    for user in iter_segment_users(session, parse_segment(segment), now=now):
        report.matched += 1
        batch.append(user)
        if len(batch) >= CHUNK:
            count(batch)
            batch = []
    if batch:
        count(batch)
    report.excluded = {c: dict(sorted(v.items())) for c, v in excluded.items()}


def _breakdown(reasons: dict[str, int]) -> str:
    return ", ".join(f"{why} {n}" for why, n in sorted(reasons.items(), key=lambda kv: -kv[1])) or "no reason"


def check_campaign(
    *,
    channels: Sequence[str],
    segment: str,
    settings: Settings,
    campaign_id: int | None = None,
    now: dt.datetime | None = None,
) -> Preflight:
    """Every preflight finding for a campaign on ``channels`` / ``segment`` (an existing one: pass its id, so its
    own drafts do not count against the frequency cap). Reads only."""
    report = Preflight(channels=list(channels))
    report.audience = dict.fromkeys(report.channels, 0)
    report.with_items = dict.fromkeys(report.channels, 0)
    brand_fix = "add it to the brand JSON and run `marketing-gen import brand brand.json`"
    with session_scope(settings.database_url) as s:
        brand = s.scalars(select(Brand).order_by(Brand.id).limit(1)).first()
        if "email" in report.channels:
            if brand is None:
                report.findings.append(
                    Finding(
                        "brand.missing", "error", f"no brand is configured (name, postal_address): {brand_fix}", "email"
                    )  # fmt: skip
                )
            elif not (brand.postal_address or "").strip():
                report.findings.append(
                    Finding(
                        "brand.postal_address",
                        "error",
                        f"brand {brand.name!r} has no postal_address, which every marketing email must carry "
                        f"(CAN-SPAM): {brand_fix}",
                        "email",
                    )
                )
        linked = [c for c in report.channels if c in LINK_CHANNELS]
        if linked:
            for problem in link_settings_problems(settings):
                report.findings.append(Finding("links.settings", "error", f"{'/'.join(linked)} links: {problem}"))
        _count_audience(s, report, segment, settings, campaign_id or 0, now or utcnow())
    for channel in report.channels:
        n, with_items = report.audience[channel], report.with_items[channel]
        if not n:
            who = (
                f"none of the {report.matched} users in the segment"
                if report.matched
                else "the segment matches no user, so nobody"
            )
            report.findings.append(
                Finding(
                    "audience.empty",
                    "error",
                    f"{channel}: {who} may receive it ({_breakdown(report.excluded[channel])}); import users with "
                    f"{channel} consent and an address, or widen --segment",
                    channel,
                )
            )
        elif not with_items:
            report.findings.append(
                Finding(
                    "items.none",
                    "error",
                    f"{channel}: none of the {n} users has a recommended item that is in stock and has a price; run "
                    "`marketing-gen recommend` (or `import recommendations`) and check the items' in_stock and price",
                    channel,
                )
            )
        elif with_items < n:
            report.findings.append(
                Finding(
                    "items.missing",
                    "warning",
                    f"{channel}: {n - with_items} of {n} users have no recommended in-stock priced item; their "
                    "drafts will be skipped (run `marketing-gen recommend` to cover them)",
                    channel,
                )
            )
    return report


def require_ok(report: Preflight) -> Preflight:
    """``report`` when nothing refuses the campaign, else ``PreflightFailed`` with every error and its fix."""
    if not report.ok:
        raise PreflightFailed(report.message())
    return report
