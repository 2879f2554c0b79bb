"""Files every worker reads (csv.md §4): kept in the database in chunks, read back whole, gone after 7 days."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from boss.csv import files
from boss.errors import ServiceError
from boss.extensions import db
from boss.models import FileChunk, StoredFile, utcnow
from boss.unit_of_work import unit_of_work


def _stored(tenant, content: bytes, max_bytes: int = 10 << 20) -> str:
    with unit_of_work() as uow:
        record = files.store_upload(tenant.account_id, "csv_upload", "x.csv", io.BytesIO(content), max_bytes)
        uow.commit()
    return record.id


def test_a_file_larger_than_a_chunk_is_kept_in_chunks_and_read_back_whole(ctx, tenant):
    content = bytes(range(256)) * (10 * 1024 + 7)  # 2.5 MB and a bit: three chunks
    file_id = _stored(tenant, content)
    assert db.session.scalar(select(func.count()).select_from(FileChunk).where(FileChunk.file_id == file_id)) == 3
    assert b"".join(files.chunks(file_id)) == content
    assert db.session.get(StoredFile, file_id).size == len(content)


def test_an_upload_over_the_limit_is_refused_and_nothing_is_kept(ctx, tenant):
    with pytest.raises(files.FileTooLarge) as refused:
        _stored(tenant, b"x" * 3000, max_bytes=2000)
    assert refused.value.code == "file_too_large" and "2,000" in refused.value.message("ja")
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == 0
    assert db.session.scalar(select(func.count()).select_from(FileChunk)) == 0


def test_files_go_after_their_keeping_time_with_their_chunks_and_newer_ones_stay(ctx, tenant):
    old, new = _stored(tenant, b"old"), _stored(tenant, b"new")
    with unit_of_work() as uow:
        db.session.get(StoredFile, old).created_at = utcnow() - timedelta(days=7, minutes=1)
        db.session.get(StoredFile, new).created_at = utcnow() - timedelta(days=6, hours=23)
        uow.commit()
    assert files.delete_expired() == 1
    assert db.session.get(StoredFile, old) is None and db.session.get(StoredFile, new) is not None
    assert list(files.chunks(old)) == [] and b"".join(files.chunks(new)) == b"new"


def test_another_accounts_file_is_not_found(ctx, tenant, other_tenant):
    file_id = _stored(tenant, b"mine")
    with pytest.raises(ServiceError) as refused:
        files.get_file(other_tenant.account_id, file_id)
    assert refused.value.code == "not_found"
