"""Push notification: title ≤ 40, body ≤ 110 visible; the APNs/FCM payload must stay ≤ 4096 bytes."""

from __future__ import annotations

import json
from typing import Any

from marketing_gen.channels.base import ChannelSpec, FieldSpec

SPEC = ChannelSpec(
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
