"""Shipping requests (出荷依頼, warehouse.md §4): requesting, re-requesting and resending, and the send.

Requesting is an order action (frame.act): the rules allow it (shipping_rules), stock is reserved by a
conditional update in the same transaction (stock.reserve; short: `insufficient_stock`, nothing changes),
the order becomes 出荷待ち with a new shipment 出荷依頼済 (`request_state: pending`), and the send is an outbox
effect, enqueued after the commit. A bulk 出荷依頼 requests a chunk of orders in one transaction (`request_many`),
each order with the outcome it would have alone.

The send runs in the account's lane (boss.lanes, kind `warehouse-send`): each step sends up to 100 pending
requests in one `POST /v1/shipments:batch` at the warehouse's rate limit (the pacer shared by every process),
so a burst of 10,000 requests costs 100 calls. A step whose batch is ready waits for its slot at most one interval
(WAREHOUSE_MIN_INTERVAL), rather than putting the batch back and preparing it again; a longer wait is booked, never
slept. A step marks its batch
`sending` and commits before the call — a cancel that comes meanwhile knows a send is under way (R11) — and
reads each request's order again first: an order cancelled before its send is never sent. `client_reference`
is the shipment's id, so a step killed during the call sends the same requests again and the warehouse
answers with the shipments it made (never a second one). A 422 fails the request (「出荷依頼エラー」 with the
warehouse's message); transient failures retry after WAREHOUSE_RETRY_BACKOFF (scheduled, never slept), 5 tries
in all, then fail it the same way; a 401 marks 「倉庫接続エラー」 and the requests wait for the connection.
"""
from __future__ import annotations

import time
from typing import Optional

from flask import current_app, g, has_request_context
from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager, selectinload
from sqlalchemy.orm.exc import StaleDataError

from .. import effects, outbox
from ..errors import ServiceError, not_found
from ..extensions import db
from ..lanes import Lane, close, epoch, hand_over, set_values
from ..models import OutboxMessage, utcnow
from ..orders import counters, frame, history, rules
from ..orders import shipping_rules as sr
from ..orders.actor import Actor
from ..orders.bulk_sql import flush_versioned, insert_rows
from ..orders.delivery import is_cash_on_delivery
from ..orders.models import Order, OrderEvent, Shipment
from ..unit_of_work import unit_of_work
from . import connection, stock
from .retrying import retry_or_fail
from .port import (BATCH_LIMIT, Pickup, Recipient, RequestLine, Sender, ShipmentRequest, WarehouseAuthError,
                   WarehouseError, WarehousePacingDelay, WarehouseTransientError)

SEND_KIND = "warehouse.send_shipment"
AUTH_WAIT_SECONDS = 300
SENDING = "sending"


# ---------------------------------------------------------------- staff's actions

def warehouse_connected(account_id: int) -> bool:
    return connection.warehouse_for(account_id).connected


def connected_now(account_id: int) -> bool:
    """warehouse_connected, asked once per request (an API list asks it for every order it shows)."""
    if not has_request_context():
        return warehouse_connected(account_id)
    known = g.setdefault("warehouse_connected", {})
    if account_id not in known:
        known[account_id] = warehouse_connected(account_id)
    return known[account_id]


def can_request(order: Order) -> bool:
    """The order's 出荷依頼 (or 再出荷依頼) is allowed now, stock aside (api.md `can_request_shipment`)."""
    if order.status not in (rules.CONFIRMED, rules.SHIPPING_IN_PROGRESS) or order.deleted:
        return False
    return bool(decide_request(order, connected_now(order.account_id)))


def has_recipient(order: Order) -> bool:
    """Somewhere to ship to: a recipient's name and address, or a pickup point."""
    return bool(order.pickup) or bool(order.recipient_name.strip() and order.recipient_address.strip())


def request_shipment(actor: Actor, order_id: int, expected_version: Optional[int] = None) -> Order:
    """出荷依頼 of a 確認済 order, or 再出荷依頼 of one whose last shipment came back 出荷不可 (a new shipment; the
    old one stays in the history)."""
    connected = warehouse_connected(actor.account_id)
    return frame.act(actor, order_id, expected_version, lambda order: decide_request(order, connected),
                     lambda order: start_request(order, actor))


def decide_request(order: Order, connected: bool) -> rules.Decision:
    state = order.state()
    if state.status == rules.SHIPPING_IN_PROGRESS and state.shipment_status == rules.NOT_SHIPPABLE:
        return sr.can_re_request(state, connected, has_recipient(order))
    return sr.can_request_shipment(state, connected, has_recipient(order))


