"""注文詳細: everything about one order, its history (R12), tags, and the actions allowed now.

キャンセル and 削除 reuse the dialogs of 注文一覧 with target=detail (orders.py answers: after a delete
303 to the list, after a cancel back here). A deleted order is shown read-only (R8).
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import select

from ..errors import ServiceError
from ..extensions import db
from ..orders import actions, delivery, editing, frame, rules
from ..orders.models import Order, OrderEvent, Tag
from ..parsing import whole_number
from ..unit_of_work import read_snapshot
from ..warehouse import notices, returns, shipping, withdrawal
from .common import attempt, current_actor, found_or_404, is_htmx, page_or_fragment, refusal_on_order, version_from
from .orders import NOT_A_REASON
from .returns import return_labels
from .shipment_view import CARRIERS, NOTICE_STATES, REQUEST_STATES, shipping_actions

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
    "edited": lazy_gettext("編集"),
    "shipment_requested": lazy_gettext("出荷依頼"),
    "shipment_sent": lazy_gettext("出荷依頼送信"),
    "shipment_failed": lazy_gettext("出荷依頼エラー"),
    "shipment_started": lazy_gettext("出荷作業開始"),
    "shipped": lazy_gettext("出荷完了"),
    "shipment_refused": lazy_gettext("出荷不可"),
    "withdrawal_requested": lazy_gettext("出荷取下げ依頼"),
    "withdrawn": lazy_gettext("出荷取下げ完了"),
    "withdrawal_refused": lazy_gettext("出荷取下げ不可"),
    "notice_sent": lazy_gettext("倉庫へキャンセル連絡"),
    "notice_failed": lazy_gettext("倉庫連絡エラー"),
    "notice_acknowledged": lazy_gettext("倉庫がキャンセルを受付"),
    "notice_refused": lazy_gettext("倉庫キャンセル不可"),
    "return_opened": lazy_gettext("返品受付"),
    "return_inspected": lazy_gettext("返品検品"),
    "stale_event_ignored": lazy_gettext("古い倉庫イベントを無視"),
    "shipping_reflected": lazy_gettext("出荷情報をモールへ反映"),
    "shipping_reflection_failed": lazy_gettext("出荷情報反映エラー"),
    "reflection_retry": lazy_gettext("再反映"),
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
        edit=editing.can_edit(order, set()),
        event_kinds=EVENT_KINDS, actor_types=ACTOR_TYPES, sources=SOURCES, reflection_states=REFLECTION_STATES,
        cancel_reason=rules.CANCEL_REASONS.get(order.cancel_reason_code or 0),
        same_recipient=_same_recipient(order), pickup_kinds=PICKUP_KINDS,
        goods_total=sum(line.quantity * line.unit_price for line in order.lines),
        cash_on_delivery=delivery.is_cash_on_delivery(order.payment_method),
        shipment=order.current_shipment, earlier_shipments=list(reversed(order.shipments[:-1])),
        shipping=shipping_actions(order), carriers=CARRIERS, request_states=REQUEST_STATES,
        notice_states=NOTICE_STATES, cancel_reasons=rules.CANCEL_REASONS,
        order_return=returns.latest(order.id) if order.shipment_status == rules.SHIPPED else None,
        return_labels=return_labels(),
    )


def _same_recipient(order: Order) -> bool:
    fields = ("name", "name_kana", "email", "phone", "postal_code", "address")
    return all(getattr(order, f"buyer_{f}") == getattr(order, f"recipient_{f}") for f in fields)


@bp.get("/orders/<int:order_id>")
def show(order_id: int):
    read_snapshot()  # the page's buttons carry the version of what it shows (R13)
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


@bp.post("/orders/<int:order_id>/retry-shipping-reflection")
def retry_shipping_reflection(order_id: int):
    """「出荷情報を再反映」: send the shipping info whose reflection to Rakuten RMS failed again."""
    from ..malls.rakuten import shipping_info

    _order_or_404(order_id)
    return _flash_action(order_id, lambda: shipping_info.retry(current_actor(), order_id, _version()),
                         _("注文「%(n)s」の出荷情報を楽天RMSへ再反映しています。"))


@bp.post("/orders/<int:order_id>/request-shipment")
def request_shipment(order_id: int):
    """出荷依頼, or 再出荷依頼 of an order whose shipment came back 出荷不可 (the same service decides which)."""
    order = _order_or_404(order_id)
    again = order.shipment_status == rules.NOT_SHIPPABLE
    return _flash_action(order_id, lambda: shipping.request_shipment(current_actor(), order_id, _version()),
                         _("注文「%(n)s」を再出荷依頼しました。") if again else _("注文「%(n)s」を出荷依頼しました。"))


@bp.post("/orders/<int:order_id>/retry-shipping-request")
def retry_shipping_request(order_id: int):
    _order_or_404(order_id)
    return _flash_action(order_id, lambda: shipping.retry_request(current_actor(), order_id, _version()),
                         _("注文「%(n)s」の出荷依頼を再送しています。"))


@bp.post("/orders/<int:order_id>/request-withdrawal")
def request_withdrawal(order_id: int):
    """出荷取下げ, or with then_cancel=1 取下げ後にキャンセル (the cancel reason from the dialog)."""
    _order_or_404(order_id)
    then_cancel = request.form.get("then_cancel") == "1"

    def action():
        reason_code = _cancel_reason(request.form.get("reason_code")) if then_cancel else None
        return withdrawal.request_withdrawal(current_actor(), order_id, then_cancel=then_cancel, reason_code=reason_code,
                        expected_version=_version())

    return _flash_action(order_id, action, lambda order: withdrawal_done(order, then_cancel))


def withdrawal_done(order: Order, then_cancel: bool) -> str:
    """What a withdrawal did: a request the warehouse never had is withdrawn at once (出荷不可), another is asked."""
    if order.shipment_status == rules.NOT_SHIPPABLE:
        if order.status == rules.CANCELLED:
            return _("注文「%(n)s」の出荷依頼は倉庫に届く前だったため、すぐに取り下げてキャンセルしました。",
                     n=order.mall_order_number)
        return _("注文「%(n)s」の出荷依頼は倉庫に届く前だったため、すぐに取り下げました（出荷不可）。", n=order.mall_order_number)
    if then_cancel:
        return _("注文「%(n)s」の出荷取下げを倉庫へ依頼しました。取り下げられるとキャンセルします。", n=order.mall_order_number)
    return _("注文「%(n)s」の出荷取下げを倉庫へ依頼しました。", n=order.mall_order_number)


@bp.get("/orders/<int:order_id>/withdraw-then-cancel")
def withdraw_then_cancel_dialog(order_id: int):
    """取下げ後にキャンセル's dialog: what happens, and the cancel reason (as the cancel dialog asks it)."""
    order = _order_or_404(order_id)
    return render_template("detail/_withdraw_cancel_dialog.html", order=order,
                           decision=shipping_actions(order).withdraw_then_cancel,
                           effects=order.cancel_effects(), version=request.args.get("version", order.version))


