"""rakuten-rms.md §"Reading an order as RMS really sends it (getOrder version 10)": one test per row of its
table (and the datetime reader and the holds only a read removes), each over real HTTP — our client imports
from the sandbox an order in the shape of a real getOrder answer, every key given, nulls where RMS sends
nulls — and each asserting on the order as the API shows it to outside clients.

The sandbox fills a partial order with made-up data; `rms_order` gives it a whole one, so that what a test
reads is what the test wrote, whatever the sandbox would have made up.
"""
from __future__ import annotations

import copy
import itertools
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from boss.extensions import db, get_redis
from boss.malls.rakuten import importer
from boss.malls.rakuten.connection import set_credentials
from boss.malls.rakuten.sandbox.store import Store
from boss.models import Shop
from boss.orders import mapping, products, shops
from boss.orders.actor import Actor
from boss.orders.models import Order
from boss.outbox import commit_and_dispatch
from boss.timefmt import JST
from tests.integration.rms_sandbox import RmsSandbox

SKU = ("tshirt-001", "tshirt-001-M-navy", "TS001MNV")  # the sample's item, its variantId, our SKU (mapped)
HTMX = {"HX-Request": "true"}
_numbers = itertools.count(12345)


# ---------------------------------------------------------------- an OrderModel as RMS sends it

def rms_order(progress: int = 100) -> dict:
    """The example file's order (examples/rms-getOrder-response.json) with every key a version 10 OrderModel
    has, nulls where RMS sends nulls: a 1,800-yen (tax included) T-shirt × 2, free postage, paid by card, no
    coupon, no points, no wish for a date, no gift, no pickup, no 置き配. Ordered an hour ago (the import
    looks back 30 days)."""
    ordered_at = datetime.now(JST).replace(microsecond=0) - timedelta(hours=1)
    person = {
        "zipCode1": "100", "zipCode2": "0001", "prefecture": "東京都", "city": "見本区",
        "subAddress": "見本町1-2-3 サンプルハイツ101",
        "familyName": "山田", "firstName": "花子", "familyNameKana": "ヤマダ", "firstNameKana": "ハナコ",
        "phoneNumber1": "03", "phoneNumber2": "1234", "phoneNumber3": "5678",
    }
    return {
        "orderNumber": f"123456-{ordered_at:%Y%m%d}-{next(_numbers):010d}",
        "orderProgress": progress, "subStatusId": None, "subStatusName": None,
        "orderDatetime": ordered_at.strftime("%Y-%m-%dT%H:%M:%S+0900"),
        "shopOrderCfmDatetime": None, "orderFixDatetime": None, "shippingInstDatetime": None,
        "shippingCmplRptDatetime": None, "cancelDueDate": (ordered_at.date() + timedelta(days=14)).isoformat(),
        "deliveryDate": None, "shippingTerm": None, "remarks": "[配送日時指定:]\n指定なし",
        "giftCheckFlag": 0, "severalSenderFlag": 0, "equalSenderFlag": 1, "isolatedIslandFlag": 0,
        "rakutenMemberFlag": 1, "carrierCode": 0, "emailCarrierCode": 0, "orderType": 1, "reserveNumber": None,
        "reserveDeliveryCount": None, "cautionDisplayType": 0, "cautionDisplayDetailType": None,
        "rakutenConfirmFlag": 0, "goodsPrice": 3600, "goodsTax": 327, "postagePrice": 0, "deliveryPrice": 0,
        "paymentCharge": 0, "paymentChargeTaxRate": 0.1, "totalPrice": 3600, "requestPrice": 3600,
        "couponAllTotalPrice": 0, "couponShopPrice": 0, "couponOtherPrice": 0,
        "additionalFeeOccurAmountToUser": 0, "additionalFeeOccurAmountToShop": 0,
        "asurakuFlag": 0, "drugFlag": 0, "dealFlag": 0, "membershipType": 0, "memo": None, "operator": None,
        "mailPlugSentence": None, "modifyFlag": 0, "receiptIssueCount": 0, "receiptIssueHistoryList": [],
        "isTaxRecalc": 0, "deliveryCertPrgFlag": 0, "oneDayOperationFlag": 0, "socialGiftFlag": 0,
        "OrdererModel": {**person, "emailAddress": "a1b2c3d4e5@fw.rakuten.ne.jp", "sex": "女",
                         "birthYear": None, "birthMonth": None, "birthDay": None},
        "SettlementModel": {"settlementMethodCode": 1, "settlementMethod": "クレジットカード", "rpaySettlementFlag": 1,
                            "cardName": "VISA", "cardNumber": "XXXX-XXXX-XXXX-1234", "cardOwner": None,
                            "cardYm": None, "cardPayType": 0, "cardInstallmentDesc": None},
        "DeliveryModel": {"deliveryName": "宅配便", "deliveryClass": 0},
        "PointModel": {"usedPoint": 0},
        "WrappingModel1": None, "WrappingModel2": None,
        "PackageModelList": [{
            "basketId": 987654321, "postagePrice": 0, "postageTaxRate": 0.1, "deliveryPrice": 0,
            "deliveryTaxRate": 0.1, "goodsTax": 327, "goodsPrice": 3600, "totalPrice": 3600, "noshi": None,
            "packageDeleteFlag": 0, "defaultDeliveryCompanyCode": "1001",
            "SenderModel": {**person, "isolatedIslandFlag": 0},
            "ItemModelList": [{
                "itemDetailId": 111111111, "itemName": "オーガニックコットンTシャツ", "itemId": 10000123,
                "itemNumber": SKU[0], "manageNumber": SKU[0], "price": 1800, "units": 2,
                "includePostageFlag": 0, "includeTaxFlag": 1, "includeCashOnDeliveryPostageFlag": 0,
                "selectedChoice": "", "pointRate": 1, "pointType": 0, "inventoryType": 2, "delvdateInfo": None,
                "restoreInventoryFlag": 0, "dealFlag": 0, "drugFlag": 0, "deleteItemFlag": 0, "taxRate": 0.1,
                "priceTaxIncl": 1800, "isSingleItemShipping": 0,
                "SkuModelList": [{"variantId": SKU[1], "merchantDefinedSkuId": SKU[2],
                                  "skuInfo": "サイズ:M\nカラー:ネイビー"}],
            }],
            "ShippingModelList": [], "DeliveryCvsModel": None, "dropOffFlag": 0, "dropOffLocation": None,
            "SocialGiftModel": None,
        }],
        "CouponModelList": [], "ChangeReasonModelList": [], "TaxSummaryModelList": [], "DueDateModelList": [],
    }


