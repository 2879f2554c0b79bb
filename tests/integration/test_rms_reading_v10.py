"""rakuten-rms.md §"Reading an order as RMS really sends it (getOrder version 10)": one test per row of its
table (and the datetime reader and the holds only a read removes), each over real HTTP — our client imports
from the sandbox a whole OrderModel (rms_orders.whole_order: every key RMS sends, nulls where it sends nulls)
with the fields of its row set, and each asserting on the order as the API shows it to outside clients.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from boss.extensions import db, get_redis
from boss.malls.rakuten import importer
from boss.malls.rakuten.sandbox.store import Store
from boss.models import Shop
from boss.orders import mapping, products, shops
from boss.orders.actor import Actor
from boss.orders.models import Order
from tests.integration import test_rms_import_batch
from tests.integration.rms_orders import MUG, item, sender, whole_order, with_package

shop = test_rms_import_batch.shop  # the fixture: the tenant's shop on the sandbox, MUG mapped
HTMX = {"HX-Request": "true"}
MUG_SKU = "カラー:藍"  # the mug's SKU as skuInfo describes it


def first_item(order: dict) -> dict:
    return order["PackageModelList"][0]["ItemModelList"][0]


def without_price_tax_incl(order: dict) -> dict:
    """The order with its first item's priceTaxIncl null (its amounts as whole_order made them)."""
    first_item(order)["priceTaxIncl"] = None
    return order


def amounts(order: dict, goods: int, postage: int, total: int, request: int) -> dict:
    """The order's and its package's 商品金額, 送料 and 合計金額, and the 請求金額, as RMS gives them."""
    order.update(goodsPrice=goods, postagePrice=postage, totalPrice=total, requestPrice=request)
    order["PackageModelList"][0].update(goodsPrice=goods, postagePrice=postage, totalPrice=total)
    return order


def paid_on_delivery(order: dict) -> dict:
    order["SettlementModel"].update(settlementMethodCode=2, settlementMethod="代金引換", rpaySettlementFlag=0)
    order["DeliveryModel"]["deliveryName"] = "代金引換"
    return order


WRAPPING = {"title": 1, "name": "ギフトラッピング", "price": 300, "includeTaxFlag": 1, "deleteWrappingFlag": 0,
            "taxRate": 0.1, "taxPrice": 27}


# ---------------------------------------------------------------- the import and the API

def auto_confirming(shop: Shop, tenant) -> None:
    shops.update_shop(Actor("user", "admin", tenant.account_id), shop.id, {"auto_confirm": True})


def import_orders(shop: Shop, client, tenant, *orders: dict) -> list[dict]:
    """Give the sandbox `orders`, run one import, and answer each as `GET /api/v1/orders/{id}` shows it."""
    numbers = shop.sandbox.add(*orders)
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


def money(order: dict) -> dict:
    return {key: order[key] for key in ("postage", "wrapping", "total", "charges", "discount", "points_used", "billed")}


def refused_confirm(client, tenant, order: dict) -> str:
    """Confirm the order through the API; it must be refused as invalid_transition: answers the message."""
    response = client.post(f"/api/v1/orders/{order['id']}/confirm", headers=tenant.headers(**{"Accept-Language": "ja"}))
    assert response.status_code == 409 and response.json["error"]["code"] == "invalid_transition", response.text
    assert api_order(client, tenant, order["id"])["status"] == "awaiting_confirmation"
    return response.json["error"]["message"]


# ---------------------------------------------------------------- the table, row by row

def test_client_asks_get_order_for_version_10(shop, client, tenant):
    import_orders(shop, client, tenant, whole_order())
    calls = requests.get(f"{shop.sandbox.rms_url}/_control/calls", params={"license_key": shop.sandbox.license_key},
                         timeout=30).json()["items"]
    versions = [call["body"].get("version") for call in calls if call["function"] == "getOrder"]
    assert versions and set(versions) == {10}


# ItemModel includeTaxFlag, price, priceTaxIncl, taxRate → a line's unit_price, always with tax

