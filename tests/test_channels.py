"""Channel specs: fields, limits, templates, unknown names."""

from __future__ import annotations

import pytest

from marketing_gen.channels import all_channels, consent_flags, copy_channels, get_channel, marketing_channels
from marketing_gen.channels.push import build_apns, build_fcm, payload_bytes
from marketing_gen.errors import InvalidRequest

CHANNELS = ("email", "google_ads_rsa", "meta_ad", "sms", "push", "social_reply")


def test_every_channel_has_a_spec_in_order() -> None:
    assert tuple(all_channels()) == CHANNELS
    assert marketing_channels() == CHANNELS[:-1]  # social replies need no marketing consent
    assert consent_flags() == ("email", "ads", "sms", "push")


def test_every_consent_flag_has_its_columns_and_import_field() -> None:
    """A channel's own consent flag needs ``users.consent_<flag>`` (+ ``_at``, ``_source``: its migration); the
    importer reads its ``<flag>_consent`` column from the registry, with no change of its own."""
    from marketing_gen.db.models import User
    from marketing_gen.importers.rows import UserRow

    row = UserRow.model_validate({"user_id": "u1", **{f"{flag}_consent": "yes" for flag in consent_flags()}})
    for flag in consent_flags():
        for suffix in ("", "_at", "_source"):
            assert f"consent_{flag}{suffix}" in User.__table__.c, flag
        assert row.consents[flag] is True, flag
    with pytest.raises(ValueError, match="sms_consent"):
        UserRow.model_validate({"user_id": "u1", "sms_consent": "perhaps"})


def test_unknown_channel_lists_valid_names() -> None:
    with pytest.raises(InvalidRequest) as exc:
        get_channel("fax")
    for name in CHANNELS:
        assert name in str(exc.value)


@pytest.mark.parametrize(
    ("channel", "field", "max_len"),
    [
        ("email", "subject", 60),
        ("email", "preheader", 100),
        ("google_ads_rsa", "headlines", 30),
        ("google_ads_rsa", "descriptions", 90),
        ("google_ads_rsa", "path1", 15),
        ("google_ads_rsa", "path2", 15),
        ("meta_ad", "primary_text", 125),
        ("meta_ad", "headline", 40),
        ("meta_ad", "description", 30),
        ("push", "title", 40),
        ("push", "body", 110),
        ("social_reply", "text", 280),
    ],
)
def test_hard_limits(channel: str, field: str, max_len: int) -> None:
    assert get_channel(channel).field(field).max_len == max_len


def test_rsa_counts_and_list_kinds() -> None:
    spec = get_channel("google_ads_rsa")
    assert (spec.field("headlines").min_count, spec.field("headlines").max_count) == (3, 15)
    assert (spec.field("descriptions").min_count, spec.field("descriptions").max_count) == (2, 4)
    assert spec.parse_spec()["headlines"] == "list"
    assert spec.field("headlines").prompt_tag == "HEADLINE"


def test_spec_is_frozen_and_field_lookup_fails_clearly() -> None:
    spec = get_channel("email")
    with pytest.raises(AttributeError):
        spec.name = "x"  # type: ignore[misc]
    with pytest.raises(InvalidRequest, match="subject"):
        spec.field("nope")


def test_templates_exist_for_every_channel() -> None:
    from marketing_gen.config import Settings

    root = Settings().templates_dir
    assert copy_channels() == CHANNELS[:-1]  # social replies are written by marketing_gen.replies
    for name in copy_channels():
        spec = get_channel(name)
        assert (root / spec.prompt_template).is_file(), spec.prompt_template
        assert (root / spec.fallback_template).is_file(), spec.fallback_template
    reply = get_channel("social_reply")
    assert not (reply.prompt_template or reply.fallback_template)
    assert not list(root.rglob("*social_reply*"))  # no template serving never uses


def test_a_channel_without_a_prompt_is_not_written_by_the_copywriter() -> None:
    from marketing_gen.contexts import BrandFacts, UserContext
    from marketing_gen.prompts import build_prompt

    context = UserContext(1, "u1", None, "en", None, BrandFacts(name="Acme"))
    with pytest.raises(InvalidRequest, match="marketing_gen.replies"):
        build_prompt(context, "social_reply")


def test_push_payloads_are_json_sized_in_utf8_bytes() -> None:
    apns = build_apns("Hi", "ü" * 10, url="https://x.test/c/t")
    assert apns["aps"]["alert"] == {"title": "Hi", "body": "ü" * 10}
    assert payload_bytes(apns) > payload_bytes(build_apns("Hi", "u" * 10, url="https://x.test/c/t"))
    fcm = build_fcm("Hi", "Body", data={"draft_id": 7})
    assert fcm["message"]["data"] == {"draft_id": "7"}
