"""タグ: what each system tag means, the account's custom tags, and adding/removing a tag on many orders."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Regexp

from ..errors import ServiceError
from ..extensions import db
from ..models import JobRecord
from ..orders import bulk, frame, rules, tags
from ..orders.models import Order, Tag, order_tags
from ..parsing import whole_number
from . import selection
from .common import attempt, current_actor, found_or_404, job_page, lang, page_or_fragment, refusal

bp = Blueprint("tags", __name__)

# orders.md §5: when the system raises and clears each tag (the meaning itself lives in rules.SYSTEM_TAGS).
SYSTEM_TAG_LIFECYCLE = {
    "mall_reflection_error": (_l("RMSへのキャンセルまたは注文確認の反映が最終的に失敗したとき"), _l("再反映に成功したとき")),
    "mall_cancelled": (_l("モール側でキャンセルされた注文がBOSSでは未キャンセルのとき"), _l("この注文をキャンセルしたとき")),
    "not_mall_linked": (_l("手動・CSVで登録したとき"), _l("外れません")),
    "multiple_destinations": (_l("モール注文に送付先が複数あるとき"), _l("確認後にユーザーが外したとき")),
    "warehouse_notice_pending": (_l("出荷依頼後にキャンセルしたとき"), _l("倉庫が受け付けたとき")),
    "warehouse_cancel_refused": (_l("倉庫から「既に出荷済み」と回答があったとき"), _l("対応後にユーザーが外したとき")),
    "shipping_reflection_error": (_l("出荷情報（追跡番号）をモールへ反映できなかったとき"), _l("再反映に成功したとき")),
    "unmapped_items": (_l("商品が未マッピングの明細があるとき"), _l("すべての明細がマッピングされたとき")),
    "amount_unfixed": (_l("楽天で金額が未確定（-9999）のとき"), _l("取込で確定した金額を読んだとき")),
    "mall_processing": (_l("楽天RMSで楽天処理中（200）・変更確定待ち（400）のとき、楽天で注文確認したとき"),
                        _l("取込でRMSが注文確認待ち（100）・発送待ち（300）になったとき")),
    "recipient_pending": (_l("ギフトの受取人が送付先を未入力のとき"), _l("取込で送付先が入力されていたとき")),
    "mall_changed": (_l("出荷依頼後に楽天で注文が変更されたとき"), _l("確認後にユーザーが外したとき")),
    "shipping_request_error": (_l("倉庫が出荷依頼を受け付けなかったとき、送信が最終的に失敗したとき"),
                               _l("出荷依頼の再送に成功したとき")),
    "insufficient_stock": (_l("自動出荷依頼で販売可能在庫が足りなかったとき"), _l("出荷依頼したとき")),
    "warehouse_notice_error": (_l("出荷取下げ・キャンセル連絡を倉庫へ送れなかったとき"), _l("再送に成功したとき")),
}


class TagForm(FlaskForm):
    name = StringField(_l("タグ名"), filters=[lambda v: v.strip() if isinstance(v, str) else v], validators=[
        DataRequired(_l("タグ名を入力してください。")), Length(max=40, message=_l("40文字以内で入力してください。"))])
    color = StringField(_l("色"), default="#5b6b7f", validators=[
        InputRequired(_l("色を選んでください。")),
        Regexp(r"^#[0-9a-fA-F]{6}$", message=_l("#RRGGBB の形式で指定してください。"))])
    holds = BooleanField(_l("出荷依頼を制限する（保留）"))


def _order_counts() -> dict[int, int]:
    """Not-deleted orders per tag of the account (one GROUP BY over order_tags)."""
    rows = db.session.execute(
        select(order_tags.c.tag_id, func.count()).join(Order, Order.id == order_tags.c.order_id)
        .where(Order.account_id == current_user.account_id, Order.deleted_at.is_(None)).group_by(order_tags.c.tag_id))
    return dict(rows.all())


def _account_tags() -> list[Tag]:
    return list(db.session.scalars(select(Tag).where(Tag.account_id == current_user.account_id).order_by(Tag.id)))


def tag_link(tag_id: int) -> str:
    if "search.index" in current_app.view_functions:
        return url_for("search.index", tag=tag_id)
    return url_for("orders.index")


@bp.get("/tags")
def index():
    return _page(TagForm())


def _page(form: TagForm, status: int = 200):
    tags = _account_tags()
    by_code = {tag.code: tag for tag in tags if tag.system}
    system = [{"spec": spec, "tag": by_code.get(spec.code), "raised": SYSTEM_TAG_LIFECYCLE[spec.code][0],
               "cleared": SYSTEM_TAG_LIFECYCLE[spec.code][1]} for spec in rules.SYSTEM_TAGS]
    return page_or_fragment("tags/index.html", "tags/_content.html", http_status=status, form=form, system_tags=system,
                            custom_tags=[tag for tag in tags if not tag.system], counts=_order_counts(),
                            tag_link=tag_link, searchable="search.index" in current_app.view_functions)


@bp.post("/tags")
def create():
    form = TagForm()
    if form.validate():
        with attempt() as tried:
            tag = tags.create_tag(current_actor(), form.name.data, form.color.data.lower(), bool(form.holds.data))
        if tried.error:
            form.name.errors = [tried.error.message(lang())]
            return _page(form, tried.error.status)
        flash(_("タグ「%(name)s」を作成しました。", name=tag.name), "success")
        return redirect(url_for("tags.index"), code=303)
    return _page(form, 422)


@bp.get("/tags/<int:tag_id>/edit")
def edit(tag_id: int):
    tag = _custom_tag_or_404(tag_id)
    return _edit_page(tag, TagForm(obj=tag))


def _custom_tag_or_404(tag_id: int) -> Tag:
    tag = found_or_404(frame.get_tag, tag_id)  # R14: another account's tag does not exist here
    if tag.system:
        abort(404)  # system tags are described on /tags and cannot be edited
    return tag


def _edit_page(tag: Tag, form: TagForm, status: int = 200):
    return page_or_fragment("tags/edit.html", "tags/_edit.html", http_status=status, tag=tag, form=form,
                            orders=_order_counts().get(tag.id, 0), tag_link=tag_link)


@bp.post("/tags/<int:tag_id>")
def update(tag_id: int):
    tag = _custom_tag_or_404(tag_id)
    form = TagForm()
    if form.validate():
        with attempt() as tried:
            tags.update_tag(current_actor(), tag.id, form.name.data, form.color.data.lower(), bool(form.holds.data))
        if tried.error:
            form.name.errors = [tried.error.message(lang())]
            return _edit_page(db.session.get(Tag, tag_id), form, tried.error.status)
        flash(_("タグ「%(name)s」を保存しました。", name=form.name.data), "success")
        return redirect(url_for("tags.index"), code=303)
    return _edit_page(tag, form, 422)


@bp.post("/tags/<int:tag_id>/delete")
def delete(tag_id: int):
    tag = _custom_tag_or_404(tag_id)
    name = tag.name
    count = tags.delete_tag(current_actor(), tag.id)
    flash(_("タグ「%(name)s」を削除しました（%(n)s 件の注文から外しました）。", name=name, n=f"{count:,}"), "success")
    return redirect(url_for("tags.index"), code=303)


# ---------------------------------------------------------------- bulk

def _dialog_context(chosen: bulk.Selection, notice: str | None = None) -> dict:
    return dict(count=chosen.count, selection=selection.freeze(chosen, "tag"), notice=notice,
                custom_tags=[tag for tag in _account_tags() if not tag.system],
                job_threshold=current_app.config["BULK_JOB_THRESHOLD"])


@bp.post("/tags/bulk-add")
def bulk_add():
    """The dialog of the bulk bar's 「タグを追加」: pick a custom tag, add it to (or remove it from) the selection,
    which the dialog freezes (orders/bulk.py Selection)."""
    try:
        chosen = selection.from_form(request.form)
    except ServiceError as exc:
        return refusal("tags/_bulk_result.html", exc)
    return render_template("tags/_bulk_dialog.html", **_dialog_context(chosen))


@bp.post("/tags/bulk-apply")
def bulk_apply():
    mode = request.form.get("mode")
    if mode not in ("add", "remove"):
        abort(400)
    chosen_tag = request.form.get("tag_id", "").strip()
    try:
        chosen = selection.thaw(request.form.get("selection", ""), "tag")
    except bulk.SelectionChanged as changed:
        return render_template("tags/_bulk_dialog.html", **_dialog_context(changed.selection, changed.message(lang()))), 409
    except ServiceError as exc:
        return refusal("tags/_bulk_result.html", exc)
    if not chosen_tag:
        return render_template("tags/_bulk_dialog.html", error=_("タグを選んでください。"), **_dialog_context(chosen)), 422
    try:
        tag = frame.get_tag(current_user.account_id, whole_number(chosen_tag))
    except ServiceError as exc:  # deleted since the dialog opened, or another account's (R14): said in the dialog
        return refusal("tags/_bulk_dialog.html", exc, **_dialog_context(chosen))
    try:
        outcome = bulk.start(current_actor(), f"{mode}_tag", list(chosen.ids), {"tag_id": tag.id, "lang": lang()})
    except ServiceError as exc:
        return refusal("tags/_bulk_result.html", exc)
    if outcome.job_id:  # over BULK_JOB_THRESHOLD: a job with a progress bar, its result as below when done
        return render_template("jobs/_progress.html", job=db.session.get(JobRecord, outcome.job_id))
    return render_template("tags/_bulk_result.html", tag=tag, mode=mode, result=outcome.result)


@job_page(*(f"bulk_{action}" for action in bulk.TAG_ACTIONS))
def bulk_tag_progress(job: JobRecord):
    if job.state != "finished":
        return render_template("jobs/_progress.html", job=job)
    action = job.kind.removeprefix("bulk_")
    return render_template("tags/_bulk_result.html", tag=db.session.get(Tag, job.params["tag_id"]),
                           mode=action.removesuffix("_tag"), result=job.result)
