"""POST /api/v1/orders/bulk with `action: request_shipment` (warehouse.md §5, api.md "bulk"): per order, requested or
refused and why (a short SKU named); each order its own unit of work; over BULK_JOB_THRESHOLD a job with progress
that a real worker carries out."""
from __future__ import annotations

from boss.extensions import db
from boss.models import Product
from tests.api.api_helpers import API, get_order
from tests.conftest import wait_for
from tests.factories import create_order

RECIPIENT = {"name": "佐藤 一郎", "postal_code": "150-0001", "address": "東京都渋谷区神宮前1-1-1", "phone": "0312345678"}


def confirmed(client, tenant, number, quantity=1) -> dict:
    order = create_order(client, tenant, number=number, recipient=RECIPIENT, lines=[
        {"mall_item_id": "item-1", "name": "煎茶", "quantity": quantity, "unit_price": 1200}])
    response = client.post(f"{API}/orders/{order['id']}/confirm", headers=tenant.headers())
    assert response.status_code == 200, response.json
    return response.json


def bulk(client, tenant, **body):
    return client.post(f"{API}/orders/bulk", json={"action": "request_shipment", **body}, headers=tenant.headers())


def reserved(app, tenant) -> tuple[int, int]:
    with app.app_context():
        product = db.session.query(Product).filter_by(account_id=tenant.account_id, sku="SKU-1").one()
        numbers = (product.stock, product.reserved)
        db.session.remove()
    return numbers


def test_bulk_request_reports_per_order_and_a_refused_order_never_undoes_another(app, client, tenant, house):
    first = confirmed(client, tenant, "BR-1", quantity=6)
    short = confirmed(client, tenant, "BR-SHORT", quantity=5)  # 4 left after BR-1: 1 short
    last = confirmed(client, tenant, "BR-3", quantity=4)
    waiting = create_order(client, tenant, number="BR-WAIT")

    response = bulk(client, tenant, order_ids=[first["id"], short["id"], last["id"], waiting["id"]])

    assert response.status_code == 200, response.json
    result = response.json["result"]
    assert (result["total"], result["done"], result["refused"]) == (4, 2, 2)
    items = {item["mall_order_number"]: item for item in result["items"]}
    assert items["BR-1"] == {"order_id": first["id"], "mall_order_number": "BR-1", "shop_id": tenant.shop_id,
                             "shop_name": "テスト商店の楽天店", "done": True, "code": None, "message": "出荷依頼しました"}
    assert items["BR-SHORT"]["code"] == "insufficient_stock" and "SKU-1: 1点不足" in items["BR-SHORT"]["message"]
    assert items["BR-3"]["done"] is True
    assert items["BR-WAIT"]["code"] == "invalid_transition" and "確認済の注文です" in items["BR-WAIT"]["message"]
    assert [get_order(client, tenant, o["id"])["status"] for o in (first, short, last, waiting)] == [
        "awaiting_shipment", "confirmed", "awaiting_shipment", "awaiting_confirmation"]
    assert reserved(app, tenant) == (10, 10)


def test_bulk_request_answers_in_english_when_asked(client, tenant, house):
    order = confirmed(client, tenant, "BR-EN", quantity=11)
    response = client.post(f"{API}/orders/bulk", json={"action": "request_shipment", "order_ids": [order["id"]]},
                           headers=tenant.headers(**{"Accept-Language": "en"}))
    [item] = response.json["result"]["items"]
    assert item["code"] == "insufficient_stock" and "SKU-1: 1 short" in item["message"]


def test_bulk_request_by_filter_requests_the_matching_orders(client, tenant, house):
    orders = [confirmed(client, tenant, f"BR-F{i}") for i in range(3)]
    create_order(client, tenant, number="BR-NOT-CONFIRMED")
    response = bulk(client, tenant, filter={"status": "confirmed"})
    assert response.status_code == 200, response.json
    assert response.json["result"]["done"] == 3 and response.json["result"]["total"] == 3
    assert {get_order(client, tenant, o["id"])["status"] for o in orders} == {"awaiting_shipment"}


def test_bulk_request_over_the_threshold_runs_as_a_job_with_progress_and_per_order_results(
        app, client, tenant, house, worker, monkeypatch):
    monkeypatch.setitem(app.config, "BULK_JOB_THRESHOLD", 3)
    orders = [confirmed(client, tenant, f"BR-J{i}", quantity=2) for i in range(6)]  # the sixth is 2 short

    response = bulk(client, tenant, order_ids=[o["id"] for o in orders])

    assert response.status_code == 202, response.json
    assert response.json["count"] == 6

    def finished():
        job = client.get(f"{API}/jobs/{response.json['job_id']}", headers=tenant.headers()).json
        return job if job["state"] in ("finished", "failed") else None

    job = wait_for(finished, timeout=60, message="the bulk job to finish")
    assert job["kind"] == "bulk_request_shipment" and job["state"] == "finished" and job["progress"] == 100
    assert (job["result"]["done"], job["result"]["refused"]) == (5, 1)
    [refused] = [item for item in job["result"]["items"] if not item["done"]]
    assert refused["mall_order_number"] == "BR-J5" and "SKU-1: 2点不足" in refused["message"]
    assert get_order(client, tenant, orders[0]["id"])["status"] == "awaiting_shipment"


def test_the_openapi_document_lists_request_shipment_as_a_bulk_action(client):
    document = client.get("/api/openapi.json").json
    body = document["paths"]["/api/v1/orders/bulk"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    action = body["properties"]["action"]
    assert "request_shipment" in action["description"] and "|request_shipment" in action["pattern"]
