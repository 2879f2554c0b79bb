"""受注CSV登録 (csv.md §1, §4): the upload form, the job's live progress and its result, the error report and the
template to download. Thin: the service (boss.csv.order_import) reads, checks and registers."""
from __future__ import annotations

import re
from typing import Optional

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ..api.imports import file_response
from ..csv import order_import, presets
from ..csv.order_rows import ORDER_COLUMNS
from ..csv.order_template import order_template
from ..errors import ServiceError
from ..extensions import db
from ..job_records import get_job
from ..models import JobRecord, StoredFile
from ..parsing import whole_number
from .common import (accept_csv_uploads, account_shops, attempt, current_actor, found_or_404, job_page, lang,
                     page_or_fragment, selected_shop_id)

bp = Blueprint("imports", __name__)

JOB_KIND = "csv_orders"
MODES = (
    ("valid_only", _l("正常な注文だけ登録"), _l("エラーのある注文だけを登録せず、ほかの注文は登録します。")),
    ("all_or_nothing", _l("1件でもエラーがあれば何も登録しない"), _l("ファイル全体をチェックし、エラーがなければすべて登録します。")),
    ("check_only", _l("チェックのみ（登録しない）"), _l("ファイルをチェックして結果とエラーレポートを表示します。注文は登録しません。")),
)
ENCODINGS = (("auto", _l("自動判定")), ("cp932", "Shift_JIS (CP932)"), ("utf-8", "UTF-8"))
DEFAULT_MODE, DEFAULT_ENCODING = "valid_only", "auto"
REQUIRED_HEADERS = tuple(column.ja for column in ORDER_COLUMNS if column.required and column.field != "shop")
SHOWN_MAX = 1000  # the result holds the first 1,000 created orders and errors (csv.md §5)
OWN_FORMAT = _l("BOSSの受注CSV（テンプレート）")
FIELD_ERRORS = ("file", "shop_id")  # the service's fields shown at their input; others above the form
MISSING_SHOP_COLUMN = re.compile(r"^Required columns are missing: [^(]*\bshop\b")  # boss.csv.reading's refusal


def _megabytes(size: int) -> str:
    return f"{size / (1 << 20):g} MB"


def _render_form(choice: dict, error: Optional[str] = None, status: int = 200, field_errors: Optional[dict] = None):
    """`error`: a refusal of the whole form, above it; `field_errors`: {"file" | "shop_id": text}, at the input."""
    config = current_app.config
    return make_response(render_template(
        "imports/orders.html", choice=choice, error=error, field_errors=field_errors or {}, shops=account_shops(),
        modes=MODES, encodings=ENCODINGS, formats=[OWN_FORMAT, *(name for _id, name in presets.FORMATS)],
        required_headers=REQUIRED_HEADERS, max_size=_megabytes(config["CSV_MAX_BYTES"]),
        max_rows=config["CSV_MAX_ROWS"], separator=_("、")), status)


@bp.get("/imports/orders")
def orders_form():
    return _render_form({"shop_id": selected_shop_id(), "mode": DEFAULT_MODE, "encoding": DEFAULT_ENCODING})


accept_csv_uploads(bp, "imports.orders_upload", files=2, refused=lambda message: _render_form(
    {"shop_id": None, "mode": DEFAULT_MODE, "encoding": DEFAULT_ENCODING}, status=413, field_errors={"file": message}))


@bp.post("/imports/orders")
def orders_upload():
    """The file (or Yahoo!'s two: `file` and `item_file`, in either order) goes to the service as it streams in; the
    job's page follows (303). A refusal of the upload itself (unreadable, of no format BOSS reads, a mall's file
    without a shop, too large) shows on the form at its input, with the options kept."""
    form = request.form
    uploads = [(each.stream, each.filename) for name in ("file", "item_file")
               for each in request.files.getlist(name) if each.filename]
    choice = {"shop_id": whole_number(form.get("shop_id", "")), "mode": form.get("mode", DEFAULT_MODE),
              "encoding": form.get("encoding", DEFAULT_ENCODING)}
    if choice["mode"] not in dict((mode, label) for mode, label, _note in MODES) or \
            choice["encoding"] not in dict(ENCODINGS):
        return _render_form(choice, _("登録方法と文字コードは一覧から選んでください。"), 422)
    if not uploads:
        return _render_form(choice, status=422, field_errors={"file": _("CSVファイルを選んでください。")})
    with attempt() as tried:
        job = order_import.start(current_actor(), uploads, shop_id=choice["shop_id"], mode=choice["mode"],
                                 encoding=choice["encoding"], lang=lang())
    if tried.error:
        if tried.error.status == 404:
            abort(404)  # R14: another account's shop is not found
        return _refusal(tried.error, choice)
    return redirect(url_for("imports.order_job", job_id=job.id), code=303)


