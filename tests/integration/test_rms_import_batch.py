"""The mall import creates each getOrder batch together (import_batch.import_mall_orders): what it makes must be
what the one-by-one registration makes, order for order, and the batch must keep R4, R5, R7 and R13.

The import runs in this process (importer.import_shop, as a worker runs it) with the real client over
HTTP against the sandbox served here, so that a test can step in between reading a batch and inserting it.
"""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from boss.extensions import db
from boss.malls.rakuten import connection, importer
from boss.malls.rakuten.connection import set_credentials
from boss.models import Product, Shop
from boss.orders import actions, bulk_sql, counters, frame, import_batch, mapping, products, registration, rules, shops
from boss.orders.actor import Actor
from boss.orders.import_batch import MallOrder
from boss.orders.models import Order, OrderEvent, OrderLine, Tag, order_tags
from boss.orders.registration import NewOrder
from boss.orders.search import OrderFilter, list_orders, status_counts
from boss.outbox import commit_and_dispatch
from tests.integration.rms_sandbox import RmsSandbox

MAPPED = ("mug-002", "mug-002-ai", "MUG-AI")  # mall item, its サブコード, our SKU
IMPORTED = "楽天RMSから取り込みました。"


def _package(family: str, item: str, sub_code: str, units: int = 1, price: int = 2200) -> dict:
    return {"basketId": 1, "SenderModel": {"familyName": family, "firstName": "受取", "zipCode1": "100", "zipCode2": "0001",
                                           "prefecture": "東京都", "city": "千代田区", "subAddress": "1-1"},
            "ItemModelList": [{"manageNumber": item, "itemName": item, "price": price, "units": units,
                               "SkuModelList": [{"variantId": sub_code}] if sub_code else []}]}


def _buyer(family: str, first: str, kana: str = "") -> dict:
    return {"OrdererModel": {"familyName": family, "firstName": first, "familyNameKana": kana, "firstNameKana": "",
                             "phoneNumber1": "03", "phoneNumber2": "1234", "phoneNumber3": "5678"}}


@pytest.fixture
def shop(app, ctx, tenant, live_server, monkeypatch):
    """The tenant's Rakuten shop connected to the sandbox, MAPPED mapped; no pacing, no sandbox limit. Rakuten's
    processing takes an hour here, so an order given or set at 200 reads as 200 (a test that wants it to move on
    to 300 by itself sets RMS_SANDBOX_PROCESSING_SECONDS to 0)."""
    monkeypatch.setitem(app.config, "RMS_SANDBOX_RATE_PER_SECOND", 1000)
    monkeypatch.setitem(app.config, "RMS_SANDBOX_PROCESSING_SECONDS", 3600)
    monkeypatch.setitem(app.config, "RMS_MIN_INTERVAL", 0.001)
    sandbox = RmsSandbox(live_server)
    actor = _user(tenant)
    products.create_product(actor, MAPPED[2], "波佐見焼 マグカップ 藍")
    mapping.map_item(actor, tenant.shop_id, *MAPPED)
    row = db.session.get(Shop, tenant.shop_id)
    set_credentials(row, "secret", sandbox.license_key, base_url=sandbox.rms_url)
    commit_and_dispatch()
    row.sandbox = sandbox
    return row


def _user(tenant) -> Actor:
    return Actor("user", "admin", tenant.account_id)


def _manual(shop_id: int, number: str, name: str = "手動 登録") -> NewOrder:
    return NewOrder(shop_id=shop_id, mall_order_number=number, buyer={"name": name},
                    lines=[{"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": 1200}])


def _order(shop_id: int, number: str) -> list[Order]:
    return list(db.session.scalars(select(Order).where(Order.shop_id == shop_id, Order.mall_order_number == number)))


def _counts_match_a_recount(account_id: int) -> None:
    kept = status_counts(account_id)
    counters.recount(account_id)
    assert status_counts(account_id) == kept


