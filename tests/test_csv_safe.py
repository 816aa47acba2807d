"""CSV formula injection: text cells that begin with a formula character are neutralised, numbers are not."""

from __future__ import annotations

import csv
import io

import pytest

from marketing_gen.csv_safe import SafeDictWriter, SafeWriter, neutralise_cell

ATTACKS = ["=1+1 Candle Set", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=x", '=HYPERLINK("http://evil.example","x")']


@pytest.mark.parametrize("cell", ATTACKS)
def test_formula_cells_are_prefixed(cell: str) -> None:
    assert neutralise_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Candle Set", "", "1+1", "a=b", "'already", "50% off"])
def test_plain_text_is_unchanged(cell: str) -> None:
    assert neutralise_cell(cell) == cell


def test_numbers_and_none_are_unchanged() -> None:
    assert neutralise_cell(-3) == -3 and neutralise_cell(-2.5) == -2.5 and neutralise_cell(None) is None


def test_writers_neutralise_every_cell_and_keep_headers() -> None:
    out = io.StringIO()
    SafeWriter(out).writerows([["user", "title"], ["=u1", "=1+1 Candle Set"]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["user", "title"], ["'=u1", "'=1+1 Candle Set"]]
    out = io.StringIO()
    w = SafeDictWriter(out, fieldnames=["a", "b"])
    w.writeheader()
    w.writerows([{"a": "@x", "b": -1}])
    w.writerow({"a": "+y", "b": "ok"})
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["a", "b"], ["'@x", "-1"], ["'+y", "ok"]]
