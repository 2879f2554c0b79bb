"""The warehouse's rules (orders.md §3, warehouse.md §4), table-tested: status × shipment status × event →
transition or refusal, and who may request, withdraw, re-request and resend."""
from __future__ import annotations

import pytest

from boss.orders import rules
from boss.orders import shipping_rules as sr
from boss.orders.rules import (AWAITING_CONFIRMATION, AWAITING_SHIPMENT, CANCELLED, COMPLETED, CONFIRMED, NOT_SHIPPABLE,
                               REQUESTED, SHIPPED, SHIPPING, SHIPPING_IN_PROGRESS, WITHDRAWAL_REQUESTED, OrderState)

T = sr.Transition

# (event, order status, shipment status, pending cancel) → (order status, shipment status, release, ship, history)
#   or None: not applied (recorded only)
EVENT_TABLE = [
    # started: 出荷依頼済 → 出荷作業中 + 出荷中; during a withdrawal the order moves, the shipment stays
    (sr.STARTED, AWAITING_SHIPMENT, REQUESTED, False, (SHIPPING_IN_PROGRESS, SHIPPING, False, False, "shipment_started")),
    (sr.STARTED, AWAITING_SHIPMENT, WITHDRAWAL_REQUESTED, False,
     (SHIPPING_IN_PROGRESS, WITHDRAWAL_REQUESTED, False, False, "shipment_started")),
    (sr.STARTED, CANCELLED, REQUESTED, False, (CANCELLED, SHIPPING, False, False, "shipment_started")),
    (sr.STARTED, SHIPPING_IN_PROGRESS, SHIPPING, False, None),
    (sr.STARTED, COMPLETED, SHIPPED, False, None),
    (sr.STARTED, SHIPPING_IN_PROGRESS, NOT_SHIPPABLE, False, None),
    # withdrawn / refused: 出荷不可, order 出荷作業中, reservation released
    *[(event, status, shipment, False, (SHIPPING_IN_PROGRESS, NOT_SHIPPABLE, True, False, kind))
      for event, kind in ((sr.WITHDRAWN, "withdrawn"), (sr.REFUSED, "shipment_refused"))
      for status, shipment in ((AWAITING_SHIPMENT, REQUESTED), (SHIPPING_IN_PROGRESS, SHIPPING),
                               (AWAITING_SHIPMENT, WITHDRAWAL_REQUESTED), (SHIPPING_IN_PROGRESS, WITHDRAWAL_REQUESTED))],
    (sr.REFUSED, CANCELLED, REQUESTED, False, (CANCELLED, NOT_SHIPPABLE, True, False, "shipment_refused")),
    (sr.WITHDRAWN, SHIPPING_IN_PROGRESS, NOT_SHIPPABLE, False, None),
    (sr.REFUSED, COMPLETED, SHIPPED, False, None),
    # withdrawal_refused: back to where it was
    (sr.WITHDRAWAL_REFUSED, AWAITING_SHIPMENT, WITHDRAWAL_REQUESTED, False,
     (AWAITING_SHIPMENT, REQUESTED, False, False, "withdrawal_refused")),
    (sr.WITHDRAWAL_REFUSED, AWAITING_SHIPMENT, REQUESTED, False, None),
    # shipped: 完了 + 出荷完了, stock shipped; on a cancelled order the order stays キャンセル
    *[(sr.EV_SHIPPED, status, shipment, False, (COMPLETED, SHIPPED, False, True, "shipped"))
      for status, shipment in ((AWAITING_SHIPMENT, REQUESTED), (SHIPPING_IN_PROGRESS, SHIPPING),
                               (AWAITING_SHIPMENT, WITHDRAWAL_REQUESTED), (SHIPPING_IN_PROGRESS, WITHDRAWAL_REQUESTED))],
    (sr.EV_SHIPPED, CANCELLED, REQUESTED, False, (CANCELLED, SHIPPED, False, True, "shipped")),
    (sr.EV_SHIPPED, COMPLETED, SHIPPED, False, None),
    (sr.EV_SHIPPED, SHIPPING_IN_PROGRESS, NOT_SHIPPABLE, False, None),
]


@pytest.mark.parametrize("event,status,shipment,pending_cancel,expected", EVENT_TABLE)
def test_each_warehouse_event_moves_the_order_and_its_shipment_as_the_table_of_warehouse_md_4_says(
        event, status, shipment, pending_cancel, expected):
    outcome = sr.on_event(event, status, shipment, pending_cancel=pending_cancel)
    if expected is None:
        assert isinstance(outcome, sr.Ignored)
        assert outcome.reason.ja and outcome.reason.en
        return
    assert isinstance(outcome, T)
    assert (outcome.order_status, outcome.shipment_status, outcome.release, outcome.ship, outcome.history) == expected


