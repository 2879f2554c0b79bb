"""Stock per product (warehouse.md §4): the one place a product's `stock` or `reserved` changes, and its ledger.

Every change is a conditional UPDATE of the product row, never a read-then-write: two requests for the last unit
(or an adjustment racing a reservation) are decided by the database, on PostgreSQL and on SQLite alike — the
loser's UPDATE matches no row. Each change writes a `stock_movements` row, so a product's page tells why its
number is what it is. Nothing here commits: these functions are part of the caller's unit of work (the shipping
request, the cancel, the sync that applies `shipped`), except `adjust`, which is an action of its own.
"""
from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Optional

import orjson
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ..errors import ServiceError, validation_error
from ..extensions import db
from ..models import Product, StockMovement, utcnow
from ..orders.actor import Actor
from ..orders.bulk_sql import insert_rows
from ..orders.frame import owned
from ..orders.models import Order
from ..reason import Reason
from ..unit_of_work import unit_of_work

KINDS = ("adjustment", "reserve", "release", "ship", "return")
MAX_DELTA = 10_000_000
MAX_STOCK = 2_000_000_000  # the column is a 32-bit integer: an adjustment past this is refused, not a 500
MAX_REASON = 500
INITIAL_STOCK = Reason("初期在庫", "Initial stock")
SHIPPED_MORE = "倉庫の出荷数が在庫数を超えました"
CANCEL_RELEASE = "注文キャンセル"


@dataclass(frozen=True)
class Shortage:
    sku: str
    wanted: int
    available: int
    short: int


def needs(order: Order) -> dict[int, int]:
    """The order's mapped lines summed per product (two lines of one SKU reserve once, together)."""
    wanted: dict[int, int] = defaultdict(int)
    for line in order.lines:
        if line.product_id is not None:
            wanted[line.product_id] += line.quantity
    return dict(wanted)


def shortages(account_id: int, wanted: dict[int, int]) -> list[Shortage]:
    """Which of `wanted` the available stock does not cover, by SKU (a read: the rules' and the screens' check;
    the reservation itself decides by its conditional UPDATE)."""
    _ship_noted()
    if not wanted:
        return []
    rows = db.session.execute(select(Product.id, Product.sku, Product.stock, Product.reserved)
                              .where(Product.account_id == account_id, Product.id.in_(list(wanted)))).all()
    found = [Shortage(sku, wanted[pid], stock - reserved, wanted[pid] - (stock - reserved))
             for pid, sku, stock, reserved in rows if stock - reserved < wanted[pid]]
    return sorted(found, key=lambda s: s.sku)


def insufficient_stock(found: list[Shortage]) -> ServiceError:
    ja = "、".join(f"{s.sku}: {s.short:,}点不足" for s in found)
    en = ", ".join(f"{s.sku}: {s.short:,} short" for s in found)
    return ServiceError("insufficient_stock", Reason(
        f"在庫が足りないため出荷依頼できません（{ja}）。在庫を補充してから出荷依頼してください。",
        f"Not enough stock to request shipment ({en}). Restock, then request shipment again."),
        {"shortages": [asdict(s) for s in found]})


def reserve(order: Order, actor: Actor) -> None:
    """Reserve every product of the order, or none: one conditional UPDATE per product in product-id order (two
    orders lock their products in the same order on PostgreSQL: no deadlock). When any product is short, the
    UPDATEs that went through are undone in the same transaction (their rows stay ours, locked on PostgreSQL,
    under SQLite's one writer) before the refusal is raised: the caller's transaction keeps nothing of it even
    if it went on. (An undo, not a SAVEPOINT: pysqlite's own transaction handling lets a SAVEPOINT opened
    first in a transaction commit it on release.)"""
    _ship_noted()
    if order.stock_reserved:
        return  # reserved already (a repeated call must not count twice)
    wanted = needs(order)
    short: dict[int, int] = {}
    applied: list[tuple[int, int]] = []
    for product_id in sorted(wanted):
        quantity = wanted[product_id]
        if _change(product_id, order.account_id, Product.stock - Product.reserved >= quantity, reserved=quantity):
            applied.append((product_id, quantity))
        else:
            short[product_id] = quantity
    if short:
        for product_id, quantity in applied:
            _change(product_id, order.account_id, Product.reserved >= quantity, reserved=-quantity)
        raise insufficient_stock(_shortages_of(order.account_id, short))
    _write([_movement(order.account_id, product_id, "reserve", 0, quantity, actor, order.id)
            for product_id, quantity in applied])
    order.stock_reserved = True


