"""The RMS sandbox answers getOrder in the shape of version 10 (rakuten-rms.md §Reading an order as RMS really
sends it, §The sandbox): every key of the example answer, amounts that add up as RMS computes them, the realistic
mix, whole orders kept as given, and changes made at Rakuten (`_control/change`). Over real HTTP through our
client, like test_rms_sandbox_client.py."""
from __future__ import annotations

import copy
import random
from datetime import date, datetime
from uuid import uuid4

import pytest

from boss.malls.rakuten.reader import JST
from boss.malls.rakuten.sandbox.fakes import GIFT_PLACEHOLDER, generated_order
from tests.integration.test_rms_sandbox_client import Sandbox

# The OrderModel of the spec's example answer (shared/spec/examples/rms-getOrder-response.json), verbatim
EXAMPLE_ORDER = {
    "orderNumber": "123456-20261101-0000012345", "orderProgress": 100, "subStatusId": None, "subStatusName": None,
    "orderDatetime": "2026-11-01T10:15:30+0900", "shopOrderCfmDatetime": None, "orderFixDatetime": None,
    "shippingInstDatetime": None, "shippingCmplRptDatetime": None, "cancelDueDate": "2026-11-15",
    "remarks": "[配送日時指定:]\n指定なし", "goodsPrice": 3600, "postagePrice": 0, "deliveryPrice": 0, "paymentCharge": 0,
    "totalPrice": 3600, "requestPrice": 3600, "couponAllTotalPrice": 0,
    "OrdererModel": {
        "zipCode1": "100", "zipCode2": "0001", "prefecture": "東京都", "city": "見本区",
        "subAddress": "見本町1-2-3 サンプルハイツ101", "familyName": "山田", "firstName": "花子",
        "familyNameKana": "ヤマダ", "firstNameKana": "ハナコ", "phoneNumber1": "03", "phoneNumber2": "1234",
        "phoneNumber3": "5678", "emailAddress": "a1b2c3d4e5@fw.rakuten.ne.jp", "sex": "女", "birthYear": None,
        "birthMonth": None, "birthDay": None},
    "SettlementModel": {"settlementMethodCode": 1, "settlementMethod": "クレジットカード"},
    "DeliveryModel": {"deliveryName": "宅配便", "deliveryClass": 0},
    "PointModel": {"usedPoint": 0},
    "PackageModelList": [{
        "basketId": 987654321, "postagePrice": 0, "goodsPrice": 3600, "totalPrice": 3600,
        "defaultDeliveryCompanyCode": "1001",
        "SenderModel": {
            "zipCode1": "100", "zipCode2": "0001", "prefecture": "東京都", "city": "見本区",
            "subAddress": "見本町1-2-3 サンプルハイツ101", "familyName": "山田", "firstName": "花子",
            "familyNameKana": "ヤマダ", "firstNameKana": "ハナコ", "phoneNumber1": "03", "phoneNumber2": "1234",
            "phoneNumber3": "5678", "isolatedIslandFlag": 0},
        "ShippingModelList": [],
        "ItemModelList": [{
            "itemDetailId": 111111111, "itemName": "オーガニックコットンTシャツ", "itemId": 10000123,
            "itemNumber": "tshirt-001", "manageNumber": "tshirt-001", "price": 1800, "units": 2,
            "includePostageFlag": 0, "includeTaxFlag": 1, "taxRate": 0.1, "priceTaxIncl": 1800, "selectedChoice": "",
            "restoreInventoryFlag": 0,
            "SkuModelList": [{"variantId": "tshirt-001-M-navy", "merchantDefinedSkuId": "TS001MNV",
                              "skuInfo": "サイズ:M\nカラー:ネイビー"}]}]}],
    "ChangeReasonModelList": [],
}
# The keys the spec's table reads (beyond those of the example)
V10_ORDER_KEYS = {"deliveryDate", "shippingTerm", "socialGiftFlag", "modifyFlag", "additionalFeeOccurAmountToUser",
                  "ChangeReasonModelList"}
V10_PACKAGE_KEYS = {"DeliveryCvsModel", "dropOffFlag", "dropOffLocation", "SocialGiftModel"}
CVS_KEYS = {"cvsCode", "storeGenreCode", "storeCode", "storeName", "storeZip", "storePrefecture", "storeAddress",
            "cvsRemarks"}
