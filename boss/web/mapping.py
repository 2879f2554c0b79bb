"""商品マッピング: the mall items that keep orders waiting, mapped to a product in one step each."""
from __future__ import annotations

from typing import Optional

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ..api.imports import file_response
from ..csv import mapping_import
from ..csv.writing import CsvWriter
from ..extensions import db
from ..job_records import get_job
from ..models import ItemMapping, JobRecord, Shop, StoredFile
from ..orders import frame
from ..orders.mapping import delete_mapping, map_item
from ..orders.mapping_groups import Group, confirmed_count, mappings_page, one_group
from ..orders.mapping_groups import product_options as find_products
from ..orders.mapping_groups import unmapped_groups, waiting_order_ids
from ..parsing import whole_number
from .common import (accept_csv_uploads, account_shops, attempt, current_actor, found_or_404, is_htmx, job_page, lang,
                     page_or_fragment, selected_shop_id)

bp = Blueprint("mapping", __name__)

GROUPS_PER_PAGE = 50
MAPPINGS_PER_PAGE = 50
PRODUCT_OPTIONS = 20
CSV_ENCODINGS = (("auto", _l("自動判定")), ("cp932", "Shift_JIS (CP932)"), ("utf-8", "UTF-8"))


def _page(name: str) -> int:
    return min(whole_number(request.args.get(name)) or 1, 10_000)


def _page_context() -> dict:
    page, mpage, q = _page("page"), _page("mpage"), (request.args.get("q") or "").strip()[:100]
    account_id, shop_id = current_user.account_id, selected_shop_id()
    groups, total = unmapped_groups(account_id, shop_id, {shop.id: shop for shop in account_shops()}, page,
                                    GROUPS_PER_PAGE)
    mappings, more_mappings = mappings_page(account_id, shop_id, mpage, q, MAPPINGS_PER_PAGE)
    return dict(groups=groups, total_groups=total, group_page=page, has_next=page * GROUPS_PER_PAGE < total,
                mappings=mappings, mpage=mpage, more_mappings=more_mappings, q=q)


@bp.get("/mapping")
def index():
    fragment = {"mappings": "mapping/_mappings.html", "unmapped": "mapping/_unmapped.html"}.get(
        request.headers.get("HX-Target", ""), "mapping/_content.html")
    csv_job = {"csv": _csv_form()}
    if request.args.get("csv_job"):  # the upload without htmx comes back here with its job
        csv_job = _csv_job_context(_mapping_job(request.args["csv_job"]))
    return page_or_fragment("mapping/index.html", fragment, **csv_job, **_page_context())


@bp.get("/mapping/products")
def product_options():
    """The picker's search-as-you-type: the account's products by SKU, name or 代表商品コード."""
    q = (request.args.get("q") or "").strip()[:100]
    products = find_products(current_user.account_id, q, PRODUCT_OPTIONS) if q else []
    return render_template("mapping/_product_options.html", products=products, q=q)


def _account_shop(value: str) -> Shop:
    shop_id = whole_number(value)
    for shop in account_shops():
        if shop.id == shop_id:
            return shop
    abort(404)  # R14: a shop of another account is not found


@bp.post("/mapping")
def create():
    form = request.form
    shop = _account_shop(form.get("shop_id", ""))
    row = whole_number(form.get("row")) or 0
    mall_item_id, sub_code = form.get("mall_item_id", ""), form.get("sub_code", "")
    if not mall_item_id:
        abort(400)
    sku = (form.get("sku") or form.get("q") or "").strip()
    group = one_group(current_user.account_id, row, shop, mall_item_id, sub_code)
    if not sku:
        return _answer_group(group, _("マッピング先の商品を検索して選んでください。"), 422)
    waiting = waiting_order_ids(current_user.account_id, group)
    with attempt() as tried:
        mapping, updated = map_item(current_actor(), shop.id, mall_item_id, sub_code, sku)
    if exc := tried.error:
        message = exc.fields.get("sku") if exc.code == "validation_error" and "sku" in exc.fields else exc.message(lang())
        return _answer_group(group, message, exc.status)
    confirmed = confirmed_count(waiting)
    message = _("「%(item)s」を「%(sku)s %(name)s」にマッピングしました。確認待の注文 %(n)s 件を更新しました。",
                item=group.label, sku=mapping.product.sku, name=mapping.product.name, n=f"{updated:,}")
    if confirmed:
        message += " " + _("うち %(c)s 件は自動確認で確認済になりました。", c=f"{confirmed:,}")
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("mapping.index"), code=303)
    context = _page_context()
    return render_template("mapping/_group_done.html", group=group, message=message, oob=True, **{
        k: context[k] for k in ("mappings", "mpage", "more_mappings", "q", "total_groups")})


def _answer_group(group: Group, error: str, status: int):
    if not is_htmx():
        flash(error, "error")
        return redirect(url_for("mapping.index"), code=303)
    return render_template("mapping/_group.html", group=group, error=error,
                           sku=(request.form.get("sku") or request.form.get("q") or "").strip()), status


