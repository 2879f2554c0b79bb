"""The warehouse simulator (warehouse.md §2–3) over real HTTP: the contract a client speaks and the control API
tests and the demo drive it with."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from boss.extensions import redis_connection
from boss.warehouse.simulator.store import Store, configure
from tests.conftest import wait_for
from tests.integration.warehouse_simulator import WarehouseSimulator, shipment_request


@pytest.fixture
def fast(app):
    """A rate limit no test reaches unless it means to (the contract's 5/s is tested on its own)."""
    before = app.config["WAREHOUSE_SANDBOX_RATE_PER_SECOND"]
    app.config["WAREHOUSE_SANDBOX_RATE_PER_SECOND"] = 10_000
    yield
    app.config["WAREHOUSE_SANDBOX_RATE_PER_SECOND"] = before


@pytest.fixture
def sim(live_server, fast):
    return WarehouseSimulator(live_server)


@pytest.fixture
def other(live_server, fast):
    return WarehouseSimulator(live_server)


def error_of(response: requests.Response) -> tuple:
    errors = response.json()["errors"]
    return errors[0]["code"], errors[0]["field"]


# --------------------------------------------------------------------------------------------- auth, rate

def test_the_simulator_is_mounted_only_with_the_sandbox_on(tmp_path, redis_url):
    from boss import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
                      "REDIS_URL": redis_url, "BOSS_SANDBOX": False, "BOSS_DATA_DIR": str(tmp_path)})
    response = app.test_client().post("/sandbox/warehouse/v1/shipments", json=shipment_request("r1"),
                                      headers={"Authorization": "Bearer k"})
    assert response.status_code != 201
    assert not [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/sandbox/warehouse")]


def test_a_call_without_a_bearer_key_is_refused_with_401_and_the_contract_error_body(sim):
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}):
        response = requests.post(f"{sim.url}/v1/shipments", json=shipment_request("r1"), headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json()["errors"][0]["code"] == "E401"
        assert set(response.json()["errors"][0]) == {"code", "field", "message"}
    assert sim.shipments() == []


def test_over_the_rate_a_key_gets_429_and_another_key_does_not(app, live_server):
    before = app.config["WAREHOUSE_SANDBOX_RATE_PER_SECOND"]
    app.config["WAREHOUSE_SANDBOX_RATE_PER_SECOND"] = 1
    try:
        sim, other = WarehouseSimulator(live_server), WarehouseSimulator(live_server)
        # four calls span at most two seconds, so one second holds two of them: over 1 a second
        responses = [sim.post("shipments:batch", {"shipments": [shipment_request(f"r{n}")]}) for n in range(4)]
        statuses = [response.status_code for response in responses]
        assert 429 in statuses and 200 in statuses
        refused = responses[statuses.index(429)]
        assert refused.json()["errors"][0]["code"] == "E429" and refused.headers["Retry-After"] == "1"
        assert other.post("shipments", shipment_request("r1")).status_code == 201
        assert [call["http_status"] for call in sim.calls()] == statuses
    finally:
        app.config["WAREHOUSE_SANDBOX_RATE_PER_SECOND"] = before


def test_the_contract_rate_is_5_a_second_by_default(app):
    assert app.config["WAREHOUSE_SANDBOX_RATE_PER_SECOND"] == 5


# --------------------------------------------------------------------------------------------- create

def test_a_new_request_is_201_and_a_repeat_200_with_the_same_shipment(sim):
    first = sim.post("shipments", shipment_request("r1", lines=[{"sku": "A", "quantity": 3, "options": "色:赤"}]))
    assert first.status_code == 201
    shipment = first.json()["shipment"]
    assert shipment["id"].startswith("WS-")
    assert shipment["status"] == "received" and shipment["client_reference"] == "r1"
    assert shipment["order_number"] == "o-r1"
    assert shipment["lines"] == [{"sku": "A", "quantity": 3, "options": "色:赤"}]
    assert (shipment["carrier"], shipment["tracking_number"], shipment["shipped_on"], shipment["reason"]) == \
        (None, None, None, None)
    assert shipment["created_at"].endswith("+09:00")
    again = sim.post("shipments", shipment_request("r1"))
    assert again.status_code == 200 and again.json()["shipment"] == shipment
    assert sim.get(f"shipments/{shipment['id']}").json()["shipment"] == shipment
    assert [item["id"] for item in sim.shipments()] == [shipment["id"]]


def test_two_processes_sending_the_same_client_reference_at_once_make_one_shipment(sim):
    barrier = threading.Barrier(8)

    def send(_):
        barrier.wait()
        return sim.post("shipments", shipment_request("same"))

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(send, range(8)))
    assert sorted(response.status_code for response in responses) == [200] * 7 + [201]
    assert len({response.json()["shipment"]["id"] for response in responses}) == 1
    assert len(sim.shipments()) == 1


