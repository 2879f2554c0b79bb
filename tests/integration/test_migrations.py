"""Schema changes go through migrations that run on SQLite and PostgreSQL and match the models."""
from __future__ import annotations

import importlib.util
from datetime import date, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import JSON, column, insert, inspect, select, table, text

from boss.extensions import db
from boss.models import Shop
from boss.orders.numbers import number_key
from tests.factories import create_order, order_body


def _include(obj, name, type_, reflected, compare_to):
    return not (name or "").startswith("orders_fts") and name not in ("ix_orders_search_trgm", "ix_orders_search_bigrams")


def test_the_migrated_schema_matches_the_models(app):
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_object": _include})
            assert compare_metadata(context, db.metadata) == []


def test_r4_the_one_holder_per_number_index_is_partial_on_not_deleted_orders_and_compares_keys(app):
    with app.app_context():
        indexes = {ix["name"]: ix for ix in inspect(db.engine).get_indexes("orders")}
        assert indexes["uq_orders_shop_number_key_active"]["unique"]
        assert indexes["uq_orders_shop_number_key_active"]["column_names"] == ["shop_id", "mall_order_number_key"]
        assert not any(ix["unique"] and "mall_order_number" in ix["column_names"] for ix in indexes.values())
        if db.engine.dialect.name == "postgresql":
            definition = db.session.scalar(text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_orders_shop_number_key_active'"))
        else:
            definition = db.session.scalar(text(
                "SELECT sql FROM sqlite_master WHERE name = 'uq_orders_shop_number_key_active'"))
        assert "deleted_at IS NULL" in definition
        db.session.remove()


def test_the_name_search_has_an_index_on_both_databases(app):
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            found = db.session.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_orders_search_trgm'"))
            assert "gin_trgm_ops" in found
        else:
            found = db.session.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'orders_fts'"))
            assert "trigram" in found
        db.session.remove()


def test_two_character_name_searches_have_a_bigram_index_on_both_databases(app):
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            found = db.session.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_orders_search_bigrams'"))
            assert "gin" in found and "search_bigrams(search_text)" in found
        else:
            found = db.session.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'orders_fts_bigram'"))
            assert "fts5" in found and "detail='none'" in found
            triggers = set(db.session.scalars(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'orders_fts_bigram_%'")))
            assert triggers == {"orders_fts_bigram_insert", "orders_fts_bigram_delete", "orders_fts_bigram_update"}
        db.session.remove()


# ---------------------------------------------------------------- 0008: mall_order_number_key (orders.md §1, R4)

def _migration_0008():
    spec = importlib.util.spec_from_file_location(
        "migration_0008", Path(__file__).resolve().parents[2] / "migrations/versions/0008_mall_order_number_key.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _down_and_up(app, revision: str, capsys, meanwhile=lambda: None) -> None:
    """Migrate down to `revision`, run `meanwhile` there (data made the old way), and up again with the upgrade's
    printout alone left in capsys; up again whatever happens."""
    try:
        with app.app_context():
            downgrade(revision=revision)
            meanwhile()
            db.session.remove()
            capsys.readouterr()
            upgrade()
            db.session.remove()
    finally:
        with app.app_context():
            upgrade()
            db.session.remove()


def _keys(app) -> dict[int, tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(text("SELECT id, mall_order_number, mall_order_number_key FROM orders")).all()
        db.session.remove()
    return {order_id: (number, key) for order_id, number, key in rows}


def test_r4_migration_0008_keys_every_order_and_leaves_the_oldest_of_colliding_look_alikes_the_key(
        app, client, tenant, other_tenant, capsys):
    names = ("keeper", "wide", "minus", "deleted", "other")
    ids = {name: create_order(client, tenant, number=f"OLD-{name}")["id"] for name in names}
    ids["theirs"] = create_order(client, other_tenant, number="OLD-theirs")["id"]
    assert client.post(f"/api/v1/orders/{ids['keeper']}/cancel", json={}, headers=tenant.headers()).status_code == 200
    assert client.delete(f"/api/v1/orders/{ids['deleted']}", headers=tenant.headers()).status_code == 200
    # Before 0008 the unique index compared the numbers' bytes: these look-alikes were let in.
    before = {"keeper": "CXL-777", "wide": "ＣＸＬ－７７７", "minus": "cxl\u2212777", "deleted": "CXL-777",
              "other": "ABC-1", "theirs": "cxl-777"}
    def old_numbers():
        db.session.execute(text("UPDATE orders SET mall_order_number = :n WHERE id = :i"),
                           [{"n": before[name], "i": order_id} for name, order_id in ids.items()])
        db.session.commit()

    _down_and_up(app, "0007", capsys, old_numbers)

    keys = _keys(app)
    assert {name: keys[order_id] for name, order_id in ids.items()} == {
        "keeper": ("CXL-777", "cxl-777"),  # the oldest holder keeps the key
        "wide": ("ＣＸＬ－７７７", f"cxl-777#{ids['wide']}"),
        "minus": ("cxl\u2212777", f"cxl-777#{ids['minus']}"),
        "deleted": ("CXL-777", "cxl-777"),  # a deleted order holds nothing (R4): it collides with none
        "other": ("ABC-1", "abc-1"),
        "theirs": ("cxl-777", "cxl-777"),  # another shop's number is another number
    }
    printed = [line for line in capsys.readouterr().out.splitlines() if "collision" in line]
    assert len(printed) == 1, printed
    line = printed[0]
    assert f"shop {tenant.shop_id} (テスト商店の楽天店)" in line and f"kept by order {ids['keeper']} 「CXL-777」" in line
    assert f"order {ids['wide']} 「ＣＸＬ－７７７」 gets key 「cxl-777#{ids['wide']}」" in line
    assert f"order {ids['minus']} 「cxl\u2212777」 gets key 「cxl-777#{ids['minus']}」" in line
    assert f"order {ids['deleted']} 「" not in line

    # The index built, and R6 holds by it: the cancelled keeper refuses CXL-777 and its look-alikes.
    for number in ("CXL-777", "ｃｘｌ－７７７"):
        refused = client.post("/api/v1/orders", json=order_body(tenant.shop_id, number=number), headers=tenant.headers())
        assert refused.status_code == 409 and "キャンセル済み" in refused.json["error"]["message"], refused.json

    # Down and up again: the same keys.
    with app.app_context():
        downgrade(revision="0007")
        columns = [c["name"] for c in inspect(db.engine).get_columns("orders")]
        indexes = {ix["name"] for ix in inspect(db.engine).get_indexes("orders")}
        db.session.remove()
        upgrade()
        db.session.remove()
    assert "mall_order_number_key" not in columns
    assert {"uq_orders_shop_number_active", "ix_orders_shop_number", "ix_orders_account_number"} <= indexes
    assert _keys(app) == keys


def test_migration_0008_fills_the_keys_batch_by_batch(app, client, tenant):
    for number in ("ＡＢＣ－１", "abc\u22122", "Abc-3", "ABC-⁴", "abc〜5"):
        create_order(client, tenant, number=number)
    migration = _migration_0008()
    migration.BATCH = 2
    with app.app_context():
        db.session.execute(text("UPDATE orders SET mall_order_number_key = 'stale-' || id"))
        migration._fill_keys(db.session.connection(), db.engine.dialect.name == "postgresql")
        db.session.commit()
        db.session.remove()
    keys = _keys(app)
    assert sorted(key for _, key in keys.values()) == ["abc-1", "abc-2", "abc-3", "abc-4", "abc~5"]
    assert all(key == number_key(number) for number, key in keys.values())


# ---------------------------------------------------------------- 0010: job_items

def test_migration_0010_moves_the_items_of_an_unfinished_bulk_jobs_checkpoint_into_job_items_and_back(app, tenant):
    items = [{"order_id": 7, "mall_order_number": "J-7", "done": True, "code": None, "message": "キャンセルしました"},
             {"order_id": 8, "mall_order_number": None, "done": False, "code": "not_found", "message": "見つかりません"}]
    old_checkpoint = {"index": 2, "items": items}
    try:
        with app.app_context():
            downgrade(revision="0009")
            jobs = table("jobs", column("id"), column("account_id"), column("kind"), column("state"),
                         column("progress"), column("params", JSON), column("checkpoint", JSON),
                         column("created_at"), column("updated_at"))
            now = datetime(2026, 1, 5, 9, 0)
            db.session.execute(insert(jobs), [
                {"id": job_id, "account_id": tenant.account_id, "kind": "bulk_cancel", "state": state, "progress": 40,
                 "params": {}, "checkpoint": old_checkpoint, "created_at": now, "updated_at": now}
                for job_id, state in (("running-job", "started"), ("finished-job", "finished"))])
            db.session.commit()
            db.session.remove()
            upgrade()
            rows = db.session.execute(text(
                "SELECT job_id, position, ref, done, code, message, mall_order_number FROM job_items "
                "ORDER BY job_id, position")).all()
            checkpoints = dict(db.session.execute(select(jobs.c.id, jobs.c.checkpoint)).all())
            db.session.remove()
            downgrade(revision="0009")
            folded = dict(db.session.execute(select(jobs.c.id, jobs.c.checkpoint)).all())
            db.session.remove()
    finally:
        with app.app_context():
            upgrade()
            db.session.remove()

    assert [tuple(row) for row in rows] == [("running-job", 0, 7, True, None, "キャンセルしました", "J-7"),
                                            ("running-job", 1, 8, False, "not_found", "見つかりません", None)]
    assert checkpoints == {"running-job": {"index": 2}, "finished-job": old_checkpoint}
    assert folded == {"running-job": old_checkpoint, "finished-job": old_checkpoint}


# ---------------------------------------------------------------- 0011: connections (the rms_* columns of shops)

SHOP_RMS = {"rms_base_url": "http://localhost/sandbox/rms", "rms_service_secret_enc": "gAAAA-secret",
            "rms_license_key_enc": "gAAAA-license", "rms_license_key_last4": "7c2f",
            "rms_license_key_expires_on": date(2027, 1, 31), "rms_connection_error": "ES04-01 Un-Authorised",
            "rms_import_interval_minutes": 15, "rms_initial_lookback_days": 45, "rms_inventory_restore_type": 2,
            "rms_last_window_end": datetime(2026, 11, 27, 5, 5, 30, 123456),
            "rms_last_import_at": datetime(2026, 11, 27, 5, 6)}


def _shop_rms(shop_id: int) -> dict:
    row = db.session.execute(text(f"SELECT {', '.join(SHOP_RMS)} FROM shops WHERE id = :id"), {"id": shop_id}).mappings().one()
    columns = {c["name"]: c["type"] for c in inspect(db.engine).get_columns("shops")}
    # SQLite hands back dates and times as text: read them as the columns' types do
    return {name: columns[name].python_type.fromisoformat(value) if isinstance(value, str) and
            columns[name].python_type in (date, datetime) else value for name, value in row.items()}


def test_migration_0011_moves_each_shops_rms_values_into_its_connection_and_back(app, client, tenant, other_tenant):
    shops = client.get("/api/v1/shops", headers=tenant.headers()).json["items"]
    yahoo = client.post("/api/v1/shops", json={"name": "ヤフー店", "mall": "yahoo"}, headers=tenant.headers("admin")).json
    plain_yahoo = client.post("/api/v1/shops", json={"name": "ヤフー2号店", "mall": "yahoo"}, headers=tenant.headers("admin")).json
    connected, untouched = tenant.shop_id, other_tenant.shop_id
    try:
        with app.app_context():
            downgrade(revision="0010")
            db.session.execute(text(f"UPDATE shops SET {', '.join(f'{n} = :{n}' for n in SHOP_RMS)} WHERE id = :id"),
                               {**SHOP_RMS, "id": connected})
            db.session.execute(text("UPDATE shops SET rms_import_interval_minutes = 30 WHERE id = :id"), {"id": yahoo["id"]})
            db.session.commit()
            db.session.remove()
            upgrade()
            db.session.remove()
        after = {shop["id"]: shop for shop in client.get("/api/v1/shops", headers=tenant.headers()).json["items"]}
        theirs = client.get("/api/v1/shops", headers=other_tenant.headers()).json["items"][0]
        with app.app_context():
            rows = {row.shop_id: row for row in db.session.execute(text("SELECT * FROM connections"))}
            columns = [c["name"] for c in inspect(db.engine).get_columns("shops")]
            db.session.remove()
    finally:
        with app.app_context():
            upgrade()
            db.session.remove()

    assert not [name for name in columns if name.startswith("rms_")]
    # one row per Rakuten shop, and for another shop whose values are not the defaults
    assert set(rows) == {connected, untouched, yahoo["id"]} and plain_yahoo["id"] not in rows
    assert after[connected] == {**next(s for s in shops if s["id"] == connected), "rms_connected": True,
                                "license_key_last4": "7c2f", "license_key_expires_on": "2027-01-31",
                                "rms_connection_error": "ES04-01 Un-Authorised",
                                "rms_base_url": "http://localhost/sandbox/rms", "import_interval_minutes": 15,
                                "initial_lookback_days": 45, "inventory_restore_type": 2,
                                "last_import_at": "2026-11-27T14:06:00+09:00"}
    assert after[yahoo["id"]]["import_interval_minutes"] == 30 and after[plain_yahoo["id"]]["import_interval_minutes"] == 10
    assert theirs["rms_connected"] is False and theirs["rms_connection_error"] is None
    with app.app_context():
        shop = db.session.get(Shop, connected)
        assert shop.rms.secrets_enc == {"service_secret": "gAAAA-secret", "license_key": "gAAAA-license"}
        assert shop.rms.cursor == "2026-11-27T05:05:30.123456" and shop.rms.provider == "rakuten_rms"
        db.session.remove()

    # Down again: the shops' columns hold the same values; the defaults where a shop had no row.
    try:
        with app.app_context():
            downgrade(revision="0010")
            back, plain = _shop_rms(connected), _shop_rms(plain_yahoo["id"])
            db.session.remove()
    finally:
        with app.app_context():
            upgrade()
            db.session.remove()
    assert back == SHOP_RMS
    assert plain == {**{name: None for name in SHOP_RMS}, "rms_import_interval_minutes": 10,
                     "rms_initial_lookback_days": 30, "rms_inventory_restore_type": 0}


# ---------------------------------------------------------------- 0012: Rakuten orders as RMS sends them

def test_migration_0012_empties_rakuten_sub_codes_equal_to_the_item_and_keeps_every_order_and_mapping_matching(
        app, client, tenant, capsys):
    """Orders and mappings made the old way: a single-SKU item's サブコード was its management number. After
    0012 the Rakuten shop's are empty (a mapping whose emptied key is taken stays, and is named), another
    mall's are kept, nothing else is rewritten, and the mappings still match."""
    from tests.factories import create_product, map_item
    headers = tenant.headers()
    yahoo = client.post("/api/v1/shops", json={"name": "ヤフー店", "mall": "yahoo"},
                        headers=tenant.headers("admin")).json["id"]
    for sku in ("SKU-1", "SKU-2"):
        create_product(client, tenant, sku)
    single = map_item(client, tenant, "item-a", "SKU-1", sub_code="item-a")["id"]
    taken = map_item(client, tenant, "item-b", "SKU-2", sub_code="item-b")["id"]
    plain = map_item(client, tenant, "item-b", "SKU-1")["id"]
    theirs = client.post("/api/v1/mappings", json={"shop_id": yahoo, "mall_item_id": "item-c", "sub_code": "item-c",
                                                   "sku": "SKU-1"}, headers=headers).json["id"]
    rakuten = create_order(client, tenant, lines=[
        {"mall_item_id": "item-a", "sub_code": "item-a", "name": "単品", "quantity": 2, "unit_price": 1000},
        {"mall_item_id": "item-z", "sub_code": "z-1", "name": "色違い", "quantity": 1, "unit_price": 500}])
    other = client.post("/api/v1/orders", json=order_body(yahoo, lines=[
        {"mall_item_id": "item-c", "sub_code": "item-c", "name": "ヤフー品", "quantity": 1, "unit_price": 700}]),
        headers=headers).json
    _down_and_up(app, "0011", capsys)

    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("0012")]
    assert printed == [
        "0012: emptied the サブコード equal to the モール商品ID on 1 Rakuten order line(s)",
        f"0012: shop {tenant.shop_id}: mapping {single} of item-a: サブコード item-a emptied",
        f"0012: shop {tenant.shop_id}: mapping {taken} (item-b / item-b) kept: mapping {plain} already maps item-b "
        "without サブコード",
    ]
    mappings = {m["id"]: m["sub_code"] for m in client.get("/api/v1/mappings", headers=headers).json["items"]}
    assert (mappings[single], mappings[taken], mappings[plain], mappings[theirs]) == (None, "item-b", None, "item-c")

    order = client.get(f"/api/v1/orders/{rakuten['id']}", headers=headers).json
    assert [(line["sub_code"], line["mapped"], line["sku"]) for line in order["lines"]] == [
        (None, True, "SKU-1"), ("z-1", False, None)]
    assert (order["total"], order["billed"], order["charges"], order["discount"], order["points_used"],
            order["wrapping"]) == (rakuten["total"], rakuten["total"], 0, 0, 0, 0)
    assert [line["options"] for line in order["lines"]] == ["", ""]
    assert order["version"] == rakuten["version"]  # nothing else rewritten
    kept = client.get(f"/api/v1/orders/{other['id']}", headers=headers).json
    assert [line["sub_code"] for line in kept["lines"]] == ["item-c"]

    # The emptied mapping matches a new line of the item without サブコード.
    new = create_order(client, tenant, lines=[{"mall_item_id": "item-a", "name": "単品", "quantity": 1, "unit_price": 1000}])
    assert [(line["mapped"], line["sku"]) for line in new["lines"]] == [(True, "SKU-1")]
    shop = client.get(f"/api/v1/shops/{tenant.shop_id}", headers=headers).json
    assert shop.get("confirm_at_rms", True) is True