def package(order: dict) -> dict:
    return order["PackageModelList"][0]


def item(order: dict, index: int = 0) -> dict:
    return package(order)["ItemModelList"][index]


def amounts(order: dict, goods: int, postage: int, total: int, request: int) -> dict:
    """The order's and its package's 商品金額, 送料 and 合計金額, and the 請求金額, as RMS gives them."""
    order.update(goodsPrice=goods, postagePrice=postage, totalPrice=total, requestPrice=request)
    package(order).update(goodsPrice=goods, postagePrice=postage, totalPrice=total)
    return order


def second_item(order: dict, **fields) -> dict:
    """Another line beside the sample's: a copy of its item with `fields`."""
    line = copy.deepcopy(item(order))
    line.update(itemDetailId=item(order)["itemDetailId"] + len(package(order)["ItemModelList"]), **fields)
    package(order)["ItemModelList"].append(line)
    return line


# ---------------------------------------------------------------- the shop, the import, the API

@pytest.fixture
def shop(app, ctx, tenant, live_server, monkeypatch):
    """The tenant's Rakuten shop connected to the sandbox, the sample's item mapped; no pacing, no sandbox limit."""
    monkeypatch.setitem(app.config, "RMS_SANDBOX_RATE_PER_SECOND", 1000)
    monkeypatch.setitem(app.config, "RMS_MIN_INTERVAL", 0.001)
    sandbox = RmsSandbox(live_server)
    actor = Actor("user", "admin", tenant.account_id)
    products.create_product(actor, SKU[2], "オーガニックコットンTシャツ M ネイビー")
    mapping.map_item(actor, tenant.shop_id, *SKU)
    row = db.session.get(Shop, tenant.shop_id)
    set_credentials(row, "secret", sandbox.license_key, base_url=sandbox.rms_url)
    commit_and_dispatch()
    row.sandbox = sandbox
    return row


