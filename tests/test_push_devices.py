"""Push devices: tokens imported from users columns or a devices file, loaded into contexts, addressed in payloads."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from marketing_gen.config import Settings
from marketing_gen.contexts import BrandFacts, ItemFacts, PushDevice, UserContext
from marketing_gen.db import session_scope
from marketing_gen.db.models import Device, User
from marketing_gen.errors import InvalidRequest
from marketing_gen.importers import import_file
from marketing_gen.recommend import build_contexts
from marketing_gen.render import render

APNS = "a1" * 32
FCM = "dXN1cjE6APA91bH" + "x" * 40


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _devices(url: str) -> set[tuple[str, str, str, str]]:
    with session_scope(url) as s:
        rows = s.execute(select(User.external_id, Device.platform, Device.token, Device.topic).join(User))
        return {tuple(r) for r in rows}  # type: ignore[misc]


def test_users_columns_and_devices_file_import_idempotently(tmp_path: Path, db_url: str) -> None:
    users = _write(
        tmp_path,
        "users.csv",
        f"user_id,email,country,apns_token,fcm_token\nu1,u1@example.com,GB,{APNS.upper()},\n"
        f"u2,u2@example.com,GB,,{FCM}\nu3,u3@example.com,GB,,\nu4,u4@example.com,GB,not-hex,\n",
    )
    report = import_file("users", users, url=db_url)
    assert report.imported == 3 and [(e.row, e.field) for e in report.errors] == [(5, "apns_token")]
    assert report.tables["devices"] == {"imported": 2, "updated": 0}
    devices = _write(
        tmp_path,
        "devices.csv",
        f"user_id,platform,token,topic\nu3,ios,{APNS},com.example.shop\nu3,android,,deals-uk\nu9,fcm,{FCM},\n"
        "u2,apns,,\nu2,blackberry,abc,\n",
    )
    report = import_file("devices", devices, url=db_url)
    assert report.imported == 2 and report.rejected == 3
    reasons = {e.row: e.reason for e in report.errors}
    assert "unknown user_id 'u9'" in reasons[4] and "needs a token" in reasons[5] and "blackberry" in reasons[6]
    expected = {
        ("u1", "apns", APNS, ""),  # upper-case hex stored lower-case
        ("u2", "fcm", FCM, ""),
        ("u3", "apns", APNS, "com.example.shop"),
        ("u3", "fcm", "", "deals-uk"),  # an FCM topic without a token
    }
    assert _devices(db_url) == expected
    again = import_file("devices", devices, url=db_url)
    assert again.imported == 0 and again.updated == 2 and _devices(db_url) == expected


def test_push_contexts_carry_devices_and_render_addresses_them(tmp_path: Path, db_url: str) -> None:
    users = _write(tmp_path, "users.csv", f"user_id,email,apns_token,fcm_token\nu1,u1@example.com,{APNS},{FCM}\n")
    import_file("users", users, url=db_url)
    with session_scope(db_url) as s:
        uid = s.scalar(select(User.id))
    [ctx] = build_contexts([uid], "push", url=db_url)
    assert ctx.devices == (PushDevice("apns", APNS, ""), PushDevice("fcm", FCM, ""))
    assert build_contexts([uid], "email", url=db_url)[0].devices == ()  # loaded for push only

    item = ItemFacts(1, "sku", "Enamel Camp Mug", Decimal("12"), "GBP", url="https://shop.example/p/1")
    brand = BrandFacts(name="Acme", website_url="https://shop.example")
    settings = Settings(public_base_url="https://mg.example.com", secret_key="p" * 32)
    devices = (PushDevice("apns", APNS, "com.example.shop"), PushDevice("fcm", FCM), PushDevice("fcm", "", "deals"))
    context = UserContext(1, "u1", "Ann", "en-GB", "GB", brand, items=(item,), devices=devices)
    art = render(
        "push", {"title": "Mugs", "body": "New mugs"}, context, draft_id=5, campaign_name="c", settings=settings
    )
    apns, fcm, topic = art.data["sends"]
    assert apns["token"] == APNS and apns["headers"] == {"apns-push-type": "alert", "apns-topic": "com.example.shop"}
    assert apns["payload"]["aps"]["alert"] == {"title": "Mugs", "body": "New mugs"}
    assert fcm["message"]["token"] == FCM and fcm["message"]["notification"]["title"] == "Mugs"
    assert topic["message"]["topic"] == "deals" and "token" not in topic["message"]
    assert max(art.data["bytes"].values()) <= 4096
    bare = UserContext(1, "u1", "Ann", "en-GB", "GB", brand, items=(item,))
    with pytest.raises(InvalidRequest, match="no push device"):
        render("push", {"title": "Mugs", "body": "x"}, bare, draft_id=5, campaign_name="c", settings=settings)
