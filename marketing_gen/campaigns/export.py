"""Export a campaign's drafts: JSONL (everything), CSV (one row per draft), Google Ads Editor CSV, .eml files.

Owns file layout only; the customer-facing artifacts were built by ``render`` and stored on the draft
(``rendered``): ``eml`` (the MIME message as text) for email, ``data.row`` (a Google Ads Editor CSV row) for RSA.
JSONL and CSV carry ``ai_mark`` (model | fallback | human, EU AI Act Art. 50); the .eml files carry the
``X-AI-Generated`` header. The Google Ads Editor CSV keeps Google's columns only (an unknown column would not
import); its drafts' marks are in the JSONL/CSV export.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from marketing_gen.campaigns.state import load_campaign
from marketing_gen.csv_safe import SafeWriter
from marketing_gen.db import session_scope
from marketing_gen.db.models import Draft, User
from marketing_gen.errors import InvalidRequest
from marketing_gen.private_files import make_private_dir, open_private, write_private_bytes, write_private_text

FORMATS = ("jsonl", "csv", "google-ads-csv", "eml")
DELIVERABLE = ("ready", "queued")


def _rows(
    campaign_id: int, url: str | None, channel: str | None = None, statuses: tuple[str, ...] | None = None
) -> Iterator[dict[str, Any]]:
    with session_scope(url) as s:
        load_campaign(s, campaign_id)
        q = (
            select(Draft, User.external_id)
            .join(User, User.id == Draft.user_id)
            .where(Draft.campaign_id == campaign_id)
            .order_by(Draft.id)
        )
        if channel:
            q = q.where(Draft.channel == channel)
        if statuses:
            q = q.where(Draft.status.in_(statuses))
        for d, ext in s.execute(q.execution_options(yield_per=500)):
            yield {
                "draft_id": d.id,
                "campaign_id": d.campaign_id,
                "user": ext,
                "channel": d.channel,
                "variant": d.variant,
                "status": d.status,
                "fields": d.fields,
                "fallback": d.fallback,
                "ai_mark": d.ai_mark,
                "attempts": d.attempts,
                "violations": d.violations,
                "skip_reason": d.skip_reason,
                "model_version": d.model_version,
                "prompt_hash": d.prompt_hash,
                "seed": d.seed,
                "rendered": d.rendered,
            }


def _flat(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " | ".join(str(v) for v in value)
    return str(value)


def export_campaign(campaign_id: int, fmt: str, out_dir: Path, *, url: str | None = None) -> list[Path]:
    """Write the campaign in ``fmt`` under ``out_dir`` (files 0600, new dirs 0700); returns the files written."""
    if fmt not in FORMATS:
        raise InvalidRequest(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    make_private_dir(out_dir)
    if fmt == "jsonl":
        path = out_dir / f"campaign_{campaign_id}.jsonl"
        with open_private(path, "w", encoding="utf-8") as fh:
            for row in _rows(campaign_id, url):
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        return [path]
    if fmt == "csv":
        rows = list(_rows(campaign_id, url))
        field_names = sorted({k for r in rows for k in (r["fields"] or {})})
        path = out_dir / f"campaign_{campaign_id}.csv"
        base = ["draft_id", "user", "channel", "variant", "status", "ai_mark", "fallback", "attempts", "skip_reason"]
        with open_private(path, "w", encoding="utf-8", newline="") as fh:
            writer = SafeWriter(fh)
            writer.writerow(base + field_names)
            for r in rows:
                writer.writerow([_flat(r[k]) for k in base] + [_flat((r["fields"] or {}).get(f)) for f in field_names])
        return [path]
    if fmt == "google-ads-csv":
        from marketing_gen.render import google_ads_csv

        ads = [
            ((r["rendered"] or {}).get("data") or {}).get("row")
            for r in _rows(campaign_id, url, channel="google_ads_rsa", statuses=DELIVERABLE)
        ]
        if not any(ads):  # campaigns plan no per-user ad drafts: ads are written per theme
            raise InvalidRequest(
                f"campaign {campaign_id} has no per-user Google Ads rows: search ads are written per themed ad group "
                f"with keywords; run `marketing-gen campaign ads {campaign_id} --out {out_dir}`"
            )
        path = out_dir / f"campaign_{campaign_id}_google_ads.csv"
        write_private_text(path, google_ads_csv(a for a in ads if a), newline="")
        return [path]
    eml_dir = out_dir / f"campaign_{campaign_id}_eml"
    make_private_dir(eml_dir)
    written = []
    for r in _rows(campaign_id, url, channel="email", statuses=DELIVERABLE):
        eml = (r["rendered"] or {}).get("eml")
        if eml:
            safe_user = re.sub(r"[^\w.-]", "_", str(r["user"]))
            path = eml_dir / f"draft_{r['draft_id']}_{safe_user}.eml"
            write_private_bytes(path, eml.encode("utf-8") if isinstance(eml, str) else eml)
            written.append(path)
    return written
