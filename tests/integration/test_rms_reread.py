"""Each import re-reads the shop's open mall-linked orders (rakuten-rms.md §Reading an order as RMS really
sends it): the holds only a read raises and clears, and changes made at Rakuten after import — taken with an
old → new history for 確認待・確認済, held with 「モール側変更あり」 for 出荷待ち, each once — over real HTTP
between our client and the sandbox."""
from __future__ import annotations

import copy

import pytest
from sqlalchemy import select, text

from boss.extensions import db
from boss.malls.rakuten import importer
from boss.models import Shop
from boss.orders import rules
from boss.orders.models import Order, OrderEvent
from boss.outbox import commit_and_dispatch
from tests.factories import set_state
from tests.integration.rms_orders import MUG, item, sender, whole_order, with_package
from tests.integration.test_rms_import_batch import shop  # noqa: F401  (the fixture: a shop on the sandbox, MUG mapped)

PLACEHOLDER_SENDER = sender(zipCode1="999", zipCode2="9999", prefecture="入力待ち", city="入力待ち",
                            subAddress="入力待ち", familyName="入力待ち", firstName="入力待ち",
                            familyNameKana="ニュウリョクマチ", firstNameKana="ニュウリョクマチ", phoneNumber1="999",
                            phoneNumber2="9999", phoneNumber3="9999")
HOLDS = ("mall_processing", "amount_unfixed", "recipient_pending")


def _import(shop_id: int) -> dict:
    commit_and_dispatch()
    row = db.session.get(Shop, shop_id)
    row.rms_connection.cursor = None
    commit_and_dispatch()
    return importer.import_shop(db.session.get(Shop, shop_id))


def _order(number: str) -> Order:
    db.session.expire_all()
    return db.session.scalars(select(Order).where(Order.mall_order_number == number)).one()


def _events(order: Order, *kinds: str) -> list[OrderEvent]:
    return list(db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id, OrderEvent.kind.in_(kinds))
                                   .order_by(OrderEvent.id)))


def _codes(order: Order) -> set[str]:
    return {tag.code for tag in order.tags if tag.code}


def _put(sandbox, number: str, model: dict) -> None:
    """Rakuten's order now reads as `model` (the sandbox keeps the given OrderModel whole)."""
    sandbox.add({**copy.deepcopy(model), "orderNumber": number})


def test_holds_raised_by_the_import_stay_until_a_later_read_clears_them_and_no_user_can_remove_them(
        app, shop, tenant, client):
    db.session.get(Shop, shop.id).auto_confirm = True
    held = whole_order(progress=200, requestPrice=-9999, socialGiftFlag=1)
    held = with_package(held, SenderModel=PLACEHOLDER_SENDER, SocialGiftModel={"inputFlag": 0})
    [number] = shop.sandbox.add(held)
    _import(shop.id)
    order = _order(number)
    assert set(HOLDS) <= _codes(order)
    assert order.status == rules.AWAITING_CONFIRMATION  # held: the shop's auto-confirm waits
    assert (order.recipient_name, order.recipient_address, order.recipient_postal_code) == ("", "", "")
    assert order.billed is None and order.postage is None

    # Staff cannot take them off (API and the rule alike).
    for tag in order.tags:
        if tag.code in HOLDS:
            refused = client.delete(f"/api/v1/orders/{order.id}/tags/{tag.id}", headers=tenant.headers())
            assert refused.status_code == 409 and tag.name in refused.json["error"]["message"], refused.json
    assert set(HOLDS) <= _codes(_order(number))

    # A read that shows the same keeps them, without a new event.
    events = len(_events(order, "tag_added", "tag_removed"))
    _import(shop.id)
    assert set(HOLDS) <= _codes(_order(number)) and len(_events(order, "tag_added", "tag_removed")) == events

    # Rakuten has finished: 300, amounts fixed, the gift's recipient entered an address.
    fixed = with_package(whole_order(progress=300, socialGiftFlag=1), SenderModel=sender(familyName="贈答", firstName="先"),
                         SocialGiftModel={"inputFlag": 1})
    _put(shop.sandbox, number, fixed)
    _import(shop.id)
    order = _order(number)
    assert not set(HOLDS) & _codes(order)
    assert order.recipient_name == "贈答 先" and order.recipient_postal_code == "100-0001"
    assert order.billed == fixed["requestPrice"] and order.postage == 550
    cleared = _events(order, "tag_removed")
    assert {e.message for e in cleared} == {"楽天RMSを読み直したところ解消していたため外しました。"} and len(cleared) == 3
    [change] = _events(order, "mall_change_applied")  # what the read brought, old → new
    assert f"請求額: 未確定 → {fixed['requestPrice']}" in change.message.splitlines()
    assert "送付先 氏名: なし → 贈答 先" in change.message.splitlines()
    assert order.status == rules.CONFIRMED  # nothing holds it now: the shop's auto-confirm, as at import


