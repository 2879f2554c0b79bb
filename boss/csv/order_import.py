"""受注CSV登録 (csv.md §1, §4, §5): a file of order lines registered as orders, by a job in checkpointed chunks.

The upload is kept in the database (files) and its header checked at once: a file that cannot be read is
refused before any job exists. The job then reads the file as a stream, never whole:

1. the index pass: which rows make one order (the same shop and モール注文番号, consecutive or not) and
   the row where each order ends; past CSV_MAX_ROWS the job fails and registers nothing;
2. the check pass (all_or_nothing, check_only): every order assembled and checked — its rows, R6 against the
   orders the shops hold — its refusals recorded, nothing registered;
3. the register pass (valid_only; all_or_nothing when the check found nothing): each order, once its last row
   is read, checked again and registered with the others of its chunk (import_batch.create_orders: the
   rules of a registration by hand, R6, R7, mappings, auto-confirm, a few statements for the whole chunk).

A chunk's orders, its refusals and the checkpoint (the row up to which every order ending there is done)
commit together, so a job killed and resumed reads the file again and skips what it did: no order twice,
no refusal twice. A refused row refuses its whole order, and an order is registered whole or not at all.

A mall's export (csv.md §6) is recognised by its header when uploaded and read through its preset
(boss.csv.presets): its rows are §1's rows to every pass, its errors land on the file's own rows and columns (for
Yahoo!'s pair, on the file each comes from), and its error report holds its rows as uploaded.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Iterator, Optional

from flask import current_app
from sqlalchemy import insert, select

from .. import effects, outbox
from ..errors import ServiceError
from ..extensions import db
from ..job_records import create_job, finish_job, get_job, set_progress
from ..models import CsvRowError, JobRecord, Shop, StoredFile
from ..orders import history, rules
from ..orders.actor import Actor
from ..orders.frame import get_shop
from ..orders.import_batch import MallOrder, create_orders
from ..orders.models import Order
from ..orders.numbers import InvalidNumber, manual_number
from ..orders.registration import (REASON_NEGATIVE_BILLED, REASON_TAKEN_ACTIVE, REASON_TAKEN_CANCELLED, NewOrder,
                                   billed_for)
from ..parsing import whole_number
from ..reason import Reason
from ..unit_of_work import unit_of_work
from . import files, presets
from .order_rows import ORDER_COLUMNS, RowError, assemble, read_row
from .reading import AUTO, FileRefused, Header, Row, Table, header_key, open_table, peek_header
from .report import errors_by_row, write_refused_rows

JOB_KIND = "csv_orders"
OUTBOX_KIND = "csv.orders"
MODES = ("valid_only", "all_or_nothing", "check_only")
ENCODINGS = ("auto", "cp932", "utf-8")
CHUNK_ORDERS = 500
ERRORS_SHOWN = 1000  # csv.md §5: the result lists the first 1,000 errors; the error report has them all
ORDERS_LISTED = 1000  # the created orders the result page links to
SAME_ORDER = "same_order"  # a row with no fault of its own, refused with its order: in the report, not in `errors`

REASON_MODE = Reason("登録方法は valid_only, all_or_nothing, check_only のいずれかです。",
                     "mode must be valid_only, all_or_nothing or check_only.")
REASON_ENCODING = Reason("文字コードは auto, cp932, utf-8 のいずれかです。", "encoding must be auto, cp932 or utf-8.")
REASON_NO_FILE = Reason("CSVファイルを選んでください。", "Choose a CSV file.")
REASON_TOO_MANY_FILES = Reason("アップロードできるファイルは2つまでです（Yahoo!ショッピングの注文データと商品データ）。",
                               "Upload at most two files (Yahoo! Shopping's order data and item data).")
REASON_NOT_CHECKED = Reason("登録できるのは、終了した「チェックのみ」の結果だけです。",
                            "Only a finished check-only run can be registered.")
REASON_CHECKED_REGISTERED = Reason("このチェック結果からは、すでに登録しました。",
                                   "This check-only run has been registered already.")
REASON_REGISTER_MODE = Reason("登録方法は valid_only, all_or_nothing のいずれかです。",
                              "mode must be valid_only or all_or_nothing.")


def too_many_rows(limit: int) -> Reason:
    return Reason(f"行数が上限（{limit:,}行）を超えています。ファイルを分けてアップロードしてください。何も登録していません。",
                  f"The file has more rows than the limit ({limit:,}). Split it and upload the parts. Nothing was "
                  "registered.")


def unknown_shop(cell: str) -> Reason:
    return Reason(f"ショップ「{cell}」はこのアカウントにありません。ショップ名か「#ショップID」で指定してください。",
                  f"There is no shop “{cell}” in this account. Write the shop's name or its id as #12.")


def same_order(number: str) -> Reason:
    return Reason(f"同じ注文（モール注文番号「{number}」）の他の行にエラーがあるため、この行も登録していません。",
                  f"Not registered: another row of the same order (mall order number “{number}”) has an error.")


# ---------------------------------------------------------------- the upload

def start(actor: Actor, uploads, file_name: str = "", shop_id=None, mode: Optional[str] = None,
          encoding: Optional[str] = None, lang: str = "ja") -> JobRecord:
    """Keep the uploaded file(s), check that they can be read (encoding, header: §1's own or a mall's format,
    csv.md §6), and start the job. `uploads`: a stream (named `file_name`), or a list of (stream, name) —
    one file, or Yahoo!'s two."""
    mode, encoding = mode or "valid_only", encoding or "auto"
    if mode not in MODES:
        raise ServiceError("validation_error", REASON_MODE, {"mode": REASON_MODE.text(lang)})
    if encoding not in ENCODINGS:
        raise ServiceError("validation_error", REASON_ENCODING, {"encoding": REASON_ENCODING.text(lang)})
    if not isinstance(uploads, list):
        uploads = [] if uploads is None else [(uploads, file_name)]
    if not uploads:
        raise ServiceError("validation_error", REASON_NO_FILE, {"file": REASON_NO_FILE.text(lang)})
    if len(uploads) > 2:
        raise ServiceError("validation_error", REASON_TOO_MANY_FILES, {"file": REASON_TOO_MANY_FILES.text(lang)})
    default_shop = None
    if shop_id not in (None, ""):
        default_shop = get_shop(actor.account_id, whole_number(shop_id)).id
    with unit_of_work() as uow:
        stored = [files.store_upload(actor.account_id, "csv_upload", name or "orders.csv", stream,
                                     current_app.config["CSV_MAX_BYTES"]) for stream, name in uploads]
        try:
            preset, sources = _recognise(stored, encoding)
            if preset != "own" and default_shop is None:
                reason = presets.REASON_NEEDS_SHOP
                raise ServiceError("validation_error", reason, {"shop_id": reason.text(lang)})
            source = _source(preset, sources, stored[0].id, default_shop is not None)
        except FileRefused as exc:
            raise ServiceError("validation_error", exc.reason, {"file": exc.reason.text(lang)}) from None
        job = create_job(actor.account_id, JOB_KIND, {
            "file_id": stored[0].id, "file_name": stored[0].name, "shop_id": default_shop, "mode": mode,
            "encoding": source.encoding, "lang": lang, "actor": [actor.type, actor.name, actor.user_id],
            "preset": preset, "files": [{"id": f.id, "name": f.name, "encoding": s.encoding,
                                         "detected": s.detected} for f, s in zip(stored, sources)],
            "unknown_columns": list(source.header.unknown)}, created_by=actor.name)
        for each in stored:
            each.job_id = job.id
        db.session.flush()
        outbox.record(OUTBOX_KIND, {"job_id": job.id}, job_id=job.id)
        uow.commit()
    return job


