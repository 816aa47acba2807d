"""``campaign ads``: a campaign's audience → themed ad groups → checked copy → Google Ads Editor and Meta files.

Owns the workflow, in numbered steps: (1) the audience: the campaign's segment minus whoever may not get ads
(``campaigns.planning.exclusion_reason``: suppressed, unsubscribed, no ads consent); (2) their contexts, one
``build_contexts`` call; (3) ad groups (``themes``; ``groups`` = segment expression per named group instead);
(4) one group context per ad group (its items, its language, the campaign's offer) and its copy through the
copywriter: the model with guardrails, regeneration and template fallback, or the template copy alone; (5)
keywords and negatives (``keywords``); (6) the files. Nothing per person leaves this module except the hashed
Custom Audience rows. Does not store copy in the database: re-running writes the same files (seeded).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from marketing_gen.ads.editor_csv import EditorAdGroup, EditorCampaign, editor_csv, editor_rows
from marketing_gen.ads.keywords import assign_keywords, negative_keywords, phrases_for
from marketing_gen.ads.meta import audience_csv, audience_row, bulk_csv, bulk_row
from marketing_gen.ads.themes import MIN_MEMBERS, POOLED_THEME, AdGroupPlan, group_by_theme, theme_of
from marketing_gen.config import Settings, get_settings
from marketing_gen.contexts import UserContext
from marketing_gen.errors import InvalidRequest
from marketing_gen.llm.protocol import GenerationEngine

AD_CHANNELS: tuple[str, ...] = ("google_ads_rsa", "meta_ad")
"""Channels written per ad group, never per person."""


@dataclass
class AdGroupReport:
    """What was written for one ad group."""

    name: str
    language: str
    members: int
    items: list[str]
    keywords: int
    fallback: dict[str, bool] = field(default_factory=dict)
    """Per channel: True when the template fallback wrote the copy."""
    first_try: dict[str, bool] = field(default_factory=dict)
    """Per channel: True when the model's first try was sendable (every hard check and the quality gate)."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Per channel: why no copy passed (that channel's ad is left out)."""


@dataclass
class AdsResult:
    """The outcome of ``build_ads``."""

    campaign_id: int
    audience: int
    """Users eligible for ads in the campaign's segment."""
    excluded: dict[str, int]
    ungrouped: int
    """Eligible users in no ad group (no recommended items, or no segment group matched)."""
    groups: list[AdGroupReport]
    negatives: int
    files: list[Path]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {
            "campaign_id": self.campaign_id,
            "audience": self.audience,
            "excluded": self.excluded,
            "ungrouped": self.ungrouped,
            "negatives": self.negatives,
            "groups": [g.__dict__ for g in self.groups],
            "files": [str(p) for p in self.files],
        }


