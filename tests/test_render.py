"""Rendering: MIME email with CAN-SPAM footer and one-click unsubscribe, Google Ads rows, SMS, push, meta."""

from __future__ import annotations

import csv
import email
import io
from decimal import Decimal
from email import policy
from pathlib import Path

import pytest

from marketing_gen.config import Settings
from marketing_gen.contexts import BrandFacts, ItemFacts, PushDevice, UserContext
from marketing_gen.errors import InvalidRequest
from marketing_gen.render import GOOGLE_ADS_COLUMNS, google_ads_csv, render
from marketing_gen.tokens import verify_token

SETTINGS = Settings(public_base_url="https://mg.example.com", secret_key="render-secret-0123456789abcdefghijklmnop")
BRAND = BrandFacts(
    name="Acme Home",
    website_url="https://acme.example.com",
    postal_address="1 High Street, London N1 1AA, United Kingdom",
)
HOSTILE = '<script>alert("x")</script> {{ 7*7 }} Mug "Q" & \'s 😀 北欧'
ITEMS = (
    ItemFacts(1, "A1", HOSTILE, Decimal("2.55"), "GBP", url="https://acme.example.com/p/1"),
    ItemFacts(2, "A2", "JUMBO BAG RED RETROSPOT", None, "GBP"),
)
EMAIL_FIELDS = {
    "subject": "Anna, picked for you 😀",
    "preheader": "A few ideas we picked for you at Acme Home",
    "headline": "A <b>warm</b> light",
    "body": "Hello Anna!\nThe mug is {{ 7*7 }} nice.",
    "cta": "Take a look",
}


def ctx(brand: BrandFacts = BRAND, items: tuple[ItemFacts, ...] = ITEMS) -> UserContext:
    return UserContext(
        user_id=42,
        external_id="u42",
        first_name="Anna",
        locale="en-GB",
        country="GB",
        brand=brand,
        items=items,
        email="anna@example.org",
        phone="+447700900123",
        devices=(PushDevice("apns", "ab" * 32, "com.example.shop"), PushDevice("fcm", "fcm-token:" + "x" * 40)),
    )


def _email(settings: Settings = SETTINGS, context: UserContext | None = None):
    artifact = render("email", EMAIL_FIELDS, context or ctx(), draft_id=7, campaign_name="winter", settings=settings)
    # Decoded as UTF-8 first (as the pipeline stores it): SMTPUTF8 messages carry raw UTF-8 header bytes.
    return artifact, email.message_from_string(artifact.as_bytes().decode("utf-8"), policy=policy.default)


def test_email_is_multipart_alternative_with_one_click_unsubscribe() -> None:
    artifact, msg = _email()
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Subject"] == "Anna, picked for you 😀" and "anna@example.org" in msg["To"]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = msg["List-Unsubscribe"]
    assert header.startswith("<https://mg.example.com/u/") and header.endswith(">")
    token = header[1:-1].rsplit("/", 1)[1]
    assert verify_token(token, SETTINGS, purpose="unsubscribe") == {
        "purpose": "unsubscribe",
        "user_id": 42,
        "channel": "email",
        "draft_id": 7,
    }
    assert artifact.data["unsubscribe_url"] == header[1:-1]
    assert all(len(line) <= 998 for line in artifact.as_bytes().split(b"\r\n"))


def test_can_spam_footer_in_both_parts() -> None:
    artifact, msg = _email()
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    unsubscribe = artifact.data["unsubscribe_url"]
    for part in (text, html):
        assert "1 High Street, London N1 1AA, United Kingdom" in part
        assert unsubscribe in part
    assert "A few ideas we picked for you at Acme Home" in html  # preheader


def test_html_escapes_hostile_titles_and_never_evaluates_copy() -> None:
    _, msg = _email()
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;warm&lt;/b&gt;" in html
    assert "{{ 7*7 }}" in html and "{{ 7*7 }}" in text and "is 49 nice" not in text and "49 Mug" not in text
    assert "😀 北欧" in html and "😀 北欧" in text


def test_item_links_go_through_signed_click_tracking() -> None:
    _, msg = _email()
    html = msg.get_body(("html",)).get_content()
    links = [chunk.split('"', 1)[0] for chunk in html.split('href="')[1:]]
    clicks = [link for link in links if "/c/" in link]
    assert clicks and all(link.startswith("https://mg.example.com/c/") for link in clicks)
    payload = verify_token(clicks[0].rsplit("/", 1)[1], SETTINGS, purpose="click")
    assert payload == {"purpose": "click", "draft_id": 7, "url": "https://acme.example.com/p/1"}
    assert "acme.example.com/p/1" not in html  # never the raw item link


def test_email_without_postal_address_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="postal"):
        _email(context=ctx(brand=BrandFacts(name="Acme Home")))