def test_a_batch_resent_after_a_worker_died_half_way_makes_no_second_shipment(sim):
    batch = [shipment_request(f"r{n}") for n in range(10)]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda part: sim.post("shipments:batch", {"shipments": part}),
                                [batch[:5], batch, batch[3:], batch]))
    assert all(answer.status_code == 200 for answer in answers)
    assert len(sim.shipments()) == 10
    ids = {result["client_reference"]: result["shipment"]["id"] for answer in answers
           for result in answer.json()["results"]}
    assert len(set(ids.values())) == 10
    statuses = [result["status"] for answer in answers for result in answer.json()["results"]]
    assert statuses.count(201) == 10


@pytest.mark.parametrize("changes, code, field", [
    ({"client_reference": None}, "E100", "client_reference"),
    ({"order_number": ""}, "E100", "order_number"),
    ({"lines": []}, "E100", "lines"),
    ({"recipient": None}, "E100", "recipient"),
    ({"lines": [{"quantity": 1}]}, "E100", "lines[0].sku"),
    ({"lines": [{"sku": "A"}]}, "E100", "lines[0].quantity"),
    ({"lines": [{"sku": "A", "quantity": 0}]}, "E103", "lines[0].quantity"),
    ({"lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": "2"}]}, "E103", "lines[1].quantity"),
    ({"lines": [{"sku": "A", "quantity": 1.5}]}, "E103", "lines[0].quantity"),
    ({"recipient": {"name": "山田", "postal_code": "150-001", "address": "東京都"}}, "E102", "recipient.postal_code"),
    ({"recipient": {"name": "山田", "postal_code": "1500001", "address": " "}}, "E102", "recipient.address"),
])
def test_a_request_the_contract_refuses_is_422_naming_the_code_and_field(sim, changes, code, field):
    response = sim.post("shipments", shipment_request("r1", **changes))
    assert response.status_code == 422
    assert (code, field) in [(error["code"], error["field"]) for error in response.json()["errors"]]
    assert sim.shipments() == []


def test_a_store_pickup_needs_no_address_of_the_recipient(sim):
    pickup = {"kind": "convenience_store", "store_code": "123", "store_name": "ローソン", "address": "東京都"}
    body = shipment_request("r1", recipient={"name": "山田"}, pickup=pickup)
    assert sim.post("shipments", body).status_code == 201
    assert sim.post("shipments", shipment_request("r2", recipient={"name": "山田"})).status_code == 422


def test_once_the_item_master_is_set_an_unknown_sku_is_e101(sim, other):
    assert sim.post("shipments", shipment_request("r0", lines=[{"sku": "ANY", "quantity": 1}])).status_code == 201
    sim.control("items", {"skus": ["A", "B"]})
    ok = sim.post("shipments", shipment_request("r1", lines=[{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1}]))
    assert ok.status_code == 201
    refused = sim.post("shipments", shipment_request("r2", lines=[{"sku": "A", "quantity": 1},
                                                                  {"sku": "X", "quantity": 1}]))
    assert refused.status_code == 422 and error_of(refused) == ("E101", "lines[1].sku")
    assert other.post("shipments", shipment_request("r2", lines=[{"sku": "X", "quantity": 1}])).status_code == 201
    sim.control("items", {"skus": None})
    assert sim.post("shipments", shipment_request("r3", lines=[{"sku": "X", "quantity": 1}])).status_code == 201


