"""The real RMS client over HTTP against the RMS sandbox, served by a live werkzeug server in this process."""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest
import requests

from boss.extensions import redis_connection
from boss.integrations.pacing import RedisPacer
from boss.integrations.secrets import decrypt_secret, encrypt_secret
from boss.malls.rakuten.client import (RmsAuthError, RmsClient, RmsPacingDelay, RmsProtocolError, RmsRequestError,
                                       RmsTransientError)
from boss.malls.rakuten.reader import JST, format_rms_datetime, parse_rms_datetime
from tests.conftest import ROOT, wait_for

NUMBER_PATTERN = re.compile(r"^\d+-\d{8}-\d{8,10}$")
KATAKANA = re.compile(r"^[ァ-ヶー]+$")


@pytest.fixture
def sandbox_url(live_server):
    return f"{live_server}/sandbox/rms"


class Sandbox:
    """One shop (licenseKey) in the sandbox, driven through the control API."""

    def __init__(self, base_url: str, license_key: str):
        self.base_url = base_url
        self.license_key = license_key

    def client(self, **options) -> RmsClient:
        options.setdefault("timeout", 10)
        return RmsClient(self.base_url, "service-secret", self.license_key, **options)

    def control(self, path: str, body: dict, expect: int = 200) -> dict:
        response = requests.post(f"{self.base_url}/_control/{path}", json=body, timeout=60)
        assert response.status_code == expect, response.text
        return response.json()

    def add(self, *orders: dict) -> list[str]:
        return self.control("orders", {"service_secret": "s", "license_key": self.license_key,
                                       "orders": list(orders)})["order_numbers"]

    def generate(self, count: int, progress: int = 100, **more) -> list[str]:
        """Generated orders, plain unless `mix` says otherwise: exactly at `progress` (the realistic mix puts some
        of them at 200; test_rms_sandbox_v10 asks for it)."""
        return self.control("orders", {"service_secret": "s", "license_key": self.license_key, "generate": count,
                                       "order_progress": progress, "mix": "plain", **more})["order_numbers"]

    def set_progress(self, number: str, progress: int) -> None:
        self.control("progress", {"license_key": self.license_key, "order_number": number,
                                  "order_progress": progress})

    def fault(self, **fault) -> None:
        self.control("faults", {"license_key": self.license_key, **fault}, expect=201)

    def calls(self, function: str | None = None) -> list[dict]:
        response = requests.get(f"{self.base_url}/_control/calls", params={"license_key": self.license_key},
                                timeout=10)
        assert response.status_code == 200, response.text
        return [item for item in response.json()["items"] if function in (None, item["function"])]

    def reset(self) -> None:
        self.control("reset", {"license_key": self.license_key})

    def progress_of(self, number: str) -> int:
        return self.client().get_order([number]).order(number).progress


@pytest.fixture
def sandbox(app, sandbox_url, monkeypatch):
    monkeypatch.setitem(app.config, "RMS_SANDBOX_RATE_PER_SECOND", 10_000)
    return Sandbox(sandbox_url, f"SL{uuid4().hex[:16]}")


def esa(secret: str, license_key: str) -> str:
    return "ESA " + base64.b64encode(f"{secret}:{license_key}".encode()).decode()


def rms_window(days: float = 4):
    end = datetime.now(JST) + timedelta(minutes=1)
    return end - timedelta(days=days), end


# --------------------------------------------------------------------------------------------- auth, tenancy

@pytest.mark.parametrize("header", [
    None, "Basic dXNlcjpwYXNz", "ESA", "ESA not base64!!", "ESA " + base64.b64encode(b"no-colon").decode(),
    "ESA " + base64.b64encode(b":license-only").decode(), "ESA " + base64.b64encode(b"secret-only:").decode(),
])
def test_a_call_without_a_wellformed_esa_header_is_refused_like_the_gateway_does(sandbox, header):
    headers = {"Content-Type": "application/json; charset=utf-8", **({"Authorization": header} if header else {})}
    response = requests.post(f"{sandbox.base_url}/es/2.0/order/getOrder/", headers=headers, timeout=10,
                             json={"orderNumberList": ["1-20260101-00000001"], "version": 7})

    assert response.status_code == 401
    assert response.json()["Results"]["errorCode"] == "ES04-01"


def test_any_secret_and_license_pair_is_accepted(sandbox):
    response = requests.post(f"{sandbox.base_url}/es/2.0/order/getOrder/", timeout=10,
                             headers={"Authorization": esa("whatever", sandbox.license_key)},
                             json={"orderNumberList": ["1-20260101-00000001"], "version": 7})

    assert response.status_code == 200
    assert "MessageModelList" in response.json()