def files_gone(days: int) -> Reason:
    return Reason(f"チェックしたファイルは保存期間（{days}日）を過ぎたため削除されました。もう一度アップロードしてください。",
                  f"The checked files were deleted after their keeping time ({days} days). Upload them again.")


def register_checked(actor: Actor, job_id: str, mode: str = "valid_only", lang: str = "ja") -> JobRecord:
    """Register what a check-only run checked (csv.md §6: a check-only run is one click from registering): a new
    job on the same stored files, shop, encoding and format, in `mode`, by `actor`. The checked job is locked and
    notes the job it started, so a second click (or a second request at the same moment) starts nothing.
    Refused (409 invalid_transition): a job that is not a finished check-only run of 受注CSV登録, one registered
    already, one whose files are gone (kept FILE_KEEP_DAYS); another account's job is not found."""
    if mode not in ("valid_only", "all_or_nothing"):
        raise ServiceError("validation_error", REASON_REGISTER_MODE, {"mode": REASON_REGISTER_MODE.text(lang)})
    with unit_of_work() as uow:
        get_job(actor.account_id, job_id)
        checked = db.session.scalars(select(JobRecord).where(JobRecord.id == job_id).with_for_update()
                                     .execution_options(populate_existing=True)).one()
        params, result = checked.params or {}, checked.result or {}
        if checked.kind != JOB_KIND or checked.state != "finished" or params.get("mode") != "check_only":
            raise ServiceError("invalid_transition", REASON_NOT_CHECKED)
        if result.get("registered_as"):
            raise ServiceError("invalid_transition", REASON_CHECKED_REGISTERED)
        uploaded = [each["id"] for each in params.get("files") or [{"id": params["file_id"]}]]
        kept = set(db.session.scalars(select(StoredFile.id).where(StoredFile.id.in_(uploaded),
                                                                   StoredFile.account_id == actor.account_id)))
        if kept != set(uploaded):
            raise ServiceError("invalid_transition", files_gone(current_app.config["FILE_KEEP_DAYS"]))
        job = create_job(actor.account_id, JOB_KIND, {
            **params, "mode": mode, "lang": lang, "actor": [actor.type, actor.name, actor.user_id],
            "checked_job_id": checked.id}, created_by=actor.name)
        checked.result = {**result, "registered_as": job.id}
        db.session.flush()
        outbox.record(OUTBOX_KIND, {"job_id": job.id}, job_id=job.id)
        uow.commit()
    return job