def test_a_batch_answers_each_request_in_the_order_sent(sim):
    sim.create("old")
    shipments = [shipment_request("new1"), shipment_request("bad", lines=[{"sku": "A", "quantity": -1}]),
                 shipment_request("old"), "not an object", shipment_request("new1")]
    response = sim.post("shipments:batch", {"shipments": shipments})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(result["client_reference"], result["status"]) for result in results] == [
        ("new1", 201), ("bad", 422), ("old", 200), (None, 422), ("new1", 200)]
    assert results[1]["errors"][0]["code"] == "E103" and "shipment" not in results[1]
    assert results[0]["shipment"]["id"] == results[4]["shipment"]["id"]
    assert len(sim.shipments()) == 2


def test_a_batch_over_100_or_without_a_list_is_refused_whole(sim):
    over = sim.post("shipments:batch", {"shipments": [shipment_request(f"r{n}") for n in range(101)]})
    assert over.status_code == 422 and error_of(over) == ("E100", "shipments")
    assert error_of(sim.post("shipments:batch", {"shipment": []})) == ("E100", "shipments")
    assert sim.shipments() == []
    full = sim.post("shipments:batch", {"shipments": [shipment_request(f"r{n}") for n in range(100)]})
    assert [result["status"] for result in full.json()["results"]] == [201] * 100


# --------------------------------------------------------------------------------------------- keys, get

def test_each_key_sees_only_its_own_shipments(sim, other):
    mine = sim.create("r1")
    theirs = other.create("r1")
    assert mine["id"] != theirs["id"]
    response = other.get(f"shipments/{mine['id']}")
    assert response.status_code == 404 and error_of(response) == ("E404", None)
    assert other.post(f"shipments/{mine['id']}/withdrawal").status_code == 404
    assert other.post(f"shipments/{mine['id']}/cancellation", {"retrieve_parcel": False, "reason": ""}).status_code \
        == 404
    assert [item["id"] for item in sim.shipments()] == [mine["id"]]
    assert other.control_raw("advance", {"shipment_id": mine["id"], "type": "started"}).status_code == 404
    assert sim.get("shipments/WS-99999999").status_code == 404


def test_reset_forgets_one_key_and_never_another(sim, other):
    sim.create("r1")
    other.create("r1")
    sim.advance("r1", "started")
    sim.control("items", {"skus": ["A"]})
    sim.control("reset", {})
    assert sim.shipments() == [] and sim.calls() == [] and sim.events()["events"] == []
    assert sim.post("shipments", shipment_request("r1", lines=[{"sku": "Z", "quantity": 1}])).status_code == 201
    assert len(other.shipments()) == 1
    response = requests.post(f"{sim.url}/_control/reset", json={}, timeout=10)
    assert response.status_code == 400


# --------------------------------------------------------------------------------------------- advance

def test_advance_moves_a_shipment_through_shipping(sim):
    shipment = sim.create("r1")
    started = sim.advance("r1", "started")
    assert (started["type"], started["seq"], started["shipment_id"], started["client_reference"]) == \
        ("started", 1, shipment["id"], "r1")
    assert started["id"].startswith("ev_") and started["at"].endswith("+09:00")
    assert sim.get(f"shipments/{shipment['id']}").json()["shipment"]["status"] == "in_progress"
    parcels = [{"carrier": "sagawa", "tracking_number": "111"}, {"carrier": "sagawa", "tracking_number": "222"}]
    shipped = sim.control("advance", {"order_number": "o-r1", "type": "shipped", "parcels": parcels,
                                      "shipped_on": "2026-11-27"})["event"]
    assert (shipped["seq"], shipped["carrier"], shipped["tracking_number"], shipped["shipped_on"]) == \
        (2, "sagawa", "111", "2026-11-27")
    assert shipped["parcels"] == parcels
    now = sim.get(f"shipments/{shipment['id']}").json()["shipment"]
    assert (now["status"], now["carrier"], now["tracking_number"], now["shipped_on"], now["parcels"]) == \
        ("shipped", "sagawa", "111", "2026-11-27", parcels)


def test_shipped_has_defaults_a_carrier_a_made_up_tracking_number_and_today(sim):
    shipment = sim.create("r1")
    shipped = sim.control("advance", {"shipment_id": shipment["id"], "type": "shipped"})["event"]
    assert shipped["carrier"] == "yamato" and shipped["tracking_number"].isdigit()
    from datetime import datetime

    from boss.timefmt import JST
    assert shipped["shipped_on"] == datetime.now(JST).date().isoformat()
    assert "parcels" not in shipped and "parcels" not in sim.get(f"shipments/{shipment['id']}").json()["shipment"]