def test_a_started_during_a_withdrawal_remembers_that_a_refused_withdrawal_goes_back_to_shipping():
    started = sr.on_event(sr.STARTED, AWAITING_SHIPMENT, WITHDRAWAL_REQUESTED)
    assert started.before_withdrawal == SHIPPING
    refused = sr.on_event(sr.WITHDRAWAL_REFUSED, SHIPPING_IN_PROGRESS, WITHDRAWAL_REQUESTED,
                          before_withdrawal=started.before_withdrawal)
    assert (refused.order_status, refused.shipment_status) == (SHIPPING_IN_PROGRESS, SHIPPING)
    # without a started meanwhile it goes back to 出荷依頼済
    plain = sr.on_event(sr.WITHDRAWAL_REFUSED, AWAITING_SHIPMENT, WITHDRAWAL_REQUESTED, before_withdrawal=REQUESTED)
    assert (plain.order_status, plain.shipment_status) == (AWAITING_SHIPMENT, REQUESTED)


def test_a_shipped_on_a_cancelled_order_raises_warehouse_cancel_refused():
    outcome = sr.on_event(sr.EV_SHIPPED, CANCELLED, SHIPPING)
    assert outcome.raise_tags == ("warehouse_cancel_refused",)
    assert sr.on_event(sr.EV_SHIPPED, SHIPPING_IN_PROGRESS, SHIPPING).raise_tags == ()


@pytest.mark.parametrize("event,cancel_now,drop,tag", [
    (sr.WITHDRAWN, True, False, ()),
    (sr.REFUSED, True, False, ()),
    (sr.WITHDRAWAL_REFUSED, False, True, ("warehouse_cancel_refused",)),
    (sr.EV_SHIPPED, False, True, ("warehouse_cancel_refused",)),
])
def test_cancel_after_withdrawal_is_carried_out_on_withdrawn_and_dropped_on_a_refusal_or_a_shipped(
        event, cancel_now, drop, tag):
    outcome = sr.on_event(event, SHIPPING_IN_PROGRESS, WITHDRAWAL_REQUESTED, pending_cancel=True,
                          before_withdrawal=SHIPPING)
    assert (outcome.cancel_now, outcome.drop_pending_cancel, outcome.raise_tags) == (cancel_now, drop, tag)


@pytest.mark.parametrize("event,notice,expected", [
    (sr.CANCELLATION_ACKNOWLEDGED, sr.NOTICE_PENDING, (sr.NOTICE_ACKNOWLEDGED, (), ("warehouse_notice_pending",))),
    (sr.CANCELLATION_REFUSED, sr.NOTICE_PENDING,
     (sr.NOTICE_REFUSED, ("warehouse_cancel_refused",), ("warehouse_notice_pending",))),
    (sr.CANCELLATION_ACKNOWLEDGED, sr.NOTICE_NONE, None),
    (sr.CANCELLATION_REFUSED, sr.NOTICE_ACKNOWLEDGED, None),
])
def test_r11_the_answer_to_a_cancel_notice_clears_or_turns_the_pending_tag(event, notice, expected):
    outcome = sr.on_event(event, CANCELLED, REQUESTED, notice=notice)
    if expected is None:
        assert isinstance(outcome, sr.Ignored)
        return
    assert (outcome.notice, outcome.raise_tags, outcome.clear_tags) == expected
    assert (outcome.order_status, outcome.shipment_status) == (CANCELLED, REQUESTED)


def test_unknown_event_types_are_recorded_not_applied():
    assert isinstance(sr.on_event("parcel_lost", AWAITING_SHIPMENT, REQUESTED), sr.Ignored)


def test_r10_a_shipped_on_an_order_cancelled_here_opens_a_return_and_on_a_live_order_none():
    assert sr.on_event(sr.EV_SHIPPED, CANCELLED, REQUESTED).open_return is True
    assert sr.on_event(sr.EV_SHIPPED, AWAITING_SHIPMENT, REQUESTED).open_return is False
    dropped = sr.on_event(sr.EV_SHIPPED, SHIPPING_IN_PROGRESS, WITHDRAWAL_REQUESTED, pending_cancel=True)
    assert (dropped.order_status, dropped.open_return) == (COMPLETED, False)  # 取下げ後にキャンセル dropped: no cancel


# (order status, shipment status, the latest return's status) → (open, inspect) or None: recorded, not applied
RETURN_TABLE = [
    (CANCELLED, SHIPPED, sr.AWAITING_RETURN, (False, True)),
    (CANCELLED, SHIPPED, None, (True, True)),
    (COMPLETED, SHIPPED, None, (True, True)),
    (CANCELLED, SHIPPED, sr.INSPECTED, None),
    (CANCELLED, REQUESTED, None, None),
    (SHIPPING_IN_PROGRESS, SHIPPING, None, None),
    (CANCELLED, NOT_SHIPPABLE, sr.AWAITING_RETURN, None),
]