def test_r4_r5_r7_a_batch_mixing_good_bad_several_destinations_held_and_raced_numbers(app, shop, tenant, monkeypatch):
    sandbox = shop.sandbox
    mapped = sandbox.add({**_buyer("岩佐見本", "一郎", "イワサミホン"),
                          "PackageModelList": [_package("岩佐見本", MAPPED[0], MAPPED[1], units=2)]})[0]
    unmapped = sandbox.add({**_buyer("未対応", "花子"), "PackageModelList": [_package("未対応", "towel-003", "towel-003-gray")]})[0]
    several = sandbox.add({**_buyer("複数", "次郎"), "PackageModelList": [
        _package("送付先一", MAPPED[0], MAPPED[1]), {**_package("送付先二", "tea-004", ""), "basketId": 2}]})[0]
    bad = sandbox.add({**_buyer("", ""), "PackageModelList": [_package("無名", MAPPED[0], MAPPED[1])]})[0]
    held, deleted, raced = sandbox.add({}, {}, {})
    actor = _user(tenant)
    registration.register(actor, _manual(shop.id, held))
    actions.delete(actor, registration.register(actor, _manual(shop.id, deleted)).id)

    inserts = []
    original = bulk_sql.insert_rows

    def registered_meanwhile(table, rows, **options):
        """A manual registration of `raced` commits after the batch was read, before its orders' INSERT."""
        if table is Order.__table__ and not inserts:
            with app.app_context():  # another session and connection, as another process would have
                registration.register(actor, _manual(shop.id, raced, name="先着 登録"))
                db.session.remove()
        inserts.append((table.name, len(rows)))
        return original(table, rows, **options)

    monkeypatch.setattr(import_batch, "insert_rows", registered_meanwhile)
    result = importer.import_shop(db.session.get(Shop, shop.id))

    assert [name for name, _ in inserts] == ["orders", "order_lines", "order_tags", "order_events"], "one INSERT each"
    assert inserts[0] == ("orders", 4)  # mapped, unmapped, several, raced: the bad one failed alone
    assert result | {"errors": []} == {"fetched": 7, "created": 3, "skipped": 3, "failed": 1, "errors": []}
    assert result["errors"] == [{"order_number": bad, "message": "氏名がありません"}]
    assert _order(shop.id, bad) == []

    # R5: held and deleted numbers are not imported; R4/R13: the raced number has one holder, the manual one.
    assert [o.source for o in _order(shop.id, held)] == ["manual"]
    assert [(o.source, o.deleted) for o in _order(shop.id, deleted)] == [("manual", True)]
    winner = _order(shop.id, raced)
    assert [(o.source, o.mall_linked, o.buyer_name) for o in winner] == [("manual", False, "先着 登録")]

    # R7: mall-linked 確認待, lines mapped by the shop's mappings, system tags, history.
    (first,), (second,), (multi,) = (_order(shop.id, n) for n in (mapped, unmapped, several))
    for order in (first, second, multi):
        assert (order.status, order.source, order.mall_linked, order.deleted) == (rules.AWAITING_CONFIRMATION, "mall_import", True, False)
        assert order.version == 1 and not order.has_tag("not_mall_linked")
        events = db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id)).all()
        assert [(e.kind, e.actor_type, e.actor_name, e.from_status, e.to_status, e.message) for e in events] == [
            ("imported", "job", importer.ACTOR_NAME, None, rules.AWAITING_CONFIRMATION, IMPORTED)]
    mug = db.session.scalar(select(Product.id).where(Product.sku == MAPPED[2]))
    assert [(line.mall_item_id, line.sub_code, line.quantity, line.unit_price, line.product_id) for line in first.lines] == [
        (MAPPED[0], MAPPED[1], 2, 2200, mug)]
    assert first.total == 2 * 2200 + (first.postage or 0)
    assert [t.code for t in first.tags] == []
    assert [line.product_id for line in second.lines] == [None] and [t.code for t in second.tags] == ["unmapped_items"]
    assert [line.mall_item_id for line in multi.lines] == [MAPPED[0], "tea-004"]
    assert [line.product_id for line in multi.lines] == [mug, None]
    assert sorted(t.code for t in multi.tags) == ["multiple_destinations", "unmapped_items"]
    assert multi.recipient_name == "送付先一 受取"
    assert multi.decide(rules.CONFIRM).code == "invalid_transition"

    # The tab counters are the ones a recount gives; search finds the new orders by buyer name and kana.
    counts = status_counts(tenant.account_id)
    assert counts[rules.AWAITING_CONFIRMATION] == 5 and counts["attention"] == 1
    _counts_match_a_recount(tenant.account_id)
    for q in ("岩佐見本", "いわさみほん", "岩佐"):
        found = list_orders(OrderFilter(account_id=tenant.account_id, q=q)).rows
        assert [o.mall_order_number for o in found] == [mapped], q

    # A second run imports nothing again (R5).
    db.session.get(Shop, shop.id).rms_connection.cursor = None
    commit_and_dispatch()
    again = importer.import_shop(db.session.get(Shop, shop.id))
    assert again["created"] == 0 and again["skipped"] == again["fetched"] - again["failed"] == 6


