"""Campaign exports cannot attack whoever opens them: formula cells neutralised, files private (0600 / 0700)."""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path

import pytest

from marketing_gen.campaigns.export import export_campaign
from marketing_gen.db import session_scope
from marketing_gen.db.models import Campaign, Draft, User
from marketing_gen.render import GOOGLE_ADS_COLUMNS

HOSTILE_TITLE = "=1+1 Candle Set"


def _seed(url: str) -> int:
    row = {c: "" for c in GOOGLE_ADS_COLUMNS} | {"Campaign": "spring", "Ad group": "@ag", "Headline 1": HOSTILE_TITLE}
    with session_scope(url) as s:
        user = User(external_id='=HYPERLINK("http://evil.example")', email="a@example.org", consent_email=True)
        campaign = Campaign(name="spring", channels=["google_ads_rsa", "email"])
        s.add_all([user, campaign])
        s.flush()
        s.add_all(
            [
                Draft(
                    campaign_id=campaign.id,
                    user_id=user.id,
                    channel="google_ads_rsa",
                    idempotency_key="k1",
                    status="ready",
                    fields={"headlines": [HOSTILE_TITLE, "-50% today"], "descriptions": ["+ more"]},
                    rendered={"target": "google_ads_csv", "data": {"row": row}},
                ),
                Draft(
                    campaign_id=campaign.id,
                    user_id=user.id,
                    channel="email",
                    idempotency_key="k2",
                    status="ready",
                    fields={"subject": "@you", "body": "\tTab"},
                    rendered={"target": "email_mime", "eml": "From: a@example.org\r\n\r\nhi\r\n"},
                ),
            ]
        )
        return campaign.id


def _cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def test_csv_exports_neutralise_formula_cells(db_url: str, tmp_path: Path) -> None:
    cid = _seed(db_url)
    (plain,) = export_campaign(cid, "csv", tmp_path, url=db_url)
    cells = _cells(plain)
    assert '\'=HYPERLINK("http://evil.example")' in cells
    assert f"'{HOSTILE_TITLE} | -50% today" in cells and "'@you" in cells and "'\tTab" in cells
    (ads,) = export_campaign(cid, "google-ads-csv", tmp_path, url=db_url)
    cells = _cells(ads)
    assert f"'{HOSTILE_TITLE}" in cells and "'@ag" in cells
    for cell in _cells(plain) + cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "google-ads-csv", "eml"])
def test_export_files_are_private(db_url: str, tmp_path: Path, fmt: str) -> None:
    cid = _seed(db_url)
    out = tmp_path / "new" / "exports"
    old = os.umask(0o022)
    try:
        paths = export_campaign(cid, fmt, out, url=db_url)
    finally:
        os.umask(old)
    assert paths
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


def test_a_stricter_umask_wins_and_an_existing_loose_file_is_tightened(db_url: str, tmp_path: Path) -> None:
    cid = _seed(db_url)
    loose = tmp_path / f"campaign_{cid}.jsonl"
    loose.write_text("old", encoding="utf-8")
    loose.chmod(0o666)
    (path,) = export_campaign(cid, "jsonl", tmp_path, url=db_url)
    assert path == loose and stat.S_IMODE(path.stat().st_mode) == 0o600
    old = os.umask(0o277)
    try:
        (strict,) = export_campaign(cid, "csv", tmp_path, url=db_url)  # a new file in an existing dir
    finally:
        os.umask(old)
    assert stat.S_IMODE(strict.stat().st_mode) == 0o400