@pytest.mark.parametrize("status,shipment,return_status,expected", RETURN_TABLE)
def test_return_inspected_inspects_the_open_return_or_opens_one_and_never_inspects_twice(
        status, shipment, return_status, expected):
    outcome = sr.on_event(sr.RETURN_INSPECTED, status, shipment, return_status=return_status)
    if expected is None:
        assert isinstance(outcome, sr.Ignored) and outcome.reason.ja and outcome.reason.en
        return
    assert (outcome.open_return, outcome.inspect_return) == expected
    assert (outcome.order_status, outcome.shipment_status, outcome.history) == (status, shipment, "return_inspected")
    assert not (outcome.release or outcome.ship or outcome.raise_tags)


def test_a_return_inspected_that_does_not_add_up_is_recorded_not_applied():
    problem = sr.check_inspection({"SKU-1": 2}, [("SKU-1", 3, 0)])["lines[0].returned"]
    outcome = sr.on_event(sr.RETURN_INSPECTED, CANCELLED, SHIPPED, return_status=sr.AWAITING_RETURN,
                          inspection_problem=problem)
    assert isinstance(outcome, sr.Ignored) and outcome.reason == problem


@pytest.mark.parametrize("lines,fields", [
    ([("SKU-1", 2, 1), ("SKU-2", 1, 1)], []),
    ([("SKU-1", 0, 0)], []),
    ([], []),
    ([("SKU-1", 2, 3)], ["lines[0].sellable"]),
    ([("SKU-1", 3, 0)], ["lines[0].returned"]),
    ([("SKU-1", -1, 0)], ["lines[0].returned"]),
    ([("SKU-1", 1, -1)], ["lines[0].sellable"]),
    ([("SKU-1", 1, 1), ("SKU-9", 1, 1)], ["lines[1].sku"]),
    ([("SKU-2", 1, 1), ("SKU-2", 1, 0)], ["lines[1].sku"]),
])
def test_an_inspection_adds_up_when_returned_is_within_shipped_and_sellable_within_returned(lines, fields):
    problems = sr.check_inspection({"SKU-1": 2, "SKU-2": 1}, lines)
    assert sorted(problems) == fields
    assert all(reason.ja and reason.en for reason in problems.values())


# ---------------------------------------------------------------- staff's actions

def state(status, shipment=None, holds=(), request_state=None, deleted=False):
    return OrderState(status, shipment, deleted=deleted, holding_tags=holds, mapped_lines=("item-1",),
                      request_state=request_state)


@pytest.mark.parametrize("order,connected,recipient,allowed,words", [
    (state(CONFIRMED), True, True, True, None),
    (state(AWAITING_CONFIRMATION), True, True, False, "確認待"),
    (state(AWAITING_SHIPMENT, REQUESTED), True, True, False, "出荷待ち"),
    (state(CANCELLED), True, True, False, "キャンセル"),
    (state(CONFIRMED, holds=("複数送付先",)), True, True, False, "「複数送付先」"),
    (state(CONFIRMED), True, False, False, "送付先"),
    (state(CONFIRMED), False, True, False, "倉庫が接続されていない"),
    (state(CONFIRMED, deleted=True), True, True, False, "削除済み"),
])
def test_request_shipment_needs_a_confirmed_order_nothing_holding_it_a_recipient_and_a_warehouse(
        order, connected, recipient, allowed, words):
    decision = sr.can_request_shipment(order, connected, recipient)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.code == "invalid_transition"
        assert words in decision.reason.ja and decision.reason.en


@pytest.mark.parametrize("order,allowed", [
    (state(SHIPPING_IN_PROGRESS, SHIPPING), True),
    (state(AWAITING_SHIPMENT, REQUESTED), True),
    (state(AWAITING_SHIPMENT, WITHDRAWAL_REQUESTED), False),
    (state(SHIPPING_IN_PROGRESS, NOT_SHIPPABLE), False),
    (state(COMPLETED, SHIPPED), False),
    (state(CONFIRMED), False),
    (state(CANCELLED, REQUESTED), False),
])
def test_withdrawal_is_allowed_in_shipping_or_requested_only(order, allowed):
    decision = sr.can_request_withdrawal(order)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.reason.ja