def test_include_tax_flag_0_with_price_tax_incl_unit_price_is_price_tax_incl(shop, client, tenant):
    """税別 1,499 at 10% is 1,648.9: the shop's rounding gave 1,649, and RMS's priceTaxIncl is what counts."""
    order = whole_order([item(price=1499, includeTaxFlag=0, taxRate=0.1, priceTaxIncl=1649)], postage=500)
    (imported,) = import_orders(shop, client, tenant, order)
    assert lines(imported) == [(MUG[0], MUG[1], 1, 1649)]
    assert (imported["total"], imported["postage"], imported["wrapping"], imported["billed"]) == (2149, 500, 0, 2149)


def test_include_tax_flag_0_without_price_tax_incl_adds_tax_rounded_down(shop, client, tenant):
    """The issue's sample: a 1,650-yen line stored as 1,500 and the total as 2,000 where RMS says 2,150. And
    税別 1,099 at 8% is 1,186.92: BOSS rounds down (its assumption where RMS gives no tax-included price)."""
    sample = whole_order([item(price=1500, includeTaxFlag=0, taxRate=0.1, priceTaxIncl=1650)], postage=500)
    tea = whole_order([item("tea-004", "tea-004-100g", price=1099, includeTaxFlag=0, taxRate=0.08, priceTaxIncl=1186,
                            itemName="静岡 深蒸し茶 100g")], postage=0)
    sample, tea = without_price_tax_incl(sample), without_price_tax_incl(tea)
    assert (sample["totalPrice"], tea["totalPrice"]) == (2150, 1186)  # RMS's
    imported_sample, imported_tea = import_orders(shop, client, tenant, sample, tea)
    assert lines(imported_sample) == [(MUG[0], MUG[1], 1, 1650)]
    assert (imported_sample["total"], imported_sample["wrapping"]) == (2150, 0)
    assert lines(imported_tea) == [("tea-004", "tea-004-100g", 1, 1186)]
    assert (imported_tea["total"], imported_tea["wrapping"]) == (1186, 0)


def test_include_tax_flag_1_unit_price_is_price(shop, client, tenant):
    order = without_price_tax_incl(whole_order([item(price=1800, units=2, includeTaxFlag=1)], postage=550))
    (imported,) = import_orders(shop, client, tenant, order)
    assert lines(imported) == [(MUG[0], MUG[1], 2, 1800)]
    assert imported["total"] == 4150


# goodsPrice, postagePrice, totalPrice → postage, wrapping, total

def test_postage_price_total_price_give_postage_wrapping_and_total(shop, client, tenant):
    """3,600 of goods, 550 postage and a 300-yen ラッピング: RMS's 合計金額 4,450 is ours at import."""
    wrapped = amounts(whole_order([item(price=1800, units=2)], postage=550, WrappingModel1=dict(WRAPPING)),
                      goods=3900, postage=550, total=4450, request=4450)
    plain = whole_order([item(price=1800, units=2)], postage=550)
    imported_wrapped, imported_plain = import_orders(shop, client, tenant, wrapped, plain)
    assert money(imported_wrapped) == {"postage": 550, "wrapping": 300, "total": 4450, "charges": 0, "discount": 0,
                                       "points_used": 0, "billed": 4450}
    assert money(imported_plain) == {"postage": 550, "wrapping": 0, "total": 4150, "charges": 0, "discount": 0,
                                     "points_used": 0, "billed": 4150}


# deliveryPrice, paymentCharge, additionalFeeOccurAmountToUser → charges

def test_delivery_price_payment_charge_and_additional_fee_sum_to_charges(shop, client, tenant):
    cash = paid_on_delivery(whole_order([item(price=1800, units=2)], postage=0, deliveryPrice=330,
                                        paymentCharge=110, requestPrice=4040))
    deferred = whole_order([item(price=1800, units=2)], postage=0, additionalFeeOccurAmountToUser=209,
                           requestPrice=3809)
    deferred["SettlementModel"].update(settlementMethodCode=16, settlementMethod="後払い決済")
    imported_cash, imported_deferred = import_orders(shop, client, tenant, cash, deferred)
    assert (imported_cash["total"], imported_cash["charges"], imported_cash["billed"]) == (3600, 440, 4040)
    assert (imported_deferred["total"], imported_deferred["charges"], imported_deferred["billed"]) == (3600, 209, 3809)


# couponAllTotalPrice, PointModel.usedPoint, requestPrice → discount, points_used, billed

