"""The HTTP API authenticates before it reads: a real uvicorn server and raw sockets (chunked bodies, odd bytes).

Every error of the JSON API is an RFC 9457 problem (``application/problem+json`` with a stable ``type``).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fakes import ScriptedEngine

from marketing_gen.api import MAX_BODY_BYTES, create_app
from marketing_gen.config import Settings

TOKEN = "guard-test-token"
KEY = "guard-test-secret-key-0123456789abcdefghijk"


@pytest.fixture
def port(tmp_path: Path, sqlite_url: str) -> Iterator[int]:
    settings = Settings(database_url=sqlite_url, api_token=TOKEN, secret_key=KEY, models_dir=tmp_path / "models")
    app = create_app(settings)
    app.state.reply_engine = ScriptedEngine(default="Thanks, we'll look into it.")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield free
    server.should_exit = True
    thread.join(timeout=10)


def _read_response(sock: socket.socket, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one HTTP/1.1 response (Content-Length framed)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def _head(port: int, path: str, *extra: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1".encode(), f"Host: 127.0.0.1:{port}".encode(), b"Content-Type: application/json"]
    return b"\r\n".join([*lines, *extra, b"", b""])


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _assert_problem(headers: dict[str, str], body: bytes, status: int, slug: str) -> dict:  # type: ignore[type-arg]
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == status and problem["type"] == f"urn:marketing-gen:problem:{slug}"
    assert problem["title"] and problem["detail"]
    return problem  # type: ignore[no-any-return]


def test_unauthenticated_chunked_body_is_refused_before_it_is_read(port: int) -> None:
    # Headers and 64 KiB of a body announced as chunked (meant to be 32 MiB); the rest is never sent. The answer
    # must come anyway: it is decided from the headers. (Before: the server waited for the whole body, then 422.)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(_head(port, "/v1/replies/suggest", b"Transfer-Encoding: chunked") + _chunk(b"[" * 65536))
        status, headers, body = _read_response(sock, timeout=10)
    assert status == 401 and headers["www-authenticate"] == "Bearer"
    _assert_problem(headers, body, 401, "unauthorized")


def test_authenticated_chunked_body_over_the_limit_is_413(port: int) -> None:
    # A valid token and a chunked body without Content-Length: the limit is counted on the stream.
    sent = 0

    def pump(sock: socket.socket) -> None:
        nonlocal sent
        piece = _chunk(b"x" * 65536)
        try:
            for _ in range(512):  # 32 MiB if the server kept reading
                sock.sendall(piece)
                sent += 65536
        except OSError:
            return

    with socket.create_connection(("127.0.0.1", port)) as sock:
        auth = f"Authorization: Bearer {TOKEN}".encode()
        sock.sendall(_head(port, "/v1/events", auth, b"Transfer-Encoding: chunked"))
        writer = threading.Thread(target=pump, args=(sock,), daemon=True)
        writer.start()
        status, headers, body = _read_response(sock, timeout=30)
        writer.join(timeout=30)
    assert status == 413
    assert str(MAX_BODY_BYTES) in _assert_problem(headers, body, 413, "body-too-large")["detail"]
    assert sent < 32 * 1024 * 1024  # the server stopped reading long before the end


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer t\u00e9st-\u2603".encode(),  # non-ASCII bytes (before: 500)
        b"Bearer \xff\xfe",
        b"Basic Z3VhcmQ6dGVzdA==",
        b"Bearer",
        b"Bearer " + TOKEN.encode() + b" extra",
        b"bearer wrong-token",
    ],
)
def test_every_malformed_credential_is_401(port: int, authorization: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        body = b'{"text": "hi"}'
        extra = (b"Authorization: " + authorization, f"Content-Length: {len(body)}".encode())
        sock.sendall(_head(port, "/v1/replies/suggest", *extra) + body)
        status, headers, raw = _read_response(sock)
    assert status == 401
    _assert_problem(headers, raw, 401, "unauthorized")


def test_two_authorization_headers_are_401(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        auth = f"Authorization: Bearer {TOKEN}".encode()
        sock.sendall(_head(port, "/v1/events", auth, b"Authorization: Bearer other", b"Content-Length: 2") + b"[]")
        status, headers, raw = _read_response(sock)
    assert status == 401 and "several" in _assert_problem(headers, raw, 401, "unauthorized")["detail"]


def test_oversized_declared_body_without_token_is_401_not_413(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(_head(port, "/v1/events", b"Content-Length: 33554432"))
        status, headers, raw = _read_response(sock)
    assert status == 401


def test_json_api_errors_are_problems(port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base) as client:
        r = client.post("/v1/replies/suggest", json={"text": "hi", "k": 99}, headers=auth)
        assert r.status_code == 422
        problem = _assert_problem(dict(r.headers), r.content, 422, "validation-failed")
        assert problem["errors"][0]["loc"][-1] == "k" and "k" in problem["detail"]
        r = client.post("/v1/events", content=b"x" * (MAX_BODY_BYTES + 1), headers=auth)
        assert r.status_code == 413
        _assert_problem(dict(r.headers), r.content, 413, "body-too-large")
        r = client.get("/v1/nothing-here", headers=auth)
        _assert_problem(dict(r.headers), r.content, 404, "not-found")
        r = client.get("/v1/events", headers=auth)
        _assert_problem(dict(r.headers), r.content, 405, "method-not-allowed")
        ok = client.post("/v1/events", json=[], headers=auth)
        assert ok.status_code == 200, ok.text
        assert client.get("/healthz").json()["status"] == "ok"  # no token needed outside /v1/


def test_tracking_pages_stay_html_and_bounded(port: int) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        r = client.get("/u/not-a-token")
        assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
        r = client.post("/u/not-a-token", content=b"x" * (MAX_BODY_BYTES + 1))
        assert r.status_code == 413