def auto_confirming(shop: Shop, tenant) -> None:
    shops.update_shop(Actor("user", "admin", tenant.account_id), shop.id, {"auto_confirm": True})


def import_orders(shop: Shop, client, tenant, *orders: dict) -> list[dict]:
    """Give the sandbox `orders`, run one import, and answer each as `GET /api/v1/orders/{id}` shows it."""
    numbers = shop.sandbox.add(*orders)
    assert numbers == [order["orderNumber"] for order in orders]
    result = importer.import_shop(db.session.get(Shop, shop.id))
    assert (result["created"], result["failed"]) == (len(orders), 0), result
    return [api_order(client, tenant, order_id(shop, number)) for number in numbers]


def order_id(shop: Shop, number: str) -> int:
    return db.session.scalar(select(Order.id).where(Order.shop_id == shop.id, Order.mall_order_number == number))


def api_order(client, tenant, id: int) -> dict:
    response = client.get(f"/api/v1/orders/{id}", headers=tenant.headers())
    assert response.status_code == 200, response.text
    return response.json


def tag_codes(order: dict) -> set[str]:
    return {tag["code"] for tag in order["tags"]}


def lines(order: dict) -> list[tuple]:
    return [(line["mall_item_id"], line["sub_code"], line["quantity"], line["unit_price"]) for line in order["lines"]]


MONEY = ("postage", "wrapping", "total", "charges", "discount", "points_used", "billed")


def money(order: dict) -> dict:
    return {key: order[key] for key in MONEY}


# ---------------------------------------------------------------- the table, row by row

def test_client_asks_get_order_for_version_10(shop, client, tenant):
    import_orders(shop, client, tenant, rms_order())
    calls = requests.get(f"{shop.sandbox.rms_url}/_control/calls", params={"license_key": shop.sandbox.license_key},
                         timeout=30).json()["items"]
    versions = [call["body"].get("version") for call in calls if call["function"] == "getOrder"]
    assert versions and set(versions) == {10}


# ItemModel includeTaxFlag, price, priceTaxIncl, taxRate → a line's unit_price, always with tax

def test_include_tax_flag_0_with_price_tax_incl_unit_price_is_price_tax_incl(shop, client, tenant):
    """税別 1,499 at 10% is 1,648.9: the shop's rounding gave 1,649, and RMS's priceTaxIncl is what counts."""
    order = amounts(rms_order(), goods=1649, postage=500, total=2149, request=2149)
    item(order).update(price=1499, units=1, includeTaxFlag=0, taxRate=0.1, priceTaxIncl=1649)
    (imported,) = import_orders(shop, client, tenant, order)
    assert lines(imported) == [(SKU[0], SKU[1], 1, 1649)]
    assert (imported["total"], imported["postage"], imported["wrapping"], imported["billed"]) == (2149, 500, 0, 2149)


def test_include_tax_flag_0_without_price_tax_incl_adds_tax_rounded_down(shop, client, tenant):
    """The issue's sample: a 1,650-yen line stored as 1,500 and the total as 2,000 where RMS says 2,150. And
    税別 1,099 at 8% is 1,186.92: BOSS rounds down (its assumption where RMS gives no tax-included price)."""
    sample = amounts(rms_order(), goods=1650, postage=500, total=2150, request=2150)
    item(sample).update(price=1500, units=1, includeTaxFlag=0, taxRate=0.1, priceTaxIncl=None)
    tea = amounts(rms_order(), goods=1186, postage=0, total=1186, request=1186)
    item(tea).update(itemName="静岡 深蒸し茶 100g", itemNumber="tea-004", manageNumber="tea-004", price=1099, units=1,
                     includeTaxFlag=0, taxRate=0.08, priceTaxIncl=None,
                     SkuModelList=[{"variantId": "tea-004-100g", "merchantDefinedSkuId": "TEA004100G",
                                    "skuInfo": "内容量:100g"}])
    imported_sample, imported_tea = import_orders(shop, client, tenant, sample, tea)
    assert lines(imported_sample) == [(SKU[0], SKU[1], 1, 1650)]
    assert imported_sample["total"] == 2150 and imported_sample["wrapping"] == 0
    assert lines(imported_tea) == [("tea-004", "tea-004-100g", 1, 1186)]
    assert imported_tea["total"] == 1186 and imported_tea["wrapping"] == 0