def test_coupon_all_total_price_used_point_and_request_price_give_discount_points_used_and_billed(shop, client, tenant):
    """The issue's 代金引換 sample — "we show 120, the buyer pays 220": billed is RMS's 請求金額, what the parcel
    collects; and a card order with a coupon and points."""
    cash = paid_on_delivery(whole_order([item(price=120, itemName="ヘアゴム")], postage=0, deliveryPrice=100,
                                        requestPrice=220))
    coupon = whole_order([item(price=1800, units=2)], postage=0, couponAllTotalPrice=300, couponShopPrice=300,
                         PointModel={"usedPoint": 150}, requestPrice=3150, CouponModelList=[{
                             "couponCode": "ABCD-EFGH-IJKL-MNOP", "itemId": 0, "couponName": "見本店 300円OFFクーポン",
                             "couponSummary": "3,000円以上で300円OFF", "couponCapital": "ショップ",
                             "couponCapitalCode": 1, "expiryDate": "2026-12-31", "couponPrice": 300, "couponUnit": 1,
                             "couponTotalPrice": 300}])
    imported_cash, imported_coupon = import_orders(shop, client, tenant, cash, coupon)
    assert money(imported_cash) == {"postage": 0, "wrapping": 0, "total": 120, "charges": 100, "discount": 0,
                                    "points_used": 0, "billed": 220}
    assert money(imported_coupon) == {"postage": 0, "wrapping": 0, "total": 3600, "charges": 0, "discount": 300,
                                      "points_used": 150, "billed": 3150}


# -9999 in any amount → not yet fixed: 「金額未確定」

def priced() -> dict:
    """3,600 of goods + 550 postage + 300 wrapping = 4,450; 代引料 330, a 100-yen coupon, 50 points: 4,630 billed."""
    order = paid_on_delivery(whole_order([item(price=1800, units=2)], postage=550, WrappingModel1=dict(WRAPPING),
                                         deliveryPrice=330, couponAllTotalPrice=100, couponShopPrice=100,
                                         PointModel={"usedPoint": 50}))
    return amounts(order, goods=3900, postage=550, total=4450, request=4630)


@pytest.mark.parametrize("amount", ["goodsPrice", "postagePrice", "totalPrice", "requestPrice", "deliveryPrice",
                                    "paymentCharge", "additionalFeeOccurAmountToUser", "couponAllTotalPrice",
                                    "PointModel.usedPoint"])
def test_minus_9999_in_any_amount_leaves_amounts_unfixed_and_holds(shop, client, tenant, amount):
    auto_confirming(shop, tenant)
    unfixed = priced()
    if amount == "PointModel.usedPoint":
        unfixed["PointModel"]["usedPoint"] = -9999
    else:
        unfixed[amount] = -9999
    imported, control = import_orders(shop, client, tenant, unfixed, priced())
    assert money(imported) == {"postage": None, "wrapping": 0, "total": 3600, "charges": 0, "discount": 0,
                               "points_used": 0, "billed": None}
    assert "amount_unfixed" in tag_codes(imported)
    assert imported["status"] == "awaiting_confirmation", "a hold is never auto-confirmed"
    assert "金額未確定" in refused_confirm(client, tenant, imported)
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
        order = whole_order(shippingTerm=term)
        ordered_on = datetime.fromisoformat(order["orderDatetime"]).date()
        order["deliveryDate"] = None if index == 0 else (ordered_on + timedelta(days=index)).isoformat()
        orders.append(order)
    imported = import_orders(shop, client, tenant, *orders)
    assert [found["delivery_date"] for found in imported] == [order["deliveryDate"] for order in orders]
    assert [(term, found["delivery_time_slot"]) for (term, _), found in zip(SHIPPING_TERMS, imported)] == SHIPPING_TERMS


# ItemModel selectedChoice, else SkuModel skuInfo → a line's options

def test_selected_choice_else_sku_info_gives_line_options_never_both(shop, client, tenant):
    def sku(variant: str, info):
        return [{"variantId": variant, "merchantDefinedSkuId": None, "skuInfo": info}]

    chosen = whole_order([item(selectedChoice="カラー:藍\nサイズ:大", SkuModelList=sku(MUG[0], None))])  # before SKUs
    described = whole_order([item(selectedChoice="", SkuModelList=sku(MUG[1], MUG_SKU))])
    both = whole_order([item(selectedChoice="ラッピング:希望する\nのし:不要", SkuModelList=sku(MUG[1], MUG_SKU))])
    neither = whole_order([item(selectedChoice=None, SkuModelList=sku(MUG[1], None))])
    imported = import_orders(shop, client, tenant, chosen, described, both, neither)
    assert [order["lines"][0]["options"] for order in imported] == [
        "カラー:藍\nサイズ:大", MUG_SKU, "ラッピング:希望する\nのし:不要", ""]


