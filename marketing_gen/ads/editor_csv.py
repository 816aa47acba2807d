"""The Google Ads Editor CSV: one search campaign per language, one ad group per theme, keywords, one RSA each.

Owns the rows and columns Editor imports (support.google.com/google-ads/editor/answer/57747: English headers,
case and spaces ignored): a ``Campaign`` row (type Search, **paused**, budget, language), an ``Ad Group`` row per
theme, ``Keyword`` + ``Criterion Type`` rows (``Phrase`` / ``Exact``; ``Campaign Negative Phrase`` for
out-of-stock items) and one responsive search ad row per ad group (``Ad type`` = ``Responsive search ad``,
``Headline 1``–``15``, ``Description 1``–``4``, ``Path 1``/``2``, ``Final URL``). The brand headline is pinned
first (``Headline 1 position`` = 1): when the copy has none and the brand name fits in 30 characters, the brand
name itself is added as that headline. Campaigns import paused so nothing serves before someone has looked.
Does not group users, write copy or choose keywords.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from marketing_gen.ads.keywords import Keyword
from marketing_gen.csv_safe import SafeDictWriter

MAX_HEADLINES, MAX_DESCRIPTIONS, HEADLINE_MAX_LEN = 15, 4, 30

EDITOR_COLUMNS: tuple[str, ...] = (
    "Campaign",
    "Campaign Type",
    "Campaign Status",
    "Budget",
    "Languages",
    "Ad Group",
    "Ad Group Status",
    "Keyword",
    "Criterion Type",
    "Ad type",
    *(f"Headline {i}" for i in range(1, MAX_HEADLINES + 1)),
    *(f"Headline {i} position" for i in range(1, MAX_HEADLINES + 1)),
    *(f"Description {i}" for i in range(1, MAX_DESCRIPTIONS + 1)),
    "Path 1",
    "Path 2",
    "Final URL",
    "Status",
)
"""Google Ads Editor CSV columns, in order."""

RSA_AD_TYPE = "Responsive search ad"
CAMPAIGN_NEGATIVE = "Campaign Negative Phrase"


@dataclass
class EditorAdGroup:
    """What one ad group contributes: its name, keywords and the checked RSA copy."""

    name: str
    keywords: list[Keyword]
    fields: Mapping[str, Any]
    """Checked ``google_ads_rsa`` copy: headlines, descriptions, path1, path2."""
    final_url: str


@dataclass
class EditorCampaign:
    """One search campaign (one language) with its ad groups and negatives."""

    name: str
    language: str
    ad_groups: list[EditorAdGroup] = field(default_factory=list)
    negatives: list[str] = field(default_factory=list)


def pin_brand(headlines: Sequence[str], brand: str) -> tuple[list[str], list[str]]:
    """Headlines with the brand headline first, and the position column for each (``"1"`` pinned, else ``""``).

    The first headline naming the brand moves to the front; without one, the brand name is added in front when
    it fits (≤ 30 characters and fewer than 15 headlines). A brand that fits nowhere leaves nothing pinned.
    """
    texts = [h for h in headlines if h.strip()]
    name = brand.strip()
    if not name:
        return texts, [""] * len(texts)
    hit = next((i for i, h in enumerate(texts) if name.lower() in h.lower()), None)
    if hit is not None:
        texts.insert(0, texts.pop(hit))
    elif len(name) <= HEADLINE_MAX_LEN and len(texts) < MAX_HEADLINES:
        texts.insert(0, name)
    else:
        return texts, [""] * len(texts)
    return texts, ["1"] + [""] * (len(texts) - 1)


def _row(**values: str) -> dict[str, str]:
    row = dict.fromkeys(EDITOR_COLUMNS, "")
    for key, value in values.items():
        row[key.replace("_", " ")] = value
    return row


def editor_rows(campaigns: Iterable[EditorCampaign], *, brand: str, daily_budget: Decimal) -> list[dict[str, str]]:
    """Every row of the Editor CSV: per campaign its row, its ad groups with keywords and RSA, its negatives."""
    rows: list[dict[str, str]] = []
    for c in campaigns:
        rows.append(
            _row(
                Campaign=c.name,
                Campaign_Type="Search",
                Campaign_Status="Paused",
                Budget=f"{daily_budget:.2f}",
                Languages=c.language,
            )
        )
        for g in c.ad_groups:
            rows.append({**_row(Campaign=c.name), "Ad Group": g.name, "Ad Group Status": "Enabled"})
            for k in g.keywords:
                rows.append({**_row(Campaign=c.name, Keyword=k.text), "Ad Group": g.name, "Criterion Type": k.match})
            rows.append(rsa_row(c.name, g, brand=brand))
        for text in c.negatives:
            rows.append({**_row(Campaign=c.name, Keyword=text), "Criterion Type": CAMPAIGN_NEGATIVE})
    return rows


def rsa_row(campaign: str, group: EditorAdGroup, *, brand: str) -> dict[str, str]:
    """The responsive search ad row of one ad group (brand headline pinned first)."""
    row = {**_row(Campaign=campaign), "Ad Group": group.name, "Ad type": RSA_AD_TYPE, "Status": "Enabled"}
    headlines, positions = pin_brand(list(group.fields.get("headlines") or []), brand)
    for i, (text, position) in enumerate(zip(headlines[:MAX_HEADLINES], positions, strict=False), start=1):
        row[f"Headline {i}"], row[f"Headline {i} position"] = text, position
    for i, text in enumerate(list(group.fields.get("descriptions") or [])[:MAX_DESCRIPTIONS], start=1):
        row[f"Description {i}"] = text
    row["Path 1"], row["Path 2"] = str(group.fields.get("path1") or ""), str(group.fields.get("path2") or "")
    row["Final URL"] = group.final_url
    return row


def editor_csv(rows: Iterable[Mapping[str, str]]) -> str:
    """The Editor CSV text (header + rows, CRLF line ends)."""
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=list(EDITOR_COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in EDITOR_COLUMNS})
    return out.getvalue()