@pytest.mark.parametrize("http_status", [200, 400, 401])
def test_es01_01_is_an_auth_error_of_the_shop_whatever_the_http_status_it_comes_with(sandbox, http_status):
    """rakuten-rms.md §Errors: 「Un-Authorised」 (an expired or wrong licenseKey) fails the shop's connection, never
    one order's reflection, also when the gateway sends it with 200 or 400."""
    sandbox.fault(function="getOrder", http_status=http_status,
                  body=json.dumps({"Results": {"errorCode": "ES01-01", "message": "Un-Authorised"}}))

    with pytest.raises(RmsAuthError) as raised:
        sandbox.client().get_order(["1-20260101-00000001"])
    assert raised.value.code == "ES01-01" and raised.value.http_status == http_status


def test_a_gateway_refusal_reaches_the_client_as_an_auth_error_of_the_shop(sandbox):
    sandbox.fault(function="getOrder", http_status=401)

    with pytest.raises(RmsAuthError) as raised:
        sandbox.client().get_order(["1-20260101-00000001"])
    assert raised.value.code == "ES04-01"
    assert raised.value.final


def test_each_license_key_sees_only_its_own_orders(sandbox, sandbox_url):
    other = Sandbox(sandbox_url, f"SL{uuid4().hex[:16]}")
    mine = sandbox.generate(3)
    theirs = other.generate(2)
    start, end = rms_window()

    assert set(sandbox.client().search_order(start, end).order_numbers) == set(mine)
    assert set(other.client().search_order(start, end).order_numbers) == set(theirs)
    foreign = sandbox.client().get_order(theirs)
    assert foreign.orders == []
    assert foreign.error_for(theirs[0]).code == "ORDER_EXT_API_GET_ORDER_ERROR_101"


# --------------------------------------------------------------------------------------------- the order model

def test_generated_orders_look_like_rakutens_and_parse_into_what_boss_reads(sandbox):
    numbers = sandbox.generate(20, days=2)

    orders = sandbox.client().get_order(numbers).orders
    assert sorted(order.number for order in orders) == sorted(numbers)
    now = datetime.now(JST)
    for order in orders:
        assert NUMBER_PATTERN.match(order.number)
        assert order.number.split("-")[1] == order.ordered_at.strftime("%Y%m%d")
        assert now - timedelta(days=2, seconds=5) <= order.ordered_at <= now
        assert order.progress == 100 and order.is_open and not order.is_cancelled
        assert order.orderer.name and KATAKANA.match(order.orderer.family_name_kana)
        assert KATAKANA.match(order.orderer.first_name_kana)
        assert re.match(r"^\d{3}-\d{4}$", order.orderer.zip_code)
        assert re.match(r"^0\d{1,3}-\d{3,4}-\d{4}$", order.orderer.phone)
        assert order.orderer.email.endswith("@fw.rakuten.ne.jp")
        assert order.orderer.address.startswith(order.orderer.prefecture)
        assert order.settlement_method and order.remarks.startswith("[配送日時指定:]")
        assert order.recipient.name and order.packages[0].basket_id
        assert 1 <= len(order.items) <= 3
        for item in order.items:
            assert item.manage_number and item.variant_id.startswith(item.manage_number)
            assert item.item_name and item.price > 0 and item.units >= 1
        assert order.goods_price == sum(item.price * item.units for item in order.items)
        assert order.raw["orderNumber"] == order.number and order.raw["OrdererModel"]["sex"] in ("男", "女")


def test_a_partial_order_keeps_what_was_given_and_is_filled_in_around_it(sandbox):
    [number] = sandbox.add({"orderNumber": "123456-20261101-0000012345", "orderDatetime": "2026-11-01T10:15:30+0900",
                            "orderProgress": 300, "OrdererModel": {"familyName": "見本", "familyNameKana": "ミホン"},
                            "remarks": "置き配希望"})

    order = sandbox.client().get_order([number]).order(number)
    assert number == "123456-20261101-0000012345"
    assert order.progress == 300
    assert order.ordered_at == datetime(2026, 11, 1, 10, 15, 30, tzinfo=JST)
    assert order.orderer.family_name == "見本" and order.orderer.family_name_kana == "ミホン"
    assert order.orderer.first_name and order.remarks == "置き配希望"
    assert order.items


