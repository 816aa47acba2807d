"""Signed tokens for unsubscribe, click-tracking and open-pixel links (HMAC-SHA256 over compact JSON).

Format: ``kid "." base64url(json payload) "." base64url(hmac)``. ``kid`` names the key that signed (a short hash
of it, never the key): with ``MARKETING_GEN_SECRET_KEYS`` (newest first) new tokens use the newest key and
tokens signed with an older key still verify, so links in old emails keep working across a rotation. Tokens of
the earlier two-part format (``payload "." hmac``) verify against every configured key.

Unsubscribe tokens never expire (a recipient may keep an email for years); click / open tokens carry ``exp``
(Unix seconds, ``settings.token_ttl_days``). Payload keys used by ``render``: unsubscribe ``{"purpose":
"unsubscribe", "user_id", "channel", "draft_id"}``, click ``{"purpose": "click", "draft_id", "url"}``, open
``{"purpose": "open", "draft_id"}``. The HTTP
endpoints (``/u/{token}``, ``/c/{token}``, ``/o/{token}.gif``) verify with ``verify_token(token, settings,
purpose=...)``. Signing and verifying refuse a missing, default or short key (``config.secret_problems``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from marketing_gen.config import Settings, secret_problems
from marketing_gen.errors import ConfigError, InvalidRequest

NEVER_EXPIRES = frozenset({"unsubscribe"})
"""Token purposes without ``exp``: an opt-out link must work for as long as the email is kept."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(body: str, secret: str) -> str:
    return _b64encode(hmac.new(secret.encode("utf-8"), body.encode("ascii"), hashlib.sha256).digest())


def key_id(secret: str) -> str:
    """A short public name for a signing key (8 characters of a hash; the key cannot be recovered from it)."""
    return _b64encode(hashlib.sha256(b"marketing-gen key id\x00" + secret.encode("utf-8")).digest())[:8]


def require_signing_keys(settings: Settings) -> list[str]:
    """The configured keys, newest first; ConfigError naming the fix when one is unset, default or short."""
    problems = secret_problems(settings)
    if problems:
        raise ConfigError("; ".join(problems))
    return settings.signing_keys


def sign_token(
    payload: dict[str, Any], settings: Settings, *, ttl_days: float | None = None, now: float | None = None
) -> str:
    """A URL-safe token for ``payload`` signed with the newest key; expires after ``ttl_days`` (default
    ``settings.token_ttl_days``) unless its purpose is unsubscribe."""
    if "exp" in payload:
        raise InvalidRequest("token payload must not set 'exp'; pass ttl_days instead")
    key = require_signing_keys(settings)[0]
    data = dict(payload)
    if payload.get("purpose") not in NEVER_EXPIRES:
        ttl = settings.token_ttl_days if ttl_days is None else ttl_days
        data["exp"] = int((time.time() if now is None else now) + ttl * 86400)
    body = _b64encode(json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8"))
    kid = key_id(key)
    return f"{kid}.{body}.{_mac(f'{kid}.{body}', key)}"


def _verified_body(token: str, keys: list[str]) -> str:
    """The payload part of ``token`` once its signature checks out against one of ``keys``."""
    parts = token.split(".")
    if not token.isascii() or len(parts) not in (2, 3) or not all(parts):
        raise InvalidRequest("malformed token")
    if len(parts) == 3:
        kid, body, mac = parts
        key = next((k for k in keys if hmac.compare_digest(key_id(k), kid)), None)
        if key is None:
            raise InvalidRequest("invalid token signature (unknown key id: was the key removed from the rotation?)")
        if not hmac.compare_digest(_mac(f"{kid}.{body}", key), mac):
            raise InvalidRequest("invalid token signature")
        return body
    body, mac = parts  # the format before key ids: try every key
    if not any(hmac.compare_digest(_mac(body, k), mac) for k in keys):
        raise InvalidRequest("invalid token signature")
    return body


def verify_token(
    token: str, settings: Settings, *, purpose: str | None = None, now: float | None = None
) -> dict[str, Any]:
    """The payload of a valid token (without ``exp``); InvalidRequest when tampered, expired or of another purpose."""
    body = _verified_body(token, require_signing_keys(settings))
    try:
        data = json.loads(_b64decode(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("malformed token payload") from exc
    if not isinstance(data, dict):
        raise InvalidRequest("malformed token payload")
    exp = data.pop("exp", None)
    if exp is None and data.get("purpose") not in NEVER_EXPIRES:
        raise InvalidRequest("malformed token payload (no expiry)")
    if exp is not None and not isinstance(exp, int):
        raise InvalidRequest("malformed token payload (expiry)")
    if exp is not None and (time.time() if now is None else now) > exp:
        raise InvalidRequest("token expired")
    if purpose is not None and data.get("purpose") != purpose:
        raise InvalidRequest(f"token is not a {purpose} token")
    return data


def unsubscribe_url(settings: Settings, *, user_id: int, channel: str, draft_id: int | None = None) -> str:
    """``{public_base_url}/u/{token}`` for one user and channel (the token never expires)."""
    token = sign_token(
        {"purpose": "unsubscribe", "user_id": user_id, "channel": channel, "draft_id": draft_id}, settings
    )
    return f"{settings.public_base_url.rstrip('/')}/u/{token}"


def click_url(settings: Settings, *, draft_id: int | None, url: str) -> str:
    """``{public_base_url}/c/{token}``: records a click on ``draft_id`` and redirects to ``url``."""
    token = sign_token({"purpose": "click", "draft_id": draft_id, "url": url}, settings)
    return f"{settings.public_base_url.rstrip('/')}/c/{token}"


def open_pixel_url(settings: Settings, *, draft_id: int) -> str:
    """``{public_base_url}/o/{token}.gif``: the open pixel of one email; the route records its first open."""
    token = sign_token({"purpose": "open", "draft_id": draft_id}, settings)
    return f"{settings.public_base_url.rstrip('/')}/o/{token}.gif"
