"""Batch replies: file → reply_requests rows → one batched generate → results stored (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import ScriptedEngine
from sqlalchemy import select

from marketing_gen.db import session_scope
from marketing_gen.db.models import ReplyRequest
from marketing_gen.errors import InvalidRequest
from marketing_gen.replies.batch import answer_reply_requests, insert_reply_requests, load_comments
from marketing_gen.replies.similarity import LexicalSimilarity

REPLY = "Thanks for reaching out! Send us a DM with your order number and we'll take a look."


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "comments.jsonl"
    rows = [
        {"id": "c1", "text": "Where is my parcel? It is late."},
        {"id": "c2", "text": "Love the new blender, thanks!"},
        {"id": "c3", "text": "you are useless idiots"},
        {"id": "c4", "text": "Is it any good?", "item_id": "missing-item"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path


def test_batch_answers_and_stores(any_db_url: str, tmp_path: Path) -> None:
    rows = load_comments(_write(tmp_path))
    ids = insert_reply_requests(rows, url=any_db_url)
    assert insert_reply_requests(rows, url=any_db_url) == ids  # idempotent by external id
    engine = ScriptedEngine(default=REPLY)
    done = answer_reply_requests(ids, engine, url=any_db_url, similarity=LexicalSimilarity())
    assert len(engine.calls) == 1  # one batched generate for the two answerable comments
    assert len(engine.calls[0].prompts) == 8  # 2 comments × 4 intent prompts
    assert sorted(done) == sorted(ids[:3])
    with session_scope(any_db_url) as session:
        stored = {r.external_id: (r.status, r.result) for r in session.scalars(select(ReplyRequest))}
    assert stored["c1"][0] == "done" and len(stored["c1"][1]["suggestions"]) == 3
    # stored results carry the same AI labels as the API's answers
    assert all(
        s["label"] and s["ai_mark"] in ("model", "fallback", "retrieved") for s in stored["c1"][1]["suggestions"]
    )
    assert stored["c1"][1]["ai_generated"] == any(s["ai_mark"] == "model" for s in stored["c1"][1]["suggestions"])
    assert stored["c3"][1]["escalate"] is True and stored["c3"][1]["suggestions"] == []
    assert stored["c4"][0] == "failed" and "missing-item" in stored["c4"][1]["error"]
    # answering again is a no-op: nothing pending
    assert answer_reply_requests(ids, engine, url=any_db_url, similarity=LexicalSimilarity()) == []
    assert len(engine.calls) == 1


def test_csv_and_bad_files(tmp_path: Path) -> None:
    csv_path = tmp_path / "c.csv"
    csv_path.write_text('external_id,text\nx1,"hello, multi\nline"\n', encoding="utf-8")
    assert load_comments(csv_path)[0]["text"] == "hello, multi\nline"
    bad = tmp_path / "c.txt"
    bad.write_text("x", encoding="utf-8")
    with pytest.raises(InvalidRequest):
        load_comments(bad)
    empty = tmp_path / "e.jsonl"
    empty.write_text('{"text": ""}\n', encoding="utf-8")
    with pytest.raises(InvalidRequest, match="no 'text'"):
        load_comments(empty)