def _open(file_id: str, encoding: str, has_default_shop: bool) -> Table:
    required = [c.field for c in ORDER_COLUMNS if c.required and not (has_default_shop and c.field == "shop")]
    return open_table(files.opener(file_id), ORDER_COLUMNS, encoding, required=required, delimiter="auto")


_OWN_NUMBER = {header_key(name) for name in ("モール注文番号", "mall_order_number")}


def _peek(file_id: str, name: str, encoding: str, detected: bool) -> presets.SourceFile:
    opener = files.opener(file_id)
    used, delimiter, header_row, names = peek_header(opener, encoding, "auto")
    return presets.SourceFile(opener, name, used, delimiter, header_row, names, detected)


def _recognise(stored, encoding: str) -> tuple[str, list[presets.SourceFile]]:
    """Which format the upload is (csv.md §6): a preset's id, or "own"; refused: two files that are not
    Yahoo!'s pair, half of Yahoo!'s pair, a header of no format BOSS reads."""
    sources = [_peek(each.id, each.name, encoding, encoding == AUTO) for each in stored]
    found = [presets.recognise(source.names) for source in sources]
    if len(sources) == 2:
        if not all(each is not None and each.id == "yahoo" for each in found) or found[0] is found[1]:
            raise FileRefused(presets.REASON_TWO_FILES)
        return "yahoo", sources
    if found[0] is not None:
        if found[0].id == "yahoo":
            raise FileRefused(presets.REASON_YAHOO_PAIR)
        return found[0].id, sources
    names = sources[0].names
    if len(names) > 1 and not _OWN_NUMBER & {header_key(name) for name in names}:
        raise FileRefused(presets.REASON_UNKNOWN, sources[0].header_row)
    return "own", sources


def _source(preset: str, sources: list[presets.SourceFile], file_id: str, has_default_shop: bool):
    """The upload as §1's rows: the own file's table, or a preset's translation of the mall's file(s)."""
    if preset == "own":
        return OwnFile(_open(file_id, sources[0].encoding, has_default_shop))
    return presets.open_preset(presets.recognise(sources[0].names), sources)


