"""The active model version → a loaded ``Engine``: the one place that asks the registry what to load.

Owns "find the active version and load it" for the faces (CLI, API) and workflows that want the current model.
Does not own the registry rows (``versions/registry.py``), the engine (``llm/engine.py``) nor per-process
caching and reload on promotion (``workers/runtime.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marketing_gen.config import Settings, get_settings
from marketing_gen.errors import ClientError
from marketing_gen.versions.registry import active_version

if TYPE_CHECKING:
    from marketing_gen.llm.engine import Engine


def load_active_engine(settings: Settings | None = None, *, int8_decode: bool = False) -> Engine:
    """Load the active registered model version (``marketing-gen model list`` shows it) with ``settings``'
    device, dtype, threads and token budget."""
    from marketing_gen.llm.engine import Engine

    settings = settings or get_settings()
    active = active_version(url=settings.database_url)
    if active is None:
        raise ClientError("No model: run `marketing-gen model import-base`")
    return Engine.from_path(active.path, settings=settings, version=active.name, int8_decode=int8_decode)