CHANGE_REASON_KEYS = {"changeId", "changeType", "changeTypeDetail", "changeReason", "changeReasonDetail",
                      "changeApplyDatetime", "changeFixDatetime", "changeCmplDatetime"}


@pytest.fixture
def sandbox(app, live_server, monkeypatch):
    monkeypatch.setitem(app.config, "RMS_SANDBOX_RATE_PER_SECOND", 10_000)
    return Sandbox(f"{live_server}/sandbox/rms", f"SL{uuid4().hex[:16]}")


def generate(sandbox, count: int, **more) -> list[dict]:
    """Generated orders as getOrder answers them (raw OrderModels), read through our client."""
    numbers = sandbox.generate(count, days=2, **more)
    orders = {order.number: order.raw for order in sandbox.client().get_order(numbers).orders}
    return [orders[number] for number in numbers]


def keys_missing(example: dict, model: dict, path: str = "") -> list[str]:
    """The keys of `example` (recursively, through nested models and the first entry of lists) absent in `model`."""
    missing = []
    for key, value in example.items():
        if key not in model:
            missing.append(path + key)
        elif isinstance(value, dict) and isinstance(model[key], dict):
            missing += keys_missing(value, model[key], f"{path}{key}.")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for index, entry in enumerate(model[key]):
                missing += keys_missing(value[0], entry, f"{path}{key}[{index}].")
    return missing


def assert_amounts_add_up(order: dict) -> None:
    """rakuten-rms.md's table: goodsPrice = Σ tax-included line × units (+ wrapping), totalPrice = goods + postage,
    requestPrice = total + 代引料 + 決済手数料 + 後払い手数料 − coupons − points; a 税別 line's priceTaxIncl is its
    price with tax, rounded down."""
    lines = 0
    for package in order["PackageModelList"]:
        for item in package["ItemModelList"]:
            percent = round(item["taxRate"] * 100)
            if item["includeTaxFlag"] == 0:
                assert item["priceTaxIncl"] == item["price"] * (100 + percent) // 100, item
            else:
                assert item["priceTaxIncl"] == item["price"], item
            lines += item["priceTaxIncl"] * item["units"]
    wrapping = sum((order[key] or {}).get("price") or 0 for key in ("WrappingModel1", "WrappingModel2"))
    assert order["goodsPrice"] == lines + wrapping, order["orderNumber"]
    if order["requestPrice"] == -9999:
        assert order["postagePrice"] == order["totalPrice"] == -9999
        return
    assert order["totalPrice"] == order["goodsPrice"] + order["postagePrice"]
    assert order["requestPrice"] == (order["totalPrice"] + order["deliveryPrice"] + order["paymentCharge"]
                                     + order["additionalFeeOccurAmountToUser"] - order["couponAllTotalPrice"]
                                     - order["PointModel"]["usedPoint"])
    assert order["couponAllTotalPrice"] == sum(c["couponTotalPrice"] for c in order["CouponModelList"])


# --------------------------------------------------------------------------------------------- the shape

@pytest.mark.parametrize("mix", ["plain", "realistic"])
def test_generated_orders_have_every_key_of_the_example_answer_and_those_of_version_10(sandbox, mix):
    orders = generate(sandbox, 30, mix=mix, seed=7)

    for order in orders:
        assert keys_missing(EXAMPLE_ORDER, order) == []
        assert V10_ORDER_KEYS <= set(order) and len(order) >= 55
        assert order["subStatusId"] is None and order["shopOrderCfmDatetime"] is None
        for package in order["PackageModelList"]:
            assert V10_PACKAGE_KEYS <= set(package) and "SenderModel" in package
            assert package["DeliveryCvsModel"] is None or CVS_KEYS <= set(package["DeliveryCvsModel"])
            for item in package["ItemModelList"]:
                assert {"includeTaxFlag", "price", "priceTaxIncl", "taxRate", "selectedChoice"} <= set(item)
                assert all({"variantId", "merchantDefinedSkuId", "skuInfo"} <= set(sku) for sku in item["SkuModelList"])
        assert_amounts_add_up(order)


def test_get_order_answers_the_version_asked_for_in_the_envelope(sandbox):
    [number] = sandbox.generate(1, days=1)

    payload, _ = sandbox.client().call("getOrder", {"orderNumberList": [number], "version": 10})

    assert payload["version"] == 10 and payload["OrderModelList"][0]["orderNumber"] == number