def test_rms_datetimes_are_written_with_a_colonless_japan_offset():
    assert format_rms_datetime(datetime(2026, 11, 1, 1, 15, 30)) == "2026-11-01T10:15:30+0900"  # naive = UTC
    assert format_rms_datetime(datetime(2026, 11, 1, 10, 15, 30, tzinfo=JST)) == "2026-11-01T10:15:30+0900"
    assert parse_rms_datetime("2026-11-01T10:15:30+0900") == datetime(2026, 11, 1, 1, 15, 30, tzinfo=timezone.utc)
    assert parse_rms_datetime("2026-11-01T10:15:30+09:00") == parse_rms_datetime("2026-11-01T10:15:30+0900")


# --------------------------------------------------------------------------------------------- searchOrder

def search_body(start: str, end: str, **paging) -> dict:
    return {"dateType": 1, "startDatetime": start, "endDatetime": end,
            "PaginationRequestModel": {"requestRecordsAmount": 1000, "requestPage": 1, **paging}}


def test_a_search_window_over_63_days_is_refused_with_http_400(sandbox):
    end = datetime.now(JST).replace(microsecond=0)
    client = sandbox.client()

    with pytest.raises(RmsRequestError) as raised:
        client.call("searchOrder", search_body(format_rms_datetime(end - timedelta(days=64)), format_rms_datetime(end)))
    assert raised.value.http_status == 400
    assert raised.value.codes == ["ORDER_EXT_API_SEARCH_ORDER_ERROR_014"]
    assert raised.value.final
    client.call("searchOrder", search_body(format_rms_datetime(end - timedelta(days=63)), format_rms_datetime(end)))
    with pytest.raises(ValueError):
        client.search_order(end - timedelta(days=64), end)


def test_a_datetime_with_a_colon_in_its_offset_is_refused_as_bad_format(sandbox):
    with pytest.raises(RmsRequestError) as raised:
        sandbox.client().call("searchOrder", search_body("2026-11-01T00:00:00+09:00", "2026-11-02T00:00:00+0900"))

    assert raised.value.http_status == 400
    assert raised.value.codes == ["ORDER_EXT_API_SEARCH_ORDER_ERROR_011"]
    assert "startDatetime" in raised.value.messages[0].message


def test_missing_and_empty_fields_are_named_with_009_and_010(sandbox):
    with pytest.raises(RmsRequestError) as raised:
        sandbox.client().call("searchOrder", {"startDatetime": "", "endDatetime": "2026-11-02T00:00:00+0900",
                                              "PaginationRequestModel": {"requestRecordsAmount": 1001,
                                                                         "requestPage": 1}})

    assert set(raised.value.codes) == {"ORDER_EXT_API_SEARCH_ORDER_ERROR_009", "ORDER_EXT_API_SEARCH_ORDER_ERROR_010"}


def test_more_than_1000_records_per_page_are_refused(sandbox):
    end = datetime.now(JST).replace(microsecond=0)
    with pytest.raises(RmsRequestError) as raised:
        sandbox.client().call("searchOrder", search_body(format_rms_datetime(end - timedelta(days=1)),
                                                         format_rms_datetime(end), requestRecordsAmount=1001))
    assert raised.value.codes == ["ORDER_EXT_API_SEARCH_ORDER_ERROR_012"]


def test_a_search_without_hits_says_info_102_with_an_empty_list(sandbox):
    start, end = rms_window()

    result = sandbox.client().search_order(start, end)

    assert result.order_numbers == [] and result.total_records == 0 and result.total_pages == 0
    assert [message.code for message in result.messages] == ["ORDER_EXT_API_SEARCH_ORDER_INFO_102"]


def test_search_pages_through_results_sorted_by_order_datetime(sandbox):
    numbers = sandbox.generate(25, days=2)
    start, end = rms_window()
    client = sandbox.client()

    first = client.search_order(start, end, amount=10)
    assert (first.total_records, first.total_pages, first.page) == (25, 3, 1)
    assert first.messages[0].code == "ORDER_EXT_API_SEARCH_ORDER_INFO_101"
    pages = first.order_numbers + client.search_order(start, end, page=2, amount=10).order_numbers \
        + client.search_order(start, end, page=3, amount=10).order_numbers
    assert sorted(pages) == sorted(numbers)
    ordered_at = {order.number: order.ordered_at for order in client.get_order(numbers).orders}
    assert [ordered_at[number] for number in pages] == sorted(ordered_at.values())

    [window] = client.search_all(start, end, amount=10)
    assert window.order_numbers == pages and window.complete
    assert len(sandbox.calls("searchOrder")) == 3 + 3


