"""What a reviewer sees of a draft: each channel as it will appear (plain data for the review templates).

email → subject, preheader, the HTML (shown in a sandboxed iframe) and the text part; Google RSA → headlines
and descriptions with their lengths against the limits, and a few headline/description combinations as Google
would assemble them; SMS → text, encoding, segment count; push → title/body as a phone notification, payload
bytes; Meta → primary text, headline. Plus the editable fields (lists one text per line) and grounding: the
items and offer the copy was written and checked against (stored on the draft, ``campaigns.draft_facts``).
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
    """draft id → the items (id, title, price, url, image) and offer its copy was written and checked against: the
    facts stored on the draft at generate time. A draft generated before facts were stored shows today's
    recommendations instead, marked ``source: "rebuilt"`` (the page says so)."""
    from marketing_gen.campaigns.draft_facts import grounding_view, legacy_contexts
    from marketing_gen.campaigns.pipeline import items_per_draft, offer_from
    from marketing_gen.campaigns.state import load_campaign
    from marketing_gen.db import session_scope

    out = {d["id"]: grounding_view(d["facts"]) for d in drafts if d.get("facts")}
    legacy: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for d in drafts:
        if d["id"] not in out:
            legacy[d["channel"]].append((d["id"], d["user_id"]))
    if not legacy:
        return out
    with session_scope(url) as s:
        campaign = load_campaign(s, campaign_id)
        offer, k = offer_from(campaign), items_per_draft(campaign)
        offer_json = dict(campaign.offer or {})
    for channel, pairs in legacy.items():
        contexts = legacy_contexts(pairs, channel, offer=offer, k=k, url=url, step="review grounding")
        for draft_id, _user in pairs:
            ctx = contexts.get(draft_id)
            items = [
                {
                    "id": i.external_id,
                    "title": i.title,
                    "price": f"{i.price} {i.currency}" if i.price is not None else "",
                    "url": i.url,
                    "image_url": i.image_url,
                }
                for i in (ctx.items if ctx else ())
            ]
            out[draft_id] = {"items": items, "offer": offer_json, "links": {}, "source": "rebuilt"}
    return out