def test_include_tax_flag_1_unit_price_is_price(shop, client, tenant):
    order = rms_order()
    item(order).update(price=1800, units=2, includeTaxFlag=1, taxRate=0.1, priceTaxIncl=None)
    (imported,) = import_orders(shop, client, tenant, order)
    assert lines(imported) == [(SKU[0], SKU[1], 2, 1800)]
    assert imported["total"] == 3600


# goodsPrice, postagePrice, totalPrice → postage, wrapping, total

def test_postage_price_total_price_give_postage_wrapping_and_total(shop, client, tenant):
    """3,600 of goods, 550 postage and a 300-yen ラッピング: RMS's 合計金額 4,450 is ours at import."""
    wrapped = amounts(rms_order(), goods=3900, postage=550, total=4450, request=4450)
    wrapped["WrappingModel1"] = {"title": 1, "name": "ギフトラッピング", "price": 300, "includeTaxFlag": 1,
                                 "deleteWrappingFlag": 0, "taxRate": 0.1, "taxPrice": 27}
    plain = amounts(rms_order(), goods=3600, postage=550, total=4150, request=4150)
    imported_wrapped, imported_plain = import_orders(shop, client, tenant, wrapped, plain)
    assert money(imported_wrapped) == {"postage": 550, "wrapping": 300, "total": 4450, "charges": 0, "discount": 0,
                                       "points_used": 0, "billed": 4450}
    assert money(imported_plain) == {"postage": 550, "wrapping": 0, "total": 4150, "charges": 0, "discount": 0,
                                     "points_used": 0, "billed": 4150}


# deliveryPrice, paymentCharge, additionalFeeOccurAmountToUser → charges

def test_delivery_price_payment_charge_and_additional_fee_sum_to_charges(shop, client, tenant):
    cash = amounts(rms_order(), goods=3600, postage=0, total=3600, request=4040)
    cash.update(deliveryPrice=330, paymentCharge=110)
    cash["SettlementModel"].update(settlementMethodCode=2, settlementMethod="代金引換", rpaySettlementFlag=0,
                                   cardName=None, cardNumber=None, cardPayType=None)
    cash["DeliveryModel"]["deliveryName"] = "代金引換"
    deferred = amounts(rms_order(), goods=3600, postage=0, total=3600, request=3809)
    deferred["additionalFeeOccurAmountToUser"] = 209
    deferred["SettlementModel"].update(settlementMethodCode=16, settlementMethod="後払い決済", rpaySettlementFlag=1,
                                       cardName=None, cardNumber=None, cardPayType=None)
    imported_cash, imported_deferred = import_orders(shop, client, tenant, cash, deferred)
    assert (imported_cash["total"], imported_cash["charges"], imported_cash["billed"]) == (3600, 440, 4040)
    assert (imported_deferred["total"], imported_deferred["charges"], imported_deferred["billed"]) == (3600, 209, 3809)


# couponAllTotalPrice, PointModel.usedPoint, requestPrice → discount, points_used, billed

