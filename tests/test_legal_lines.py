"""Legal lines per language: email footer, unsubscribe page, SMS opt-out, push and ads disclaimers."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from marketing_gen.channels import sms
from marketing_gen.channels.legal import (
    ADS_DISCLAIMER_MAX,
    KEYS,
    LEGAL_LANGUAGES,
    PUSH_DISCLAIMER_MAX,
    legal_lines,
)
from marketing_gen.config import Settings, get_settings
from marketing_gen.contexts import BrandFacts, ItemFacts, PushDevice, UserContext
from marketing_gen.render import render

SETTINGS = Settings(public_base_url="https://mg.example.com", secret_key="legal-lines-test-secret-0123456789abcdef")
BRAND = BrandFacts(name="Northwind Outfitters", postal_address="12 Harbour Street, Bristol", website_url="https://s.ex")


def _ctx(locale: str) -> UserContext:
    item = ItemFacts(1, "sku", "Enamel Camp Mug", Decimal("12"), "EUR", url="https://s.ex/p/1")
    return UserContext(
        1,
        "u1",
        "Anna",
        locale,
        None,
        BRAND,
        items=(item,),
        email="anna@example.com",
        phone="+4915123456001",
        devices=(PushDevice("fcm", "f" * 40),),
    )


def test_ten_languages_have_every_line() -> None:
    assert set(LEGAL_LANGUAGES) >= {"en", "de", "fr", "es", "nl", "it", "pt", "pl", "sv", "ja"}
    english = legal_lines("en").lines
    for language in LEGAL_LANGUAGES:
        legal = legal_lines(f"{language}-XX")
        assert legal.language == language
        assert set(legal.lines) == set(KEYS)
        if language != "en":  # every line is translated, none silently English
            same = [k for k in KEYS if legal.lines[k] == english[k]]
            assert same == [], (language, same)


@pytest.mark.parametrize("language", LEGAL_LANGUAGES)
def test_lines_fill_and_fit_their_channel(language: str) -> None:
    legal = legal_lines(language)
    for key in KEYS:
        text = legal.fill(key, brand="Northwind Outfitters", label=legal.label("email"), address="a•••@example.com")
        assert text.strip() and not re.search(r"[{}]", text), (language, key)
    assert len(legal.lines["push_disclaimer"]) <= PUSH_DISCLAIMER_MAX
    assert len(legal.lines["ads_disclaimer"]) <= ADS_DISCLAIMER_MAX
    # the SMS line: with the brand and a typical message it stays one segment, in GSM-7 for Latin scripts
    text = sms.finalize_text(
        "Our enamel camp mugs are back in stock, in four colours", "Northwind Outfitters", language
    )
    info = sms.sms_info(text)
    assert text.endswith(legal.sms_opt_out)
    assert info.segments == 1 or (language == "ja" and info.segments <= 2)
    assert info.encoding == ("UCS-2" if language == "ja" else "GSM-7")


@pytest.mark.parametrize("language", LEGAL_LANGUAGES)
def test_email_footer_and_push_disclaimer_are_in_the_readers_language(language: str) -> None:
    legal = legal_lines(language)
    fields = {"subject": "Mugs", "preheader": "p" * 40, "headline": "Mugs", "body": "Body.", "cta": "Shop"}
    email = render("email", fields, _ctx(language), draft_id=3, campaign_name="c", settings=SETTINGS)
    reason = legal.fill("email_reason", brand=BRAND.name)
    assert reason in email.data["text"] and legal.lines["email_unsubscribe"] + ":" in email.data["text"]
    assert f'<html lang="{language}">' in email.data["html"]
    push = render("push", {"title": "Mugs", "body": "Back"}, _ctx(language), draft_id=3, campaign_name="c",
                  settings=SETTINGS)  # fmt: skip
    assert push.data["apns"]["disclaimer"] == legal.lines["push_disclaimer"]
    assert push.data["fcm"]["message"]["data"]["disclaimer"] == legal.lines["push_disclaimer"]
    assert max(push.data["bytes"].values()) <= 4096
    meta = render("meta_ad", {"primary_text": "t", "headline": "h", "description": "d"}, _ctx(language), draft_id=3,
                  campaign_name="c", settings=SETTINGS)  # fmt: skip
    assert meta.data["disclaimer"] == legal.lines["ads_disclaimer"]


def test_unknown_language_and_missing_keys_fall_back_to_english(tmp_path: Path) -> None:
    assert legal_lines("tr-TR").language == "en"
    (tmp_path / "output" / "legal").mkdir(parents=True)
    (tmp_path / "output" / "legal" / "de.j2").write_text('{% set lines = {"email_unsubscribe": "Austragen"} %}')
    settings = Settings(user_templates_dir=tmp_path)
    legal = legal_lines("de", settings)
    assert legal.lines["email_unsubscribe"] == "Austragen"  # the store's override
    assert legal.lines["email_reason"] == legal_lines("en").lines["email_reason"]  # key it left out: English


def test_unsubscribe_page_speaks_the_users_language(settings_env: None) -> None:
    from marketing_gen.api import create_app
    from marketing_gen.db import session_scope
    from marketing_gen.db.models import Brand, User
    from marketing_gen.tokens import unsubscribe_url

    settings = get_settings()
    with session_scope(settings.database_url) as s:
        s.add(Brand(name="Northwind Outfitters", postal_address="12 Harbour Street"))
        user = User(external_id="lena", email="lena@example.de", locale="de-DE", consent_email=True)
        s.add(user)
        s.flush()
        user_id = user.id
    path = "/" + unsubscribe_url(settings, user_id=user_id, channel="email", draft_id=None).split("/", 3)[3]
    with TestClient(create_app(settings)) as client:
        page = client.get(path)
        assert page.status_code == 200
        assert '<html lang="de">' in page.text and "Abmelden?" in page.text
        assert "Keine Werbe-E-Mails von Northwind Outfitters mehr an l•••@example.de senden?" in page.text
        done = client.post(path)
        assert "Sie sind abgemeldet" in done.text and "erhält keine Werbe-E-Mails" in done.text