def start_request(order: Order, actor: Actor, message: str = "") -> Shipment:
    """Reserve, open a shipment 出荷依頼済 and record its send (no commit: part of the caller's unit of work).
    Raises ServiceError insufficient_stock (naming each SKU short) with nothing changed."""
    stock.reserve(order, actor)
    before = order.status
    shipment = Shipment(order=order, **_new_shipment(utcnow()))
    db.session.add(shipment)
    db.session.flush()
    _requested(order)
    frame.record_event(order, actor, "shipment_requested", message or history.SHIPMENT_REQUESTED(shipment=shipment.id),
                       before, order.status)
    frame.clear_system_tag(order, "insufficient_stock", actor)
    outbox.record(SEND_KIND, _send_payload(order, shipment.id))
    return shipment


def _new_shipment(now) -> dict:
    """A new shipment's columns (start_request's and request_many's)."""
    return dict(status=rules.REQUESTED, request_state=sr.PENDING, requested_at=now, updated_at=now)


def _requested(order: Order) -> None:
    """The order's change by a request (start_request's and request_many's)."""
    order.status = rules.AWAITING_SHIPMENT
    order.shipment_status = rules.REQUESTED
    frame.touch(order)


def _send_payload(order: Order, shipment_id: int) -> dict:
    return {"shipment_id": shipment_id, "order_id": order.id, "account_id": order.account_id}


def request_many(actor: Actor, order_ids: list[int]) -> Optional[dict[int, Optional[ServiceError]]]:
    """request_shipment for many orders of the actor's account (a bulk 出荷依頼's chunk) in ONE transaction, each
    order with the outcome it would have alone: None (requested) or the refusal it would raise. One refused order
    never undoes another: refusals are decided before anything of theirs is written (the rules per order, stock by
    stock.reserve_many, which refuses exactly the orders that come up short).

    What a request does is start_request's, carried out for the chunk at once: the same reservation and ledger rows,
    the same shipment columns (`_new_shipment`), order change (`_requested`), history event and tag clearing, the
    same send payload — the shipments, history events and send messages each in one INSERT (the send messages by
    outbox.record_many, handed to the send lane after the commit), the orders' UPDATEs in one flush, the tab
    counters once. The orders are locked together (id order) on PostgreSQL; on SQLite the version check at the
    flush tells an order changed meanwhile: then nothing is kept and None is answered — the caller requests the
    chunk order by order instead."""
    connected = warehouse_connected(actor.account_id)
    outcome: dict[int, Optional[ServiceError]] = {}
    try:
        with unit_of_work() as uow:
            orders = _lock_orders(actor.account_id, order_ids)
            allowed = []
            for order_id in order_ids:
                order = orders.get(order_id) if frame.valid_id(order_id) else None
                if order is None:
                    outcome[order_id] = not_found("注文", "Order")
                    continue
                decision = decide_request(order, connected)
                if not decision:
                    outcome[order_id] = ServiceError(decision.code, decision.reason)
                    continue
                allowed.append(order)
            with db.session.no_autoflush, counters.summed():
                outcome.update(stock.reserve_many(allowed, actor))
                requested = [order for order in allowed if order.id not in outcome]
                now = utcnow()
                shipment_ids = dict((order_id, shipment_id) for shipment_id, order_id in insert_rows(
                    Shipment.__table__, [dict(order_id=order.id, last_seq=0, notice="none", **_new_shipment(now))
                                         for order in requested], returning=(Shipment.id, Shipment.order_id)))
                events = []
                for order in requested:
                    shipment_id = shipment_ids[order.id]
                    before = order.status
                    with counters.counted(order):
                        _requested(order)
                        events.append(frame.event_row(order.id, now, actor, "shipment_requested",
                                                      history.SHIPMENT_REQUESTED(shipment=shipment_id), before,
                                                      order.status))
                    outcome[order.id] = None
                insert_rows(OrderEvent.__table__, events)  # before the tags' events (the ORM's, at the flush)
                for order in requested:
                    frame.clear_system_tag(order, "insufficient_stock", actor)
                outbox.record_many(SEND_KIND, [_send_payload(order, shipment_ids[order.id]) for order in requested])
            uow.commit()
    except StaleDataError:
        return None
    return outcome