def _account_mapping(mapping_id: int) -> ItemMapping:
    mapping = db.session.get(ItemMapping, mapping_id) if frame.valid_id(mapping_id) else None
    if mapping is None or mapping.shop.account_id != current_user.account_id:
        abort(404)  # R14
    return mapping


def _label(mapping: ItemMapping) -> str:
    return f"{mapping.mall_item_id}/{mapping.sub_code}" if mapping.sub_code else mapping.mall_item_id


@bp.get("/mapping/<int:mapping_id>/delete")
def delete_dialog(mapping_id: int):
    """The delete's dialog (as the order list's): what the mapping is and what its removal changes, on 戻る."""
    mapping = _account_mapping(mapping_id)
    return render_template("mapping/_delete_dialog.html", mapping=mapping, label=_label(mapping))


@bp.post("/mapping/<int:mapping_id>/delete")
def delete(mapping_id: int):
    mapping = _account_mapping(mapping_id)
    message = _("マッピング「%(item)s → %(sku)s」を削除しました。マッピング済みの明細はそのまま残ります。",
                item=_label(mapping), sku=mapping.product.sku)
    delete_mapping(current_actor(), mapping_id)
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("mapping.index"), code=303)
    return render_template("mapping/_mapping_deleted.html", mapping_id=mapping_id, message=message)


# ---------------------------------------------------------------- 商品マッピングCSV (csv.md §2)


def _csv_form(encoding: str = "auto", error: Optional[str] = None) -> dict:
    size = current_app.config["CSV_MAX_BYTES"] / (1 << 20)
    return {"encodings": CSV_ENCODINGS, "encoding": encoding, "error": error, "max_size": f"{size:g} MB",
            "max_rows": current_app.config["CSV_MAX_ROWS"], "headers": mapping_import.TEMPLATE[0]}


def _csv_refused(encoding: str, error: str, status: int):
    if not is_htmx():
        flash(error, "error")
        return redirect(url_for("mapping.index"), code=303)
    return render_template("mapping/_csv_form.html", csv=_csv_form(encoding, error)), status


accept_csv_uploads(bp, "mapping.csv_upload", refused=lambda message: _csv_refused("auto", message, 413))


@bp.post("/mapping/csv")
def csv_upload():
    form, upload = request.form, request.files.get("file")
    encoding = form.get("encoding", "auto")
    if encoding not in dict(CSV_ENCODINGS):
        return _csv_refused("auto", _("文字コードは一覧から選んでください。"), 422)
    if upload is None or not upload.filename:
        return _csv_refused(encoding, _("CSVファイルを選んでください。"), 422)
    with attempt() as tried:
        job = mapping_import.start(current_actor(), upload.stream, upload.filename, encoding, lang())
    if tried.error:
        return _csv_refused(encoding, tried.error.message(lang()), tried.error.status)
    if not is_htmx():
        return redirect(url_for("mapping.index", csv_job=job.id), code=303)
    return render_template("mapping/_csv_job.html", **_csv_job_context(job))


def _mapping_job(job_id: str) -> JobRecord:
    job = found_or_404(get_job, job_id)
    if job.kind != mapping_import.KIND:
        abort(404)
    return job


@job_page(mapping_import.KIND)
def csv_job_progress(job: JobRecord):
    """GET /jobs/<id>/progress of a 商品マッピングCSV (boss.web.orders.job_progress): the polling partial while the
    job runs, its result once it has ended — and then the page's lists again, as the job has changed them."""
    return render_template("mapping/_csv_job.html", refresh_lists=True, **_csv_job_context(job))


def _csv_job_context(job: JobRecord) -> dict:
    checkpoint = job.checkpoint or {}
    return {"job": job, "result": job.result or {}, "file_name": (job.params or {}).get("file_name", ""),
            "rows_done": checkpoint.get("done", 0), "rows_total": checkpoint.get("total"),
            "shown_max": mapping_import.MAX_ERRORS_SHOWN, "csv": _csv_form()}


@bp.get("/mapping/csv/<job_id>/error-report.csv")
def csv_error_report(job_id: str):
    job = _mapping_job(job_id)
    stored = db.session.scalars(select(StoredFile).where(
        StoredFile.account_id == current_user.account_id, StoredFile.job_id == job.id,
        StoredFile.kind == "error_report")).first()
    if stored is None:
        abort(404)
    return file_response(stored)


@bp.get("/mapping/csv/template.csv")
def csv_template():
    """The headers and one example row, in CP932 as Excel opens a CSV (csv.md §4: a template for each kind)."""
    headers, example = mapping_import.TEMPLATE
    shops = account_shops()
    if shops:
        example = (example[0], shops[0].name, *example[2:])
    data = CsvWriter("cp932").rows([headers, example])
    response = Response(data, content_type="text/csv; charset=Shift_JIS")
    response.headers["Content-Disposition"] = "attachment; filename=mapping-template.csv"
    return response
