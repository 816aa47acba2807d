"""Authentication before anything is read: the request guard (pure ASGI) and the bearer-token dependency.

``RequestGuard`` runs in front of the app. For the authenticated API (paths under ``/v1/``) it answers 401 from
the headers alone — a missing, malformed (any scheme but Bearer, non-ASCII bytes, several headers) or wrong token
is refused before one byte of the body is received. Then, for every path, it reads the body up to
``max_body_bytes`` — counted on the stream, so a chunked body without ``Content-Length`` is bounded too — and
answers 413 as soon as it goes over; a body within the limit is replayed to the app. ``require_token`` repeats
the check as a route dependency (it documents the scheme in OpenAPI and guards routes mounted elsewhere).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from marketing_gen.api.problems import PROBLEM_JSON, problem_bytes

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

AUTHENTICATED_PREFIXES = ("/v1/",)
"""Paths that need ``Authorization: Bearer <MARKETING_GEN_API_TOKEN>``."""

_bearer = HTTPBearer(auto_error=False)


def token_matches(presented: bytes, expected: str | None) -> bool:
    """Constant-time comparison of raw credential bytes with the configured token (False when none is set)."""
    return bool(expected) and hmac.compare_digest(presented, expected.encode("utf-8"))  # type: ignore[union-attr]


def bearer_problem(headers: list[tuple[bytes, bytes]], expected: str | None) -> str | None:
    """Why the request's credentials are refused, or None when ``Authorization: Bearer <expected>`` is present."""
    if not expected:
        return "API token not configured: set MARKETING_GEN_API_TOKEN"
    values = [v for k, v in headers if k.lower() == b"authorization"]
    if not values:
        return "missing bearer token: send Authorization: Bearer <token>"
    if len(values) > 1:
        return "malformed credentials: several Authorization headers"
    scheme, _, credential = values[0].strip().partition(b" ")
    credential = credential.strip()
    if scheme.lower() != b"bearer" or not credential or b" " in credential:
        return "malformed credentials: expected Authorization: Bearer <token>"
    if not token_matches(credential, expected):
        return "wrong bearer token"
    return None


class RequestGuard:
    """ASGI middleware: 401 from the headers for authenticated paths, then the body bounded by ``max_body_bytes``."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
        if str(scope.get("path", "")).startswith(AUTHENTICATED_PREFIXES):
            problem = bearer_problem(headers, scope["app"].state.settings.api_token)
            if problem:
                await _answer(send, 401, problem, [(b"www-authenticate", b"Bearer")])
                return
        declared = next((v for k, v in headers if k.lower() == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _answer(send, 413, f"request body over {self.max_body_bytes} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _answer(send, 413, f"request body over {self.max_body_bytes} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out ``messages`` first, then the real ones (disconnect detection keeps working)."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


async def _answer(send: Send, status: int, detail: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = problem_bytes(status, detail)
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the unread body must not be parsed as the next request
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def require_token(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """401 unless the request carries ``Authorization: Bearer <settings.api_token>`` (any bytes compare safely)."""
    expected = request.app.state.settings.api_token
    if not expected:
        raise HTTPException(status_code=401, detail="API token not configured: set MARKETING_GEN_API_TOKEN")
    presented = credentials.credentials.encode("latin-1", errors="replace") if credentials else b""
    if not token_matches(presented, expected):
        raise HTTPException(
            status_code=401, detail="missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