@pytest.mark.parametrize("progress", [200, 400])
def test_a_read_at_200_or_400_raises_rakuten_processing_and_one_at_100_or_300_clears_it(app, shop, progress):
    [number] = shop.sandbox.add(whole_order())
    _import(shop.id)
    assert "mall_processing" not in _codes(_order(number))
    shop.sandbox.control("progress", {"order_number": number, "order_progress": progress})
    _import(shop.id)
    order = _order(number)
    assert "mall_processing" in _codes(order)
    assert order.decide(rules.CONFIRM).code == "invalid_transition" and "楽天処理中" in order.decide(rules.CONFIRM).reason.ja
    shop.sandbox.control("progress", {"order_number": number, "order_progress": 100})
    _import(shop.id)
    assert "mall_processing" not in _codes(_order(number))


def test_a_change_at_rakuten_is_taken_once_with_an_old_to_new_history(app, shop, client, tenant):
    model = whole_order(items=[item(units=1)])
    [number] = shop.sandbox.add(model)
    _import(shop.id)
    before = _order(number)
    version, total = before.version, before.total

    changed = whole_order(items=[item(units=3)])
    changed = with_package(changed, SenderModel=sender(subAddress="新町9-9"))
    _put(shop.sandbox, number, {**changed, "modifyFlag": 1})
    _import(shop.id)
    order = _order(number)
    [event] = _events(order, "mall_change_applied")
    assert event.message.splitlines() == [
        "送付先 住所: 東京都見本区見本町1-2-3 サンプルハイツ101 → 東京都見本区新町9-9",
        "請求額: 2750 → 7150",
        f"明細 {MUG[0]}/{MUG[1]} 数量: 1 → 3",
    ]
    assert order.recipient_address == "東京都見本区新町9-9" and [line.quantity for line in order.lines] == [3]
    assert order.total == total + 2 * 2200 and order.billed == 7150 and order.version > version
    assert all(line.mapped for line in order.lines)

    # The API shows the change in the history as staff see it.
    events = client.get(f"/api/v1/orders/{order.id}/events", headers=tenant.headers()).json
    assert any(e["kind"] == "mall_change_applied" and "数量: 1 → 3" in e["message"] for e in events["items"])

    # The same read again: not taken twice. The order holds the read again: only its hash is kept apart.
    _import(shop.id)
    assert len(_events(_order(number), "mall_change_applied")) == 1
    assert _order(number).rms_read is None and _order(number).rms_read_hash is not None


def test_a_line_that_a_change_leaves_unmapped_sends_a_confirmed_order_back_to_awaiting_confirmation(app, shop):
    [number] = shop.sandbox.add(whole_order())
    _import(shop.id)
    order = _order(number)
    assert order.decide(rules.CONFIRM)
    set_state(app, order.id, rules.CONFIRMED)
    _put(shop.sandbox, number, whole_order(items=[item(), item("tea-004", "tea-004-100g", price=1080)]))
    _import(shop.id)
    order = _order(number)
    assert order.status == rules.AWAITING_CONFIRMATION and "unmapped_items" in _codes(order)
    [event] = _events(order, "mall_change_applied")
    assert (event.from_status, event.to_status) == (rules.CONFIRMED, rules.AWAITING_CONFIRMATION)
    assert "明細 tea-004/tea-004-100g: なし → 波佐見焼 マグカップ ×1" in event.message.splitlines()


