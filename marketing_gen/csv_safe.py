"""CSV cells that a spreadsheet will not run: every CSV the project writes goes through these writers.

A cell that begins with ``=``, ``+``, ``-``, ``@``, tab or carriage return is a formula to Excel, LibreOffice
and Google Sheets (CSV / formula injection: ``=HYPERLINK(…)``, ``=cmd|…``, data exfiltration). Such a *text* cell
is written with a leading apostrophe, which every spreadsheet shows as "text follows" and does not run.
Numbers (``int``, ``float``, ``Decimal``) are never touched, so ``-3`` stays a number. Owns nothing else: the
columns and files stay with their writers (``render.google_ads_csv``, ``campaigns.export``, …).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection list)."""


def is_formula_like(text: str) -> bool:
    """True when ``text`` would be read as a formula if it were a CSV cell."""
    return text.startswith(FORMULA_PREFIXES)


def neutralise_cell(value: Any) -> Any:
    """``value`` made safe as a CSV cell: text beginning with a formula character gets a leading ``'``."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def neutralise_row(row: Iterable[Any]) -> list[Any]:
    """Every cell of ``row`` through ``neutralise_cell``."""
    return [neutralise_cell(v) for v in row]


class SafeWriter:
    """``csv.writer`` whose rows are neutralised (same arguments: file, dialect, format parameters)."""

    def __init__(self, fh: Any, *args: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(fh, *args, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        """Write one neutralised row."""
        return self._writer.writerow(neutralise_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write neutralised rows."""
        for row in rows:
            self.writerow(row)


class SafeDictWriter(csv.DictWriter):  # type: ignore[type-arg]
    """``csv.DictWriter`` whose values are neutralised (the header is written as given)."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        """Write one neutralised row."""
        return super().writerow({k: neutralise_cell(v) for k, v in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        """Write neutralised rows."""
        for row in rowdicts:
            self.writerow(row)
