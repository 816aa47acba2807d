"""Settings: the one place that reads the environment (prefix ``MARKETING_GEN_``, optional ``.env``)."""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_templates_dir() -> Path:
    """The repo's ``templates/`` in a checkout, else the copy a wheel installs under ``share/``."""
    in_repo = REPO_ROOT / "templates"
    if (in_repo / "prompts").is_dir():
        return in_repo
    return Path(sys.prefix) / "share" / "marketing_gen" / "templates"


class Settings(BaseSettings):
    """Runtime configuration. Every field can be set as ``MARKETING_GEN_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="MARKETING_GEN_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///marketing_gen.db"
    """SQLAlchemy URL: ``sqlite:///file.db`` (embedded) or ``postgresql+psycopg://user@host/db``."""

    broker_url: str | None = None
    """Celery broker. Default: kombu's SQLAlchemy transport next to the SQLite database."""

    broker_namespace: str = ""
    """Prefix for queue names (and Redis keys) so several deployments or test runs can share one broker."""

    models_dir: Path = Path("models")
    """Where model versions live (ignored by git)."""

    templates_dir: Path = Field(default_factory=_default_templates_dir)
    """Packaged templates: ``prompts/`` (what the model sees), ``output/``, ``fallback/``."""

    user_templates_dir: Path | None = None
    """Optional directory whose templates override the packaged ones, file by file."""

    device: str = "auto"
    """``auto`` (CUDA if available, else CPU), ``cpu``, ``cuda``, ``cuda:1`` …"""

    dtype: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    """``auto``: bf16 on CUDA and on CPUs with AVX512-BF16/AMX, fp32 otherwise."""

    torch_threads: int | None = None
    """Intra-op threads for CPU inference; default: the number of cores."""

    generate_batch_size: int = Field(default=64, ge=1, le=4096)
    """Drafts per ``generate_batch`` Celery task (one batched engine call)."""

    token_budget: int = Field(default=32768, ge=256)
    """Max prompt+generated tokens per engine micro-batch (length bucketing)."""

    max_regenerations: int = Field(default=2, ge=0, le=10)
    """Extra attempts for drafts that fail a hard check before the template fallback."""

    reply_int8_decode: bool = True
    """The reply API and ``replies suggest`` decode small batches (≤ 8 rows) with int8 copies of the weights on
    CPU (``llm/int8_decode.py``): ~30 % lower latency per request, +50 % weight memory. Texts of a request can
    then differ between being served alone and inside a large batch. Campaign workers never use it."""

    api_token: str | None = None
    """Bearer token for the HTTP API. Unset: the API refuses authenticated routes."""

    secret_key: str = "change-me-in-production"
    """Signs unsubscribe / click tokens."""

    public_base_url: str = "http://localhost:8000"
    """Base URL of ``marketing-gen serve`` as recipients see it (tracking and unsubscribe links)."""

    token_ttl_days: int = 60
    """How long unsubscribe / click tokens stay valid."""

    frequency_cap: int = 3
    """At most this many messages per user per channel …"""

    frequency_window_days: int = 7
    """… within this many days, across campaigns."""

    @property
    def effective_broker_url(self) -> str:
        """The broker URL, defaulting to a SQLite broker file beside the SQLite database."""
        if self.broker_url:
            return self.broker_url
        if self.database_url.startswith("sqlite:///"):
            db_path = Path(self.database_url.removeprefix("sqlite:///"))
            return f"sqla+sqlite:///{db_path.with_name(db_path.stem + '_broker.db')}"
        return "sqla+sqlite:///marketing_gen_broker.db"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; call ``get_settings.cache_clear()`` after changing env)."""
    return Settings()