def test_re_request_only_after_not_shippable_and_resend_only_after_a_failed_request():
    assert sr.can_re_request(state(SHIPPING_IN_PROGRESS, NOT_SHIPPABLE), True, True)
    assert not sr.can_re_request(state(SHIPPING_IN_PROGRESS, SHIPPING), True, True)
    assert not sr.can_re_request(state(SHIPPING_IN_PROGRESS, NOT_SHIPPABLE, holds=("保留",)), True, True)
    assert sr.can_retry_request(state(AWAITING_SHIPMENT, REQUESTED, request_state=sr.FAILED))
    assert not sr.can_retry_request(state(AWAITING_SHIPMENT, REQUESTED, request_state=sr.SENT))
    assert not sr.can_retry_request(state(CANCELLED, REQUESTED, request_state=sr.FAILED))


def test_r1_a_direct_cancel_stays_refused_while_the_warehouse_works_and_allowed_once_not_shippable():
    assert not rules.can_cancel(state(SHIPPING_IN_PROGRESS, SHIPPING))
    assert not rules.can_cancel(state(SHIPPING_IN_PROGRESS, WITHDRAWAL_REQUESTED))
    assert rules.can_cancel(state(SHIPPING_IN_PROGRESS, NOT_SHIPPABLE))
    assert rules.can_cancel(state(AWAITING_SHIPMENT, WITHDRAWAL_REQUESTED))


def _after(state, step):
    """A shipment's state after `step`, as events.py carries it out: (status, shipment status, notice, pending
    cancel, status before the withdrawal)."""
    status, shipment, notice, pending, before = state
    if not isinstance(step, T):
        return state
    if step.before_withdrawal is not None:
        before = step.before_withdrawal
    if step.shipment_status != WITHDRAWAL_REQUESTED:
        before = None
    return (step.order_status, step.shipment_status, step.notice or notice,
            pending and not (step.drop_pending_cancel or step.cancel_now), before)


def _step(state, event):
    status, shipment, notice, pending, before = state
    return sr.on_event(event, status, shipment, notice=notice, pending_cancel=pending, before_withdrawal=before)


def test_a_shipment_that_statuses_only_admits_never_reaches_a_step_that_touches_tags_returns_or_a_cancel():
    """events.py applies such shipments as rows, without the order's tags or returns: every state reachable from
    one that `statuses_only` admits, by any sequence of the events it admits, takes only such steps."""
    notices = (sr.NOTICE_NONE, sr.NOTICE_PENDING, sr.NOTICE_ACKNOWLEDGED, sr.NOTICE_REFUSED)
    events = [e for e in sr.EVENT_TYPES if e != sr.RETURN_INSPECTED] + ["unknown"]
    every = [(status, shipment, notice, pending, before) for status in rules.STATUSES
             for shipment in (None, *rules.SHIPMENT_STATUSES) for notice in notices for pending in (False, True)
             for before in (None, REQUESTED, SHIPPING)]
    todo = [s for s in every if sr.statuses_only(s[0], s[2], s[3], events)]
    assert len(todo) == 5 * 6 * 3 * 3  # every status but キャンセル, every shipment status or none, three notices
    seen = set(todo)
    while todo:
        state = todo.pop()
        for event in events:
            step = _step(state, event)
            assert not sr.touches_more_than_statuses(step), (state, event, step)
            after = _after(state, step)
            if after not in seen:
                seen.add(after)
                todo.append(after)
    assert {s[1] for s in seen} >= {REQUESTED, SHIPPING, SHIPPED, NOT_SHIPPABLE, WITHDRAWAL_REQUESTED}


def test_statuses_only_refuses_each_state_where_an_event_touches_tags_returns_or_a_cancel():
    """The other way: it is not merely false everywhere — each condition it sets is one some event needs."""
    assert sr.touches_more_than_statuses(_step((CANCELLED, SHIPPING, sr.NOTICE_NONE, False, None), sr.EV_SHIPPED))
    assert not sr.statuses_only(CANCELLED, sr.NOTICE_NONE, False, [sr.EV_SHIPPED])
    assert sr.touches_more_than_statuses(_step((SHIPPING_IN_PROGRESS, SHIPPING, sr.NOTICE_NONE, True, None),
                                               sr.WITHDRAWN))
    assert not sr.statuses_only(SHIPPING_IN_PROGRESS, sr.NOTICE_NONE, True, [sr.WITHDRAWN])
    assert sr.touches_more_than_statuses(_step((COMPLETED, SHIPPED, sr.NOTICE_PENDING, False, None),
                                               sr.CANCELLATION_ACKNOWLEDGED))
    assert not sr.statuses_only(COMPLETED, sr.NOTICE_PENDING, False, [sr.CANCELLATION_ACKNOWLEDGED])
    assert not sr.statuses_only(COMPLETED, sr.NOTICE_NONE, False, [sr.RETURN_INSPECTED])
    assert sr.statuses_only(AWAITING_SHIPMENT, sr.NOTICE_NONE, False, [sr.STARTED, sr.EV_SHIPPED])