# SkuModel variantId equal to the item's manageNumber → no サブコード

def test_single_sku_variant_id_equal_to_manage_number_has_no_sub_code_and_a_mapping_without_one_matches(
        shop, client, tenant):
    actor = Actor("user", "admin", tenant.account_id)
    products.create_product(actor, "TOTE-006", "帆布トートバッグ")
    mapping.map_item(actor, shop.id, "tote-006", "", "TOTE-006")
    (imported,) = import_orders(shop, client, tenant, whole_order([item("tote-006", "tote-006", itemName="帆布トートバッグ")]))
    (line,) = imported["lines"]
    assert (line["mall_item_id"], line["sub_code"], line["sku"], line["mapped"]) == ("tote-006", None, "TOTE-006", True)
    assert "unmapped_items" not in tag_codes(imported)


# orderProgress 200 (楽天処理中) or 400 (変更確定待ち) → 「楽天処理中」

def test_order_progress_200_and_400_hold_with_mall_processing_and_100_300_do_not(shop, client, tenant):
    auto_confirming(shop, tenant)
    imported = dict(zip((100, 200, 300, 400), import_orders(
        shop, client, tenant, *(whole_order(progress=progress) for progress in (100, 200, 300, 400)))))
    for progress in (200, 400):
        assert "mall_processing" in tag_codes(imported[progress]), progress
        assert imported[progress]["status"] == "awaiting_confirmation", f"{progress}: a hold is never auto-confirmed"
        assert "楽天処理中" in refused_confirm(client, tenant, imported[progress])
    for progress in (100, 300):
        assert "mall_processing" not in tag_codes(imported[progress]), progress
        assert imported[progress]["status"] == "confirmed", progress
    counts = client.get("/api/v1/orders/counts", headers=tenant.headers()).json
    assert (counts["attention"], counts["awaiting_confirmation"], counts["confirmed"]) == (2, 2, 2)  # 要対応: the held two


# socialGiftFlag 1 with the gift's placeholders → recipient empty, 「送付先入力待ち」

GIFT_PLACEHOLDERS = sender(zipCode1="999", zipCode2="9999", prefecture="入力待ち", city="入力待ち", subAddress="入力待ち",
                           familyName="入力待ち", firstName="入力待ち", familyNameKana="ニュウリョクマチ",
                           firstNameKana="ニュウリョクマチ", phoneNumber1="999", phoneNumber2="9999", phoneNumber3="9999")
GIFT_RECIPIENT = sender(zipCode1="530", zipCode2="0001", prefecture="大阪府", city="大阪市北区", subAddress="梅田1-1-1",
                        familyName="佐藤", firstName="次郎", familyNameKana="サトウ", firstNameKana="ジロウ",
                        phoneNumber1="06", phoneNumber2="1234", phoneNumber3="5678")


def social_gift(order: dict, entered: bool) -> dict:
    order.update(socialGiftFlag=1, giftCheckFlag=1, equalSenderFlag=0)
    return with_package(order, SocialGiftModel={"inputFlag": 1 if entered else 0},
                        SenderModel=GIFT_RECIPIENT if entered else GIFT_PLACEHOLDERS)


def test_social_gift_with_placeholders_has_an_empty_recipient_and_holds_with_recipient_pending(shop, client, tenant):
    pending, entered = import_orders(shop, client, tenant, social_gift(whole_order(), entered=False),
                                     social_gift(whole_order(), entered=True))
    assert pending["recipient"] == {"name": "", "name_kana": "", "email": "", "phone": "", "postal_code": "",
                                    "address": ""}
    assert pending["buyer"]["name"] == "山田 太郎"
    assert "recipient_pending" in tag_codes(pending)
    assert "送付先入力待ち" in refused_confirm(client, tenant, pending)
    # The same gift once its recipient entered an address: that address, no hold.
    assert (entered["recipient"]["name"], entered["recipient"]["postal_code"], entered["recipient"]["address"]) == (
        "佐藤 次郎", "530-0001", "大阪府大阪市北区梅田1-1-1")
    assert "recipient_pending" not in tag_codes(entered)


