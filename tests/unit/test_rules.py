"""The pure order rules (orders.md §2–5) against an expectation written down from the spec.

The expectation below is derived from orders.md by hand; it never calls the rule functions.
"""
from __future__ import annotations

import itertools
import re

import pytest

from boss.orders import rules
from boss.orders.rules import OrderState

STATUSES = ["awaiting_confirmation", "confirmed", "awaiting_shipment", "shipping_in_progress", "completed", "cancelled"]
SHIPMENT_STATUSES = [None, "requested", "shipping", "withdrawal_requested", "not_shippable", "shipped"]
ACTIONS = ["cancel", "delete", "confirm", "add_tag", "remove_tag"]
# Lines are either all mapped or none mapped; both matter (R2 for delete, §3 for confirm).
LINES = ["mapped", "unmapped"]

HOLD_TAG = "要確認"
MAPPED_LINE = "item-1"

# ui.md, "Refusals" — copied here so a change of wording in the code is noticed.
MSG_CANCEL_WHILE_SHIPPING = "出荷作業中のためキャンセルできません。倉庫へ出荷取下げを依頼し、出荷不可になってからキャンセルしてください。"
MSG_CANCEL_WHILE_WITHDRAWING = "出荷取下げの回答待ちです。出荷不可になるとキャンセルできます。"
MSG_DELETE_NOT_AWAITING = "確認待の注文のみ削除できます。キャンセルをご利用ください。"
MSG_DELETE_MAPPED = "商品がマッピングされているため削除できません（{lines}）。キャンセルをご利用ください。"
MSG_DELETED = "削除済みの注文は操作できません。"
MSG_ALREADY_CANCELLED = "キャンセル済みの注文です。キャンセルは取り消せません。"


def expected(action: str, status: str, shipment: str | None, deleted: bool, held: bool, lines: str):
    """(allowed, refusal code, exact Japanese message or None when any wording will do), from orders.md."""
    refusal_code = {"cancel": "cannot_cancel", "delete": "cannot_delete"}.get(action, "invalid_transition")
    # R8: a deleted order refuses every action with the reason 削除済.
    if deleted:
        return False, refusal_code, MSG_DELETED
    if action == "cancel":
        # R3: a cancelled order cannot be cancelled again.
        if status == "cancelled":
            return False, "cannot_cancel", MSG_ALREADY_CANCELLED
        # R1: 出荷作業中 only with 出荷不可. Holding tags never block a cancel.
        if status == "shipping_in_progress":
            if shipment == "not_shippable":
                return True, None, None
            if shipment == "withdrawal_requested":
                return False, "cannot_cancel", MSG_CANCEL_WHILE_WITHDRAWING
            if shipment == "shipping":
                return False, "cannot_cancel", MSG_CANCEL_WHILE_SHIPPING
            return False, "cannot_cancel", None
        return True, None, None  # 確認待, 確認済, 出荷待ち (any shipment status), 完了
    if action == "delete":
        # R2: only 確認待 with no mapped line; holding tags never block a delete.
        if status != "awaiting_confirmation":
            return False, "cannot_delete", MSG_DELETE_NOT_AWAITING
        if lines == "mapped":
            return False, "cannot_delete", MSG_DELETE_MAPPED.format(lines=MAPPED_LINE)
        return True, None, None
    if action == "confirm":
        # §3: 確認待, every line mapped, no holding tag (§5: invalid_transition naming the tag).
        if status != "awaiting_confirmation" or lines == "unmapped" or held:
            return False, "invalid_transition", None
        return True, None, None
    # §3: add / remove (custom) tag on any not-deleted order, cancelled ones included.
    return True, None, None


def state(status, shipment, deleted, held, lines) -> OrderState:
    return OrderState(
        status=status, shipment_status=shipment, deleted=deleted,
        holding_tags=(HOLD_TAG,) if held else (),
        mapped_lines=(MAPPED_LINE,) if lines == "mapped" else (),
        unmapped_lines=(MAPPED_LINE,) if lines == "unmapped" else (),
    )


GRID = list(itertools.product(STATUSES, SHIPMENT_STATUSES, [False, True], [False, True], LINES, ACTIONS))


def _id(case) -> str:
    status, shipment, deleted, held, lines, action = case
    return f"{action}-{status}-{shipment or 'none'}-{'deleted' if deleted else 'live'}-{'held' if held else 'free'}-{lines}"