def test_r5_the_imports_search_finds_only_orders_in_progress_100_to_400_never_cancelled_ones(sandbox):
    by_progress = {progress: sandbox.generate(1, progress=progress, days=1)[0]
                   for progress in (100, 200, 300, 400, 500, 700, 800, 900)}
    start, end = rms_window()

    found = sandbox.client().search_order(start, end)

    assert set(found.order_numbers) == {by_progress[p] for p in (100, 200, 300, 400)}
    assert sandbox.calls("searchOrder")[-1]["body"]["orderProgressList"] == [100, 200, 300, 400]


def test_search_all_splits_windows_longer_than_63_days(sandbox):
    now = datetime.now(JST).replace(microsecond=0)
    old = sandbox.add({"orderDatetime": format_rms_datetime(now - timedelta(days=100))})
    new = sandbox.add({"orderDatetime": format_rms_datetime(now - timedelta(days=1))})

    windows = list(sandbox.client().search_all(now - timedelta(days=130), now))

    assert len(windows) == 3
    assert all(window.end - window.start <= timedelta(days=63) for window in windows)
    assert all(later.start == earlier.end + timedelta(seconds=1) for earlier, later in zip(windows, windows[1:]))
    assert [number for window in windows for number in window.order_numbers] == old + new


def test_search_all_splits_a_window_holding_more_than_15000_orders_in_halves(sandbox):
    numbers = sandbox.generate(15_050, days=3)
    start, end = rms_window(days=4)

    windows = list(sandbox.client().search_all(start, end))

    assert len(windows) >= 2 and all(window.complete for window in windows)
    assert all(len(window.order_numbers) < 15_000 for window in windows)
    found = [number for window in windows for number in window.order_numbers]
    assert len(found) == len(set(found)) == 15_050
    assert set(found) == set(numbers)
    first_call = sandbox.calls("searchOrder")[0]
    assert first_call["body"]["startDatetime"] == format_rms_datetime(start)


# --------------------------------------------------------------------------------------------- getOrder

def test_get_order_refuses_more_than_100_numbers_and_the_client_sends_batches_of_100(sandbox):
    numbers = sandbox.generate(150, days=1)
    client = sandbox.client()

    with pytest.raises(RmsRequestError) as raised:
        client.call("getOrder", {"orderNumberList": numbers[:101], "version": 7})
    assert raised.value.codes == ["ORDER_EXT_API_GET_ORDER_ERROR_012"]

    result = client.get_order(numbers)
    assert len(result.orders) == 150 and result.ok
    sent = [call["body"] for call in sandbox.calls("getOrder") if call["http_status"] == 200]
    assert [len(body["orderNumberList"]) for body in sent] == [100, 50]
    assert {body["version"] for body in sent} == {10}


def test_an_unknown_number_is_an_error_of_that_order_not_of_the_call(sandbox):
    [known] = sandbox.generate(1, days=1)

    result = sandbox.client().get_order([known, "999999-20260101-00000001"])

    assert [order.number for order in result.orders] == [known]
    assert result.error_for("999999-20260101-00000001").code == "ORDER_EXT_API_GET_ORDER_ERROR_101"
    assert result.error_for(known) is None


def test_a_buyers_cancel_at_rakuten_shows_in_get_order(sandbox):
    [number] = sandbox.generate(1, days=1)

    sandbox.set_progress(number, 900)

    assert sandbox.client().get_order([number]).order(number).is_cancelled


# --------------------------------------------------------------------------------------------- cancels (R9)

def test_r9_cancel_order_moves_an_order_at_100_to_900_and_a_second_cancel_is_an_error(sandbox):
    [number] = sandbox.generate(1, days=1)
    client = sandbox.client()

    result = client.cancel_order(number, inventory_restore_type=1, reason_code=8)
    assert result.ok
    assert [(m.type, m.code, m.message, m.order_number) for m in result.messages] == [
        ("INFO", "ORDER_EXT_API_CANCEL_ORDER_INFO_101", "キャンセル申請に成功しました。", number)]
    assert sandbox.progress_of(number) == 900
    assert sandbox.calls("cancelOrder")[0]["body"] == {"orderNumber": number, "inventoryRestoreType": 1,
                                                       "changeReasonDetailApply": 8}

    again = client.cancel_order(number, 0, 10)
    assert not again.ok
    assert again.error.code == "ORDER_EXT_API_CANCEL_ORDER_ERROR_102" and again.error.order_number == number


