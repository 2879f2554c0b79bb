"""設定 › ショップ: the account's shops, a shop's settings and RMS connection (admins), and 今すぐ取込 (everyone)."""
from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ...errors import ServiceError
from ...extensions import db
from ...malls.rakuten import connection
from ...models import JobRecord, Shop
from ...orders import frame, shops
from ..common import (LICENSE_WARN_DAYS, account_shops, attempt, current_actor, found_or_404, is_htmx, job_page, lang,
                      license_state, page_or_fragment)
from .base import MALL_LABELS, admin_only, bp, jst_today, with_message
from .shop_forms import NewShopForm, RakutenShopForm, ShopForm

INVENTORY_RESTORE_LABELS = {0: _l("商品の設定に従う"), 1: _l("在庫を戻す"), 2: _l("在庫を戻さない")}
LICENSE_KEY_DAYS = 90  # a Rakuten licenseKey is valid for 90 days from its issue


def _running_imports() -> dict[int, JobRecord]:
    """The account's imports that are queued or running, by shop (one query; one at a time per shop)."""
    jobs = db.session.scalars(select(JobRecord).where(
        JobRecord.account_id == current_user.account_id, JobRecord.kind == "import",
        JobRecord.state.in_(("queued", "started"))))
    return {job.shop_id: job for job in jobs}


def _row_context(**more) -> dict:
    """What a shop's rows need, also when they are rendered from another blueprint (GET /jobs/<id>/progress)."""
    return {"MALL_LABELS": MALL_LABELS, "license_state": license_state, "LICENSE_WARN_DAYS": LICENSE_WARN_DAYS,
            **more}


def _shops_page(new_form: NewShopForm | None = None, status: int = 200):
    return page_or_fragment("settings/index.html", "settings/_shops.html", http_status=status, shops=account_shops(),
                            new_form=new_form or NewShopForm(formdata=None), section="shops",
                            **_row_context(imports=_running_imports()))


@bp.get("/settings")
def index():
    return _shops_page()


@bp.post("/settings/shops")
@admin_only
def create_shop():
    form = NewShopForm()
    if form.validate():
        with attempt() as tried:
            shop = shops.create_shop(current_actor(), form.name.data, form.mall.data, form.auto_confirm.data,
                                        form.reflect_cancel_to_rms.data)
        if not tried.error:
            flash(_("ショップ「%(name)s」を追加しました。", name=shop.name), "success")
            return redirect(url_for("settings.index", _anchor=f"shop-{shop.id}"), code=303)
        form.name.errors.append(tried.error.message(lang()))
    return _shops_page(form, status=422)


@bp.get("/settings/shops/<int:shop_id>/edit")
@admin_only
def edit_shop(shop_id: int):
    shop = found_or_404(frame.get_shop, shop_id)
    form = RakutenShopForm.for_shop(shop) if shop.mall == "rakuten" else ShopForm(formdata=None, obj=shop)
    return _shop_form(shop, form.fill_warehouse(shop))


def _shop_form(shop: Shop, form: ShopForm, status: int = 200, form_errors: list[str] | None = None):
    """The edit form: a dialog over the shop table (htmx), or a page of its own."""
    response = page_or_fragment("settings/shop_edit.html", "settings/_shop_dialog.html", http_status=status, shop=shop,
                                form=form, form_errors=form_errors or [], in_dialog=is_htmx(), section="shops",
                                default_base_url=connection.default_base_url(),
                                sandbox=current_app.config["BOSS_SANDBOX"], INVENTORY_RESTORE_LABELS=INVENTORY_RESTORE_LABELS,
                                new_key_expiry=jst_today() + timedelta(days=LICENSE_KEY_DAYS),
                                **_row_context())
    if status != 200 and is_htmx():  # the form was posted from the dialog: show the errors there
        response.headers["HX-Retarget"] = "#dialog"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def _service_errors(form: ShopForm, exc: ServiceError) -> list[str]:
    """A refusal's field errors (`rms.base_url`, `import_interval_minutes`, ...) next to their fields; the rest on top."""
    if exc.code == "already_exists":
        form.name.errors.append(exc.message(lang()))
        return []
    unplaced = []
    for name, text in (exc.fields or {}).items():
        field = getattr(form, name.replace("rms.", "rms_"), None) if isinstance(name, str) else None
        if field is None and name == "rms":
            field = getattr(form, "rms_license_key", None)
        if field is not None:
            field.errors = [*field.errors, text]
        else:
            unplaced.append(text)
    if not exc.fields:
        unplaced.append(exc.message(lang()))
    return unplaced