@pytest.mark.parametrize("case", GRID, ids=[_id(c) for c in GRID])
def test_r1_r2_r3_r8_every_action_on_every_state_is_allowed_or_refused_as_the_spec_says(case):
    status, shipment, deleted, held, lines, action = case
    allowed, code, message = expected(action, status, shipment, deleted, held, lines)

    decision = rules.decide(action, state(status, shipment, deleted, held, lines))

    assert decision.allowed is allowed
    assert bool(decision) is allowed
    if allowed:
        assert decision.code is None and decision.reason is None
    else:
        assert decision.code == code
        assert decision.reason is not None and decision.reason.ja and decision.reason.en
        if message is not None:
            assert decision.reason.ja == message


def test_r1_r2_r3_r8_the_grid_covers_every_status_shipment_status_flag_and_action():
    assert len(GRID) == 6 * 6 * 2 * 2 * 2 * 5
    assert set(STATUSES) == set(rules.STATUSES)
    assert set(SHIPMENT_STATUSES) - {None} == set(rules.SHIPMENT_STATUSES)
    assert set(ACTIONS) == set(rules.ACTIONS)


# ---------------------------------------------------------------- the exact refusal wording of ui.md

def test_r1_cancel_while_shipping_says_to_request_a_withdrawal_first():
    decision = rules.can_cancel(OrderState("shipping_in_progress", "shipping"))
    assert decision.code == "cannot_cancel"
    assert decision.reason.ja == MSG_CANCEL_WHILE_SHIPPING


def test_r1_cancel_while_withdrawal_requested_says_to_wait_for_the_answer():
    decision = rules.can_cancel(OrderState("shipping_in_progress", "withdrawal_requested"))
    assert decision.code == "cannot_cancel"
    assert decision.reason.ja == MSG_CANCEL_WHILE_WITHDRAWING


def test_r1_cancel_is_allowed_once_the_shipment_is_not_shippable():
    assert rules.can_cancel(OrderState("shipping_in_progress", "not_shippable")).allowed


def test_r2_delete_refused_when_not_awaiting_confirmation_suggests_cancel():
    for status in ("confirmed", "awaiting_shipment", "shipping_in_progress", "completed", "cancelled"):
        decision = rules.can_delete(OrderState(status))
        assert decision.code == "cannot_delete", status
        assert decision.reason.ja == MSG_DELETE_NOT_AWAITING, status


def test_r2_delete_refused_when_a_line_is_mapped_names_the_line():
    decision = rules.can_delete(OrderState("awaiting_confirmation", mapped_lines=("item-9/red-M",),
                                           unmapped_lines=("item-2",)))
    assert decision.code == "cannot_delete"
    assert decision.reason.ja == MSG_DELETE_MAPPED.format(lines="item-9/red-M")
    assert "item-2" not in decision.reason.ja  # only the mapped lines are named


def test_r2_delete_refused_when_several_lines_are_mapped_lists_every_mapped_line():
    decision = rules.can_delete(OrderState("awaiting_confirmation", mapped_lines=("item-1", "item-7/blue")))
    match = re.fullmatch(r"商品がマッピングされているため削除できません（(.+)）。キャンセルをご利用ください。", decision.reason.ja)
    assert match, decision.reason.ja
    assert "item-1" in match.group(1) and "item-7/blue" in match.group(1)
    assert "item-1" in decision.reason.en and "item-7/blue" in decision.reason.en


def test_r8_every_action_on_a_deleted_order_says_it_is_deleted():
    deleted = OrderState("awaiting_confirmation", deleted=True)
    for action in ACTIONS:
        assert rules.decide(action, deleted).reason.ja == MSG_DELETED, action


def test_r3_cancelling_an_already_cancelled_order_says_a_cancel_cannot_be_undone():
    decision = rules.can_cancel(OrderState("cancelled"))
    assert decision.code == "cannot_cancel"
    assert decision.reason.ja == MSG_ALREADY_CANCELLED


def test_r1_r2_r3_r8_every_refusal_has_an_english_text_too():
    refusals = [
        rules.can_cancel(OrderState("shipping_in_progress", "shipping")),
        rules.can_cancel(OrderState("shipping_in_progress", "withdrawal_requested")),
        rules.can_cancel(OrderState("cancelled")),
        rules.can_delete(OrderState("completed")),
        rules.can_delete(OrderState("awaiting_confirmation", mapped_lines=("item-1",))),
        rules.can_confirm(OrderState("cancelled")),
        rules.can_confirm(OrderState("confirmed")),
        rules.can_confirm(OrderState("awaiting_confirmation", unmapped_lines=("item-1",))),
        rules.can_confirm(OrderState("awaiting_confirmation", holding_tags=(HOLD_TAG,))),
        *[rules.decide(action, OrderState("confirmed", deleted=True)) for action in ACTIONS],
    ]
    for decision in refusals:
        assert not decision.allowed
        en = decision.reason.text("en")
        assert en and en != decision.reason.ja
        assert en.isascii() or re.search(r"[A-Za-z]{3,}", en), en  # English words, maybe quoting a tag name
        assert decision.reason.text("ja") == decision.reason.ja


