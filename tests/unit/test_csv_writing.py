"""boss/csv/writing.py: CSV as Excel reads it — CRLF, quoting, CP932 with 〓 counted, UTF-8 with BOM, and cells a
spreadsheet would run as formulas written as text."""
from __future__ import annotations

import csv
import io

import pytest

from boss.csv.writing import BOM, CsvWriter, encode_rows, neutralised


def _read(data: bytes, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


@pytest.mark.parametrize("cell", ["=SUM(A1:A9)", "+81-3-1234", "-1+1", "@cmd", "\tTAB", "\rCR"])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text(cell):
    assert neutralised(cell) == "'" + cell
    written = CsvWriter("utf-8").row([cell])
    assert _read(written, "utf-8") == [["'" + cell]]


@pytest.mark.parametrize("cell", ["山田", "03-1234-5678", "1,200", "", "a=b", " =1"])
def test_other_cells_are_written_as_they_are(cell):
    assert _read(CsvWriter("utf-8").row([cell, "x"]), "utf-8") == [[cell, "x"]]


def test_the_formula_guard_can_be_left_off_for_a_file_written_back_as_it_came():
    assert _read(CsvWriter("cp932", neutralise=False).row(["=1+1"]), "cp932") == [["=1+1"]]


def test_rows_end_with_crlf_and_line_breaks_inside_a_cell_are_quoted_and_kept():
    data = CsvWriter("cp932").rows([["a", "カラー:赤\nサイズ:M"], ["b", 'say "hi", ok']])
    assert data.count(b"\r\n") == 2 and data.endswith(b"\r\n")
    assert _read(data, "cp932") == [["a", "カラー:赤\nサイズ:M"], ["b", 'say "hi", ok']]
    assert b'"say ""hi"", ok"' in data


def test_cp932_writes_what_it_cannot_hold_as_geta_marks_and_counts_them():
    writer = CsvWriter("cp932")
    data = writer.rows([["寿司🍣", "𠮷野家", "①②髙"], ["Zoë"]])
    assert _read(data, "cp932") == [["寿司〓", "〓野家", "①②髙"], ["Zo〓"]]
    assert writer.replaced == 3
    writer.row(["🍣🍣"])
    assert writer.replaced == 5  # counted over the whole file


def test_cp932_writes_the_lookalike_it_holds_instead_of_a_geta_mark():
    writer = CsvWriter("cp932")
    assert _read(writer.row(["10時〜12時", "−5"]), "cp932") == [["10時～12時", "－5"]]
    assert writer.replaced == 0


def test_utf8_sig_starts_with_one_bom_and_keeps_every_character():
    writer = CsvWriter("utf-8-sig")
    data = b"".join(encode_rows([["寿司🍣"], ["Zoë"], ["x"]], writer, rows_per_piece=1))
    assert data.startswith(BOM) and data.count(BOM) == 1
    assert _read(data, "utf-8-sig") == [["寿司🍣"], ["Zoë"], ["x"]]
    assert writer.replaced == 0


def test_plain_utf8_has_no_bom():
    assert not CsvWriter("utf-8").row(["a"]).startswith(BOM)


def test_encode_rows_gives_pieces_of_the_rows_asked_for():
    pieces = list(encode_rows(([str(i)] for i in range(5)), CsvWriter("cp932"), rows_per_piece=2))
    assert pieces == [b"0\r\n1\r\n", b"2\r\n3\r\n", b"4\r\n"]


def test_an_unknown_encoding_is_refused():
    with pytest.raises(ValueError):
        CsvWriter("latin-1")
