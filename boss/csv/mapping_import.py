"""商品マッピングCSV (csv.md §2, §4, §5): each row adds, updates or deletes a mapping, and the waiting lines of
not-deleted 確認待 orders are mapped as by a mapping made on the screen (boss.orders.mapping's own steps).

`start` keeps the upload, checks its header at once and creates the job; the job (`run_job`) reads the file in
a streaming pass, row after row, in chunks of CHUNK_ROWS: a chunk's mappings, its refused rows (import_errors),
its counts and the checkpoint commit in one transaction, so a job killed and resumed carries out no row twice.
A row is checked whole before anything is changed (its shop, SKU, the mapping it deletes), so a refused row
leaves no trace. At the end the error report (the refused rows as uploaded plus an エラー内容 column, in the
upload's encoding) is written and the job's result set.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Optional

from flask import current_app
from sqlalchemy import insert, select

from .. import effects, outbox
from ..errors import ServiceError
from ..extensions import db
from ..job_records import create_job, set_progress
from ..models import CsvRowError, ItemMapping, JobRecord, Product, Shop
from ..orders import history
from ..orders.actor import Actor
from ..orders.mapping import add_mapping, remap
from ..reason import Reason
from ..unit_of_work import unit_of_work
from . import files
from .reading import Column, FileRefused, Header, Row, Table, open_table
from .report import errors_by_row, write_refused_rows
from .values import MISSING, REASON_MISSING

KIND = "csv_mappings"
RUN = "csv.mappings"
CHUNK_ROWS = 500
MAX_ERRORS_SHOWN = 1_000  # csv.md §5: the result lists the first 1,000

COLUMNS = (
    Column("delete", "削除フラグ"),
    Column("shop", "ショップ", required=True),
    Column("mall_item_id", "モール商品ID", required=True),
    Column("sub_code", "サブコード"),
    Column("sku", "SKUコード", required=True),
)
TEMPLATE = (("削除フラグ", "ショップ", "モール商品ID", "サブコード", "SKUコード"),
            ("", "楽天ショップ", "tea-cup-01", "red", "CUP-RED"))
LIMITS = {"mall_item_id": 255, "sub_code": 255, "sku": 64}

INVALID_CHOICE, TOO_LONG = "invalid_choice", "too_long"
UNKNOWN_SHOP, UNKNOWN_SKU, MAPPING_NOT_FOUND = "unknown_shop", "unknown_sku", "mapping_not_found"
ROW_CODES = (MISSING, INVALID_CHOICE, TOO_LONG, UNKNOWN_SHOP, UNKNOWN_SKU, MAPPING_NOT_FOUND)
COUNTS = ("created", "updated", "unchanged", "deleted", "lines_mapped", "rows_refused")


@dataclass(frozen=True)
class RowError:
    field: str
    code: str
    reason: Reason


# ---------------------------------------------------------------- starting


def start(actor: Actor, stream: Optional[BinaryIO], file_name: str, encoding: str = "auto",
          lang: str = "ja") -> JobRecord:
    """Keep the upload, check it can be read (encoding, header with ショップ, モール商品ID, SKUコード) and start
    the job. No file, or a file refused: ServiceError validation_error with `fields.file`; too large: FileTooLarge
    (413)."""
    if stream is None:
        reason = Reason("CSVファイル（file）を選んでください。", "Send the CSV file as `file`.")
        raise ServiceError("validation_error", reason, {"file": reason.text(lang)})
    limit = current_app.config["CSV_MAX_BYTES"]
    with unit_of_work() as uow:
        stored = files.store_upload(actor.account_id, "csv_upload", file_name or "mappings.csv", stream, limit)
        try:
            table = open_table(files.opener(stored.id), COLUMNS, encoding)
        except FileRefused as exc:
            raise ServiceError("validation_error", exc.reason, {"file": exc.reason.text(lang)}) from None
        job = create_job(actor.account_id, KIND, {
            "file_id": stored.id, "file_name": stored.name, "encoding": table.encoding, "lang": lang,
            "user_id": actor.user_id, "user_name": actor.name}, created_by=actor.name)
        db.session.flush()
        stored.job_id = job.id
        outbox.record(RUN, {"job_id": job.id}, job_id=job.id)
        uow.commit()
    return job


# ---------------------------------------------------------------- one row


def _normal(cell: str) -> str:
    return unicodedata.normalize("NFKC", cell or "").strip()


class Shops:
    """The account's shops by name and by `#id` (csv.md §1), read once per run."""

    def __init__(self, account_id: int):
        self.by_id: dict[int, Shop] = {}
        self.by_name: dict[str, Shop] = {}
        for shop in db.session.scalars(select(Shop).where(Shop.account_id == account_id).order_by(Shop.id)):
            self.by_id[shop.id] = shop
            self.by_name.setdefault(shop.name.strip(), shop)

    def find(self, cell: str) -> Optional[Shop]:
        written = cell.strip()
        if written in self.by_name:
            return self.by_name[written]
        normal = _normal(written)
        if normal.startswith("#") and normal[1:].isdigit() and len(normal) <= 12:
            return self.by_id.get(int(normal[1:]))
        return self.by_name.get(normal)


