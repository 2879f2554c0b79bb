"""Demo data: an account with a login, two shops, products, mappings and ~200 orders in every status.

Statuses past 確認済 belong to the warehouse flow; the demo sets them directly, as the order core's
issue allows, so the lists show every tab.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import select

from . import outbox
from .accounts import create_user, get_or_create_account
from .extensions import db, get_redis
from .models import Account, ItemMapping, Shop, User, utcnow
from .orders import actions, counters, frame, history, registration, rules, shops, tags
from .orders.actor import Actor
from .orders.models import Order, OrderEvent, Shipment
from .orders.products import create_product
from .orders.registration import NewOrder
from .timefmt import JST
from .warehouse import stock

DEMO_ACCOUNT = "デモ商店"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-pass-2026"

FAMILY = [("山田", "ヤマダ"), ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"),
          ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ")]
GIVEN = [("花子", "ハナコ"), ("太郎", "タロウ"), ("美咲", "ミサキ"), ("健", "ケン"), ("陽菜", "ヒナ"),
         ("翔太", "ショウタ"), ("結衣", "ユイ"), ("大輔", "ダイスケ")]
PRODUCTS = [("TEA-001", "静岡煎茶 100g", 1200), ("TEA-002", "玄米茶 200g", 900), ("TEA-003", "抹茶 30g", 2400),
            ("CUP-001", "有田焼 湯呑み", 3300), ("CUP-002", "波佐見焼 マグカップ", 2800),
            ("SWT-001", "羊羹 5本入り", 2160), ("SWT-002", "どら焼き 6個入り", 1620),
            ("TWL-001", "今治タオル フェイス", 1650), ("TWL-002", "今治タオル バス", 4400),
            ("SOP-001", "米ぬか石けん", 880)]
PAYMENTS = ["クレジットカード", "楽天ペイ", "銀行振込", "代金引換", "PayPay"]
# (status, shipment status, how many)
PLAN = [
    (rules.AWAITING_CONFIRMATION, None, 50),
    (rules.CONFIRMED, None, 35),
    (rules.AWAITING_SHIPMENT, rules.REQUESTED, 30),
    (rules.SHIPPING_IN_PROGRESS, rules.SHIPPING, 15),
    (rules.SHIPPING_IN_PROGRESS, rules.WITHDRAWAL_REQUESTED, 5),
    (rules.SHIPPING_IN_PROGRESS, rules.NOT_SHIPPABLE, 5),
    (rules.COMPLETED, rules.SHIPPED, 40),
    (rules.CANCELLED, None, 20),
]


def seed_demo(seed: int = 20261127) -> tuple[str, str]:
    """Idempotent: a second call finds the demo account and adds nothing."""
    existing = db.session.scalars(select(Account).where(Account.name == DEMO_ACCOUNT)).first()
    if existing is not None:
        return DEMO_EMAIL, DEMO_PASSWORD
    rng = random.Random(seed)
    account = get_or_create_account(DEMO_ACCOUNT)
    db.session.commit()
    create_user(DEMO_EMAIL, DEMO_PASSWORD, DEMO_ACCOUNT, admin=True, name="デモ管理者")
    create_user("staff@example.com", DEMO_PASSWORD, DEMO_ACCOUNT, admin=False, name="デモスタッフ")
    user = db.session.scalars(select(User).where(User.email == DEMO_EMAIL)).one()
    actor = Actor("user", user.name, account.id, user.id)

    rakuten = shops.create_shop(actor, "デモ楽天ショップ", "rakuten", reflect_cancel_to_rms=True)
    yahoo = shops.create_shop(actor, "デモYahoo!ショップ", "yahoo", auto_confirm=False)
    products = [create_product(actor, sku, name, stock=rng.randint(20, 200)) for sku, name, _ in PRODUCTS]
    prices = {sku: price for sku, _, price in PRODUCTS}
    # Most items are mapped; the last two of each shop wait for a mapping (商品マッピング shows them).
    for shop in (rakuten, yahoo):
        for product in products[:8]:
            db.session.add(ItemMapping(shop_id=shop.id, mall_item_id=_item_id(shop, product.sku), sub_code="",
                                       product_id=product.id))
    db.session.commit()
    hold = tags.create_tag(actor, "要確認（電話）", "#e67e22", holds=True)
    tags.create_tag(actor, "ギフト包装", "#16a085", holds=False)

    now = utcnow()
    counter = 0
    for status, shipment_status, count in PLAN:
        for _ in range(count):
            counter += 1
            shop = rakuten if counter % 3 else yahoo
            ordered_at = now - timedelta(minutes=rng.randint(5, 60 * 24 * 30))
            story = Story(ordered_at, ordered_at + timedelta(minutes=1), min(ordered_at + timedelta(hours=2), now))
            unmapped = status == rules.AWAITING_CONFIRMATION and counter % 4 == 0
            _demo_order(rng, actor, shop, products, prices, counter, story, status, shipment_status, unmapped)
    # A few held, a few mall-side cancels, a few several-destination orders, a few deleted ones.
    waiting = _orders_in(account.id, rules.AWAITING_CONFIRMATION)
    for order in waiting[:4]:
        actions.add_tag(actor, order.id, hold.id)
    for order in waiting[4:6]:
        frame.raise_system_tag(order, "mall_cancelled", Actor.system(account.id, history.IMPORT_ACTOR.ja))
    for order in waiting[6:8]:
        frame.raise_system_tag(order, "multiple_destinations", Actor.system(account.id, history.IMPORT_ACTOR.ja))
    outbox.commit_and_dispatch()
    deletable = [o for o in _orders_in(account.id, rules.AWAITING_CONFIRMATION) if not any(l.mapped for l in o.lines)]
    for order in deletable[:3]:
        actions.delete(actor, order.id)
    if current_app.config["BOSS_SANDBOX"] and current_app.config.get("REDIS_URL"):
        connect_to_sandbox(actor, rakuten)
        connect_warehouse(actor, products)
    return DEMO_EMAIL, DEMO_PASSWORD


DEMO_WAREHOUSE_KEY = "demo-warehouse-key-0001"
DEMO_REQUESTS = 6  # 確認済 orders requested through the real service: they move by themselves once the app runs


def connect_warehouse(actor: Actor, products) -> None:
    """The demo account's warehouse is the simulator in auto mode (warehouse.md §1): started 20 s after a request
    arrives, shipped 60 s after, synced every 30 s. A few 確認済 orders are requested through the real service, so
    that `python app.py` shows them travel 出荷待ち → 出荷作業中 → 完了: the worker sends them, the periodic sync
    applies what the simulator did."""
    from .warehouse import connection, shipping
    from .warehouse.simulator import store as simulator

    conn = connection.warehouse_for(actor.account_id)
    connection.set_api_key(conn, DEMO_WAREHOUSE_KEY)
    conn.interval_seconds = 30
    db.session.add(conn)
    db.session.commit()
    simulator.configure(get_redis(), DEMO_WAREHOUSE_KEY, auto=True, start_after_s=20, ship_after_s=60,
                        skus=[product.sku for product in products])
    _shipments_at_the_simulator(actor.account_id, conn)
    for order in _orders_in(actor.account_id, rules.CONFIRMED)[:DEMO_REQUESTS]:
        shipping.request_shipment(actor, order.id)


def _shipments_at_the_simulator(account_id: int, conn) -> None:
    """The demo's shipments, whose statuses the demo sets, are made at the simulator too and brought to the same
    state there (started, shipped, refused, a withdrawal waiting), so that a withdrawal or a cancel of a demo order
    reaches a shipment the warehouse knows. The events this makes are before the sync's cursor: BOSS already
    shows what they say."""
    from .warehouse.shipping import request_of
    from .warehouse.simulator import functions as simulator
    from .warehouse.simulator.store import Store

    store = Store(get_redis(), DEMO_WAREHOUSE_KEY)
    shipments = list(db.session.scalars(select(Shipment).join(Shipment.order).where(
        Order.account_id == account_id, Shipment.warehouse_id.like("WS-D%")).order_by(Shipment.id)))
    made = simulator.create_many(store, [request_of(shipment).to_json() for shipment in shipments])
    steps = []
    for shipment, (_, public, _) in zip(shipments, made):
        if public is None:
            continue
        shipment.warehouse_id = public["id"]
        reference = {"client_reference": shipment.client_reference}
        if shipment.status in (rules.SHIPPING, rules.SHIPPED, rules.WITHDRAWAL_REQUESTED):
            steps.append({**reference, "type": "started"})
        if shipment.status == rules.SHIPPED:
            steps.append({**reference, "type": "shipped", "carrier": shipment.carrier,
                          "tracking_number": shipment.tracking_number, "shipped_on": shipment.shipped_on.isoformat()})
        if shipment.status == rules.NOT_SHIPPABLE:
            steps.append({**reference, "type": "refused", "reason_code": shipment.reason_code,
                          "reason": shipment.reason})
    simulator.advance_many(store, steps)
    for shipment in shipments:
        if shipment.status == rules.WITHDRAWAL_REQUESTED and not shipment.warehouse_id.startswith("WS-D"):
            simulator.withdrawal(store, shipment.warehouse_id)
    page = simulator.events(store, None, "500").body
    while page["events"]:
        conn.cursor = page["next_cursor"]
        page = simulator.events(store, conn.cursor, "500").body
    db.session.commit()


# The Rakuten order progress that matches each demo status, for the sandbox's copy of the order.
PROGRESS_OF = {rules.AWAITING_CONFIRMATION: 100, rules.CONFIRMED: 100, rules.AWAITING_SHIPMENT: 300,
               rules.SHIPPING_IN_PROGRESS: 300, rules.COMPLETED: 500, rules.CANCELLED: 900}
DEMO_LICENSE_KEY = "SL000000DEMO0001"


def _rms_person(order, prefix: str) -> dict:
    family, _, first = getattr(order, f"{prefix}_name").partition(" ")
    family_kana, _, first_kana = getattr(order, f"{prefix}_name_kana").partition(" ")
    phone = getattr(order, f"{prefix}_phone").split("-") + ["", "", ""]
    postal = getattr(order, f"{prefix}_postal_code").split("-") + [""]
    return {"familyName": family, "firstName": first, "familyNameKana": family_kana, "firstNameKana": first_kana,
            "phoneNumber1": phone[0], "phoneNumber2": phone[1], "phoneNumber3": phone[2],
            "zipCode1": postal[0], "zipCode2": postal[1], "prefecture": "東京都", "city": "見本区",
            "subAddress": getattr(order, f"{prefix}_address").removeprefix("東京都見本区")}


def connect_to_sandbox(actor: Actor, shop: Shop) -> None:
    """The demo Rakuten shop talks to the RMS sandbox for real: the sandbox holds a copy of each of its
    orders, plus new ones that the first import brings in; cancels are reflected there."""
    from .malls.rakuten.sandbox.fakes import complete_order, generate_orders
    from .malls.rakuten.sandbox.store import Store

    store = Store(get_redis(), DEMO_LICENSE_KEY)
    copies = []
    for order in db.session.scalars(select(Order).where(Order.shop_id == shop.id)):
        # The copy reads back as the order is (its first re-read finds nothing changed): its items, postage,
        # payment and remarks, and no charges, coupons or points on top.
        copies.append(complete_order(store, {
            "orderNumber": order.mall_order_number, "orderProgress": PROGRESS_OF[order.status],
            "orderDatetime": order.ordered_at.replace(tzinfo=timezone.utc).astimezone(JST).strftime("%Y-%m-%dT%H:%M:%S+0900"),
            "OrdererModel": {**_rms_person(order, "buyer"), "emailAddress": order.buyer_email},
            "SettlementModel": {"settlementMethod": order.payment_method}, "remarks": order.remarks,
            "postagePrice": order.postage or 0, "deliveryPrice": 0, "paymentCharge": 0, "couponAllTotalPrice": 0,
            "additionalFeeOccurAmountToUser": 0, "PointModel": {"usedPoint": 0},
            "PackageModelList": [{"basketId": order.id, "SenderModel": _rms_person(order, "recipient"), "ItemModelList": [
                {"manageNumber": line.mall_item_id, "itemName": line.name, "price": line.unit_price,
                 "priceTaxIncl": line.unit_price, "includeTaxFlag": 1, "selectedChoice": "", "units": line.quantity,
                 "SkuModelList": []} for line in order.lines]}],
        }))
    store.save(copies + generate_orders(store, 15, 100, days=2, mix="realistic"))
    shops.update_shop(actor, shop.id, {"rms": {"service_secret": "demo-service-secret",
                                                  "license_key": DEMO_LICENSE_KEY,
                                                  "license_key_expires_on": date.today() + timedelta(days=80)}})


def _item_id(shop: Shop, sku: str) -> str:
    return f"{'r' if shop.mall == 'rakuten' else 'y'}-{sku.lower()}"


def _orders_in(account_id: int, status: str):
    return list(db.session.scalars(select(Order).where(Order.account_id == account_id, Order.status == status,
                                                       Order.deleted_at.is_(None)).order_by(Order.id)))


@dataclass(frozen=True)
class Story:
    """When a demo order happened: seeding makes in a moment what took days, so the order's times and its history
    are those of the story, not of the seeding (else the cancel banner says 2 hours after the order and the
    history says the moment of seeding). Naive UTC, as stored; never later than the seeding."""

    ordered_at: datetime
    registered_at: datetime  # imported or registered (and auto-confirmed)
    changed_at: datetime  # moved to its demo status: cancelled, shipment requested, ...


def _date_history(order, story: Story) -> None:
    for event in db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id)):
        event.at = story.changed_at if event.kind == "status_set" else story.registered_at


def _demo_order(rng, actor, shop, products, prices, counter, story, status, shipment_status, unmapped):
    ordered_at = story.ordered_at
    family, family_kana = rng.choice(FAMILY)
    given, given_kana = rng.choice(GIVEN)
    buyer = {"name": f"{family} {given}", "name_kana": f"{family_kana} {given_kana}",
             "email": f"buyer{counter}@example.jp", "phone": f"0{rng.randint(3, 9)}0-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
             "postal_code": f"{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
             "address": f"東京都見本区見本町{rng.randint(1, 9)}-{rng.randint(1, 20)}-{rng.randint(1, 30)}"}
    chosen = rng.sample(products[:8], rng.randint(1, 3))
    if unmapped:  # some wait on one unmapped item, some on nothing but unmapped items (deletable)
        chosen = [rng.choice(products[8:])] + ([] if counter % 8 == 0 else chosen[:1])
    lines = [{"mall_item_id": _item_id(shop, p.sku), "sub_code": "", "name": p.name, "quantity": rng.randint(1, 3),
              "unit_price": prices[p.sku]} for p in chosen]
    date_part = ordered_at.strftime("%Y%m%d")
    number = (f"123456-{date_part}-{counter:010d}" if shop.mall == "rakuten" else f"yahoo-{counter:08d}")
    mall_linked = shop.mall == "rakuten"
    new = NewOrder(shop_id=shop.id, mall_order_number=number, buyer=buyer, lines=lines, ordered_at=ordered_at,
                   payment_method=rng.choice(PAYMENTS), postage=rng.choice([0, 0, 550, 880]),
                   # as the import makes a Rakuten order: RMS's SenderModel (the recipient) has no e-mail address
                   recipient={**buyer, "email": ""} if mall_linked else None)
    order = registration.build_order(shop, new, source="mall_import" if mall_linked else "manual", mall_linked=mall_linked)
    tags = [] if mall_linked else [frame.system_tag(shop.account_id, "not_mall_linked")]
    system = Actor.system(shop.account_id, (history.IMPORT_ACTOR if mall_linked else history.DEMO).ja)
    registration.finish_registration(order, system, "imported" if mall_linked else "registered", history.DEMO.ja, tags)
    if status != rules.AWAITING_CONFIRMATION:
        with counters.counted(order):
            order.status = status
            order.shipment_status = shipment_status
            if status == rules.CANCELLED:
                order.cancelled_at = story.changed_at
                order.cancelled_by = actor.name
                order.cancel_reason_code = rules.DEFAULT_CANCEL_REASON
                order.reflect_cancel_to_rms = False
            if shipment_status:  # as the warehouse left it: sent, with its id; shipped ones with carrier and tracking
                shipped = shipment_status == rules.SHIPPED
                order.shipments.append(Shipment(
                    status=shipment_status, requested_at=story.changed_at, updated_at=story.changed_at,
                    request_state="sent", sent_at=story.changed_at, warehouse_id=f"WS-D{counter:07d}",
                    last_seq={rules.SHIPPED: 2, rules.SHIPPING: 1, rules.WITHDRAWAL_REQUESTED: 1,
                              rules.NOT_SHIPPABLE: 1}.get(shipment_status, 0),
                    carrier=rng.choice(("yamato", "sagawa", "japanpost")) if shipped else None,
                    tracking_number=f"4{counter:011d}" if shipped else None,
                    shipped_on=story.changed_at.date() if shipped else None,
                    reason="住所不明のため出荷できません" if shipment_status == rules.NOT_SHIPPABLE else None,
                    reason_code="R02" if shipment_status == rules.NOT_SHIPPABLE else None,
                    status_before_withdrawal=rules.SHIPPING if shipment_status == rules.WITHDRAWAL_REQUESTED else None))
            if status == rules.AWAITING_SHIPMENT or shipment_status in (rules.SHIPPING, rules.WITHDRAWAL_REQUESTED):
                order.stock_reserved = True
                for line in order.lines:
                    line.product.reserved += line.quantity
        frame.record_event(order, actor, "status_set", history.DEMO_STATUS.ja, rules.AWAITING_CONFIRMATION, status)
        if order.stock_reserved:  # the ledger explains the reserved counts the demo sets
            db.session.flush()
            stock.write_movements([stock.movement_row(order.account_id, line.product_id, "reserve", 0, line.quantity,
                                                      actor, order.id, history.DEMO_STATUS.ja) for line in order.lines])
    _date_history(order, story)
    outbox.commit_and_dispatch()
