"""Writing CSV the way Excel reads it (csv.md §3, §4): CRLF line ends, quotes where a cell needs them, in CP932
or UTF-8, piece by piece so that a file of any size never sits whole in memory.

CP932 cannot hold every character (🍣, 𠮷, most accented letters): each one is written as 〓 and counted, so
the screen can say how many were replaced. A cell a spreadsheet would run as a formula (it starts with =, +,
-, @, a tab or a CR) is written with a leading ' (formula injection)."""
from __future__ import annotations

import csv
import io
from typing import Iterable, Iterator, Sequence

ENCODINGS = ("cp932", "utf-8", "utf-8-sig")  # utf-8-sig: UTF-8 with a BOM, which Excel needs to read UTF-8
REPLACEMENT = "〓"
BOM = "\ufeff".encode()
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Characters Unicode has twice where CP932 holds one of the pair (the Mac's and the JIS tables' forms of
# 〜, −, ‖, ¢, £, ¬, —): written as the one CP932 holds, which looks the same, rather than as 〓.
_CP932_LOOKALIKES = str.maketrans({"\u301c": "\uff5e", "\u2212": "\uff0d", "\u2016": "\u2225", "\u00a2": "\uffe0",
                                   "\u00a3": "\uffe1", "\u00ac": "\uffe2", "\u2014": "\u2015"})


def neutralised(cell: str) -> str:
    """The cell as a spreadsheet shows it as text, never as a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def unguarded(cell: str) -> str:
    """A cell read back as it was before `neutralised`: a file that comes back from BOSS's error report or export
    (fixed in Excel and uploaded again) has `'-100`, `'+81…` where the shop wrote `-100`, `+81…`."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in FORMULA_STARTS else cell


class CsvWriter:
    """Rows of strings to encoded bytes, a piece at a time (`rows`); `replaced` counts the characters written
    as 〓 so far (CP932 only). The first piece of a utf-8-sig file starts with the BOM."""

    def __init__(self, encoding: str = "cp932", neutralise: bool = True):
        if encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {encoding!r}: one of {', '.join(ENCODINGS)}")
        self.encoding = encoding
        self.neutralise = neutralise
        self.replaced = 0
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator="\r\n")
        self._bom_due = encoding == "utf-8-sig"

    def rows(self, rows: Iterable[Sequence[str]]) -> bytes:
        for cells in rows:
            self._csv.writerow([neutralised(cell) for cell in cells] if self.neutralise else cells)
        text = self._text.getvalue()
        self._text.seek(0)
        self._text.truncate()
        data = self._encode(text)
        if self._bom_due:
            self._bom_due = False
            data = BOM + data
        return data

    def row(self, cells: Sequence[str]) -> bytes:
        return self.rows([cells])

    def _encode(self, text: str) -> bytes:
        if self.encoding != "cp932":
            return text.encode("utf-8")
        text = text.translate(_CP932_LOOKALIKES)
        pieces, start = [], 0
        while True:
            try:
                pieces.append(text[start:].encode("cp932"))
                return b"".join(pieces)
            except UnicodeEncodeError as exc:  # positions are within text[start:]
                pieces.append(text[start:start + exc.start].encode("cp932"))
                self.replaced += exc.end - exc.start
                pieces.append(REPLACEMENT.encode("cp932") * (exc.end - exc.start))
                start += exc.end


def encode_rows(rows: Iterable[Sequence[str]], writer: CsvWriter, rows_per_piece: int = 500) -> Iterator[bytes]:
    """The rows as encoded pieces of up to `rows_per_piece` rows each (the writer counts what it replaced)."""
    batch: list[Sequence[str]] = []
    for cells in rows:
        batch.append(cells)
        if len(batch) >= rows_per_piece:
            yield writer.rows(batch)
            batch = []
    if batch:
        yield writer.rows(batch)
