"""Migration 0004_ai_mark: existing drafts get their mark (fallback / model / human), and it downgrades cleanly."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from marketing_gen.db import MIGRATIONS_DIR, get_engine, upgrade


def test_backfill_and_downgrade(any_db_url: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", any_db_url.replace("%", "%%"))
    command.downgrade(cfg, "0003_recommender_runs")
    engine = get_engine(any_db_url)
    with engine.begin() as conn:
        assert "ai_mark" not in {c["name"] for c in inspect(conn).get_columns("drafts")}
        conn.execute(
            text(
                "INSERT INTO users (id, external_id, locale, attributes, consent_email, consent_sms, consent_push, "
                "consent_ads, unsubscribed_channels, suppressed, created_at, updated_at) VALUES (1, 'u1', 'en', '{}', "
                "true, false, false, false, '[]', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO campaigns (id, name, channels, segment, offer, variants, state, options, "
                "created_at) VALUES (1, 'c', '[]', '', '{}', 1, 'created', '{}', CURRENT_TIMESTAMP)"
            )
        )
        for i, (fallback, version) in enumerate([(True, "m"), (False, "m"), (False, None), (False, "m")], start=1):
            conn.execute(
                text(
                    "INSERT INTO drafts (id, campaign_id, user_id, channel, variant, idempotency_key, status, "
                    "violations, attempts, fallback, model_version, timings, created_at, updated_at) VALUES "
                    "(:id, 1, 1, 'email', :id, :key, 'generated', '[]', 1, :fb, :v, '{}', CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP)"
                ),
                {"id": i, "key": f"k{i}", "fb": fallback, "v": version},
            )
        conn.execute(
            text(
                "INSERT INTO review_actions (draft_id, campaign_id, actor, action, created_at) "
                "VALUES (4, 1, 'ann', 'edit', CURRENT_TIMESTAMP)"
            )
        )
    upgrade(any_db_url)
    with engine.connect() as conn:
        marks = dict(conn.execute(text("SELECT id, ai_mark FROM drafts ORDER BY id")).all())
    assert marks == {1: "fallback", 2: "model", 3: None, 4: "human"}
