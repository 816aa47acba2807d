"""ImportReport: what an import did — rows imported, updated, rejected, and why (row, field, reason)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_KEPT_MESSAGES = 1000
"""Per-row messages kept in memory; the counts stay exact beyond this."""


@dataclass(frozen=True)
class RowError:
    """A problem with one input row: ``row`` is the line number in the file (None: the whole file)."""

    row: int | None
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """The ``{"row", "field", "reason"}`` object the CLI prints."""
        return {"row": self.row, "field": self.field, "reason": self.reason}


@dataclass
class ImportReport:
    """Counts and per-row messages of one import. ``imported`` = new rows, ``updated`` = rows that existed."""

    kind: str
    path: str
    imported: int = 0
    updated: int = 0
    rejected: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    warnings: list[RowError] = field(default_factory=list)
    warning_count: int = 0
    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per written table: ``{"users": {"imported": n, "updated": n}, …}``."""
    batches: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when at least one row was imported or updated (the CLI's exit status 0)."""
        return self.imported + self.updated > 0

    def reject(self, row: int | None, problems: list[tuple[str, str]]) -> None:
        """Count one rejected row and keep its (field, reason) problems."""
        self.rejected += 1
        for fld, reason in problems:
            self.error_count += 1
            if len(self.errors) < MAX_KEPT_MESSAGES:
                self.errors.append(RowError(row, fld, reason))

    def warn(self, row: int | None, fld: str, reason: str) -> None:
        """Keep a warning (the row was still imported)."""
        self.warning_count += 1
        if len(self.warnings) < MAX_KEPT_MESSAGES:
            self.warnings.append(RowError(row, fld, reason))

    def count_table(self, table: str, inserted: int, updated: int) -> None:
        """Add written-row counts for one table."""
        counts = self.tables.setdefault(table, {"imported": 0, "updated": 0})
        counts["imported"] += inserted
        counts["updated"] += updated

    def to_dict(self, max_errors: int = 100) -> dict[str, Any]:
        """The CLI's ``--json`` object; errors and warnings are capped with a ``*_truncated`` count."""
        shown = self.errors[:max_errors]
        warns = self.warnings[:max_errors]
        return {
            "imported": self.imported,
            "updated": self.updated,
            "rejected": self.rejected,
            "errors": [e.as_dict() for e in shown],
            "errors_truncated": self.error_count - len(shown),
            "warnings": [w.as_dict() for w in warns],
            "warnings_truncated": self.warning_count - len(warns),
            "duplicates": self.duplicates,
            "tables": self.tables,
            "kind": self.kind,
            "file": self.path,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
        }