def test_coupon_all_total_price_used_point_and_request_price_give_discount_points_used_and_billed(shop, client, tenant):
    """The issue's 代金引換 sample — "we show 120, the buyer pays 220": billed is RMS's 請求金額, what the parcel
    collects; and a card order with a coupon and points."""
    cash = amounts(rms_order(), goods=120, postage=0, total=120, request=220)
    item(cash).update(itemName="ヘアゴム", price=120, units=1, priceTaxIncl=120)
    cash["deliveryPrice"] = 100
    cash["SettlementModel"].update(settlementMethodCode=2, settlementMethod="代金引換", rpaySettlementFlag=0,
                                   cardName=None, cardNumber=None, cardPayType=None)
    cash["DeliveryModel"]["deliveryName"] = "代金引換"
    coupon = amounts(rms_order(), goods=3600, postage=0, total=3600, request=3150)
    coupon.update(couponAllTotalPrice=300, couponShopPrice=300, PointModel={"usedPoint": 150}, CouponModelList=[{
        "couponCode": "ABCD-EFGH-IJKL-MNOP", "itemId": 0, "couponName": "見本店 300円OFFクーポン",
        "couponSummary": "3,000円以上で300円OFF", "couponCapital": "ショップ", "couponCapitalCode": 1,
        "expiryDate": "2026-12-31", "couponPrice": 300, "couponUnit": 1, "couponTotalPrice": 300}])
    imported_cash, imported_coupon = import_orders(shop, client, tenant, cash, coupon)
    assert money(imported_cash) == {"postage": 0, "wrapping": 0, "total": 120, "charges": 100, "discount": 0,
                                    "points_used": 0, "billed": 220}
    assert money(imported_coupon) == {"postage": 0, "wrapping": 0, "total": 3600, "charges": 0, "discount": 300,
                                      "points_used": 150, "billed": 3150}


# -9999 in any amount → not yet fixed: 「金額未確定」

def priced(order: dict) -> dict:
    """3,600 of goods + 550 postage + 300 wrapping = 4,450; 代引料 330, a 100-yen coupon, 50 points: 4,630 billed."""
    amounts(order, goods=3900, postage=550, total=4450, request=4630)
    order.update(deliveryPrice=330, couponAllTotalPrice=100, couponShopPrice=100, PointModel={"usedPoint": 50})
    order["WrappingModel1"] = {"title": 1, "name": "ギフトラッピング", "price": 300, "includeTaxFlag": 1,
                               "deleteWrappingFlag": 0, "taxRate": 0.1, "taxPrice": 27}
    order["SettlementModel"].update(settlementMethodCode=2, settlementMethod="代金引換", rpaySettlementFlag=0,
                                    cardName=None, cardNumber=None, cardPayType=None)
    return order


@pytest.mark.parametrize("amount", ["goodsPrice", "postagePrice", "totalPrice", "requestPrice", "deliveryPrice",
                                    "paymentCharge", "additionalFeeOccurAmountToUser", "couponAllTotalPrice",
                                    "PointModel.usedPoint"])
def test_minus_9999_in_any_amount_leaves_amounts_unfixed_and_holds(shop, client, tenant, amount):
    auto_confirming(shop, tenant)
    unfixed = priced(rms_order())
    if amount == "PointModel.usedPoint":
        unfixed["PointModel"]["usedPoint"] = -9999
    else:
        unfixed[amount] = -9999
    fixed = priced(rms_order())
    imported, control = import_orders(shop, client, tenant, unfixed, fixed)
    assert money(imported) == {"postage": None, "wrapping": 0, "total": 3600, "charges": 0, "discount": 0,
                               "points_used": 0, "billed": None}
    assert "amount_unfixed" in tag_codes(imported)
    assert imported["status"] == "awaiting_confirmation", "a hold is never auto-confirmed"
    # The same order with its amounts fixed: read whole, and auto-confirmed.
    assert money(control) == {"postage": 550, "wrapping": 300, "total": 4450, "charges": 330, "discount": 100,
                              "points_used": 50, "billed": 4630}
    assert control["status"] == "confirmed" and "amount_unfixed" not in tag_codes(control)


# deliveryDate, shippingTerm → delivery_date, delivery_time_slot

SHIPPING_TERMS = [(None, None), (0, None), (1, "午前中"), (2, "午後"), (9, "その他"), (1416, "14-16"),
                  ("1416", "14-16"), (812, "08-12"), (2024, "20-24"), (2530, "その他"), (1412, "その他"), (624, "その他")]


