"""Signed, expiring tokens for unsubscribe and click-tracking links (HMAC-SHA256 over compact JSON).

Format: ``base64url(json payload) "." base64url(hmac)``; the payload carries ``exp`` (Unix seconds).
Payload keys used by ``render``: unsubscribe ``{"purpose": "unsubscribe", "user_id", "channel", "draft_id"}``,
click ``{"purpose": "click", "draft_id", "url"}``. The HTTP endpoints (``/u/{token}``, ``/c/{token}``) verify
with ``verify_token(token, settings, purpose=...)``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from marketing_gen.config import Settings
from marketing_gen.errors import InvalidRequest


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(body: str, secret: str) -> str:
    return _b64encode(hmac.new(secret.encode("utf-8"), body.encode("ascii"), hashlib.sha256).digest())


def sign_token(
    payload: dict[str, Any], settings: Settings, *, ttl_days: float | None = None, now: float | None = None
) -> str:
    """A URL-safe token for ``payload`` that expires after ``ttl_days`` (default ``settings.token_ttl_days``)."""
    if "exp" in payload:
        raise InvalidRequest("token payload must not set 'exp'; pass ttl_days instead")
    ttl = settings.token_ttl_days if ttl_days is None else ttl_days
    issued = time.time() if now is None else now
    data = {**payload, "exp": int(issued + ttl * 86400)}
    body = _b64encode(json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return f"{body}.{_mac(body, settings.secret_key)}"


def verify_token(
    token: str, settings: Settings, *, purpose: str | None = None, now: float | None = None
) -> dict[str, Any]:
    """The payload of a valid token (without ``exp``); InvalidRequest when tampered, expired or of another purpose."""
    body, sep, mac = token.partition(".")
    if not sep or not body or not mac or not token.isascii():
        raise InvalidRequest("malformed token")
    if not hmac.compare_digest(_mac(body, settings.secret_key), mac):
        raise InvalidRequest("invalid token signature")
    try:
        data = json.loads(_b64decode(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("malformed token payload") from exc
    if not isinstance(data, dict) or not isinstance(data.get("exp"), int):
        raise InvalidRequest("malformed token payload")
    if (time.time() if now is None else now) > data["exp"]:
        raise InvalidRequest("token expired")
    if purpose is not None and data.get("purpose") != purpose:
        raise InvalidRequest(f"token is not a {purpose} token")
    data.pop("exp")
    return data


def unsubscribe_url(settings: Settings, *, user_id: int, channel: str, draft_id: int | None = None) -> str:
    """``{public_base_url}/u/{token}`` for one user and channel."""
    token = sign_token(
        {"purpose": "unsubscribe", "user_id": user_id, "channel": channel, "draft_id": draft_id}, settings
    )
    return f"{settings.public_base_url.rstrip('/')}/u/{token}"


def click_url(settings: Settings, *, draft_id: int | None, url: str) -> str:
    """``{public_base_url}/c/{token}``: records a click on ``draft_id`` and redirects to ``url``."""
    token = sign_token({"purpose": "click", "draft_id": draft_id, "url": url}, settings)
    return f"{settings.public_base_url.rstrip('/')}/c/{token}"
