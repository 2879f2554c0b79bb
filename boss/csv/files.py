"""Files every worker can read (csv.md §4): an upload, an error report or an export, kept in the database in
chunks of up to 1 MB — a Heroku dyno's disk is neither shared nor kept — and deleted after FILE_KEEP_DAYS.

Writing and reading go chunk by chunk, so memory stays flat whatever the file's size. Nothing here commits:
a file is written in its caller's unit of work."""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import BinaryIO, Iterable, Iterator

from flask import current_app
from sqlalchemy import delete, insert, select

from .. import effects
from ..errors import ServiceError, not_found
from ..extensions import db
from ..models import FileChunk, StoredFile, utcnow
from ..reason import Reason
from ..unit_of_work import unit_of_work

CHUNK_BYTES = 1 << 20


class FileTooLarge(ServiceError):
    """An upload over CSV_MAX_BYTES (413 file_too_large, the limit named)."""

    def __init__(self, limit: int):
        megabytes = limit / (1 << 20)
        size = f"{megabytes:g} MB" if megabytes >= 1 else f"{limit:,} bytes"
        super().__init__("file_too_large", Reason(
            f"ファイルが大きすぎます（上限 {size}）。ファイルを分けてアップロードしてください。",
            f"The file is too large (limit {size}). Split it and upload the parts."), {"file": size})


class FileWriter:
    """Bytes written in pieces of any size, stored as chunks of CHUNK_BYTES as they fill (one INSERT each)."""

    def __init__(self, record: StoredFile):
        self.record = record
        self._buffer = bytearray()
        self._seq = 0

    @property
    def id(self) -> str:
        return self.record.id

    def write(self, data: bytes) -> None:
        self._buffer += data
        self.record.size += len(data)
        while len(self._buffer) >= CHUNK_BYTES:
            self._put(bytes(self._buffer[:CHUNK_BYTES]))
            del self._buffer[:CHUNK_BYTES]

    def close(self) -> StoredFile:
        if self._buffer or self._seq == 0:
            self._put(bytes(self._buffer))
            self._buffer.clear()
        return self.record

    def _put(self, data: bytes) -> None:
        db.session.execute(insert(FileChunk), [{"file_id": self.record.id, "seq": self._seq, "data": data}])
        self._seq += 1


def create(account_id: int, kind: str, name: str, job_id: str | None = None) -> FileWriter:
    """A new file to write into (the caller commits)."""
    record = StoredFile(id=str(uuid.uuid4()), account_id=account_id, kind=kind, name=name[:255], size=0,
                        job_id=job_id, created_at=utcnow())
    db.session.add(record)
    db.session.flush()
    return FileWriter(record)


def store_upload(account_id: int, kind: str, name: str, stream: BinaryIO, max_bytes: int) -> StoredFile:
    """An uploaded file read from `stream` a chunk at a time; over `max_bytes` → FileTooLarge, nothing kept
    (the caller's unit of work rolls back what was written)."""
    writer = create(account_id, kind, name)
    while True:
        data = stream.read(CHUNK_BYTES)
        if not data:
            break
        if writer.record.size + len(data) > max_bytes:
            raise FileTooLarge(max_bytes)
        writer.write(data)
    return writer.close()


def get_file(account_id: int, file_id: str) -> StoredFile:
    record = db.session.get(StoredFile, file_id) if isinstance(file_id, str) and len(file_id) <= 36 else None
    if record is None or record.account_id != account_id:
        raise not_found("ファイル", "File")
    return record


def chunks(file_id: str) -> Iterator[bytes]:
    """The file's bytes, one chunk per query (keyset on seq): one chunk in memory at a time."""
    seq = -1
    while True:
        row = db.session.execute(select(FileChunk.seq, FileChunk.data).where(
            FileChunk.file_id == file_id, FileChunk.seq > seq).order_by(FileChunk.seq).limit(1)).first()
        if row is None:
            return
        seq = row.seq
        yield bytes(row.data)


def opener(file_id: str):
    """What boss.csv.reading wants: a callable giving a fresh pass over the file's bytes each time."""
    return lambda: chunks(file_id)


def write_all(writer: FileWriter, pieces: Iterable[bytes]) -> StoredFile:
    for piece in pieces:
        writer.write(piece)
    return writer.close()


@effects.periodic("deleted %d files older than their keeping time")
def delete_expired() -> int:
    """Files go after FILE_KEEP_DAYS (csv.md §4: 7 days), their chunks with them."""
    before = utcnow() - timedelta(days=current_app.config["FILE_KEEP_DAYS"])
    with unit_of_work() as uow:
        ids = list(db.session.scalars(select(StoredFile.id).where(StoredFile.created_at < before).limit(500)))
        if ids:
            db.session.execute(delete(FileChunk).where(FileChunk.file_id.in_(ids)))
            db.session.execute(delete(StoredFile).where(StoredFile.id.in_(ids)))
        uow.commit()
    return len(ids)