def _lock_orders(account_id: int, order_ids: list[int]) -> dict[int, Order]:
    """The account's orders of these ids with their lines and tags, locked in id order on PostgreSQL."""
    ids = sorted({order_id for order_id in order_ids if frame.valid_id(order_id)})
    if not ids:
        return {}
    stmt = (select(Order).where(Order.id.in_(ids), Order.account_id == account_id)
            .options(selectinload(Order.lines), selectinload(Order.tags))
            .order_by(Order.id).with_for_update(of=Order).execution_options(populate_existing=True))
    return {order.id: order for order in db.session.scalars(stmt).unique()}


def auto_request(order: Order) -> None:
    """`auto_request_shipment` (warehouse.md §4): an order that has just become 確認済 is requested at once when the
    rules and stock allow; when stock is short it stays 確認済 with 「在庫不足」 (cleared once it is requested). No
    commit: part of the confirm's unit of work. Anything else that stops it (no warehouse, no recipient) leaves
    the order 確認済 for staff, as a shop without the setting would."""
    if not order.shop.auto_request_shipment or order.status != rules.CONFIRMED:
        return
    if not sr.can_request_shipment(order.state(), connected_now(order.account_id), has_recipient(order)):
        return
    actor = Actor.system(order.account_id, history.AUTO_REQUEST_ACTOR.ja)
    short = stock.shortages(order.account_id, stock.needs(order))
    if not short:
        try:
            start_request(order, actor)
            return
        except ServiceError as exc:  # the last units went to another order meanwhile: nothing was changed
            if exc.code != "insufficient_stock":
                raise
            short = stock.shortages(order.account_id, stock.needs(order))
    text = history.AUTO_REQUEST_SHORT(skus="、".join(f"{s.sku}: {s.short}点不足" for s in short))
    frame.raise_system_tag(order, "insufficient_stock", actor, text)


def retry_request(actor: Actor, order_id: int, expected_version: Optional[int] = None) -> Order:
    """出荷依頼を再送: the failed request goes again, under the same client_reference."""
    def apply(order: Order) -> None:
        shipment = order.current_shipment
        shipment.request_state = sr.PENDING
        shipment.request_error = None
        shipment.updated_at = utcnow()
        frame.touch(order)
        frame.record_event(order, actor, "shipment_requested", history.SHIPMENT_RESEND.ja, order.status, order.status)
        outbox.record(SEND_KIND, {"shipment_id": shipment.id, "order_id": order.id, "account_id": order.account_id})

    return frame.act(actor, order_id, expected_version, lambda order: sr.can_retry_request(order.state()), apply)


def request_sent(shipment: Shipment) -> bool:
    """R11: the warehouse has the request, or a send job holds it now (it may have it: a notice must follow)."""
    return shipment.request_state == sr.SENT or (shipment.request_state == sr.PENDING and send_under_way(shipment))


def send_under_way(shipment: Shipment) -> bool:
    """R11: a send job holds the request now (its batch is marked sending and not answered yet)."""
    return db.session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.kind == SEND_KIND, OutboxMessage.state == "pending",
        OutboxMessage.payload["shipment_id"].as_integer() == shipment.id,
        OutboxMessage.payload["phase"].as_string() == SENDING).limit(1)) is not None


# ---------------------------------------------------------------- the send lane

def lane(account_id: int) -> Lane:
    return Lane(LANE, account_id)


def hand_to_lanes(messages: list) -> None:
    """Each message goes to the lane of its account."""
    hand_over(messages, lambda message: lane(message.payload["account_id"]))


def step(account_id: int) -> Optional[float]:
    """One step of the account's send lane: up to 100 due requests in one batch call. Returns when the lane
    should run next (epoch seconds), None when nothing is pending."""
    try:
        return _step(account_id)
    except StaleDataError:  # an order changed under the step (a cancel, say): nothing of it was kept; again
        return time.time()


def _pending(account_id: int, now) -> list[tuple[OutboxMessage, Shipment]]:
    """The account's send messages due `now` (no run_after, or passed), oldest first, a batch at most, with their
    shipments and orders (not the orders' lines and tags: `_with_lines` loads those of the requests sent). Only the
    due ones are read: reading 500 to find 100 due cost a step its slot, and 500 waiting their retry could hide the
    due ones behind them."""
    rows = db.session.execute(
        lane_messages(SEND_KIND, account_id, select(OutboxMessage, Shipment), due_at=now)
        .options(contains_eager(Shipment.order).lazyload(Order.lines),
                 contains_eager(Shipment.order).lazyload(Order.tags))
        .order_by(OutboxMessage.id).limit(BATCH_LIMIT)).unique().all()
    return [(message, shipment) for message, shipment in rows]