@pytest.mark.parametrize("progress", [200, 300])
def test_r9_cancel_order_is_accepted_up_to_300(sandbox, progress):
    [number] = sandbox.generate(1, progress=progress, days=1)

    assert sandbox.client().cancel_order(number).ok
    assert sandbox.progress_of(number) == 900


@pytest.mark.parametrize("progress", [400, 500])
def test_r9_cancel_order_of_an_order_past_300_is_an_error_and_changes_nothing(sandbox, progress):
    [number] = sandbox.generate(1, progress=progress, days=1)

    result = sandbox.client().cancel_order(number)

    assert result.error.code == "ORDER_EXT_API_CANCEL_ORDER_ERROR_103"
    assert sandbox.progress_of(number) == progress


def test_r9_cancel_after_shipping_moves_500_to_800_accepts_800_again_and_refuses_100_and_900(sandbox):
    """rakuten-rms.md: cancelOrderAfterShipping is for 500–800; an order at 800 is already cancelled, so asking
    again succeeds and changes nothing. 900 (キャンセル確定) is past it: ERROR_102."""
    [shipped] = sandbox.generate(1, progress=500, days=1)
    fresh, closed = sandbox.generate(2, progress=100, days=1)
    sandbox.set_progress(closed, 900)
    client = sandbox.client()

    done = client.cancel_order(shipped, after_shipping=True)
    assert done.ok and done.messages[0].code == "ORDER_EXT_API_CANCEL_ORDER_AFTER_SHIPPING_INFO_101"
    assert sandbox.progress_of(shipped) == 800
    again = client.cancel_order(shipped, after_shipping=True)
    assert again.ok and [(m.type, m.code, m.order_number) for m in again.messages] == [
        ("INFO", "ORDER_EXT_API_CANCEL_ORDER_AFTER_SHIPPING_INFO_101", shipped)]
    assert sandbox.progress_of(shipped) == 800

    assert client.cancel_order(closed, after_shipping=True).error.code \
        == "ORDER_EXT_API_CANCEL_ORDER_AFTER_SHIPPING_ERROR_102"
    refused = client.cancel_order(fresh, after_shipping=True)
    assert refused.error.code == "ORDER_EXT_API_CANCEL_ORDER_AFTER_SHIPPING_ERROR_103"
    assert sandbox.progress_of(fresh) == 100


def test_r9_a_cancel_with_a_bad_reason_is_a_request_error(sandbox):
    [number] = sandbox.generate(1, days=1)

    with pytest.raises(RmsRequestError) as raised:
        sandbox.client().cancel_order(number, reason_code=7)

    assert raised.value.codes == ["ORDER_EXT_API_CANCEL_ORDER_ERROR_011"]
    assert sandbox.progress_of(number) == 100


def test_confirm_order_moves_100_to_200_which_the_next_get_order_shows_at_300(sandbox, app, monkeypatch):
    """rakuten-rms.md §The sandbox: confirmOrder moves 100 → 200 (楽天処理中); with RMS_SANDBOX_PROCESSING_SECONDS 0
    the first getOrder after it shows 300. A cancelled order is refused."""
    monkeypatch.setitem(app.config, "RMS_SANDBOX_PROCESSING_SECONDS", 0)
    fresh, cancelled = sandbox.generate(2, days=1)
    sandbox.set_progress(cancelled, 900)
    client = sandbox.client()

    _, messages = client.call("confirmOrder", {"orderNumberList": [fresh, cancelled]})

    assert [(m.code, m.order_number) for m in messages] == [
        ("ORDER_EXT_API_CONFIRM_ORDER_INFO_101", fresh), ("ORDER_EXT_API_CONFIRM_ORDER_ERROR_102", cancelled)]
    start, end = rms_window()
    assert client.search_order(start, end, progress=[200]).order_numbers == [fresh]  # searchOrder moves nothing
    order = client.get_order([fresh]).order(fresh)
    assert order.progress == 300
    assert parse_rms_datetime(order.raw["shopOrderCfmDatetime"]) >= datetime.now(JST) - timedelta(minutes=1)
    assert client.search_order(start, end, progress=[200]).order_numbers == []


