"""Bearer-token auth for API routes (token from settings.api_token)."""

from __future__ import annotations

import hmac

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False)


def require_token(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """401 unless the request carries ``Authorization: Bearer <settings.api_token>``."""
    expected = request.app.state.settings.api_token
    if not expected:
        raise HTTPException(status_code=401, detail="API token not configured: set MARKETING_GEN_API_TOKEN")
    if credentials is None or not hmac.compare_digest(credentials.credentials, expected):
        raise HTTPException(
            status_code=401, detail="missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
