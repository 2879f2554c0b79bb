"""Reading a CSV file as Excel writes it (csv.md §1, §4), pure and streaming: no Flask, no SQLAlchemy.

The file comes as `open_chunks`, a callable giving a fresh iterator of its bytes each time: detection takes one
pass, each pass over the rows another, and none holds more than a row and a buffer in memory. The encoding is
detected (UTF-8 with BOM, UTF-8, else CP932) or chosen; the text is parsed by the stdlib `csv` module over a
decoding stream (Excel's quoting, CRLF, line breaks inside quotes kept in the cell). Bytes the encoding cannot
decode are kept as lone surrogates (surrogateescape) so that the row holding them is named exactly.

What makes the whole file unreadable is a FileRefused, saying in Japanese and English what is wrong, where, and
what to do: a binary file, bytes neither encoding reads, a header of one column (the wrong delimiter), missing
required columns, a row with more cells than the header. An empty file, or a header alone, is zero rows.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional, Sequence

from ..reason import Reason
from .writing import unguarded

OpenChunks = Callable[[], Iterable[bytes]]

AUTO, UTF8, UTF8_BOM, CP932 = "auto", "utf-8", "utf-8-sig", "cp932"
ENCODINGS = (AUTO, UTF8, CP932)  # what a user may choose
ENCODING_NAMES = {UTF8: "UTF-8", UTF8_BOM: "UTF-8", CP932: "Shift_JIS (CP932)"}
_CHOSEN = {"auto": AUTO, "utf-8": UTF8, "utf8": UTF8, "utf-8-sig": UTF8, "cp932": CP932, "shift_jis": CP932,
           "sjis": CP932, "windows-31j": CP932}
COMMA, TAB = ",", "\t"

BINARY_PROBE = 64 * 1024  # a NUL byte this near the start: not a text file
BOM = codecs.BOM_UTF8
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# A NUL, or a byte the encoding could not decode (kept by surrogateescape as a lone surrogate).
_UNREADABLE = re.compile("[\x00\udc80-\udcff]")
_BUFFER = 64 * 1024


class FileRefused(Exception):
    """The file itself is refused (csv.md §4) — not a row: binary, neither UTF-8 nor CP932, a one-column header,
    required columns missing, ragged rows. `reason` says what is wrong and where, in ja and en."""

    def __init__(self, reason: Reason, row: Optional[int] = None):
        super().__init__(reason.en)
        self.reason = reason
        self.row = row


@dataclass(frozen=True)
class Column:
    field: str  # "mall_order_number"
    ja: str  # "モール注文番号" — the Japanese header
    required: bool = False
    aliases: tuple[str, ...] = ()  # other accepted header names besides ja and field (English name = field)

    def keys(self) -> tuple[str, ...]:
        return tuple(header_key(name) for name in (self.ja, self.field, *self.aliases))


@dataclass(frozen=True)
class Header:
    names: tuple[str, ...]  # the header cells as written in the file (empty trailing cells left off)
    index: dict[str, int]  # field -> column position
    unknown: tuple[str, ...]  # header names that are none of the columns (listed in the result)

    def name_of(self, field: str) -> str:
        """The header as written in the file for that field (for error messages); "" when the file has none."""
        position = self.index.get(field)
        return self.names[position] if position is not None else ""

    def has(self, field: str) -> bool:
        return field in self.index

    def cell(self, row: "Row", field: str) -> str:
        """The row's cell under that field's column, "" when the file has no such column or the row stops short;
        a cell BOSS guarded against formulas when it wrote the file (`'-100`) reads as the shop wrote it."""
        position = self.index.get(field)
        if position is None or position >= len(row.cells):
            return ""
        return unguarded(row.cells[position])


@dataclass(frozen=True)
class Row:
    number: int  # the row as Excel shows it: header is row 1, first data record row 2 (a record is one row)
    cells: tuple[str, ...]


def header_key(name: str) -> str:
    """How header names are compared: NFKC, all white space (and BOMs, zero-width spaces) removed, casefolded."""
    folded = unicodedata.normalize("NFKC", name).replace("\ufeff", "").replace("\u200b", "")
    return "".join(folded.split()).casefold()


# ---------------------------------------------------------------- encoding


def _refuse_choice(encoding: str) -> FileRefused:
    return FileRefused(Reason(
        f"文字コード「{encoding}」は選べません。自動判定（auto）、UTF-8（utf-8）、Shift_JIS（cp932）のいずれかを選んでください。",
        f"Encoding “{encoding}” is not one to choose. Choose auto, utf-8 or cp932 (Shift_JIS)."))


REASON_BINARY = Reason(
    "CSVファイルではありません（バイナリファイルです）。Excelで「CSV UTF-8」または「CSV（コンマ区切り）」として保存したファイルを選んでください。",
    "This is not a CSV file (it is binary). Choose a file saved from Excel as “CSV UTF-8” or “CSV (Comma delimited)”.")
REASON_UTF16 = Reason(
    "UTF-16（Excelの「Unicode テキスト」）のファイルは読めません。Excelで「CSV UTF-8」として保存し直してください。",
    "UTF-16 files (Excel's “Unicode Text”) cannot be read. Save the file from Excel as “CSV UTF-8” again.")


def detect_encoding(open_chunks: OpenChunks, encoding: str = AUTO) -> str:
    """The encoding to read the file with: "utf-8-sig", "utf-8" or "cp932".

    "auto": a UTF-8 BOM -> "utf-8-sig"; the whole file valid UTF-8 (an incremental decoder over the chunks, memory
    flat) -> "utf-8"; else "cp932". A chosen "utf-8" with a BOM is "utf-8-sig"; a chosen "cp932" is taken as is.
    A NUL byte in the first 64 KB, or a UTF-16 BOM: FileRefused (binary). Another choice: FileRefused naming the
    choices. Whether CP932 reads every byte is found by the rows (naming the row that it does not read)."""
    chosen = _CHOSEN.get((encoding or AUTO).strip().lower())
    if chosen is None:
        raise _refuse_choice(encoding)
    head = bytearray()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    valid_utf8 = chosen == AUTO
    for chunk in open_chunks():
        if len(head) < BINARY_PROBE:
            probe = chunk[:BINARY_PROBE - len(head)]
            head += probe
            if b"\x00" in probe:
                raise FileRefused(REASON_UTF16 if bytes(head[:2]) in UTF16_BOMS else REASON_BINARY)
        if valid_utf8:
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                valid_utf8 = False
        if len(head) >= BINARY_PROBE and (not valid_utf8 or head.startswith(BOM)):
            break  # what is left to read cannot change the answer
    if bytes(head[:2]) in UTF16_BOMS:
        raise FileRefused(REASON_UTF16)
    if head.startswith(BOM) and chosen != CP932:
        return UTF8_BOM
    if chosen != AUTO:
        return chosen
    if valid_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:  # the file ends inside a character
            valid_utf8 = False
    return UTF8 if valid_utf8 else CP932


class _ChunkStream(io.RawIOBase):
    """The chunks as a raw binary stream, for io.BufferedReader and io.TextIOWrapper: one chunk held at a time."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _text_stream(open_chunks: OpenChunks, encoding: str) -> io.TextIOWrapper:
    raw = io.BufferedReader(_ChunkStream(open_chunks()), buffer_size=_BUFFER)
    return io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="")


