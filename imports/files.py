"""Reading an uploaded file: CSV (encoding and delimiter detected) or XLSX, one row at a time.

Nothing here holds the whole file: CSV is decoded as a stream, XLSX read in openpyxl's
read-only mode. Encodings tried: UTF-8 (with or without BOM), else Windows-1252, else Latin-1
(which decodes any byte). Delimiters: comma, semicolon, tab.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.core.exceptions import ValidationError

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t")
XLSX_MAGIC = b"PK\x03\x04"
# Bytes Windows-1252 leaves undefined: a file with them is Latin-1.
_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


@dataclass
class Table:
    file_format: str
    encoding: str
    delimiter: str
    headers: list[str]
    rows: Iterator[list[str]]  # the records after the header, each a list of cells as text


def _detect_encoding(stream: IO[bytes]) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    undefined_1252 = False
    utf8 = True
    stream.seek(0)
    while block := stream.read(1024 * 1024):
        if utf8:
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                utf8 = False
        if not utf8 and any(b in _CP1252_UNDEFINED for b in block):
            undefined_1252 = True
            break
    stream.seek(0)
    if utf8:
        head = stream.read(3)
        stream.seek(0)
        return "utf-8-sig" if head == codecs.BOM_UTF8 else "utf-8"
    return "latin-1" if undefined_1252 else "cp1252"


def _detect_delimiter(sample: str) -> str:
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        # One column, or a sample the sniffer cannot decide: the delimiter the header has most of.
        counts = {d: lines[0].count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _clean_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if hasattr(value, "isoformat"):
        return (
            value.isoformat()[:10]
            if getattr(value, "hour", 0) == 0 and getattr(value, "minute", 0) == 0
            else value.isoformat()
        )
    return str(value).strip()


def _not_blank(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    for row in rows:
        cells = [_clean_cell(c) for c in row]
        if any(cells):
            yield cells


def _read_csv(stream: IO[bytes]) -> Table:
    stream.seek(0)
    head = stream.read(SAMPLE_BYTES)
    if b"\x00" in head:
        raise ValidationError(
            "This is not a CSV file (it contains binary data). Upload a CSV or an Excel (.xlsx) file."
        )
    encoding = _detect_encoding(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    sample = text.read(SAMPLE_BYTES)
    text.seek(0)
    delimiter = _detect_delimiter(sample)
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(_not_blank(reader), None)
    except csv.Error as exc:
        raise ValidationError(f"This file cannot be read as CSV: {exc}.") from exc
    if header is None:
        raise ValidationError("The file has no header row and no records.")
    return Table("csv", encoding, delimiter, header, _not_blank(reader))


def _read_xlsx(stream: IO[bytes]) -> Table:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    stream.seek(0)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ValidationError("This Excel file cannot be read. Save it again as .xlsx, or as CSV.") from exc
    sheet = workbook.worksheets[0]
    rows = _not_blank(iter(list(r) for r in sheet.iter_rows(values_only=True)))
    header = next(rows, None)
    if header is None:
        raise ValidationError("The file has no header row and no records.")
    while header and not header[-1]:
        header.pop()
    return Table("xlsx", "", "", header, rows)


def read_table(stream: IO[bytes], file_name: str) -> Table:
    """The file's header and a stream of its rows, or a ValidationError saying what is wrong."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size == 0:
        raise ValidationError("The file is empty (0 bytes). Choose the file with your records.")
    magic = stream.read(4)
    stream.seek(0)
    if magic == XLSX_MAGIC or file_name.lower().endswith((".xlsx", ".xlsm")):
        if magic != XLSX_MAGIC:
            raise ValidationError("This file is named .xlsx but is not an Excel workbook.")
        return _read_xlsx(stream)
    return _read_csv(stream)
