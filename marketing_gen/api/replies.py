"""``POST /v1/replies/suggest``: reply suggestions over HTTP, through the in-process micro-batcher.

Owns the request / response models and the router's lifespan: the engine is loaded once at startup from
settings (or taken from ``app.state.reply_engine`` when a test or embedding app set one beforehand) and the
micro-batcher runs for the app's lifetime. The pipeline itself is ``marketing_gen.replies``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from marketing_gen.api.auth import require_token
from marketing_gen.contexts import BrandFacts
from marketing_gen.errors import MarketingGenError, ModelLoadError
from marketing_gen.replies.batcher import ReplyBatcher, model_thread
from marketing_gen.replies.context import DEFAULT_BRAND, load_brand_facts, load_reply_plan
from marketing_gen.replies.retrieval import start_default_index
from marketing_gen.replies.suggest import AI_LABEL, MAX_K, MAX_TEXT_CHARS, TEMPLATE_LABEL

log = logging.getLogger(__name__)

"""Shown to the agent (EU AI Act Art. 50: people are told when text comes from an AI system)."""

API_CANDIDATES = 4
"""Candidates per API request (m; at least k): one prompt per intent keeps one request near a second on CPU.
Override with ``app.state.reply_m``."""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the engine (unless injected) and the brand once; run the micro-batcher while the app lives."""
    settings = app.state.settings
    engine = getattr(app.state, "reply_engine", None)
    app.state.reply_error = None
    executor = model_thread()  # load and generate on the same thread (see ``model_thread``)
    if engine is None:
        from marketing_gen.versions import active

        try:
            engine = await asyncio.get_running_loop().run_in_executor(
                executor, functools.partial(active.load_active_engine, settings, int8_decode=settings.reply_int8_decode)
            )
        except (MarketingGenError, SQLAlchemyError, OSError) as exc:
            # The rest of the API (tracking, events) still serves; reply routes answer 503 with the reason.
            app.state.reply_error = f"reply model not loaded: {exc}"
            log.warning("%s", app.state.reply_error)
    brand = getattr(app.state, "reply_brand", None)
    if brand is None:
        try:
            brand = await run_in_threadpool(load_brand_facts, settings.database_url)
        except (MarketingGenError, SQLAlchemyError) as exc:
            log.warning("no brand loaded (%s); using defaults", exc)
            brand = DEFAULT_BRAND
    app.state.reply_brand = brand
    batcher = None
    if engine is not None:
        app.state.reply_engine = engine
        batcher = ReplyBatcher(
            engine,
            max_wait_ms=getattr(app.state, "reply_max_wait_ms", 5.0),
            busy_wait_ms=getattr(app.state, "reply_busy_wait_ms", 50.0),
            executor=executor,
            retriever=start_default_index(),  # near-thread replies once the index is loaded (background)
        )
        await batcher.start()
    else:
        executor.shutdown(wait=False)
    app.state.reply_batcher = batcher
    try:
        yield
    finally:
        if batcher is not None:
            await batcher.stop()


router = APIRouter(prefix="/v1/replies", tags=["replies"], lifespan=_lifespan)


class Turn(BaseModel):
    """One earlier message of the conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["customer", "brand"]
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)


class SuggestRequest(BaseModel):
    """A comment or DM to answer, with optional context."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "Does the kettle come in black?", "item_id": "B00X1", "k": 3}]},
    )

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="The comment or direct message.")
    item_id: str | None = Field(default=None, max_length=1024, description="Item id, external id or product URL.")
    user_id: str | None = Field(default=None, max_length=128, description="User id or external id (recent orders).")
    history: list[Turn] = Field(default_factory=list, max_length=10, description="Earlier turns, oldest first.")
    k: int = Field(default=3, ge=1, le=MAX_K, description=f"Suggestions wanted (1–{MAX_K}).")
    seed: int = Field(default=0, ge=0, description="Same seed and input → same suggestions.")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be blank")
        return value


class SuggestionOut(BaseModel):
    """One suggested reply."""

    text: str
    intent: str = Field(description="answer | ask_details | thank | recommend | apologize")
    fallback: bool = Field(description="True: a safe template, not model text.")
    ai_mark: Literal["model", "fallback", "retrieved"] = Field(
        description="Who wrote it (EU AI Act Art. 50): model | fallback | retrieved (a person, in a similar thread)."
    )
    label: str = Field(description=f"What to show the agent next to it: {AI_LABEL!r} or {TEMPLATE_LABEL!r}.")


class SuggestResponse(BaseModel):
    """Triage verdict and the suggestions (none when escalated or spam)."""

    escalate: bool
    reason: str | None
    category: str
    flagged_injection: bool
    suggestions: list[SuggestionOut]
    model_version: str | None
    ai_generated: bool = Field(description="True when any suggestion was written by the AI model.")
    notice: str = Field(description="Disclosure to show the agent above the suggestions.")


@router.post(
    "/suggest",
    response_model=SuggestResponse,
    dependencies=[Depends(require_token)],
    summary="Suggest short replies to a social comment or DM",
    responses={401: {"description": "Missing or wrong bearer token"}, 503: {"description": "Model not loaded"}},
)
async def suggest(body: SuggestRequest, request: Request) -> dict[str, Any]:
    """Triage the message; suggest k replies that differ in intent, or escalate (abusive / legal / safety)."""
    state = request.app.state
    batcher: ReplyBatcher | None = getattr(state, "reply_batcher", None)
    if batcher is None:
        raise ModelLoadError(getattr(state, "reply_error", None) or "reply service not started")
    brand: BrandFacts = state.reply_brand
    plan = await run_in_threadpool(
        load_reply_plan,
        body.text,
        brand=brand,
        url=state.settings.database_url,
        item_ref=body.item_id,
        user_ref=body.user_id,
        history=[(t.role, t.text) for t in body.history],
        k=body.k,
        m=max(body.k, getattr(state, "reply_m", API_CANDIDATES)),
        seed=body.seed,
    )
    result = await batcher.suggest(plan)
    return {**result.to_dict(), "flagged_injection": result.flagged_injection, "model_version": result.model_version}