# ---------------------------------------------------------------- records


def _dialect(delimiter: str) -> dict:
    """Excel's comma CSV; tab files are read without quote handling (Amazon does not quote, csv.md §6)."""
    if delimiter == TAB:
        return {"delimiter": TAB, "quoting": csv.QUOTE_NONE}
    return {"delimiter": COMMA}


def _records(open_chunks: OpenChunks, encoding: str, delimiter: str,
             detected: bool = False) -> Iterator[tuple[int, list[str]]]:
    """(row number as Excel shows it, cells) for every record, blank ones too; problems of the text refused
    (`detected`: the encoding was the detection's, not the user's choice)."""
    stream = _text_stream(open_chunks, encoding)
    number = 0
    try:
        reader = csv.reader(stream, **_dialect(delimiter))
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise _refuse_unreadable(number + 1, str(exc)) from None
            number += 1
            unreadable = _UNREADABLE.search("".join(cells))
            if unreadable and unreadable.group() == "\x00":
                raise FileRefused(Reason(f"{number}行目にNUL文字があります。{REASON_BINARY.ja}",
                                         f"Row {number} holds a NUL character. {REASON_BINARY.en}"), number)
            if unreadable:
                raise _refuse_undecodable(number, encoding, detected)
            yield number, cells
    finally:
        stream.close()