class ChunkLookups:
    """The products and mappings a chunk's rows name, read in one query each (not one per row), and kept as the
    chunk's rows change the mappings."""

    def __init__(self, account_id: int, header: Header, rows: list[Row]):
        skus = {header.cell(row, "sku").strip() for row in rows} - {""}
        items = {header.cell(row, "mall_item_id").strip() for row in rows} - {""}
        self.products = {product.sku: product for product in db.session.scalars(select(Product).where(
            Product.account_id == account_id, Product.sku.in_(skus)))} if skus else {}
        self.mappings = {_key(mapping.shop_id, mapping.mall_item_id, mapping.sub_code): mapping
                         for mapping in db.session.scalars(select(ItemMapping).join(Shop).where(
                             Shop.account_id == account_id, ItemMapping.mall_item_id.in_(items)))} if items else {}

    def product(self, sku: str) -> Optional[Product]:
        return self.products.get(sku)

    def mapping(self, shop_id: int, mall_item_id: str, sub_code: str) -> Optional[ItemMapping]:
        return self.mappings.get(_key(shop_id, mall_item_id, sub_code))


def _key(shop_id: int, mall_item_id: str, sub_code: str) -> tuple:
    return shop_id, mall_item_id, sub_code or ""


@dataclass(frozen=True)
class RowChange:
    """A row checked whole: what it asks, with everything it needs found."""
    delete: bool
    shop: Shop
    mall_item_id: str
    sub_code: str
    product: Optional[Product]
    mapping: Optional[ItemMapping]


def check_row(header: Header, row: Row, shops: Shops,
              found: ChunkLookups) -> tuple[Optional[RowChange], list[RowError]]:
    """The row's change, or every error it has (in the file's column order)."""
    errors: list[RowError] = []
    flag = _normal(header.cell(row, "delete"))
    if flag not in ("", "1"):
        errors.append(RowError("delete", INVALID_CHOICE, Reason(
            f"削除フラグは 1（削除する）か空欄（追加・更新する）で入力してください（「{flag[:20]}」）。",
            f"削除フラグ (delete) must be 1 (delete) or empty (add or update), not “{flag[:20]}”.")))
    delete = flag == "1"
    values = {field: header.cell(row, field).strip() for field in ("shop", "mall_item_id", "sub_code", "sku")}
    for field in ("shop", "mall_item_id") + (() if delete else ("sku",)):
        if not values[field]:
            errors.append(RowError(field, MISSING, REASON_MISSING))
    for field, limit in LIMITS.items():
        if len(values[field]) > limit:
            errors.append(RowError(field, TOO_LONG, Reason(f"{limit}文字以内で入力してください（{len(values[field])}文字）。",
                                                            f"At most {limit} characters ({len(values[field])}).")))
    shop = shops.find(values["shop"]) if values["shop"] else None
    if values["shop"] and shop is None:
        errors.append(RowError("shop", UNKNOWN_SHOP, Reason(
            f"ショップ「{values['shop'][:40]}」はありません。ショップ名か「#ショップID」（例 #12）で入力してください。",
            f"There is no shop “{values['shop'][:40]}”. Write the shop's name or its id as #12.")))
    product = None
    if not delete and values["sku"] and len(values["sku"]) <= LIMITS["sku"]:
        product = found.product(values["sku"])
        if product is None:
            errors.append(RowError("sku", UNKNOWN_SKU, Reason(
                f"SKU「{values['sku']}」の商品が登録されていません。先に商品を登録してください。",
                f"No product has the SKU “{values['sku']}”. Register the product first.")))
    mapping = None
    if shop is not None and values["mall_item_id"] and not any(e.field in LIMITS for e in errors):
        mapping = found.mapping(shop.id, values["mall_item_id"], values["sub_code"])
        if delete and mapping is None:
            item = values["mall_item_id"] + (f"/{values['sub_code']}" if values["sub_code"] else "")
            errors.append(RowError("mall_item_id", MAPPING_NOT_FOUND, Reason(
                f"削除するマッピング（{shop.name}: {item[:60]}）がありません。",
                f"There is no mapping to delete ({shop.name}: {item[:60]}).")))
    if errors:
        return None, sorted(errors, key=lambda error: header.index.get(error.field, len(header.names)))
    return RowChange(delete, shop, values["mall_item_id"], values["sub_code"], product, mapping), []


def apply_change(actor: Actor, change: RowChange, found: ChunkLookups) -> tuple[str, int]:
    """Carry out a checked row in the caller's unit of work: ("created" | "updated" | "unchanged" | "deleted",
    lines mapped). Deleting leaves the lines mapped already as they are, as deleting on the screen does."""
    key = _key(change.shop.id, change.mall_item_id, change.sub_code)
    if change.delete:
        db.session.delete(change.mapping)
        db.session.flush()
        del found.mappings[key]
        return "deleted", 0
    if change.mapping is None:
        found.mappings[key], mapped = add_mapping(actor, change.shop.id, change.mall_item_id, change.sub_code,
                                                  change.product)
        return "created", mapped.lines
    outcome = "unchanged" if change.mapping.product_id == change.product.id else "updated"
    return outcome, remap(actor, change.mapping, change.product).lines


