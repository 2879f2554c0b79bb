"""Stock per product and its ledger (warehouse.md §4): reserve, release, ship, restock, adjust — each change a
conditional UPDATE in the caller's transaction and a ledger row; races for the last unit on both databases."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from boss.errors import ServiceError
from boss.extensions import db
from boss.models import Product, StockMovement
from boss.orders.actor import Actor
from boss.orders.models import Order
from boss.unit_of_work import unit_of_work
from boss.warehouse import stock
from tests.factories import create_order, create_product, map_item


def actor_of(tenant) -> Actor:
    return Actor("user", "在庫 担当", tenant.account_id)


def counts(app, product_id: int) -> tuple[int, int]:
    with app.app_context():
        product = db.session.get(Product, product_id)
        result = (product.stock, product.reserved)
        db.session.remove()
    return result


def ledger(app, product_id: int) -> list[tuple]:
    """The product's ledger, oldest first: (kind, Δstock, Δreserved, order_id, reason)."""
    with app.app_context():
        rows = db.session.execute(select(StockMovement.kind, StockMovement.delta_stock, StockMovement.delta_reserved,
                                         StockMovement.order_id, StockMovement.reason)
                                  .where(StockMovement.product_id == product_id).order_by(StockMovement.id)).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def in_unit_of_work(app, tenant, order_id: int, call):
    """call(order, actor) in a unit of work of its own, committed; a refusal rolls it back and is returned."""
    with app.app_context():
        try:
            with unit_of_work() as uow:
                order = db.session.get(Order, order_id)
                call(order, actor_of(tenant))
                uow.commit()
        except ServiceError as exc:
            return exc
        finally:
            db.session.remove()
    return None


def order_of(client, tenant, *lines) -> int:
    """An order whose lines (mall item, quantity) are mapped to products."""
    body = [{"mall_item_id": item, "name": item, "quantity": quantity, "unit_price": 100} for item, quantity in lines]
    return create_order(client, tenant, lines=body)["id"]


@pytest.fixture
def two_products(client, tenant):
    first = create_product(client, tenant, "SKU-1", stock=5)
    second = create_product(client, tenant, "SKU-2", stock=1)
    map_item(client, tenant, "item-1", "SKU-1")
    map_item(client, tenant, "item-2", "SKU-2")
    return first["id"], second["id"]


def test_a_product_created_with_stock_has_its_initial_count_in_the_ledger(app, client, tenant):
    product = create_product(client, tenant, "SKU-9", stock=7)
    empty = create_product(client, tenant, "SKU-0", stock=0)

    assert ledger(app, product["id"]) == [("adjustment", 7, 0, None, "初期在庫")]
    assert ledger(app, empty["id"]) == []


def test_reserve_release_and_ship_change_the_counts_and_write_the_ledger(app, client, tenant, two_products):
    first, second = two_products
    order_id = order_of(client, tenant, ("item-1", 2), ("item-2", 1), ("item-1", 1))

    assert in_unit_of_work(app, tenant, order_id, stock.reserve) is None
    assert counts(app, first) == (5, 3) and counts(app, second) == (1, 1)
    assert in_unit_of_work(app, tenant, order_id, lambda o, a: stock.release(o, a, "取下げ")) is None
    assert counts(app, first) == (5, 0) and counts(app, second) == (1, 0)
    assert in_unit_of_work(app, tenant, order_id, stock.reserve) is None
    assert in_unit_of_work(app, tenant, order_id, stock.ship) is None

    assert counts(app, first) == (2, 0) and counts(app, second) == (0, 0)
    assert ledger(app, first) == [("adjustment", 5, 0, None, "初期在庫"), ("reserve", 0, 3, order_id, ""),
                                  ("release", 0, -3, order_id, "取下げ"), ("reserve", 0, 3, order_id, ""),
                                  ("ship", -3, -3, order_id, "")]
    with app.app_context():
        assert db.session.get(Order, order_id).stock_reserved is False


def test_reserving_twice_counts_once_and_releasing_an_unreserved_order_changes_nothing(app, client, tenant,
                                                                                      two_products):
    first, _ = two_products
    order_id = order_of(client, tenant, ("item-1", 2))
    in_unit_of_work(app, tenant, order_id, stock.reserve)
    in_unit_of_work(app, tenant, order_id, stock.reserve)
    assert counts(app, first) == (5, 2)

    in_unit_of_work(app, tenant, order_id, stock.release)
    in_unit_of_work(app, tenant, order_id, stock.release)
    assert counts(app, first) == (5, 0)
    assert [row[0] for row in ledger(app, first)] == ["adjustment", "reserve", "release"]