def _refuse_unreadable(row: int, why: str) -> FileRefused:
    return FileRefused(Reason(
        f"{row}行目以降を読めません（閉じていない「\"」があるか、1つのセルが長すぎます）。Excelで開いて保存し直してください。",
        f"Row {row} onwards cannot be read (a “\"” left open, or a cell too long: {why}). "
        "Open the file in Excel and save it again."), row)


def _refuse_undecodable(row: int, encoding: str, detected: bool) -> FileRefused:
    if encoding == CP932 and detected:  # not UTF-8 either: the detection tried it first
        return FileRefused(Reason(
            f"{row}行目は UTF-8 としても Shift_JIS（CP932）としても読めません。"
            "Excelで「CSV UTF-8」として保存し直してください。",
            f"Row {row} can be read neither as UTF-8 nor as Shift_JIS (CP932). "
            "Save the file from Excel as “CSV UTF-8” again."), row)
    if encoding == CP932:
        return FileRefused(Reason(
            f"{row}行目を Shift_JIS（CP932）として読めません。文字コードで「UTF-8」を選ぶか、"
            "Excelで「CSV UTF-8」として保存し直してください。",
            f"Row {row} cannot be read as Shift_JIS (CP932). Choose the UTF-8 encoding, "
            "or save the file from Excel as “CSV UTF-8” again."), row)
    return FileRefused(Reason(
        f"{row}行目を UTF-8 として読めません。文字コードで「Shift_JIS（CP932）」を選ぶか、"
        "Excelで「CSV UTF-8」として保存し直してください。",
        f"Row {row} cannot be read as UTF-8. Choose the Shift_JIS (CP932) encoding, "
        "or save the file from Excel as “CSV UTF-8” again."), row)


def _blank(cells: Sequence[str]) -> bool:
    return all(not cell.strip() for cell in cells)


def _trimmed(cells: Sequence[str]) -> tuple[str, ...]:
    """The cells without the empty ones at the end."""
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    return tuple(cells[:end])


def sniff_delimiter(header_line: str) -> str:
    """csv.md §6: whichever of tab and comma splits the header line into more fields, comma on a tie."""
    return TAB if header_line.count(TAB) > header_line.count(COMMA) else COMMA


def _first_line(open_chunks: OpenChunks, encoding: str) -> str:
    stream = _text_stream(open_chunks, encoding)
    try:
        return stream.readline(BINARY_PROBE)
    finally:
        stream.close()


# ---------------------------------------------------------------- the table


@dataclass
class Table:
    encoding: str  # what was used: "utf-8-sig" | "utf-8" | "cp932"
    header: Header
    open_chunks: OpenChunks
    header_row: int = 1  # the header's row as Excel shows it (blank rows before it are counted, and skipped)
    delimiter: str = COMMA
    detected: bool = False  # the encoding is the detection's ("auto"), not the user's choice

    def rows(self) -> Iterator[Row]:
        """A fresh pass over the data rows each call (re-opens the chunks), streaming. Blank rows are skipped;
        a row with a non-empty cell right of the header's last column is refused (ragged), one that stops short
        reads as empty cells; cells of a row are as many as the header's (padded with "")."""
        width = len(self.header.names)
        for number, cells in _records(self.open_chunks, self.encoding, self.delimiter, self.detected):
            if number <= self.header_row or _blank(cells):
                continue
            if len(cells) > width and not _blank(cells[width:]):
                raise _refuse_ragged(number, len(_trimmed(cells)), width)
            yield Row(number, tuple(cells[:width]) + ("",) * (width - len(cells)))


