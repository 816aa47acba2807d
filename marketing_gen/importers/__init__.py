"""Importers: CSV / JSONL files (canonical columns, UCI Online Retail invoices, brand JSON,
suppression lists) → the database.

Public entry point: ``import_file(kind, path, url=…) -> ImportReport``. The CLI (``cli/import_cmds``) is a thin
wrapper around it.
"""

from marketing_gen.importers.canonical import BATCH_SIZE, KINDS, import_file
from marketing_gen.importers.report import ImportReport, RowError

IMPORT_KINDS: tuple[str, ...] = (*KINDS, "online-retail", "brand", "suppressions")
"""Every kind ``import_file`` accepts."""

__all__ = ["BATCH_SIZE", "IMPORT_KINDS", "ImportReport", "RowError", "import_file"]
