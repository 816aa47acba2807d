"""A real local SMTP server (aiosmtpd) that receives, parses and keeps every message: the other end of the
``smtp`` adapter in tests, the browser test and ``bench send``.

Behaviour knobs for tests: ``reject`` (recipient → SMTP reply, e.g. ``"550 5.1.1 no such user"``),
``transient_failures`` (the first N DATA commands answer ``451``), ``delay_s`` (keep the message, then sleep
before the 250 reply, so a test can kill a worker after the relay took a message but before the worker heard
so), STARTTLS (``tls_context``), AUTH (``credentials``) and a relay without SMTPUTF8 (``smtputf8=False``).
Received messages are parsed with the stdlib ``email`` package
(``policy.default``) so a test asserts on real headers and parts.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    """One accepted message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    smtputf8: bool
    queue_id: str


@dataclass
class _Handler:
    reject: dict[str, str] = field(default_factory=dict)
    transient_failures: int = 0
    delay_s: float = 0.0
    keep_messages: bool = True
    received: list[Received] = field(default_factory=list)
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: Any = field(default_factory=lambda: itertools.count(1))

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.transient_failures > 0:
                self.transient_failures -= 1
                return "451 4.3.0 try again later"
        raw = bytes(envelope.original_content or envelope.content)
        with self.lock:
            queue_id = f"SINK{next(self.ids):06d}"
            self.count += 1
            if self.keep_messages:
                msg = message_from_bytes(raw, policy=default)
                self.received.append(
                    Received(envelope.mail_from, list(envelope.rcpt_tos), msg, raw, bool(envelope.smtp_utf8), queue_id)  # type: ignore[arg-type]
                )
        if self.delay_s:  # the message is already kept: a client killed now never learns it was accepted
            await asyncio.sleep(self.delay_s)
        return f"250 2.0.0 Ok: queued as {queue_id}"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class SmtpSink:
    """``with SmtpSink() as sink:`` — an SMTP server on 127.0.0.1:``sink.port`` in a background thread."""

    def __init__(
        self,
        *,
        port: int | None = None,
        reject: Mapping[str, str] | None = None,
        transient_failures: int = 0,
        delay_s: float = 0.0,
        tls_context: Any = None,
        credentials: Mapping[str, str] | None = None,
        keep_messages: bool = True,
        smtputf8: bool = True,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.handler = _Handler(
            reject=dict(reject or {}),
            transient_failures=transient_failures,
            delay_s=delay_s,
            keep_messages=keep_messages,
        )
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": smtputf8, "decode_data": False}
        if tls_context is not None:
            kwargs.update(tls_context=tls_context, require_starttls=True)
        if credentials is not None:
            creds = dict(credentials)

            def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
                ok = isinstance(auth_data, LoginPassword) and creds.get(auth_data.login.decode()) == (
                    auth_data.password.decode()
                )
                return AuthResult(success=ok, handled=False)

            kwargs.update(authenticator=authenticate, auth_required=True, auth_require_tls=tls_context is not None)
        self.controller = Controller(self.handler, hostname=self.host, port=self.port, **kwargs)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        """Messages accepted so far (a copy)."""
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def count(self) -> int:
        """How many messages were accepted."""
        with self.handler.lock:
            return self.handler.count