def _refuse_ragged(row: int, cells: int, width: int) -> FileRefused:
    return FileRefused(Reason(
        f"{row}行目の列の数（{cells}）が見出し行の列の数（{width}）より多くなっています。"
        "「,」を含むセルが「\"」で囲まれているか確認してください。",
        f"Row {row} has more cells ({cells}) than the header ({width}). "
        "Check that cells holding a comma are quoted with “\"”."), row)


def read_header(cells: Sequence[str], columns: Sequence[Column], required: Sequence[str], row: int = 1) -> Header:
    """The header matched to the columns (header_key on each side); refused when it is one column, when a
    column appears twice, or when required ones are missing (named by their Japanese header)."""
    names = _trimmed(cells)
    if len(names) <= 1:
        raise FileRefused(Reason(
            f"{row}行目の見出し行が1列しかありません。区切り文字が「,」（コンマ）ではないようです。"
            "Excelで「CSV UTF-8」または「CSV（コンマ区切り）」として保存し直してください。",
            f"The header (row {row}) is a single column: the delimiter is probably not a comma. "
            "Save the file from Excel as “CSV UTF-8” or “CSV (Comma delimited)” again."), row)
    by_key = {key: column for column in columns for key in column.keys()}
    index: dict[str, int] = {}
    unknown = []
    for position, name in enumerate(names):
        column = by_key.get(header_key(name))
        if column is None:
            if name.strip():
                unknown.append(name)
            continue
        if column.field in index:
            first = names[index[column.field]]
            raise FileRefused(Reason(
                f"見出し「{first}」と「{name}」は同じ列（{column.ja}）です。どちらか一方を削除してください。",
                f"Headers “{first}” and “{name}” are the same column ({column.field}). Remove one of them."), row)
        index[column.field] = position
    missing = [column for field in required for column in columns if column.field == field and field not in index]
    if missing:
        raise FileRefused(Reason(
            f"必須の列がありません: {', '.join(column.ja for column in missing)}。見出し行（{row}行目）に追加してください。",
            f"Required columns are missing: {', '.join(column.field for column in missing)} "
            f"({', '.join(column.ja for column in missing)}). Add them to the header (row {row})."), row)
    return Header(names=names, index=index, unknown=tuple(unknown))


def _detected(encoding: str) -> bool:
    return _CHOSEN.get((encoding or AUTO).strip().lower()) == AUTO


def peek_header(open_chunks: OpenChunks, encoding: str = AUTO, delimiter: str = COMMA) -> tuple[str, str, int, tuple]:
    """(encoding, delimiter, header row, header names) of a file, before its columns are known (a preset is
    chosen by them). `delimiter` "auto" is sniffed from the first line (csv.md §6). An empty file: no names."""
    used = detect_encoding(open_chunks, encoding)
    if delimiter == "auto":
        delimiter = sniff_delimiter(_first_line(open_chunks, used))
    for number, cells in _records(open_chunks, used, delimiter, _detected(encoding)):
        if not _blank(cells):
            return used, delimiter, number, _trimmed(cells)
    return used, delimiter, 0, ()


def open_table(open_chunks: OpenChunks, columns: Sequence[Column], encoding: str = AUTO,
               required: Optional[Sequence[str]] = None, delimiter: str = COMMA) -> Table:
    """The file's encoding and header, checked; `Table.rows()` then streams its rows. `required`: the fields
    that must be present (default: the columns marked required). An empty file is a table of no rows."""
    used, delimiter, header_row, names = peek_header(open_chunks, encoding, delimiter)
    if not names:
        return Table(used, Header((), {}, ()), open_chunks, header_row, delimiter, _detected(encoding))
    if required is None:
        required = [column.field for column in columns if column.required]
    header = read_header(names, columns, required, header_row)
    return Table(used, header, open_chunks, header_row, delimiter, _detected(encoding))
