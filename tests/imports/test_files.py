"""Files as people have them: encodings, delimiters, Excel, and files that are not what they say."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from imports.files import read_table

ROWS = "First name;Last name;Email\nJürgen;Müller;jm@example.com\nÅsa;Öberg;ao@example.com\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (ROWS.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + ROWS.encode("utf-8"), "utf-8-sig"),
        (ROWS.encode("latin-1"), "latin-1"),
        ((ROWS + "Zoë;“Quote”;q@example.com\n").encode("cp1252"), "cp1252"),
    ],
)
def test_encodings_are_detected(data, encoding):
    table = read_table(io.BytesIO(data), "people.csv")
    rows = list(table.rows)
    assert table.headers == ["First name", "Last name", "Email"]
    assert rows[0] == ["Jürgen", "Müller", "jm@example.com"]
    assert rows[1][1] == "Öberg"
    assert table.encoding in ({encoding, "cp1252"} if encoding == "latin-1" else {encoding})


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters_are_detected(delimiter):
    text = f"Name{delimiter}Email{delimiter}Phone\nMaija Virtanen{delimiter}m@example.com{delimiter}040 123 4567\n"
    table = read_table(io.BytesIO(text.encode()), "people.csv")
    assert table.delimiter == delimiter
    assert list(table.rows) == [["Maija Virtanen", "m@example.com", "040 123 4567"]]


def test_quoted_cells_keep_their_delimiters():
    text = 'Name,Company\n"Virtanen, Maija","Acme, Inc."\n'
    table = read_table(io.BytesIO(text.encode()), "people.csv")
    assert list(table.rows) == [["Virtanen, Maija", "Acme, Inc."]]


def test_xlsx_is_read():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Last name", "Email", "Score"])
    sheet.append(["Virtanen", "m@example.com", 42])
    out = io.BytesIO()
    workbook.save(out)
    table = read_table(io.BytesIO(out.getvalue()), "people.xlsx")
    assert table.file_format == "xlsx"
    assert list(table.rows) == [["Virtanen", "m@example.com", "42"]]


def test_zero_byte_file_is_refused():
    with pytest.raises(ValidationError, match="empty"):
        read_table(io.BytesIO(b""), "people.csv")


def test_binary_file_is_refused_as_not_csv():
    with pytest.raises(ValidationError, match="not a CSV"):
        read_table(io.BytesIO(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "photo.csv")


def test_file_named_xlsx_that_is_not_is_refused():
    with pytest.raises(ValidationError, match="not an Excel workbook"):
        read_table(io.BytesIO(b"a,b\n1,2\n"), "people.xlsx")
