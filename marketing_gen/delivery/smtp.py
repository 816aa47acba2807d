"""The ``smtp`` adapter: any ESP's SMTP relay (host, port, STARTTLS or implicit TLS, AUTH; SMTPUTF8 when an
address or header needs it). DKIM, SPF and DMARC are the relay's job.

One connection per batch (``with adapter:``), reopened after a dropped connection. Reply classes decide the
row's fate: 2xx sent (the provider id is the ``queued as …`` token of the DATA reply, else the Message-ID),
4xx transient, 5xx permanent. A connection lost *after* the message body went out is ``uncertain``: the relay
may have queued it, so it is never retried automatically.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from email.header import decode_header, make_header
from email.message import Message
from email.parser import Parser
from email.policy import compat32
from email.utils import getaddresses, parseaddr

from marketing_gen.config import Settings
from marketing_gen.delivery.base import (
    OutboundMessage,
    PermanentSendError,
    Reconciled,
    TransientSendError,
    UncertainSendError,
)

_QUEUED_AS = re.compile(r"queued as\s+<?([^\s>]+)>?", re.IGNORECASE)


def _text(value: object) -> str:
    """A compat32 header value as text (RFC 2047 encoded words decoded)."""
    return str(make_header(decode_header(str(value)))) if value else ""


def build_message(message: OutboundMessage) -> tuple[bytes, Message]:
    """The stored ``.eml`` of the draft with ``X-MG-Attempt`` / ``X-MG-Outbox-Id`` prepended (CRLF line ends),
    and its headers (parsed with ``compat32``: reading From/To/Message-ID needs no full MIME parse)."""
    eml = message.payload.get("eml")
    if not eml:
        raise PermanentSendError(f"outbox {message.outbox_id}: no rendered email (.eml) stored for draft")
    raw = eml.encode("utf-8") if isinstance(eml, str) else bytes(eml)
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    extra = f"X-MG-Attempt: {message.attempt_id}\r\nX-MG-Outbox-Id: {message.outbox_id}\r\n".encode("ascii")
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")  # UTF-8 headers: SMTPUTF8 messages
    return extra + raw, Parser(policy=compat32).parsestr(head + "\r\n\r\n", headersonly=True)


def needs_smtputf8(sender: str, recipients: list[str], data: bytes) -> bool:
    """True when an address or a header line is not ASCII (RFC 6531); a non-ASCII body alone needs 8BITMIME."""
    if not all(a.isascii() for a in (sender, *recipients)):
        return True
    return not data.split(b"\r\n\r\n", 1)[0].isascii()


class SmtpAdapter:
    """Sends email through an SMTP relay configured in ``Settings`` (``smtp_*``)."""

    name = "smtp"
    channels: tuple[str, ...] | None = ("email",)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rate_per_s = settings.smtp_rate_per_s
        self._conn: smtplib.SMTP | None = None

    # -- connection ---------------------------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        ca = self.settings.smtp_ca_file
        return ssl.create_default_context(cafile=str(ca) if ca else None)

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.smtp_security == "tls":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s, context=self._context()
                )
            else:
                conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
            conn.ehlo()
            if s.smtp_security == "starttls":
                if not conn.has_extn("starttls"):
                    conn.close()
                    raise PermanentSendError(
                        f"SMTP relay {s.smtp_host}:{s.smtp_port} does not offer STARTTLS; "
                        "set MARKETING_GEN_SMTP_SECURITY=tls (port 465) or none (local relay only)"
                    )
                conn.starttls(context=self._context())
                conn.ehlo()
            if s.smtp_username:
                conn.login(s.smtp_username, s.smtp_password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentSendError(
                f"SMTP AUTH refused for {s.smtp_username!r}: {exc.smtp_code} {exc.smtp_error!r}"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:  # e.g. AUTH offered only after STARTTLS
            raise PermanentSendError(
                f"SMTP relay {s.smtp_host}:{s.smtp_port}: {exc}; check MARKETING_GEN_SMTP_SECURITY (starttls/tls)"
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientSendError(f"SMTP relay {s.smtp_host}:{s.smtp_port} unreachable: {exc}") from exc
        return conn

    def __enter__(self) -> SmtpAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """QUIT the connection (ignoring a relay that already hung up)."""
        if self._conn is not None:
            try:
                self._conn.quit()
            except (OSError, smtplib.SMTPException):
                self._conn.close()
            self._conn = None

    def _connection(self) -> smtplib.SMTP:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- sending ------------------------------------------------------------------------------------------

    def send(self, message: OutboundMessage) -> str:
        """MAIL / RCPT / DATA for one message; returns the relay's queue id (or the Message-ID)."""
        data, headers = build_message(message)
        recipients = (
            [message.recipient] if message.recipient else [a for _, a in getaddresses(headers.get_all("To", []))]
        )
        if not recipients or not all(recipients):
            raise PermanentSendError(f"outbox {message.outbox_id}: no recipient address")
        sender = self.settings.smtp_envelope_from or parseaddr(_text(headers.get("From", "")))[1]
        if not sender:
            raise PermanentSendError(f"outbox {message.outbox_id}: no From address and no smtp_envelope_from set")
        utf8 = needs_smtputf8(sender, recipients, data)
        message_id = _text(headers.get("Message-ID", "")).strip().strip("<>")
        conn = self._connection()
        options: list[str] = []
        if utf8:
            if not conn.has_extn("smtputf8"):
                raise PermanentSendError(
                    f"outbox {message.outbox_id}: the address or headers need SMTPUTF8 (RFC 6531) and relay "
                    f"{self.settings.smtp_host} does not offer it"
                )
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        elif conn.has_extn("8bitmime") and not data.isascii():
            options = ["BODY=8BITMIME"]
        self._command(conn.mail, sender, options)
        for rcpt in recipients:
            self._command(conn.rcpt, rcpt)
        try:
            code, reply = conn.data(data)
        except smtplib.SMTPDataError as exc:  # a clear reply to DATA: the relay did not take it
            self._reset(conn)
            raise self._classify(exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._drop()
            raise UncertainSendError(
                f"connection lost after the message body was sent ({exc}); the relay may have queued it: "
                f"look for Message-ID <{message_id}> in the relay's log"
            ) from exc
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        if code >= 300:
            raise self._classify(code, text)
        found = _QUEUED_AS.search(text)
        return found.group(1) if found else message_id or text

    def _command(self, fn: object, *args: object) -> None:
        try:
            code, reply = fn(*args)  # type: ignore[operator]
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._drop()
            raise TransientSendError(f"SMTP connection lost before DATA: {exc}") from exc
        if code >= 300:
            self._reset(self._conn)
            raise self._classify(code, reply)

    def _reset(self, conn: smtplib.SMTP | None) -> None:
        if conn is None:
            return
        try:
            conn.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    @staticmethod
    def _classify(code: int, reply: object) -> Exception:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        if 400 <= code < 500:
            return TransientSendError(f"SMTP {code} {text}")
        return PermanentSendError(f"SMTP {code} {text}")

    def reconcile(self, message: OutboundMessage) -> tuple[Reconciled, str | None]:
        """A plain SMTP relay cannot be asked whether it queued a message: always ``unknown``."""
        return Reconciled.UNKNOWN, None
