"""The click groups. Command modules attach to these; ``cli/__init__`` imports the modules."""

from __future__ import annotations

import logging
from typing import Any

import click

from marketing_gen import __version__
from marketing_gen.errors import ClientError, MarketingGenError


class ErrorConvertingGroup(click.Group):
    """Turns our library errors into ``click.ClickException`` — the only place that does."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ClientError as exc:
            raise click.ClickException(str(exc)) from exc
        except MarketingGenError as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            if _missing_schema(exc):
                raise click.ClickException(
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


def echo_json(obj: Any) -> None:
    """Print one JSON object on stdout."""
    import json

    click.echo(json.dumps(obj, indent=2, default=str, ensure_ascii=False))
