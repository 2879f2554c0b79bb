"""A CSV job's error report (csv.md §4): the refused rows as uploaded, in file order, with an エラー内容 column, in
the upload's encoding — to fix in Excel and upload again. One pass over the file merged with the job's refused
rows (import_errors) in row order, both read a batch at a time: memory flat whatever the file's size."""
from __future__ import annotations

from typing import Iterable, Iterator, Optional

from sqlalchemy import select, tuple_

from ..extensions import db
from ..models import CsvRowError
from .files import FileWriter
from .reading import Row, Table
from .writing import CsvWriter, encode_rows

REPORT_COLUMN = "エラー内容"
ANY_FILE = object()  # every refused row of the job, whatever file of the upload it is in


def errors_by_row(job_id: str, file_name=ANY_FILE, batch: int = 1000) -> Iterator[tuple[int, str]]:
    """(row, its errors as one text: 「列: 理由 / …」) in row order, of one file of the upload (`file_name` None: the
    only one), read from import_errors a batch at a time (keyset)."""
    after = (0, 0)
    current_row, texts = None, []
    where = [CsvRowError.job_id == job_id]
    if file_name is not ANY_FILE:
        where.append(CsvRowError.file_name.is_(None) if file_name is None else CsvRowError.file_name == file_name)
    while True:
        found = db.session.execute(select(CsvRowError.row, CsvRowError.id, CsvRowError.column, CsvRowError.message)
                                   .where(*where, tuple_(CsvRowError.row, CsvRowError.id) > tuple_(*after))
                                   .order_by(CsvRowError.row, CsvRowError.id).limit(batch)).all()
        for row, _, column, message in found:
            if row != current_row and current_row is not None:
                yield current_row, " / ".join(texts)
                texts = []
            current_row = row
            texts.append(f"{column}: {message}" if column else message)
        if len(found) < batch:
            break
        after = (found[-1].row, found[-1].id)
    if current_row is not None:
        yield current_row, " / ".join(texts)


def write_refused_rows(writer: FileWriter, table: Table, errors: Iterator[tuple[int, str]],
                       encoding: Optional[str] = None) -> None:
    """The header and each refused row of `table` with its errors, into `writer`; nothing when no row of it was
    refused."""
    pending = next(errors, None)
    if pending is None:
        return
    csv_writer = CsvWriter(encoding or table.encoding)
    writer.write(csv_writer.row([*table.header.names, REPORT_COLUMN]))
    for piece in encode_rows(_refused(table.rows(), pending, errors), csv_writer):
        writer.write(piece)


def _refused(rows: Iterable[Row], pending: Optional[tuple[int, str]],
             errors: Iterator[tuple[int, str]]) -> Iterator[list[str]]:
    for row in rows:
        while pending is not None and pending[0] < row.number:
            pending = next(errors, None)
        if pending is None:
            return
        if pending[0] == row.number:
            yield [*row.cells, pending[1]]