@bp.post("/orders/<int:order_id>/retry-warehouse-notice")
def retry_warehouse_notice(order_id: int):
    """「再送」 of a withdrawal or cancellation notice that could not be sent (「倉庫連絡エラー」)."""
    _order_or_404(order_id)
    return _flash_action(order_id, lambda: notices.retry_notice(current_actor(), order_id, _version()),
                         _("注文「%(n)s」の倉庫への連絡を再送しています。"))


def _cancel_reason(value) -> int:
    code = whole_number(value)
    if code not in rules.CANCEL_REASONS:
        raise ServiceError("validation_error", NOT_A_REASON, {"reason_code": "unknown reason"})
    return code


def _flash_action(order_id: int, action, done_message):
    """Run an action on the order; back to its page with what happened (`done_message` % {n: its number}, or
    done_message(order) when it depends on what the action did)."""
    with attempt() as tried:
        order = action()
    if tried.error:
        flash(refusal_on_order(tried.error, order_id), "error")
    else:
        flash(done_message(order) if callable(done_message) else done_message % {"n": order.mall_order_number},
              "success")
    return redirect(url_for("detail.show", order_id=order_id), code=303)


@bp.post("/orders/<int:order_id>/tags")
def add_tag(order_id: int):
    _order_or_404(order_id)
    tag_id = whole_number(request.form.get("tag_id"))
    if tag_id is None:
        return order_answer(order_id, _("追加するタグを選んでください。"), "error", 422)
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
        return order_answer(order_id, refusal_on_order(tried.error, order_id), "error", tried.error.status)
    return order_answer(order_id, done_message, "success", 200)


def order_answer(order_id: int, message: str, category: str, status: int):
    """htmx: the order part of the page in its new state (actions and history change with a tag, an edit),
    the message and the 要対応 badge; without htmx: back to the page."""
    if not is_htmx():
        flash(message, category)
        return redirect(url_for("detail.show", order_id=order_id), code=303)
    order = _order_or_404(order_id)
    return render_template("detail/_tag_result.html", message=message, category=category,
                           **detail_context(order)), status
