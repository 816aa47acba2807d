"""What a reviewer sees of a draft: each channel as it will appear (plain data for the review templates).

email → subject, preheader, the HTML (shown in a sandboxed iframe) and the text part; Google RSA → headlines
and descriptions with their lengths against the limits, and a few headline/description combinations as Google
would assemble them; SMS → text, encoding, segment count; push → title/body as a phone notification, payload
bytes; Meta → primary text, headline. Plus the editable fields (lists one text per line) and grounding: the
items and offer the copy may talk about.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from marketing_gen.channels.base import get_channel

RSA_COMBOS = 3


def _lengths(texts: Sequence[str], limit: int | None) -> list[dict[str, Any]]:
    return [{"text": t, "len": len(t), "limit": limit, "over": bool(limit and len(t) > limit)} for t in texts]


def preview(draft: dict[str, Any]) -> dict[str, Any]:
    """The channel-specific view of one draft (``list_drafts`` row)."""
    channel, fields = draft["channel"], draft["fields"] or {}
    data = (draft.get("rendered") or {}).get("data") or {}
    spec = get_channel(channel)
    if channel == "email":
        return {
            "kind": "email",
            "subject": data.get("subject", fields.get("subject", "")),
            "preheader": data.get("preheader", fields.get("preheader", "")),
            "from": data.get("from", ""),
            "to": data.get("to", ""),
            "html": data.get("html", ""),
            "text": data.get("text", ""),
        }
    if channel == "google_ads_rsa":
        heads = [str(h) for h in fields.get("headlines") or []]
        descs = [str(d) for d in fields.get("descriptions") or []]
        combos = []
        for i in range(min(RSA_COMBOS, max(1, len(heads) - 2))):
            picked = heads[i : i + 3]
            desc = descs[i % len(descs)] if descs else ""
            if picked:
                combos.append({"headline": " | ".join(picked), "description": desc})
        return {
            "kind": "rsa",
            "headlines": _lengths(heads, spec.field("headlines").max_len),
            "descriptions": _lengths(descs, spec.field("descriptions").max_len),
            "paths": [p for p in (fields.get("path1"), fields.get("path2")) if p],
            "final_url": (data.get("row") or {}).get("Final URL", ""),
            "combos": combos,
        }
    if channel == "sms":
        return {
            "kind": "sms",
            "text": data.get("text", fields.get("text", "")),
            "encoding": data.get("encoding", "?"),
            "segments": data.get("segments", "?"),
            "chars": data.get("chars", len(str(fields.get("text", "")))),
            "to": data.get("to"),
        }
    if channel == "push":
        return {
            "kind": "push",
            "title": fields.get("title", ""),
            "body": fields.get("body", ""),
            "bytes": data.get("bytes", {}),
        }
    return {"kind": "plain", "fields": {k: fields.get(k, "") for k in spec.field_names}}


def editable_fields(draft: dict[str, Any], overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The form fields of a draft: name, kind, current value (lists one per line), limit."""
    spec = get_channel(draft["channel"])
    values = {**(draft["fields"] or {}), **(overrides or {})}
    out = []
    for f in spec.fields:
        value = values.get(f.name, "")
        if f.kind == "list":
            value = "\n".join(str(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
        out.append({"name": f.name, "kind": f.kind, "value": str(value or ""), "max_len": f.max_len})
    return out


def grounding(
    campaign_id: int, drafts: Sequence[dict[str, Any]], *, url: str | None = None
) -> dict[int, dict[str, Any]]:
    """draft id → the items (title, price, url, in stock) and offer its user's copy is grounded on today."""
    from marketing_gen.campaigns.pipeline import offer_from
    from marketing_gen.campaigns.state import load_campaign
    from marketing_gen.db import session_scope
    from marketing_gen.recommend import build_contexts

    with session_scope(url) as s:
        campaign = load_campaign(s, campaign_id)
        offer, k = offer_from(campaign), int((campaign.options or {}).get("items", 3))
        offer_json = dict(campaign.offer or {})
    by_channel: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in drafts:
        by_channel[d["channel"]].append(d)
    out: dict[int, dict[str, Any]] = {}
    for channel, group in by_channel.items():
        contexts = {
            c.user_id: c for c in build_contexts([d["user_id"] for d in group], channel, url=url, offer=offer, k=k)
        }
        for d in group:
            ctx = contexts.get(d["user_id"])
            items = [
                {"title": i.title, "price": f"{i.price} {i.currency}" if i.price is not None else "", "url": i.url}
                for i in (ctx.items if ctx else ())
            ]
            out[d["id"]] = {"items": items, "offer": offer_json}
    return out
