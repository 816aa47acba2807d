"""Batch reply suggestions: a file of comments → ``reply_requests`` rows → suggestions stored on each row.

Owns reading the comments file (CSV or JSONL with a ``text`` column), idempotent inserts (keyed by
``external_id``), and answering a batch of pending rows with one batched engine call. The Celery task in
``workers/reply_tasks.py`` is a thin wrapper around ``answer_reply_requests``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from marketing_gen.contexts import BrandFacts
from marketing_gen.db import insert_ignore, session_scope
from marketing_gen.db.models import ReplyRequest
from marketing_gen.errors import ClientError, InvalidRequest
from marketing_gen.llm.protocol import GenerationEngine
from marketing_gen.replies.context import load_brand_facts, load_reply_plan
from marketing_gen.replies.retrieval import default_index
from marketing_gen.replies.similarity import Similarity
from marketing_gen.replies.suggest import (
    MAX_TEXT_CHARS,
    ReplyPlan,
    finish_replies,
    generate_for_plans,
)


def load_comments(path: str | Path) -> list[dict[str, Any]]:
    """Rows with ``text`` (required), optional ``external_id`` / ``id``, ``item_id``, ``user_id``."""
    path = Path(path)
    if not path.is_file():
        raise InvalidRequest(f"{path} does not exist")
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InvalidRequest(f"{path}:{n} is not JSON: {exc}") from exc
    elif path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    else:
        raise InvalidRequest(f"{path}: use a .csv or .jsonl file with a 'text' column")
    out = []
    for n, row in enumerate(rows, start=1):
        text = str(row.get("text") or "").strip()
        if not text:
            raise InvalidRequest(f"{path} row {n} has no 'text'")
        external = row.get("external_id", row.get("id"))
        out.append(
            {
                "external_id": str(external) if external not in (None, "") else None,
                "text": text[:MAX_TEXT_CHARS],
                "item_ref": str(row["item_id"]) if row.get("item_id") not in (None, "") else None,
                "user_ref": str(row["user_id"]) if row.get("user_id") not in (None, "") else None,
            }
        )
    return out


def insert_reply_requests(rows: Sequence[dict[str, Any]], *, url: str | None = None) -> list[int]:
    """Insert rows (ignoring external ids already present); returns the ids of every row's request."""
    ids: list[int] = []
    found: dict[str, int] = {}
    with session_scope(url) as session:
        keyed = [r for r in rows if r["external_id"]]
        insert_ignore(
            session,
            ReplyRequest.__table__,
            [
                {"external_id": r["external_id"], "text": r["text"], "status": "pending", "result": _ref(r)}
                for r in keyed
            ],
            conflict=["external_id"],
        )
        if keyed:
            found = dict(
                session.execute(
                    select(ReplyRequest.external_id, ReplyRequest.id).where(
                        ReplyRequest.external_id.in_([r["external_id"] for r in keyed])
                    )
                ).all()
            )
        for r in rows:
            if r["external_id"]:
                ids.append(found[r["external_id"]])
            else:
                req = ReplyRequest(text=r["text"], status="pending", result=_ref(r))
                session.add(req)
                session.flush()
                ids.append(req.id)
    return ids


def _ref(row: dict[str, Any]) -> dict[str, Any] | None:
    """Item / user references wait in ``result`` until the row is answered (the FK columns need db ids)."""
    refs = {k: row[k] for k in ("item_ref", "user_ref") if row.get(k)}
    return {"pending_refs": refs} if refs else None


def answer_reply_requests(
    ids: Sequence[int],
    engine: GenerationEngine,
    *,
    url: str | None = None,
    brand: BrandFacts | None = None,
    k: int = 3,
    m: int = 8,
    similarity: Similarity | None = None,
) -> list[int]:
    """Answer the pending requests among ``ids`` with one batched generate; store results; returns ids done."""
    brand = brand or load_brand_facts(url)
    with session_scope(url) as session:
        rows = session.scalars(
            select(ReplyRequest).where(ReplyRequest.id.in_(list(ids)), ReplyRequest.status == "pending")
        ).all()
        pending = [(r.id, r.text, dict((r.result or {}).get("pending_refs", {}))) for r in rows]
    plans: list[tuple[int, ReplyPlan | None, str | None]] = []
    for rid, text, refs in pending:
        try:
            plan = load_reply_plan(
                text, brand=brand, url=url, item_ref=refs.get("item_ref"), user_ref=refs.get("user_ref"), k=k, m=m
            )
            plans.append((rid, plan, None))
        except ClientError as exc:  # a bad row fails alone; the rest of the batch goes on
            plans.append((rid, None, str(exc)))
    good = [(rid, plan) for rid, plan, _ in plans if plan is not None]
    completions = generate_for_plans(engine, [plan for _, plan in good])
    results: dict[int, tuple[str, dict[str, Any]]] = {}
    for (rid, plan), comps in zip(good, completions, strict=True):
        answer = finish_replies(
            plan, comps, similarity=similarity, model_version=engine.version, retriever=default_index()
        )
        payload = answer.to_dict() | {
            "flagged_injection": answer.flagged_injection,
            "fallbacks": [s.fallback for s in answer.suggestions],
            "model_version": answer.model_version,
        }
        results[rid] = ("done", payload)
    for rid, plan, error in plans:
        if plan is None:
            results[rid] = ("failed", {"error": error})
    with session_scope(url) as session:
        for rid, (status, payload) in results.items():
            row = session.get(ReplyRequest, rid)
            if row is not None and row.status == "pending":
                row.status, row.result = status, payload
    return sorted(rid for rid, (status, _) in results.items() if status == "done")


def chunked(ids: Sequence[int], size: int) -> list[list[int]]:
    """``ids`` in consecutive chunks of at most ``size``."""
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]
