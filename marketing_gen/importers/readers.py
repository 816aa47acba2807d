"""Reading CSV / JSONL files into raw records: encoding detection, header checks, malformed-row reports.

Owns bytes → ``Record(row, values, error)``. Does not validate values (``rows``) or write anything (``canonical``).
Row numbers are line numbers in the file (the CSV header is line 1), as a spreadsheet or editor shows them.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketing_gen.errors import InvalidRequest

_CHUNK = 1 << 20
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})


@dataclass(frozen=True)
class Record:
    """One input row: its line number, its values (normalized column → raw value) or why it is unreadable."""

    row: int
    values: dict[str, Any] | None
    error: str | None = None


def normalize_column(name: str) -> str:
    """``" Customer ID"`` → ``customer_id``; ``Email-Consent`` → ``email_consent``."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def detect_encoding(path: Path) -> tuple[str, int]:
    """(encoding, number of newlines): UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252.

    Raises InvalidRequest when the file is missing, binary, or valid in none of these encodings.
    """
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        raise InvalidRequest(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InvalidRequest(f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise InvalidRequest(f"{path}: permission denied") from None
    with fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16", _count_lines_decoded(path, "utf-16")
        elif head.startswith(b"PK\x03\x04"):
            raise InvalidRequest(f"{path}: this is a zip/Excel file; export it as CSV (UTF-8) first")
        else:
            encoding = "utf-8"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        newlines = 0
        utf8_ok = True
        while chunk := fh.read(_CHUNK):
            if b"\x00" in chunk:
                raise InvalidRequest(f"{path}: contains NUL bytes, so it is not a text file; export it as CSV")
            newlines += chunk.count(b"\n")
            if utf8_ok:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
        if utf8_ok:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8_ok = False
    if utf8_ok:
        return encoding, newlines
    try:
        _count_lines_decoded(path, "cp1252")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(
            f"{path}: not UTF-8 and not Windows-1252 text (undecodable byte at offset {exc.start}); "
            "re-save it as UTF-8 CSV"
        ) from None
    return "cp1252", newlines


def _count_lines_decoded(path: Path, encoding: str) -> int:
    count = 0
    with path.open(encoding=encoding, newline="") as fh:
        while chunk := fh.read(_CHUNK):
            count += chunk.count("\n")
    return count


@dataclass
class Source:
    """An opened input file: format, encoding, columns (CSV only) and an estimate of its rows."""

    path: Path
    format: str
    encoding: str
    columns: list[str] = field(default_factory=list)
    estimated_rows: int = 0

    def records(self) -> Iterator[Record]:
        """Yield every row in file order (rows that cannot be parsed carry ``error``)."""
        if self.format == "csv":
            yield from self._csv_records()
        else:
            yield from self._jsonl_records()

    def _open(self) -> io.TextIOWrapper:
        return self.path.open(encoding=self.encoding, newline="")

    def _csv_records(self) -> Iterator[Record]:
        with self._open() as fh:
            reader = csv.reader(fh, dialect=_sniff_dialect(fh), strict=True)
            next(reader)  # header, checked by open_source
            width = len(self.columns)
            last_line = reader.line_num
            while True:
                start = last_line + 1
                try:
                    raw = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    reason = f"malformed CSV: {exc}"
                    if "unexpected end of data" in str(exc):
                        reason += f" (a quote opened on line {start} is never closed; lines {start}–{reader.line_num})"
                    yield Record(start, None, reason)
                    last_line = reader.line_num
                    continue
                last_line = reader.line_num
                if not raw or (len(raw) == 1 and not raw[0].strip() and width > 1):
                    continue  # blank line
                if len(raw) > width and not any(v.strip() for v in raw[width:]):
                    raw = raw[:width]  # trailing separators
                if len(raw) != width:
                    yield Record(
                        start,
                        None,
                        f"malformed CSV: row has {len(raw)} fields but the header has {width} "
                        "(a separator inside an unquoted value?)",
                    )
                    continue
                yield Record(start, dict(zip(self.columns, raw, strict=True)))

    def _jsonl_records(self) -> Iterator[Record]:
        with self._open() as fh:
            first = fh.read(1)
            while first.isspace():
                first = fh.read(1)
            fh.seek(0)
            if first == "[":  # a JSON array of objects
                try:
                    data = json.load(fh)
                except json.JSONDecodeError as exc:
                    yield Record(exc.lineno, None, f"malformed JSON: {exc.msg}")
                    return
                for i, obj in enumerate(data, start=1):
                    yield _json_record(i, obj)
                return
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield Record(lineno, None, f"malformed JSON: {exc.msg} (column {exc.colno})")
                    continue
                yield _json_record(lineno, obj)


def _json_record(row: int, obj: Any) -> Record:
    if not isinstance(obj, dict):
        return Record(row, None, f"expected a JSON object, got {type(obj).__name__}")
    return Record(row, {normalize_column(str(k)): v for k, v in obj.items()})


def _sniff_dialect(fh: io.TextIOBase) -> type[csv.Dialect]:
    """Comma by default; tab or semicolon when the header clearly uses one of those instead."""
    header = fh.readline()
    fh.seek(0)
    counts = {sep: header.count(sep) for sep in (",", "\t", ";")}
    best = max(counts, key=lambda s: counts[s])
    if best == "," or counts[best] == 0:
        return csv.excel
    return csv.excel_tab if best == "\t" else _Semicolon


class _Semicolon(csv.excel):
    delimiter = ";"


def open_source(path: str | Path, *, required: tuple[str, ...] = ()) -> Source:
    """Detect format and encoding and check the header; raises InvalidRequest when nothing can be imported."""
    path = Path(path)
    encoding, newlines = detect_encoding(path)
    fmt = "jsonl" if path.suffix.lower() in JSONL_SUFFIXES else "csv"
    source = Source(path=path, format=fmt, encoding=encoding, estimated_rows=newlines)
    if fmt == "jsonl":
        return source
    with source._open() as fh:
        try:
            header = next(csv.reader(fh, dialect=_sniff_dialect(fh), strict=True), None)
        except csv.Error as exc:
            raise InvalidRequest(f"{path}: the header line is not valid CSV ({exc})") from None
    if not header or not any(h.strip() for h in header):
        raise InvalidRequest(f"{path}: the file is empty (expected a header line with column names)")
    columns = [normalize_column(h) for h in header]
    dupes = sorted({c for c in columns if columns.count(c) > 1 and c})
    if dupes:
        raise InvalidRequest(f"{path}: duplicate column(s) in the header: {', '.join(dupes)}")
    missing = [c for c in required if c not in columns]
    if missing:
        raise InvalidRequest(
            f"{path}: missing required column(s) {', '.join(missing)}; the header has {', '.join(columns)}. "
            "Nothing was imported."
        )
    source.columns = columns
    source.estimated_rows = max(newlines - 1, 0)
    return source
