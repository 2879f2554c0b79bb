"""Exports of an order list or search (csv.md §3): the 注文一覧 tab or 詳細検索 result as CSV, one row per order
(`orders`) or per line (`lines`, the order's fields repeated), with §1's headers so that a `lines` file can be
registered again.

Read from a keyset cursor in batches of BATCH_ORDERS orders, each batch's lines, tags and shipments loaded in
one query apiece: the queries follow the number of batches, never of orders, and memory stays flat at any
size. The API streams the pieces to the client; the screen's export runs as a job (`csv_export`) that keeps
the file (files.create) and counts the characters CP932 could not hold."""
from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from typing import Iterator, Optional

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import lazyload, selectinload

from .. import effects, outbox
from ..extensions import db
from ..job_records import create_job, set_progress, set_progress_of
from ..models import FileChunk, JobRecord, StoredFile, utcnow
from ..orders import rules
from ..orders.actor import Actor
from ..orders.models import Order, OrderLine
from ..orders.search import DEFAULT_SORT, ORDER_SORTS, OrderFilter, list_orders
from ..timefmt import to_jst
from ..unit_of_work import unit_of_work
from ..warehouse.events import CARRIER_WORDS
from . import files
from .writing import CsvWriter

SHAPES = ("orders", "lines")
ENCODINGS = ("cp932", "utf-8")  # what a user chooses; utf-8 is written with a BOM (Excel needs it)
BATCH_ORDERS = 500
JOB_KIND = "csv_export"

# csv.md §1's headers, in its order: the order's, then the line's (left out of the `orders` shape: one row
# cannot hold an order's lines), then what the export adds.
ORDER_HEADERS = ("ショップ", "モール注文番号", "注文日時", "購入者名", "購入者名カナ", "購入者メール", "購入者電話番号",
                 "購入者郵便番号", "購入者住所", "送付先名", "送付先名カナ", "送付先電話番号", "送付先郵便番号",
                 "送付先住所", "支払方法", "備考", "お届け日", "お届け時間帯", "送料", "手数料", "割引", "ポイント利用",
                 "請求金額")
LINE_HEADERS = ("項目選択肢", "モール商品ID", "サブコード", "商品名", "数量", "単価")
EXTRA_HEADERS = ("注文ステータス", "出荷ステータス", "タグ", "合計", "配送会社", "追跡番号")


def headers(shape: str) -> tuple[str, ...]:
    return ORDER_HEADERS + (LINE_HEADERS if shape == "lines" else ()) + EXTRA_HEADERS


def writer_encoding(encoding: str) -> str:
    return "utf-8-sig" if encoding == "utf-8" else "cp932"


def file_name(now: datetime) -> str:
    """orders-YYYYMMDD-HHMM.csv, in Japan time."""
    return f"orders-{to_jst(now):%Y%m%d-%H%M}.csv"


def _text(value) -> str:
    return "" if value is None else str(value)


def _datetime(value: Optional[datetime]) -> str:
    shown = to_jst(value)
    return shown.strftime("%Y/%m/%d %H:%M:%S") if shown else ""


def _shipping(order: Order) -> tuple[str, str]:
    """配送会社 and 追跡番号 of the order's current shipment; a shipment of several boxes names each box's."""
    shipment = order.shipments[-1] if order.shipments else None
    if shipment is None:
        return "", ""
    boxes = [(box.get("carrier"), box.get("tracking_number")) for box in shipment.parcels or []] or \
        [(shipment.carrier, shipment.tracking_number)]
    carriers = list(dict.fromkeys(CARRIER_WORDS.get(carrier, carrier) for carrier, _ in boxes if carrier))
    return " ".join(carriers), " ".join(number for _, number in boxes if number)


def order_cells(order: Order) -> list[str]:
    return [order.shop.name, order.mall_order_number, _datetime(order.ordered_at),
            order.buyer_name, order.buyer_name_kana, order.buyer_email, order.buyer_phone, order.buyer_postal_code,
            order.buyer_address, order.recipient_name, order.recipient_name_kana, order.recipient_phone,
            order.recipient_postal_code, order.recipient_address, order.payment_method, order.remarks,
            order.delivery_date.strftime("%Y/%m/%d") if order.delivery_date else "", _text(order.delivery_time_slot),
            _text(order.postage), _text(order.charges), _text(order.discount), _text(order.points_used),
            _text(order.billed)]


def extra_cells(order: Order) -> list[str]:
    carrier, tracking = _shipping(order)
    return [rules.STATUS_LABELS[order.status], rules.SHIPMENT_STATUS_LABELS.get(order.shipment_status, ""),
            "、".join(tag.name for tag in order.tags), _text(order.total), carrier, tracking]


def line_cells(line: OrderLine) -> list[str]:
    return [line.options, line.mall_item_id, line.sub_code, line.name, _text(line.quantity), _text(line.unit_price)]


def rows_of(order: Order, shape: str) -> list[list[str]]:
    head, tail = order_cells(order), extra_cells(order)
    if shape == "orders":
        return [head + tail]
    return [head + line_cells(line) + tail for line in order.lines]


