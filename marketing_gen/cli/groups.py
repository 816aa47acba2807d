"""The click groups. Command modules attach to these; ``cli/__init__`` imports the modules."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from marketing_gen import __version__
from marketing_gen.errors import ClientError, MarketingGenError, Refused

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2
"""Exit statuses of every command: 0 ok; 1 findings (lint violations, a refused preflight or promotion, rows
rejected, thresholds missed) or a failure on our side; 2 bad input or missing setup (click's usage errors, our
``ClientError``: unknown ids, unreadable files, no model, no worker)."""


class BadInput(click.ClickException):
    """The caller's mistake (unreadable input, unknown name, missing setup): exit status 2."""

    exit_code = EXIT_BAD_INPUT


class ErrorConvertingGroup(click.Group):
    """Turns our library errors into ``click.ClickException`` — the only place that does."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Refused as exc:  # a check said no: findings
            raise click.ClickException(str(exc)) from exc
        except ClientError as exc:
            raise BadInput(str(exc)) from exc
        except MarketingGenError as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            if _missing_schema(exc):
                raise BadInput(
                    "the database has no marketing_gen tables yet: run `marketing-gen db upgrade` first "
                    f"(database: {_database_hint()})"
                ) from exc
            raise


def _missing_schema(exc: BaseException) -> bool:
    """True for SQLAlchemy's 'no such table' (SQLite) / 'relation … does not exist' (PostgreSQL) errors."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    if not isinstance(exc, OperationalError | ProgrammingError):
        return False
    text = str(exc.orig) if getattr(exc, "orig", None) is not None else str(exc)
    return "no such table" in text or ("relation" in text and "does not exist" in text)


def _database_hint() -> str:
    from marketing_gen.config import get_settings

    url = get_settings().database_url
    return url.split("@")[-1] if "@" in url else url


@click.group(cls=ErrorConvertingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="marketing-gen")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages to stderr.")
def main(verbose: bool) -> None:
    """marketing-gen: personalized marketing copy with a model your store owns.

    Typical flow: `db upgrade` → `import …` → `model import-base` → `recommend` →
    `campaign create` → `campaign run --wait` → `campaign export`. `demo` does all of it on a demo store.
    Settings come from MARKETING_GEN_* environment variables (see docs/operations.md).
    """
    level = logging.DEBUG if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@main.group(cls=ErrorConvertingGroup)
def db() -> None:
    """Database schema commands."""


@main.group(name="import", cls=ErrorConvertingGroup)
def import_() -> None:
    """Import users, items, interactions, recommendations, events from CSV/JSONL files."""


@main.group(cls=ErrorConvertingGroup)
def model() -> None:
    """Model registry: import the base model, list versions, promote."""


@main.group(cls=ErrorConvertingGroup)
def bench() -> None:
    """Benchmarks that print a table of measured figures (not timed tests)."""


@main.group(name="eval", cls=ErrorConvertingGroup)
def eval_() -> None:
    """Offline evaluation: recommendations, copy quality, reply suggestions."""


@main.group(cls=ErrorConvertingGroup)
def campaign() -> None:
    """Create, run, monitor and export campaigns."""


@main.group(cls=ErrorConvertingGroup)
def outbox() -> None:
    """Delivery: outbox state, reconcile rows of dead workers, resolve uncertain sends."""


@main.group(cls=ErrorConvertingGroup)
def user() -> None:
    """Accounts for the review page (reviewers and admins)."""


@main.group(cls=ErrorConvertingGroup)
def train() -> None:
    """Fine-tune the model with TRL (SFT, preference tuning)."""


@main.group(cls=ErrorConvertingGroup)
def replies() -> None:
    """Social reply suggestions."""


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
"""The ``--json`` flag of a command that reports."""


def echo_json(obj: Any) -> None:
    """Print one JSON object on stdout; timestamps in ISO 8601 with their zone (``json_default``)."""
    import json

    click.echo(json.dumps(obj, indent=2, default=json_default, ensure_ascii=False))


def iso_time(value: dt.datetime) -> str:
    """A timestamp as ISO 8601 with its zone; a naive one (SQLite drops the zone) is UTC, as every stored time is."""
    return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).isoformat()


def utc_stamp(value: dt.datetime) -> str:
    """A timestamp for a table: ISO 8601 in UTC to the second, ``2026-11-30T03:00:00Z``."""
    aware = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return aware.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_default(value: Any) -> Any:
    """JSON for what ``json`` cannot write: datetimes (``iso_time``), dates, Decimals, paths, sets; else ``str``."""
    if isinstance(value, dt.datetime):
        return iso_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


STDIN = "-"
"""The input-file argument that means standard input."""


@contextmanager
def input_file(path: str | Path) -> Iterator[Path]:
    """``path`` itself, or for ``-`` standard input spooled to a temporary file that is removed afterwards.

    The readers detect encoding and format from a file (they read it more than once), so stdin becomes one, named
    ``stdin.json`` when it starts with ``[``, ``stdin.jsonl`` with ``{``, else ``stdin.csv``."""
    if str(path) != STDIN:
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix="marketing-gen-stdin-") as tmp:
        spooled = Path(tmp) / "stdin"
        with spooled.open("wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out)
        with spooled.open("rb") as fh:
            head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        suffix = ".json" if head.startswith(b"[") else ".jsonl" if head.startswith(b"{") else ".csv"
        named = spooled.rename(spooled.with_suffix(suffix))
        yield named