def test_an_order_stays_at_200_while_rakuten_is_still_processing_it(sandbox, app, monkeypatch):
    monkeypatch.setitem(app.config, "RMS_SANDBOX_PROCESSING_SECONDS", 3600)
    [confirmed] = sandbox.generate(1, days=1)
    [stored] = sandbox.generate(1, progress=200, days=1)
    client = sandbox.client()
    client.call("confirmOrder", {"orderNumberList": [confirmed]})

    assert [order.progress for order in client.get_order([confirmed, stored]).orders] == [200, 200]
    assert [order.progress for order in client.get_order([confirmed, stored]).orders] == [200, 200]
    sandbox.set_progress(stored, 300)  # the control API moves it on at once
    assert client.get_order([stored]).order(stored).progress == 300
    _, again = client.call("confirmOrder", {"orderNumberList": [confirmed]})
    assert [(m.code, m.order_number) for m in again] == [("ORDER_EXT_API_CONFIRM_ORDER_ERROR_103", confirmed)]


def test_update_order_shipping_records_the_parcel_and_refuses_a_cancelled_order(sandbox):
    number, cancelled = sandbox.generate(2, progress=300, days=1)
    sandbox.set_progress(cancelled, 900)
    client = sandbox.client()
    basket = client.get_order([number]).order(number).packages[0].basket_id
    shipping = {"deliveryCompany": "1001", "shippingNumber": "1234-5678-9012", "shippingDate": "2026-11-02"}

    _, messages = client.call("updateOrderShipping", {"orderNumber": number, "BasketidModelList": [
        {"basketId": basket, "ShippingModelList": [shipping]}]}, order_number=number)

    assert messages[0].code == "ORDER_EXT_API_UPDATE_ORDERSHIPPING_INFO_101"
    order = client.get_order([number]).order(number)
    assert order.progress == 500
    assert order.packages[0].raw["ShippingModelList"][0]["shippingNumber"] == "1234-5678-9012"
    _, refused = client.call("updateOrderShipping", {"orderNumber": cancelled, "BasketidModelList": [
        {"basketId": basket, "ShippingModelList": [shipping]}]}, order_number=cancelled)
    assert refused[0].code == "ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_102"
    with pytest.raises(RmsRequestError) as raised:
        client.call("updateOrderShipping", {"orderNumber": number, "BasketidModelList": [
            {"basketId": basket, "ShippingModelList": [{**shipping, "shippingDate": "2026/11/02"}]}]})
    assert raised.value.codes == ["ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_011"]


# --------------------------------------------------------------------------------------------- faults

def test_r9_an_injected_503_is_transient_for_as_many_calls_as_asked(sandbox):
    [number] = sandbox.generate(1, days=1)
    sandbox.fault(function="cancelOrder", order_number=number, times=2, http_status=503)
    client = sandbox.client()

    for _ in range(2):
        with pytest.raises(RmsTransientError) as raised:
            client.cancel_order(number)
        assert raised.value.http_status == 503 and not raised.value.final
    assert sandbox.progress_of(number) == 100
    assert client.cancel_order(number).ok
    assert [call["http_status"] for call in sandbox.calls("cancelOrder")] == [503, 503, 200]


def test_r9_a_fault_for_another_order_leaves_this_one_alone(sandbox):
    first, second = sandbox.generate(2, days=1)
    sandbox.fault(function="cancelOrder", order_number=second, http_status=503)

    assert sandbox.client().cancel_order(first).ok


def test_r9_an_injected_error_message_is_returned_as_that_orders_failure_not_raised(sandbox):
    [number] = sandbox.generate(1, days=1)
    sandbox.fault(function="cancelOrder", message_code="ORDER_EXT_API_CANCEL_ORDER_ERROR_104")

    result = sandbox.client().cancel_order(number)

    assert not result.ok
    assert (result.error.code, result.error.order_number) == ("ORDER_EXT_API_CANCEL_ORDER_ERROR_104", number)
    assert sandbox.progress_of(number) == 100
    assert sandbox.calls("cancelOrder")[-1]["message_code"] == "ORDER_EXT_API_CANCEL_ORDER_ERROR_104"


def test_an_injected_error_for_one_order_of_a_get_order_still_returns_the_others(sandbox):
    good, bad = sandbox.generate(2, days=1)
    sandbox.fault(function="getOrder", order_number=bad, message_code="ORDER_EXT_API_GET_ORDER_ERROR_104")

    result = sandbox.client().get_order([good, bad])

    assert [order.number for order in result.orders] == [good]
    assert result.error_for(bad).code == "ORDER_EXT_API_GET_ORDER_ERROR_104"