@bp.post("/settings/shops/<int:shop_id>")
@admin_only
def update_shop(shop_id: int):
    shop = found_or_404(frame.get_shop, shop_id)
    rakuten = shop.mall == "rakuten"
    form = RakutenShopForm() if rakuten else ShopForm()
    if not form.validate():
        return _shop_form(shop, form, status=422)
    changes = {"name": form.name.data, "auto_confirm": form.auto_confirm.data, **form.warehouse_changes()}
    rms = None
    if rakuten:  # the switch, the connection and the import settings are shown (and meant) for Rakuten shops only
        rms = form.rms_changes(shop)
        if any(field.errors for field in form):
            return _shop_form(shop, form, status=422)
        changes.update(reflect_cancel_to_rms=form.reflect_cancel_to_rms.data, confirm_at_rms=form.confirm_at_rms.data,
                       import_interval_minutes=int(form.import_interval_minutes.data),
                       initial_lookback_days=int(form.initial_lookback_days.data),
                       inventory_restore_type=int(form.inventory_restore_type.data))
        if rms:
            changes["rms"] = rms
    reflect_before = shop.reflect_cancel_to_rms
    with attempt() as tried:
        shop = shops.update_shop(current_actor(), shop_id, changes)
    if exc := tried.error:
        errors = _service_errors(form, exc)
        return _shop_form(frame.get_shop(current_user.account_id, shop_id), form, status=exc.status, form_errors=errors)
    message = _("ショップ「%(name)s」の設定を保存しました。", name=shop.name)
    if rms:
        message += " " + _("RMS API接続を登録しました（licenseKey 末尾 %(last4)s）。取込を開始しました。",
                           last4=shop.rms.key_last4)
    if shop.reflect_cancel_to_rms != reflect_before:
        message += " " + (_("次のキャンセルから楽天RMSへ反映します。") if shop.reflect_cancel_to_rms
                          else _("次のキャンセルから楽天RMSへは反映しません。")) + " " + _("これまでのキャンセルは変わりません。")
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("settings.index", _anchor=f"shop-{shop.id}"), code=303)
    return with_message("settings/_shop_result.html", message=message, shop=shop, **_row_context(imports=_running_imports()))


# ---------------------------------------------------------------- 取込 (staff and admins: api.md)

@bp.post("/settings/shops/<int:shop_id>/import")
def import_shop(shop_id: int):
    """今すぐ取込: start the shop's import, or show the one already queued or running (never two at once)."""
    from ...malls.rakuten.importer import start_import

    shop = found_or_404(frame.get_shop, shop_id)
    already = _running_imports().get(shop.id)
    with attempt() as tried:
        job = start_import(current_actor(), shop.id)
    if exc := tried.error:
        if exc.code == "not_found":
            abort(404)
        if not is_htmx():
            flash(exc.message(lang()), "error")
            return redirect(url_for("settings.index", _anchor=f"shop-{shop_id}"), code=303)
        return render_template("settings/_import_status.html", job=None, shop=shop, refusal=exc.message(lang())), exc.status
    if not is_htmx():
        flash(_("「%(name)s」の取込を開始しました。", name=shop.name) if already is None else
              _("「%(name)s」はすでに取込中です。", name=shop.name), "success")
        return redirect(url_for("settings.index", _anchor=f"shop-{shop.id}"), code=303)
    return render_template("settings/_import_status.html", job=job, shop=shop, already=already is not None), 202


@job_page("import")
def import_progress(job: JobRecord):
    """GET /jobs/<id>/progress of 今すぐ取込 (registered for boss.web.orders.job_progress): while it runs, the
    self-polling partial; once it has ended, the shop's rows with the result, swapped out of band (the
    connection state and the last import time may have changed), and the 要対応 badge."""
    shop = db.session.get(Shop, job.shop_id) if job.shop_id else None
    if job.state not in ("finished", "failed") or shop is None or shop.account_id != job.account_id:
        return render_template("settings/_import_status.html", job=job, shop=shop)
    response = make_response(render_template("settings/_import_done.html", job=job, shop=shop,
                                             **_row_context(imports={})))
    response.headers["HX-Reswap"] = "none"  # everything is out of band
    return response