def test_delivery_date_and_shipping_term_give_delivery_date_and_time_slot(shop, client, tenant):
    orders = []
    for index, (term, _) in enumerate(SHIPPING_TERMS):
        order = rms_order()
        ordered_on = datetime.fromisoformat(order["orderDatetime"]).date()
        order.update(shippingTerm=term, deliveryDate=None if index == 0 else (ordered_on + timedelta(days=index)).isoformat())
        orders.append(order)
    imported = import_orders(shop, client, tenant, *orders)
    assert [(order["shippingTerm"], order["deliveryDate"]) for order in orders] == [
        (term, found["delivery_date"]) for (term, _), found in zip(SHIPPING_TERMS, imported)]
    assert [(term, found["delivery_time_slot"]) for (term, _), found in zip(SHIPPING_TERMS, imported)] == SHIPPING_TERMS


# ItemModel selectedChoice, else SkuModel skuInfo → a line's options

def test_selected_choice_else_sku_info_gives_line_options_never_both(shop, client, tenant):
    chosen = rms_order()  # an item before Rakuten's SKU model: its variation only in selectedChoice
    item(chosen).update(selectedChoice="カラー:ネイビー\nサイズ:M",
                        SkuModelList=[{"variantId": SKU[0], "merchantDefinedSkuId": None, "skuInfo": None}])
    sku = rms_order()  # the sample: selectedChoice "", skuInfo describes the SKU
    both = rms_order()
    item(both)["selectedChoice"] = "ラッピング:希望する\nのし:不要"
    neither = rms_order()
    item(neither).update(selectedChoice=None,
                         SkuModelList=[{"variantId": SKU[1], "merchantDefinedSkuId": SKU[2], "skuInfo": None}])
    imported = import_orders(shop, client, tenant, chosen, sku, both, neither)
    assert [order["lines"][0]["options"] for order in imported] == [
        "カラー:ネイビー\nサイズ:M", "サイズ:M\nカラー:ネイビー", "ラッピング:希望する\nのし:不要", ""]


# SkuModel variantId equal to the item's manageNumber → no サブコード

def test_single_sku_variant_id_equal_to_manage_number_has_no_sub_code_and_a_mapping_without_one_matches(
        shop, client, tenant):
    actor = Actor("user", "admin", tenant.account_id)
    products.create_product(actor, "TOTE-006", "帆布トートバッグ")
    mapping.map_item(actor, shop.id, "tote-006", "", "TOTE-006")
    order = rms_order()
    item(order).update(itemName="帆布トートバッグ", itemNumber="tote-006", manageNumber="tote-006",
                       SkuModelList=[{"variantId": "tote-006", "merchantDefinedSkuId": None, "skuInfo": None}])
    (imported,) = import_orders(shop, client, tenant, order)
    (line,) = imported["lines"]
    assert (line["mall_item_id"], line["sub_code"], line["sku"], line["mapped"]) == ("tote-006", None, "TOTE-006", True)
    assert "unmapped_items" not in tag_codes(imported)


# orderProgress 200 (楽天処理中) or 400 (変更確定待ち) → 「楽天処理中」

def test_order_progress_200_and_400_hold_with_mall_processing_and_100_300_do_not(shop, client, tenant):
    auto_confirming(shop, tenant)
    imported = dict(zip((100, 200, 300, 400), import_orders(
        shop, client, tenant, *(rms_order(progress) for progress in (100, 200, 300, 400)))))
    for progress in (200, 400):
        order = imported[progress]
        assert "mall_processing" in tag_codes(order), progress
        assert order["status"] == "awaiting_confirmation", f"{progress}: a hold is never auto-confirmed"
        refused = client.post(f"/api/v1/orders/{order['id']}/confirm", headers=tenant.headers(**{"Accept-Language": "ja"}))
        assert refused.status_code == 409 and refused.json["error"]["code"] == "invalid_transition", refused.text
        assert "楽天処理中" in refused.json["error"]["message"]
        assert api_order(client, tenant, order["id"])["status"] == "awaiting_confirmation"
    for progress in (100, 300):
        assert "mall_processing" not in tag_codes(imported[progress]), progress
        assert imported[progress]["status"] == "confirmed", progress
    counts = client.get("/api/v1/orders/counts", headers=tenant.headers()).json
    assert (counts["attention"], counts["awaiting_confirmation"], counts["confirmed"]) == (2, 2, 2)  # 要対応: the held two


