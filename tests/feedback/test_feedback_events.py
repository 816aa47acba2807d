"""Event ingestion: dedup, unknown drafts, rejected rows, key-based resolution, file formats."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from marketing_gen.db import session_scope
from marketing_gen.db.models import Draft, FeedbackEvent
from marketing_gen.feedback.events import ingest_events, load_event_rows
from marketing_gen.feedback.simulate import seed_simulated_campaign


def _drafts(url: str, campaign_id: int) -> list[tuple[int, int, int, str, int]]:
    with session_scope(url) as s:
        q = select(Draft.id, Draft.campaign_id, Draft.user_id, Draft.channel, Draft.variant)
        return [tuple(r) for r in s.execute(q.where(Draft.campaign_id == campaign_id).order_by(Draft.id))]


def _count(url: str, **where: object) -> int:
    with session_scope(url) as s:
        q = select(func.count()).select_from(FeedbackEvent)
        for k, v in where.items():
            q = q.where(getattr(FeedbackEvent, k) == v)
        return s.scalar(q) or 0


def test_duplicates_are_counted_once_within_and_across_batches(any_db_url: str) -> None:
    cid = seed_simulated_campaign(3, url=any_db_url)
    (d1, *_), (d2, *_), _ = _drafts(any_db_url, cid)
    rows = [
        {"draft_id": d1, "event": "click", "timestamp": "2026-11-01T10:00:00Z"},
        {"draft_id": str(d1), "event": "CLICK", "timestamp": "2026-11-01T11:00:00+01:00"},  # same instant, same event
        {"draft_id": d2, "event": "open", "timestamp": 1_793_000_000},
        {"draft_id": d2, "event": "convert", "timestamp": "2026-11-01T12:00:00", "value": "19.90", "event_id": "ord-7"},
        {"draft_id": d1, "event": "convert", "timestamp": "2026-11-02T12:00:00", "event_id": "ord-7"},  # same id
    ]
    first = ingest_events(rows, url=any_db_url)
    assert (first.recorded, first.duplicates, first.unknown_drafts, first.rejected) == (3, 2, 0, 0)
    again = ingest_events(rows, url=any_db_url)
    assert (again.recorded, again.duplicates) == (0, 5)
    assert _count(any_db_url) == 3
    assert _count(any_db_url, event="click", draft_id=d1) == 1
    with session_scope(any_db_url) as s:
        conv = s.scalars(select(FeedbackEvent).where(FeedbackEvent.event == "convert")).one()
        assert conv.value == 19.90 and conv.draft_id == d2


def test_unknown_drafts_and_malformed_rows_are_reported_not_stored(any_db_url: str) -> None:
    cid = seed_simulated_campaign(2, url=any_db_url)
    (d1, _, u1, ch, var), (_, _, u2, _, _) = _drafts(any_db_url, cid)
    rows = [
        {"draft_id": 999_999, "event": "click", "timestamp": "2026-11-01T10:00:00Z"},
        {"campaign_id": cid, "user_id": u2, "channel": ch, "variant": 0, "event": "open", "timestamp": "2026-11-01"},
        {"campaign_id": cid, "user_id": u1, "channel": ch, "variant": var, "event": "open", "timestamp": "2026-11-01"},
        {"draft_id": d1, "event": "purchase", "timestamp": "2026-11-01"},
        {"draft_id": d1, "event": "open"},
        {"draft_id": d1, "event": "open", "timestamp": "yesterday"},
        {"event": "open", "timestamp": "2026-11-01"},
        {"draft_id": d1, "event": "click", "timestamp": "2026-11-01", "value": "lots"},
    ]
    report = ingest_events(rows, url=any_db_url)
    # u2 got variant 1 (index mod 2), so the key lookup with variant 0 names no draft.
    assert (report.recorded, report.duplicates, report.unknown_drafts, report.rejected) == (1, 0, 2, 5)
    assert len(report.errors) == 7
    assert any("999999" in e for e in report.errors)
    assert any("purchase" in e for e in report.errors)
    with session_scope(any_db_url) as s:
        stored = s.scalars(select(FeedbackEvent)).one()
        assert (stored.draft_id, stored.user_id, stored.event) == (d1, u1, "open")


def test_load_event_rows_reads_csv_jsonl_and_json(tmp_path: Path, db_url: str) -> None:
    cid = seed_simulated_campaign(1, url=db_url)
    ((d1, *_),) = _drafts(db_url, cid)
    (tmp_path / "e.csv").write_text(f"draft_id,event,timestamp,value\n{d1},sent,2026-11-01T09:00:00Z,\n")
    (tmp_path / "e.jsonl").write_text(json.dumps({"draft_id": d1, "event": "open", "timestamp": "2026-11-01T10:00Z"}))
    (tmp_path / "e.json").write_text(json.dumps([{"draft_id": d1, "event": "click", "timestamp": "2026-11-01T11:00Z"}]))
    for name in ("e.csv", "e.jsonl", "e.json"):
        assert ingest_events(load_event_rows(tmp_path / name), url=db_url).recorded == 1
    assert _count(db_url) == 3