def test_a_change_to_an_order_awaiting_shipment_is_held_once_with_mall_changed_and_the_order_unchanged(
        app, shop, client, tenant):
    [number] = shop.sandbox.add(whole_order())
    _import(shop.id)
    order = _order(number)
    set_state(app, order.id, rules.AWAITING_SHIPMENT, rules.REQUESTED)
    _put(shop.sandbox, number, with_package(whole_order(), SenderModel=sender(familyName="変更")))
    _import(shop.id)
    order = _order(number)
    assert order.recipient_name == "山田 花子"  # not changed: the warehouse has the request
    [event] = _events(order, "mall_change_held")
    assert event.message == "送付先 氏名: 山田 花子 → 変更 花子"
    assert "mall_changed" in _codes(order)
    assert order.decide(rules.CONFIRM).allowed is False
    assert order.rms_read["recipient"]["name"] == "変更 花子"  # the mall's version, kept apart from the order's

    # Not offered again; staff remove the tag after checking.
    _import(shop.id)
    assert len(_events(_order(number), "mall_change_held")) == 1
    tag = next(t for t in order.tags if t.code == "mall_changed")
    removed = client.delete(f"/api/v1/orders/{order.id}/tags/{tag.id}", headers=tenant.headers())
    assert removed.status_code == 200, removed.json
    _import(shop.id)
    assert "mall_changed" not in _codes(_order(number))


def _as_imported_before(order_id: int) -> None:
    """The order as the import made it before it read version 10 (what migration 0012 leaves)."""
    db.session.execute(text("UPDATE orders SET rms_read = NULL, rms_read_hash = NULL, charges = 0, discount = 0, "
                            "points_used = 0, wrapping = 0, billed = total WHERE id = :id"), {"id": order_id})
    db.session.execute(text("UPDATE order_lines SET options = '' WHERE order_id = :id"), {"id": order_id})
    db.session.commit()


def test_the_first_read_of_an_order_imported_before_fills_in_the_new_fields_quietly(app, shop):
    cod = whole_order(items=[item(selectedChoice="カラー:藍")], deliveryPrice=330, couponAllTotalPrice=100)
    cod["requestPrice"] = cod["totalPrice"] + 330 - 100
    [number] = shop.sandbox.add(cod)
    _import(shop.id)
    order = _order(number)
    _as_imported_before(order.id)
    events = len(_events(order, *_KINDS))
    _import(shop.id)
    order = _order(number)
    assert (order.charges, order.discount, order.billed) == (330, 100, cod["requestPrice"])
    assert order.lines[0].options == "カラー:藍" and order.rms_read_hash is not None
    assert len(_events(order, *_KINDS)) == events  # no history, no tag


def test_the_first_read_of_an_order_imported_before_lists_lines_that_differ_as_brought_up_to_date(app, shop):
    [number] = shop.sandbox.add(whole_order(items=[item(units=1)]))
    _import(shop.id)
    order = _order(number)
    _as_imported_before(order.id)
    _put(shop.sandbox, number, whole_order(items=[item(units=2)]))
    _import(shop.id)
    [event] = _events(_order(number), "mall_change_applied")
    assert event.message.splitlines() == ["取込内容を更新", f"明細 {MUG[0]}/{MUG[1]} 数量: 1 → 2"]
    assert [line.quantity for line in _order(number).lines] == [2]


_KINDS = ("mall_change_applied", "mall_change_held", "tag_added", "tag_removed")