# socialGiftFlag 1 with the gift's placeholders → recipient empty, 「送付先入力待ち」

GIFT_PLACEHOLDERS = {"zipCode1": "999", "zipCode2": "9999", "prefecture": "入力待ち", "city": "入力待ち",
                     "subAddress": "入力待ち", "familyName": "入力待ち", "firstName": "入力待ち",
                     "familyNameKana": "ニュウリョクマチ", "firstNameKana": "ニュウリョクマチ",
                     "phoneNumber1": "999", "phoneNumber2": "9999", "phoneNumber3": "9999", "isolatedIslandFlag": 0}


def social_gift(order: dict, entered: bool) -> dict:
    order.update(socialGiftFlag=1, giftCheckFlag=1, equalSenderFlag=0)
    package(order)["SocialGiftModel"] = {"inputFlag": 1 if entered else 0}
    package(order)["SenderModel"] = {
        "zipCode1": "530", "zipCode2": "0001", "prefecture": "大阪府", "city": "大阪市北区", "subAddress": "梅田1-1-1",
        "familyName": "佐藤", "firstName": "太郎", "familyNameKana": "サトウ", "firstNameKana": "タロウ",
        "phoneNumber1": "06", "phoneNumber2": "1234", "phoneNumber3": "5678", "isolatedIslandFlag": 0,
    } if entered else dict(GIFT_PLACEHOLDERS)
    return order


def test_social_gift_with_placeholders_has_an_empty_recipient_and_holds_with_recipient_pending(shop, client, tenant):
    pending, entered = import_orders(shop, client, tenant, social_gift(rms_order(), entered=False),
                                     social_gift(rms_order(), entered=True))
    assert pending["recipient"] == {"name": "", "name_kana": "", "email": "", "phone": "", "postal_code": "",
                                    "address": ""}
    assert pending["buyer"]["name"] == "山田 花子"
    assert "recipient_pending" in tag_codes(pending)
    refused = client.post(f"/api/v1/orders/{pending['id']}/confirm", headers=tenant.headers(**{"Accept-Language": "ja"}))
    assert refused.status_code == 409 and refused.json["error"]["code"] == "invalid_transition", refused.text
    assert "送付先入力待ち" in refused.json["error"]["message"]
    # The same gift once its recipient entered an address: that address, no hold.
    assert (entered["recipient"]["name"], entered["recipient"]["postal_code"], entered["recipient"]["address"]) == (
        "佐藤 太郎", "530-0001", "大阪府大阪市北区梅田1-1-1")
    assert "recipient_pending" not in tag_codes(entered)


# PackageModel DeliveryCvsModel → pickup

def at_store(order: dict, cvs_code: int, store_code: str, name: str, zip_code: str, prefecture: str, address: str) -> dict:
    package(order)["DeliveryCvsModel"] = {
        "cvsCode": cvs_code, "storeGenreCode": "01", "storeCode": store_code, "storeName": name, "storeZip": zip_code,
        "storePrefecture": prefecture, "storeAddress": address, "areaCode": None, "depo": None, "openTime": None,
        "closeTime": None, "cvsRemarks": None}
    package(order)["SenderModel"].update(familyName="鈴木", firstName="一郎", familyNameKana="スズキ",
                                         firstNameKana="イチロウ")
    return order


