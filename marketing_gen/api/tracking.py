"""Recipient-facing tracking routes: unsubscribe (page + RFC 8058 one-click POST), click redirect, open pixel.

Every route verifies a signed, expiring token (``marketing_gen.tokens``) first; a tampered, expired or
wrong-purpose token gets 400 and changes nothing. Unsubscribing appends the channel to
``User.unsubscribed_channels``, cancels the user's open drafts and not-yet-sent outbox rows on that channel
(``campaigns.eligibility.opt_out``) and records an ``unsubscribe`` event, in one transaction.
The click redirect goes only to a URL the draft was rendered with, or (for an artifact that shows no URL) a link
target stored with the draft's facts at generate time (no open redirect, no fresh join).
GET never changes state except recording a click/open: link scanners prefetch GETs, so only POST unsubscribes.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import html
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from marketing_gen.campaigns.draft_facts import stored_link_targets
from marketing_gen.campaigns.eligibility import Recipient, lock_user, opt_out
from marketing_gen.channels.legal import LegalLines, legal_lines
from marketing_gen.config import Settings
from marketing_gen.db import serial_scope, session_scope
from marketing_gen.db.models import Brand, Draft, User, utcnow
from marketing_gen.errors import InvalidRequest
from marketing_gen.feedback.events import record_event
from marketing_gen.tokens import verify_token

router = APIRouter(tags=["tracking"], include_in_schema=True)

PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
"""A transparent 1×1 GIF."""

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}

_URL = re.compile(r"https?://[^\s\"'<>()\[\]{}]+", re.IGNORECASE)

_PAGE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>{{ title }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#111}
button{font-size:1rem;padding:.6rem 1.2rem;border-radius:.4rem;border:1px solid #111;background:#111;color:#fff}
</style></head><body>
<h1>{{ title }}</h1>
<p>{{ message }}</p>
{% if confirm %}<form method="post" action="{{ action }}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">{{ button }}</button></form>{% endif %}
</body></html>"""
)


def _page(
    title: str,
    message: str,
    *,
    status: int = 200,
    confirm: bool = False,
    action: str = "",
    button: str = "",
    lang: str = "en",
) -> HTMLResponse:
    body = _PAGE.render(title=title, message=message, confirm=confirm, action=action, button=button, lang=lang)
    return HTMLResponse(body, status_code=status, headers=NO_STORE)


def _invalid(exc: InvalidRequest) -> HTMLResponse:
    return _page("This link is not valid", f"The link is invalid or has expired ({exc}).", status=400)


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _int(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidRequest(f"token has no {key}")
    return value


def _mask(address: str | None, legal: LegalLines) -> str:
    if address and address.startswith("+") and len(address) > 6:  # E.164 phone: keep the country and last two
        return f"{address[:3]}•••{address[-2:]}"
    if not address or "@" not in address:
        return legal.lines["your_address"]
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}"


def _done(legal: LegalLines, address: str | None, channel: str, brand: str) -> HTMLResponse:
    message = legal.fill("page_done", address=_mask(address, legal), label=legal.label(channel), brand=brand)
    return _page(legal.lines["page_done_title"], message, lang=legal.language)


# -- unsubscribe ------------------------------------------------------------------------------------------------


@router.get("/u/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str, request: Request) -> HTMLResponse:
    """Confirmation page with a one-button form (GET changes nothing: scanners prefetch links)."""
    settings = _settings(request)
    try:
        payload = verify_token(token, settings, purpose="unsubscribe")
        user_id, channel = _int(payload, "user_id"), str(payload.get("channel") or "")
        if not channel:
            raise InvalidRequest("token has no channel")
    except InvalidRequest as exc:
        return _invalid(exc)
    with session_scope(settings.database_url) as s:
        user = s.get(User, user_id)
        brand = s.scalar(select(Brand.name).order_by(Brand.id).limit(1)) or "this store"
        if user is None:
            return _invalid(InvalidRequest("unknown recipient"))
        done = channel in (user.unsubscribed_channels or [])
        address = Recipient.of(user).address_for(channel)
        legal = legal_lines(user.locale, settings)
    if done:
        return _done(legal, address, channel, brand)
    label = legal.label(channel)
    return _page(
        legal.lines["page_confirm_title"],
        legal.fill("page_confirm", label=label, brand=brand, address=_mask(address, legal)),
        confirm=True,
        action=str(request.url.path),
        button=legal.fill("page_button", label=label),
        lang=legal.language,
    )


@router.post("/u/{token}", response_class=HTMLResponse)
def unsubscribe(token: str, request: Request) -> HTMLResponse:
    """One-click unsubscribe (``List-Unsubscribe-Post: List-Unsubscribe=One-Click``) and the page's form."""
    settings = _settings(request)
    try:
        payload = verify_token(token, settings, purpose="unsubscribe")
        user_id, channel = _int(payload, "user_id"), str(payload.get("channel") or "")
        if not channel:
            raise InvalidRequest("token has no channel")
    except InvalidRequest as exc:
        return _invalid(exc)
    draft_id = payload.get("draft_id") if isinstance(payload.get("draft_id"), int) else None
    now = utcnow()
    with serial_scope(settings.database_url) as s:
        user = lock_user(s, user_id)
        if user is None:
            return _invalid(InvalidRequest("unknown recipient"))
        cancelled = opt_out(s, [user], channel)  # open drafts and unsent outbox rows stop in this transaction
        if draft_id is not None and s.get(Draft, draft_id) is None:
            draft_id = None
        record_event(
            s,
            draft_id=draft_id,
            user_id=user_id,
            channel=channel,
            event="unsubscribe",
            ts=now,
            event_id=f"unsubscribe:{user_id}:{channel}:{draft_id or 0}",
            payload={"cancelled": cancelled.to_dict()},
        )
        brand = s.scalar(select(Brand.name).order_by(Brand.id).limit(1)) or "this store"
        address = Recipient.of(user).address_for(channel)
        legal = legal_lines(user.locale, settings)
    return _done(legal, address, channel, brand)


# -- click redirect ---------------------------------------------------------------------------------------------


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, str(k))
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v, key)


