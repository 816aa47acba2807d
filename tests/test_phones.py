"""Phones at import: national formats read in the user's country → E.164; invalid numbers are row errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from marketing_gen.db import session_scope
from marketing_gen.db.models import User
from marketing_gen.importers import import_file
from marketing_gen.importers.phones import region_of, to_e164

# (country column as users write it, the number as typed, E.164): 30 formats, 16 countries.
NATIONAL = [
    ("United Kingdom", "020 7183 8750", "+442071838750"),
    ("GB", "07400 123456", "+447400123456"),
    ("United Kingdom", "0161 234 5678", "+441612345678"),
    ("US", "(415) 876-5432", "+14158765432"),
    ("United States", "415.876.5432", "+14158765432"),
    ("US", "1-415-876-5432", "+14158765432"),
    ("Germany", "030 1234567", "+49301234567"),
    ("Deutschland", "(030) 12345678", "+493012345678"),
    ("DE", "0151 23456789", "+4915123456789"),
    ("Germany", "0049 30 1234567", "+49301234567"),
    ("France", "01 23 45 67 89", "+33123456789"),
    ("France", "06 12 34 56 78", "+33612345678"),
    ("FR", "0612345678", "+33612345678"),
    ("Spain", "912 345 678", "+34912345678"),
    ("España", "600 123 456", "+34600123456"),
    ("Italy", "06 1234 5678", "+390612345678"),  # Italian fixed lines keep their leading 0
    ("Italia", "312 345 6789", "+393123456789"),
    ("Netherlands", "020 123 4567", "+31201234567"),
    ("Nederland", "06 12345678", "+31612345678"),
    ("Japan", "03-1234-5678", "+81312345678"),
    ("日本", "090-1234-5678", "+819012345678"),
    ("Switzerland", "044 668 18 00", "+41446681800"),
    ("Schweiz", "078 123 45 67", "+41781234567"),
    ("Austria", "0660 1234567", "+436601234567"),
    ("Sweden", "08-123 456 78", "+46812345678"),
    ("Sverige", "070-123 45 67", "+46701234567"),
    ("Poland", "512 345 678", "+48512345678"),
    ("Brazil", "(11) 91234-5678", "+5511912345678"),
    ("Australia", "0412 345 678", "+61412345678"),
    ("Ireland", "085 123 4567", "+353851234567"),
]


def test_the_table_covers_twenty_formats_from_eight_countries() -> None:
    assert len(NATIONAL) >= 20
    assert len({region_of(c) for c, _, _ in NATIONAL}) >= 8


@pytest.mark.parametrize(("country", "typed", "e164"), NATIONAL)
def test_national_formats_become_e164(country: str, typed: str, e164: str) -> None:
    assert to_e164(typed, region_of(country)) == e164


def test_region_from_code_name_or_locale() -> None:
    assert region_of("gb") == "GB"
    assert region_of("Allemagne") == "DE"
    assert region_of("UK") == "GB"
    assert region_of(None, "de-AT") == "AT"
    assert region_of("Atlantis", "pt_BR") == "BR"
    assert region_of(None, "de") is None


@pytest.mark.parametrize(
    ("typed", "region", "why"),
    [
        ("0151 234", "DE", "not a valid number in DE"),  # too short
        ("07700 900123", "GB", "not a valid number in GB"),  # Ofcom's fictional range: never deliverable
        ("030 1234567", None, "no country code and the user has no country"),
        ("+1 555 0100", None, "not a valid number"),
    ],
)
def test_invalid_numbers_are_refused_with_the_reason(typed: str, region: str | None, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        to_e164(typed, region)


def test_import_stores_e164_and_rejects_bad_phones_with_their_row(tmp_path: Path, db_url: str) -> None:
    lines = ["user_id,email,locale,country,phone"]
    for i, (country, typed, _) in enumerate(NATIONAL):
        lines.append(f'p{i},p{i}@example.com,en,{country},"{typed}"')
    lines += [
        "bad1,b1@example.com,de,Germany,0151 234",  # row 32
        "bad2,b2@example.com,en,,030 1234567",  # row 33: national number, no country, no locale region
        "ok-locale,ok@example.com,de-AT,,0660 1234567",  # row 34: region from the locale
        "bad3,b3@example.com,en,United Kingdom,not-a-phone",  # row 35
    ]
    path = tmp_path / "users.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_file("users", path, url=db_url)
    assert report.imported == len(NATIONAL) + 1
    assert report.rejected == 3
    assert {(e.row, e.field) for e in report.errors} == {(32, "phone"), (33, "phone"), (35, "phone")}
    assert "0151 234" in next(e.reason for e in report.errors if e.row == 32)
    with session_scope(db_url) as s:
        stored = dict(s.execute(select(User.external_id, User.phone)).all())
    assert stored == {**{f"p{i}": e164 for i, (_, _, e164) in enumerate(NATIONAL)}, "ok-locale": "+436601234567"}
