"""The RSL client over real HTTP against the simulator (/sandbox/warehouse served by `live_server`): each
function of the contract, its error kinds, and the pacer shared by every client of one API key."""
from __future__ import annotations

import time
from uuid import uuid4

import pytest
import requests

from boss.extensions import get_redis
from boss.warehouse.client import RslClient, pacer_for
from boss.warehouse.port import (CreateResult, Recipient, RequestLine, Sender, ShipmentRequest, WarehouseAuthError,
                                 WarehouseConflict, WarehouseError, WarehouseNotFound, WarehousePacingDelay,
                                 WarehouseTransientError)


@pytest.fixture
def sim(live_server):
    return f"{live_server}/sandbox/warehouse"


@pytest.fixture
def key():
    return f"it-{uuid4().hex[:12]}"


@pytest.fixture
def client(sim, key):
    with RslClient(sim, key, timeout=5) as made:
        yield made


def control(sim, path, **body):
    response = requests.post(f"{sim}/_control/{path}", json=body, timeout=5)
    assert response.status_code in (200, 201), response.text
    return response.json()


def calls(sim, key) -> list[dict]:
    return requests.get(f"{sim}/_control/calls", params={"api_key": key}, timeout=5).json()["items"]


def request_for(reference: str, postal_code: str = "1500001", sku: str = "SKU-1") -> ShipmentRequest:
    return ShipmentRequest(
        client_reference=reference, order_number=f"N-{reference}", shop_code="1",
        sender=Sender("テスト商店", "1000001", "東京都千代田区1-1", "03-0000-0000"),
        recipient=Recipient("山田 太郎", "ヤマダ タロウ", "090-0000-0000", postal_code, "東京都渋谷区1-2-3"),
        lines=(RequestLine(sku, 2, "色:赤"),))


def test_a_shipment_is_created_once_and_a_repeat_finds_the_same_one(client, sim, key):
    first, = client.create_shipments([request_for("101")])
    again, = client.create_shipments([request_for("101")])
    assert isinstance(first, CreateResult) and first.created and first.shipment.status == "received"
    assert not again.created and again.shipment.id == first.shipment.id
    assert [c["function"] for c in calls(sim, key)] == ["create", "create"]
    shipments = requests.get(f"{sim}/_control/shipments", params={"api_key": key}, timeout=5).json()["items"]
    assert len(shipments) == 1 and shipments[0]["order_number"] == "N-101"


def test_a_batch_answers_each_request_with_a_refused_one_carrying_its_errors(client, sim, key):
    results = client.create_shipments([request_for("201"), request_for("202", postal_code=""), request_for("203")])
    assert [(r.client_reference, r.created, r.refused) for r in results] == [
        ("201", True, False), ("202", False, True), ("203", True, False)]
    assert "E102" in [e.code for e in results[1].errors] and "E102" in results[1].message
    assert [c["function"] for c in calls(sim, key)] == ["batch"]


def test_a_batch_of_more_than_100_goes_in_batches_of_100(client, sim, key):
    results = client.create_shipments([request_for(str(1000 + n)) for n in range(150)])
    assert len(results) == 150 and all(r.created for r in results)
    batches = [c for c in calls(sim, key) if c["function"] == "batch"]
    assert [len(c["body"]["shipments"]) for c in batches] == [100, 50]


def test_an_unknown_sku_is_refused_once_the_item_master_is_set(client, sim, key):
    control(sim, "items", api_key=key, skus=["SKU-1"])
    result, = client.create_shipments([request_for("301", sku="NOPE")])
    assert result.refused and [e.code for e in result.errors] == ["E101"]


def test_get_reads_the_shipment_and_an_unknown_or_another_keys_id_is_not_found(client, sim, key):
    made, = client.create_shipments([request_for("401")])
    assert client.get_shipment(made.shipment.id).client_reference == "401"
    with pytest.raises(WarehouseNotFound):
        client.get_shipment("WS-does-not-exist")
    with RslClient(sim, key + "-other", timeout=5) as other, pytest.raises(WarehouseNotFound):
        other.get_shipment(made.shipment.id)
    with pytest.raises(WarehouseError):  # an id is one path segment: it never reaches another path
        client.get_shipment("../../_control/reset")
    assert client.get_shipment(made.shipment.id).id == made.shipment.id


def test_a_withdrawal_is_accepted_repeated_and_refused_once_shipped(client, sim, key):
    made, = client.create_shipments([request_for("501")])
    assert client.request_withdrawal(made.shipment.id).id == made.shipment.id
    assert client.request_withdrawal(made.shipment.id).id == made.shipment.id
    assert [c["http_status"] for c in calls(sim, key) if c["function"] == "withdrawal"] == [202, 200]
    shipped, = client.create_shipments([request_for("502")])
    control(sim, "advance", api_key=key, client_reference="502", type="shipped", carrier="yamato",
            tracking_number="1234-5678-9012", shipped_on="2026-11-02")
    with pytest.raises(WarehouseConflict) as refused:
        client.request_withdrawal(shipped.shipment.id)
    assert refused.value.codes == ["E201"] and refused.value.http_status == 409