def test_the_batch_makes_what_the_one_by_one_registration_makes_with_auto_confirm(app, ctx, tenant):
    """import_mall_orders in one shop and build_order + finish_registration in another, from the same
    orders, with auto_confirm on in both: every column, line, tag, event and counter alike."""
    actor = _user(tenant)
    products.create_product(actor, MAPPED[2], "マグ")
    batch_shop = shops.create_shop(actor, "一括の店", "rakuten", auto_confirm=True).id
    single_shop = shops.create_shop(actor, "一件ずつの店", "rakuten", auto_confirm=True).id
    for shop_id in (batch_shop, single_shop):
        mapping.map_item(actor, shop_id, *MAPPED)

    def orders(shop_id: int) -> list[MallOrder]:
        def new(number, lines, **more):
            return NewOrder(shop_id=shop_id, mall_order_number=number, buyer={
                "name": "山田 太郎", "name_kana": "ヤマダ タロウ", "phone": "03-1234-5678", "email": "t@example.jp",
                "postal_code": "100-0001", "address": "東京都千代田区1-1"}, lines=lines,
                ordered_at=datetime(2026, 11, 20, 1, 2, 3), payment_method="クレジットカード", remarks="備考", **more)
        mug = {"mall_item_id": MAPPED[0], "sub_code": MAPPED[1], "name": "マグ", "quantity": 3, "unit_price": 2200}
        tea = {"mall_item_id": "tea-004", "sub_code": "", "name": "茶", "quantity": 1, "unit_price": 1080}
        return [MallOrder(new("1-20261120-0000000001", [mug], postage=550)),           # confirmed at once
                MallOrder(new("1-20261120-0000000002", [mug, tea], postage=0)),        # unmapped line
                MallOrder(new("1-20261120-0000000003", [mug],
                              recipient={"name": "佐藤 花子", "phone": "06-1111-2222"}), True)]  # held: 複数送付先

    job = Actor.job(tenant.account_id, importer.ACTOR_NAME)
    made = import_batch.import_mall_orders(job, batch_shop, orders(batch_shop), IMPORTED)
    assert len(made.created) == 3 and made.skipped == []
    for mall_order in orders(single_shop):
        order = registration.build_order(db.session.get(Shop, single_shop), mall_order.new, source="mall_import", mall_linked=True)
        tags = [frame.system_tag(tenant.account_id, "multiple_destinations")] if mall_order.several_destinations else []
        registration.finish_registration(order, job, "imported", IMPORTED, tags)
        commit_and_dispatch()

    def snapshot(shop_id: int) -> dict:
        skip = {"id", "shop_id", "created_at", "updated_at", "confirmed_at"}
        found = {}
        for order in db.session.scalars(select(Order).where(Order.shop_id == shop_id)):
            columns = {c.key: getattr(order, c.key) for c in Order.__table__.columns if c.key not in skip}
            lines = [{c.key: getattr(line, c.key) for c in OrderLine.__table__.columns if c.key not in ("id", "order_id")}
                     for line in order.lines]
            tags = sorted(db.session.scalars(select(Tag.code).join(order_tags, order_tags.c.tag_id == Tag.id)
                                             .where(order_tags.c.order_id == order.id)))
            events = [(e.kind, e.actor_type, e.actor_name, e.from_status, e.to_status, e.message) for e in db.session.scalars(
                select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id))]
            found[order.mall_order_number] = {"order": columns, "lines": lines, "tags": tags, "events": events,
                                              "confirmed": order.confirmed_at is not None}
        return found

    batch, single = snapshot(batch_shop), snapshot(single_shop)
    assert batch == single
    assert [batch[n]["order"]["status"] for n in sorted(batch)] == [rules.CONFIRMED, rules.AWAITING_CONFIRMATION,
                                                                    rules.AWAITING_CONFIRMATION]
    assert batch["1-20261120-0000000001"]["events"][-1][:2] == ("confirmed", "system")
    assert status_counts(tenant.account_id, batch_shop) == status_counts(tenant.account_id, single_shop)
    _counts_match_a_recount(tenant.account_id)
    found = list_orders(OrderFilter(account_id=tenant.account_id, shop_id=batch_shop, q="佐藤花子")).rows
    assert [o.mall_order_number for o in found] == ["1-20261120-0000000003"]


def test_mall_side_cancels_are_found_batch_by_batch_and_only_those_orders_change(app, shop, tenant, monkeypatch):
    sandbox = shop.sandbox
    numbers = sandbox.add(*({"PackageModelList": [_package("取消", MAPPED[0], MAPPED[1])]} for _ in range(5)))
    monkeypatch.setattr(importer, "BATCH", 2)
    assert importer.import_shop(db.session.get(Shop, shop.id))["created"] == 5
    for number in (numbers[0], numbers[3]):
        sandbox.control("progress", {"order_number": number, "order_progress": 900})
    versions = {n: _order(shop.id, n)[0].version for n in numbers}
    commit_and_dispatch()
    row = db.session.get(Shop, shop.id)
    assert importer.reread_open_orders(row, connection.client_for(row)).cancelled == 2
    for number in numbers:
        order = _order(shop.id, number)[0]
        flagged = number in (numbers[0], numbers[3])
        assert order.has_tag("mall_cancelled") is flagged
        assert (order.version > versions[number]) is flagged
    _counts_match_a_recount(tenant.account_id)
    assert status_counts(tenant.account_id)["attention"] == 2