def reserve_many(orders: list[Order], actor: Actor) -> dict[int, ServiceError]:
    """`reserve` for many orders of one account in one transaction (a bulk 出荷依頼's chunk), with the same outcome
    as reserving them one after the other in the given order: the refusals by order id (each as `reserve` raises
    it, nothing of that order reserved); every other order is reserved, with its ledger rows as `reserve` writes
    them. Each product gets one conditional UPDATE for the sum the orders want of it (product-id order, as
    `reserve`'s); a product whose sum is more than is available has its orders fall back to `reserve`, one
    order at a time in the given order, so exactly those that come up short are refused — their share of the
    products that did go through is given back first. The orders' rows are not written here: `stock_reserved`
    is set on them for the caller's flush."""
    _ship_noted()
    wanted = {order.id: needs(order) for order in orders if not order.stock_reserved}
    if not wanted:
        return {}
    account_id = orders[0].account_id
    totals: dict[int, int] = defaultdict(int)
    for its in wanted.values():
        for product_id, quantity in its.items():
            totals[product_id] += quantity
    short = {product_id for product_id in sorted(totals)
             if _change_on_connection(product_id, account_id, totals[product_id]) is None}
    one_by_one = {order_id for order_id, its in wanted.items() if short & its.keys()}
    back: dict[int, int] = defaultdict(int)
    for order_id in one_by_one:
        for product_id, quantity in wanted[order_id].items():
            if product_id not in short:
                back[product_id] += quantity
    for product_id in sorted(back):
        _change_on_connection(product_id, account_id, -back[product_id])
    refused: dict[int, ServiceError] = {}
    rows = []
    for order in orders:
        if order.id not in wanted:
            continue
        if order.id in one_by_one:
            try:
                reserve(order, actor)
            except ServiceError as exc:
                refused[order.id] = exc
            continue
        rows.extend(_movement(account_id, product_id, "reserve", 0, quantity, actor, order.id)
                    for product_id, quantity in sorted(wanted[order.id].items()))
        order.stock_reserved = True
    _write(rows)
    return refused


# reserve_many's conditional UPDATE, built once (a chunk runs one per product): reserved + :q when that many are
# available (a negative :q gives units back, never below 0).
_RESERVE = (update(Product.__table__)
            .where(Product.id == bindparam("pid"), Product.account_id == bindparam("aid"),
                   Product.stock - Product.reserved >= bindparam("q"), Product.reserved + bindparam("q") >= 0)
            .values(reserved=Product.reserved + bindparam("q"))
            .returning(Product.stock, Product.reserved))


def _change_on_connection(product_id: int, account_id: int, quantity: int):
    row = db.session.connection().execute(_RESERVE, {"pid": product_id, "aid": account_id, "q": quantity}).first()
    if row is not None:
        _set_loaded(product_id, row.stock, row.reserved)
    return row


def _shortages_of(account_id: int, short: dict[int, int]) -> list[Shortage]:
    """The products whose UPDATE found too few, as shortages; one covered by the time of this read (stock came in
    meanwhile) is still named, short by 0: the reservation was refused, and trying again will find the stock."""
    found = shortages(account_id, short)
    named = {s.sku for s in found}
    for product_id, sku, stock, reserved in db.session.execute(
            select(Product.id, Product.sku, Product.stock, Product.reserved).where(Product.id.in_(list(short)))).all():
        if sku not in named:
            found.append(Shortage(sku, short[product_id], stock - reserved, 0))
    return sorted(found, key=lambda s: s.sku)


def release(order: Order, actor: Actor, reason: str = "") -> None:
    """Give the order's reservation back (cancel before shipping, a withdrawn or refused request); never below 0."""
    _ship_noted()
    if not order.stock_reserved:
        return
    rows = []
    for product_id, quantity in sorted(needs(order).items()):
        row = _change(product_id, order.account_id, Product.reserved >= quantity, reserved=-quantity)
        taken = quantity
        if row is None:  # fewer reserved than the order holds: only an inconsistency left by hand brings this
            taken = _clamp(product_id, stock=0, reserved=quantity)[1]
        rows.append(_movement(order.account_id, product_id, "release", 0, -taken, actor, order.id, reason))
    _write(rows)
    order.stock_reserved = False


