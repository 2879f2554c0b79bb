"""Shipping info to Rakuten RMS end to end (issue 15 item 1, warehouse.md §4 `shipped`): a mall-linked order shipped
through the warehouse simulator reaches 完了, and its carrier, tracking number and ship date go to its basket by
updateOrderShipping through the shop's RMS lane — the real client over HTTP against the RMS sandbox and the
warehouse simulator, real Redis and real rq workers."""
from __future__ import annotations

import copy
import re

import pytest
import requests
from sqlalchemy import select

from boss.extensions import db
from boss.malls.rakuten import shipping_info
from boss.models import OutboxMessage
from tests.conftest import wait_for
from tests.factories import bulk_dialog, create_order, create_product, map_item
from tests.integration.test_rms_jobs import Rakuten, _imported
from tests.integration.test_warehouse_flow import Warehouse

BASKET = 987654321
SENDS = ("updateOrderShipping", "cancelOrder", "cancelOrderAfterShipping")
TEA = {"PackageModelList": [{
    "basketId": BASKET, "SenderModel": {"familyName": "送付", "firstName": "一", "zipCode1": "100", "zipCode2": "0001",
                                        "prefecture": "東京都", "city": "千代田区", "subAddress": "1-1",
                                        "phoneNumber1": "03", "phoneNumber2": "1234", "phoneNumber3": "5678"},
    "ItemModelList": [{"manageNumber": "tea-004", "itemName": "静岡茶", "price": 1080, "units": 1, "SkuModelList": []}]}]}


class Shop:
    """The tenant's Rakuten shop on the RMS sandbox and its account's warehouse on the simulator."""

    def __init__(self, app, client, tenant, base_url):
        self.rakuten = Rakuten(app, client, tenant, base_url)
        self.warehouse = Warehouse(app, client, tenant, base_url)
        self.app, self.client, self.tenant = app, client, tenant

    def open(self, *orders: dict, reflect_cancel: bool = True) -> list[dict]:
        """The given Rakuten orders imported (confirm_at_rms off: RMS keeps them at 100 until shipping info)."""
        numbers = self.rakuten.add(*orders)
        settings = self.client.patch(f"/api/v1/shops/{self.tenant.shop_id}", headers=self.tenant.headers("admin"),
                                     json={"confirm_at_rms": False})
        assert settings.status_code == 200
        self.rakuten.connect(reflect=reflect_cancel)
        assert self.rakuten.first_import()["result"]["created"] == len(numbers)
        return _imported(self.rakuten, numbers)

    def requested(self, order: dict) -> dict:
        """Confirmed and requested from the warehouse; its request sent."""
        self.warehouse.act(order["id"], "confirm")
        self.warehouse.act(order["id"], "request-shipment")
        return self.warehouse.wait_sent(order["id"])

    def ship(self, order: dict, **shipped) -> dict:
        """The warehouse ships it (`shipped` fields as given) and the sync applies it: 完了."""
        self.warehouse.advance(str(order["shipment"]["id"]), "shipped", **shipped)
        self.warehouse.sync()
        done = self.order(order["id"])
        assert (done["status"], done["shipment_status"]) == ("completed", "shipped")
        return done

    def order(self, order_id: int) -> dict:
        return self.warehouse.order(order_id)

    def reflected(self, order_id: int, timeout: float = 30) -> dict:
        return wait_for(lambda: (o := self.order(order_id))["shipping_reflection"]["state"] in ("done", "failed") and o,
                        timeout=timeout, message="the shipping info's reflection to end")

    def kinds(self, order_id: int) -> list[str]:
        response = self.client.get(f"/api/v1/orders/{order_id}/events", headers=self.tenant.headers())
        return [event["kind"] for event in response.json["items"]]

    def all_calls(self) -> list[dict]:
        return requests.get(f"{self.rakuten.rms_url}/_control/calls", params={"license_key": self.rakuten.license_key},
                            timeout=30).json()["items"]

    def updates(self) -> list[dict]:
        return self.rakuten.calls("updateOrderShipping")


