"""An API read answers from one moment of the database: an order's version, shipment and tags read by several
SELECTs while a worker commits between them are still of one version (R13: a client's If-Match is the version of
what it was shown)."""
from __future__ import annotations

from sqlalchemy import event, text

from boss.extensions import db
from tests.factories import create_order


def test_an_order_read_while_a_commit_lands_between_its_selects_is_of_one_version(app, client, tenant):
    order = create_order(client, tenant)
    statements = []

    def commit_from_elsewhere(conn, cursor, statement, parameters, context, executemany):
        """After the order's own SELECT, another connection changes it and commits (a worker's step)."""
        statements.append(statement)
        if "FROM orders" in statement and "order_tags" not in statement and len(statements) < 50 and \
                not getattr(commit_from_elsewhere, "done", False):
            commit_from_elsewhere.done = True
            with db.engine.connect() as other:
                other.execute(text("UPDATE orders SET remarks = 'changed', version = version + 1 WHERE id = :id"),
                              {"id": order["id"]})
                other.execute(text("DELETE FROM order_tags WHERE order_id = :id"), {"id": order["id"]})
                other.commit()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", commit_from_elsewhere)
    try:
        shown = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json
    finally:
        event.remove(engine, "after_cursor_execute", commit_from_elsewhere)
    assert getattr(commit_from_elsewhere, "done", False), statements
    assert (shown["version"], shown["remarks"]) == (order["version"], order["remarks"])
    assert [t["code"] for t in shown["tags"]] == [t["code"] for t in order["tags"]] != []  # the tags of that version

    after = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json
    assert (after["version"], after["remarks"], after["tags"]) == (order["version"] + 1, "changed", [])
