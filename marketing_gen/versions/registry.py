"""Model versions registry over the ``model_versions`` table: register, look up, list, activate.

Owns the rows and the single-active-version rule. Does not own the promote gate (training decides when a
version is good enough) nor loading weights (``llm/engine.py``; ``versions/active.py`` loads the active one).
The version file written beside a trained model's weights is ``llm/model_dir.py``. Results are plain dataclasses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from marketing_gen.db import session_scope
from marketing_gen.db.models import ModelVersion
from marketing_gen.errors import InvalidRequest, NotFound

KINDS = ("base", "sft", "dpo", "kto")


@dataclass(frozen=True)
class ModelVersionInfo:
    """One registered model version."""

    name: str
    path: str
    base: str | None
    kind: str
    dataset_hash: str | None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    is_active: bool = False
    created_at: dt.datetime | None = None
    promoted_at: dt.datetime | None = None


def _info(row: ModelVersion) -> ModelVersionInfo:
    return ModelVersionInfo(
        name=row.name,
        path=row.path,
        base=row.base,
        kind=row.kind,
        dataset_hash=row.dataset_hash,
        hyperparameters=dict(row.hyperparameters or {}),
        metrics=dict(row.metrics or {}),
        is_active=bool(row.is_active),
        created_at=row.created_at,
        promoted_at=row.promoted_at,
    )


def register_version(
    name: str,
    path: str,
    base: str | None = None,
    kind: str = "base",
    dataset_hash: str | None = None,
    hyperparameters: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    activate: bool = False,
    *,
    url: str | None = None,
) -> ModelVersionInfo:
    """Add a model version (name must be new); ``activate`` makes it the one the engine loads."""
    if kind not in KINDS:
        raise InvalidRequest(f"kind={kind!r} is not one of {', '.join(KINDS)}")
    if not name or len(name) > 128:
        raise InvalidRequest(f"name={name!r}: give a non-empty model version name of at most 128 characters")
    with session_scope(url) as session:
        if session.scalar(select(ModelVersion.id).where(ModelVersion.name == name)) is not None:
            raise InvalidRequest(f"model version {name!r} already exists; pick another --name")
        row = ModelVersion(
            name=name,
            path=str(path),
            base=base,
            kind=kind,
            dataset_hash=dataset_hash,
            hyperparameters=dict(hyperparameters or {}),
            metrics=dict(metrics or {}),
            is_active=False,
        )
        session.add(row)
        session.flush()
        if activate:
            _activate(session, row)
        return _info(row)


def _activate(session: Any, row: ModelVersion) -> None:
    session.execute(update(ModelVersion).where(ModelVersion.id != row.id).values(is_active=False))
    row.is_active = True
    row.promoted_at = dt.datetime.now(dt.timezone.utc)
    session.flush()


def get_version(name: str, *, url: str | None = None) -> ModelVersionInfo:
    """The version called ``name``; NotFound names the command that lists them."""
    with session_scope(url) as session:
        row = session.scalar(select(ModelVersion).where(ModelVersion.name == name))
        if row is None:
            raise NotFound(f"no model version {name!r}; see `marketing-gen model list`")
        return _info(row)


def find_version(name: str, *, url: str | None = None) -> ModelVersionInfo | None:
    """The version called ``name``, or None."""
    with session_scope(url) as session:
        row = session.scalar(select(ModelVersion).where(ModelVersion.name == name))
        return None if row is None else _info(row)


def active_version(*, url: str | None = None) -> ModelVersionInfo | None:
    """The active version (the one engines load), or None when nothing is registered yet."""
    with session_scope(url) as session:
        row = session.scalar(select(ModelVersion).where(ModelVersion.is_active.is_(True)).order_by(ModelVersion.id))
        return None if row is None else _info(row)


def list_versions(*, url: str | None = None) -> list[ModelVersionInfo]:
    """Every version, oldest first."""
    with session_scope(url) as session:
        return [_info(r) for r in session.scalars(select(ModelVersion).order_by(ModelVersion.id))]


def set_active(name: str, *, url: str | None = None) -> ModelVersionInfo:
    """Make ``name`` the only active version."""
    with session_scope(url) as session:
        row = session.scalar(select(ModelVersion).where(ModelVersion.name == name))
        if row is None:
            raise NotFound(f"no model version {name!r}; see `marketing-gen model list`")
        _activate(session, row)
        return _info(row)


def store_metrics(name: str, metrics: dict[str, Any], *, url: str | None = None) -> None:
    """Replace a version's stored metrics (evaluation results are the promotion gate's input)."""
    get_version(name, url=url)  # NotFound with the usual message
    with session_scope(url) as session:
        session.execute(update(ModelVersion).where(ModelVersion.name == name).values(metrics=metrics))