class OwnFile:
    """A file of §1's own columns, with what a preset's table answers (presets.PresetTable)."""

    def __init__(self, table: Table):
        self.table, self.header, self.encoding = table, table.header, table.encoding

    def rows(self) -> Iterator[Row]:
        return self.table.rows()

    def index_rows(self) -> Iterator[Row]:
        return self.table.rows()

    def read(self, row: Row):
        return read_row(self.header, row)

    def place(self, row, number: int, column: str) -> tuple[Optional[str], int]:
        return None, number

    def places(self, row: Row) -> list[tuple[Optional[str], int]]:
        return [(None, row.number)]

    def report_parts(self) -> list[tuple[Optional[str], Table]]:
        return [(None, self.table)]


def rows_progress(job: JobRecord) -> dict:
    """What the screen's progress bar shows: the pass under way (check / register), its rows done, the total."""
    checkpoint = job.checkpoint or {}
    phase = checkpoint.get("current")
    done = (checkpoint.get(phase) or {}).get("rows_done", 0) if phase else 0
    return {"phase": phase, "rows_done": done, "rows_total": checkpoint.get("rows_total")}


# ---------------------------------------------------------------- the job

@effects.handler(OUTBOX_KIND, timeout_setting="CSV_REDISPATCH_SECONDS")
def run_job(message) -> None:
    job = db.session.get(JobRecord, message.payload["job_id"])
    if job is None or job.state in ("finished", "failed"):
        return
    run = Run(job)
    try:
        result = run.go()
    except FileRefused as exc:
        where = exc.reason.text(run.lang)
        finish_job(job.id, "failed", error=where)
        return
    except TooManyRows as exc:
        finish_job(job.id, "failed", error=too_many_rows(exc.limit).text(run.lang))
        return
    with unit_of_work() as uow:  # the report and the finish together: a resumed job writes no second report
        run.write_report()
        set_progress(db.session.get(JobRecord, job.id), 100, state="finished", result=result)
        uow.commit()


class TooManyRows(Exception):
    def __init__(self, limit: int):
        super().__init__(limit)
        self.limit = limit


@dataclass
class Member:
    """One row of an order being read: the row read (None when refused) and its own errors."""
    number: int
    parsed: Optional[object]
    errors: list[RowError]
    row: Row  # as read: a presets.SourceRow for a mall's file


