"""Brand import: one JSON object → the store's single ``brands`` row (inserted, or updated in place)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select

from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand
from marketing_gen.errors import InvalidRequest
from marketing_gen.importers.readers import detect_encoding
from marketing_gen.importers.report import ImportReport
from marketing_gen.importers.rows import describe_validation_error
from marketing_gen.importers.writes import check_schema


class OfferPolicy(BaseModel):
    """What copy and replies may promise. Unknown keys are kept for other parts of the system."""

    model_config = ConfigDict(extra="allow")

    max_discount_pct: Annotated[float | None, Field(ge=0, le=100)] = None
    refunds: str | None = None
    allowed_domains: list[str] = []

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, v: list[str]) -> list[str]:
        for domain in v:
            if not re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", domain.lower()):
                raise ValueError(f"not a domain name: {domain!r} (e.g. shop.example.com, no scheme or path)")
        return [d.lower() for d in v]


class BrandFile(BaseModel):
    """The brand JSON file: name is required, the rest has defaults."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=128)]
    voice: str = "friendly, concise, honest"
    banned_terms: list[Annotated[str, Field(min_length=1)]] = []
    postal_address: Annotated[str, Field(max_length=512)] = ""
    website_url: Annotated[str | None, Field(max_length=1024, pattern=r"^https?://\S+$")] = None
    unsubscribe_url_template: Annotated[str, Field(max_length=1024)] = "{base_url}/u/{token}"
    offer_policy: OfferPolicy = OfferPolicy()
    open_tracking: bool = True
    """Embed an open pixel in HTML emails; false: no pixel (and no open rates in the A/B report)."""

    @field_validator("unsubscribe_url_template")
    @classmethod
    def _template(cls, v: str) -> str:
        if "{token}" not in v:
            raise ValueError("must contain {token} so every recipient gets a personal unsubscribe link")
        try:
            v.format(base_url="https://x", token="t", user_id="1")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"unknown placeholder {exc} (use {{base_url}}, {{token}}, {{user_id}})") from None
        return v


def import_brand(path: str | Path, *, url: str | None = None) -> ImportReport:
    """Validate a brand JSON file and upsert the store's brand row (an existing row is updated, renamed if needed)."""
    path = Path(path)
    encoding, _ = detect_encoding(path)
    try:
        data: Any = json.loads(path.read_text(encoding=encoding))
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(data, dict):
        raise InvalidRequest(f"{path}: expected one JSON object with the brand's fields, got {type(data).__name__}")
    check_schema(url)
    report = ImportReport(kind="brand", path=str(path))
    try:
        brand = BrandFile.model_validate(data)
    except ValidationError as exc:
        report.reject(1, describe_validation_error(exc))
        return report
    values = brand.model_dump(mode="json")
    with session_scope(url) as session:
        row = session.scalars(select(Brand).where(Brand.name == brand.name)).first()
        row = row or session.scalars(select(Brand).order_by(Brand.id)).first()
        if row is None:
            session.add(Brand(**values))
            report.imported = 1
        else:
            for key, value in values.items():
                setattr(row, key, value)
            report.updated = 1
    report.count_table("brands", report.imported, report.updated)
    report.batches = 1
    return report
