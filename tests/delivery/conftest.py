"""Settings for delivery tests: the test database, the SMTP adapter pointed at a local sink, fast backoff."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from marketing_gen.config import Settings, get_settings
from marketing_gen.devtools.smtp_sink import SmtpSink


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    """A real SMTP server on 127.0.0.1 that keeps and parses every message."""
    with SmtpSink() as server:
        yield server


@pytest.fixture
def send_settings(
    settings_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sink: SmtpSink
) -> Iterator[Settings]:
    """Process settings pointed at the sink (plain SMTP on localhost), tmp outbox dir, fast retries."""
    for key, value in {
        "SMTP_HOST": sink.host,
        "SMTP_PORT": str(sink.port),
        "SMTP_SECURITY": "none",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "SEND_BACKOFF_S": "0.01",
        "QUIET_HOURS": "none",
    }.items():
        monkeypatch.setenv(f"MARKETING_GEN_{key}", value)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