def test_a_shortage_in_the_second_product_leaves_the_first_unreserved_and_names_each_sku(app, client, tenant,
                                                                                        two_products):
    first, second = two_products
    order_id = order_of(client, tenant, ("item-1", 2), ("item-2", 3))

    refused = in_unit_of_work(app, tenant, order_id, stock.reserve)

    assert refused.code == "insufficient_stock" and refused.status == 409
    assert refused.message("ja") == ("在庫が足りないため出荷依頼できません（SKU-2: 2点不足）。"
                                     "在庫を補充してから出荷依頼してください。")
    assert refused.fields == {"shortages": [{"sku": "SKU-2", "wanted": 3, "available": 1, "short": 2}]}
    assert counts(app, first) == (5, 0) and counts(app, second) == (1, 0)
    assert [row[0] for row in ledger(app, first)] == ["adjustment"]


def test_the_refusal_names_every_short_sku_even_when_the_caller_goes_on_with_its_transaction(app, client, tenant,
                                                                                            two_products):
    first, second = two_products
    order_id = order_of(client, tenant, ("item-1", 6), ("item-2", 2))
    with app.app_context():
        order = db.session.get(Order, order_id)
        with pytest.raises(ServiceError) as refused:
            stock.reserve(order, actor_of(tenant))
        db.session.commit()  # what the transaction holds after the refusal: nothing reserved
        db.session.remove()

    assert "SKU-1: 1点不足、SKU-2: 1点不足" in refused.value.message("ja")
    assert "SKU-1: 1 short, SKU-2: 1 short" in refused.value.message("en")
    assert counts(app, first) == (5, 0) and counts(app, second) == (1, 0)


def test_a_cancel_before_shipping_releases_the_reservation_through_the_ledger(app, client, tenant, two_products):
    first, _ = two_products
    order_id = order_of(client, tenant, ("item-1", 2))
    client.post(f"/api/v1/orders/{order_id}/confirm", headers=tenant.headers())
    in_unit_of_work(app, tenant, order_id, stock.reserve)
    with app.app_context():  # the shipping request's status (that flow is the lead's): 出荷待ち
        order = db.session.get(Order, order_id)
        order.status = "awaiting_shipment"
        db.session.commit()
        db.session.remove()

    response = client.post(f"/api/v1/orders/{order_id}/cancel", json={}, headers=tenant.headers())

    assert response.status_code == 200, response.json
    assert counts(app, first) == (5, 0)
    assert ledger(app, first)[-1] == ("release", 0, -2, order_id, "注文キャンセル")


def test_a_shipment_of_more_than_is_on_hand_keeps_stock_at_zero_and_says_so(app, client, tenant, two_products):
    _, second = two_products
    order_id = order_of(client, tenant, ("item-2", 3))  # never reserved: the warehouse shipped it anyway

    in_unit_of_work(app, tenant, order_id, stock.ship)

    assert counts(app, second) == (0, 0)
    assert ledger(app, second)[-1] == ("ship", -1, 0, order_id, "倉庫の出荷数が在庫数を超えました（出荷 3点）")


def test_restock_adds_sellable_units_with_a_return_row(app, client, tenant, two_products):
    first, _ = two_products
    with app.app_context():
        with unit_of_work() as uow:
            stock.restock(first, 2, actor_of(tenant), 77, "返品検品")
            uow.commit()
        db.session.remove()
    assert counts(app, first) == (7, 0)
    assert ledger(app, first)[-1] == ("return", 2, 0, 77, "返品検品")


def test_an_adjustment_changes_stock_with_its_reason_and_one_below_the_reserved_count_is_refused(
        app, client, tenant, two_products):
    first, _ = two_products
    order_id = order_of(client, tenant, ("item-1", 4))
    in_unit_of_work(app, tenant, order_id, stock.reserve)
    with app.app_context():
        product = stock.adjust(actor_of(tenant), first, 3, " 棚卸し ")
        assert (product.stock, product.reserved, product.available) == (8, 4, 4)
        with pytest.raises(ServiceError) as refused:
            stock.adjust(actor_of(tenant), first, -5, "破損")
        db.session.remove()

    assert refused.value.code == "validation_error"
    assert "引当済みの4点" in refused.value.fields["delta"] and "減らせるのは4点まで" in refused.value.fields["delta"]
    assert counts(app, first) == (8, 4)
    assert ledger(app, first)[-1] == ("adjustment", 3, 0, None, "棚卸し")


@pytest.mark.parametrize("delta,reason,field", [(0, "棚卸し", "delta"), (10_000_001, "棚卸し", "delta"),
                                                (True, "棚卸し", "delta"), (1, "  ", "reason"),
                                                (1, "あ" * 501, "reason")])