def test_delivery_cvs_model_gives_pickup_and_the_recipient_stays_as_sender_model(shop, client, tenant):
    post = at_store(rms_order(), 60, "0123456", "見本郵便局", "100-0001", "東京都", "見本区見本町2-2-2")
    store = at_store(rms_order(), 1, "987654", "ファミリーマート見本町店", "530-0001", "大阪府", "大阪市北区梅田3-3-3")
    imported_post, imported_store = import_orders(shop, client, tenant, post, store)
    for found, kind, code, name, parts in (
            (imported_post, "post_office", "0123456", "見本郵便局", ("100-0001", "東京都", "見本区見本町2-2-2")),
            (imported_store, "convenience_store", "987654", "ファミリーマート見本町店",
             ("530-0001", "大阪府", "大阪市北区梅田3-3-3"))):
        pickup = found["pickup"]
        assert {key: pickup[key] for key in ("kind", "store_code", "store_name")} == {
            "kind": kind, "store_code": code, "store_name": name}
        positions = [pickup["address"].find(part) for part in parts]
        assert -1 not in positions and positions == sorted(positions), pickup["address"]
        assert (found["recipient"]["name"], found["recipient"]["postal_code"], found["recipient"]["address"]) == (
            "鈴木 一郎", "100-0001", "東京都見本区見本町1-2-3 サンプルハイツ101")
    plain = import_orders(shop, client, tenant, rms_order())[0]
    assert plain["pickup"] is None


# PackageModel dropOffFlag, dropOffLocation → drop_off

def test_drop_off_flag_1_gives_drop_off_place_and_0_gives_none(shop, client, tenant):
    placed, none, flag_off = rms_order(), rms_order(), rms_order()
    package(placed).update(dropOffFlag=1, dropOffLocation="玄関前")
    package(flag_off).update(dropOffFlag=0, dropOffLocation="宅配ボックス")
    imported = import_orders(shop, client, tenant, placed, none, flag_off)
    assert [order["drop_off"] for order in imported] == ["玄関前", None, None]


# Holds that only a read removes

def test_a_user_cannot_remove_mall_processing_amount_unfixed_or_recipient_pending(shop, client, tenant, staff_client):
    order = social_gift(rms_order(200), entered=False)
    order["postagePrice"] = -9999
    (imported,) = import_orders(shop, client, tenant, order)
    held = {tag["code"]: tag for tag in imported["tags"]}
    codes = ("mall_processing", "amount_unfixed", "recipient_pending")
    assert set(codes) <= set(held)
    for code in codes:
        current = api_order(client, tenant, imported["id"])
        refused = client.delete(f"/api/v1/orders/{imported['id']}/tags/{held[code]['id']}",
                                headers=tenant.headers(**{"Accept-Language": "ja", "If-Match": str(current["version"])}))
        assert refused.status_code == 409 and refused.json["error"]["code"] == "invalid_transition", (code, refused.text)
        assert held[code]["name"] in refused.json["error"]["message"]
        by_web = staff_client.post(f"/orders/{imported['id']}/tags/{held[code]['id']}/remove",
                                   data={"csrf_token": staff_client.csrf, "version": current["version"]}, headers=HTMX)
        assert by_web.status_code == 409 and "手動で外せません" in by_web.text, code
    after = api_order(client, tenant, imported["id"])
    assert set(codes) <= tag_codes(after) and after["version"] == imported["version"]
    events = client.get(f"/api/v1/orders/{imported['id']}/events", headers=tenant.headers()).json["items"]
    assert "tag_removed" not in [event["kind"] for event in events]


# Datetimes: one reader for +0900 and +09:00

def test_order_datetime_with_colon_offset_is_read_like_rms_form(shop, client, tenant, app):
    plain = rms_order()
    colon = rms_order()
    colon["orderDatetime"] = plain["orderDatetime"]
    plain_number, colon_number = shop.sandbox.add(plain, colon)
    spelled = plain["orderDatetime"].replace("+0900", "+09:00")
    store = Store(get_redis(), shop.sandbox.license_key)
    store.update_order(colon_number, lambda stored: stored.update(orderDatetime=spelled))
    assert store.load([colon_number])[0]["orderDatetime"] == spelled  # what getOrder answers
    result = importer.import_shop(db.session.get(Shop, shop.id))
    assert (result["created"], result["failed"]) == (2, 0), result
    read = [api_order(client, tenant, order_id(shop, number))["ordered_at"] for number in (plain_number, colon_number)]
    assert read == [spelled, spelled]
