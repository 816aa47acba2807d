"""RFC 9457 problem details: every error the JSON API answers is ``application/problem+json`` with a stable type.

Owns the problem types (``PROBLEM_TYPES``: status → slug; the ``type`` member is ``urn:marketing-gen:problem:<slug>``)
and the response builder. Recipient-facing tracking pages (``/u``, ``/c``, ``/o``) answer HTML, not problems.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:marketing-gen:problem:"

PROBLEM_TYPES: dict[int, tuple[str, str]] = {
    400: ("invalid-request", "Invalid request"),
    401: ("unauthorized", "Missing or invalid credentials"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("body-too-large", "Request body too large"),
    422: ("validation-failed", "Request body failed validation"),
    500: ("internal-error", "Internal server error"),
    503: ("service-unavailable", "Service unavailable"),
}
"""Status → (type slug, title). A status not listed gets the slug ``http-<status>``. Slugs never change."""


def problem_type(status: int) -> str:
    """The stable ``type`` URI for ``status``."""
    slug = PROBLEM_TYPES.get(status, (f"http-{status}", ""))[0]
    return TYPE_PREFIX + slug


def problem_body(status: int, detail: str, **extensions: Any) -> dict[str, Any]:
    """The problem object: type, title, status, detail, plus extension members (e.g. ``errors``)."""
    title = PROBLEM_TYPES.get(status, ("", f"HTTP {status}"))[1]
    return {"type": problem_type(status), "title": title, "status": status, "detail": detail, **extensions}


def problem_response(
    status: int, detail: str, *, headers: Mapping[str, str] | None = None, **extensions: Any
) -> JSONResponse:
    """A JSONResponse with the problem body and ``Content-Type: application/problem+json``."""
    return JSONResponse(
        problem_body(status, detail, **extensions), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


def problem_bytes(status: int, detail: str) -> bytes:
    """The encoded body, for answering from raw ASGI (before the app runs)."""
    return json.dumps(problem_body(status, detail), ensure_ascii=False).encode("utf-8")
