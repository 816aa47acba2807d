"""The worker process's engine: loaded lazily on the first batch, once per process, reloaded on promotion.

Never loaded at import or in ``worker_process_init`` (a slow load there trips ``worker_proc_alive_timeout``
and, on a forking pool, would touch CUDA in the parent). Each batch asks the registry which version is
active (one indexed query); when a new version was promoted, the old model is dropped and the new one
loaded before the batch runs.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from typing import TYPE_CHECKING

from marketing_gen.config import Settings, get_settings
from marketing_gen.errors import ClientError
from marketing_gen.versions.registry import active_version

if TYPE_CHECKING:
    from marketing_gen.llm.engine import Engine

log = logging.getLogger(__name__)

_lock = threading.Lock()
_engine: Engine | None = None
load_seconds: float = 0.0
"""Seconds the last model load took (reported in task timings)."""


def get_engine(settings: Settings | None = None) -> Engine:
    """The engine for the active model version, loading or reloading it when needed."""
    global _engine, load_seconds
    settings = settings or get_settings()
    active = active_version(url=settings.database_url)
    if active is None:
        raise ClientError("No active model version: run `marketing-gen model import-base` before the campaign")
    with _lock:
        if _engine is not None and _engine.version == active.name:
            return _engine
        from marketing_gen.llm.engine import Engine

        if _engine is not None:
            log.info("active model changed %s → %s: reloading", _engine.version, active.name)
            _engine = None
            gc.collect()
        started = time.perf_counter()
        _engine = Engine.from_path(active.path, settings=settings, version=active.name)
        load_seconds = time.perf_counter() - started
        log.info("loaded model %s in %.1f s", active.name, load_seconds)
        return _engine


def loaded_version() -> str | None:
    """The version this process has loaded, or None before the first batch."""
    return None if _engine is None else _engine.version