def lane_messages(kind: str, account_id: int, stmt, due_at=None):
    """`stmt` over the account's pending messages of `kind` joined with their shipments (payload shipment_id) and
    orders; `due_at`: only those due then (no run_after, or passed) — a lane reads what it can send now."""
    stmt = (stmt.select_from(OutboxMessage)
            .join(Shipment, Shipment.id == OutboxMessage.payload["shipment_id"].as_integer()).join(Shipment.order)
            .where(OutboxMessage.kind == kind, OutboxMessage.state == "pending", Order.account_id == account_id))
    if due_at is None:
        return stmt
    return stmt.where(or_(OutboxMessage.run_after.is_(None), OutboxMessage.run_after <= due_at))


def next_due(kind: str, account_id: int):
    """When the account's earliest pending message of `kind` waiting for its retry is due (None: none waits)."""
    return db.session.scalar(lane_messages(kind, account_id, select(func.min(OutboxMessage.run_after))))


def _step(account_id: int) -> Optional[float]:
    with unit_of_work() as uow:
        pending = _pending(account_id, utcnow())
        due = []
        for message, shipment in pending:
            if shipment.request_state != sr.PENDING or shipment.status != rules.REQUESTED:
                close(message)  # sent or failed by an earlier message of it, or withdrawn before its send
            elif (shipment.order.status == rules.CANCELLED or shipment.order.deleted) and \
                    message.payload.get("phase") != SENDING:
                _not_sent(message, shipment)  # cancelled before its send: never sent
            # (cancelled while a send was under way whose answer is lost — a killed step —: it goes again, the same
            # client_reference, so the warehouse's id is known and the cancellation notice can follow)
            else:
                due.append((message, shipment))
        if not due:
            later = None if pending else next_due(SEND_KIND, account_id)
            uow.commit()
            if pending:  # all of them closed: the next due ones at once
                return time.time()
            return epoch(later) if later is not None else None
        _with_lines([shipment.order_id for _, shipment in due])
        requests = [request_of(shipment) for _, shipment in due]
        for message, _ in due:
            set_values(message, phase=SENDING)
        ids = [(message.id, shipment.id) for message, shipment in due]
        uow.commit()
    try:
        client = connection.client_for(account_id, max_pace_wait=current_app.config["WAREHOUSE_MIN_INTERVAL"])
        results = client.create_shipments(requests)
    except WarehousePacingDelay as exc:
        _unmark(ids)
        return time.time() + (exc.retry_after or 0.2)
    except WarehouseAuthError as exc:
        _unmark(ids)
        connection.mark_connection_failed(account_id, str(exc))
        return time.time() + AUTH_WAIT_SECONDS
    except WarehouseTransientError as exc:
        _retry_later(ids, exc)
        return time.time()
    except WarehouseError as exc:  # a refusal of the whole batch, or an answer not the contract: each fails
        _fail_all(ids, str(exc))
        return time.time()
    _record_results(account_id, ids, results)
    return time.time()


def _with_lines(order_ids: list[int]) -> None:
    """The lines (with their products) of the orders a step sends, in one query for all."""
    db.session.scalars(select(Order).where(Order.id.in_(order_ids)).options(selectinload(Order.lines))
                       .execution_options(populate_existing=True)).unique().all()


def request_of(shipment: Shipment) -> ShipmentRequest:
    """The shipment's request as the contract carries it (warehouse.md §2)."""
    order = shipment.order
    shop = order.shop
    sender = shop.sender or {}
    pickup = order.pickup or None
    return ShipmentRequest(
        client_reference=shipment.client_reference, order_number=order.mall_order_number, shop_code=str(shop.id),
        sender=Sender(name=shop.name, postal_code=sender.get("postal_code") or "", address=sender.get("address") or "",
                      phone=sender.get("phone") or ""),
        recipient=Recipient(name=order.recipient_name, name_kana=order.recipient_name_kana,
                            phone=order.recipient_phone, postal_code=order.recipient_postal_code,
                            address=order.recipient_address),
        lines=tuple(RequestLine(sku=line.product.sku, quantity=line.quantity, options=line.options or "")
                    for line in order.lines if line.product is not None),
        delivery_date=order.delivery_date, delivery_time_slot=order.delivery_time_slot, remarks=order.remarks or "",
        cod_amount=order.billed if is_cash_on_delivery(order.payment_method) else None,
        pickup=Pickup(kind=pickup.get("kind") or "", store_code=pickup.get("store_code") or "",
                      store_name=pickup.get("store_name") or "",
                      address=pickup.get("address") or "") if pickup else None,
        drop_off=order.drop_off)