def test_r9_a_delayed_answer_times_out_as_a_transient_error(sandbox):
    [number] = sandbox.generate(1, days=1)
    sandbox.fault(function="getOrder", delay_ms=3000)
    # well under the delay, and enough for the next (ordinary) answer even when a full suite's garbage
    # collection or a busy machine holds this process (client and live server) for a moment
    client = sandbox.client(timeout=1.0)

    with pytest.raises(RmsTransientError) as raised:
        client.get_order([number])
    assert "no answer" in str(raised.value)
    assert client.get_order([number]).order(number)  # the same client goes on: the delay was one fault
    wait_for(lambda: len(sandbox.calls("getOrder")) == 2, timeout=10, message="the delayed call to finish")


def test_faults_without_a_license_key_apply_to_every_shop(sandbox, sandbox_url):
    sandbox.control("faults", {"function": "searchOrder", "http_status": 502}, expect=201)
    start, end = rms_window()

    with pytest.raises(RmsTransientError):
        Sandbox(sandbox_url, "SL-another-shop").client().search_order(start, end)
    sandbox.client().search_order(start, end)


def test_a_non_json_answer_is_a_protocol_error(sandbox):
    sandbox.fault(function="getOrder", http_status=200, body="<html><body>メンテナンス中</body></html>")

    with pytest.raises(RmsProtocolError) as raised:
        sandbox.client().get_order(["1-20260101-00000001"])
    assert "not JSON" in str(raised.value) and raised.value.final


@pytest.mark.parametrize("body", ['{"orders": []}', '[1, 2]', '{"MessageModelList": [{"messageType": 1}]}',
                                  '{"MessageModelList": [], "OrderModelList": [{"orderNumber": "1-20260101-00000001"}]}'])
def test_json_that_is_not_the_contract_is_a_protocol_error(sandbox, body):
    sandbox.fault(function="getOrder", http_status=200, body=body)

    with pytest.raises(RmsProtocolError):
        sandbox.client().get_order(["1-20260101-00000001"])


# --------------------------------------------------------------------------------------------- rate and pacing

def test_above_the_rate_per_license_key_the_sandbox_answers_429_which_is_transient(sandbox, app, monkeypatch):
    monkeypatch.setitem(app.config, "RMS_SANDBOX_RATE_PER_SECOND", 1)
    client = sandbox.client()
    start, end = rms_window()

    with pytest.raises(RmsTransientError) as raised:
        for _ in range(3):  # three calls within milliseconds: at least two share a second
            client.search_order(start, end)
    assert raised.value.http_status == 429 and raised.value.retry_after == 1
    assert 429 in [call["http_status"] for call in sandbox.calls("searchOrder")]


def test_two_pacers_on_one_key_share_the_slot(app, redis_url):
    redis = redis_connection(redis_url)
    key = f"rms-pace:{uuid4().hex}"
    first, second = RedisPacer(redis, key, 0.4), RedisPacer(redis, key, 0.4)
    started = time.monotonic()

    assert first.try_acquire() == 0.0
    wait = second.try_acquire()
    assert 0 < wait <= 0.4
    assert 0 < first.try_acquire() <= wait  # asking takes nothing
    with pytest.raises(TimeoutError):
        second.acquire_blocking(timeout=0.05)
    assert second.acquire_blocking(timeout=5) > 0
    assert time.monotonic() - started >= 0.4
    assert first.try_acquire() > 0


def test_a_client_that_may_not_wait_for_its_slot_sends_nothing_and_says_when(sandbox, redis_url):
    pacer = RedisPacer(redis_connection(redis_url), f"rms-pace:{uuid4().hex}", 5)
    client = sandbox.client(pacer=pacer, max_pace_wait=0)
    start, end = rms_window()

    client.search_order(start, end)
    with pytest.raises(RmsPacingDelay) as raised:
        client.search_order(start, end)
    assert 4 < raised.value.retry_after <= 5 and not raised.value.final
    assert len(sandbox.calls()) == 1


PACED_CALLER = """
import sys, time
from redis import Redis
from boss.integrations.pacing import RedisPacer
from boss.malls.rakuten.client import RmsClient


class NotingPacer(RedisPacer):  # the pacer's own script, noting also each slot it grants (Redis's clock)
    SCRIPT = RedisPacer.SCRIPT.replace("return 0", "redis.call('RPUSH', KEYS[1] .. ':granted', micros) return 0")


redis_url, base_url, license_key, pace_key, interval, calls = sys.argv[1:7]
redis = Redis.from_url(redis_url)
redis.incr(pace_key + ":ready")
deadline = time.monotonic() + 30
while not redis.get(pace_key + ":go"):
    if time.monotonic() > deadline:
        sys.exit("never told to go")
    time.sleep(0.005)

client = RmsClient(base_url, "secret", license_key, timeout=10, pacer=NotingPacer(redis, pace_key, float(interval)))
for _ in range(int(calls)):
    client.get_order(["1-20260101-00000001"])
"""