def test_a_cancellation_is_accepted_and_its_outcome_comes_as_an_event(client, sim, key):
    made, = client.create_shipments([request_for("601")])
    client.request_cancellation(made.shipment.id, retrieve_parcel=False, reason="お客様都合")
    client.request_cancellation(made.shipment.id, retrieve_parcel=False, reason="お客様都合")
    sent = [c for c in calls(sim, key) if c["function"] == "cancellation"]
    assert [c["http_status"] for c in sent] == [202, 200]
    assert sent[0]["body"] == {"retrieve_parcel": False, "reason": "お客様都合"}
    control(sim, "advance", api_key=key, client_reference="601", type="cancellation_acknowledged")
    events = client.events(None).events
    assert [e.type for e in events] == ["cancellation_acknowledged"] and events[0].applicable


def test_events_are_paged_with_the_cursor_oldest_first(client, sim, key):
    client.create_shipments([request_for("701"), request_for("702")])
    control(sim, "advance", api_key=key, client_reference="701", type="started")
    control(sim, "advance", api_key=key, client_reference="702", type="refused", reason_code="R01",
            reason="欠品", lines=[{"sku": "SKU-1", "short": 2}])
    control(sim, "advance", api_key=key, client_reference="701", type="shipped", carrier="sagawa",
            tracking_number="S-1", shipped_on="2026-11-02",
            parcels=[{"carrier": "sagawa", "tracking_number": "S-1"}, {"carrier": "sagawa", "tracking_number": "S-2"}])
    empty_start = client.events(None, limit=1)
    first = empty_start.events
    second = client.events(empty_start.next_cursor, limit=2)
    assert [e.type for e in first + second.events] == ["started", "refused", "shipped"]
    refused, shipped = second.events
    assert refused.reason_code == "R01" and refused.lines[0].short == 2 and refused.client_reference == "702"
    assert shipped.seq == 2 and shipped.carrier == "sagawa" and [p.tracking_number for p in shipped.parcels] == [
        "S-1", "S-2"]
    nothing_new = client.events(second.next_cursor)
    assert nothing_new.events == [] and nothing_new.next_cursor == second.next_cursor


def test_a_request_without_a_key_or_with_a_revoked_one_is_an_auth_error(sim, key):
    with RslClient(sim, "", timeout=5) as keyless, pytest.raises(WarehouseAuthError) as refused:
        keyless.events(None)
    assert refused.value.http_status == 401
    control(sim, "faults", api_key=key, function="events", times=1, http_status=401)
    with RslClient(sim, key, timeout=5) as revoked, pytest.raises(WarehouseAuthError):
        revoked.events(None)


@pytest.mark.parametrize("status", [429, 503, 500])
def test_rate_limits_and_server_errors_are_transient(client, sim, key, status):
    control(sim, "faults", api_key=key, function="create", times=1, http_status=status)
    with pytest.raises(WarehouseTransientError) as failed:
        client.create_shipments([request_for("801")])
    assert failed.value.http_status == status and not failed.value.final
    if status == 429:
        assert failed.value.retry_after == 1.0
    assert client.create_shipments([request_for("801")])[0].created  # the fault was once


def test_a_timeout_is_transient(sim, key):
    control(sim, "faults", api_key=key, function="events", times=1, http_status=None, delay_ms=1500)
    with RslClient(sim, key, timeout=0.5) as impatient, pytest.raises(WarehouseTransientError):
        impatient.events(None)


def test_two_clients_of_one_key_share_the_pace(app, sim, key):
    with app.app_context():
        redis = get_redis()
        first = RslClient(sim, key, timeout=5, pacer=pacer_for(redis, key, 0.3))
        second = RslClient(sim, key, timeout=5, pacer=pacer_for(redis, key, 0.3), max_pace_wait=0)
        started = time.monotonic()
        first.events(None)
        with pytest.raises(WarehousePacingDelay) as delayed:  # the slot is taken: nothing sent
            second.events(None)
        assert 0 < delayed.value.retry_after <= 0.3
        first.events(None)  # waits for its slot
        assert time.monotonic() - started >= 0.3
        assert len(calls(sim, key)) == 2
        other = RslClient(sim, key + "-b", timeout=5, pacer=pacer_for(redis, key + "-b", 0.3), max_pace_wait=0)
        other.events(None)  # another key has its own pace
        for made in (first, second, other):
            made.close()