# ---------------------------------------------------------------- holding tags (§5)

def test_r1_holding_tags_never_block_a_cancel():
    for status in ("awaiting_confirmation", "confirmed", "awaiting_shipment", "completed"):
        assert rules.can_cancel(OrderState(status, holding_tags=("モール側キャンセル", HOLD_TAG))).allowed, status
    assert rules.can_cancel(OrderState("shipping_in_progress", "not_shippable", holding_tags=(HOLD_TAG,))).allowed


def test_r2_holding_tags_never_block_a_delete():
    assert rules.can_delete(OrderState("awaiting_confirmation", holding_tags=("複数送付先", HOLD_TAG),
                                       unmapped_lines=("item-1",))).allowed


def test_section5_a_holding_tag_blocks_confirm_and_the_refusal_names_the_tag():
    decision = rules.can_confirm(OrderState("awaiting_confirmation", holding_tags=("複数送付先",),
                                            mapped_lines=("item-1",)))
    assert not decision.allowed
    assert decision.code == "invalid_transition"
    assert "複数送付先" in decision.reason.ja
    assert "複数送付先" in decision.reason.en


def test_section5_several_holding_tags_blocking_confirm_are_all_named():
    decision = rules.can_confirm(OrderState("awaiting_confirmation", holding_tags=("複数送付先", HOLD_TAG)))
    assert decision.code == "invalid_transition"
    assert "複数送付先" in decision.reason.ja and HOLD_TAG in decision.reason.ja


# ---------------------------------------------------------------- R3

def test_r3_nothing_leads_out_of_cancelled():
    """No action that changes the status or deletes is allowed on a cancelled order, whatever the rest."""
    for shipment, held, mapped in itertools.product(SHIPMENT_STATUSES, [False, True], [False, True]):
        cancelled = OrderState("cancelled", shipment, holding_tags=(HOLD_TAG,) if held else (),
                               mapped_lines=("item-1",) if mapped else (),
                               unmapped_lines=() if mapped else ("item-1",))
        assert rules.can_cancel(cancelled).code == "cannot_cancel"
        assert rules.can_confirm(cancelled).code == "invalid_transition"
        assert rules.can_delete(cancelled).code == "cannot_delete"


def test_r3_a_cancelled_order_refuses_confirm_saying_a_cancel_cannot_be_undone():
    decision = rules.can_confirm(OrderState("cancelled", mapped_lines=("item-1",)))
    assert decision.code == "invalid_transition"
    assert "取り消せません" in decision.reason.ja


# ---------------------------------------------------------------- system tags (§5)

def test_section5_system_tags_hold_exactly_as_the_table_of_section_5_says():
    holds = {"mall_reflection_error": False, "mall_cancelled": True, "not_mall_linked": False,
             "multiple_destinations": True, "warehouse_notice_pending": False, "warehouse_cancel_refused": False,
             "shipping_reflection_error": False, "unmapped_items": False, "amount_unfixed": True,
             "mall_processing": True, "recipient_pending": True, "mall_changed": True,
             "shipping_request_error": False, "insufficient_stock": False, "warehouse_notice_error": False}
    names = {"mall_reflection_error": "モール反映エラー", "mall_cancelled": "モール側キャンセル",
             "not_mall_linked": "モール出荷連携なし", "multiple_destinations": "複数送付先",
             "warehouse_notice_pending": "倉庫連絡待ち", "warehouse_cancel_refused": "倉庫キャンセル不可",
             "shipping_reflection_error": "出荷情報反映エラー", "unmapped_items": "商品未マッピング",
             "amount_unfixed": "金額未確定", "mall_processing": "楽天処理中", "recipient_pending": "送付先入力待ち",
             "mall_changed": "モール側変更あり", "shipping_request_error": "出荷依頼エラー", "insufficient_stock": "在庫不足",
             "warehouse_notice_error": "倉庫連絡エラー"}
    assert {t.code: t.holds for t in rules.SYSTEM_TAGS} == holds
    assert {t.code: t.name for t in rules.SYSTEM_TAGS} == names


def test_a_holding_tags_refusal_quotes_its_names_the_japanese_way_in_japanese_only():
    decision = rules.can_confirm(OrderState(status=rules.AWAITING_CONFIRMATION, holding_tags=("要確認",)))
    assert decision.reason.ja.startswith("保留タグ「要確認」が付いているため確認できません。")
    assert decision.reason.en == "The holding tag “要確認” blocks this order from being confirmed. Check it and remove the tag."