# ---------------------------------------------------------------- the job


@effects.handler(RUN, timeout_setting="CSV_REDISPATCH_SECONDS")
def run_job(message) -> None:
    job = db.session.get(JobRecord, message.payload["job_id"])
    if job is None or job.state in ("finished", "failed"):
        return
    params = dict(job.params)
    lang = params.get("lang") or "ja"
    table = open_table(files.opener(params["file_id"]), COLUMNS, params["encoding"])
    try:
        progress = job.checkpoint or _count_rows(job, table)
    except FileRefused as exc:
        return _mark_failed(job.id, exc.reason.text(lang))
    if progress is None:
        return
    actor = Actor("job", history.MAPPING_CSV_ACTOR(job=job.id[:8], name=params.get("user_name") or ""), job.account_id,
                  params.get("user_id"))
    shops = Shops(job.account_id)
    chunk: list[Row] = []
    try:
        for row in _rows_after(table, progress["done"]):
            chunk.append(row)
            if len(chunk) >= CHUNK_ROWS:
                progress = _do_chunk(job.id, actor, table, shops, chunk, progress, lang)
                chunk = []
        if chunk:
            progress = _do_chunk(job.id, actor, table, shops, chunk, progress, lang)
    except FileRefused as exc:  # a row found unreadable past the count (the file cannot change: not expected)
        return _mark_failed(job.id, exc.reason.text(lang))
    _finish(job.id, table, progress)


def _count_rows(job: JobRecord, table: Table) -> Optional[dict]:
    """The first pass: how many rows (the progress bar's total); more than CSV_MAX_ROWS fails the job."""
    total = sum(1 for _ in table.rows())
    limit = current_app.config["CSV_MAX_ROWS"]
    lang = job.params.get("lang") or "ja"
    if total > limit:
        _mark_failed(job.id, Reason(f"行数が上限（{limit:,}行）を超えています（{total:,}行）。ファイルを分けてアップロードしてください。",
                             f"The file has more rows ({total:,}) than the limit ({limit:,}). Split it.").text(lang))
        return None
    progress = {"total": total, "done": 0, **{name: 0 for name in COUNTS}}
    with unit_of_work() as uow:
        set_progress(job, 0, checkpoint=progress)
        uow.commit()
    return progress


def _rows_after(table: Table, done: int) -> Iterator[Row]:
    for index, row in enumerate(table.rows()):
        if index >= done:
            yield row


def _do_chunk(job_id: str, actor: Actor, table: Table, shops: Shops, rows: list[Row], progress: dict,
              lang: str) -> dict:
    progress = dict(progress)
    refused = []
    with unit_of_work() as uow:
        found = ChunkLookups(actor.account_id, table.header, rows)
        for row in rows:
            change, errors = check_row(table.header, row, shops, found)
            if errors:
                progress["rows_refused"] += 1
                refused += [{"job_id": job_id, "row": row.number, "column": table.header.name_of(error.field),
                             "code": error.code, "message": error.reason.text(lang)} for error in errors]
                continue
            outcome, lines = apply_change(actor, change, found)
            progress[outcome] += 1
            progress["lines_mapped"] += lines
        if refused:
            db.session.execute(insert(CsvRowError), refused)
        progress["done"] += len(rows)
        set_progress(db.session.get(JobRecord, job_id), progress["done"] * 100 // max(progress["total"], 1),
                     checkpoint=progress)
        uow.commit()
    return progress


def _mark_failed(job_id: str, error: str) -> None:
    with unit_of_work() as uow:
        job = db.session.get(JobRecord, job_id)
        set_progress(job, job.progress, state="failed")
        job.error = error
        uow.commit()


def _finish(job_id: str, table: Table, progress: dict) -> None:
    with unit_of_work() as uow:
        report = _write_report(job_id, table) if progress["rows_refused"] else None
        errors = [{"row": e.row, "column": e.column, "code": e.code, "message": e.message}
                  for e in db.session.scalars(select(CsvRowError).where(CsvRowError.job_id == job_id)
                                              .order_by(CsvRowError.row, CsvRowError.id).limit(MAX_ERRORS_SHOWN))]
        result = {"rows": progress["total"], **{name: progress[name] for name in COUNTS}, "errors": errors,
                  "error_report_url": f"/api/v1/jobs/{job_id}/error-report.csv" if report else None}
        set_progress(db.session.get(JobRecord, job_id), 100, state="finished", result=result)
        uow.commit()


# ---------------------------------------------------------------- the error report


def _write_report(job_id: str, table: Table) -> str:
    account_id = db.session.get(JobRecord, job_id).account_id
    writer = files.create(account_id, "error_report", f"mapping-errors-{job_id[:8]}.csv", job_id=job_id)
    write_refused_rows(writer, table, errors_by_row(job_id))
    return writer.close().id