def test_the_plain_mix_is_what_the_import_has_always_read(sandbox):
    orders = generate(sandbox, 60, seed=3, mix="plain")

    for order in orders:
        assert order["orderProgress"] == 100 and order["socialGiftFlag"] == 0
        package = order["PackageModelList"][0]
        assert package["DeliveryCvsModel"] is None and package["SocialGiftModel"] is None
        assert package["dropOffFlag"] == 0 and order["WrappingModel1"] is None
        assert order["couponAllTotalPrice"] == 0 and order["PointModel"]["usedPoint"] == 0
        for item in package["ItemModelList"]:
            assert item["includeTaxFlag"] == 1 and item["selectedChoice"] == ""
            assert item["SkuModelList"][0]["variantId"].startswith(item["manageNumber"] + "-")
            assert item["SkuModelList"][0]["skuInfo"]


def test_the_realistic_mix_holds_every_kind_of_order_the_spec_names(sandbox):
    orders = generate(sandbox, 200, mix="realistic", seed=20261101)
    items = [item for order in orders for package in order["PackageModelList"] for item in package["ItemModelList"]]
    packages = [package for order in orders for package in order["PackageModelList"]]

    tax_exclusive = [item for item in items if item["includeTaxFlag"] == 0]
    assert tax_exclusive and all(item["priceTaxIncl"] > item["price"] for item in tax_exclusive)
    assert any(item["taxRate"] == 0.08 for item in items) and any(item["taxRate"] == 0.1 for item in items)
    cod = [order for order in orders if order["SettlementModel"]["settlementMethod"] == "代金引換"]
    assert cod and all(order["deliveryPrice"] > 0 for order in cod)
    assert any(order["additionalFeeOccurAmountToUser"] > 0 for order in orders)
    assert any(order["couponAllTotalPrice"] > 0 for order in orders)
    assert any(order["PointModel"]["usedPoint"] > 0 for order in orders)
    assert any(order["WrappingModel1"] for order in orders)
    choices = [item for item in items if item["selectedChoice"]]
    assert any("\n" in item["selectedChoice"] and item["SkuModelList"][0]["skuInfo"] == "" for item in choices)
    assert any(item["SkuModelList"][0]["variantId"] == item["manageNumber"] and not item["selectedChoice"]
               for item in items)
    dated = [order for order in orders if order["deliveryDate"]]
    assert dated and all(date.fromisoformat(order["deliveryDate"]) for order in dated)
    assert {order["shippingTerm"] for order in dated} & {1416, 812, 1820} and len({o["shippingTerm"] for o in dated}) > 3

    gifts = [order for order in orders if order["socialGiftFlag"] == 1]
    assert gifts
    for order in gifts:
        package = order["PackageModelList"][0]
        assert package["SocialGiftModel"]["inputFlag"] == 0
        assert {key: package["SenderModel"][key] for key in GIFT_PLACEHOLDER} == {
            "prefecture": "入力待ち", "city": "入力待ち", "subAddress": "入力待ち", "familyName": "入力待ち",
            "firstName": "入力待ち", "familyNameKana": "ニュウリョクマチ", "firstNameKana": "ニュウリョクマチ",
            "zipCode1": "999", "zipCode2": "9999", "phoneNumber1": "999", "phoneNumber2": "9999",
            "phoneNumber3": "9999"}
    pickups = [package["DeliveryCvsModel"] for package in packages if package["DeliveryCvsModel"]]
    assert any(cvs["cvsCode"] == 60 for cvs in pickups) and any(cvs["cvsCode"] != 60 for cvs in pickups)
    assert all(cvs["storeName"] and cvs["storeAddress"] and cvs["storeZip"] for cvs in pickups)
    drop_offs = [package for package in packages if package["dropOffFlag"] == 1]
    assert drop_offs and all(package["dropOffLocation"] for package in drop_offs)
    assert all(package["dropOffLocation"] is None for package in packages if package["dropOffFlag"] == 0)

    progresses = [order["orderProgress"] for order in orders]  # read with RMS_SANDBOX_PROCESSING_SECONDS 0
    assert set(progresses) == {100, 300} and progresses.count(300) >= 10
    assert all(order["requestPrice"] != -9999 for order in orders)  # not without the knob
    for order in orders:
        assert_amounts_add_up(order)