def test_refused_keeps_its_reason_and_short_lines(sim):
    shipment = sim.create("r1")
    refused = sim.advance("r1", "refused", reason_code="R01", lines=[{"sku": "SKU-1", "short": 1}])
    assert (refused["reason_code"], refused["lines"]) == ("R01", [{"sku": "SKU-1", "short": 1}])
    assert refused["reason"]
    now = sim.get(f"shipments/{shipment['id']}").json()["shipment"]
    assert (now["status"], now["reason"]) == ("refused", refused["reason"])
    other_one = sim.create("r2")
    assert sim.advance("r2", "refused", reason_code="R02", reason="住所不明")["reason"] == "住所不明"
    assert sim.get(f"shipments/{other_one['id']}").json()["shipment"]["reason"] == "住所不明"


def test_by_order_number_advance_acts_on_the_newest_shipment_of_that_number(sim):
    sim.create("first", order_number="o-1")
    sim.advance("first", "refused")
    newest = sim.create("second", order_number="o-1")
    event = sim.control("advance", {"order_number": "o-1", "type": "started"})["event"]
    assert event["shipment_id"] == newest["id"]


@pytest.mark.parametrize("setup, kind, allowed", [
    ([], "started", True), (["started"], "started", False), (["shipped"], "started", False),
    ([], "shipped", True), (["started"], "shipped", True), (["shipped"], "shipped", False),
    (["refused"], "shipped", False), ([], "refused", True), (["started"], "refused", True),
    (["shipped"], "refused", False), (["withdrawal", "withdrawn"], "refused", False),
    ([], "withdrawn", False), (["withdrawal"], "withdrawn", True), (["started", "withdrawal"], "withdrawn", True),
    (["withdrawal", "withdrawn"], "withdrawn", False), ([], "withdrawal_refused", False),
    (["withdrawal"], "withdrawal_refused", True), (["withdrawal", "withdrawal_refused"], "withdrawal_refused", False),
    (["withdrawal", "shipped"], "withdrawn", False), (["withdrawal", "shipped"], "withdrawal_refused", True),
    ([], "cancellation_acknowledged", False), (["cancellation"], "cancellation_acknowledged", True),
    (["shipped", "cancellation"], "cancellation_acknowledged", True),
    (["refused", "cancellation"], "cancellation_refused", True), ([], "cancellation_refused", False),
    (["cancellation", "cancellation_refused"], "cancellation_refused", False),
    ([], "return_inspected", False), (["shipped"], "return_inspected", False),
    (["shipped", "cancellation", "cancellation_acknowledged"], "return_inspected", True),
    (["shipped", "cancellation_keep", "cancellation_acknowledged"], "return_inspected", False),
])
def test_advance_produces_an_event_only_from_the_states_of_the_table(sim, setup, kind, allowed):
    shipment = sim.create("r1")
    for step in setup:
        if step == "withdrawal":
            assert sim.post(f"shipments/{shipment['id']}/withdrawal").status_code == 202
        elif step.startswith("cancellation") and step in ("cancellation", "cancellation_keep"):
            body = {"retrieve_parcel": step == "cancellation", "reason": "お客様都合"}
            assert sim.post(f"shipments/{shipment['id']}/cancellation", body).status_code == 202
        else:
            sim.advance("r1", step)
    before = sim.get(f"shipments/{shipment['id']}").json()["shipment"]
    response = sim.control_raw("advance", {"client_reference": "r1", "type": kind})
    if allowed:
        assert response.status_code == 200, response.text
        assert response.json()["event"]["type"] == kind
        assert response.json()["event"]["seq"] == len([s for s in setup if s not in (
            "withdrawal", "cancellation", "cancellation_keep")]) + 1
    else:
        assert response.status_code == 409, response.text
        assert response.json()["errors"][0]["message"]
        assert sim.get(f"shipments/{shipment['id']}").json()["shipment"] == before


