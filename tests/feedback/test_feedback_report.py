"""A/B report: figures against scipy on known counts; a planted better variant is found; the PNG is drawn."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from scipy.stats import binomtest, chi2_contingency

from marketing_gen.db import session_scope
from marketing_gen.db.models import Draft
from marketing_gen.feedback.events import ingest_events
from marketing_gen.feedback.report import build_report, format_report, render_report_png
from marketing_gen.feedback.simulate import seed_simulated_campaign, simulate_campaign_events


def _plant(url: str, campaign_id: int, clicks: dict[int, int], opens: dict[int, int]) -> None:
    """Exact counts: every draft sent; the first clicks[v] drafts of variant v clicked, first opens[v] opened."""
    with session_scope(url) as s:
        drafts = (
            s.execute(Draft.__table__.select().where(Draft.campaign_id == campaign_id).order_by(Draft.id))
            .mappings()
            .all()
        )
    seen: dict[int, int] = {}
    ts = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    rows = []
    for d in drafts:
        i = seen[d["variant"]] = seen.get(d["variant"], -1) + 1
        rows.append({"draft_id": d["id"], "event": "sent", "timestamp": ts})
        if i < opens[d["variant"]]:
            rows.append({"draft_id": d["id"], "event": "open", "timestamp": ts})
        if i < clicks[d["variant"]]:
            rows.append({"draft_id": d["id"], "event": "click", "timestamp": ts})
            rows.append({"draft_id": d["id"], "event": "click", "timestamp": ts + dt.timedelta(seconds=5)})
    assert ingest_events(rows, url=url).rejected == 0


def test_report_figures_match_scipy_on_known_counts(any_db_url: str) -> None:
    cid = seed_simulated_campaign(1200, url=any_db_url)  # 600 drafts per variant
    _plant(any_db_url, cid, clicks={0: 18, 1: 33}, opens={0: 150, 1: 160})
    report = build_report(cid, url=any_db_url)
    (email,) = report.channels
    control, variant = email.variants
    assert (control.sends, variant.sends) == (600, 600)
    # A second click on the same draft is one clicking draft, not two.
    assert (control.rates["click"].successes, variant.rates["click"].successes) == (18, 33)
    for v, k in ((control, 18), (variant, 33)):
        ci = binomtest(k, 600).proportion_ci(method="wilson")
        assert v.rates["click"].rate == pytest.approx(k / 600)
        assert (v.rates["click"].low, v.rates["click"].high) == pytest.approx((ci.low, ci.high), abs=1e-12)
    cmp_ = variant.vs_control["click"]
    _, p_chi, _, _ = chi2_contingency([[33, 567], [18, 582]], correction=False)
    assert cmp_.p_value == pytest.approx(p_chi, rel=1e-9)
    assert cmp_.diff == pytest.approx(15 / 600)
    assert cmp_.significant == (p_chi < 0.05)


def test_planted_better_variant_is_found(db_url: str, tmp_path: Path) -> None:
    cid = seed_simulated_campaign(4400, url=db_url)
    simulate_campaign_events(cid, {0: 0.03, 1: 0.06}, seed=3, url=db_url)
    report = build_report(cid, url=db_url)
    (email,) = report.channels
    assert [v.sends for v in email.variants] == [2200, 2200]
    assert email.winner == 1
    assert "variant 1 beats control" in email.verdict
    assert email.variants[1].vs_control["click"].prob_beat > 0.99
    assert email.thompson[1] > 0.99 and sum(email.thompson.values()) == pytest.approx(1.0)
    text = format_report(report)
    assert "variant 1 beats control" in text and "2,200" in text
    png = render_report_png(report, tmp_path / "report.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_equal_variants_are_not_called_a_win(db_url: str) -> None:
    cid = seed_simulated_campaign(2000, url=db_url)
    simulate_campaign_events(cid, {0: 0.04, 1: 0.04}, seed=11, url=db_url)
    (email,) = build_report(cid, url=db_url).channels
    assert email.winner is None
    assert "beats control" not in email.verdict
    assert 0.01 < email.thompson[1] < 0.99  # no certainty about equal arms


def test_simulating_twice_records_nothing_new(db_url: str) -> None:
    cid = seed_simulated_campaign(300, url=db_url)
    first = simulate_campaign_events(cid, {0: 0.1, 1: 0.2}, seed=5, url=db_url)
    again = simulate_campaign_events(cid, {0: 0.1, 1: 0.2}, seed=5, url=db_url)
    assert first.recorded > 300 and again.recorded == 0 and again.duplicates == first.recorded