def test_a_realistic_order_at_200_stays_there_while_rakuten_processes_it(sandbox, app, monkeypatch):
    monkeypatch.setitem(app.config, "RMS_SANDBOX_PROCESSING_SECONDS", 3600)

    orders = generate(sandbox, 100, mix="realistic", seed=5)

    assert {order["orderProgress"] for order in orders} == {100, 200}
    assert {order["orderProgress"] for order in generate(sandbox, 20, mix="realistic", seed=5,
                                                         order_progress=300)} == {300}


def test_the_same_seed_makes_the_same_orders(sandbox):
    first, second = generate(sandbox, 5, mix="realistic", seed=11), generate(sandbox, 5, mix="realistic", seed=11)

    assert [order["PackageModelList"][0]["ItemModelList"] for order in first] \
        == [order["PackageModelList"][0]["ItemModelList"] for order in second]


def test_unfixed_share_gives_amounts_not_yet_fixed_which_the_client_reads_as_such(sandbox):
    numbers = sandbox.generate(3, days=1, mix="realistic", unfixed_share=1)

    for order in sandbox.client().get_order(numbers).orders:
        assert order.request_price is None
        assert order.raw["postagePrice"] == order.raw["totalPrice"] == order.raw["requestPrice"] == -9999
        assert_amounts_add_up(order.raw)


def test_generated_orders_unit_mix_with_a_seeded_random():
    """The generator alone (what the demo and the benchmarks call): a seeded Random makes the same order."""
    at = datetime(2026, 11, 1, 10, 15, 30, tzinfo=JST)
    one = generated_order(random.Random(42), "123456-20261101-0000000001", at, 100, "realistic")
    again = generated_order(random.Random(42), "123456-20261101-0000000001", at, 100, "realistic")

    assert one == again and keys_missing(EXAMPLE_ORDER, one) == []
    assert_amounts_add_up(one)


@pytest.mark.parametrize("body, named", [
    ({"generate": 1, "mix": "fancy"}, "mix"), ({"generate": 1, "mix": None}, "mix"),
    ({"generate": 1, "seed": "x"}, "seed"), ({"generate": 1, "unfixed_share": 2}, "unfixed_share"),
    ({"generate": 1, "unfixed_share": True}, "unfixed_share"),
])
def test_generate_refuses_a_bad_knob_with_a_reason(sandbox, body, named):
    refused = sandbox.control("orders", {"license_key": sandbox.license_key, **body}, expect=400)

    assert named in refused["error"]


# --------------------------------------------------------------------------------------------- given orders

def test_a_whole_order_model_comes_back_from_get_order_exactly_as_given(sandbox):
    whole = copy.deepcopy(EXAMPLE_ORDER)
    whole["orderNumber"] = "123456-20261101-0000099999"

    [number] = sandbox.add(whole)

    assert sandbox.client().get_order([number]).order(number).raw == whole


def test_a_whole_version_10_order_with_its_nulls_comes_back_as_given(sandbox):
    at = datetime(2026, 11, 1, 10, 15, 30, tzinfo=JST)
    whole = generated_order(random.Random(9), "123456-20261101-0000088888", at, 300, "realistic")
    whole["PackageModelList"][0]["DeliveryCvsModel"] = None
    whole["shippingTerm"] = None

    [number] = sandbox.add(whole)

    assert sandbox.client().get_order([number]).order(number).raw == whole


def test_a_partial_order_merges_nested_models_replaces_lists_and_adds_up_its_own_lines(sandbox):
    lines = [{"itemDetailId": 1, "itemName": "見本品", "manageNumber": "sample-1", "itemNumber": "sample-1",
              "price": 1000, "includeTaxFlag": 0, "taxRate": 0.1, "priceTaxIncl": 1100, "units": 3,
              "selectedChoice": "カラー:赤", "SkuModelList": []}]
    packages = [{"basketId": 5, "SenderModel": EXAMPLE_ORDER["PackageModelList"][0]["SenderModel"],
                 "ItemModelList": lines}]
    [number] = sandbox.add({"OrdererModel": {"familyName": "見本"}, "deliveryPrice": 330, "PackageModelList": packages})

    raw = sandbox.client().get_order([number]).order(number).raw
    assert raw["OrdererModel"]["familyName"] == "見本" and raw["OrdererModel"]["firstName"]
    assert raw["PackageModelList"] == packages
    assert raw["goodsPrice"] == 3300 and raw["postagePrice"] == 550 and raw["totalPrice"] == 3850
    assert raw["requestPrice"] == 3850 + 330 + raw["additionalFeeOccurAmountToUser"] - raw["couponAllTotalPrice"] \
        - raw["PointModel"]["usedPoint"]


