"""Settings: the one place that reads the environment (prefix ``MARKETING_GEN_``, optional ``.env``)."""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

OLD_DEFAULT_SECRET_KEY = "change-me-in-production"
"""The signing key earlier versions shipped as a default: public, so it is refused like an unset key."""

MIN_SECRET_KEY_BYTES = 32
"""Shortest signing key accepted (UTF-8 bytes): ``python -c "import secrets; print(secrets.token_urlsafe(32))"``."""

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", ""})
"""Hosts a recipient's mail client cannot reach: links built on them are dead in every inbox."""


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

    token_budget: int | None = Field(default=None, ge=256)
    """Max prompt+generated tokens per engine micro-batch (length bucketing). Unset: 32768 on CPU; on CUDA
    half the memory free after loading the weights, in KV-cache token positions (``llm/budget.py``)."""

    max_regenerations: int = Field(default=2, ge=0, le=10)
    """Extra attempts for drafts that fail a hard check before the template fallback."""

    regen_candidates: int = Field(default=3, ge=1, le=16)
    """Texts sampled per draft on each regeneration (one batched call); the first that passes every hard check
    and the quality gate is kept. The first try is one greedy text."""

    fixed_cta: bool = True
    """An email CTA the model left out or wrote without an action word of the customer's language ("Sack",
    "Für dich ausgewählt") becomes the language's standard button label ("Jetzt ansehen", from
    ``templates/fallback/_phrases.j2``), with a soft ``content.cta_default`` finding, instead of regenerating the
    whole email; the rest of the copy is the model's and is checked as usual."""

    fixed_paths: bool = True
    """An RSA's display paths are the teacher's rule for its item (the category's first word or "shop", the short
    name's first word: ``channels.google_ads_rsa.display_paths``), with a soft ``content.path_default`` finding
    when the model wrote others: the demo model's own paths were words of nothing ("Cela", "The", "Cost",
    "Picked"), 4 of 30 gallery pieces a marketer would not send, and the gate does not read a path as copy."""

    drop_run_on: bool = True
    """A sentence a model-written text repeats ("Thick foam pad that saves your knees." twice) or one made of nothing
    but prices ("69,00 £GB à 16,50 £GB.") after the text had said what it had to say is dropped, as if decoding had
    stopped before it (``run_on``), with a soft ``content.run_on`` finding; the rest is checked as usual.
    ``False``: such copy is refused (``content.repeat``) and regenerated."""

    fit_lengths: bool = True
    """End a model-written field that runs past its hard length (RSA 30/90, push 40/110, Meta 125/40/30, the SMS
    budget …) at the last whole word that fits, instead of regenerating it; the quality gate still checks the
    result (a cut that leaves an unfinished phrase is a finding). ``False``: over-length copy is regenerated."""

    fluency_model: str = "auto"
    """Reference model of the quality gate's fluency rule (``guardrails.fluency``): ``auto`` — the base model
    SmolLM2-135M-Instruct in ``models_dir`` when it is there (its threshold is calibrated for that model), ``off``,
    or a HF model dir."""

    reply_int8_decode: bool = True
    """The reply API and ``replies suggest`` decode small batches (≤ 8 rows) with int8 copies of the weights on
    CPU (``llm/int8_decode.py``): ~30 % lower latency per request, +50 % weight memory. Texts of a request can
    then differ between being served alone and inside a large batch. Campaign workers never use it."""

    reply_retrieval: bool = True
    """Offer the replies of the nearest resolved threads (real customer → brand pairs in ``../shared/data``,
    ``replies/retrieval.py``) beside the model's, ranked together. The index is built on first use and its MiniLM
    matrix cached under ``models_dir/reply_index``; lexical measure without the ``embed`` extra."""

    api_token: str | None = None
    """Bearer token for the HTTP API. Unset: the API refuses authenticated routes."""

    secret_key: str | None = None
    """Signs unsubscribe / click / open tokens (HMAC-SHA256). No default: ``serve``, ``worker`` and every command
    that signs tokens refuse to start without a key of at least 32 bytes (``marketing-gen demo`` makes its own)."""

    secret_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Key rotation: comma-separated keys, newest first. New tokens are signed with the first; tokens signed with
    any of them still verify (each token names its key by id). When set, ``secret_key`` may be left unset."""

    public_base_url: str = "http://localhost:8000"
    """Base URL of ``marketing-gen serve`` as recipients see it (tracking and unsubscribe links). Emails are not
    rendered while it points at localhost (except in ``marketing-gen demo``)."""

    token_ttl_days: int = 60
    """How long click / open tokens stay valid. Unsubscribe tokens never expire."""

    embedded_demo: bool = False
    """Set by ``marketing-gen demo`` for its own processes: links may point at localhost. Not for real sends."""

    frequency_cap: int = 3
    """At most this many messages per user per channel …"""

    frequency_window_days: int = 7
    """… within this many days, across campaigns."""

    # --- delivery (marketing_gen/delivery, docs/review-and-send.md) ---------------------------------------

    delivery_adapter: Literal["file", "smtp", "webhook"] = "file"
    """Adapter ``campaign send`` uses when ``--adapter`` is not given."""

    outbox_dir: Path = Path("exports/outbox")
    """Where the ``file`` adapter writes one file per message."""

    smtp_host: str = "localhost"
    """SMTP relay (any ESP's relay; DKIM signing is left to the relay)."""

    smtp_port: int = 25
    """SMTP port: 25/587 (``starttls``), 465 (``tls``)."""

    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    """``starttls`` upgrades a plain connection (refuses to go on when the relay does not offer it); ``tls`` is
    implicit TLS (port 465); ``none`` only for a relay on the same host."""

    smtp_username: str | None = None
    """SMTP AUTH user (unset: no AUTH)."""

    smtp_password: str | None = None
    """SMTP AUTH password."""

    smtp_ca_file: Path | None = None
    """CA bundle to verify the relay's certificate with (default: the system's)."""

    smtp_envelope_from: str | None = None
    """Envelope sender (bounces go there); default: the message's From address."""

    smtp_timeout_s: float = 30.0
    """Socket timeout for one SMTP command."""

    smtp_rate_per_s: float = 0.0
    """At most this many messages per second per worker process through ``smtp`` (0: unlimited)."""

    webhook_url: str | None = None
    """Provider endpoint the ``webhook`` adapter POSTs each message to."""

    webhook_secret: str | None = None
    """Key of the ``X-MG-Signature`` HMAC-SHA256 header (unset: ``secret_key``)."""

    webhook_timeout_s: float = 10.0
    """HTTP timeout per request."""

    webhook_rate_per_s: float = 0.0
    """At most this many requests per second per worker process through ``webhook`` (0: unlimited)."""

    send_max_attempts: int = Field(default=3, ge=1, le=10)
    """Tries per message for transient errors (4xx SMTP replies, HTTP 5xx/429, dropped connections)."""

    send_backoff_s: float = 0.5
    """First retry delay; doubles on each retry."""

    send_batch_size: int = Field(default=200, ge=1, le=10000)
    """Outbox rows per ``send_batch`` task."""

    sending_timeout_s: float = 600.0
    """A row left in ``sending`` longer than this (its worker died) is reconciled, never blindly resent."""

    quiet_hours: str = "21-8"
    """Local hours in which ``quiet_channels`` never go out, ``START-END`` (21-8: 21:00 to 08:00); empty: none."""

    quiet_channels: tuple[str, ...] = ("sms", "push")
    """Channels held back during quiet hours (TCPA-style default)."""

    default_timezone: str = "UTC"
    """Time zone for users without one (quiet hours, send time)."""

    @field_validator("secret_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @property
    def signing_keys(self) -> list[str]:
        """Keys that verify tokens, newest (the one that signs) first."""
        if self.secret_keys:
            return list(self.secret_keys)
        return [self.secret_key] if self.secret_key else []

    @property
    def effective_broker_url(self) -> str:
        """The broker URL, defaulting to a SQLite broker file beside the SQLite database."""
        if self.broker_url:
            return self.broker_url
        if self.database_url.startswith("sqlite:///"):
            db_path = Path(self.database_url.removeprefix("sqlite:///"))
            return f"sqla+sqlite:///{db_path.with_name(db_path.stem + '_broker.db')}"
        return "sqla+sqlite:///marketing_gen_broker.db"


def worker_problems(settings: Settings, queues: list[str]) -> list[str]:
    """Why a worker consuming ``queues`` must not start: an unsafe signing key (every worker) and, with the
    ``render`` queue, links that cannot leave the machine (``MARKETING_GEN_PUBLIC_BASE_URL`` localhost outside
    the embedded demo). Empty when it may start."""
    return link_settings_problems(settings) if "render" in queues else secret_problems(settings)


def secret_problems(settings: Settings) -> list[str]:
    """What is wrong with the signing keys, one sentence each naming the fix; empty when tokens can be signed."""
    keys = settings.signing_keys
    fix = 'e.g. python -c "import secrets; print(secrets.token_urlsafe(32))"'
    if not keys:
        return [f"MARKETING_GEN_SECRET_KEY is not set: set a random key of {MIN_SECRET_KEY_BYTES}+ bytes ({fix})"]
    problems = []
    for i, key in enumerate(keys):
        name = "MARKETING_GEN_SECRET_KEY" if not settings.secret_keys else f"MARKETING_GEN_SECRET_KEYS[{i}]"
        if key == OLD_DEFAULT_SECRET_KEY:
            problems.append(f"{name} is the old public default {OLD_DEFAULT_SECRET_KEY!r}: links can be forged; {fix}")
        elif len(key.encode("utf-8")) < MIN_SECRET_KEY_BYTES:
            problems.append(
                f"{name} is {len(key.encode('utf-8'))} bytes; use at least {MIN_SECRET_KEY_BYTES} random bytes ({fix})"
            )
    if settings.secret_keys and settings.secret_key and settings.secret_key not in settings.secret_keys:
        problems.append(
            "MARKETING_GEN_SECRET_KEY is not one of MARKETING_GEN_SECRET_KEYS: put it in the list (newest first) "
            "or unset it"
        )
    return problems


def public_url_problems(settings: Settings) -> list[str]:
    """What is wrong with ``public_base_url`` for links that leave this machine (none inside the embedded demo)."""
    parts = urlsplit(settings.public_base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"MARKETING_GEN_PUBLIC_BASE_URL={settings.public_base_url!r} is not an http(s) URL with a host"]
    host = parts.hostname.lower()
    if not settings.embedded_demo and (host in LOCAL_HOSTS or host.endswith(".localhost") or host.startswith("127.")):
        return [
            f"MARKETING_GEN_PUBLIC_BASE_URL is {settings.public_base_url!r}: recipients cannot reach it; set it to "
            "the public URL of `marketing-gen serve` (e.g. https://links.example.com)"
        ]
    return []


def link_settings_problems(settings: Settings) -> list[str]:
    """Everything that stops rendering links recipients can use (signing keys, public base URL); empty when ok."""
    return secret_problems(settings) + public_url_problems(settings)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; call ``get_settings.cache_clear()`` after changing env)."""
    return Settings()