@dataclass
class Progress:
    """What the checkpoint carries from chunk to chunk."""
    phase: str
    row: int = 0  # every order whose last row is at or before this one is done in this phase
    rows_done: int = 0
    orders_created: int = 0
    orders_valid: int = 0
    orders_refused: int = 0
    rows_refused: int = 0
    orders: list = field(default_factory=list)  # [id, number] of the first ORDERS_LISTED created

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Run:
    """One run of a registration job; a resumed job is a new Run that starts at the checkpoint."""

    def __init__(self, job: JobRecord):
        self.job_id = job.id
        self.account_id = job.account_id
        params = job.params
        self.params = params
        self.lang = params.get("lang") or "ja"
        _, name, user_id = params["actor"]
        self.actor = Actor("job", history.ORDERS_CSV_ACTOR(job=job.id[:8], name=name), job.account_id, user_id)
        self.mode = params["mode"]
        self.default_shop = params.get("shop_id")
        self.checkpoint = dict(job.checkpoint or {})
        self.preset = params.get("preset") or "own"
        uploaded = params.get("files") or [{"id": params["file_id"], "name": params["file_name"],
                                            "encoding": params["encoding"], "detected": False}]
        sources = [_peek(each["id"], each["name"], each["encoding"], each["detected"]) for each in uploaded]
        self.table = _source(self.preset, sources, uploaded[0]["id"], self.default_shop is not None)
        self.header: Header = self.table.header
        self.shops = _shop_names(self.account_id)
        self.ends: dict[bytes, int] = {}  # by _digest(key): a 16-byte digest holds an order's place in less memory
        self.total = 0

    # -- passes

    def go(self) -> dict:
        self._index()
        phases = {"valid_only": ["register"], "all_or_nothing": ["check", "register"], "check_only": ["check"]}[self.mode]
        progress = None
        for position, phase in enumerate(phases):
            saved = self.checkpoint.get(phase)
            if saved and saved.get("finished"):
                progress = Progress(**{k: v for k, v in saved.items() if k != "finished"})
            else:
                progress = Progress(**saved) if saved else Progress(phase)
                self._sweep(progress, share=(position, len(phases)))
            if phase == "check" and (progress.orders_refused or self.mode == "check_only"):
                break
        return self._result(progress)

    def _index(self) -> None:
        """Pass 1: the row where each order ends, and the number of rows."""
        limit = current_app.config["CSV_MAX_ROWS"]
        ends = self.ends
        for row in self.table.index_rows():
            self.total += 1
            if self.total > limit:
                raise TooManyRows(limit)
            ends[_digest(self._key(row.cells, row.number))] = row.number

    def _key(self, cells, number: int) -> tuple:
        shop = self._cell(cells, "shop").strip()
        key = _number_key(self._cell(cells, "mall_order_number"))
        if key is None:
            return ("", f"\0row{number}")  # a row without a readable number is an order of its own
        return (shop, key)

    def _cell(self, cells, field_name: str) -> str:
        position = self.header.index.get(field_name)
        return cells[position] if position is not None and position < len(cells) else ""

    def _sweep(self, progress: Progress, share: tuple[int, int]) -> None:
        """Read the file, assembling each order until its last row; check (and register) a chunk at a time."""
        register = progress.phase == "register"
        ends, start_row = self.ends, progress.row
        open_orders: dict[tuple, list[Member]] = defaultdict(list)
        complete: list[tuple[tuple, list[Member]]] = []
        for row in self.table.rows():
            key = self._key(row.cells, row.number)
            end = ends[_digest(key)]
            if end <= start_row:
                continue
            parsed, errors = self.table.read(row)
            open_orders[key].append(Member(row.number, parsed, errors, row))
            if row.number == end:
                complete.append((key, open_orders.pop(key)))
                if len(complete) >= CHUNK_ORDERS:
                    self._chunk(complete, row.number, progress, register, share)
                    complete = []
        self._chunk(complete, max(ends.values(), default=0), progress, register, share, last=True)

    # -- one chunk

    def _chunk(self, complete, upto_row: int, progress: Progress, register: bool, share, last: bool = False) -> None:
        with unit_of_work() as uow:
            refusals: list[tuple[Optional[str], int, str, str, Reason]] = []  # file, row, column, code, reason
            drafts: list[tuple[int, list[Member], NewOrder]] = []
            refused_orders = 0
            for key, members in complete:
                refused, fields = self._check_rows(key, members)
                if refused:
                    refused_orders += 1
                    refusals.extend(self._refuse(members, refused))
                else:
                    shop_id = self._shop_id(key[0])
                    drafts.append((shop_id, members, NewOrder(shop_id=shop_id, **fields)))
            drafts, taken = self._refuse_taken(drafts)
            for members, errors in taken:
                refused_orders += 1
                refusals.extend(self._refuse(members, errors))
            created_orders = 0
            if register:
                for members, errors, created in self._register(drafts, progress):
                    if errors:
                        refused_orders += 1
                        refusals.extend(self._refuse(members, errors))
                    created_orders += created
            progress.orders_valid += len(drafts) if not register else 0
            progress.orders_created += created_orders
            self._record(refusals, progress, refused_orders)
            progress.row = upto_row
            progress.rows_done += sum(len(members) for _, members in complete)
            job = db.session.get(JobRecord, self.job_id)
            saved = progress.as_dict()
            if last:
                saved["finished"] = True
            self.checkpoint[progress.phase] = saved
            self.checkpoint.update(current=progress.phase, rows_total=self.total)
            position, phases = share
            done = (position + (progress.rows_done / self.total if self.total else 1)) / phases
            set_progress(job, int(99 * done), checkpoint=dict(self.checkpoint))
            uow.commit()

    def _check_rows(self, key, members: list[Member]) -> tuple[list[RowError], Optional[dict]]:
        """The order's refusals, or none and its NewOrder fields (but the shop)."""
        errors = [error for member in members for error in member.errors]
        shop_cell = key[0]
        if not key[1].startswith("\0") and self._shop_id(shop_cell) is None:
            first = members[0].number
            if shop_cell:
                errors.append(RowError(first, self.header.name_of("shop"), "unknown_shop", unknown_shop(shop_cell)))
            else:
                reason = Reason("ショップを指定してください（この列か、アップロード時の既定のショップで）。",
                                "Name the shop (in this column, or as the upload's default shop).")
                errors.append(RowError(first, self._shop_header(), "missing", reason))
        if errors:
            return errors, None
        fields, more = assemble([member.parsed for member in members])
        return more, fields

    def _shop_header(self) -> str:
        return self.header.name_of("shop") if "shop" in self.header.index else "ショップ"

    def _shop_id(self, cell: str) -> Optional[int]:
        if not cell:
            return self.default_shop
        return self.shops.get(cell)

    def _refuse(self, members: list[Member], errors: list[RowError]) -> list[tuple]:
        """The order's errors, each where it lands in the upload (file, row), and each of the order's other rows
        of the upload refused with it."""
        rows = {member.number: member.row for member in members}
        out, seen = [], set()
        for error in errors:
            place = self.table.place(rows.get(error.row), error.row, error.column)
            if (*place, error.column, error.code, error.reason.en) not in seen:
                seen.add((*place, error.column, error.code, error.reason.en))
                out.append((*place, error.column, error.code, error.reason))
        faulty = {(file_name, row) for file_name, row, *_ in out}
        number = next((m.parsed.number for m in members if m.parsed is not None), "")
        number = number or self.table.header.cell(members[0].row, "mall_order_number").strip()
        for member in members:
            for place in self.table.places(member.row):
                if place not in faulty:
                    faulty.add(place)
                    out.append((*place, "", SAME_ORDER, same_order(number)))
        return out

    def _refuse_taken(self, drafts):
        """R6: a number an order of the shop holds (not deleted) is refused, saying whether a cancelled order
        holds it; a number held only by deleted orders is free. And a 請求額 the formula would make negative."""
        keep, taken = [], []
        holders = _holders({(shop_id, members[0].parsed.key) for shop_id, members, _ in drafts})
        number_header = self.header.name_of("mall_order_number")
        for shop_id, members, new in drafts:
            status = holders.get((shop_id, members[0].parsed.key))
            if status is not None:
                reason = REASON_TAKEN_CANCELLED if status == rules.CANCELLED else REASON_TAKEN_ACTIVE
                taken.append((members, [RowError(members[0].number, number_header, "mall_order_number_taken", reason)]))
            elif new.billed is None and billed_for(_total(new), new) < 0:
                column = self.header.name_of("discount") if "discount" in self.header.index else ""
                taken.append((members, [RowError(members[0].number, column, "out_of_range", REASON_NEGATIVE_BILLED)]))
            else:
                keep.append((shop_id, members, new))
        return keep, taken

    def _register(self, drafts, progress: Progress) -> Iterator[tuple[list[Member], list[RowError], int]]:
        by_shop: dict[int, list] = defaultdict(list)
        for shop_id, members, new in drafts:
            by_shop[shop_id].append((members, new))
        message = history.REGISTERED["csv"].ja
        number_header = self.header.name_of("mall_order_number")
        for shop_id, entries in by_shop.items():
            orders = [MallOrder(new=new, several_destinations=any(
                isinstance(member.row, presets.SourceRow) and member.row.several_destinations for member in members))
                for members, new in entries]
            batch = create_orders(self.actor, shop_id, orders, message, source="csv")
            for members, new in entries:
                number = new.mall_order_number.strip()
                order_id = batch.ids.get(number)
                if order_id is None:  # R4 by the database: a registration took the number meanwhile
                    yield members, [RowError(members[0].number, number_header, "mall_order_number_taken",
                                             REASON_TAKEN_ACTIVE)], 0
                    continue
                if len(progress.orders) < ORDERS_LISTED:
                    progress.orders.append([order_id, number])
                yield members, [], 1

    def _record(self, refusals, progress: Progress, refused_orders: int) -> None:
        if not refusals:
            return
        rows = sorted(refusals, key=lambda r: (r[0] or "", r[1], r[3] == SAME_ORDER))
        db.session.execute(insert(CsvRowError), [
            {"job_id": self.job_id, "file_name": file_name, "row": row, "column": column or "", "code": code,
             "message": reason.text(self.lang)} for file_name, row, column, code, reason in rows])
        progress.rows_refused += len({(r[0], r[1]) for r in refusals})
        progress.orders_refused += refused_orders

    # -- the result

    def write_report(self) -> Optional[str]:
        """The error report (csv.md §4); Yahoo!'s: the order file's refused rows, then the item file's under their
        own header."""
        if db.session.scalar(select(CsvRowError.id).where(CsvRowError.job_id == self.job_id).limit(1)) is None:
            return None
        writer = files.create(self.account_id, "error_report", f"errors-{self.job_id[:8]}.csv", job_id=self.job_id)
        for file_name, table in self.table.report_parts():
            write_refused_rows(writer, table, errors_by_row(self.job_id, file_name), self.table.encoding)
        return writer.close().id

    def _result(self, progress: Progress) -> dict:
        errors = [{"row": e.row, "column": e.column, "code": e.code, "message": e.message,
                   **({"file": e.file_name} if e.file_name is not None else {})}
                  for e in db.session.scalars(select(CsvRowError).where(
                      CsvRowError.job_id == self.job_id, CsvRowError.code != SAME_ORDER)
                      .order_by(CsvRowError.row, CsvRowError.id).limit(ERRORS_SHOWN))]
        registered = progress.phase == "register"
        return {
            "preset": self.preset, "mode": self.mode, "encoding": self.params["encoding"], "rows": self.total,
            "orders_created": progress.orders_created if registered else 0,
            "orders_valid": progress.orders_valid if not registered else progress.orders_created,
            "orders_refused": progress.orders_refused, "rows_refused": progress.rows_refused,
            "errors": errors, "unknown_columns": self.params.get("unknown_columns") or [],
            "orders": [{"id": i, "mall_order_number": n} for i, n in progress.orders],
            "error_report_url": f"/api/v1/jobs/{self.job_id}/error-report.csv" if progress.rows_refused else None,
        }