# --------------------------------------------------------------------------------------------- changes at Rakuten

def test_a_change_at_rakuten_is_seen_by_get_order_with_modify_flag_and_a_change_reason(sandbox):
    [number] = sandbox.generate(1, days=1)
    client = sandbox.client()
    before = client.get_order([number]).order(number).raw
    new_lines = copy.deepcopy(before["PackageModelList"])
    new_lines[0]["ItemModelList"][0]["units"] += 1
    added = new_lines[0]["ItemModelList"][0]["priceTaxIncl"]

    changed = sandbox.control("change", {"license_key": sandbox.license_key, "order_number": number, "changes": {
        "PackageModelList": new_lines, "goodsPrice": before["goodsPrice"] + added,
        "totalPrice": before["totalPrice"] + added, "requestPrice": before["requestPrice"] + added,
        "OrdererModel": {"phoneNumber3": "0000"}}})

    after = client.get_order([number]).order(number).raw
    assert changed["order"] == after
    assert after["modifyFlag"] == 1 and after["PackageModelList"] == new_lines
    assert after["OrdererModel"] == {**before["OrdererModel"], "phoneNumber3": "0000"}
    assert after["requestPrice"] == before["requestPrice"] + added
    [reason] = after["ChangeReasonModelList"]
    assert set(reason) == CHANGE_REASON_KEYS
    assert reason["changeType"] == 6 and reason["changeTypeDetail"] == 1  # 変更完了, 増額
    assert reason["changeCmplDatetime"] == reason["changeApplyDatetime"]
    assert {key: value for key, value in after.items() if key not in (
        "modifyFlag", "PackageModelList", "OrdererModel", "goodsPrice", "totalPrice", "requestPrice",
        "ChangeReasonModelList")} == {key: value for key, value in before.items() if key not in (
            "modifyFlag", "PackageModelList", "OrdererModel", "goodsPrice", "totalPrice", "requestPrice",
            "ChangeReasonModelList")}

    sandbox.control("change", {"license_key": sandbox.license_key, "order_number": number,
                               "changes": {"remarks": "置き配希望", "orderProgress": 400}})
    again = client.get_order([number]).order(number)
    assert again.progress == 400 and again.remarks == "置き配希望"
    assert [r["changeType"] for r in again.raw["ChangeReasonModelList"]] == [6, 4]  # then 変更申請, awaiting 400
    assert again.raw["ChangeReasonModelList"][1]["changeFixDatetime"] is None


def test_a_change_of_an_unknown_order_or_with_a_bad_body_is_refused_with_a_reason(sandbox):
    [number] = sandbox.generate(1, days=1)
    key = sandbox.license_key

    assert "no order" in sandbox.control("change", {"license_key": key, "order_number": "1-20260101-00000001",
                                                    "changes": {"remarks": "x"}}, expect=404)["error"]
    assert "changes" in sandbox.control("change", {"license_key": key, "order_number": number}, expect=400)["error"]
    assert "changes" in sandbox.control("change", {"license_key": key, "order_number": number,
                                                   "changes": ["remarks"]}, expect=400)["error"]
    assert "order_number" in sandbox.control("change", {"license_key": key, "changes": {"remarks": "x"}},
                                             expect=400)["error"]
    assert "orderNumber" in sandbox.control("change", {"license_key": key, "order_number": number,
                                                       "changes": {"orderNumber": "2-20260101-00000001"}},
                                            expect=400)["error"]
    assert "orderProgress" in sandbox.control("change", {"license_key": key, "order_number": number,
                                                         "changes": {"orderProgress": 250}}, expect=400)["error"]
    assert "license_key" in sandbox.control("change", {"order_number": number, "changes": {"remarks": "x"}},
                                            expect=400)["error"]
    raw = sandbox.client().get_order([number]).order(number).raw
    assert raw["modifyFlag"] == 0 and raw["ChangeReasonModelList"] == []