def order_batches(flt: OrderFilter, batch: int = BATCH_ORDERS, sort: str = DEFAULT_SORT) -> Iterator[list[Order]]:
    """The matching orders in `sort` (a name of search.ORDER_SORTS: the order the list or search showed them in),
    in its keyset pages (no OFFSET), each read with its shops, lines, tags and shipments in one query apiece.
    `batch` is the orders a read loads: a page's and the one after it, which says whether another page follows
    (at most 500, what one selectinload query takes)."""
    def read(page):
        return db.session.scalars(page.options(selectinload(Order.shipments), selectinload(Order.lines).options(
            lazyload(OrderLine.product)))).unique()

    cursor = None
    while True:
        # The next page's cursor is read from the rows now: the caller may commit, expiring them.
        page = list_orders(flt, limit=max(1, batch - 1), cursor=cursor, sort=sort, read=read)
        if page.rows:
            yield page.rows
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def pieces(flt: OrderFilter, shape: str, writer: CsvWriter, batch: int = BATCH_ORDERS,
           sort: str = DEFAULT_SORT) -> Iterator[tuple[bytes, int]]:
    """The file as encoded pieces, the header first, then one piece per batch with its number of orders."""
    yield writer.row(headers(shape)), 0
    for orders in order_batches(flt, batch, sort):
        yield writer.rows(row for order in orders for row in rows_of(order, shape)), len(orders)


def stream(flt: OrderFilter, shape: str, encoding: str, batch: int = BATCH_ORDERS,
           sort: str = DEFAULT_SORT) -> Iterator[bytes]:
    """What GET /api/v1/orders/export.csv sends (it counts nothing: csv.md §3)."""
    writer = CsvWriter(writer_encoding(encoding))
    for piece, _orders in pieces(flt, shape, writer, batch, sort):
        yield piece


# ---------------------------------------------------------------- the screen's export: a job

def filter_params(flt: OrderFilter) -> dict:
    """The filter as a job keeps it (its account is the job's)."""
    params = asdict(flt)
    params.pop("account_id")
    for name in ("ordered_from", "ordered_to"):
        if params[name] is not None:
            params[name] = params[name].isoformat()
    return params


def filter_from(account_id: int, params: dict) -> OrderFilter:
    known = {f.name for f in fields(OrderFilter)} - {"account_id"}
    values = {name: value for name, value in params.items() if name in known}
    for name in ("ordered_from", "ordered_to"):
        if values.get(name):
            values[name] = datetime.fromisoformat(values[name])
    return OrderFilter(account_id=account_id, **values)


def start_job(actor: Actor, flt: OrderFilter, shape: str, encoding: str, sort: str = DEFAULT_SORT) -> JobRecord:
    if shape not in SHAPES or encoding not in ENCODINGS or sort not in ORDER_SORTS:
        raise ValueError(f"shape {shape!r}, encoding {encoding!r} or sort {sort!r} is not one of {SHAPES} / "
                         f"{ENCODINGS} / {tuple(ORDER_SORTS)}")
    with unit_of_work() as uow:
        job = create_job(actor.account_id, JOB_KIND, {"filter": filter_params(flt), "shape": shape,
                                                      "encoding": encoding, "sort": sort}, created_by=actor.name)
        db.session.flush()
        outbox.record("csv.export", {"job_id": job.id}, job_id=job.id)
        uow.commit(keep=[job])
    return job


def _drop_files_of(job_id: str) -> None:
    """A killed run's file, never handed out: the run that resumes writes the file again whole."""
    kept = select(StoredFile.id).where(StoredFile.job_id == job_id)
    db.session.execute(delete(FileChunk).where(FileChunk.file_id.in_(kept)))
    db.session.execute(delete(StoredFile).where(StoredFile.job_id == job_id))


@effects.handler("csv.export", timeout_setting="CSV_REDISPATCH_SECONDS")
def run_job(message) -> None:
    """Write the export into a kept file batch by batch, each batch committed with the job's progress; the
    result names the file and the number of characters written as 〓."""
    job = db.session.get(JobRecord, message.payload["job_id"])
    if job is None or job.state in ("finished", "failed"):
        return
    job_id, account_id, params = job.id, job.account_id, dict(job.params)
    flt = filter_from(account_id, params["filter"])
    with unit_of_work() as uow:
        _drop_files_of(job_id)
        total = db.session.scalar(select(func.count()).select_from(select(Order.id).where(*flt.conditions())
                                                                   .subquery()))
        name = file_name(utcnow())
        kept = files.create(account_id, "export", name, job_id=job_id)
        set_progress(job, 0)
        uow.commit()
    writer = CsvWriter(writer_encoding(params["encoding"]))
    done = 0
    sort = params.get("sort", DEFAULT_SORT)  # a job queued before exports kept the list's sort: newest first, as then
    for piece, orders in pieces(flt, params["shape"], writer, current_app.config["CSV_EXPORT_BATCH"], sort):
        with unit_of_work() as uow:
            kept.write(piece)
            done += orders
            set_progress_of(job_id, min(99, done * 100 // total) if total else 0)
            uow.commit()
    stored = kept.close()
    job = db.session.get(JobRecord, job_id)
    set_progress(job, 100, state="finished", result={
        "file_id": stored.id, "name": name, "size": stored.size, "orders": done, "replaced": writer.replaced,
        "shape": params["shape"], "encoding": params["encoding"], "sort": sort})
    # the finish commits with the message done (outbox.run_message), as job_runner's jobs do