def test_the_answers_to_a_withdrawal_and_a_cancellation_change_the_status_as_the_contract_says(sim):
    ids = {ref: sim.create(ref)["id"] for ref in ("w", "wr", "c", "cs", "cr")}
    sim.post(f"shipments/{ids['w']}/withdrawal")
    sim.advance("w", "withdrawn")
    sim.advance("wr", "started")
    sim.post(f"shipments/{ids['wr']}/withdrawal")
    assert sim.advance("wr", "withdrawal_refused")["reason"]
    sim.post(f"shipments/{ids['c']}/cancellation", {"retrieve_parcel": False, "reason": "x"})
    sim.advance("c", "cancellation_acknowledged")
    sim.advance("cs", "shipped")
    sim.post(f"shipments/{ids['cs']}/cancellation", {"retrieve_parcel": True, "reason": "x"})
    sim.advance("cs", "cancellation_acknowledged")
    inspected = sim.advance("cs", "return_inspected", lines=[{"sku": "SKU-1", "returned": 2, "sellable": 1}])
    assert inspected["lines"] == [{"sku": "SKU-1", "returned": 2, "sellable": 1}]
    sim.post(f"shipments/{ids['cr']}/cancellation", {"retrieve_parcel": False, "reason": "x"})
    assert sim.advance("cr", "cancellation_refused")["reason"]
    statuses = {item["client_reference"]: item["status"] for item in sim.shipments()}
    assert statuses == {"w": "withdrawn", "wr": "in_progress", "c": "cancelled", "cs": "shipped", "cr": "received"}


def test_an_advance_with_bad_fields_or_an_unknown_shipment_is_refused(sim):
    sim.create("r1")
    assert sim.control_raw("advance", {"client_reference": "r1", "type": "exploded"}).status_code == 400
    assert sim.control_raw("advance", {"type": "started"}).status_code == 400
    assert sim.control_raw("advance", {"client_reference": "r1", "type": "shipped", "carrier": "ufo"}).status_code \
        == 400
    missing = sim.control_raw("advance", {"client_reference": "nope", "type": "started"})
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "E404"
    assert sim.control_raw("advance", {"order_number": "nope", "type": "started"}).status_code == 404
    assert sim.events()["events"] == []


def test_advance_many_produces_events_in_order_with_per_item_errors(sim):
    for n in range(3):
        sim.create(f"r{n}")
    items = [{"client_reference": "r0", "type": "started"}, {"client_reference": "r0", "type": "shipped"},
             {"client_reference": "r1", "type": "shipped"}, {"client_reference": "r1", "type": "started"},
             {"client_reference": "zz", "type": "started"}, {"client_reference": "r2", "type": "bad"}]
    answer = sim.control("advance-many", {"items": items})
    assert [event and (event["client_reference"], event["type"], event["seq"]) for event in answer["events"]] == [
        ("r0", "started", 1), ("r0", "shipped", 2), ("r1", "shipped", 1), None, None, None]
    assert [(error["index"], error["status"]) for error in answer["errors"]] == [(3, 409), (4, 404), (5, 400)]
    assert [event["id"] for event in sim.events()["events"]] == [event["id"] for event in answer["events"][:3]]


# --------------------------------------------------------------------------------------------- withdrawal, cancel

def test_a_withdrawal_is_202_then_200_and_409_once_shipped(sim):
    shipment = sim.create("r1")
    first = sim.post(f"shipments/{shipment['id']}/withdrawal")
    assert first.status_code == 202 and first.json()["shipment"]["status"] == "received"
    assert sim.post(f"shipments/{shipment['id']}/withdrawal").status_code == 200
    sim.advance("r1", "withdrawn")
    assert sim.post(f"shipments/{shipment['id']}/withdrawal").status_code == 200
    refused = sim.create("r2")
    sim.advance("r2", "refused")
    assert sim.post(f"shipments/{refused['id']}/withdrawal").status_code == 200
    shipped = sim.create("r3")
    sim.advance("r3", "shipped")
    response = sim.post(f"shipments/{shipped['id']}/withdrawal")
    assert response.status_code == 409 and error_of(response)[0] == "E201"
    assert sim.events()["events"][-1]["type"] == "shipped"


def test_a_cancellation_is_202_then_200_and_needs_its_body(sim):
    shipment = sim.create("r1")
    path = f"shipments/{shipment['id']}/cancellation"
    assert error_of(sim.post(path, {"reason": "x"})) == ("E100", "retrieve_parcel")
    assert error_of(sim.post(path, {"retrieve_parcel": True})) == ("E100", "reason")
    assert sim.post(path, {"retrieve_parcel": False, "reason": "お客様都合"}).status_code == 202
    assert sim.post(path, {"retrieve_parcel": False, "reason": "お客様都合"}).status_code == 200
    sim.advance("r1", "cancellation_acknowledged")
    assert sim.get(f"shipments/{shipment['id']}").json()["shipment"]["status"] == "cancelled"


