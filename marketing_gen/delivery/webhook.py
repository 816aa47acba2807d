"""The ``webhook`` adapter: one signed HTTP POST per message to a provider endpoint (SMS gateways, push
services, any channel).

Body: ``{"outbox_id", "draft_id", "campaign_id", "user", "channel", "to", "data"}`` (``data`` is the rendered
payload: SMS text and encoding, APNs/FCM payloads, the email's parts …). Headers: ``X-MG-Timestamp`` and
``X-MG-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` keyed with ``webhook_secret``, and
``Idempotency-Key`` = the attempt id, so a provider can drop a retried request it already took.
2xx sent (provider id from the JSON ``id`` / ``message_id`` or the ``X-Message-Id`` header); 429 and 5xx
transient; other 4xx permanent; a request that went out but got no answer is retried with the *same*
Idempotency-Key (the documented contract with the provider).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from marketing_gen.config import Settings
from marketing_gen.delivery.base import OutboundMessage, PermanentSendError, Reconciled, TransientSendError
from marketing_gen.errors import InvalidRequest
from marketing_gen.tokens import require_signing_keys

SIGNATURE_HEADER = "X-MG-Signature"
TIMESTAMP_HEADER = "X-MG-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Constant-time check of a signature header (what a provider, or a test server, does)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def build_body(message: OutboundMessage) -> bytes:
    """The JSON body for one message."""
    doc = {
        "outbox_id": message.outbox_id,
        "draft_id": message.draft_id,
        "campaign_id": message.campaign_id,
        "user": message.user_external_id,
        "channel": message.channel,
        "to": message.recipient,
        "data": message.payload.get("data") or {},
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


class WebhookAdapter:
    """POSTs each message to ``settings.webhook_url``."""

    name = "webhook"
    channels: tuple[str, ...] | None = None

    def __init__(self, settings: Settings) -> None:
        if not settings.webhook_url:
            raise InvalidRequest("the webhook adapter needs MARKETING_GEN_WEBHOOK_URL (the provider's endpoint)")
        self.url = settings.webhook_url
        # No webhook secret of its own: the newest link-signing key (refused when unset, default or short).
        self.secret = settings.webhook_secret or require_signing_keys(settings)[0]
        self.timeout = settings.webhook_timeout_s
        self.rate_per_s = settings.webhook_rate_per_s
        self._client: httpx.Client | None = None

    def __enter__(self) -> WebhookAdapter:
        self._client = httpx.Client(timeout=self.timeout)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def send(self, message: OutboundMessage) -> str:
        """POST one message; returns the provider's id for it."""
        body = build_body(message)
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(self.secret, stamp, body),
            "Idempotency-Key": message.attempt_id,
        }
        client = self._client or httpx.Client(timeout=self.timeout)
        try:
            resp = client.post(self.url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise TransientSendError(f"webhook {self.url}: {type(exc).__name__}: {exc}") from exc
        finally:
            if self._client is None:
                client.close()
        if resp.status_code == 429 or resp.status_code >= 500:
            raise TransientSendError(f"webhook {self.url}: HTTP {resp.status_code} {resp.text[:200]}")
        if resp.status_code >= 400:
            raise PermanentSendError(f"webhook {self.url}: HTTP {resp.status_code} {resp.text[:200]}")
        provider_id = resp.headers.get("X-Message-Id")
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            provider_id = str(doc.get("id") or doc.get("message_id") or provider_id or "") or None
        return provider_id or f"webhook:{message.attempt_id}"

    def reconcile(self, message: OutboundMessage) -> tuple[Reconciled, str | None]:
        """No status endpoint is assumed: ``unknown`` (resolve by hand with the provider's log)."""
        return Reconciled.UNKNOWN, None
