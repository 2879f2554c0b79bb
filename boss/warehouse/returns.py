"""Returns (R10, warehouse.md §4 Return): a cancelled 完了 order's parcel coming back, and what of it is sellable.

A return opens (返品待ち) when a 完了 order is cancelled, or when the warehouse ships an order already cancelled
here; its lines are the order's SKUs with the quantities shipped. It is inspected (検品済) once — by the
warehouse's `return_inspected` (events.py) or by a user entering what came back (`inspect`, for warehouses that
report by mail): per SKU returned and sellable; only the sellable units go back into stock (ledger kind
`return`), the rest stay recorded as not sellable. The rules deciding whether an inspection applies and whether
its figures add up are pure (orders/shipping_rules: on_event, check_inspection); nothing here commits except
`inspect`, a user's action of its own.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..errors import validation_error
from ..extensions import db
from ..models import utcnow
from ..orders import history, rules
from ..orders import shipping_rules as sr
from ..orders.actor import Actor
from ..orders.frame import act, owned, record_event, touch
from ..orders.models import Order, Return, ReturnLine, Shipment
from ..reason import Reason
from . import stock

MAX_QUANTITY = 1_000_000


@dataclass(frozen=True)
class Reported:
    """One line of an inspection: of `sku`, `returned` units came back, `sellable` of them can be sold again."""

    sku: str
    returned: int
    sellable: int


def shipped_lines(order: Order) -> dict[str, tuple[int, int]]:
    """The order's mapped lines per SKU: (product id, quantity shipped) — what its parcel held."""
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in order.lines:
        if line.product is not None:
            found[line.product.sku][0] = line.product_id
            found[line.product.sku][1] += line.quantity
    return {sku: (product_id, quantity) for sku, (product_id, quantity) in found.items()}


def latest(order_id: int) -> Optional[Return]:
    return db.session.scalars(select(Return).options(joinedload(Return.lines))  # one query with its lines
                              .where(Return.order_id == order_id).order_by(Return.id.desc()).limit(1)).unique().first()


def open_return(order: Order, actor: Actor, shipment: Optional[Shipment] = None,
                text: history.Text = history.RETURN_OPENED) -> Return:
    """A return 返品待ち of what the order's parcel held, with the order's history (no commit)."""
    shipment = shipment or order.current_shipment
    ret = Return(account_id=order.account_id, order=order, shipment_id=shipment.id if shipment else None,
                 status=sr.AWAITING_RETURN, opened_at=utcnow())
    ret.lines = [ReturnLine(product_id=product_id, sku=sku, quantity=quantity)
                 for sku, (product_id, quantity) in sorted(shipped_lines(order).items())]
    db.session.add(ret)
    record_event(order, actor, "return_opened", text(lines=", ".join(f"{line.sku} ×{line.quantity}"
                                                                    for line in ret.lines) or "—"),
                 order.status, order.status)
    touch(order)
    return ret


def problem_of(order: Order, reported: Sequence[Reported]) -> tuple[Optional[str], Optional[Reason]]:
    """For a warehouse's `return_inspected` on `order`: its latest return's status (None: none) and what is wrong
    with the reported lines against what was shipped (None: they add up)."""
    ret = latest(order.id)
    shipped = ({line.sku: line.quantity for line in ret.lines} if ret is not None and ret.status == sr.AWAITING_RETURN
               else {sku: quantity for sku, (_, quantity) in shipped_lines(order).items()})
    problems = sr.check_inspection(shipped, [(line.sku, line.returned, line.sellable) for line in reported])
    return (ret.status if ret is not None else None), (next(iter(problems.values())) if problems else None)


def carry_out(order: Order, shipment: Shipment, step: sr.Transition, reported: Sequence[Reported],
              actor: Actor) -> None:
    """What an event's transition says of returns: open one (a `shipped` on an order cancelled here, or a
    `return_inspected` with none open), inspect it (the history of the inspection is the event's own)."""
    ret = latest(order.id)
    if step.open_return:
        text = history.RETURN_OPENED if step.inspect_return else history.RETURN_OPENED_AFTER_SHIPPED
        ret = open_return(order, actor, shipment, text)
        db.session.flush()  # the sync applies a page without autoflush: the page's later reads must find the return
    if step.inspect_return:
        apply_inspection(ret, reported, actor)


