"""注文詳細: everything about one order, its history (R12), tags, and the actions allowed now.

キャンセル and 削除 reuse the dialogs of 注文一覧 with target=detail (orders.py answers: after a delete
303 to the list, after a cancel back here). A deleted order is shown read-only (R8).
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import select

from ..extensions import db
from ..orders import actions, delivery, frame, rules
from ..orders.models import Order, OrderEvent, Tag
from ..parsing import whole_number
from .common import attempt, current_actor, found_or_404, is_htmx, lang, page_or_fragment, version_from

bp = Blueprint("detail", __name__)

EVENT_KINDS = {
    "registered": lazy_gettext("登録"),
    "imported": lazy_gettext("モールから取込"),
    "mapped": lazy_gettext("商品マッピング"),
    "confirmed": lazy_gettext("確認"),
    "cancelled": lazy_gettext("キャンセル"),
    "deleted": lazy_gettext("削除"),
    "tag_added": lazy_gettext("タグ追加"),
    "tag_removed": lazy_gettext("タグ削除"),
    "reflection_pending": lazy_gettext("RMS反映待ち"),
    "reflection_done": lazy_gettext("RMS反映完了"),
    "reflection_failed": lazy_gettext("RMS反映エラー"),
    "conflict_refused": lazy_gettext("同時操作のため拒否"),
    "status_set": lazy_gettext("ステータス変更"),
    "mall_change_applied": lazy_gettext("楽天での変更を反映"),
    "mall_change_held": lazy_gettext("楽天での変更を保留"),
    "rms_confirm_done": lazy_gettext("RMS注文確認"),
    "rms_confirm_failed": lazy_gettext("RMS注文確認エラー"),
}
ACTOR_TYPES = {"user": lazy_gettext("ユーザー"), "token": lazy_gettext("APIトークン"),
               "job": lazy_gettext("ジョブ"), "system": lazy_gettext("システム")}
SOURCES = {"mall_import": lazy_gettext("モール取込"), "manual": lazy_gettext("手動登録"), "csv": lazy_gettext("CSV登録")}
PICKUP_KINDS = {"convenience_store": lazy_gettext("コンビニ受取"), "post_office": lazy_gettext("郵便局受取")}
REFLECTION_STATES = {"none": lazy_gettext("反映なし"), "pending": lazy_gettext("反映待ち"),
                     "done": lazy_gettext("反映済み"), "failed": lazy_gettext("反映エラー")}


def _order_or_404(order_id: int) -> Order:
    """R14: another account's order is not found."""
    return found_or_404(frame.get_order, order_id)


def _version() -> int | None:
    return version_from(request.form)


def detail_context(order: Order) -> dict:
    state = order.state()
    events = list(db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id)
                                     .order_by(OrderEvent.at, OrderEvent.id)))
    removable = {tag.id: bool(rules.can_change_tag(state, tag.code, tag.system, adding=False)) for tag in order.tags}
    on_order = {tag.id for tag in order.tags}
    addable = [] if order.deleted else [
        tag for tag in db.session.scalars(select(Tag).where(Tag.account_id == order.account_id, Tag.system.is_(False))
                                          .order_by(Tag.name))
        if tag.id not in on_order]
    return dict(
        order=order, events=events, removable=removable, addable=addable,
        confirm=rules.can_confirm(state), cancel=rules.can_cancel(state), delete=rules.can_delete(state),
        event_kinds=EVENT_KINDS, actor_types=ACTOR_TYPES, sources=SOURCES, reflection_states=REFLECTION_STATES,
        cancel_reason=rules.CANCEL_REASONS.get(order.cancel_reason_code or 0),
        same_recipient=_same_recipient(order), pickup_kinds=PICKUP_KINDS,
        goods_total=sum(line.quantity * line.unit_price for line in order.lines),
        cash_on_delivery=delivery.is_cash_on_delivery(order.payment_method),
    )


def _same_recipient(order: Order) -> bool:
    fields = ("name", "name_kana", "email", "phone", "postal_code", "address")
    return all(getattr(order, f"buyer_{f}") == getattr(order, f"recipient_{f}") for f in fields)


@bp.get("/orders/<int:order_id>")
def show(order_id: int):
    order = _order_or_404(order_id)
    return page_or_fragment("detail/show.html", "detail/_order.html", **detail_context(order))


@bp.post("/orders/<int:order_id>/confirm")
def confirm(order_id: int):
    _order_or_404(order_id)
    return _flash_action(order_id, lambda: actions.confirm(current_actor(), order_id, _version()),
                         _("注文「%(n)s」を確認済にしました。"))


@bp.post("/orders/<int:order_id>/retry-reflection")
def retry_reflection(order_id: int):
    """「再反映」: try the failed reflection to Rakuten RMS again — a cancelled order's cancel, another's 注文確認."""
    from ..malls.rakuten.reflection import retry

    order = _order_or_404(order_id)
    return _flash_action(order_id, lambda: retry(current_actor(), order_id, _version()),
                         _("注文「%(n)s」のキャンセルを楽天RMSへ再反映しています。") if order.status == rules.CANCELLED
                         else _("注文「%(n)s」の注文確認を楽天RMSへ再反映しています。"))


def _flash_action(order_id: int, action, done_message: str):
    """Run an action on the order; back to its page with what happened (`done_message` % {n: its number})."""
    with attempt() as tried:
        order = action()
    if tried.error:
        flash(tried.error.message(lang()), "error")
    else:
        flash(done_message % {"n": order.mall_order_number}, "success")
    return redirect(url_for("detail.show", order_id=order_id), code=303)


@bp.post("/orders/<int:order_id>/tags")
def add_tag(order_id: int):
    _order_or_404(order_id)
    tag_id = whole_number(request.form.get("tag_id"))
    if tag_id is None:
        return _tag_answer(order_id, _("追加するタグを選んでください。"), "error", 422)
    tag = _tag_or_404(tag_id)
    return _change_tag(order_id, lambda: actions.add_tag(current_actor(), order_id, tag.id, _version()),
                       _("タグ「%(t)s」を追加しました。", t=tag.name))


@bp.post("/orders/<int:order_id>/tags/<int:tag_id>/remove")
def remove_tag(order_id: int, tag_id: int):
    _order_or_404(order_id)
    tag = _tag_or_404(tag_id)
    return _change_tag(order_id, lambda: actions.remove_tag(current_actor(), order_id, tag.id, _version()),
                       _("タグ「%(t)s」を外しました。", t=tag.name))


def _tag_or_404(tag_id: int) -> Tag:
    return found_or_404(frame.get_tag, tag_id)


def _change_tag(order_id: int, action, done_message: str):
    with attempt() as tried:
        action()
    if tried.error:
        return _tag_answer(order_id, tried.error.message(lang()), "error", tried.error.status)
    return _tag_answer(order_id, done_message, "success", 200)


def _tag_answer(order_id: int, message: str, category: str, status: int):
    """htmx: the order part of the page in its new state (actions and history change with the tags),
    the message and the 要対応 badge; without htmx: back to the page."""
    if not is_htmx():
        flash(message, category)
        return redirect(url_for("detail.show", order_id=order_id), code=303)
    order = _order_or_404(order_id)
    return render_template("detail/_tag_result.html", message=message, category=category,
                           **detail_context(order)), status