def ship(order: Order, actor: Actor, reason: str = "") -> None:
    """The warehouse shipped the order: stock −q per product, and its reservation −q when it holds one.

    A warehouse that ships more than BOSS counts on hand states a fact BOSS cannot refuse, yet `stock` never goes
    below 0: the count is clamped at 0 and the ledger row records the change actually made (so the ledger still
    sums to the number) with the reason 「倉庫の出荷数が在庫数を超えました」 and the quantity shipped.

    Within `ships_together` the change is noted and made when the block ends (or before any other change of stock
    in it), with the same outcome."""
    noted = db.session.info.get(_SHIPS)
    rows = []
    for product_id, quantity in sorted(needs(order).items()):
        item = _Ship(order.account_id, product_id, quantity, quantity if order.stock_reserved else 0, actor,
                     order.id, reason, utcnow())
        if noted is not None:
            noted.append(item)
        else:
            rows.append(_ship_item(item))
    _write(rows)
    order.stock_reserved = False


@dataclass(frozen=True)
class _Ship:
    account_id: int
    product_id: int
    quantity: int
    from_reserved: int
    actor: Actor
    order_id: int
    reason: str
    at: object


_SHIPS = "boss.stock_ships"  # session.info key while `ships_together` holds the ships noted


@contextmanager
def ships_together():
    """Within: `ship` notes its change, and the changes noted are made when the block ends (no commit) — one
    conditional UPDATE per product for the sum shipped of it, the ledger rows in one INSERT — instead of an UPDATE
    per product and an INSERT per order (a page of warehouse events ships hundreds of orders). The outcome is that of
    shipping one order after the other: a product whose sum passes the UPDATE's condition passes it at every step
    of the way; one whose sum does not is shipped order by order as `ship` does, clamped where it comes short. Every
    other change or read of stock within the block first makes the changes noted, so it sees the counts it would
    have seen."""
    if db.session.info.get(_SHIPS) is not None:  # nested: the outer block makes them
        yield
        return
    db.session.info[_SHIPS] = []
    try:
        yield
        _ship_noted()
    finally:
        db.session.info.pop(_SHIPS, None)


def _ship_noted() -> None:
    noted = db.session.info.get(_SHIPS)
    if not noted:
        return
    db.session.info[_SHIPS] = []
    totals: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for item in noted:
        total = totals[(item.product_id, item.account_id)]
        total[0] += item.quantity
        total[1] += item.from_reserved
    short = _ship_totals(totals)
    _write([_ship_item(item) if (item.product_id, item.account_id) in short else
            _movement(item.account_id, item.product_id, "ship", -item.quantity, -item.from_reserved, item.actor,
                      item.order_id, item.reason, item.at)
            for item in noted])


def _ship_totals(totals: dict[tuple[int, int], list[int]]) -> set[tuple[int, int]]:
    """Ship each (product, account)'s [quantity, from_reserved] by _SHIP's conditional UPDATE; the keys whose
    condition did not hold (nothing changed of them). On PostgreSQL one statement for all (UPDATE … FROM the rows as
    JSON, RETURNING the products it changed: a round trip instead of one per product); on SQLite, in-process, one
    prebuilt statement per product."""
    if db.session.get_bind().dialect.name != "postgresql":
        return {key for key, (quantity, from_reserved) in sorted(totals.items())
                if _ship_one(key[0], key[1], quantity, from_reserved) is None}
    rows = [{"pid": pid, "aid": aid, "q": q, "r": r} for (pid, aid), (q, r) in sorted(totals.items())]
    db.session.connection().execute(_LOCK_IN_ORDER, {"ids": sorted({pid for pid, _ in totals})}).all()
    changed = db.session.connection().execute(_SHIP_ALL, {"rows": orjson.dumps(rows).decode()}).all()
    for product_id, stock, reserved in changed:
        _set_loaded(product_id, stock, reserved)
    done = {product_id for product_id, _, _ in changed}
    return {key for key in totals if key[0] not in done}


