"""Signed tokens: round trip, tamper, expiry, purpose, key strength, key rotation, never-expiring unsubscribe."""

from __future__ import annotations

import pytest

from marketing_gen.config import OLD_DEFAULT_SECRET_KEY, Settings, link_settings_problems, secret_problems
from marketing_gen.errors import ConfigError, InvalidRequest
from marketing_gen.tokens import _b64encode, _mac, click_url, key_id, sign_token, unsubscribe_url, verify_token

KEY = "tokens-test-key-0123456789abcdefghijklmnopq"
OLD_KEY = "tokens-test-old-key-0123456789abcdefghijklm"
SETTINGS = Settings(secret_key=KEY, public_base_url="https://mail.example.com/", token_ttl_days=2)


def test_round_trip_keeps_payload() -> None:
    payload = {"purpose": "click", "draft_id": 42, "url": "https://shop.example.com/p/é?x=1&y=2"}
    token = sign_token(payload, SETTINGS)
    assert all(c.isalnum() or c in "-_." for c in token)
    assert token.split(".")[0] == key_id(KEY) and KEY not in token
    assert verify_token(token, SETTINGS, purpose="click") == payload


def test_tampered_payload_or_signature_is_rejected() -> None:
    token = sign_token({"purpose": "unsubscribe", "user_id": 1}, SETTINGS)
    kid, body, mac = token.split(".")
    forged = sign_token({"purpose": "unsubscribe", "user_id": 2}, SETTINGS).split(".")[1]
    for bad in (f"{kid}.{forged}.{mac}", f"{kid}.{body}.{mac[:-2]}AA", body, "", "a.b", f"{kid}.{body}.é", "a..b"):
        with pytest.raises(InvalidRequest):
            verify_token(bad, SETTINGS)


def test_other_secret_is_rejected() -> None:
    token = sign_token({"purpose": "click"}, SETTINGS)
    with pytest.raises(InvalidRequest, match="signature"):
        verify_token(token, Settings(secret_key="another-key-0123456789abcdefghijklmnopqrst"))


def test_expiry() -> None:
    token = sign_token({"purpose": "click"}, SETTINGS, now=1_000_000)
    assert verify_token(token, SETTINGS, now=1_000_000 + 2 * 86400 - 1) == {"purpose": "click"}
    with pytest.raises(InvalidRequest, match="expired"):
        verify_token(token, SETTINGS, now=1_000_000 + 2 * 86400 + 1)


def test_unsubscribe_tokens_never_expire() -> None:
    token = sign_token({"purpose": "unsubscribe", "user_id": 1, "channel": "email"}, SETTINGS, now=1_000_000)
    ten_years = 1_000_000 + 10 * 365 * 86400
    assert verify_token(token, SETTINGS, purpose="unsubscribe", now=ten_years)["user_id"] == 1


def test_a_click_token_without_expiry_is_refused() -> None:
    # Only unsubscribe tokens may lack exp; a validly signed click payload without one is not accepted.
    kid = key_id(KEY)
    body = _b64encode(b'{"draft_id":1,"purpose":"click","url":"https://x.example"}')
    with pytest.raises(InvalidRequest, match="no expiry"):
        verify_token(f"{kid}.{body}.{_mac(f'{kid}.{body}', KEY)}", SETTINGS)


def test_purpose_is_enforced() -> None:
    token = sign_token({"purpose": "click", "draft_id": 1}, SETTINGS)
    with pytest.raises(InvalidRequest, match="unsubscribe"):
        verify_token(token, SETTINGS, purpose="unsubscribe")


@pytest.mark.parametrize("weak", [None, OLD_DEFAULT_SECRET_KEY, "short-key", "é" * 15])
def test_default_missing_or_short_keys_refuse_to_sign_and_verify(weak: str | None) -> None:
    weak_settings = Settings(secret_key=weak, public_base_url="https://mail.example.com")
    assert secret_problems(weak_settings)
    with pytest.raises(ConfigError, match="MARKETING_GEN_SECRET_KEY"):
        sign_token({"purpose": "click"}, weak_settings)
    with pytest.raises(ConfigError, match="MARKETING_GEN_SECRET_KEY"):
        verify_token(sign_token({"purpose": "click"}, SETTINGS), weak_settings)


def test_the_default_setting_has_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MARKETING_GEN_SECRET_KEY", raising=False)
    monkeypatch.delenv("MARKETING_GEN_SECRET_KEYS", raising=False)
    assert Settings(_env_file=None).signing_keys == []  # type: ignore[call-arg]


def test_rotation_signs_with_newest_and_verifies_older(monkeypatch: pytest.MonkeyPatch) -> None:
    before = Settings(secret_key=OLD_KEY, public_base_url="https://mail.example.com")
    old_unsub = unsubscribe_url(before, user_id=7, channel="email").rsplit("/", 1)[1]
    old_click = click_url(before, draft_id=3, url="https://shop.example.com/p/1").rsplit("/", 1)[1]
    monkeypatch.setenv("MARKETING_GEN_SECRET_KEYS", f"{KEY}, {OLD_KEY}")
    rotated = Settings(_env_file=None, public_base_url="https://mail.example.com")  # type: ignore[call-arg]
    assert rotated.signing_keys == [KEY, OLD_KEY] and not secret_problems(rotated)
    assert verify_token(old_unsub, rotated, purpose="unsubscribe")["user_id"] == 7
    assert verify_token(old_click, rotated, purpose="click")["draft_id"] == 3
    new = sign_token({"purpose": "click"}, rotated)
    assert new.split(".")[0] == key_id(KEY)
    assert verify_token(new, SETTINGS) == {"purpose": "click"}
    with pytest.raises(InvalidRequest, match="unknown key id"):
        verify_token(old_unsub, SETTINGS)  # the old key retired: its links stop verifying


def test_rotation_list_rejects_a_weak_old_key() -> None:
    settings = Settings(secret_keys=[KEY, OLD_DEFAULT_SECRET_KEY], public_base_url="https://mail.example.com")
    assert any("SECRET_KEYS[1]" in p for p in secret_problems(settings))


def test_tokens_from_before_key_ids_still_verify() -> None:
    body = _b64encode(b'{"channel":"email","exp":4102444800,"purpose":"unsubscribe","user_id":5}')
    legacy = f"{body}.{_mac(body, KEY)}"
    assert verify_token(legacy, SETTINGS, purpose="unsubscribe")["user_id"] == 5
    with pytest.raises(InvalidRequest, match="signature"):
        verify_token(f"{body}.{_mac(body, OLD_KEY)}", SETTINGS)


@pytest.mark.parametrize(
    "url", ["http://localhost:8000", "http://127.0.0.1:8000/", "https://mg.localhost", "http://[::1]:8000", "nope"]
)
def test_link_settings_refuse_local_base_url_outside_the_demo(url: str) -> None:
    problems = link_settings_problems(Settings(secret_key=KEY, public_base_url=url))
    assert len(problems) == 1 and "MARKETING_GEN_PUBLIC_BASE_URL" in problems[0]
    demo = Settings(secret_key=KEY, public_base_url=url, embedded_demo=True)
    assert link_settings_problems(demo) == ([] if url != "nope" else problems)


def test_link_settings_ok() -> None:
    assert link_settings_problems(SETTINGS) == []
    assert len(link_settings_problems(Settings(public_base_url="http://localhost:8000"))) == 2


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
