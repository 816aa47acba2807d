"""HTTP API (FastAPI): thin routes over the same library functions the CLI uses.

Owns the app factory and bearer-token auth. Routes live in sibling modules and are included here.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from marketing_gen import __version__
from marketing_gen.config import Settings, get_settings
from marketing_gen.errors import ClientError, NotFound, ServerError

MAX_BODY_BYTES = 256 * 1024
"""Requests larger than this are refused with 413."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the FastAPI app (OpenAPI docs at /docs)."""
    settings = settings or get_settings()
    app = FastAPI(title="marketing-gen", version=__version__, description="Reply suggestions, tracking, events.")
    app.state.settings = settings

    @app.middleware("http")
    async def limit_body_size(request: Request, call_next):  # type: ignore[no-untyped-def]
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return JSONResponse(status_code=413, content={"detail": f"request body over {MAX_BODY_BYTES} bytes"})
        return await call_next(request)

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(ClientError)
    async def client_error(_request: Request, exc: ClientError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    @app.exception_handler(ServerError)
    async def server_error(_request: Request, exc: ServerError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": f"{type(exc).__name__}: {exc}"})

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

    return app