# _ship_totals' statements on PostgreSQL. The rows are locked in id order first, as every other writer of products
# takes them (reserve, release, reserve_many): the UPDATE's join visits them in an order of the planner's choosing,
# and two writers taking the same rows in different orders could deadlock. Then each changed when it holds enough.
_LOCK_IN_ORDER = text("SELECT id FROM products WHERE id = ANY(:ids) ORDER BY id FOR UPDATE")
_SHIP_ALL = text(
    "UPDATE products AS p SET stock = p.stock - v.q, reserved = p.reserved - v.r "
    "FROM json_to_recordset(CAST(:rows AS json)) AS v(pid integer, aid integer, q integer, r integer) "
    "WHERE p.id = v.pid AND p.account_id = v.aid AND p.stock >= v.q AND p.reserved >= v.r "
    "RETURNING p.id, p.stock, p.reserved")


def _ship_item(item: _Ship) -> dict:
    """One product of one shipped order: its UPDATE (clamped when it comes short), and its ledger row."""
    row = _ship_one(item.product_id, item.account_id, item.quantity, item.from_reserved)
    note = item.reason
    taken_stock, taken_reserved = item.quantity, item.from_reserved
    if row is None:
        taken_stock, taken_reserved = _clamp(item.product_id, stock=item.quantity, reserved=item.from_reserved)
        note = f"{SHIPPED_MORE}（出荷 {item.quantity:,}点）" + (f" {item.reason}" if item.reason else "")
    return _movement(item.account_id, item.product_id, "ship", -taken_stock, -taken_reserved, item.actor,
                     item.order_id, note, item.at)


def restock(product_id: int, quantity: int, actor: Actor, order_id: Optional[int], reason: str = "") -> None:
    """Units back on hand (a return inspected as sellable): stock +q."""
    _ship_noted()
    if quantity <= 0:
        return
    row = _change(product_id, actor.account_id, Product.stock <= MAX_STOCK - quantity, stock=quantity)
    if row is None:
        raise validation_error({"sellable": f"在庫数が上限（{MAX_STOCK:,}）を超えます"})
    _write([_movement(actor.account_id, product_id, "return", quantity, 0, actor, order_id, reason)])


def adjust(actor: Actor, product_id, delta, reason) -> Product:
    """在庫調整 by a person or an API client, with why. Refused when the result would fall below what is reserved
    (available would go negative) — decided by the UPDATE itself, so an adjustment racing a reservation can
    never leave available below 0."""
    with unit_of_work() as uow:
        product = owned(Product, actor.account_id, product_id, "商品", "Product")
        problems = {}
        if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0 or abs(delta) > MAX_DELTA:
            problems["delta"] = f"0以外の整数（-{MAX_DELTA:,}〜{MAX_DELTA:,}）で指定してください"
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason:
            problems["reason"] = "調整の理由を入力してください"
        elif len(reason) > MAX_REASON:
            problems["reason"] = f"{MAX_REASON}文字以内で指定してください"
        if problems:
            raise validation_error(problems)
        row = _change(product.id, actor.account_id,
                      (Product.stock + delta >= Product.reserved) & (Product.stock + delta >= 0)
                      & (Product.stock + delta <= MAX_STOCK), stock=delta)
        if row is None:
            db.session.refresh(product)
            if product.stock + delta > MAX_STOCK:
                raise validation_error({"delta": f"在庫数は{MAX_STOCK:,}点までです"})
            raise below_reserved(product)
        _write([_movement(actor.account_id, product.id, "adjustment", delta, 0, actor, None, reason)])
        uow.commit(keep=[product])
    return product


def below_reserved(product: Product) -> ServiceError:
    ja = (f"引当済みの{product.reserved:,}点を下回る在庫数にはできません（在庫数 {product.stock:,}点、"
          f"減らせるのは{max(product.available, 0):,}点まで）")
    en = (f"Stock cannot go below the {product.reserved:,} units reserved ({product.stock:,} on hand; at most "
          f"{max(product.available, 0):,} can be taken away)")
    return ServiceError("validation_error", Reason(f"{ja}。", f"{en}."), {"delta": ja})


def initial_stock(product: Product, actor: Actor) -> None:
    """The ledger row that explains a new product's starting count (no commit: the creation's unit of work)."""
    if product.stock:
        db.session.flush()
        _write([_movement(product.account_id, product.id, "adjustment", product.stock, 0, actor, None,
                          INITIAL_STOCK.ja)])


def movement_row(account_id: int, product_id: int, kind: str, delta_stock: int, delta_reserved: int, actor: Actor,
                 order_id: Optional[int] = None, reason: str = "") -> dict:
    """A ledger row as the functions above write it, for a caller that changed the counts itself (demo data)."""
    return _movement(account_id, product_id, kind, delta_stock, delta_reserved, actor, order_id, reason)


