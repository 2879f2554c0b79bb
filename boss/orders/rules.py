"""The order rules of orders.md §2–4, pure: no Flask, no SQLAlchemy.

Every question "may I do this to this order?" is answered here, with the reason in Japanese and
English and what to do instead. Services refuse with these answers; templates grey out with them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from ..reason import Reason

AWAITING_CONFIRMATION = "awaiting_confirmation"
CONFIRMED = "confirmed"
AWAITING_SHIPMENT = "awaiting_shipment"
SHIPPING_IN_PROGRESS = "shipping_in_progress"
COMPLETED = "completed"
CANCELLED = "cancelled"

STATUSES = (AWAITING_CONFIRMATION, CONFIRMED, AWAITING_SHIPMENT, SHIPPING_IN_PROGRESS, COMPLETED, CANCELLED)
STATUS_LABELS = {
    AWAITING_CONFIRMATION: "確認待",
    CONFIRMED: "確認済",
    AWAITING_SHIPMENT: "出荷待ち",
    SHIPPING_IN_PROGRESS: "出荷作業中",
    COMPLETED: "完了",
    CANCELLED: "キャンセル",
}
STATUS_LABELS_EN = {
    AWAITING_CONFIRMATION: "Awaiting confirmation",
    CONFIRMED: "Confirmed",
    AWAITING_SHIPMENT: "Awaiting shipment",
    SHIPPING_IN_PROGRESS: "Shipping in progress",
    COMPLETED: "Completed",
    CANCELLED: "Cancelled",
}

REQUESTED = "requested"
SHIPPING = "shipping"
WITHDRAWAL_REQUESTED = "withdrawal_requested"
NOT_SHIPPABLE = "not_shippable"
SHIPPED = "shipped"

SHIPMENT_STATUSES = (REQUESTED, SHIPPING, WITHDRAWAL_REQUESTED, NOT_SHIPPABLE, SHIPPED)
SHIPMENT_STATUS_LABELS = {
    REQUESTED: "出荷依頼済",
    SHIPPING: "出荷中",
    WITHDRAWAL_REQUESTED: "取下げ依頼中",
    NOT_SHIPPABLE: "出荷不可",
    SHIPPED: "出荷完了",
}
SHIPMENT_STATUS_LABELS_EN = {
    REQUESTED: "Requested",
    SHIPPING: "Shipping",
    WITHDRAWAL_REQUESTED: "Withdrawal requested",
    NOT_SHIPPABLE: "Not shippable",
    SHIPPED: "Shipped",
}

CANCEL = "cancel"
DELETE = "delete"
CONFIRM = "confirm"
ADD_TAG = "add_tag"
REMOVE_TAG = "remove_tag"
ACTIONS = (CANCEL, DELETE, CONFIRM, ADD_TAG, REMOVE_TAG)

# The error code each action is refused with (api.md).
REFUSAL_CODES = {CANCEL: "cannot_cancel", DELETE: "cannot_delete"}
DEFAULT_REFUSAL_CODE = "invalid_transition"


@dataclass(frozen=True)
class SystemTag:
    code: str
    name: str
    name_en: str
    holds: bool
    attention: bool
    meaning: str
    color: str
    meaning_en: str = ""


# orders.md §5. `attention` marks the tags counted by the 要対応 badge: errors and holds. A system tag is drawn in
# its colour here (not the one stored with the account's tag, which may be older) with white text: each colour has
# at least 4.5:1 against white (WCAG 2.1 AA; tests/unit/test_colors.py).
SYSTEM_TAGS = (
    SystemTag("mall_reflection_error", "モール反映エラー", "Mall reflection error", False, True,
              "楽天RMSへのキャンセル反映に失敗しました。RMSでキャンセル状況を確認し、再反映してください。", "#c0392b",
              meaning_en="The cancel could not be reflected to Rakuten RMS. Check the cancel in RMS, then retry the reflection."),
    SystemTag("mall_cancelled", "モール側キャンセル", "Cancelled at the mall", True, True,
              "モール側でキャンセルされています。内容を確認してこの注文をキャンセルしてください。", "#b84a00",
              meaning_en="Cancelled at the mall. Check it, then cancel this order."),
    SystemTag("not_mall_linked", "モール出荷連携なし", "Not linked to the mall", False, False,
              "手動登録の注文です。出荷情報はモールへ自動で反映されません。", "#5f6b6d",
              meaning_en="Registered by hand: shipping information is not sent to the mall automatically."),
    SystemTag("multiple_destinations", "複数送付先", "Several destinations", True, True,
              "送付先が複数あります。確認後にタグを外してください。", "#8e44ad",
              meaning_en="The order has several destinations. Remove the tag once checked."),
    SystemTag("warehouse_notice_pending", "倉庫連絡待ち", "Awaiting warehouse answer", False, False,
              "倉庫へのキャンセル連絡の回答待ちです。", "#1f6fa8",
              meaning_en="Waiting for the warehouse to answer the cancel notice."),
    SystemTag("warehouse_cancel_refused", "倉庫キャンセル不可", "Warehouse could not cancel", False, True,
              "荷物は既に出荷されています。対応後にタグを外してください。", "#c0392b",
              meaning_en="The parcel has already shipped. Remove the tag once handled."),
    SystemTag("shipping_reflection_error", "出荷情報反映エラー", "Shipping reflection error", False, True,
              "出荷情報をモールへ反映できませんでした。再反映してください。", "#c0392b",
              meaning_en="The shipping information could not be sent to the mall. Retry the reflection."),
    SystemTag("unmapped_items", "商品未マッピング", "Unmapped items", False, False,
              "商品がマッピングされていない明細があります。", "#8a6d00",
              meaning_en="Some lines are not mapped to a product."),
    # Holds that only a read of the order at the mall raises and clears (rakuten-rms.md §Reading an order).
    SystemTag("amount_unfixed", "金額未確定", "Amount not fixed", True, True,
              "楽天で金額（送料・請求金額など）がまだ確定していません。確定すると次回の取込で自動的に外れます。", "#a04000",
              meaning_en="Rakuten has not fixed the amounts (postage, amount billed) yet. The tag goes at the next "
                         "import once they are fixed."),
    SystemTag("mall_processing", "楽天処理中", "Rakuten processing", True, True,
              "楽天で処理中（楽天処理中・変更確定待ち）の注文です。RMSで発送待ちになると次回の取込で自動的に外れます。",
              "#1f618d",
              meaning_en="Rakuten is still processing the order (payment or a change). The tag goes at the next "
                         "import once RMS shows it awaiting shipment."),
    SystemTag("recipient_pending", "送付先入力待ち", "Recipient address pending", True, True,
              "ギフトの受取人がまだ送付先を入力していません。入力されると次回の取込で自動的に外れます。", "#6c3483",
              meaning_en="The gift's recipient has not entered an address yet. The tag goes at the next import "
                         "once they have."),
    # The warehouse's (warehouse.md §4).
    SystemTag("shipping_request_error", "出荷依頼エラー", "Shipping request error", False, True,
              "倉庫が出荷依頼を受け付けませんでした（または送信できませんでした）。内容を直して「出荷依頼を再送」してください。",
              "#a93226",
              meaning_en="The warehouse did not accept the shipping request (or it could not be sent). Fix the order, "
                         "then resend the request."),
    SystemTag("insufficient_stock", "在庫不足", "Insufficient stock", False, True,
              "販売可能な在庫が足りないため自動で出荷依頼できませんでした。在庫を補充してから出荷依頼してください。",
              "#7d5a00",
              meaning_en="Not enough available stock to request the shipment automatically. Restock, then request it."),
    SystemTag("warehouse_notice_error", "倉庫連絡エラー", "Warehouse notice error", False, True,
              "倉庫への出荷取下げ・キャンセル連絡を送れませんでした。「再送」してください。", "#943126",
              meaning_en="The withdrawal or cancellation could not be sent to the warehouse. Resend it."),
    SystemTag("mall_changed", "モール側変更あり", "Changed at the mall", True, True,
              "出荷依頼後に楽天で注文内容が変更されました。履歴で変更を確認し、必要なら出荷を取り下げて再依頼してください。"
              "確認後にタグを外してください。", "#922b21",
              meaning_en="The order was changed at Rakuten after it was requested from the warehouse. Check the "
                         "changes in the history, withdraw and re-request if needed, then remove the tag."),
)
SYSTEM_TAGS_BY_CODE = {tag.code: tag for tag in SYSTEM_TAGS}
ATTENTION_TAG_CODES = tuple(tag.code for tag in SYSTEM_TAGS if tag.attention)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: Optional[str] = None
    reason: Optional[Reason] = None

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)


@dataclass(frozen=True)
class OrderState:
    """What the rules need to know about an order."""

    status: str
    shipment_status: Optional[str] = None
    deleted: bool = False
    holding_tags: Sequence[str] = field(default_factory=tuple)
    mapped_lines: Sequence[str] = field(default_factory=tuple)
    unmapped_lines: Sequence[str] = field(default_factory=tuple)
    request_state: Optional[str] = None  # the current shipment's: pending, sent, failed (None: no shipment)


REASON_DELETED = Reason("削除済みの注文は操作できません。", "This order has been deleted and cannot be changed.")
REASON_ALREADY_CANCELLED = Reason(
    "キャンセル済みの注文です。キャンセルは取り消せません。",
    "This order is already cancelled. A cancel cannot be undone.",
)
REASON_CANCEL_WHILE_SHIPPING = Reason(
    "出荷作業中のためキャンセルできません。倉庫へ出荷取下げを依頼し、出荷不可になってからキャンセルしてください。",
    "The warehouse is working on this order. Request a withdrawal (出荷取下げ) and cancel once it is not shippable.",
)
REASON_CANCEL_WHILE_WITHDRAWING = Reason(
    "出荷取下げの回答待ちです。出荷不可になるとキャンセルできます。",
    "Waiting for the warehouse to answer the withdrawal. Cancel becomes possible once it is not shippable.",
)
REASON_DELETE_STATUS = Reason(
    "確認待の注文のみ削除できます。キャンセルをご利用ください。",
    "Only orders awaiting confirmation can be deleted. Use cancel instead.",
)
REASON_CANCELLED_FINAL = Reason(
    "キャンセル済みの注文は操作できません。キャンセルは取り消せません。",
    "A cancelled order cannot be changed. A cancel cannot be undone.",
)


def _deleted(action: str) -> Decision:
    return Decision(False, REFUSAL_CODES.get(action, DEFAULT_REFUSAL_CODE), REASON_DELETED)


def can_cancel(order: OrderState) -> Decision:
    """R1, R3, R8. Holding tags never block a cancel."""
    if order.deleted:
        return _deleted(CANCEL)
    if order.status == CANCELLED:
        return Decision(False, "cannot_cancel", REASON_ALREADY_CANCELLED)
    if order.status == SHIPPING_IN_PROGRESS:
        if order.shipment_status == NOT_SHIPPABLE:
            return ALLOWED
        if order.shipment_status == WITHDRAWAL_REQUESTED:
            return Decision(False, "cannot_cancel", REASON_CANCEL_WHILE_WITHDRAWING)
        return Decision(False, "cannot_cancel", REASON_CANCEL_WHILE_SHIPPING)
    return ALLOWED


def can_delete(order: OrderState) -> Decision:
    """R2, R8: only 確認待 with no mapped line."""
    if order.deleted:
        return _deleted(DELETE)
    if order.status != AWAITING_CONFIRMATION:
        return Decision(False, "cannot_delete", REASON_DELETE_STATUS)
    if order.mapped_lines:
        names = "、".join(order.mapped_lines)
        return Decision(False, "cannot_delete", Reason(
            f"商品がマッピングされているため削除できません（{names}）。キャンセルをご利用ください。",
            f"Items are mapped to products ({names}), so the order cannot be deleted. Use cancel instead.",
        ))
    return ALLOWED


def can_confirm(order: OrderState) -> Decision:
    """§3: 確認待, every line mapped, no holding tag."""
    if order.deleted:
        return _deleted(CONFIRM)
    if order.status == CANCELLED:
        return Decision(False, DEFAULT_REFUSAL_CODE, REASON_CANCELLED_FINAL)
    if order.status != AWAITING_CONFIRMATION:
        label = STATUS_LABELS[order.status]
        return Decision(False, DEFAULT_REFUSAL_CODE, Reason(
            f"この注文は{label}のため確認できません。確認できるのは確認待の注文です。",
            f"This order is {STATUS_LABELS_EN[order.status].lower()}; only orders awaiting confirmation can be confirmed.",
        ))
    if order.unmapped_lines:
        names = "、".join(order.unmapped_lines)
        return Decision(False, DEFAULT_REFUSAL_CODE, Reason(
            f"商品がマッピングされていない明細があるため確認できません（{names}）。商品マッピングを行ってください。",
            f"Some lines are not mapped to a product ({names}). Map them first.",
        ))
    if order.holding_tags:
        return _held(order.holding_tags, "確認", "confirmed")
    return ALLOWED


def _held(tags: Iterable[str], verb_ja: str, verb_en: str) -> Decision:
    tags = list(tags)
    names_ja, names_en = "、".join(f"「{t}」" for t in tags), ", ".join(f"“{t}”" for t in tags)
    return Decision(False, DEFAULT_REFUSAL_CODE, Reason(
        f"保留タグ{names_ja}が付いているため{verb_ja}できません。内容を確認してタグを外してください。",
        f"The holding tag {names_en} blocks this order from being {verb_en}. Check it and remove the tag.",
    ))


def decide(action: str, order: OrderState) -> Decision:
    deciders = {
        CANCEL: can_cancel,
        DELETE: can_delete,
        CONFIRM: can_confirm,
        ADD_TAG: lambda o: can_change_tag(o, None, False, True),
        REMOVE_TAG: lambda o: can_change_tag(o, None, False, False),
    }
    return deciders[action](order)


def attention_tag(code: Optional[str]) -> bool:
    return code in ATTENTION_TAG_CODES


# RMS changeReasonDetailApply codes (rakuten-rms.md); 10 is preselected.
CANCEL_REASONS = {
    1: ("購入者都合（キャンセル）", "Buyer: cancel"),
    2: ("購入者都合（受取後の返品）", "Buyer: return after receipt"),
    3: ("購入者都合（受取拒否・不在）", "Buyer: refused or absent"),
    4: ("購入者都合（未入金）", "Buyer: unpaid"),
    5: ("購入者都合（代引き受取拒否）", "Buyer: cash on delivery refused"),
    6: ("購入者都合（その他）", "Buyer: other"),
    8: ("ショップ都合（欠品）", "Shop: out of stock"),
    10: ("その他（ショップ都合）", "Shop: other"),
    13: ("ショップ都合（発送遅延）", "Shop: shipping delay"),
    14: ("ショップ都合（注意フラグ）", "Shop: caution flag"),
    15: ("ショップ都合（返品：破損・品違い）", "Shop: return (damaged or wrong item)"),
}
# The labels events stored before the wording said ショップ (history.english still reads them).
FORMER_CANCEL_REASON_LABELS = {code: ja.replace("ショップ都合", "店舗都合") for code, (ja, _en) in CANCEL_REASONS.items()
                               if "ショップ都合" in ja}
# キャンセル理由 as the dialogs list them (ui.md): RMS's reasons without their codes, the buyer's and then the shop's,
# その他（ショップ都合） last.
CANCEL_REASON_GROUPS = (
    (("購入者都合", "Buyer's reasons"), (1, 2, 3, 4, 5, 6)),
    (("ショップ都合", "Shop's reasons"), (8, 13, 14, 15, 10)),
)
DEFAULT_CANCEL_REASON = 10

# System tags a user may take off by hand (orders.md §5: "a user removes it after checking").
USER_REMOVABLE_SYSTEM_TAGS = ("multiple_destinations", "warehouse_cancel_refused", "mall_changed")


def can_change_tag(order: OrderState, tag_code: Optional[str], system: bool, adding: bool) -> Decision:
    """Tags on any not-deleted order; system tags are raised and cleared by the system, except the
    ones a user clears after checking."""
    if order.deleted:
        return _deleted(ADD_TAG if adding else REMOVE_TAG)
    if system and (adding or tag_code not in USER_REMOVABLE_SYSTEM_TAGS):
        spec = SYSTEM_TAGS_BY_CODE.get(tag_code or "")
        name = spec.name if spec else (tag_code or "")
        verb_ja, verb_en = ("付け", "added") if adding else ("外せ", "removed")
        return Decision(False, DEFAULT_REFUSAL_CODE, Reason(
            f"システムタグ「{name}」は手動で{verb_ja}ません。{spec.meaning if spec else ''}",
            f"The system tag {spec.name_en if spec else name} cannot be {verb_en} by hand. {spec.meaning_en if spec else ''}".strip(),
        ))
    return ALLOWED