def _mime_texts(text: str) -> list[str]:
    """Decoded text parts of a MIME message (URLs in quoted-printable or base64 bodies are not greppable raw)."""
    msg = email.message_from_string(text, policy=email.policy.default)
    out = [str(v) for v in msg.values()]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            try:
                out.append(part.get_content())
            except (LookupError, ValueError):
                continue
    return out


def rendered_urls(rendered: dict[str, Any] | None, settings: Settings) -> set[str]:
    """Every http(s) URL in a draft's rendered artifact, plus the targets of its signed click links."""
    urls: set[str] = set()
    click_prefix = settings.public_base_url.rstrip("/") + "/c/"
    for key, text in _strings(rendered or {}):
        texts = [text]
        if key == "eml" or text.lstrip().lower().startswith(("mime-version:", "content-type:", "from:", "to:")):
            texts += _mime_texts(text)
        for t in texts:
            for raw in _URL.findall(html.unescape(t)):
                url = raw.rstrip(".,;:!?")
                urls.add(url)
                if url.startswith(click_prefix):
                    try:
                        target = verify_token(url[len(click_prefix) :].split("?")[0], settings, purpose="click")
                    except InvalidRequest:
                        continue
                    if isinstance(target.get("url"), str):
                        urls.add(target["url"])
    return urls


@router.get("/c/{token}")
def click(token: str, request: Request) -> Response:
    """Record a click and 302 to the target, which must be a URL the draft was rendered with."""
    settings = _settings(request)
    try:
        payload = verify_token(token, settings, purpose="click")
        draft_id, target = _int(payload, "draft_id"), payload.get("url")
        parts = urlsplit(target) if isinstance(target, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidRequest("token has no http(s) target URL")
    except InvalidRequest as exc:
        return _invalid(exc)
    with session_scope(settings.database_url) as s:
        draft = s.get(Draft, draft_id)
        if draft is None:
            return _invalid(InvalidRequest("unknown message"))
        # the artifact's own URLs; for an artifact that shows none, the link targets stored with the draft's facts
        # (never today's recommendations: those may name items this message does not)
        allowed = rendered_urls(draft.rendered, settings) or stored_link_targets(draft.facts)
        if target not in allowed:
            return _invalid(InvalidRequest("the link target is not part of this message"))
        record_event(
            s,
            draft_id=draft.id,
            user_id=draft.user_id,
            channel=draft.channel,
            event="click",
            ts=utcnow(),
            payload={"url": target},
        )
    return RedirectResponse(target, status_code=302, headers=NO_STORE)


# -- open pixel -------------------------------------------------------------------------------------------------


@router.get("/o/{token}.gif")
def open_pixel(token: str, request: Request) -> Response:
    """Record the first open of a message and return a 1×1 GIF."""
    settings = _settings(request)
    try:
        draft_id = _int(verify_token(token, settings, purpose="open"), "draft_id")
    except InvalidRequest as exc:
        return _invalid(exc)
    with session_scope(settings.database_url) as s:
        draft = s.get(Draft, draft_id)
        if draft is None:
            return _invalid(InvalidRequest("unknown message"))
        record_event(
            s,
            draft_id=draft.id,
            user_id=draft.user_id,
            channel=draft.channel,
            event="open",
            ts=dt.datetime.now(dt.timezone.utc),
            event_id=f"open:{draft.id}",
        )
    return Response(PIXEL_GIF, media_type="image/gif", headers=NO_STORE)
