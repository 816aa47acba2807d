"""The review web page (``/review``): log in, campaign list with counts, drafts grouped by channel and variant as
they will appear, guardrail findings and grounding, approve / reject / edit / bulk approve, send (admins), the
A/B chart of sent campaigns. Server-rendered Jinja2 (``templates/review/``), no JavaScript, no model needed.

Sessions: an HttpOnly, SameSite=Strict cookie holding a random token (``review.accounts``); every POST carries
the session's CSRF token (the login form a double-submit cookie). Thin: each route calls one library function.
"""

from __future__ import annotations

import hmac
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from marketing_gen.campaigns.state import STATUS_NAMES, list_campaigns
from marketing_gen.errors import ClientError, NotFound
from marketing_gen.review.accounts import Reviewer, authenticate, end_session, load_session, start_session
from marketing_gen.review.present import editable_fields, grounding, preview
from marketing_gen.review.workflow import (
    approve_drafts,
    audit_trail,
    edit_draft,
    list_drafts,
    reject_draft,
    review_counts,
)

router = APIRouter(prefix="/review", tags=["review"], include_in_schema=False)

COOKIE = "mg_review"
LOGIN_CSRF_COOKIE = "mg_review_login"
PER_PAGE = 20
NO_STORE = {"Cache-Control": "no-store"}


@lru_cache(maxsize=4)
def _templates_in(directory: str) -> Jinja2Templates:
    return Jinja2Templates(directory=directory)


def _templates(request: Request) -> Jinja2Templates:
    return _templates_in(str(Path(request.app.state.settings.templates_dir) / "review"))


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    response = _templates(request).TemplateResponse(request, name, context, status_code=status, headers=NO_STORE)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' https: data:; style-src 'self' 'unsafe-inline'; frame-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    )
    return response


def _url(request: Request) -> str:
    return str(request.app.state.settings.database_url)


class Login:
    """The logged-in reviewer and the session's CSRF token (a dependency)."""

    def __init__(self, reviewer: Reviewer, csrf: str) -> None:
        self.reviewer, self.csrf = reviewer, csrf

    def check(self, token: str) -> None:
        """403 unless ``token`` is this session's CSRF token."""
        if not hmac.compare_digest(token or "", self.csrf):
            raise HTTPException(status_code=403, detail="CSRF token missing or wrong: reload the page")


def current_login(request: Request) -> Login:
    """The session of this request, or a redirect to the login page."""
    found = load_session(request.cookies.get(COOKIE), url=_url(request))
    if found is None:
        raise HTTPException(status_code=303, headers={"Location": "/review/login"})
    return Login(*found)


def _back(location: str, **params: Any) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v is not None and v != ""})
    return RedirectResponse(f"{location}?{query}" if query else location, status_code=303)


# --- login -----------------------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, error: str = "") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = _page(request, "login.html", csrf=token, error=error, status=401 if error else 200)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/review")
    return response


@router.post("/login")
def login(request: Request, username: str = Form(...), password: str = Form(...), csrf: str = Form("")) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf, expected):
        raise HTTPException(status_code=403, detail="login form expired: reload /review/login")
    reviewer = authenticate(username, password, url=_url(request))
    if reviewer is None:
        return login_form(request, error="Wrong username or password.")
    token, _ = start_session(reviewer, url=_url(request))
    response = RedirectResponse("/review/", status_code=303)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", path="/review", secure=request.url.scheme == "https"
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/review")
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form(""), login: Login = Depends(current_login)) -> Response:
    login.check(csrf)
    end_session(request.cookies.get(COOKIE), url=_url(request))
    response = RedirectResponse("/review/login", status_code=303)
    response.delete_cookie(COOKIE, path="/review")
    return response


# --- pages -----------------------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def campaigns(request: Request, login: Login = Depends(current_login)) -> HTMLResponse:
    url = _url(request)
    rows = [{**c, "counts": review_counts(c["id"], url=url)["totals"]} for c in list_campaigns(url=url)]
    return _page(request, "campaigns.html", login=login, campaigns=rows)


