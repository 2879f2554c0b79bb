"""Made-up orders in the shape of getOrder version 10: realistic OrderModels for the demo, the benchmarks and
tests, partial ones filled in, and whole ones kept as given.

Two mixes (`_control/orders` with `generate`, `"mix"`):
- `plain`: tax-included SKU items of `CATALOGUE`, credit card, 代引 or bank transfer, one package, every order at
  the progress asked for — what the import has always read;
- `realistic`: beside those, a share of 税別 items, items of before the SKU model (their variation only in
  `selectedChoice`), single-SKU items (variantId = manageNumber), coupons and points, 後払い with its fee, a
  delivery date and slot, wrapping, 置き配, a pickup at a convenience store or post office, a social gift waiting
  for its address, and (when 100 is asked for) a share at 200 (楽天処理中).
Amounts add up as RMS computes them (rakuten-rms.md §Reading an order): goodsPrice = Σ tax-included line
price × units + wrapping, totalPrice = goodsPrice + postagePrice, requestPrice = totalPrice + deliveryPrice (代引料)
+ paymentCharge + additionalFeeOccurAmountToUser − couponAllTotalPrice − PointModel.usedPoint. `unfixed_share`
makes that share's postage, total and request -9999 (not yet fixed), as RMS shows an order whose postage the
shop has still to set.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Optional

from ....integrations.sandbox import ControlError
from ..reader import JST, format_rms_datetime
from .contract import PROGRESSES, given_datetime, is_int
from .store import Store

FAMILY_NAMES = [("山田", "ヤマダ"), ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"),
                ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
                ("吉田", "ヨシダ"), ("松本", "マツモト")]
FIRST_NAMES = [("花子", "ハナコ"), ("太郎", "タロウ"), ("美咲", "ミサキ"), ("健太", "ケンタ"), ("陽菜", "ヒナ"),
               ("翔太", "ショウタ"), ("さくら", "サクラ"), ("大輔", "ダイスケ"), ("由美", "ユミ"), ("誠", "マコト"),
               ("結衣", "ユイ"), ("蓮", "レン")]
PLACES = [("150", "0002", "東京都", "渋谷区", "渋谷", "03"), ("530", "0001", "大阪府", "大阪市北区", "梅田", "06"),
          ("460", "0008", "愛知県", "名古屋市中区", "栄", "052"), ("812", "0011", "福岡県", "福岡市博多区", "博多駅前", "092"),
          ("060", "0001", "北海道", "札幌市中央区", "北一条西", "011"), ("980", "0021", "宮城県", "仙台市青葉区", "中央", "022"),
          ("730", "0011", "広島県", "広島市中区", "基町", "082"), ("604", "8001", "京都府", "京都市中京区", "見本町", "075")]
BUILDINGS = ["", " サンプルハイツ101", " 見本マンション305", " コーポ見本202", ""]
# (manageNumber, itemName, tax-included price, [(variant, skuInfo)]): the benchmarks map each variant to a product
CATALOGUE = [
    ("tshirt-001", "オーガニックコットンTシャツ", 1800, [("M-navy", "サイズ:M\nカラー:ネイビー"), ("L-white", "サイズ:L\nカラー:ホワイト")]),
    ("mug-002", "波佐見焼 マグカップ", 2200, [("ai", "カラー:藍"), ("shiro", "カラー:白")]),
    ("towel-003", "今治タオル フェイスタオル", 1100, [("beige", "カラー:ベージュ"), ("gray", "カラー:グレー")]),
    ("tea-004", "静岡 深蒸し茶 100g", 1080, [("100g", "内容量:100g")]),
    ("socks-005", "綿混 くつ下 3足組", 990, [("23-25", "サイズ:23-25cm"), ("25-27", "サイズ:25-27cm")]),
]
# Realistic mix only. Items without variations: RMS fills variantId with the management number.
SINGLE_SKU_ITEMS = [("soap-006", "無添加 オリーブ石けん 3個入", 1320), ("honey-008", "国産 れんげはちみつ 300g", 2480)]
# Items of before the SKU model: the buyer's choice only in selectedChoice (項目選択肢), skuInfo empty.
CHOICE_ITEMS = [
    ("yukata-007", "綿麻 浴衣", 8800, ["カラー:ネイビー\nサイズ:M", "カラー:えんじ\nサイズ:L", "カラー:ネイビー\nサイズ:F"]),
    ("apron-009", "帆布 エプロン", 3300, ["カラー:生成り\n名入れ:なし", "カラー:カーキ\n名入れ:あり(+0円)"]),
]
FOOD = ("tea-004", "honey-008")  # 8% (軽減税率)
SETTLEMENTS = [(1, "クレジットカード"), (1, "クレジットカード"), (2, "代金引換"), (9, "銀行振込")]
REALISTIC_SETTLEMENTS = SETTLEMENTS + [(1, "クレジットカード"), (21, "後払い決済"), (2, "代金引換")]
CASH_ON_DELIVERY = 2
BANK_TRANSFER = 9
AFTER_PAYMENT = 21
AFTER_PAYMENT_FEE = 250
FREE_POSTAGE_FROM = 3980
POSTAGE = 550
SHIPPING_TERMS = [0, 1, 2, 812, 1214, 1416, 1618, 1820, 1921, 9]
DROP_OFF_PLACES = ["玄関前", "宅配ボックス", "メーターボックス", "車庫", "自転車のカゴ"]
# (cvsCode, storeGenreCode, chain): 60 is the post office
PICKUP_PLACES = [(1, "1", "ファミリーマート"), (20, "20", "ミニストップ"), (50, "50", "ローソン"), (60, "60", "郵便局")]
GIFT_PLACEHOLDER = {"zipCode1": "999", "zipCode2": "9999", "prefecture": "入力待ち", "city": "入力待ち",
                    "subAddress": "入力待ち", "familyName": "入力待ち", "firstName": "入力待ち",
                    "familyNameKana": "ニュウリョクマチ", "firstNameKana": "ニュウリョクマチ",
                    "phoneNumber1": "999", "phoneNumber2": "9999", "phoneNumber3": "9999"}
NOT_FIXED = -9999
MIXES = ("plain", "realistic")
# The OrderModel keys rakuten-rms.md §Order numbers names: an order given with all of them is a whole one
WHOLE_ORDER_KEYS = ("orderNumber", "orderProgress", "subStatusId", "subStatusName", "orderDatetime", "remarks",
                    "goodsPrice", "postagePrice", "totalPrice", "requestPrice", "OrdererModel", "SettlementModel",
                    "PackageModelList")


def person(rng: random.Random) -> dict:
    family, family_kana = rng.choice(FAMILY_NAMES)
    first, first_kana = rng.choice(FIRST_NAMES)
    zip1, zip2, prefecture, city, town, area_code = rng.choice(PLACES)
    return {
        "zipCode1": zip1, "zipCode2": zip2, "prefecture": prefecture, "city": city,
        "subAddress": f"{town}{rng.randint(1, 5)}-{rng.randint(1, 20)}-{rng.randint(1, 30)}{rng.choice(BUILDINGS)}",
        "familyName": family, "firstName": first, "familyNameKana": family_kana, "firstNameKana": first_kana,
        "phoneNumber1": area_code, "phoneNumber2": f"{rng.randint(0, 9999):04d}"[: 6 - len(area_code)],
        "phoneNumber3": f"{rng.randint(0, 9999):04d}",
    }


def tax_percent_of(manage_number: str) -> int:
    return 8 if manage_number in FOOD else 10


def tax_included(price: int, tax_percent: int) -> int:
    """A tax-exclusive price with tax, rounded down (integers: no float rounding)."""
    return price * (100 + tax_percent) // 100


# --------------------------------------------------------------------------------------------- items

def item_model(rng: random.Random, manage_number: str, name: str, price: int, units: int, sku: dict,
               selected_choice: str = "", tax_exclusive: bool = False) -> dict:
    """An ItemModel; `price` is tax-included unless `tax_exclusive` (税別: then priceTaxIncl adds the tax)."""
    tax_percent = tax_percent_of(manage_number)
    return {
        "itemDetailId": rng.randint(10**8, 10**9 - 1), "itemName": name, "itemId": rng.randint(10**7, 10**8 - 1),
        "itemNumber": manage_number, "manageNumber": manage_number, "price": price, "units": units,
        "includePostageFlag": 0, "includeTaxFlag": 0 if tax_exclusive else 1, "includeCashOnDeliveryPostageFlag": 0,
        "selectedChoice": selected_choice, "pointRate": rng.choice([1, 1, 2, 5]), "pointType": 0, "inventoryType": 2,
        "delvdateInfo": rng.choice(["1～2日以内に発送予定（店舗休業日を除く）", "3～5日以内に発送予定（店舗休業日を除く）"]),
        "restoreInventoryFlag": 0, "dealFlag": 0, "drugFlag": 0, "deleteItemFlag": 0,
        "taxRate": tax_percent / 100, "priceTaxIncl": tax_included(price, tax_percent) if tax_exclusive else price,
        "isSingleItemShipping": 0, "SkuModelList": [sku],
    }


def plain_item(rng: random.Random, tax_exclusive: bool = False) -> dict:
    manage_number, name, price, variants = rng.choice(CATALOGUE)
    variant, sku_info = rng.choice(variants)
    variant_id = f"{manage_number}-{variant}"
    sku = {"variantId": variant_id, "merchantDefinedSkuId": variant_id.upper().replace("-", ""), "skuInfo": sku_info}
    if tax_exclusive:  # the shop shows 税別: the same goods at the price without tax
        price = price * 100 // (100 + tax_percent_of(manage_number))
    return item_model(rng, manage_number, name, price, rng.randint(1, 3), sku, tax_exclusive=tax_exclusive)


def realistic_item(rng: random.Random) -> dict:
    kind = rng.random()
    if kind < 0.15:
        manage_number, name, price, choices = rng.choice(CHOICE_ITEMS)
        sku = {"variantId": manage_number, "merchantDefinedSkuId": None, "skuInfo": ""}
        return item_model(rng, manage_number, name, price, rng.randint(1, 2), sku, selected_choice=rng.choice(choices))
    if kind < 0.30:
        manage_number, name, price = rng.choice(SINGLE_SKU_ITEMS)
        sku = {"variantId": manage_number, "merchantDefinedSkuId": manage_number.upper().replace("-", ""),
               "skuInfo": ""}
        return item_model(rng, manage_number, name, price, rng.randint(1, 3), sku)
    return plain_item(rng, tax_exclusive=rng.random() < 0.25)


def distinct_items(rng: random.Random, make, count: int) -> list[dict]:
    """Up to `count` items, none repeating an item of the order (RMS lists one line per item and variation)."""
    items, seen = [], set()
    for _ in range(count * 3):
        item = make(rng)
        key = (item["manageNumber"], item["SkuModelList"][0]["variantId"], item["selectedChoice"])
        if key not in seen:
            seen.add(key)
            items.append(item)
        if len(items) == count:
            break
    return items


def line_total(item: dict) -> int:
    return item["priceTaxIncl"] * item["units"]


# --------------------------------------------------------------------------------------------- packages

def pickup(rng: random.Random) -> dict:
    code, genre, chain = rng.choice(PICKUP_PLACES)
    zip1, zip2, prefecture, city, town, _ = rng.choice(PLACES)
    store_name = f"{city}{town}郵便局" if code == 60 else f"{chain} {town}{rng.randint(1, 9)}丁目店"
    return {"cvsCode": code, "storeGenreCode": genre, "storeCode": f"{rng.randint(0, 999999):06d}",
            "storeName": store_name, "storeZip": f"{zip1}-{zip2}", "storePrefecture": prefecture,
            "storeAddress": f"{city}{town}{rng.randint(1, 5)}-{rng.randint(1, 20)}-{rng.randint(1, 30)}",
            "areaCode": None, "depo": None, "openTime": None, "closeTime": None,
            "cvsRemarks": "受取期限はお届けから7日間です。" if code == 60 else ""}


def package_model(rng: random.Random, items: list[dict], postage: int, cod_fee: int, recipient: dict, *,
                  cvs: Optional[dict] = None, drop_off: Optional[str] = None, gift_waiting: bool = False) -> dict:
    goods = sum(line_total(item) for item in items)
    return {
        "basketId": rng.randint(10**8, 10**9 - 1), "postagePrice": postage, "postageTaxRate": 0.1,
        "deliveryPrice": cod_fee, "deliveryTaxRate": 0.1,
        "goodsTax": sum((item["priceTaxIncl"] - item["price"]) * item["units"] for item in items),
        "goodsPrice": goods, "totalPrice": goods + postage if postage != NOT_FIXED else NOT_FIXED,
        "noshi": None, "packageDeleteFlag": 0,
        "SenderModel": {**(GIFT_PLACEHOLDER if gift_waiting else recipient), "isolatedIslandFlag": 0},
        "ItemModelList": items, "ShippingModelList": [], "DeliveryCvsModel": cvs,
        "defaultDeliveryCompanyCode": "1003" if cvs and cvs["cvsCode"] == 60 else "1001",
        "dropOffFlag": 1 if drop_off else 0, "dropOffLocation": drop_off,
        "SocialGiftModel": {"inputFlag": 0} if gift_waiting else None,
    }


# --------------------------------------------------------------------------------------------- orders

def generated_order(rng: random.Random, number: str, ordered_at: datetime, progress: int, mix: str = "plain",
                    unfixed: bool = False) -> dict:
    """A whole version-10 OrderModel of the given mix (see the module's docstring)."""
    realistic = mix == "realistic"
    orderer = person(rng)
    recipient = dict(orderer) if rng.random() < 0.8 else person(rng)
    items = distinct_items(rng, realistic_item if realistic else plain_item, rng.randint(1, 3))
    lines = sum(line_total(item) for item in items)
    settlement_code, settlement = rng.choice(REALISTIC_SETTLEMENTS if realistic else SETTLEMENTS)
    cod = settlement_code == CASH_ON_DELIVERY

    gift_waiting = realistic and not cod and rng.random() < 0.06
    cvs = pickup(rng) if realistic and not cod and not gift_waiting and rng.random() < 0.08 else None
    drop_off = (rng.choice(DROP_OFF_PLACES) if realistic and not cod and cvs is None and rng.random() < 0.12
                else None)
    wrapping = wrapping_model(rng) if realistic and rng.random() < 0.06 else None
    wrapping_price = wrapping["price"] if wrapping else 0
    postage = 0 if lines >= FREE_POSTAGE_FROM else POSTAGE
    cod_fee = (330 if lines < 10_000 else 440 if lines < 30_000 else 660) if cod else 0
    after_fee = AFTER_PAYMENT_FEE if settlement_code == AFTER_PAYMENT else 0
    goods = lines + wrapping_price
    total = goods + postage
    coupon = coupon_model(rng, items[0], ordered_at) if realistic and rng.random() < 0.15 else None
    coupon_price = coupon["couponTotalPrice"] if coupon else 0
    points = min(rng.choice([100, 300, 500, 1000, 2000]), total - coupon_price) if realistic and rng.random() < 0.2 else 0
    request = total + cod_fee + after_fee - coupon_price - points
    if unfixed:
        postage = total = request = NOT_FIXED
    delivery_date = (ordered_at.astimezone(JST).date() + timedelta(days=rng.randint(3, 10))
                     if realistic and cvs is None and rng.random() < 0.3 else None)
    shipping_term = rng.choice(SHIPPING_TERMS) if delivery_date else None
    package = package_model(rng, items, postage, cod_fee, recipient, cvs=cvs, drop_off=drop_off,
                            gift_waiting=gift_waiting)
    if realistic and progress == 100 and rng.random() < 0.15:
        progress = 200
    return {
        "orderNumber": number, "orderProgress": progress, "subStatusId": None, "subStatusName": None,
        "orderDatetime": format_rms_datetime(ordered_at), "shopOrderCfmDatetime": None, "orderFixDatetime": None,
        "shippingInstDatetime": None, "shippingCmplRptDatetime": None,
        "cancelDueDate": (ordered_at.astimezone(JST).date() + timedelta(days=14)).isoformat(),
        "deliveryDate": delivery_date.isoformat() if delivery_date else None, "shippingTerm": shipping_term,
        "remarks": remarks(rng, delivery_date, shipping_term, realistic),
        "giftCheckFlag": 1 if gift_waiting or wrapping else 0, "severalSenderFlag": 0,
        "equalSenderFlag": 1 if recipient == orderer and not gift_waiting else 0, "isolatedIslandFlag": 0,
        "rakutenMemberFlag": 1, "carrierCode": 0, "emailCarrierCode": 0, "orderType": 1, "reserveNumber": None,
        "reserveDeliveryCount": None, "cautionDisplayType": 0, "cautionDisplayDetailType": None,
        "rakutenConfirmFlag": 0, "goodsPrice": goods,
        "goodsTax": package["goodsTax"], "postagePrice": postage, "deliveryPrice": cod_fee, "paymentCharge": 0,
        "paymentChargeTaxRate": 0.1, "totalPrice": total, "requestPrice": request,
        "couponAllTotalPrice": coupon_price, "couponShopPrice": coupon_price, "couponOtherPrice": 0,
        "additionalFeeOccurAmountToUser": after_fee, "additionalFeeOccurAmountToShop": 0,
        "asurakuFlag": 0, "drugFlag": 0, "dealFlag": 0, "membershipType": 0, "memo": None, "operator": None,
        "mailPlugSentence": None, "modifyFlag": 0, "isTaxRecalc": 0, "receiptIssueCount": 0,
        "receiptIssueHistoryList": [], "socialGiftFlag": 1 if gift_waiting else 0,
        "OrdererModel": {**orderer, "emailAddress": f"{rng.getrandbits(40):010x}@fw.rakuten.ne.jp",
                         "sex": rng.choice(["男", "女"]), "birthYear": None, "birthMonth": None, "birthDay": None},
        "SettlementModel": settlement_model(rng, settlement_code, settlement, orderer),
        "DeliveryModel": {"deliveryName": delivery_name(cod, cvs), "deliveryClass": 0},
        "PointModel": {"usedPoint": points},
        "WrappingModel1": wrapping, "WrappingModel2": None,
        "PackageModelList": [package],
        "CouponModelList": [coupon] if coupon else [],
        "ChangeReasonModelList": [],
        "TaxSummaryModelList": tax_summary(items, total - lines, cod_fee + after_fee, coupon_price, points, unfixed),
        "DueDateModelList": [{"dueDateType": 0, "dueDate": (ordered_at.astimezone(JST).date() + timedelta(days=7)).isoformat()}]
        if settlement_code == BANK_TRANSFER else [],
    }


def remarks(rng: random.Random, delivery_date, shipping_term: Optional[int], realistic: bool) -> str:
    if not realistic:
        return "[配送日時指定:]\n" + rng.choice(["指定なし", "午前中", "14:00～16:00", "19:00～21:00"])
    if delivery_date is None:
        return "[配送日時指定:]\n指定なし"
    return f"[配送日時指定:]\n{delivery_date:%Y-%m-%d}({'月火水木金土日'[delivery_date.weekday()]}) {slot_text(shipping_term)}"


def slot_text(term: Optional[int]) -> str:
    if term in (None, 0):
        return "時間指定なし"
    if term == 1:
        return "午前中"
    if term == 2:
        return "午後"
    if term == 9:
        return "その他"
    return f"{term // 100}:00～{term % 100}:00"


def delivery_name(cod: bool, cvs: Optional[dict]) -> str:
    if cvs:
        return "郵便局受取" if cvs["cvsCode"] == 60 else "コンビニ受取"
    return "代金引換" if cod else "宅配便"


def settlement_model(rng: random.Random, code: int, name: str, orderer: dict) -> dict:
    card = code == 1
    return {"settlementMethodCode": code, "settlementMethod": name, "rpaySettlementFlag": 1,
            "cardName": rng.choice(["VISA", "MasterCard", "JCB"]) if card else None,
            "cardNumber": f"XXXX-XXXX-XXXX-{rng.randint(0, 9999):04d}" if card else None,
            "cardOwner": f"{orderer['familyNameKana']} {orderer['firstNameKana']}" if card else None,
            "cardYm": f"20{rng.randint(27, 31)}-{rng.randint(1, 12):02d}" if card else None,
            "cardPayType": 0 if card else None, "cardInstallmentDesc": None}


def wrapping_model(rng: random.Random) -> dict:
    return {"title": 1, "name": rng.choice(["ギフトラッピング", "のし・包装"]), "price": 330, "includeTaxFlag": 1,
            "deleteWrappingFlag": 0, "taxRate": 0.1, "taxPrice": 30}


def coupon_model(rng: random.Random, item: dict, ordered_at: datetime) -> dict:
    price = rng.choice([100, 200, 300, 500])
    return {"couponCode": f"SHOP-{rng.getrandbits(32):08X}", "itemId": item["itemId"],
            "couponName": f"{price}円OFFクーポン", "couponSummary": f"{price}円OFF", "couponCapital": "ショップ",
            "couponCapitalCode": 1, "expiryDate": (ordered_at.astimezone(JST).date() + timedelta(days=30)).isoformat(),
            "couponPrice": price, "couponUnit": 1, "couponTotalPrice": price, "itemDetailId": item["itemDetailId"]}


def tax_summary(items: list[dict], postage_and_wrapping: int, charges: int, coupon: int, points: int,
                unfixed: bool) -> list[dict]:
    """Per tax rate: what the buyer pays (postage, wrapping and fees at 10%; coupon and points taken from the
    larger share). Not read by BOSS; there so that the model is whole."""
    rates: dict[float, int] = {}
    for item in items:
        rates[item["taxRate"]] = rates.get(item["taxRate"], 0) + line_total(item)
    rates[0.1] = rates.get(0.1, 0) + (0 if unfixed else postage_and_wrapping) + charges
    largest = max(rates, key=rates.get)
    summary = []
    for rate, total in sorted(rates.items(), reverse=True):
        taken = coupon + points if rate == largest else 0
        request = NOT_FIXED if unfixed and rate == 0.1 else total - taken
        summary.append({"taxRate": rate, "reqPrice": request,
                        "reqPriceTax": NOT_FIXED if request == NOT_FIXED else request * int(rate * 100) // (100 + int(rate * 100)),
                        "totalPrice": total, "paymentCharge": 0, "couponPrice": coupon if rate == largest else 0,
                        "point": points if rate == largest else 0})
    return summary


def generate_orders(store: Store, count: int, progress: int, days: float, mix: str = "plain",
                    seed: Optional[int] = None, unfixed_share: float = 0.0) -> list[dict]:
    if mix not in MIXES:
        raise ControlError("mix must be one of " + ", ".join(MIXES))
    rng = random.Random(seed)
    now = datetime.now(JST).replace(microsecond=0)
    shop = store.shop_number()
    orders = []
    for sequence in store.next_sequences(count):
        ordered_at = now - timedelta(seconds=rng.randint(0, int(days * 86400)))
        orders.append(generated_order(rng, f"{shop}-{ordered_at:%Y%m%d}-{sequence:010d}", ordered_at, progress, mix,
                                      unfixed=rng.random() < unfixed_share))
    return orders


# --------------------------------------------------------------------------------------------- changes at Rakuten

CHANGE_APPLIED = 4  # ChangeReasonModel.changeType 変更申請 (the order waits at 400 for its confirmation)
CHANGE_COMPLETED = 6  # 変更完了
DECREASE, INCREASE, OTHER = 0, 1, 2  # changeTypeDetail
CUSTOMER = 1  # changeReason お客様都合
CUSTOMER_OTHER = 6  # changeReasonDetail お客様都合 - その他


def change_order(order: dict, changes: dict) -> None:
    """A change made at Rakuten (by the buyer, or the shop in RMS): `changes` merged in as a partial order,
    modifyFlag 1 and one more ChangeReasonModel — a completed change, or one applied for when it moves the order
    to 400 (変更確定待ち)."""
    before = order.get("requestPrice")
    changed = merged(order, changes)
    now = format_rms_datetime(datetime.now(JST))
    after = changed.get("requestPrice")
    detail = (OTHER if before == after or not (is_int(before) and is_int(after))
              else INCREASE if after > before else DECREASE)
    completed = changes.get("orderProgress") != 400
    reasons = changed.get("ChangeReasonModelList")
    changed["ChangeReasonModelList"] = (reasons if isinstance(reasons, list) else []) + [{
        "changeId": random.randint(10**8, 10**9 - 1), "changeType": CHANGE_COMPLETED if completed else CHANGE_APPLIED,
        "changeTypeDetail": detail, "changeReason": CUSTOMER, "changeReasonDetail": CUSTOMER_OTHER,
        "changeApplyDatetime": now, "changeFixDatetime": now if completed else None,
        "changeCmplDatetime": now if completed else None}]
    changed["modifyFlag"] = 1
    order.clear()
    order.update(changed)


# --------------------------------------------------------------------------------------------- given orders

def complete_order(store: Store, given: dict) -> dict:
    """An order given to `_control/orders`: kept as given when it is whole (it has every key of
    WHOLE_ORDER_KEYS), else a partial one filled in with made-up data (see `merged`), its amounts made to add up
    with its lines where it gives none."""
    ordered_at, number, progress = given_identity(store, given)
    if all(key in given for key in WHOLE_ORDER_KEYS):  # a null number or datetime is made up, like a missing one
        return {**given, "orderNumber": number, "orderDatetime": given.get("orderDatetime") or format_rms_datetime(
            ordered_at)}
    base = generated_order(random.Random(), number, ordered_at, progress)
    order = merged(base, {**given, "orderNumber": number, "orderDatetime": format_rms_datetime(ordered_at),
                          "orderProgress": progress})
    if "PackageModelList" in given:
        add_up(order, given)
    return order


def given_identity(store: Store, given: dict) -> tuple[datetime, str, int]:
    """The given order's datetime, number and progress, checked; made up where not given."""
    at = given.get("orderDatetime")
    if at is not None and given_datetime(at) is None:
        raise ControlError("orderDatetime must look like 2026-11-01T10:15:30+0900")
    ordered_at = given_datetime(at) if at else datetime.now(JST).replace(microsecond=0)
    number = given.get("orderNumber")
    if number is not None and (not isinstance(number, str) or not number):
        raise ControlError("orderNumber must be a non-empty string")
    if number is None:
        number = f"{store.shop_number()}-{ordered_at:%Y%m%d}-{store.next_sequences(1)[0]:010d}"
    progress = given.get("orderProgress", 100)
    if not is_int(progress) or progress not in PROGRESSES:
        raise ControlError("orderProgress must be one of " + ", ".join(map(str, PROGRESSES)))
    return ordered_at, number, progress


def add_up(order: dict, given: dict) -> None:
    """The amounts not given, computed from the given lines as RMS would (a line's tax-included price:
    priceTaxIncl, else price), so that a partial order with its own lines is not billed for made-up ones."""
    lines = 0
    for package in order.get("PackageModelList") or []:
        for item in (package.get("ItemModelList") or []) if isinstance(package, dict) else []:
            if isinstance(item, dict) and is_int(item.get("units")):
                price = item.get("priceTaxIncl") if is_int(item.get("priceTaxIncl")) else item.get("price")
                lines += price * item["units"] if is_int(price) else 0
    if "goodsPrice" not in given:
        order["goodsPrice"] = lines
    if "postagePrice" not in given:
        order["postagePrice"] = 0 if lines >= FREE_POSTAGE_FROM else POSTAGE
    if "totalPrice" not in given:
        order["totalPrice"] = amount_sum(order["goodsPrice"], order["postagePrice"])
    if "requestPrice" not in given:
        points = order.get("PointModel")
        order["requestPrice"] = amount_sum(
            order["totalPrice"], order.get("deliveryPrice"), order.get("paymentCharge"),
            order.get("additionalFeeOccurAmountToUser"),
            less=(order.get("couponAllTotalPrice"), points.get("usedPoint") if isinstance(points, dict) else None))


def amount_sum(*amounts, less=()) -> int:
    """The sum of RMS amounts minus those `less` (a null counts 0); not yet fixed (-9999) when one of them is, or
    is not a number."""
    if any(amount == NOT_FIXED or not (amount is None or is_int(amount)) for amount in (*amounts, *less)):
        return NOT_FIXED
    return sum(amount or 0 for amount in amounts) - sum(amount or 0 for amount in less)


def merged(base: dict, partial: dict) -> dict:
    """`partial` over `base`: its keys win; a nested model given as an object merges into the base's (a partial
    model), anything else — a list such as PackageModelList, a null — replaces the base's value whole."""
    result = dict(base)
    for key, value in partial.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            result[key] = merged(base[key], value)
        else:
            result[key] = value
    return result