# --------------------------------------------------------------------------------------------- events

def test_events_are_paged_oldest_first_with_an_opaque_cursor(sim):
    for n in range(5):
        sim.create(f"r{n}")
        sim.advance(f"r{n}", "started")
    first = sim.events(limit=2)
    assert [event["client_reference"] for event in first["events"]] == ["r0", "r1"]
    second = sim.events(first["next_cursor"], limit=2)
    third = sim.events(second["next_cursor"], limit=2)
    assert [event["client_reference"] for event in second["events"] + third["events"]] == ["r2", "r3", "r4"]
    nothing = sim.events(third["next_cursor"], limit=2)
    assert nothing == {"events": [], "next_cursor": third["next_cursor"]}
    sim.create("r5")
    sim.advance("r5", "started")
    assert [event["client_reference"] for event in sim.events(third["next_cursor"])["events"]] == ["r5"]
    assert len({event["id"] for event in sim.events(limit=500)["events"]}) == 6


def test_with_no_events_the_cursor_is_one_at_the_beginning(sim):
    empty = sim.events()
    assert empty["events"] == []
    sim.create("r1")
    sim.advance("r1", "started")
    assert [event["type"] for event in sim.events(empty["next_cursor"])["events"]] == ["started"]


@pytest.mark.parametrize("params, field", [
    ({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"limit": "ten"}, "limit"),
    ({"after": "garbage"}, "after"), ({"after": "e99"}, "after"),
])
def test_a_bad_limit_or_cursor_is_422_e100(sim, params, field):
    response = sim.get("events", **params)
    assert response.status_code == 422 and error_of(response) == ("E100", field)


def test_redeliver_serves_every_event_again_from_the_first(sim):
    for n in range(3):
        sim.create(f"r{n}")
        sim.advance(f"r{n}", "started")
    read = sim.events()
    assert sim.events(read["next_cursor"])["events"] == []
    sim.control("redeliver", {})
    again = sim.events(read["next_cursor"], limit=2)
    assert [event["id"] for event in again["events"]] == [event["id"] for event in read["events"][:2]]
    rest = sim.events(again["next_cursor"], limit=2)
    assert [event["id"] for event in rest["events"]] == [read["events"][2]["id"]]
    assert sim.events(rest["next_cursor"])["events"] == []


def test_out_of_order_delivery_serves_each_page_newest_first(sim):
    for n in range(4):
        sim.create(f"r{n}")
        sim.advance(f"r{n}", "started")
    sim.control("deliver-out-of-order", {"on": True})
    first = sim.events(limit=2)
    second = sim.events(first["next_cursor"], limit=2)
    assert [e["client_reference"] for e in first["events"] + second["events"]] == ["r1", "r0", "r3", "r2"]
    sim.control("deliver-out-of-order", {"on": False})
    assert [e["client_reference"] for e in sim.events(limit=2)["events"]] == ["r0", "r1"]


def test_seq_counts_each_shipments_events(sim):
    sim.create("a")
    sim.create("b")
    sim.advance("a", "started")
    sim.advance("b", "started")
    sim.advance("a", "shipped")
    assert [(event["client_reference"], event["seq"]) for event in sim.events()["events"]] == [
        ("a", 1), ("b", 1), ("a", 2)]


# --------------------------------------------------------------------------------------------- faults, calls

def test_a_fault_answers_its_status_for_the_next_calls_then_stops(sim):
    sim.control("faults", {"function": "create", "times": 2, "http_status": 503})
    assert sim.post("shipments", shipment_request("r1")).status_code == 503
    response = sim.post("shipments", shipment_request("r1"))
    assert response.status_code == 503 and response.json()["errors"][0]["code"] == "E503"
    assert sim.post("shipments", shipment_request("r1")).status_code == 201
    assert [(call["function"], call["http_status"]) for call in sim.calls()] == [
        ("create", 503), ("create", 503), ("create", 201)]