def _campaign_page(
    request: Request,
    login: Login,
    campaign_id: int,
    *,
    channel: str | None,
    variant: int | None,
    status: str,
    page: int,
    msg: str = "",
    refused: dict[int, dict[str, Any]] | None = None,
    http_status: int = 200,
) -> HTMLResponse:
    from marketing_gen.delivery.send import outbox_status

    url = _url(request)
    counts = review_counts(campaign_id, url=url)
    groups = counts["groups"]
    if channel is None and groups:
        channel = next(iter(groups))
    if status not in STATUS_NAMES and status != "all":
        status = "in_review"
    drafts, total = list_drafts(
        campaign_id,
        channel=channel,
        variant=variant,
        status=None if status == "all" else status,
        page=page,
        per_page=PER_PAGE,
        url=url,
    )
    refused = refused or {}
    ground = grounding(campaign_id, drafts, url=url)
    cards = [
        {
            **d,
            "view": preview(d),
            "form": editable_fields(d, refused.get(d["id"], {}).get("fields")),
            "refused": refused.get(d["id"], {}).get("findings"),
            "grounding": ground.get(d["id"], {"items": [], "offer": {}}),
        }
        for d in drafts
    ]
    pages = max(1, -(-total // PER_PAGE))
    outbox = outbox_status(campaign_id=campaign_id, settings=request.app.state.settings)
    group_in_review = sum(
        n.get("in_review", 0)
        for v, n in (groups.get(channel or "", {}) or {}).items()
        if variant is None or v == variant
    )
    return _page(
        request,
        "campaign.html",
        status=http_status,
        login=login,
        campaign=counts,
        channel=channel,
        variant=variant,
        status_filter=status,
        statuses=("all", *STATUS_NAMES),
        cards=cards,
        page=page,
        pages=pages,
        total=total,
        msg=msg,
        outbox=outbox,
        group_in_review=group_in_review,
        trail=audit_trail(campaign_id, limit=50, url=url),
        has_report=bool(outbox["states"].get("sent")),
    )


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    request: Request,
    campaign_id: int,
    channel: str | None = None,
    variant: str = "",
    status: str = "in_review",
    page: int = 1,
    msg: str = "",
    login: Login = Depends(current_login),
) -> HTMLResponse:
    try:
        return _campaign_page(
            request, login, campaign_id, channel=channel, variant=int(variant) if variant.strip().isdigit() else None,
            status=status, page=max(1, page), msg=msg,
        )  # fmt: skip
    except NotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


def _here(campaign_id: int) -> str:
    return f"/review/campaigns/{campaign_id}"


@router.post("/campaigns/{campaign_id}/approve")
def approve_group(
    request: Request,
    campaign_id: int,
    csrf: str = Form(""),
    channel: str = Form(""),
    variant: str = Form(""),
    login: Login = Depends(current_login),
) -> Response:
    login.check(csrf)
    var = int(variant) if variant.strip().isdigit() else None
    try:
        result = approve_drafts(
            campaign_id, actor=login.reviewer.username, channel=channel or None, variant=var,
            settings=request.app.state.settings,
        )  # fmt: skip
    except ClientError as exc:
        return _back(_here(campaign_id), channel=channel, variant=variant, msg=f"Not approved: {exc}")
    what = f"{channel or 'all channels'}" + (f" variant {var}" if var is not None else "")
    msg = f"Approved {result['approved']} drafts ({what}); {result['queued']} queued in the outbox."
    return _back(_here(campaign_id), channel=channel, variant=variant, msg=msg)


def _draft_campaign(request: Request, draft_id: int) -> int:
    from marketing_gen.db import session_scope
    from marketing_gen.db.models import Draft

    with session_scope(_url(request)) as s:
        draft = s.get(Draft, draft_id)
        if draft is None:
            raise HTTPException(status_code=404, detail=f"draft {draft_id} does not exist")
        return int(draft.campaign_id)


@router.post("/drafts/{draft_id}/approve")
def approve_one(
    request: Request,
    draft_id: int,
    csrf: str = Form(""),
    back: str = Form(""),
    login: Login = Depends(current_login),
) -> Response:
    login.check(csrf)
    cid = _draft_campaign(request, draft_id)
    approve_drafts(cid, actor=login.reviewer.username, draft_ids=[draft_id], settings=request.app.state.settings)
    return _back(_here(cid), msg=f"Draft {draft_id} approved.", **_keep(back))


def _keep(back: str) -> dict[str, str]:
    """Channel / variant / status / page of the list the form came from (``back`` is a query string)."""
    from urllib.parse import parse_qsl

    allowed = {"channel", "variant", "status", "page"}
    return {k: v for k, v in parse_qsl(back) if k in allowed}


@router.post("/drafts/{draft_id}/reject")
def reject_one(
    request: Request,
    draft_id: int,
    csrf: str = Form(""),
    reason: str = Form(""),
    back: str = Form(""),
    login: Login = Depends(current_login),
) -> Response:
    login.check(csrf)
    cid = _draft_campaign(request, draft_id)
    try:
        reject_draft(draft_id, actor=login.reviewer.username, reason=reason, settings=request.app.state.settings)
    except ClientError as exc:
        return _back(_here(cid), msg=f"Not rejected: {exc}", **_keep(back))
    return _back(_here(cid), msg=f"Draft {draft_id} rejected.", **_keep(back))


@router.post("/drafts/{draft_id}/edit")
async def edit_one(request: Request, draft_id: int, login: Login = Depends(current_login)) -> Response:
    form = await request.form()
    login.check(str(form.get("csrf", "")))
    cid = _draft_campaign(request, draft_id)
    fields = {str(k)[6:]: str(v) for k, v in form.items() if str(k).startswith("field_")}
    keep = _keep(str(form.get("back", "")))
    try:
        outcome = edit_draft(draft_id, fields, actor=login.reviewer.username, settings=request.app.state.settings)
    except ClientError as exc:
        return _back(_here(cid), msg=f"Edit not saved: {exc}", **keep)
    if outcome.accepted:
        return _back(_here(cid), msg=f"Draft {draft_id} edited; every guardrail passed.", **keep)
    variant = keep.get("variant", "")
    return _campaign_page(
        request, login, cid, channel=keep.get("channel"), variant=int(variant) if variant.strip().isdigit() else None,
        status=keep.get("status", "in_review"), page=int(keep.get("page", "1") or 1),
        msg=f"Edit of draft {draft_id} refused: it breaks a guardrail. Nothing was saved.",
        refused={draft_id: {"fields": fields, "findings": outcome.findings}}, http_status=422,
    )  # fmt: skip


@router.post("/campaigns/{campaign_id}/send")
def send(
    request: Request,
    campaign_id: int,
    csrf: str = Form(""),
    adapter: str = Form("file"),
    login: Login = Depends(current_login),
) -> Response:
    login.check(csrf)
    if not login.reviewer.can_send:
        raise HTTPException(status_code=403, detail="only admins may send")
    from marketing_gen.delivery.send import plan_send, reconcile_stale
    from workers.app import app_for

    settings = request.app.state.settings
    reconcile_stale(settings=settings, campaign_id=campaign_id)
    batches = plan_send(campaign_id, adapter, settings=settings)
    app = app_for(settings)
    for ids in batches:
        app.send_task("workers.tasks.send_batch", args=[ids, adapter])
    n = sum(map(len, batches))
    return _back(_here(campaign_id), msg=f"Sending {n} messages via {adapter} ({len(batches)} batches enqueued).")


@router.get("/campaigns/{campaign_id}/report.png")
def report_png(request: Request, campaign_id: int, login: Login = Depends(current_login)) -> Response:
    from marketing_gen.feedback.report import build_report, render_report_png

    report = build_report(campaign_id, url=_url(request))
    with tempfile.TemporaryDirectory(prefix="mg-report-") as tmp:
        png = render_report_png(report, Path(tmp) / f"campaign_{campaign_id}.png").read_bytes()
    return Response(png, media_type="image/png", headers=NO_STORE)
