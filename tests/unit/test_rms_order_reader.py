"""The one reader of RMS's OrderModel (malls/rakuten/reader.py) and what the import takes of it
(importer.new_order): an odd order is refused alone with its reason, the client refuses a whole answer
with any departure from the documented model."""
from __future__ import annotations

import copy
from datetime import datetime

import pytest

from boss.malls.rakuten.client import RmsProtocolError, _well_formed
from boss.malls.rakuten.importer import BadOrderModel, new_order
from boss.malls.rakuten.reader import JST, parse_rms_datetime, read_order

NUMBER = "123456-20261101-0000012345"


def _person(family: str = "山田", first: str = "花子") -> dict:
    return {"familyName": family, "firstName": first, "familyNameKana": "ヤマダ", "firstNameKana": "ハナコ",
            "zipCode1": "150", "zipCode2": "0002", "prefecture": "東京都", "city": "渋谷区", "subAddress": "渋谷1-2-3",
            "phoneNumber1": "03", "phoneNumber2": "1234", "phoneNumber3": "5678", "emailAddress": "a@fw.rakuten.ne.jp"}


def _item(**more) -> dict:
    return {"manageNumber": "mug-002", "itemNumber": "mug-002", "itemId": 12345678, "itemName": "マグカップ",
            "price": 2200, "units": 2, "itemDetailId": 987654321, "selectedChoice": "",
            "SkuModelList": [{"variantId": "mug-002-ai"}], **more}


def _model(**more) -> dict:
    return {"orderNumber": NUMBER, "orderProgress": 100, "orderDatetime": "2026-11-01T10:15:30+0900",
            "remarks": " 置き配希望 ", "goodsPrice": 4400, "postagePrice": 550, "totalPrice": 4950, "requestPrice": 4950,
            "OrdererModel": _person(), "SettlementModel": {"settlementMethod": "クレジットカード"},
            "PackageModelList": [{"basketId": 1, "postagePrice": 550, "SenderModel": _person("佐藤", "次郎"),
                                  "ItemModelList": [_item()]}], **more}


def _with(path: tuple, value) -> dict:
    model = _model()
    target = model
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return model


ITEM = ("PackageModelList", 0, "ItemModelList", 0)


def test_a_well_formed_order_reads_into_what_the_import_makes():
    order = read_order(_model())
    assert order.problems == () and _well_formed(order) is order
    mall = new_order(7, order)
    new, several = mall.new, mall.several_destinations
    assert not several
    assert (new.shop_id, new.mall_order_number, new.ordered_at) == (7, NUMBER, datetime(2026, 11, 1, 1, 15, 30))
    assert new.buyer == {"name": "山田 花子", "name_kana": "ヤマダ ハナコ", "email": "a@fw.rakuten.ne.jp",
                         "phone": "03-1234-5678", "postal_code": "150-0002", "address": "東京都渋谷区渋谷1-2-3"}
    assert new.recipient["name"] == "佐藤 次郎"
    assert new.lines == [{"mall_item_id": "mug-002", "sub_code": "mug-002-ai", "name": "マグカップ", "quantity": 2,
                          "unit_price": 2200, "options": ""}]
    assert (new.payment_method, new.remarks, new.postage) == ("クレジットカード", "置き配希望", 550)


def test_the_import_takes_an_order_time_with_a_colon_in_its_offset_as_the_same_instant():
    new = new_order(7, read_order(_with(("orderDatetime",), "2026-11-01T10:15:30+09:00"))).new
    assert new.ordered_at == datetime(2026, 11, 1, 1, 15, 30)


@pytest.mark.parametrize("path, value, reason", [
    (("orderNumber",), KeyError, "orderNumber がありません"),
    (("orderNumber",), "  ", "orderNumber がありません"),
    (("orderNumber",), "1" * 65, "orderNumber がありません"),
    (("orderDatetime",), "2026-11-01 10:15:30", f"{NUMBER}: orderDatetime の形式が不正です"),
    (("PackageModelList",), [], f"{NUMBER}: PackageModelList がありません"),
    (("PackageModelList",), {"basketId": 1}, f"{NUMBER}: PackageModelList がありません"),
    (("PackageModelList", 0, "ItemModelList"), [], f"{NUMBER}: 商品明細がありません"),
    (ITEM + ("units",), "two", f"{NUMBER}: 商品の数量または価格が不正です"),
    (ITEM + ("price",), None, f"{NUMBER}: 商品の数量または価格が不正です"),
    (ITEM, "mug-002", f"{NUMBER}: 商品の数量または価格が不正です"),
    (ITEM + ("units",), 0, f"{NUMBER}: 商品明細が不正です"),
    (ITEM + ("units",), 10_000, f"{NUMBER}: 商品明細が不正です"),
    (ITEM + ("price",), -1, f"{NUMBER}: 商品明細が不正です"),
    (ITEM + ("price",), 10_000_001, f"{NUMBER}: 商品明細が不正です"),
    (("OrdererModel",), None, "住所情報がありません"),
    (("OrdererModel", "familyName"), " ", None),  # the first name alone is a name
    (("OrdererModel",), {}, "氏名がありません"),
    (("PackageModelList", 0, "SenderModel"), "東京都", "住所情報がありません"),
    (("PackageModelList", 0, "SenderModel"), {"familyName": "", "firstName": "", "city": "渋谷区"}, "氏名がありません"),
])
def test_the_import_refuses_an_order_alone_with_its_reason(path, value, reason):
    model = _with(path, value)
    if reason is None:
        new_order(1, read_order(model))
        return
    with pytest.raises(BadOrderModel) as refused:
        new_order(1, read_order(model))
    assert str(refused.value) == reason


