"""Meta (Facebook / Instagram) ads by theme: Custom Audience files and the Ads Manager bulk-import CSV.

Owns Meta's identifier normalisation and hashing (Customer list custom audiences: emails trimmed and lower-cased,
phones as digits only with the country code and no leading zeros, each SHA-256 hex encoded) and the bulk-import
columns (Ads Manager's export/import template: ``Campaign Name``, ``Ad Set Name``, ``Ad Name``, ``Title`` = the
headline, ``Body`` = the primary text, ``Link Description``, ``Link``, ``Call to Action``). One ad set per theme
targets that theme's Custom Audience, named in ``Custom Audiences`` as the file is named: upload the file as a
customer list first. Everything imports paused. Does not group users or write copy.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from typing import Any

from marketing_gen.csv_safe import SafeDictWriter

AUDIENCE_COLUMNS: tuple[str, ...] = ("email", "phone")
"""Customer list columns (Meta's identifier keys), values SHA-256 hashed."""

BULK_COLUMNS: tuple[str, ...] = (
    "Campaign Name",
    "Campaign Status",
    "Campaign Objective",
    "Ad Set Name",
    "Ad Set Run Status",
    "Custom Audiences",
    "Ad Name",
    "Ad Status",
    "Title",
    "Body",
    "Link Description",
    "Link",
    "Call to Action",
)
"""Ads Manager bulk-import columns, in order."""


def normalize_email(email: str) -> str:
    """Meta's email normalisation: whitespace trimmed, lower case."""
    return email.strip().lower()


def normalize_phone(phone: str) -> str:
    """Meta's phone normalisation: digits only, country code included, no leading zeros (E.164 without ``+``)."""
    return re.sub(r"\D", "", phone).lstrip("0")


def sha256_hex(value: str) -> str:
    """SHA-256 of the UTF-8 value, lower-case hex (what Meta expects for pre-hashed identifiers)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def audience_row(email: str | None, phone: str | None) -> dict[str, str] | None:
    """One customer list row of hashed identifiers (None when the user has neither)."""
    row = {
        "email": sha256_hex(normalize_email(email)) if email and email.strip() else "",
        "phone": sha256_hex(normalize_phone(phone)) if phone and normalize_phone(phone) else "",
    }
    return row if any(row.values()) else None


def audience_csv(rows: Iterable[Mapping[str, str]]) -> str:
    """A Custom Audience customer list file."""
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=list(AUDIENCE_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def bulk_row(*, campaign: str, ad_set: str, audience: str, fields: Mapping[str, Any], link: str) -> dict[str, str]:
    """One ad (with its ad set and campaign) for the bulk-import CSV."""
    return {
        "Campaign Name": campaign,
        "Campaign Status": "PAUSED",
        "Campaign Objective": "Outcome Sales",
        "Ad Set Name": ad_set,
        "Ad Set Run Status": "PAUSED",
        "Custom Audiences": audience,
        "Ad Name": f"{ad_set} – ad",
        "Ad Status": "PAUSED",
        "Title": str(fields.get("headline") or ""),
        "Body": str(fields.get("primary_text") or ""),
        "Link Description": str(fields.get("description") or ""),
        "Link": link,
        "Call to Action": "SHOP_NOW",
    }


def bulk_csv(rows: Iterable[Mapping[str, str]]) -> str:
    """The Ads Manager bulk-import CSV text."""
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=list(BULK_COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in BULK_COLUMNS})
    return out.getvalue()
