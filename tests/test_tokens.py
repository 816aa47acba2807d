"""Signed, expiring tokens: round trip, tamper, expiry, purpose, secret."""

from __future__ import annotations

import pytest

from marketing_gen.config import Settings
from marketing_gen.errors import InvalidRequest
from marketing_gen.tokens import click_url, sign_token, unsubscribe_url, verify_token

SETTINGS = Settings(secret_key="s3cret", public_base_url="https://mail.example.com/", token_ttl_days=2)


def test_round_trip_keeps_payload() -> None:
    payload = {"purpose": "click", "draft_id": 42, "url": "https://shop.example.com/p/é?x=1&y=2"}
    token = sign_token(payload, SETTINGS)
    assert all(c.isalnum() or c in "-_." for c in token)
    assert verify_token(token, SETTINGS, purpose="click") == payload


def test_tampered_payload_or_signature_is_rejected() -> None:
    token = sign_token({"purpose": "unsubscribe", "user_id": 1}, SETTINGS)
    body, mac = token.split(".")
    forged = sign_token({"purpose": "unsubscribe", "user_id": 2}, SETTINGS).split(".")[0]
    for bad in (f"{forged}.{mac}", f"{body}.{mac[:-2]}AA", body, "", "a.b", f"{body}.é"):
        with pytest.raises(InvalidRequest):
            verify_token(bad, SETTINGS)


def test_other_secret_is_rejected() -> None:
    token = sign_token({"purpose": "click"}, SETTINGS)
    with pytest.raises(InvalidRequest, match="signature"):
        verify_token(token, Settings(secret_key="other"))


def test_expiry() -> None:
    token = sign_token({"purpose": "click"}, SETTINGS, now=1_000_000)
    assert verify_token(token, SETTINGS, now=1_000_000 + 2 * 86400 - 1) == {"purpose": "click"}
    with pytest.raises(InvalidRequest, match="expired"):
        verify_token(token, SETTINGS, now=1_000_000 + 2 * 86400 + 1)


def test_purpose_is_enforced() -> None:
    token = sign_token({"purpose": "click", "draft_id": 1}, SETTINGS)
    with pytest.raises(InvalidRequest, match="unsubscribe"):
        verify_token(token, SETTINGS, purpose="unsubscribe")


def test_link_helpers_use_public_base_url() -> None:
    u = unsubscribe_url(SETTINGS, user_id=7, channel="email", draft_id=3)
    assert u.startswith("https://mail.example.com/u/")
    assert verify_token(u.rsplit("/", 1)[1], SETTINGS, purpose="unsubscribe") == {
        "purpose": "unsubscribe",
        "user_id": 7,
        "channel": "email",
        "draft_id": 3,
    }
    c = click_url(SETTINGS, draft_id=3, url="https://shop.example.com/p/1")
    assert verify_token(c.rsplit("/", 1)[1], SETTINGS)["url"] == "https://shop.example.com/p/1"