def test_the_pacer_spaces_calls_of_two_worker_processes_by_the_interval(sandbox, redis_url):
    interval, key = 0.3, f"rms-pace:{uuid4().hex}"
    redis = redis_connection(redis_url)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [subprocess.Popen([sys.executable, "-c", PACED_CALLER, redis_url, sandbox.base_url,
                                   sandbox.license_key, key, str(interval), "3"], cwd=ROOT, env=env)
                 for _ in range(2)]
    try:
        wait_for(lambda: int(redis.get(key + ":ready") or 0) == 2, timeout=30, message="both callers to start")
        redis.set(key + ":go", 1)
        for process in processes:
            assert process.wait(timeout=60) == 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()

    slots = sorted(int(micros) for micros in redis.lrange(key + ":granted", 0, -1))
    assert len(slots) == 6
    assert all(later - earlier >= interval * 1_000_000 for earlier, later in zip(slots, slots[1:])), slots
    # Each call reaches RMS after its slot, so the k-th to arrive comes no sooner than the k-th slot: k intervals
    # after the first. (Not the arrivals' gaps themselves: on a busy machine a call's trip can take longer than the
    # next one's, and then two arrive closer together than the slots they were sent in.)
    arrivals = sorted(datetime.fromisoformat(call["at"]) for call in sandbox.calls("getOrder"))
    assert len(arrivals) == 6
    assert all(arrival >= datetime.fromtimestamp(slot / 1_000_000, timezone.utc)
               for arrival, slot in zip(arrivals, slots)), (arrivals, slots)


# --------------------------------------------------------------------------------------------- control API

def test_the_calls_log_shows_each_call_with_its_body_status_and_code(sandbox):
    [number] = sandbox.generate(1, days=1)
    client = sandbox.client()
    start, end = rms_window()
    client.search_order(start, end)
    client.cancel_order(number)
    client.cancel_order(number)

    calls = sandbox.calls()

    assert [(c["function"], c["http_status"], c["message_code"]) for c in calls] == [
        ("searchOrder", 200, "ORDER_EXT_API_SEARCH_ORDER_INFO_101"),
        ("cancelOrder", 200, "ORDER_EXT_API_CANCEL_ORDER_INFO_101"),
        ("cancelOrder", 200, "ORDER_EXT_API_CANCEL_ORDER_ERROR_102")]
    assert calls[0]["body"]["startDatetime"] == format_rms_datetime(start)
    assert datetime.fromisoformat(calls[0]["at"]) <= datetime.fromisoformat(calls[1]["at"])


def test_reset_forgets_one_license_keys_orders_faults_and_calls_and_nothing_else(sandbox, sandbox_url):
    other = Sandbox(sandbox_url, f"SL{uuid4().hex[:16]}")
    [mine] = sandbox.generate(1, days=1)
    [theirs] = other.generate(1, days=1)
    sandbox.fault(function="getOrder", http_status=503, times=5)
    other.client().get_order([theirs])

    refused = sandbox.control("reset", {}, expect=400)  # issue 11 item 11: never a reset of every shop's data
    assert "license_key" in refused["error"] and other.client().get_order([theirs]).order(theirs)
    sandbox.reset()

    assert sandbox.calls() == []
    result = sandbox.client().get_order([mine])
    assert result.orders == [] and result.error_for(mine)
    assert other.client().get_order([theirs]).order(theirs)
    assert len(other.calls()) == 3


def test_control_requests_with_bad_input_are_refused_with_a_reason(sandbox):
    assert "function" in sandbox.control("faults", {"function": "deleteEverything", "times": 1,
                                                    "http_status": 503}, expect=400)["error"]
    assert "generate" in sandbox.control("orders", {"license_key": sandbox.license_key, "generate": 0},
                                         expect=400)["error"]
    assert sandbox.control("progress", {"license_key": sandbox.license_key, "order_number": "nope",
                                        "order_progress": 900}, expect=404)["error"]


# --------------------------------------------------------------------------------------------- credentials

def test_credentials_are_stored_encrypted_with_a_key_derived_from_secret_key():
    token = encrypt_secret("app-secret", "SL1234567890_abcdef")

    assert "SL1234567890" not in token
    assert decrypt_secret("app-secret", token) == "SL1234567890_abcdef"
    with pytest.raises(ValueError):
        decrypt_secret("another-secret", token)