def test_a_fault_with_an_error_code_refuses_each_shipment_of_a_batch(sim):
    sim.control("faults", {"function": "batch", "times": 1, "http_status": None, "error_code": "E102"})
    response = sim.post("shipments:batch", {"shipments": [shipment_request("r1"), shipment_request("r2")]})
    assert response.status_code == 200
    assert [(r["status"], r["errors"][0]["code"]) for r in response.json()["results"]] == [(422, "E102")] * 2
    sim.control("faults", {"function": "create", "times": 1, "error_code": "E101"})
    assert error_of(sim.post("shipments", shipment_request("r1")))[0] == "E101"
    assert sim.shipments() == []


def test_a_fault_may_only_delay_and_times_0_disarms(sim):
    sim.control("faults", {"function": "events", "times": 1, "http_status": None, "delay_ms": 300})
    started = time.monotonic()
    assert sim.get("events").status_code == 200
    assert time.monotonic() - started >= 0.3
    shipment = sim.create("r1")
    sim.control("faults", {"function": "withdrawal", "times": 5, "http_status": 500})
    assert sim.post(f"shipments/{shipment['id']}/withdrawal").status_code == 500
    sim.control("faults", {"function": "withdrawal", "times": 0})
    assert sim.post(f"shipments/{shipment['id']}/withdrawal").status_code == 202
    sim.control("faults", {"function": "cancellation", "times": 1, "http_status": 429})
    assert sim.post(f"shipments/{shipment['id']}/cancellation", {"retrieve_parcel": False, "reason": ""}) \
        .status_code == 429
    assert sim.control_raw("faults", {"function": "get", "times": 1, "http_status": 500}).status_code == 400


def test_a_fault_is_one_keys_and_the_calls_log_says_what_came(sim, other):
    sim.control("faults", {"function": "create", "times": 1, "http_status": 500})
    assert other.post("shipments", shipment_request("r1")).status_code == 201
    assert sim.post("shipments", shipment_request("r1")).status_code == 500
    shipment = sim.create("r1")
    sim.get(f"shipments/{shipment['id']}")
    sim.get("events", limit=5)
    calls = sim.calls()
    assert [(c["function"], c["http_status"]) for c in calls] == [
        ("create", 500), ("create", 201), ("get", 200), ("events", 200)]
    assert calls[0]["body"]["client_reference"] == "r1" and calls[0]["path"] == "/sandbox/warehouse/v1/shipments"
    assert calls[3]["path"] == "/sandbox/warehouse/v1/events?limit=5" and calls[3]["at"].endswith("+09:00")


# --------------------------------------------------------------------------------------------- auto mode

def test_auto_mode_starts_and_ships_by_itself_when_due(sim):
    sim.control("mode", {"auto": True, "start_after_s": 0.2, "ship_after_s": 0.5})
    shipment = sim.create("r1")
    assert sim.events()["events"] == []

    def types():
        return [event["type"] for event in sim.events()["events"]]

    wait_for(lambda: types() == ["started", "shipped"], timeout=10, message="started and shipped")
    now = sim.get(f"shipments/{shipment['id']}").json()["shipment"]
    assert now["status"] == "shipped" and now["carrier"] == "yamato" and now["tracking_number"]
    started, shipped = sim.events()["events"]
    assert started["at"] <= shipped["at"] and (started["seq"], shipped["seq"]) == (1, 2)


def test_in_auto_mode_a_withdrawal_before_shipping_is_accepted_and_a_late_cancellation_refused_unless_it_retrieves(
        sim):
    sim.control("mode", {"auto": True, "start_after_s": 30, "ship_after_s": 60})
    early = sim.create("early")
    assert sim.post(f"shipments/{early['id']}/withdrawal").status_code == 202
    wait_for(lambda: [e["type"] for e in sim.events()["events"]] == ["withdrawn"], timeout=5, message="withdrawn")
    assert sim.get(f"shipments/{early['id']}").json()["shipment"]["status"] == "withdrawn"
    cancelled = sim.create("cancelled")
    sim.post(f"shipments/{cancelled['id']}/cancellation", {"retrieve_parcel": False, "reason": "x"})
    late = sim.create("late")
    sim.advance("late", "shipped")
    sim.post(f"shipments/{late['id']}/cancellation", {"retrieve_parcel": False, "reason": "x"})
    back = sim.create("back")
    sim.advance("back", "shipped")
    sim.post(f"shipments/{back['id']}/cancellation", {"retrieve_parcel": True, "reason": "x"})
    wait_for(lambda: len(sim.events()["events"]) == 6, timeout=5, message="the cancellations answered")
    answered = {e["client_reference"]: e["type"] for e in sim.events()["events"] if "cancellation" in e["type"]}
    assert answered == {"cancelled": "cancellation_acknowledged", "late": "cancellation_refused",
                        "back": "cancellation_acknowledged"}
    assert {item["client_reference"]: item["status"] for item in sim.shipments()} == {
        "early": "withdrawn", "cancelled": "cancelled", "late": "shipped", "back": "shipped"}