def test_a_field_changed_here_after_keep_last_read_is_not_taken_back_by_the_next_read(app, shop):
    """The seam for order editing: an editor keeps the last read apart before changing a field, so the next
    read is compared with the mall's last version — the staff's value stays, the mall's own change is taken."""
    from boss.malls.rakuten import reread

    [number] = shop.sandbox.add(whole_order(items=[item(units=1)]))
    _import(shop.id)
    order = _order(number)
    reread.keep_last_read(order)
    order.remarks = "電話で受付: 玄関前に置いてください"
    db.session.commit()
    _put(shop.sandbox, number, whole_order(items=[item(units=2)]))
    _import(shop.id)
    order = _order(number)
    [event] = _events(order, "mall_change_applied")
    assert event.message.splitlines() == ["請求額: 2750 → 4950", f"明細 {MUG[0]}/{MUG[1]} 数量: 1 → 2"]
    assert order.remarks == "電話で受付: 玄関前に置いてください" and order.lines[0].quantity == 2


def test_a_field_staff_edited_is_held_when_rakuten_changes_it_too_while_the_others_are_taken(app, shop, client, tenant):
    """rakuten-rms.md "Changes after import": a field staff changed keeps its value; Rakuten's change of that same
    field is held with 「モール側変更あり」, its change of another field is taken."""
    [number] = shop.sandbox.add(whole_order(items=[item(units=1)]))
    _import(shop.id)
    order = _order(number)
    response = client.patch(f"/api/v1/orders/{order.id}", json={"recipient": {"phone": "090-1111-2222"}},
                            headers=tenant.headers())
    assert response.status_code == 200, response.json
    changed = with_package(whole_order(items=[item(units=2)]), SenderModel=sender(phoneNumber1="080"))
    _put(shop.sandbox, number, {**changed, "modifyFlag": 1})
    _import(shop.id)
    order = _order(number)
    assert order.recipient_phone == "090-1111-2222"  # staff's value stays
    assert order.lines[0].quantity == 2  # Rakuten's change of another field is taken
    assert "mall_changed" in _codes(order)
    [held] = _events(order, "mall_change_held")
    assert "送付先 電話番号" in held.message


def test_lines_staff_edited_are_held_when_rakuten_changes_them_too_while_its_other_changes_are_taken(
        app, shop, client, tenant):
    """Order editing's lines (issue 18) are fields staff changed: Rakuten's later change of the lines is held with
    「モール側変更あり」, its change of the remarks is taken; a later read that leaves the lines alone holds nothing."""
    [number] = shop.sandbox.add(whole_order(items=[item(units=1)]))
    _import(shop.id)
    order = _order(number)
    response = client.patch(f"/api/v1/orders/{order.id}", json={"lines": [
        {"id": order.lines[0].id, "quantity": 3},
        {"mall_item_id": "tea-001", "name": "煎茶", "quantity": 1, "unit_price": 1000}]}, headers=tenant.headers())
    assert response.status_code == 200, response.json
    assert response.json["total"] == 3 * 2200 + 1000 + 550
    _put(shop.sandbox, number, {**whole_order(items=[item(units=2)]), "remarks": "置き配希望", "modifyFlag": 1})
    _import(shop.id)
    order = _order(number)
    assert [(line.mall_item_id, line.quantity) for line in order.lines] == [(MUG[0], 3), ("tea-001", 1)]  # staff's
    assert order.remarks == "置き配希望"  # Rakuten's change of another field is taken
    assert order.total == 3 * 2200 + 1000 + 550
    assert "mall_changed" in _codes(order)
    [held] = _events(order, "mall_change_held")
    assert f"明細 {MUG[0]}/{MUG[1]} 数量: 1 → 2" in held.message.splitlines()
    [applied] = _events(order, "mall_change_applied")
    assert "備考: [配送日時指定:] / 指定なし → 置き配希望" in applied.message.splitlines()

    # A further read in which Rakuten's lines stay as they were holds nothing new and keeps staff's lines.
    _put(shop.sandbox, number, {**whole_order(items=[item(units=2)]), "remarks": "置き配希望（玄関前）", "modifyFlag": 1})
    _import(shop.id)
    order = _order(number)
    assert len(_events(order, "mall_change_held")) == 1
    assert [line.quantity for line in order.lines] == [3, 1] and order.remarks == "置き配希望（玄関前）"