def apply_inspection(ret: Return, reported: Sequence[Reported], actor: Actor) -> int:
    """Record what came back per line (a SKU not reported: nothing), restock the sellable units, 検品済 (no
    commit). The figures were checked (check_inspection). How many units went back into stock."""
    by_sku = {line.sku: line for line in reported}
    restocked = 0
    for line in ret.lines:
        found = by_sku.get(line.sku)
        line.returned = found.returned if found else 0
        line.sellable = found.sellable if found else 0
        if line.sellable and line.product_id is not None:
            stock.restock(line.product_id, line.sellable, actor, ret.order_id, history.RETURN_RESTOCKED.ja)
            restocked += line.sellable
    ret.status = sr.INSPECTED
    ret.inspected_at = utcnow()
    ret.inspected_by = actor.name[:160]
    return restocked


def inspection_text(ret: Return) -> str:
    return history.RETURN_INSPECTED(lines=", ".join(f"{line.sku} {line.returned}/{line.sellable}" for line in ret.lines)
                                    or "—", sellable=sum(line.sellable or 0 for line in ret.lines))


# ---------------------------------------------------------------- reads and a user's inspection

def get(account_id: int, return_id) -> Return:
    """The account's return (another account's, or none: not found)."""
    return owned(Return, account_id, return_id, "返品", "Return")


def list_returns(account_id: int, status: Optional[str] = None, limit: int = 50,
                 before: Optional[int] = None) -> tuple[list[Return], Optional[int]]:
    """The account's returns newest first (keyset on id: the indexes on account, [status,] id)."""
    stmt = select(Return).where(Return.account_id == account_id).options(selectinload(Return.order))
    if status is not None:
        stmt = stmt.where(Return.status == status)
    if before is not None:
        stmt = stmt.where(Return.id < before)
    found = list(db.session.scalars(stmt.order_by(Return.id.desc()).limit(limit + 1)))
    return found[:limit], (found[limit - 1].id if len(found) > limit else None)


def counts(account_id: int) -> dict[str, int]:
    rows = db.session.execute(select(Return.status, db.func.count()).where(Return.account_id == account_id)
                              .group_by(Return.status)).all()
    found = {status: 0 for status in sr.RETURN_LABELS}
    found.update({status: n for status, n in rows})
    return found


ALREADY_INSPECTED = Reason("この返品は検品済です。検品結果は一度だけ登録できます。",
                           "This return is inspected already; an inspection is entered once.")


def inspect(actor: Actor, return_id, reported: Sequence[Reported]) -> Return:
    """A user's inspection (a warehouse that reports by mail): the same effect as `return_inspected`, by the user,
    with the order's history. Refused: figures that do not add up (422 naming the line's field), a return
    inspected already (409). The order is locked (act) so a warehouse's report at the same moment waits."""
    ret = get(actor.account_id, return_id)
    problems = sr.check_inspection({line.sku: line.quantity for line in ret.lines},
                                   [(line.sku, line.returned, line.sellable) for line in reported])
    if problems:
        raise validation_error({field: reason.ja for field, reason in problems.items()})

    def decide(order: Order) -> rules.Decision:
        db.session.refresh(ret)
        if ret.status != sr.AWAITING_RETURN:
            return rules.Decision(False, rules.DEFAULT_REFUSAL_CODE, ALREADY_INSPECTED)
        return rules.ALLOWED

    def apply(order: Order) -> None:
        apply_inspection(ret, reported, actor)
        touch(order)
        record_event(order, actor, "return_inspected", inspection_text(ret), order.status, order.status)

    act(actor, ret.order_id, None, decide, apply)
    return ret