def test_in_auto_mode_a_parcel_pulled_back_is_inspected_later_with_one_unit_not_sellable(sim):
    sim.control("mode", {"auto": True, "start_after_s": 0.3, "ship_after_s": 0.3})
    shipment = sim.create("r1", lines=[{"sku": "SKU-1", "quantity": 3, "options": None},
                                       {"sku": "SKU-2", "quantity": 1, "options": None}])
    wait_for(lambda: sim.shipments()[0]["status"] == "shipped", timeout=10, message="shipped")
    asked = sim.post(f"shipments/{shipment['id']}/cancellation", {"retrieve_parcel": True, "reason": "x"})
    assert asked.status_code == 202

    def types():
        return [event["type"] for event in sim.events()["events"]]

    wait_for(lambda: types()[-1] == "return_inspected", timeout=10, message="the return inspected")
    assert types() == ["started", "shipped", "cancellation_acknowledged", "return_inspected"]
    acknowledged, inspected = sim.events()["events"][-2:]
    assert inspected["at"] >= acknowledged["at"] and inspected["seq"] == acknowledged["seq"] + 1
    assert inspected["lines"] == [{"sku": "SKU-1", "returned": 3, "sellable": 2},
                                  {"sku": "SKU-2", "returned": 1, "sellable": 1}]
    time.sleep(0.5)  # another inspection would be due by now: there is none
    assert types()[-1] == "return_inspected" and len(types()) == 4


def test_manual_mode_moves_nothing_by_itself(sim):
    sim.control("mode", {"auto": False, "start_after_s": 0, "ship_after_s": 0})
    sim.create("r1")
    time.sleep(0.1)  # the time auto mode would have needed: nothing may happen in manual mode
    assert sim.events()["events"] == [] and sim.shipments()[0]["status"] == "received"


def test_concurrent_fetches_never_produce_an_auto_event_twice(sim):
    sim.control("mode", {"auto": True, "start_after_s": 0.3, "ship_after_s": 0.6})
    for n in range(20):
        sim.create(f"r{n}")
    barrier = threading.Barrier(6)

    def fetch(_):
        barrier.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if len(sim.events(limit=500)["events"]) >= 40:
                return
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(fetch, range(6)))
    events = sim.events(limit=500)["events"]
    assert sorted((e["client_reference"], e["type"]) for e in events) == sorted(
        (f"r{n}", kind) for n in range(20) for kind in ("started", "shipped"))


def test_configure_sets_mode_and_item_master_before_the_app_serves(app, sim):
    redis = redis_connection(app.config["REDIS_URL"])
    configure(redis, sim.api_key, auto=True, start_after_s=0.1, ship_after_s=0.2, skus=["DEMO-1"])
    assert Store(redis, sim.api_key).conf()["auto"] is True
    assert error_of(sim.post("shipments", shipment_request("r1")))[0] == "E101"
    sim.create("r2", lines=[{"sku": "DEMO-1", "quantity": 1}])
    wait_for(lambda: len(sim.events()["events"]) == 2, timeout=10, message="auto events")


def test_control_calls_need_a_key_and_a_json_object(sim):
    assert requests.get(f"{sim.url}/_control/shipments", timeout=10).status_code == 400
    assert requests.post(f"{sim.url}/_control/mode", data="x", timeout=10).status_code == 400
    assert sim.control_raw("mode", {"auto": "yes"}).status_code == 400
    assert sim.control_raw("mode", {"auto": True, "start_after_s": -1}).status_code == 400
    assert sim.control_raw("deliver-out-of-order", {"on": 1}).status_code == 400
    assert sim.control_raw("items", {"skus": "A"}).status_code == 400
