"""Push notification: title ≤ 40, body ≤ 110 visible; the APNs/FCM payload must stay ≤ 4096 bytes.

Also the addressed sends: one per device of the user (``build_sends``): APNs gets the device token and the
``apns-topic`` / ``apns-push-type`` headers, FCM an HTTP v1 ``message`` with ``token`` (or ``topic`` for a
topic-only device). A user without a device gets no push draft (``campaigns.planning``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from marketing_gen.channels.base import ChannelSpec, FieldSpec
from marketing_gen.contexts import PushDevice

SPEC = ChannelSpec(
    headline_field="title",
    name="push",
    fields=(
        FieldSpec("title", max_len=40, hint="notification title"),
        FieldSpec("body", max_len=110, hint="one short sentence"),
    ),
    prompt_template="prompts/push.j2",
    fallback_template="fallback/push.j2",
    render_target="push",
    description="a mobile push notification",
    max_new_tokens=80,
    consent_flag="push",
    address="device",
)


def build_apns(title: str, body: str, *, url: str | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The APNs JSON payload (``aps.alert`` + custom keys)."""
    payload: dict[str, Any] = {"aps": {"alert": {"title": title, "body": body}, "sound": "default"}}
    if url:
        payload["url"] = url
    payload.update(data or {})
    return payload


def build_fcm(title: str, body: str, *, url: str | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The FCM HTTP v1 ``message`` payload (notification + string-valued data)."""
    values = {k: str(v) for k, v in (data or {}).items()}
    if url:
        values["url"] = url
    message: dict[str, Any] = {"notification": {"title": title, "body": body}}
    if values:
        message["data"] = values
    return {"message": message}


def payload_bytes(payload: dict[str, Any]) -> int:
    """Size of a payload as sent: compact UTF-8 JSON."""
    return len(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def build_sends(devices: Sequence[PushDevice], apns: dict[str, Any], fcm: dict[str, Any]) -> list[dict[str, Any]]:
    """One addressed send per device: APNs token + headers + payload, or an FCM message with its target."""
    sends: list[dict[str, Any]] = []
    for d in devices:
        if d.platform == "apns":
            headers = {"apns-push-type": "alert", **({"apns-topic": d.topic} if d.topic else {})}
            sends.append({"platform": "apns", "token": d.token, "headers": headers, "payload": apns})
        else:
            target = {"token": d.token} if d.token else {"topic": d.topic}
            sends.append({"platform": "fcm", "message": {**target, **fcm["message"]}})
    return sends
