"""What every adapter shares: the outbound message, the adapter protocol, its errors, a rate limiter.

An adapter is a context manager (``with adapter:`` opens one connection for a batch) with ``send(message)``
returning the provider's message id and ``reconcile(message)`` answering, after a worker died, whether an
attempt reached the provider. Errors say what the row becomes: ``TransientSendError`` (retry with backoff),
``PermanentSendError`` (row ``failed`` with the reason), ``UncertainSendError`` (the provider may have
accepted it: row ``uncertain``, never resent automatically).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from marketing_gen.errors import ServerError, TransientError


class TransientSendError(TransientError):
    """The provider did not take the message but may later (4xx SMTP, HTTP 5xx/429, connection refused)."""


class PermanentSendError(ServerError):
    """The provider refused the message for good (5xx SMTP, HTTP 4xx): the row fails with this reason."""


class UncertainSendError(ServerError):
    """The message was handed over but no answer came back: it may have been accepted. Never resent blindly."""


class Reconciled(str, Enum):
    """What an adapter knows about an attempt whose worker died."""

    SENT = "sent"
    NOT_SENT = "not_sent"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class OutboundMessage:
    """One outbox row as an adapter sees it (plain data, no ORM)."""

    outbox_id: int
    draft_id: int
    campaign_id: int
    user_id: int
    user_external_id: str
    channel: str
    attempt_id: str
    """Unique per claim; sent as ``X-MG-Attempt`` / ``Idempotency-Key`` so the provider can dedupe."""
    recipient: str | None
    """Email address or phone number (None for push: the provider maps the user to devices)."""
    payload: dict[str, Any] = field(default_factory=dict)
    """The draft's stored rendering: ``{"target", "data", "eml"?}``."""


class Adapter(Protocol):
    """A delivery provider connection."""

    name: str
    channels: tuple[str, ...] | None
    """Channels it can send (None: every channel)."""
    rate_per_s: float

    def __enter__(self) -> Adapter: ...

    def __exit__(self, *exc: object) -> None: ...

    def send(self, message: OutboundMessage) -> str:
        """Hand one message to the provider; returns the provider's message id."""
        ...

    def reconcile(self, message: OutboundMessage) -> tuple[Reconciled, str | None]:
        """After a crash: did ``message.attempt_id`` reach the provider? (state, message id when known)."""
        ...


class RateLimiter:
    """Spaces calls at most ``rate_per_s`` a second (0: no limit); thread-safe, per process."""

    def __init__(self, rate_per_s: float) -> None:
        self.interval = 1.0 / rate_per_s if rate_per_s > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Block until the next call is allowed; returns the seconds slept."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = time.monotonic()
            delay = max(0.0, self._next - now)
            self._next = max(now, self._next) + self.interval
        if delay:
            time.sleep(delay)
        return delay