def _digest(key: tuple[str, str]) -> bytes:
    shop, number = key
    return blake2b(f"{len(shop)}:{shop}{number}".encode(), digest_size=16).digest()


def _number_key(raw: str) -> Optional[str]:
    """The key of a cell's モール注文番号 (None: not a number BOSS registers)."""
    try:
        return manual_number(raw).key
    except InvalidNumber:
        return None


def _total(new: NewOrder) -> int:
    return sum(line["quantity"] * line["unit_price"] for line in new.lines) + (new.postage or 0) + new.wrapping


def _shop_names(account_id: int) -> dict[str, int]:
    """How a row names a shop: its name, or `#id` (csv.md §1)."""
    names: dict[str, int] = {}
    for shop_id, name in db.session.execute(select(Shop.id, Shop.name).where(Shop.account_id == account_id)):
        names.setdefault(name.strip(), shop_id)
        names[f"#{shop_id}"] = shop_id
    return names


def _holders(keys: set[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """The status of the not-deleted order holding each (shop, number key), where one does (R4, R6)."""
    found: dict[tuple[int, str], str] = {}
    by_shop: dict[int, list[str]] = defaultdict(list)
    for shop_id, key in keys:
        by_shop[shop_id].append(key)
    for shop_id, shop_keys in by_shop.items():
        for index in range(0, len(shop_keys), 500):
            for key, status in db.session.execute(select(Order.mall_order_number_key, Order.status).where(
                    Order.shop_id == shop_id, Order.mall_order_number_key.in_(shop_keys[index:index + 500]),
                    Order.deleted_at.is_(None))):
                found[(shop_id, key)] = status
    return found
