"""Reading the warehouse's answers (warehouse/answers.py): every error shape gives its kind, and a hostile
answer — not JSON, wrong types, missing keys, huge values — gives an error kind or a skipped event, never a crash."""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from boss.integrations.errors import AuthError, ProtocolBroken, RequestRefused, TransientError
from boss.warehouse import answers
from boss.warehouse.port import (Pickup, Recipient, RequestLine, Sender, ShipmentRequest, WarehouseAuthError,
                                 WarehouseConflict, WarehouseNotFound, WarehouseProtocolError, WarehouseRequestRefused,
                                 WarehouseTransientError)

SHIPMENT = {"id": "WS-1", "client_reference": "42", "order_number": "N-1", "status": "received", "lines": [],
            "carrier": None, "tracking_number": None, "shipped_on": None, "reason": None,
            "created_at": "2026-11-01T10:00:00+09:00"}


def _bytes(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _event(**fields) -> dict:
    return {"id": "ev_1", "shipment_id": "WS-1", "client_reference": "42", "seq": 1,
            "at": "2026-11-01T10:00:00+09:00", "type": "started", **fields}


ERROR_BODY = {"errors": [{"code": "E102", "field": "recipient.postal_code", "message": "配送できません"}]}


@pytest.mark.parametrize("status,kind", [
    (401, WarehouseAuthError), (403, WarehouseAuthError), (404, WarehouseNotFound), (409, WarehouseConflict),
    (422, WarehouseRequestRefused), (400, WarehouseRequestRefused), (429, WarehouseTransientError),
    (500, WarehouseTransientError), (503, WarehouseTransientError), (302, WarehouseProtocolError),
    (204, WarehouseProtocolError),
])
def test_each_http_status_outside_the_expected_ones_raises_its_error_kind(status, kind):
    with pytest.raises(kind) as raised:
        answers.read_answer("get", status, _bytes(ERROR_BODY), ok=(200,))
    assert raised.value.http_status == status
    assert raised.value.function == "get"


def test_the_error_kinds_are_the_integrations_kinds_so_jobs_decide_without_knowing_the_warehouse():
    assert issubclass(WarehouseTransientError, TransientError)
    assert issubclass(WarehouseAuthError, AuthError)
    assert issubclass(WarehouseConflict, WarehouseRequestRefused) and issubclass(WarehouseConflict, RequestRefused)
    assert issubclass(WarehouseProtocolError, ProtocolBroken)
    assert WarehouseTransientError("x").final is False and WarehouseRequestRefused("x").final is True


def test_a_refusal_carries_the_warehouses_codes_and_its_message_joins_them():
    body = {"errors": [{"code": "E101", "field": "lines[0].sku", "message": "商品コードが未登録です"},
                       {"code": "E103", "field": None, "message": "数量が不正です"}]}
    with pytest.raises(WarehouseRequestRefused) as raised:
        answers.read_answer("create", 422, _bytes(body), ok=(200, 201))
    assert raised.value.codes == ["E101", "E103"]
    assert raised.value.message == "E101 商品コードが未登録です（lines[0].sku） / E103 数量が不正です"


def test_a_409_is_a_conflict_with_its_code_e201():
    body = {"errors": [{"code": "E201", "field": None, "message": "出荷済みです"}]}
    with pytest.raises(WarehouseConflict) as raised:
        answers.read_answer("withdrawal", 409, _bytes(body), ok=(200, 202))
    assert raised.value.codes == ["E201"]


@pytest.mark.parametrize("header,seconds", [("2", 2.0), ("0.5", 0.5), ("-3", 0.0), ("1e400", 3600.0),
                                            ("inf", 3600.0), ("nan", None), ("Wed, 21 Oct 2026 07:28:00 GMT", None),
                                            (None, None), ("", None)])
def test_a_429_is_transient_with_the_retry_after_it_gave_bounded(header, seconds):
    with pytest.raises(WarehouseTransientError) as raised:
        answers.read_answer("events", 429, b"", ok=(200,), retry_after=header)
    assert raised.value.retry_after == seconds


@pytest.mark.parametrize("body", [b"", b"<html>Bad gateway</html>", b"\xff\xfe\x00", b"[" * 100_000,
                                  b'{"errors": "nope"}', b'{"errors": [1, null, {"code": 5}]}', b"1" * 5000])
def test_an_error_answer_whose_body_is_not_the_contract_still_gives_its_kind(body):
    with pytest.raises(WarehouseAuthError):
        answers.read_answer("get", 401, body, ok=(200,))
    with pytest.raises(WarehouseRequestRefused) as refused:
        answers.read_answer("get", 422, body, ok=(200,))
    assert refused.value.codes == []


@pytest.mark.parametrize("body", [b"", b"<html>ok</html>", b"\xff\xfe", b"[" * 100_000, b"1" * 5000, b"NaN x"])
def test_a_success_that_is_not_json_is_a_protocol_error(body):
    with pytest.raises(WarehouseProtocolError):
        answers.read_answer("get", 200, body, ok=(200,))


@pytest.mark.parametrize("payload", [None, [], "x", {}, {"shipment": None}, {"shipment": []},
                                     {"shipment": {**SHIPMENT, "id": None}}, {"shipment": {**SHIPMENT, "id": 7}},
                                     {"shipment": {**SHIPMENT, "id": "W" * 10_000}},
                                     {"shipment": {**SHIPMENT, "status": ["shipped"]}},
                                     {"shipment": {k: v for k, v in SHIPMENT.items() if k != "client_reference"}}])
def test_a_shipment_answer_without_a_usable_identity_is_a_protocol_error(payload):
    with pytest.raises(WarehouseProtocolError):
        answers.read_shipment_answer(payload, "get")


def test_a_shipment_is_read_leniently_where_harmless():
    shipment = answers.read_shipment_answer({"shipment": {
        **SHIPMENT, "status": "shipped", "carrier": "fukuyama", "tracking_number": "1234", "shipped_on": "2026-11-02",
        "reason": "r" * 50_000, "created_at": "yesterday", "parcels": "many"}}, "get")
    assert shipment.id == "WS-1" and shipment.status == "shipped"
    assert shipment.carrier == "other"  # a carrier api.md does not know
    assert shipment.shipped_on == date(2026, 11, 2)
    assert len(shipment.reason) == answers.MAX_TEXT
    assert shipment.created_at is None and shipment.parcels == ()


def test_created_at_in_japan_time_is_kept_as_naive_utc():
    shipment = answers.read_shipment(SHIPMENT)
    assert shipment.created_at == datetime(2026, 11, 1, 1, 0, 0)


def test_a_single_create_answers_created_found_again_or_refused():
    made = answers.read_created(201, {"shipment": SHIPMENT}, "42")
    again = answers.read_created(200, {"shipment": SHIPMENT}, "42")
    refused = answers.read_created(422, ERROR_BODY, "42")
    assert made.created and made.shipment.id == "WS-1" and not made.refused
    assert not again.created and again.shipment.id == "WS-1"
    assert refused.refused and refused.errors[0].code == "E102" and "配送できません" in refused.message


def test_a_create_answered_for_another_reference_is_a_protocol_error():
    with pytest.raises(WarehouseProtocolError):
        answers.read_created(201, {"shipment": SHIPMENT}, "43")


def test_a_batch_answers_one_result_per_shipment_in_the_order_sent():
    payload = {"results": [{"client_reference": "42", "status": 201, "shipment": SHIPMENT},
                           {"client_reference": "43", "status": 422, **ERROR_BODY},
                           {"client_reference": "44", "status": 200,
                            "shipment": {**SHIPMENT, "id": "WS-3", "client_reference": "44"}}]}
    results = answers.read_batch(payload, ["42", "43", "44"])
    assert [(r.client_reference, r.created, r.refused) for r in results] == [
        ("42", True, False), ("43", False, True), ("44", False, False)]
    assert results[1].errors[0].field == "recipient.postal_code"


@pytest.mark.parametrize("payload", [
    None, {}, {"results": {}}, {"results": []},
    {"results": [{"client_reference": "42", "status": 201, "shipment": SHIPMENT}]},  # one missing
    {"results": [{"client_reference": "43", "status": 201, "shipment": SHIPMENT}, {}]},  # another order
    {"results": [{"client_reference": "42", "status": True, "shipment": SHIPMENT}, {}]},
    {"results": [{"client_reference": "42", "status": 500}, {}]},
    {"results": [{"client_reference": "42", "status": 422}, {}]},  # a refusal that says nothing
    {"results": ["42", "43"]},
])
def test_a_batch_answer_that_is_not_the_contract_is_a_protocol_error(payload):
    with pytest.raises(WarehouseProtocolError):
        answers.read_batch(payload, ["42", "43"])


def test_events_of_each_type_are_read_with_their_fields():
    page = answers.read_event_page({"next_cursor": "c2", "events": [
        _event(),
        _event(id="ev_2", seq=2, type="shipped", carrier="yamato", tracking_number="1111", shipped_on="2026-11-02",
               parcels=[{"carrier": "yamato", "tracking_number": "1111"},
                        {"carrier": "yamato", "tracking_number": "2222"}]),
        _event(id="ev_3", type="refused", reason_code="R01", reason="欠品", lines=[{"sku": "A", "short": 2}]),
        _event(id="ev_4", type="withdrawal_refused", reason="作業中"),
        _event(id="ev_5", type="return_inspected", lines=[{"sku": "A", "returned": 2, "sellable": 1}]),
    ]})
    started, shipped, refused, too_late, inspected = page.events
    assert page.next_cursor == "c2"
    assert all(event.applicable for event in page.events)
    assert started.at == datetime(2026, 11, 1, 1, 0)
    assert (shipped.carrier, shipped.tracking_number, shipped.shipped_on) == ("yamato", "1111", date(2026, 11, 2))
    assert [p.tracking_number for p in shipped.parcels] == ["1111", "2222"]
    assert (refused.reason_code, refused.reason, refused.lines[0].short) == ("R01", "欠品", 2)
    assert too_late.reason == "作業中"
    assert (inspected.lines[0].returned, inspected.lines[0].sellable) == (2, 1)


def test_an_event_of_an_unknown_type_is_kept_as_such_to_be_skipped():
    event = answers.read_event(_event(type="relabelled", whatever={"x": 1}))
    assert event.type == "relabelled" and event.problem is None
    assert not event.known_type and not event.applicable


@pytest.mark.parametrize("event", [
    "ev_1", None, [], _event(id=None), _event(id=""), _event(id=12), _event(id="e" * 10_000), _event(seq=0),
    _event(seq=-1), _event(seq="1"), _event(seq=True), _event(seq=10**30), _event(seq=1.5), _event(shipment_id=None),
    _event(client_reference=None), _event(type=None),
    _event(type="shipped", carrier="yamato", tracking_number="1", shipped_on="2026-02-30"),
    _event(type="shipped", carrier="yamato", tracking_number=None, shipped_on="2026-11-02"),
    _event(type="shipped", carrier=None, tracking_number="1", shipped_on="2026-11-02"),
    _event(type="shipped", carrier="yamato", tracking_number="1", shipped_on="2026-11-02", parcels=[{"carrier": 1}]),
    _event(type="return_inspected"), _event(type="return_inspected", lines=[]),
    _event(type="return_inspected", lines=[{"sku": "A", "returned": 1, "sellable": 2}]),
    _event(type="return_inspected", lines=[{"sku": "A", "returned": -1, "sellable": 0}]),
    _event(type="return_inspected", lines=[{"sku": "A", "returned": 10**40, "sellable": 0}]),
])
def test_an_event_that_cannot_be_applied_comes_back_with_its_problem_not_raised(event):
    read = answers.read_event(event)
    assert read.problem and not read.applicable


def test_a_refusal_with_unreadable_short_lines_still_refuses():
    event = answers.read_event(_event(type="refused", reason_code="R01", reason="欠品", lines=[{"sku": 3}]))
    assert event.applicable and event.lines == ()


def test_an_unreadable_at_is_none_and_the_event_still_applies():
    for at in ("soon", None, 5, "9999-12-31T23:59:59-23:59", "x" * 1000):
        assert answers.read_event(_event(at=at)).at is None


@pytest.mark.parametrize("payload", [None, [], "x", {}, {"events": []}, {"next_cursor": "c"},
                                     {"events": {}, "next_cursor": "c"}, {"events": [], "next_cursor": 5},
                                     {"events": [], "next_cursor": None}, {"events": [], "next_cursor": "c" * 5000}])
def test_an_events_page_that_is_not_the_contract_is_a_protocol_error(payload):
    with pytest.raises(WarehouseProtocolError):
        answers.read_event_page(payload)


def test_a_shipment_request_is_sent_as_the_contract_has_it():
    request = ShipmentRequest(
        client_reference="7", order_number="N-1", shop_code="3", sender=Sender("テスト商店", "1000001", "東京都", "03"),
        recipient=Recipient("山田", "ヤマダ", "090", "1500001", "渋谷区"), lines=(RequestLine("A", 2, "色:赤"),),
        delivery_date=date(2026, 11, 3), delivery_time_slot="14-16", cod_amount=3600,
        pickup=Pickup("convenience_store", "S1", "店", "住所"))
    body = request.to_json()
    assert body["delivery_date"] == "2026-11-03" and body["cod_amount"] == 3600
    assert body["sender"] == {"name": "テスト商店", "postal_code": "1000001", "address": "東京都", "phone": "03"}
    assert body["recipient"]["name_kana"] == "ヤマダ"
    assert body["lines"] == [{"sku": "A", "quantity": 2, "options": "色:赤"}]
    assert body["pickup"]["kind"] == "convenience_store" and body["drop_off"] is None and body["remarks"] == ""
    json.dumps(body)
