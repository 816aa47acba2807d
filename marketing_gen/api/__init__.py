"""HTTP API (FastAPI): thin routes over the same library functions the CLI uses.

Owns the app factory and the error mapping: every error of the JSON API is an RFC 9457 problem
(``api/problems.py``); ``api/auth.py``'s ``RequestGuard`` authenticates ``/v1/`` requests from their headers and
bounds every body before the app reads it. Routes live in sibling modules and are included here.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from marketing_gen import __version__
from marketing_gen.api.auth import RequestGuard
from marketing_gen.api.problems import problem_response
from marketing_gen.config import Settings, get_settings
from marketing_gen.errors import ClientError, NotFound, ServerError

MAX_BODY_BYTES = 256 * 1024
"""Requests larger than this are refused with 413 (declared or streamed)."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the FastAPI app (OpenAPI docs at /docs)."""
    settings = settings or get_settings()
    app = FastAPI(title="marketing-gen", version=__version__, description="Reply suggestions, tracking, events.")
    app.state.settings = settings
    app.add_middleware(RequestGuard, max_body_bytes=MAX_BODY_BYTES)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code < 400:  # a redirect raised as an exception (the review pages' login guard)
            return Response(status_code=exc.status_code, headers=exc.headers)
        return problem_response(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # loc / msg / type only: echoing ``input`` would mirror (possibly large or private) request data back
        errors = jsonable_encoder([{"loc": e["loc"], "msg": e["msg"], "type": e["type"]} for e in exc.errors()])
        summary = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
        return problem_response(422, summary or "invalid request", errors=errors)

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return problem_response(404, str(exc))

    @app.exception_handler(ClientError)
    async def client_error(_request: Request, exc: ClientError) -> JSONResponse:
        return problem_response(400, str(exc))

    @app.exception_handler(ServerError)
    async def server_error(_request: Request, exc: ServerError) -> JSONResponse:
        return problem_response(503, f"{type(exc).__name__}: {exc}")

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, _exc: Exception) -> JSONResponse:
        return problem_response(500, "internal error (see the server log)")

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    # Routers are included below, one line each (replies, tracking, events).
    from marketing_gen.api import events as events_api

    app.include_router(events_api.router)

    from marketing_gen.api import tracking as tracking_api

    app.include_router(tracking_api.router)

    from marketing_gen.api import replies as replies_api

    app.include_router(replies_api.router)

    from marketing_gen.api import review_pages

    app.include_router(review_pages.router)

    return app