@pytest.fixture
def shop(app, client, tenant, live_server, monkeypatch):
    monkeypatch.setitem(app.config, "RMS_SANDBOX_RATE_PER_SECOND", 1000)
    monkeypatch.setitem(app.config, "WAREHOUSE_SANDBOX_RATE_PER_SECOND", 1000)
    create_product(client, tenant, "SKU-TEA", stock=20)
    map_item(client, tenant, "tea-004", "SKU-TEA")
    shop = Shop(app, client, tenant, live_server)
    shop.warehouse.connect()
    return shop


def _words(html: str) -> str:
    """What a page says, without its tags and with its blanks as single spaces."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _tags(order: dict) -> list[str]:
    return [tag["code"] for tag in order["tags"]]


def test_a_completed_order_is_reflected_once_to_its_basket_with_the_carriers_code(shop, worker):
    worker()  # two workers
    order = shop.open(TEA)[0]
    assert order["shipping_reflection"] == {"state": "none", "message": None}
    completed = shop.ship(shop.requested(order), carrier="sagawa", tracking_number="4000-1111-2222",
                          shipped_on="2026-12-05")
    assert completed["shipping_reflection"]["state"] in ("pending", "done")
    done = shop.reflected(order["id"])
    assert done["shipping_reflection"] == {"state": "done", "message": None}
    [update] = shop.updates()
    assert update["http_status"] == 200 and update["message_code"].endswith("UPDATE_ORDERSHIPPING_INFO_101")
    assert update["body"] == {"orderNumber": order["mall_order_number"], "BasketidModelList": [{
        "basketId": BASKET, "ShippingModelList": [
            {"deliveryCompany": "1002", "shippingNumber": "4000-1111-2222", "shippingDate": "2026-12-05"}]}]}
    assert shop.rakuten.progress_of(order["mall_order_number"]) == 500  # 発送済 at Rakuten
    kinds = shop.kinds(order["id"])
    assert kinds.count("shipping_reflected") == 1 and kinds.index("shipped") < kinds.index("shipping_reflected")


def test_several_parcels_go_as_one_shipping_model_each_with_their_own_carrier(shop, worker):
    order = shop.open(TEA)[0]
    shop.ship(shop.requested(order), shipped_on="2026-12-06", parcels=[
        {"carrier": "yamato", "tracking_number": "1111-2222-3333"},
        {"carrier": "japanpost", "tracking_number": "JP-4444-5555"}])
    assert shop.reflected(order["id"])["shipping_reflection"]["state"] == "done"
    [update] = shop.updates()
    assert update["body"]["BasketidModelList"][0]["ShippingModelList"] == [
        {"deliveryCompany": "1001", "shippingNumber": "1111-2222-3333", "shippingDate": "2026-12-06"},
        {"deliveryCompany": "1003", "shippingNumber": "JP-4444-5555", "shippingDate": "2026-12-06"}]


def test_two_503s_are_retried_on_schedule_and_the_third_try_succeeds(shop, worker):
    order = shop.open(TEA)[0]
    shop.rakuten.control("faults", {"function": "updateOrderShipping", "order_number": order["mall_order_number"],
                                    "times": 2, "http_status": 503})
    shop.ship(shop.requested(order), carrier="yamato", tracking_number="1234-5678-9012")
    assert shop.reflected(order["id"])["shipping_reflection"]["state"] == "done"
    assert [call["http_status"] for call in shop.updates()] == [503, 503, 200]
    kinds = shop.kinds(order["id"])
    assert kinds.count("reflection_retry") == 2 and kinds.count("shipping_reflected") == 1
    assert "shipping_reflection_failed" not in kinds


def test_five_transient_failures_are_a_final_failure_raising_shipping_reflection_error_with_rmss_answer(
        shop, worker, staff_client):
    order = shop.open(TEA)[0]
    shop.rakuten.control("faults", {"function": "updateOrderShipping", "order_number": order["mall_order_number"],
                                    "times": 5, "http_status": 503})
    shop.ship(shop.requested(order), carrier="yamato", tracking_number="1234-5678-9012")
    failed = shop.reflected(order["id"])
    assert failed["shipping_reflection"]["state"] == "failed"
    assert "5回続けて応答しませんでした" in failed["shipping_reflection"]["message"]
    assert "HTTP 503" in failed["shipping_reflection"]["message"]
    assert [(tag["code"], tag["name"]) for tag in failed["tags"] if tag["system"]] == [
        ("shipping_reflection_error", "出荷情報反映エラー")]
    assert [call["http_status"] for call in shop.updates()] == [503] * 5, "5 tries in all, then no more"
    kinds = shop.kinds(order["id"])
    assert kinds.count("reflection_retry") == 4 and kinds.count("shipping_reflection_failed") == 1
    assert "shipping_reflected" not in kinds
    assert [o["id"] for o in shop.rakuten.orders(tag="shipping_reflection_error")] == [order["id"]]
    page = staff_client.get(f"/orders/{order['id']}").text
    assert "出荷情報反映エラー" in page and "RMS answered HTTP 503" in page and "出荷情報を再反映" in page


def test_a_final_error_raises_shipping_reflection_error_and_a_retry_clears_it(shop, worker):
    order = shop.open(TEA)[0]
    shop.rakuten.control("faults", {"function": "updateOrderShipping", "order_number": order["mall_order_number"],
                                    "times": 1, "message_code": "ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_105"})
    shop.ship(shop.requested(order), carrier="yamato", tracking_number="1234-5678-9012")
    failed = shop.reflected(order["id"])
    assert failed["shipping_reflection"]["state"] == "failed"
    assert "ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_105" in failed["shipping_reflection"]["message"]
    assert "shipping_reflection_error" in _tags(failed)
    assert failed["mall_reflection"]["state"] == "none"  # the cancel's / 注文確認's strand is untouched
    assert [o["id"] for o in shop.rakuten.orders(tag="shipping_reflection_error")] == [order["id"]]

    stale = shop.client.post(f"/api/v1/orders/{order['id']}/retry-shipping-reflection",
                             headers={**shop.tenant.headers(), "If-Match": str(failed["version"] - 1)})
    assert stale.status_code == 409 and stale.json["error"]["code"] == "conflict"
    retried = shop.client.post(f"/api/v1/orders/{order['id']}/retry-shipping-reflection",
                               headers={**shop.tenant.headers(), "If-Match": str(failed["version"])})
    assert retried.status_code == 200, retried.json
    assert retried.json["shipping_reflection"] == {"state": "pending", "message": None}
    done = shop.reflected(order["id"])
    assert done["shipping_reflection"] == {"state": "done", "message": None}
    assert "shipping_reflection_error" not in _tags(done)
    assert [call["message_code"].rsplit("_", 2)[-2:] for call in shop.updates()] == [["ERROR", "105"], ["INFO", "101"]]
    again = shop.client.post(f"/api/v1/orders/{order['id']}/retry-shipping-reflection", headers=shop.tenant.headers())
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_transition"


def test_a_bulk_retry_and_the_order_pages_button_send_failed_shipping_info_again(shop, worker, staff_client):
    first, second = shop.open(TEA, TEA)
    for order in (first, second):
        shop.rakuten.control("faults", {"function": "updateOrderShipping", "order_number": order["mall_order_number"],
                                        "times": 1, "message_code": "ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_105"})
        shop.ship(shop.requested(order))
        assert shop.reflected(order["id"])["shipping_reflection"]["state"] == "failed"
    bulk = shop.client.post("/api/v1/orders/bulk", headers=shop.tenant.headers(),
                            json={"action": "retry_shipping_reflection",
                                  "filter": {"tag": "shipping_reflection_error"}})
    assert bulk.status_code == 200, bulk.json
    assert bulk.json["result"]["done"] == 2 and bulk.json["result"]["refused"] == 0
    assert all(shop.reflected(o["id"])["shipping_reflection"]["state"] == "done" for o in (first, second))

    shop.rakuten.control("faults", {"function": "updateOrderShipping", "times": 1,
                                    "message_code": "ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_105"})
    third = shop.rakuten.add(TEA)[0]
    shop.rakuten.import_now()
    [order] = _imported(shop.rakuten, [third])
    shop.ship(shop.requested(order))
    failed = shop.reflected(order["id"])
    page = staff_client.get(f"/orders/{order['id']}").text
    assert "出荷情報を再反映" in page and "ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_105" in page
    posted = staff_client.post(f"/orders/{order['id']}/retry-shipping-reflection",
                               data={"csrf_token": staff_client.csrf, "version": failed["version"]})
    assert posted.status_code == 303
    assert shop.reflected(order["id"])["shipping_reflection"]["state"] == "done"


def test_the_lists_bulk_shipping_reflection_retry_answers_each_order_and_sends_the_failed_ones_again(
        shop, worker, staff_client):
    first, second, fine = shop.open(TEA, TEA, TEA)
    for order in (first, second):
        shop.rakuten.control("faults", {"function": "updateOrderShipping", "order_number": order["mall_order_number"],
                                        "times": 1, "message_code": "ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_105"})
    for order in (first, second, fine):
        shop.ship(shop.requested(order))
    assert [shop.reflected(o["id"])["shipping_reflection"]["state"] for o in (first, second, fine)] == [
        "failed", "failed", "done"]

    listed = staff_client.get("/orders?tag=shipping_reflection_error").text
    assert first["mall_order_number"] in listed and second["mall_order_number"] in listed
    assert fine["mall_order_number"] not in listed and "件の出荷情報を再反映" in listed
    dialog, chosen = bulk_dialog(staff_client, "/orders/bulk/confirm", {
        "action": "retry_shipping_reflection", "order_ids": [first["id"], second["id"], fine["id"]]})
    text = _words(dialog.text)
    assert "出荷情報の一括再反映" in text and "3 件の注文 の出荷情報を楽天RMSへ再反映します。" in text
    assert "RMSに既にその追跡番号がある注文には何も送りません。" in text and "再反映する" in text
    result = staff_client.post("/orders/bulk", data={"csrf_token": staff_client.csrf, "selection": chosen,
                                                     "action": "retry_shipping_reflection"},
                               headers={"HX-Request": "true"})
    assert result.status_code == 200
    rows = {number: _words(row) for number, row in re.findall(
        r'<tr class="(?:ok|refused)"><td>([^<]+)</td>(.*?)</tr>', result.text, re.S)}
    assert "完了 2 件 · できなかった注文 1 件" in _words(result.text)
    assert "完了" in rows[first["mall_order_number"]] and "完了" in rows[second["mall_order_number"]]
    assert "できませんでした" in rows[fine["mall_order_number"]]
    assert "出荷情報の反映に失敗した注文のみ再反映できます。" in rows[fine["mall_order_number"]]
    for order in (first, second):
        done = shop.reflected(order["id"])
        assert done["shipping_reflection"] == {"state": "done", "message": None}
        assert "shipping_reflection_error" not in _tags(done)
    assert sorted(call["body"]["orderNumber"] for call in shop.updates() if call["http_status"] == 200
                  and call["message_code"].endswith("INFO_101")) == sorted(
        o["mall_order_number"] for o in (first, second, fine))
    assert shop.kinds(fine["id"]).count("shipping_reflected") == 1


def test_shipping_info_already_at_rms_is_done_without_an_update(shop, worker):
    at_rms = copy.deepcopy(TEA)
    at_rms["PackageModelList"][0]["ShippingModelList"] = [
        {"shippingDetailId": 1, "deliveryCompany": "1001", "shippingNumber": "5555-6666-7777",
         "shippingDate": "2026-12-01"}]
    order = shop.open(at_rms)[0]
    shop.ship(shop.requested(order), carrier="yamato", tracking_number="5555-6666-7777")
    done = shop.reflected(order["id"])
    assert done["shipping_reflection"] == {"state": "done", "message": None}
    assert shop.updates() == []
    assert shop.kinds(order["id"]).count("shipping_reflected") == 1


def test_an_order_cancelled_at_rakuten_is_a_final_failure_saying_so(shop, worker):
    order = shop.open(TEA)[0]
    requested = shop.requested(order)
    shop.rakuten.control("progress", {"order_number": order["mall_order_number"], "order_progress": 900})
    shop.ship(requested)
    failed = shop.reflected(order["id"])
    assert failed["shipping_reflection"]["state"] == "failed"
    assert "キャンセル" in failed["shipping_reflection"]["message"] and "900" in failed["shipping_reflection"]["message"]
    assert "shipping_reflection_error" in _tags(failed)
    assert shop.updates() == []


def test_a_manual_order_is_never_reflected_and_its_page_says_so(shop, worker, app, staff_client):
    manual = create_order(shop.client, shop.tenant, lines=[
        {"mall_item_id": "tea-004", "name": "静岡茶", "quantity": 1, "unit_price": 1080}],
        recipient={"name": "佐藤 一郎", "postal_code": "150-0001", "address": "東京都渋谷区神宮前1-1-1", "phone": "0312345678"})
    linked = shop.open(TEA)[0]
    manual, linked = shop.requested(manual), shop.requested(linked)
    shop.warehouse.advance(str(manual["shipment"]["id"]), "shipped", tracking_number="9999-0000-1111")
    shop.ship(linked)  # one sync applies both
    assert shop.reflected(linked["id"])["shipping_reflection"]["state"] == "done"
    done = shop.order(manual["id"])
    assert done["status"] == "completed" and not done["mall_linked"] and "not_mall_linked" in _tags(done)
    assert done["shipping_reflection"] == {"state": "none", "message": None}
    with app.app_context():
        messages = db.session.scalars(select(OutboxMessage.payload)
                                      .where(OutboxMessage.kind == shipping_info.KIND)).all()
        db.session.remove()
    assert [payload["order_id"] for payload in messages] == [linked["id"]]
    assert [call["body"]["orderNumber"] for call in shop.updates()] == [linked["mall_order_number"]]
    assert "モール出荷連携なし: 手動・CSVで登録した注文の出荷情報（追跡番号）は楽天RMSへ反映しません。" in \
        staff_client.get(f"/orders/{manual['id']}").text


def test_a_cancel_of_the_order_waits_for_its_pending_shipping_reflection(shop, worker):
    order = shop.open(TEA)[0]
    shop.rakuten.control("faults", {"function": "updateOrderShipping", "order_number": order["mall_order_number"],
                                    "times": 2, "http_status": 503})
    shop.ship(shop.requested(order), carrier="yamato", tracking_number="2222-3333-4444")
    cancelled = shop.rakuten.cancel(order["id"])  # while the shipping info waits for its retries
    assert cancelled["shipping_reflection"]["state"] == "pending" and cancelled["mall_reflection"]["state"] == "pending"
    assert shop.reflected(order["id"])["shipping_reflection"]["state"] == "done"
    ended = shop.rakuten.reflected(order["id"])
    assert ended["mall_reflection"] == {"state": "done", "message": None}
    calls = [call for call in shop.all_calls() if call["function"] in SENDS]  # in the order received
    assert [(call["function"], call["http_status"]) for call in calls] == [
        ("updateOrderShipping", 503), ("updateOrderShipping", 503), ("updateOrderShipping", 200),
        ("cancelOrderAfterShipping", 200)]
    assert shop.rakuten.progress_of(order["mall_order_number"]) == 800