# PackageModel DeliveryCvsModel → pickup

def at_store(cvs_code: int, store_code: str, name: str, zip_code: str, prefecture: str, address: str) -> dict:
    return with_package(whole_order(), SenderModel=sender(familyName="鈴木", firstName="一郎", familyNameKana="スズキ",
                                                          firstNameKana="イチロウ"), DeliveryCvsModel={
        "cvsCode": cvs_code, "storeGenreCode": "01", "storeCode": store_code, "storeName": name, "storeZip": zip_code,
        "storePrefecture": prefecture, "storeAddress": address, "areaCode": None, "depo": None, "openTime": None,
        "closeTime": None, "cvsRemarks": None})


def test_delivery_cvs_model_gives_pickup_and_the_recipient_stays_as_sender_model(shop, client, tenant):
    post = at_store(60, "0123456", "見本郵便局", "100-0001", "東京都", "見本区見本町2-2-2")
    store = at_store(1, "987654", "ファミリーマート見本町店", "530-0001", "大阪府", "大阪市北区梅田3-3-3")
    imported_post, imported_store, plain = import_orders(shop, client, tenant, post, store, whole_order())
    for found, kind, code, name, parts in (
            (imported_post, "post_office", "0123456", "見本郵便局", ("100-0001", "東京都", "見本区見本町2-2-2")),
            (imported_store, "convenience_store", "987654", "ファミリーマート見本町店",
             ("530-0001", "大阪府", "大阪市北区梅田3-3-3"))):
        pickup = found["pickup"]
        assert {key: pickup[key] for key in ("kind", "store_code", "store_name")} == {
            "kind": kind, "store_code": code, "store_name": name}
        positions = [pickup["address"].find(part) for part in parts]  # zip, prefecture and address, joined
        assert -1 not in positions and positions == sorted(positions), pickup["address"]
        assert (found["recipient"]["name"], found["recipient"]["postal_code"], found["recipient"]["address"]) == (
            "鈴木 一郎", "100-0001", "東京都見本区見本町1-2-3 サンプルハイツ101")
    assert plain["pickup"] is None


# PackageModel dropOffFlag, dropOffLocation → drop_off

def test_drop_off_flag_1_gives_drop_off_place_and_0_gives_none(shop, client, tenant):
    placed = with_package(whole_order(), dropOffFlag=1, dropOffLocation="玄関前")
    flag_off = with_package(whole_order(), dropOffFlag=0, dropOffLocation="宅配ボックス")
    imported = import_orders(shop, client, tenant, placed, whole_order(), flag_off)
    assert [order["drop_off"] for order in imported] == ["玄関前", None, None]


# Holds that only a read removes

def test_a_user_cannot_remove_mall_processing_amount_unfixed_or_recipient_pending(shop, client, tenant, staff_client):
    (imported,) = import_orders(shop, client, tenant, social_gift(whole_order(progress=200, postagePrice=-9999), False))
    held = {tag["code"]: tag for tag in imported["tags"]}
    codes = ("mall_processing", "amount_unfixed", "recipient_pending")
    assert set(codes) <= set(held)
    for code in codes:
        version = api_order(client, tenant, imported["id"])["version"]
        headers = tenant.headers(**{"Accept-Language": "ja", "If-Match": str(version)})
        refused = client.delete(f"/api/v1/orders/{imported['id']}/tags/{held[code]['id']}", headers=headers)
        assert (refused.status_code, refused.json["error"]["code"]) == (409, "invalid_transition"), refused.text
        assert held[code]["name"] in refused.json["error"]["message"]
        by_web = staff_client.post(f"/orders/{imported['id']}/tags/{held[code]['id']}/remove",
                                   data={"csrf_token": staff_client.csrf, "version": version}, headers=HTMX)
        assert by_web.status_code == 409 and "手動で外せません" in by_web.text, code
    after = api_order(client, tenant, imported["id"])
    assert set(codes) <= tag_codes(after) and after["version"] == imported["version"]
    events = client.get(f"/api/v1/orders/{imported['id']}/events", headers=tenant.headers()).json["items"]
    assert "tag_removed" not in [event["kind"] for event in events]