def _refusal(error: ServiceError, choice: dict):
    """The service's message (it says what is wrong and what to do) at the input it is about; when the missing
    column is ショップ and no default shop was chosen, the other way out too."""
    message = error.message(lang())
    field = next((name for name in FIELD_ERRORS if name in error.fields), None)
    if field is None:
        return _render_form(choice, message, error.status)
    if choice["shop_id"] is None and field == "file" and MISSING_SHOP_COLUMN.search(error.reason.en):
        message += " " + _("または「登録先のショップ」で、ショップ列がない行のショップを選んでください。")
    return _render_form(choice, status=error.status, field_errors={field: message})


def _order_job(job_id: str) -> JobRecord:
    job = found_or_404(get_job, job_id)
    if job.kind != JOB_KIND:
        abort(404)
    return job


@bp.get("/imports/orders/<job_id>")
def order_job(job_id: str):
    job = _order_job(job_id)
    return page_or_fragment("imports/order_job.html", "imports/_order_job.html", **_job_context(job))


@job_page(JOB_KIND)
def order_job_progress(job: JobRecord):
    """GET /jobs/<id>/progress of a 受注CSV登録 (boss.web.orders.job_progress): the polling partial while the job
    runs, its result once it has ended."""
    return render_template("imports/_order_job.html", **_job_context(job))


@bp.post("/imports/orders/<job_id>/register")
def register_checked(job_id: str):
    """「この内容で登録する」 on a check-only result: the same stored files registered, nothing uploaded again. A
    refusal (registered already, files gone) shows on the checked job's page."""
    job = _order_job(job_id)
    with attempt() as tried:
        started = order_import.register_checked(current_actor(), job.id, lang=lang())
    if tried.error:
        if tried.error.status == 404:
            abort(404)
        flash(tried.error.message(lang()), "error")
        return redirect(url_for("imports.order_job", job_id=job.id), code=303)
    return redirect(url_for("imports.order_job", job_id=started.id), code=303)


def format_name(preset: str) -> str:
    """The format a job's upload was read as (csv.md §6), as the screen names it."""
    return dict(presets.FORMATS).get(preset) or str(OWN_FORMAT)


def _job_context(job: JobRecord) -> dict:
    result, params = job.result or {}, job.params or {}
    names = [each["name"] for each in params.get("files") or []] or [params.get("file_name", "")]
    return {"job": job, "result": result, "file_name": _("、").join(name for name in names if name),
            "format_name": format_name(result.get("preset") or params.get("preset") or "own"),
            "checked_job_id": params.get("checked_job_id"),
            "progress": order_import.rows_progress(job) if job.state in ("queued", "started") else None,
            "modes": {mode: label for mode, label, _note in MODES}, "shown_max": SHOWN_MAX,
            "has_report": bool(result.get("rows_refused")), "separator": _("、")}


@bp.get("/imports/orders/<job_id>/error-report.csv")
def order_error_report(job_id: str):
    job = _order_job(job_id)
    stored = db.session.scalars(select(StoredFile).where(
        StoredFile.account_id == current_user.account_id, StoredFile.job_id == job.id,
        StoredFile.kind == "error_report").order_by(StoredFile.created_at.desc()).limit(1)).first()
    if stored is None:
        abort(404)
    return file_response(stored)


@bp.get("/imports/orders/template.csv")
def order_template_csv():
    shops = account_shops()
    chosen = next((shop for shop in shops if shop.id == selected_shop_id()), shops[0] if shops else None)
    response = make_response(order_template(chosen.name if chosen else _("ショップ名")))
    response.headers["Content-Type"] = "text/csv; charset=Shift_JIS"
    response.headers["Content-Disposition"] = "attachment; filename=order-template.csv"
    return response
