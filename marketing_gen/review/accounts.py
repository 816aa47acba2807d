"""Reviewer accounts and browser sessions for the review page.

Passwords are hashed with scrypt (``hashlib.scrypt``, n=2**15, r=8, p=1, 16-byte salt; stored as
``scrypt$n$r$p$salt$hash``) and compared in constant time. A session is a random 32-byte token in an HttpOnly
cookie; the database keeps only its SHA-256, the account, an expiry and the session's CSRF token (every form
posts it back). Roles: ``reviewer`` (review, approve, reject, edit) and ``admin`` (also send).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select

from marketing_gen.db import session_scope
from marketing_gen.db.models import Account, WebSession, utcnow
from marketing_gen.errors import InvalidRequest

ROLES = ("reviewer", "admin")
MIN_PASSWORD = 10
SESSION_TTL = dt.timedelta(hours=12)
_N, _R, _P = 2**15, 8, 1


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """A salted scrypt hash in a self-describing string."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 1024 * 1024, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a ``hash_password`` string (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(
        password.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), maxmem=64 * 1024 * 1024, dklen=32
    )
    return hmac.compare_digest(got, _unb64(digest))


@dataclass(frozen=True)
class Reviewer:
    """A logged-in person as the page sees them."""

    id: int
    username: str
    role: str

    @property
    def can_send(self) -> bool:
        """Admins may send; reviewers only review."""
        return self.role == "admin"


def add_account(username: str, password: str, *, role: str = "reviewer", url: str | None = None) -> int:
    """Create an account (or reset the password and role of an existing one); returns its id."""
    username = username.strip()
    if not username or len(username) > 128:
        raise InvalidRequest("username must be 1-128 characters")
    if role not in ROLES:
        raise InvalidRequest(f"--role {role!r}: choose one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest(f"password must be at least {MIN_PASSWORD} characters")
    with session_scope(url) as s:
        row = s.scalar(select(Account).where(Account.username == username))
        if row is None:
            row = Account(username=username, password_hash=hash_password(password), role=role, disabled=False)
            s.add(row)
        else:
            row.password_hash, row.role, row.disabled = hash_password(password), role, False
        s.flush()
        return int(row.id)


def authenticate(username: str, password: str, *, url: str | None = None) -> Reviewer | None:
    """The account if the password is right and the account enabled, else None."""
    with session_scope(url) as s:
        row = s.scalar(select(Account).where(Account.username == username.strip()))
        if row is None or row.disabled:
            hash_password(password)  # same work either way: no timing hint that the name exists
            return None
        if not verify_password(password, row.password_hash):
            return None
        row.last_login_at = utcnow()
        return Reviewer(row.id, row.username, row.role)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(reviewer: Reviewer, *, url: str | None = None) -> tuple[str, str]:
    """A new session for ``reviewer``: (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    with session_scope(url) as s:
        s.execute(delete(WebSession).where(WebSession.expires_at < now))
        s.add(
            WebSession(
                token_hash=_token_hash(token), account_id=reviewer.id, csrf_token=csrf, expires_at=now + SESSION_TTL
            )
        )
    return token, csrf


def load_session(token: str | None, *, url: str | None = None) -> tuple[Reviewer, str] | None:
    """(reviewer, CSRF token) for a live session cookie, else None."""
    if not token:
        return None
    with session_scope(url) as s:
        row = s.execute(
            select(WebSession, Account)
            .join(Account, Account.id == WebSession.account_id)
            .where(WebSession.token_hash == _token_hash(token))
        ).first()
        if row is None:
            return None
        sess, account = row
        expires = sess.expires_at if sess.expires_at.tzinfo else sess.expires_at.replace(tzinfo=dt.timezone.utc)
        if expires < utcnow() or account.disabled:
            return None
        return Reviewer(account.id, account.username, account.role), sess.csrf_token


def end_session(token: str | None, *, url: str | None = None) -> None:
    """Log out: forget the session."""
    if token:
        with session_scope(url) as s:
            s.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(token)))
