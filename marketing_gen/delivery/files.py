"""The ``file`` adapter: one file per message under ``outbox_dir`` (the embedded demo's default, and what
``campaign export`` did before delivery existed). Email is written as ``.eml``, other channels as JSON.

Files are written to a temporary name and renamed, so a file exists only when complete; that is also what
``reconcile`` checks after a crash.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from marketing_gen.config import Settings
from marketing_gen.delivery.base import OutboundMessage, PermanentSendError, Reconciled


class FileAdapter:
    """Writes messages to ``settings.outbox_dir/campaign_<id>/<channel>/outbox_<id>.(eml|json)``."""

    name = "file"
    channels: tuple[str, ...] | None = None

    def __init__(self, settings: Settings) -> None:
        self.root = Path(settings.outbox_dir)
        self.rate_per_s = 0.0

    def __enter__(self) -> FileAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def path_for(self, message: OutboundMessage) -> Path:
        """Where ``message`` is (or would be) written."""
        ext = "eml" if message.channel == "email" else "json"
        return self.root / f"campaign_{message.campaign_id}" / message.channel / f"outbox_{message.outbox_id}.{ext}"

    def send(self, message: OutboundMessage) -> str:
        """Write the message atomically; returns ``file:<path>``."""
        path = self.path_for(message)
        if message.channel == "email":
            eml = message.payload.get("eml")
            if not eml:
                raise PermanentSendError(f"outbox {message.outbox_id}: no rendered email (.eml) stored for draft")
            data = eml.encode("utf-8") if isinstance(eml, str) else bytes(eml)
        else:
            doc = {"to": message.recipient, "user": message.user_external_id, **(message.payload.get("data") or {})}
            data = json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{message.attempt_id}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return f"file:{path}"

    def reconcile(self, message: OutboundMessage) -> tuple[Reconciled, str | None]:
        """The file exists: sent; otherwise nothing was written."""
        path = self.path_for(message)
        return (Reconciled.SENT, f"file:{path}") if path.exists() else (Reconciled.NOT_SENT, None)