def test_a_model_that_is_not_an_object_is_refused_by_the_import_and_by_the_client():
    assert read_order(["1"]) is None
    with pytest.raises(BadOrderModel, match="OrderModel がオブジェクトではありません"):
        new_order(1, None)
    with pytest.raises(RmsProtocolError, match="OrderModel is not an object"):
        _well_formed(None)


@pytest.mark.parametrize("value, quantity", [("3", 3), (" 3 ", 3), (3.7, 3)])
def test_the_import_takes_a_quantity_as_int_takes_it_although_the_client_would_refuse_the_answer(value, quantity):
    order = read_order(_with(ITEM + ("units",), value))
    with pytest.raises(RmsProtocolError):
        _well_formed(order)
    assert new_order(1, order).new.lines[0]["quantity"] == quantity


@pytest.mark.parametrize("path, value, taken", [
    (ITEM + ("manageNumber",), "", ("mall_item_id", "mug-002")),  # then itemNumber, then itemId
    (ITEM + ("itemName",), None, ("name", "mug-002")),
    (ITEM + ("SkuModelList",), [], ("sub_code", "")),
])
def test_a_line_falls_back_on_what_rms_gives(path, value, taken):
    key, expected = taken
    assert new_order(1, read_order(_with(path, value))).new.lines[0][key] == expected
    item = _with(ITEM + ("itemNumber",), "")["PackageModelList"][0]["ItemModelList"][0]
    assert new_order(1, read_order(_model(PackageModelList=[{"SenderModel": _person(), "ItemModelList": [
        {**item, "manageNumber": ""}]}]))).new.lines[0]["mall_item_id"] == "12345678"


def test_without_a_sender_the_orderer_receives_and_texts_are_cut_to_their_columns():
    model = _with(("PackageModelList", 0, "SenderModel"), {})
    model["OrdererModel"]["subAddress"] = "一" * 600
    model["SettlementModel"]["settlementMethod"] = "払" * 200
    new = new_order(1, read_order(model)).new
    assert new.recipient == new.buyer and len(new.buyer["address"]) == 500 and len(new.payment_method) == 120
    assert new_order(1, read_order(_with(("PackageModelList", 0, "SenderModel"), KeyError))).new.recipient["name"] == "山田 花子"


def test_several_packages_are_one_order_with_every_line_and_the_first_sender():
    model = _model()
    second = copy.deepcopy(model["PackageModelList"][0])
    second["SenderModel"] = _person("別", "送付先")
    second["ItemModelList"] = [_item(manageNumber="tea-004", SkuModelList=[])]
    model["PackageModelList"].append(second)
    mall = new_order(1, read_order(model))
    new, several = mall.new, mall.several_destinations
    assert several and [line["mall_item_id"] for line in new.lines] == ["mug-002", "tea-004"]
    assert new.recipient["name"] == "佐藤 次郎"


@pytest.mark.parametrize("postage, kept", [(550, 550), (0, 0), (-9999, None), (None, None), ("550", None)])
def test_postage_is_kept_when_rms_gives_a_fixed_amount(postage, kept):
    assert new_order(1, read_order(_with(("postagePrice",), postage))).new.postage == kept


@pytest.mark.parametrize("path, value, problem", [
    (("orderNumber",), 12345, "an OrderModel without orderNumber"),
    (("orderProgress",), KeyError, "orderProgress is missing"),
    (("orderProgress",), 150, f"order {NUMBER}: unknown orderProgress 150"),
    (("requestPrice",), "4950", "requestPrice is not an integer: '4950'"),
    (("OrdererModel",), None, "OrdererModel is not an object"),
    (("remarks",), ["x"], "remarks is not text: ['x']"),
    (("PackageModelList", 0, "SenderModel"), None, "SenderModel is not an object"),
    (ITEM + ("SkuModelList",), {"variantId": "x"}, "SkuModelList is not a list"),
    (ITEM + ("price",), KeyError, "price is missing"),
])
def test_the_client_refuses_an_answer_whose_order_departs_from_the_model_naming_the_first_departure(path, value, problem):
    with pytest.raises(RmsProtocolError) as refused:
        _well_formed(read_order(_with(path, value)))
    assert str(refused.value) == problem


@pytest.mark.parametrize("progress, cancelled, open_", [(100, False, True), (400, False, True), (500, False, False),
                                                        (800, True, False), (900, True, False), (None, False, False)])
def test_progress_says_whether_rms_shows_the_order_cancelled_or_open(progress, cancelled, open_):
    order = read_order(_with(("orderProgress",), progress))
    assert (order.is_cancelled, order.is_open) == (cancelled, open_)


def test_request_price_minus_9999_is_not_yet_fixed():
    assert read_order(_with(("requestPrice",), -9999)).request_price is None


@pytest.mark.parametrize("text", ["2026-11-01 10:15:30+0900", "2026-11-01T10:15:30", "2026-11-31T10:15:30+0900",
                                  "", None, 20261101])
def test_one_datetime_parser_refuses_what_is_no_datetime_with_an_offset(text):
    with pytest.raises(ValueError):
        parse_rms_datetime(text)


@pytest.mark.parametrize("text", ["2026-11-01T10:15:30+0900", "2026-11-01T10:15:30+09:00", " 2026-11-01T10:15:30+0900 ",
                                  "2026-11-01T01:15:30Z", "2026-11-1T10:15:30+0900"])
def test_one_datetime_parser_reads_rms_datetimes_in_each_offsets_spelling(text):
    assert parse_rms_datetime(text) == datetime(2026, 11, 1, 10, 15, 30, tzinfo=JST)