def test_output_templates_can_be_overridden(tmp_path: Path) -> None:
    (tmp_path / "output").mkdir()
    (tmp_path / "output" / "email.txt.j2").write_text("Custom {{ headline }} {{ unsubscribe_link }}", encoding="utf-8")
    _, msg = _email(settings=SETTINGS.model_copy(update={"user_templates_dir": tmp_path}))
    assert msg.get_body(("plain",)).get_content().startswith("Custom A <b>warm</b> light https://mg.example.com/u/")


def test_google_ads_editor_row_and_csv() -> None:
    fields = {
        "headlines": ["Warm Light", "Soft Glow", "Picked For You"],
        "descriptions": ["One.", "Two."],
        "path1": "lights",
        "path2": "",
    }
    artifact = render("google_ads_rsa", fields, ctx(), draft_id=1, campaign_name="winter", settings=SETTINGS)
    row = artifact.data["row"]
    assert list(row) == list(GOOGLE_ADS_COLUMNS)
    assert GOOGLE_ADS_COLUMNS[:3] == ("Campaign", "Ad group", "Headline 1")
    assert GOOGLE_ADS_COLUMNS[-3:] == ("Path 1", "Path 2", "Final URL") and len(GOOGLE_ADS_COLUMNS) == 24
    assert (row["Campaign"], row["Headline 3"], row["Headline 4"], row["Description 2"]) == (
        "winter",
        "Picked For You",
        "",
        "Two.",
    )
    assert row["Path 1"] == "lights" and row["Final URL"] == "https://acme.example.com/p/1"
    parsed = list(csv.DictReader(io.StringIO(google_ads_csv([row, row]))))
    assert len(parsed) == 2 and parsed[0]["Headline 1"] == "Warm Light"


def test_google_ads_final_url_falls_back_to_brand_website() -> None:
    items = (ItemFacts(2, "A2", "Bag", None, "GBP"),)
    row = render(
        "google_ads_rsa",
        {"headlines": [], "descriptions": []},
        ctx(items=items),
        draft_id=1,
        campaign_name="c",
        settings=SETTINGS,
    ).data["row"]
    assert row["Final URL"] == "https://acme.example.com"


def test_sms_artifact_counts_segments() -> None:
    data = render(
        "sms",
        {"text": "Acme Home: hi 😀. Reply STOP to opt out"},
        ctx(),
        draft_id=1,
        campaign_name="c",
        settings=SETTINGS,
    ).data
    assert (data["encoding"], data["segments"], data["to"]) == ("UCS-2", 1, "+447700900123")


def test_push_payloads_apns_and_fcm_under_4096_bytes() -> None:
    artifact = render(
        "push",
        {"title": "Picked for you", "body": "A warm light."},
        ctx(),
        draft_id=9,
        campaign_name="c",
        settings=SETTINGS,
    )
    apns, fcm = artifact.data["apns"], artifact.data["fcm"]
    assert apns["aps"]["alert"] == {"title": "Picked for you", "body": "A warm light."}
    assert fcm["message"]["notification"]["title"] == "Picked for you" and fcm["message"]["data"]["draft_id"] == "9"
    assert verify_token(apns["url"].rsplit("/", 1)[1], SETTINGS, purpose="click")["draft_id"] == 9
    assert 0 < artifact.data["bytes"]["apns"] <= 4096 and 0 < artifact.data["bytes"]["fcm"] <= 4096
    with pytest.raises(InvalidRequest, match="4096"):
        render("push", {"title": "t", "body": "é" * 3000}, ctx(), draft_id=9, campaign_name="c", settings=SETTINGS)


def test_meta_and_social_reply_are_plain_dicts() -> None:
    meta = render(
        "meta_ad",
        {"primary_text": "p", "headline": "h", "description": "d"},
        ctx(),
        draft_id=1,
        campaign_name="c",
        settings=SETTINGS,
    )
    assert meta.data["primary_text"] == "p" and meta.data["link"] == "https://acme.example.com/p/1"
    assert meta.as_bytes().startswith(b"{")
    reply = render("social_reply", {"text": "Thanks!"}, ctx(), draft_id=None, campaign_name="c", settings=SETTINGS)
    assert reply.data == {"text": "Thanks!", "ai_mark": "model"}


def test_google_ads_csv_neutralises_formula_cells() -> None:
    row = {c: "" for c in GOOGLE_ADS_COLUMNS} | {"Campaign": "winter", "Headline 1": "=1+1 Candle Set"}
    cells = next(csv.DictReader(io.StringIO(google_ads_csv([row]))))
    assert cells["Headline 1"] == "'=1+1 Candle Set" and cells["Campaign"] == "winter"


ATTACK = "{{ cycler.__init__.__globals__.os.popen('touch %s').read() }}"