# Datetimes: one reader for +0900 and +09:00

def test_order_datetime_with_colon_offset_is_read_like_rms_form(shop, client, tenant):
    plain = whole_order()
    plain_number, colon_number = shop.sandbox.add(plain, whole_order(orderDatetime=plain["orderDatetime"]))
    spelled = plain["orderDatetime"].replace("+0900", "+09:00")
    store = Store(get_redis(), shop.sandbox.license_key)  # RMS writes it so: the sandbox's control API would not
    store.update_order(colon_number, lambda stored: stored.update(orderDatetime=spelled))
    assert store.load([colon_number])[0]["orderDatetime"] == spelled  # what getOrder answers
    result = importer.import_shop(db.session.get(Shop, shop.id))
    assert (result["created"], result["failed"]) == (2, 0), result
    read = [api_order(client, tenant, order_id(shop, number))["ordered_at"] for number in (plain_number, colon_number)]
    assert read == [spelled, spelled]


# ---------------------------------------------------------------- the sandbox's realistic mix, whole

def test_the_sandboxs_realistic_mix_imports_whole_and_reads_every_kind_of_order_as_the_table_says(app, shop, tenant,
                                                                                                   client):
    """200 orders of the mix the sandbox (and the demo) generate: every one imported, none refused, and for
    each the amounts, options, サブコード, pickup, 置き配 and holds as the table reads RMS's own figures."""
    from boss.malls.rakuten import connection, reread
    from boss.malls.rakuten.reader import read_order

    numbers = shop.sandbox.control("orders", {"generate": 200, "mix": "realistic", "seed": 13})["order_numbers"]
    models = {o.number: o.raw for o in connection.client_for(db.session.get(Shop, shop.id)).get_order(numbers).orders}
    result = importer.import_shop(db.session.get(Shop, shop.id))
    assert (result["created"], result["failed"]) == (200, 0), result["errors"]
    seen = set()
    for number in numbers:
        model, rms = models[number], read_order(models[number])
        # What the import keeps of the read is the order's own columns (only its hash is stored apart).
        stored = db.session.get(Order, _id_of(number))
        assert stored.rms_read is None and reread.columns_read(stored) == importer.new_order(shop.id, rms).rms_read
        order = client.get(f"/api/v1/orders/{_id_of(number)}", headers=tenant.headers()).json
        codes = {tag["code"] for tag in order["tags"]}
        if rms.amounts_fixed:
            assert order["total"] == model["totalPrice"] and order["billed"] == model["requestPrice"], number
            assert order["charges"] == model["deliveryPrice"] + model["paymentCharge"] + \
                model["additionalFeeOccurAmountToUser"]
            seen.update({"charges"} if order["charges"] else set())
            seen.update({"discount"} if order["discount"] or order["points_used"] else set())
        else:
            assert order["billed"] is None and "amount_unfixed" in codes
        items = model["PackageModelList"][0]["ItemModelList"]
        for line, item_model in zip(order["lines"], items):
            assert line["unit_price"] == item_model["priceTaxIncl"]
            seen.update({"tax_excluded"} if item_model["includeTaxFlag"] == 0 else set())
            if item_model["SkuModelList"] and item_model["SkuModelList"][0]["variantId"] == item_model["manageNumber"]:
                assert line["sub_code"] is None
                seen.add("single_sku")
            assert line["options"] == (item_model["selectedChoice"] or item_model["SkuModelList"][0]["skuInfo"] or "")
            seen.update({"selected_choice"} if item_model["selectedChoice"] else set())
        assert ("mall_processing" in codes) is (model["orderProgress"] in (200, 400))
        assert ("recipient_pending" in codes) is rms.recipient_pending
        if rms.recipient_pending:
            assert order["recipient"]["name"] == order["recipient"]["address"] == ""
        seen.update(key for key, present in (
            ("processing", "mall_processing" in codes), ("gift", rms.recipient_pending), ("pickup", order["pickup"]),
            ("drop_off", order["drop_off"]), ("delivery", order["delivery_time_slot"])) if present)
    assert seen >= {"charges", "discount", "tax_excluded", "single_sku", "selected_choice", "processing", "gift",
                    "pickup", "drop_off", "delivery"}, seen


def _id_of(number: str) -> int:
    return db.session.scalars(select(Order.id).where(Order.mall_order_number == number)).one()