def _record_results(account_id: int, ids: list[tuple[int, int]], results) -> None:
    by_reference = {result.client_reference: result for result in results}
    with unit_of_work() as uow:
        with frame.history_together():  # the batch's history rows in one INSERT, before the commit
            connection.mark_connection_ok(account_id)
            loaded = _load(ids)
            for message, shipment in loaded:
                result = by_reference.get(shipment.client_reference)
                order = shipment.order
                actor = _actor(order)
                if result is None:
                    _fail(message, shipment, history.SHIPMENT_REFUSED_AT_SEND(error=history.NO_RESULT.ja))
                elif result.refused:
                    _fail(message, shipment, history.SHIPMENT_REFUSED_AT_SEND(error=result.message))
                else:
                    shipment.request_state = sr.SENT
                    shipment.request_error = None
                    shipment.warehouse_id = result.shipment.id
                    shipment.sent_at = shipment.updated_at = utcnow()
                    frame.touch(order)
                    frame.record_event(order, actor, "shipment_sent", history.SHIPMENT_SENT(
                        warehouse_id=result.shipment.id), order.status, order.status)
                    frame.clear_system_tag(order, "shipping_request_error", actor,
                                           history.SHIPMENT_RESENT_CLEARED.ja)
                    close(message)
            flush_versioned([shipment.order for _, shipment in loaded])  # one statement, not an UPDATE per order
        uow.commit()


def _load(ids: list[tuple[int, int]]) -> list[tuple[OutboxMessage, Shipment]]:
    messages = {m.id: m for m in db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.id.in_([message_id for message_id, _ in ids])))}
    shipments = {s.id: s for s in db.session.scalars(
        select(Shipment).join(Shipment.order).options(contains_eager(Shipment.order))
        .where(Shipment.id.in_([shipment_id for _, shipment_id in ids]))).unique()}
    return [(messages[m], shipments[s]) for m, s in ids if m in messages and s in shipments]


def _unmark(ids: list[tuple[int, int]]) -> None:
    """Nothing was sent: the batch is pending again, its tries unused."""
    with unit_of_work() as uow:
        for message, _ in _load(ids):
            set_values(message, phase="pending")
        uow.commit()


def _retry_later(ids: list[tuple[int, int]], error: WarehouseError) -> None:
    with unit_of_work() as uow:
        for message, shipment in _load(ids):
            retry_or_fail(message, shipment, error, kind="shipment_failed", retry_text=history.SHIPMENT_SEND_RETRY,
                          failed_text=history.SHIPMENT_SEND_FAILED, fail=_fail)
        uow.commit()


def _fail_all(ids: list[tuple[int, int]], text: str) -> None:
    with unit_of_work() as uow:
        for message, shipment in _load(ids):
            _fail(message, shipment, history.SHIPMENT_REFUSED_AT_SEND(error=text))
        uow.commit()


def _fail(message: OutboxMessage, shipment: Shipment, text: str) -> None:
    """The request failed finally: 「出荷依頼エラー」 with the warehouse's message, and 「出荷依頼を再送」."""
    order = shipment.order
    actor = _actor(order)
    shipment.request_state = sr.FAILED
    shipment.request_error = text
    shipment.updated_at = utcnow()
    frame.touch(order)
    frame.record_event(order, actor, "shipment_failed", text, order.status, order.status)
    frame.raise_system_tag(order, "shipping_request_error", actor, text)
    close(message)


def _not_sent(message: OutboxMessage, shipment: Shipment) -> None:
    order = shipment.order
    if not order.deleted:
        frame.record_event(order, _actor(order), "shipment_failed", history.SHIPMENT_NOT_SENT_CANCELLED.ja,
                           order.status, order.status)
        frame.touch(order)
    close(message)


def _actor(order: Order) -> Actor:
    return Actor.job(order.account_id, history.WAREHOUSE_SEND_ACTOR.ja)



LANE = effects.declare_lane("warehouse-send", step, step_timeout_setting="WAREHOUSE_TIMEOUT")
effects.declare(SEND_KIND, dispatcher=hand_to_lanes, timeout_setting="WAREHOUSE_REDISPATCH_SECONDS")