def test_an_adjustment_needs_a_non_zero_delta_in_range_and_a_reason(app, client, tenant, two_products, delta, reason,
                                                                    field):
    first, _ = two_products
    with app.app_context():
        with pytest.raises(ServiceError) as refused:
            stock.adjust(actor_of(tenant), first, delta, reason)
        db.session.remove()
    assert refused.value.code == "validation_error" and field in refused.value.fields
    assert counts(app, first) == (5, 0)


def test_another_accounts_product_is_not_found_for_an_adjustment_or_its_ledger(app, client, tenant, other_tenant,
                                                                              two_products):
    first, _ = two_products
    with app.app_context():
        for call in (lambda: stock.adjust(actor_of(other_tenant), first, 1, "x"),
                     lambda: stock.movements(other_tenant.account_id, first)):
            with pytest.raises(ServiceError) as refused:
                call()
            assert refused.value.code == "not_found"
        db.session.remove()


def test_movements_are_newest_first_by_keyset_pages(app, client, tenant, two_products):
    first, _ = two_products
    with app.app_context():
        for n in range(1, 6):
            stock.adjust(actor_of(tenant), first, n, f"入荷 {n}")
        page, cursor = stock.movements(tenant.account_id, first, limit=4)
        rest, end = stock.movements(tenant.account_id, first, limit=4, cursor=cursor)
        reasons = [m.reason for m in page + rest]
        db.session.remove()
    assert reasons == ["入荷 5", "入荷 4", "入荷 3", "入荷 2", "入荷 1", "初期在庫"]
    assert end is None


# ---------------------------------------------------------------- races (both databases)

def race(calls):
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def run(index, call):
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racing call never finished"
    if errors:
        raise errors[0]
    return results


def test_two_reservations_for_the_last_unit_one_wins_the_other_is_refused(app, client, tenant, two_products):
    _, second = two_products  # one unit on hand
    orders = [order_of(client, tenant, ("item-2", 1)) for _ in range(2)]

    results = race([lambda o=o: in_unit_of_work(app, tenant, o, stock.reserve) for o in orders])

    refused = [r for r in results if r is not None]
    assert len(refused) == 1 and refused[0].code == "insufficient_stock"
    assert counts(app, second) == (1, 1)
    assert [row[0] for row in ledger(app, second)] == ["adjustment", "reserve"]


def test_an_adjustment_racing_reservations_never_lets_available_go_below_zero(app, client, tenant, two_products):
    first, _ = two_products  # 5 on hand
    orders = [order_of(client, tenant, ("item-1", 2)) for _ in range(2)]

    def take_away():
        with app.app_context():
            try:
                stock.adjust(actor_of(tenant), first, -3, "破損")
                return None
            except ServiceError as exc:
                return exc
            finally:
                db.session.remove()

    results = race([take_away, *[lambda o=o: in_unit_of_work(app, tenant, o, stock.reserve) for o in orders]])

    on_hand, reserved = counts(app, first)
    assert on_hand - reserved >= 0
    assert len([r for r in results if r is not None]) == 1  # 5 units hold −3 and one order of 2, or both orders
    rows = ledger(app, first)  # the ledger explains the numbers, whichever won
    assert (sum(r[1] for r in rows), sum(r[2] for r in rows)) == (on_hand, reserved)


def test_ships_made_together_come_out_as_one_after_the_other(app, client, tenant, two_products):
    """A page of `shipped` events ships its orders together (one UPDATE per product): the counts and the ledger are
    those of shipping one after the other — the order that comes short is the one clamped, and a release within
    the page sees the ships before it."""
    first, second = two_products
    a, b = order_of(client, tenant, ("item-1", 2), ("item-2", 1)), order_of(client, tenant, ("item-1", 2))
    held, last = order_of(client, tenant, ("item-1", 1)), order_of(client, tenant, ("item-1", 2))
    in_unit_of_work(app, tenant, held, stock.reserve)  # SKU-1: 5 on hand, 1 reserved
    with app.app_context():
        with unit_of_work() as uow:
            orders = {o.id: o for o in db.session.scalars(select(Order).where(Order.id.in_([a, b, held, last])))}
            with stock.ships_together():
                stock.ship(orders[a], actor_of(tenant))
                stock.ship(orders[b], actor_of(tenant))
                stock.release(orders[held], actor_of(tenant))
                stock.ship(orders[last], actor_of(tenant))  # 1 left on hand: 1 short
            uow.commit()
        db.session.remove()

    assert counts(app, first) == (0, 0) and counts(app, second) == (0, 0)
    assert ledger(app, first)[-5:] == [("reserve", 0, 1, held, ""), ("ship", -2, 0, a, ""), ("ship", -2, 0, b, ""),
                                       ("release", 0, -1, held, ""),
                                       ("ship", -1, 0, last, "倉庫の出荷数が在庫数を超えました（出荷 2点）")]
    assert ledger(app, second)[-1] == ("ship", -1, 0, a, "")