def slug(text: str) -> str:
    """A file-name-safe slug (``Coffee & Tea`` → ``coffee-tea``)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "group"


def parse_groups(specs: list[str]) -> dict[str, str]:
    """``["Kitchen=interests has Kitchen", …]`` → {name: segment expression}; InvalidRequest names the bad one."""
    from marketing_gen.campaigns.segments import parse_segment

    out: dict[str, str] = {}
    for spec in specs:
        name, sep, expr = spec.partition("=")
        if not sep or not name.strip() or not expr.strip():
            raise InvalidRequest(f"--group {spec!r}: write NAME=SEGMENT, e.g. 'Kitchen=interests has Kitchen'")
        parse_segment(expr)  # fails early with the parser's message
        out[name.strip()] = expr.strip()
    return out


def _audience(
    campaign_id: int, url: str, groups: Mapping[str, str]
) -> tuple[Any, dict[int, Any], dict[str, int], dict[int, str]]:
    from marketing_gen.campaigns.planning import exclusion_reason, iter_segment_users
    from marketing_gen.campaigns.segments import parse_segment
    from marketing_gen.campaigns.state import load_campaign
    from marketing_gen.db import session_scope

    with session_scope(url) as s:
        campaign = load_campaign(s, campaign_id)
        s.expunge(campaign)
        users: dict[int, tuple[str | None, str | None]] = {}
        excluded: Counter[str] = Counter()
        for user in iter_segment_users(s, parse_segment(campaign.segment)):
            reason = exclusion_reason(user, "google_ads_rsa")
            if reason:
                excluded[reason] += 1
            else:
                users[user.id] = (user.email, user.phone)
        membership: dict[int, str] = {}
        for name, expr in groups.items():
            for user in iter_segment_users(s, parse_segment(expr)):
                if user.id in users:
                    membership.setdefault(user.id, name)
    return campaign, users, dict(excluded), membership


def _group_context(plan: AdGroupPlan, template: UserContext) -> UserContext:
    return UserContext(
        user_id=0,
        external_id=f"ad-group:{plan.language}:{slug(plan.theme)}",
        first_name=None,
        locale=plan.language,
        country=None,
        brand=template.brand,
        items=plan.items,
        interests=(plan.theme,),
        consent=frozenset({"ads"}),
        offer=template.offer,
    )


def build_ads(
    campaign_id: int,
    out_dir: Path,
    *,
    engine: GenerationEngine | None = None,
    groups: Mapping[str, str] | None = None,
    daily_budget: Decimal = Decimal("10"),
    min_group_size: int = MIN_MEMBERS,
    settings: Settings | None = None,
) -> AdsResult:
    """Write the campaign's themed ads: ``google_ads_editor.csv``, ``meta_ads_bulk.csv``, ``meta_audience_*.csv``.

    ``engine`` None writes the deterministic template copy (still checked); otherwise the model writes it
    through ``copywriter.write_copies``.
    """
    from marketing_gen.campaigns.pipeline import offer_from, sampling_params_for
    from marketing_gen.copywriter import write_copies, write_template_copies
    from marketing_gen.db import session_scope
    from marketing_gen.db.models import Item
    from marketing_gen.recommend import build_contexts

    settings = settings or get_settings()
    url = settings.database_url
    groups = dict(groups or {})
    # 1. the audience
    campaign, users, excluded, membership = _audience(campaign_id, url, groups)
    channels = [c for c in AD_CHANNELS if c in (campaign.channels or [])]
    if not channels:
        raise InvalidRequest(
            f"campaign {campaign_id} has no ads channel (channels: {', '.join(campaign.channels or [])}); "
            "create it with --channels google_ads_rsa and/or meta_ad"
        )
    # 2. contexts (items: what each user is recommended)
    k = int((campaign.options or {}).get("items", 3))
    contexts = build_contexts(sorted(users), "google_ads_rsa", url=url, offer=offer_from(campaign), k=max(k, 3))
    # 3. ad groups
    assign = (lambda c: membership.get(c.user_id)) if groups else theme_of
    plans = group_by_theme(contexts, assign=assign, min_members=min_group_size)
    grouped = sum(len(p.members) for p in plans)
    result = AdsResult(campaign_id, len(users), excluded, len(users) - grouped, [], 0, [])
    if not plans:
        raise InvalidRequest(
            f"campaign {campaign_id}: none of its {len(users)} eligible users has recommended items"
            + (" or matches a --group" if groups else "")
            + "; run `marketing-gen recommend` first"
        )
    # 4. one context per ad group, copy through the copywriter (guardrails, regeneration, fallback)
    group_contexts = [_group_context(p, contexts[0]) for p in plans]
    seed = int((campaign.options or {}).get("seed", campaign_id))
    copies: dict[str, list[Any]] = {}
    for channel in channels:
        if engine is None:
            copies[channel] = write_template_copies(group_contexts, channel, settings=settings)
        else:
            copies[channel] = write_copies(
                group_contexts,
                channel,
                engine,
                seed=seed,
                max_regenerations=int((campaign.options or {}).get("max_regenerations", settings.max_regenerations)),
                params=sampling_params_for(campaign),
                settings=settings,
            )
    # 5. keywords per language campaign (ad groups named by theme), negatives for out-of-stock items
    with session_scope(url) as s:
        out_of_stock = list(s.scalars(select(Item.title).where(Item.in_stock.is_(False)).order_by(Item.id)))
    brand = contexts[0].brand
    home = brand.website_url or settings.public_base_url
    languages = sorted({p.language for p in plans})
    ad_sets = [p.theme if len(languages) == 1 else f"{p.theme} ({p.language})" for p in plans]
    editor: list[EditorCampaign] = []
    for language in languages:
        index = [i for i, p in enumerate(plans) if p.language == language]
        keywords = assign_keywords(
            [(plans[i].theme, phrases_for([t.title for t in plans[i].items], _keyword_theme(plans[i]))) for i in index]
        )
        positives = {kw.text for kws in keywords.values() for kw in kws}
        name = campaign.name if len(languages) == 1 else f"{campaign.name} ({language})"
        ec = EditorCampaign(name=name, language=language, negatives=negative_keywords(out_of_stock, positives))
        result.negatives += len(ec.negatives)
        for i in index:
            p, kws = plans[i], keywords[plans[i].theme]
            report = AdGroupReport(ad_sets[i], language, len(p.members), [t.title for t in p.items], len(kws))
            for channel in channels:
                report.fallback[channel] = bool(copies[channel][i].fallback)
                report.first_try[channel] = copies[channel][i].first_try_sendable
                if copies[channel][i].skipped:
                    report.skipped[channel] = str(copies[channel][i].skip_reason)
            result.groups.append(report)
            rsa = copies["google_ads_rsa"][i] if "google_ads_rsa" in copies else None
            if rsa is not None and not rsa.skipped and kws:
                ec.ad_groups.append(EditorAdGroup(p.theme, kws, rsa.fields, p.landing_url or home))
        editor.append(ec)
    # 6. files
    out_dir.mkdir(parents=True, exist_ok=True)
    if "google_ads_rsa" in channels:
        path = out_dir / "google_ads_editor.csv"
        text = editor_csv(editor_rows(editor, brand=brand.name, daily_budget=daily_budget))
        path.write_text(text, encoding="utf-8", newline="")
        result.files.append(path)
    if "meta_ad" in channels:
        bulk = []
        for i, p in enumerate(plans):
            if copies["meta_ad"][i].skipped:
                continue
            audience = f"meta_audience_{p.language}_{slug(p.theme)}"
            path = out_dir / f"{audience}.csv"
            path.write_text(
                audience_csv(r for r in (audience_row(*users[u]) for u in p.members) if r), encoding="utf-8"
            )
            result.files.append(path)
            fields = copies["meta_ad"][i].fields
            bulk.append(bulk_row(campaign=campaign.name, ad_set=ad_sets[i], audience=audience, fields=fields,
                                 link=p.landing_url or home))  # fmt: skip
        path = out_dir / "meta_ads_bulk.csv"
        path.write_text(bulk_csv(bulk), encoding="utf-8", newline="")
        result.files.append(path)
    return result


def _keyword_theme(plan: AdGroupPlan) -> str:
    """The theme as a keyword, except for the pool of small themes (its name is not a search)."""
    return "" if plan.theme == POOLED_THEME else plan.theme