def test_user_templates_cannot_run_commands(tmp_path: Path) -> None:
    import jinja2

    from marketing_gen.prompts import build_prompt

    marker = tmp_path / "pwned"
    user_dir = tmp_path / "user_templates"
    (user_dir / "output").mkdir(parents=True)
    (user_dir / "prompts").mkdir()
    (user_dir / "output" / "email.txt.j2").write_text(ATTACK % marker, encoding="utf-8")
    (user_dir / "prompts" / "sms.j2").write_text(ATTACK % marker + "\n@@USER@@\n{{ data }}\n", encoding="utf-8")
    settings = SETTINGS.model_copy(update={"user_templates_dir": user_dir})
    with pytest.raises(InvalidRequest, match="sandbox"):
        _email(settings=settings)
    with pytest.raises(jinja2.exceptions.SecurityError):
        build_prompt(ctx(), "sms", settings=settings)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("address", "to", "smtputf8"),
    [
        ("anna@example.org", "anna@example.org", False),
        ("josé.1@example.net", "josé.1@example.net", True),  # Latin
        ("user@bücher.example", "user@xn--bcher-kva.example", False),  # IDN domain only: ASCII form, plain SMTP
        ("пользователь@пример.рф", "пользователь@xn--e1afmkfd.xn--p1ai", True),  # Cyrillic
        ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v", True),  # Han
        ("θσερ@εχαμπλε.ψομ", "θσερ@xn--mxahbxey0c.xn--xxaf0a", True),  # Greek
        ("मानक@example.in", "मानक@example.in", True),  # Devanagari
    ],
)
def test_internationalised_addresses_render(address: str, to: str, smtputf8: bool) -> None:
    from dataclasses import replace

    artifact, msg = _email(context=replace(ctx(), email=address))
    raw = artifact.as_bytes()
    assert artifact.data["smtputf8"] is smtputf8
    assert msg["To"].addresses[0].addr_spec == to
    assert raw.isascii() is not smtputf8  # only SMTPUTF8 messages carry raw UTF-8 headers
    assert msg["To"].addresses[0].display_name == "Anna"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_an_address_that_is_no_address_fails_with_a_clear_reason() -> None:
    from dataclasses import replace

    with pytest.raises(InvalidRequest, match="not valid"):
        _email(context=replace(ctx(), email="Pelé <x>"))


def test_an_smtputf8_message_is_accepted_by_a_real_smtp_server() -> None:
    import smtplib
    from dataclasses import replace

    from aiosmtpd.controller import Controller

    class Inbox:
        envelopes: list = []  # type: ignore[type-arg]

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
            self.envelopes.append(envelope)
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    try:
        artifact, msg = _email(context=replace(ctx(), email="josé.1@example.net"))
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.ehlo()
            assert smtp.has_extn("smtputf8")
            smtp.sendmail("no-reply@acme.example.com", ["josé.1@example.net"], artifact.as_bytes(), ["SMTPUTF8"])
    finally:
        controller.stop()
    (envelope,) = inbox.envelopes
    assert envelope.rcpt_tos == ["josé.1@example.net"] and envelope.smtp_utf8
    assert "To: Anna <josé.1@example.net>" in envelope.content.decode("utf-8")


@pytest.mark.parametrize(("mark", "generated"), [("model", "yes"), ("fallback", "no"), ("human", "no")])
def test_every_artifact_carries_the_ai_mark(mark: str, generated: str) -> None:
    artifact = render("email", EMAIL_FIELDS, ctx(), draft_id=7, campaign_name="w", settings=SETTINGS, ai_mark=mark)
    msg = email.message_from_bytes(artifact.as_bytes(), policy=policy.default)
    assert msg["X-AI-Generated"] == generated and msg["X-AI-Content-Origin"] == mark
    assert artifact.data["ai_mark"] == mark and artifact.data["headers"]["X-AI-Generated"] == generated
    for channel, fields in (("sms", {"text": "Acme: hi. STOP to opt out"}), ("social_reply", {"text": "Thanks!"})):
        other = render(channel, fields, ctx(), draft_id=1, campaign_name="w", settings=SETTINGS, ai_mark=mark)
        assert other.data["ai_mark"] == mark


def test_unknown_ai_mark_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="ai_mark"):
        render("sms", {"text": "x"}, ctx(), draft_id=1, campaign_name="w", settings=SETTINGS, ai_mark="robot")


def test_email_and_push_with_localhost_links_are_refused_outside_the_demo() -> None:
    from marketing_gen.errors import ConfigError

    local = SETTINGS.model_copy(update={"public_base_url": "http://localhost:8000"})
    for channel, fields in (("email", EMAIL_FIELDS), ("push", {"title": "t", "body": "b"})):
        with pytest.raises(ConfigError, match="MARKETING_GEN_PUBLIC_BASE_URL"):
            render(channel, fields, ctx(), draft_id=1, campaign_name="w", settings=local)
    demo = local.model_copy(update={"embedded_demo": True})
    artifact = render("email", EMAIL_FIELDS, ctx(), draft_id=1, campaign_name="w", settings=demo)
    assert artifact.data["unsubscribe_url"].startswith("http://localhost:8000/u/")
    weak = SETTINGS.model_copy(update={"secret_key": "short"})
    with pytest.raises(ConfigError, match="MARKETING_GEN_SECRET_KEY"):
        render("email", EMAIL_FIELDS, ctx(), draft_id=1, campaign_name="w", settings=weak)
