"""flush_versioned writes many orders' changes in one statement with R13's check: every value as the ORM would
have written it (text, times, dates, JSON and its null), the version + 1, and nothing at all when one order was
changed meanwhile (StaleDataError, the caller rolls back)."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.orm.exc import StaleDataError

from boss.extensions import db
from boss.orders.bulk_sql import flush_versioned
from boss.orders.models import Order
from tests.factories import create_order


def two_orders(client, tenant) -> list[int]:
    return [create_order(client, tenant, number=f"FV-{n}")["id"] for n in (1, 2)]


def test_many_orders_written_in_one_go_as_the_orm_would(app, client, tenant):
    ids = two_orders(client, tenant)
    when = datetime(2026, 12, 5, 20, 15, 30, 123456)
    with app.app_context():
        orders = [db.session.get(Order, i) for i in ids]
        versions = [o.version for o in orders]
        orders[0].remarks, orders[0].updated_at, orders[0].delivery_date = "再配達 \"注意\"\n改行", when, date(2026, 12, 24)
        orders[0].pickup = {"kind": "convenience_store", "store_name": "ローソン 渋谷店"}
        orders[1].remarks, orders[1].pickup = "二件目", None
        flush_versioned(orders)
        assert not any(db.session.is_modified(o) for o in orders)  # nothing left for the ORM's own flush
        db.session.commit()
        db.session.expire_all()
        first, second = (db.session.get(Order, i) for i in ids)
        assert (first.remarks, first.updated_at, first.delivery_date) == ("再配達 \"注意\"\n改行", when, date(2026, 12, 24))
        assert first.pickup == {"kind": "convenience_store", "store_name": "ローソン 渋谷店"}
        assert (second.remarks, second.pickup) == ("二件目", None)
        assert [first.version, second.version] == [v + 1 for v in versions]
        db.session.remove()


def test_an_order_changed_meanwhile_stops_the_whole_write(app, client, tenant):
    ids = two_orders(client, tenant)
    with app.app_context():
        orders = [db.session.get(Order, i) for i in ids]
        before = [o.remarks for o in orders]
        for order in orders:
            order.remarks = "書き換え"
        with db.engine.begin() as other:  # another transaction changed the second order since it was read
            other.execute(text("UPDATE orders SET version = version + 1 WHERE id = :id"), {"id": ids[1]})
        with pytest.raises(StaleDataError):
            flush_versioned(orders)
        db.session.rollback()
        db.session.expire_all()
        assert [db.session.get(Order, i).remarks for i in ids] == before
        db.session.remove()


def test_shipments_written_in_one_statement_per_set_of_changes_with_their_json_dates_and_nulls(app, client, tenant):
    """flush_plain: a page's shipments (no version) in one UPDATE per set of changed columns, as the ORM would
    have written them; what it wrote is their committed state (nothing left for the ORM's flush)."""
    from boss.orders.bulk_sql import flush_plain
    from boss.orders.models import Shipment
    from tests.factories import set_state

    ids = two_orders(client, tenant) + [create_order(client, tenant, number="FV-3")["id"]]
    for order_id in ids:
        set_state(app, order_id, "shipping_in_progress", "shipping")
    with app.app_context():
        shipments = [db.session.get(Order, i).shipments[0] for i in ids]
        parcels = [{"carrier": "yamato", "tracking_number": "1234-5678-9012"}, {"carrier": "sagawa", "tracking_number": "X"}]
        for shipment in shipments:
            shipment.status, shipment.carrier, shipment.shipped_on = "shipped", "yamato", date(2026, 12, 6)
        shipments[0].parcels, shipments[2].parcels = parcels, parcels[:1]  # the second keeps no parcels (null)
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        from sqlalchemy import event
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            flush_plain(shipments)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert not any(db.session.is_modified(s) for s in shipments)
        updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE SHIPMENTS")]
        # three shipments, two sets of changed columns: two statements (on SQLite each an executemany)
        assert len(updates) == 2, updates
        db.session.commit()
        db.session.expire_all()
        first, second, third = (db.session.get(Shipment, s_id) for s_id in [s.id for s in shipments])
        assert (first.status, first.carrier, first.shipped_on, first.parcels) == ("shipped", "yamato", date(2026, 12, 6), parcels)
        assert (second.status, second.carrier, second.parcels) == ("shipped", "yamato", None)
        assert third.parcels == parcels[:1]
        assert db.session.execute(text("SELECT COUNT(*) FROM shipments WHERE id = :id AND parcels IS NULL"),
                                  {"id": second.id}).scalar() == 1  # SQL NULL, not JSON null
        db.session.remove()


def test_rows_read_as_plain_values_are_written_with_the_version_checked_and_their_nulls_as_null(app, client, tenant):
    """update_rows: what was set on Row objects (a page of warehouse events reads its plain shipments so), one
    UPDATE per set of changed columns, the version + 1; a row changed meanwhile stops the whole write; setting
    what is not a column is refused before anything is written."""
    from boss.orders.bulk_sql import Row, update_rows
    from boss.orders.models import Shipment
    from tests.factories import set_state

    ids = two_orders(client, tenant)
    for order_id in ids:
        set_state(app, order_id, "shipping_in_progress", "shipping")
    parcels = [{"carrier": "yamato", "tracking_number": "1234-5678-9012"}]
    with app.app_context():
        orders = [Row({"id": o.id, "version": o.version, "status": o.status}) for o in
                  (db.session.get(Order, i) for i in ids)]
        shipments = [Row({"id": db.session.get(Order, i).shipments[0].id}) for i in ids]
        versions = [o.version for o in orders]
        for order in orders:
            order.status = "completed"
        shipments[0].parcels, shipments[0].shipped_on = parcels, date(2026, 12, 6)
        shipments[1].parcels = None
        update_rows(Order.__table__, orders, version="version")
        update_rows(Shipment.__table__, shipments)
        assert [o.version for o in orders] == [v + 1 for v in versions]
        db.session.commit()
        db.session.expire_all()
        assert [(db.session.get(Order, i).status, db.session.get(Order, i).version) for i in ids] == [
            ("completed", v + 1) for v in versions]
        first, second = (db.session.get(Shipment, s.id) for s in shipments)
        assert (first.parcels, first.shipped_on, second.parcels) == (parcels, date(2026, 12, 6), None)
        assert db.session.execute(text("SELECT COUNT(*) FROM shipments WHERE id = :id AND parcels IS NULL"),
                                  {"id": second.id}).scalar() == 1  # SQL NULL, not JSON null

        stale = [Row({"id": i, "version": v + 1}) for i, v in zip(ids, versions)]
        for row in stale:
            row.remarks = "書き換え"
        with db.engine.begin() as other:  # another transaction changed the second order since it was read
            other.execute(text("UPDATE orders SET version = version + 1 WHERE id = :id"), {"id": ids[1]})
        with pytest.raises(StaleDataError):
            update_rows(Order.__table__, stale, version="version")
        db.session.rollback()
        wrong = Row({"id": ids[0], "version": versions[0] + 1})
        wrong.remarks, wrong.tags = "書き換え", ["タグ"]
        with pytest.raises(AttributeError, match="not a column of orders: tags"):
            update_rows(Order.__table__, [wrong], version="version")
        db.session.rollback()
        db.session.expire_all()
        assert "書き換え" not in [db.session.get(Order, i).remarks for i in ids]
        db.session.remove()
