"""The warehouse under failure (warehouse.md §4): Redis stopped while shipping requests are made, two requests racing
for the last unit, an adjustment below what is reserved. Real HTTP to the simulator, real workers, both databases."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections import Counter

import pytest
import requests

from boss import create_app
from boss.embedded import worker_command
from tests.conftest import ROOT
from tests.factories import create_product, map_item
from tests.integration import test_warehouse_flow as flow


@pytest.fixture
def warehouse(app, client, tenant, live_server, monkeypatch):
    monkeypatch.setitem(app.config, "WAREHOUSE_SANDBOX_RATE_PER_SECOND", 1000)
    product = create_product(client, tenant, "SKU-1", stock=10)
    map_item(client, tenant, "item-1", "SKU-1")
    house = flow.Warehouse(app, client, tenant, live_server)
    house.connect()
    house.product_id = product["id"]
    return house


@pytest.fixture
def own_worker(app, database_url):
    """An rq worker (with its sweeper) on a Redis of the test's own, started when the test says."""
    started = []

    def start(redis_url: str):
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "test-secret",
               "BOSS_SANDBOX": "1", "BOSS_QUEUE": app.config["BOSS_QUEUE"], "PYTHONPATH": str(ROOT),
               "OUTBOX_SWEEP_SECONDS": "1", "OUTBOX_REDISPATCH_SECONDS": "3", "WORKER_HEARTBEAT_SECONDS": "1",
               "WAREHOUSE_MIN_INTERVAL": "0.01", "WAREHOUSE_RETRY_BACKOFF": "1,1,1,1",
               "WAREHOUSE_REDISPATCH_SECONDS": "4", "WAREHOUSE_TIMEOUT": "5"}
        command = worker_command(redis_url, app.config["BOSS_QUEUE"], heartbeat=env["WORKER_HEARTBEAT_SECONDS"])
        started.append(subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True))

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_requests_made_while_redis_is_down_are_recorded_and_sent_once_it_is_back_none_lost_none_doubled(
        app, warehouse, tenant, own_redis, own_worker, database_url):
    outage_app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url,
                             "REDIS_URL": own_redis.url, "BOSS_QUEUE": app.config["BOSS_QUEUE"],
                             "BOSS_SANDBOX": True})
    outage = outage_app.test_client()
    orders = [warehouse.confirmed_order(quantity=1) for _ in range(6)]

    own_redis.stop()
    for order in orders[:3]:
        response = outage.post(f"/api/v1/orders/{order['id']}/request-shipment", headers=tenant.headers())
        assert response.status_code == 200, response.json
        assert response.json["status"] == "awaiting_shipment"
        assert response.json["shipment"]["request_state"] == "pending"
    assert warehouse.sends() == []

    own_redis.start()
    for order in orders[3:]:
        response = outage.post(f"/api/v1/orders/{order['id']}/request-shipment", headers=tenant.headers())
        assert response.status_code == 200, response.json
    own_worker(own_redis.url)
    sent = [warehouse.wait_sent(order["id"]) for order in orders]

    assert {o["shipment"]["request_state"] for o in sent} == {"sent"}
    at_warehouse = Counter(s["client_reference"] for s in warehouse.shipments())
    assert at_warehouse == Counter(str(o["shipment"]["id"]) for o in sent)  # every one, each once
    assert all(len(warehouse.events_of(o["id"], "shipment_sent")) == 1 for o in sent)
    product = warehouse.product()
    assert (product.stock, product.reserved) == (10, 6)


def test_two_requests_for_the_last_unit_at_once_one_is_requested_the_other_refused_insufficient_stock(
        warehouse, tenant, live_server):
    first, second = warehouse.confirmed_order(quantity=1), warehouse.confirmed_order(quantity=1)
    third = warehouse.confirmed_order(quantity=9)
    assert warehouse.act(third["id"], "request-shipment")["status"] == "awaiting_shipment"  # 1 of 10 is left
    answers = {}
    barrier = threading.Barrier(2)

    def request(order_id: int) -> None:
        barrier.wait()
        answers[order_id] = requests.post(f"{live_server}/api/v1/orders/{order_id}/request-shipment",
                                          headers=tenant.headers(), timeout=30, allow_redirects=False)

    threads = [threading.Thread(target=request, args=(o["id"],)) for o in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(r.status_code for r in answers.values()) == [200, 409]
    refused = next(r for r in answers.values() if r.status_code == 409).json()
    assert refused["error"]["code"] == "insufficient_stock" and "SKU-1" in refused["error"]["message"]
    winner = next(order_id for order_id, r in answers.items() if r.status_code == 200)
    loser = next(order_id for order_id, r in answers.items() if r.status_code == 409)
    assert warehouse.order(winner)["status"] == "awaiting_shipment"
    assert warehouse.order(loser)["status"] == "confirmed" and warehouse.order(loser)["shipment"] is None
    product = warehouse.product()
    assert (product.stock, product.reserved) == (10, 10)


def test_an_adjustment_below_the_reserved_count_is_refused(warehouse, client, tenant):
    order = warehouse.confirmed_order(quantity=3)
    warehouse.act(order["id"], "request-shipment")
    path = f"/api/v1/products/{warehouse.product_id}/stock-adjustments"

    refused = client.post(path, json={"delta": -8, "reason": "棚卸差異"}, headers=tenant.headers())
    assert refused.status_code == 422, refused.json
    assert refused.json["error"]["code"] == "validation_error" and "delta" in refused.json["error"]["fields"]
    assert (warehouse.product().stock, warehouse.product().reserved) == (10, 3)

    allowed = client.post(path, json={"delta": -7, "reason": "棚卸差異"}, headers=tenant.headers())
    assert allowed.status_code == 201, allowed.json
    assert (allowed.json["stock"], allowed.json["reserved"]) == (3, 3)
