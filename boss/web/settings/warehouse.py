"""設定 › 倉庫 (warehouse.md §1): the account's warehouse connection — provider, base URL, API key (never shown
back but its last 4 characters), sync interval, its state and last sync — and 今すぐ同期.

Everyone sees the state and may ask for a sync (as everyone may import); only admins change the connection."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import Length, Regexp

from ...models import JobRecord
from ...warehouse import connection
from ..common import attempt, current_actor, is_htmx, job_page, lang, page_or_fragment
from .base import SettingsForm, admin_only, bp, strip
from .shop_forms import WholeNumber, _nfkc

SYNC_JOB_KIND = "warehouse_sync"  # the job kind warehouse/sync.py records (its progress shows here)


class WarehouseForm(SettingsForm):
    base_url = StringField(_l("接続先URL"), filters=[_nfkc], validators=[
        Length(max=255, message=_l("255文字以内で入力してください。"))])
    api_key = PasswordField(_l("APIキー"), filters=[strip], validators=[
        Regexp(r"^[\x21-\x7e]{0,255}$", message=_l("半角の英数字と記号で入力してください（空白なし・255文字以内）。"))])
    sync_interval_seconds = StringField(_l("同期間隔（秒）"), filters=[_nfkc], validators=[
        WholeNumber(connection.MIN_INTERVAL, connection.MAX_INTERVAL, _l("30〜3600（秒）の整数で入力してください。"))])

    @classmethod
    def for_connection(cls, conn) -> "WarehouseForm":
        form = cls(formdata=None)
        form.base_url.data = conn.base_url or ""
        form.sync_interval_seconds.data = str(conn.interval_seconds)
        return form

    def changes(self) -> dict:
        """What update_warehouse changes: the key only when one was typed (blank keeps the stored one)."""
        changes = {"base_url": self.base_url.data or None,
                   "sync_interval_seconds": int(self.sync_interval_seconds.data)}
        if self.api_key.data:
            changes["api_key"] = self.api_key.data
        return changes


def _page(form: WarehouseForm | None = None, status: int = 200, job: JobRecord | None = None):
    conn = connection.warehouse_for(current_actor().account_id)
    return page_or_fragment("settings/warehouse.html", "settings/_warehouse.html", http_status=status, conn=conn,
                            form=form or WarehouseForm.for_connection(conn), section="warehouse",
                            base_url=connection.effective_base_url(conn),
                            default_base_url=connection.default_base_url(),
                            sandbox=current_app.config["BOSS_SANDBOX"], job=job)


@bp.get("/settings/warehouse")
def warehouse():
    return _page()


@bp.post("/settings/warehouse")
@admin_only
def update_warehouse():
    form = WarehouseForm()
    if not form.validate():
        return _page(form, status=422)
    with attempt() as tried:
        connection.update_warehouse(current_actor(), form.changes())
    if exc := tried.error:
        for name, why in exc.fields.items():
            getattr(form, name, form.base_url).errors.append(why)
        return _page(form, status=exc.status)
    flash(_("倉庫の接続設定を保存しました。"), "success")
    return redirect(url_for("settings.warehouse"), code=303)


@bp.post("/settings/warehouse/disconnect")
@admin_only
def disconnect_warehouse():
    connection.update_warehouse(current_actor(), {"api_key": None})
    flash(_("倉庫との接続を解除しました（APIキーを削除しました）。"), "success")
    return redirect(url_for("settings.warehouse"), code=303)


@bp.post("/settings/warehouse/sync")
def sync_warehouse():
    """今すぐ同期: the events after now are read by the queued run, or a new one (warehouse/sync.py)."""
    from ...extensions import db
    from ...warehouse import sync

    with attempt() as tried:
        job_id = sync.request_sync(current_actor().account_id)
    if exc := tried.error:
        if not is_htmx():
            flash(exc.message(lang()), "error")
            return redirect(url_for("settings.warehouse"), code=303)
        return render_template("settings/_warehouse_sync.html", job=None, refusal=exc.message(lang())), exc.status
    if not is_htmx():
        flash(_("倉庫との同期を開始しました。"), "success")
        return redirect(url_for("settings.warehouse"), code=303)
    return render_template("settings/_warehouse_sync.html", job=db.session.get(JobRecord, job_id)), 202


@job_page(SYNC_JOB_KIND)
def sync_progress(job: JobRecord):
    """GET /jobs/<id>/progress of 今すぐ同期: the self-polling partial until the run ends, then how it ended, with the
    page's 最終同期 and connection state as the run left them (out of band: no reload to see them)."""
    ended = job.state in ("finished", "failed")
    return render_template("settings/_warehouse_sync.html", job=job,
                           ended_conn=connection.warehouse_for(current_actor().account_id) if ended else None)