def write_movements(rows: list[dict]) -> None:
    _write(rows)


def movements(account_id: int, product_id, limit: int = 50,
              cursor: Optional[int] = None) -> tuple[list[StockMovement], Optional[int]]:
    """A product's ledger, newest first, by keyset on id (the index on product_id, id: flat at any size)."""
    owned(Product, account_id, product_id, "商品", "Product")
    stmt = select(StockMovement).where(StockMovement.product_id == product_id)
    if cursor is not None:
        stmt = stmt.where(StockMovement.id < cursor)
    found = list(db.session.scalars(stmt.order_by(StockMovement.id.desc()).limit(limit + 1)))
    return found[:limit], (found[limit - 1].id if len(found) > limit else None)


# ---------------------------------------------------------------- the statements

def _change(product_id: int, account_id: int, condition, stock: int = 0, reserved: int = 0):
    """UPDATE products SET stock = stock + :stock, reserved = reserved + :reserved WHERE id AND account AND
    condition, RETURNING the new counts (None: the condition did not hold). A product already loaded in the
    session is given the new counts as committed values, so the caller reads what the database holds."""
    values = {}
    if stock:
        values["stock"] = Product.stock + stock
    if reserved:
        values["reserved"] = Product.reserved + reserved
    if not values:
        values["stock"] = Product.stock
    stmt = (update(Product.__table__).where(Product.id == product_id, Product.account_id == account_id, condition)
            .values(**values).returning(Product.stock, Product.reserved))
    row = db.session.execute(stmt).first()
    if row is not None:
        _set_loaded(product_id, row.stock, row.reserved)
    return row


# ship's conditional UPDATE, built once: the sync applies hundreds of `shipped` a page, and building the statement
# anew cost more than running it. Run on the session's connection (the same transaction), past the ORM's layer.
_SHIP = (update(Product.__table__)
         .where(Product.id == bindparam("pid"), Product.account_id == bindparam("aid"),
                Product.stock >= bindparam("q"), Product.reserved >= bindparam("r"))
         .values(stock=Product.stock - bindparam("q"), reserved=Product.reserved - bindparam("r"))
         .returning(Product.stock, Product.reserved))


def _ship_one(product_id: int, account_id: int, quantity: int, from_reserved: int):
    """_change for ship: stock −quantity and reserved −from_reserved when both hold that many (None: not)."""
    row = db.session.connection().execute(_SHIP, {"pid": product_id, "aid": account_id, "q": quantity,
                                                  "r": from_reserved}).first()
    if row is not None:
        _set_loaded(product_id, row.stock, row.reserved)
    return row


def _clamp(product_id: int, stock: int, reserved: int) -> tuple[int, int]:
    """Take up to `stock` and `reserved` units, no count below 0 (the row locked on PostgreSQL); what was taken."""
    current = db.session.execute(select(Product.stock, Product.reserved).where(Product.id == product_id)
                                 .with_for_update()).one()
    taken_stock, taken_reserved = min(stock, max(current.stock, 0)), min(reserved, max(current.reserved, 0))
    db.session.execute(update(Product.__table__).where(Product.id == product_id).values(
        stock=Product.stock - taken_stock, reserved=Product.reserved - taken_reserved))
    _set_loaded(product_id, current.stock - taken_stock, current.reserved - taken_reserved)
    return taken_stock, taken_reserved


def _set_loaded(product_id: int, stock: int, reserved: int) -> None:
    product = db.session.identity_map.get(identity_key(Product, product_id))
    if product is not None:
        set_committed_value(product, "stock", stock)
        set_committed_value(product, "reserved", reserved)


def _movement(account_id: int, product_id: int, kind: str, delta_stock: int, delta_reserved: int, actor: Actor,
              order_id: Optional[int], reason: str = "", at=None) -> dict:
    return dict(account_id=account_id, product_id=product_id, at=at or utcnow(), kind=kind, delta_stock=delta_stock,
                delta_reserved=delta_reserved, order_id=order_id, actor_type=actor.type, actor_name=actor.name[:160],
                reason=reason)


def _write(rows: list[dict]) -> None:
    """The ledger rows in one INSERT (plain columns, nothing to map): a page of warehouse events ships hundreds."""
    insert_rows(StockMovement.__table__, rows)
