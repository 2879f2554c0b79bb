"""Made-up orders: realistic OrderModels for the demo, the benchmarks and tests, and partial ones filled in."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from ..reader import JST, format_rms_datetime
from ....integrations.sandbox import ControlError
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
CATALOGUE = [
    ("tshirt-001", "オーガニックコットンTシャツ", 1800, [("M-navy", "サイズ:M\nカラー:ネイビー"), ("L-white", "サイズ:L\nカラー:ホワイト")]),
    ("mug-002", "波佐見焼 マグカップ", 2200, [("ai", "カラー:藍"), ("shiro", "カラー:白")]),
    ("towel-003", "今治タオル フェイスタオル", 1100, [("beige", "カラー:ベージュ"), ("gray", "カラー:グレー")]),
    ("tea-004", "静岡 深蒸し茶 100g", 1080, [("100g", "内容量:100g")]),
    ("socks-005", "綿混 くつ下 3足組", 990, [("23-25", "サイズ:23-25cm"), ("25-27", "サイズ:25-27cm")]),
]
SETTLEMENTS = [(1, "クレジットカード"), (1, "クレジットカード"), (2, "代金引換"), (9, "銀行振込")]
FREE_POSTAGE_FROM = 3980


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


def generated_order(rng: random.Random, number: str, ordered_at: datetime, progress: int) -> dict:
    orderer = person(rng)
    recipient = dict(orderer) if rng.random() < 0.8 else person(rng)
    items = []
    for manage_number, name, price, variants in rng.sample(CATALOGUE, rng.randint(1, 3)):
        variant, sku_info = rng.choice(variants)
        items.append({
            "itemDetailId": rng.randint(10**8, 10**9 - 1), "itemName": name, "itemId": rng.randint(10**7, 10**8 - 1),
            "itemNumber": manage_number, "manageNumber": manage_number, "price": price, "units": rng.randint(1, 3),
            "includePostageFlag": 0, "includeTaxFlag": 1, "taxRate": 0.08 if manage_number == "tea-004" else 0.1,
            "priceTaxIncl": price, "selectedChoice": "", "restoreInventoryFlag": 0,
            "SkuModelList": [{"variantId": f"{manage_number}-{variant}",
                              "merchantDefinedSkuId": f"{manage_number}-{variant}".upper().replace("-", ""),
                              "skuInfo": sku_info}],
        })
    goods = sum(item["price"] * item["units"] for item in items)
    postage = 0 if goods >= FREE_POSTAGE_FROM else 550
    settlement_code, settlement = rng.choice(SETTLEMENTS)
    charge = 330 if settlement_code == 2 else 0
    total = goods + postage + charge
    return {
        "orderNumber": number, "orderProgress": progress, "subStatusId": None, "subStatusName": None,
        "orderDatetime": format_rms_datetime(ordered_at), "shopOrderCfmDatetime": None, "orderFixDatetime": None,
        "shippingInstDatetime": None, "shippingCmplRptDatetime": None,
        "cancelDueDate": (ordered_at.astimezone(JST).date() + timedelta(days=14)).isoformat(),
        "remarks": "[配送日時指定:]\n" + rng.choice(["指定なし", "午前中", "14:00～16:00", "19:00～21:00"]),
        "goodsPrice": goods, "postagePrice": postage, "deliveryPrice": charge, "paymentCharge": 0,
        "totalPrice": total, "requestPrice": total, "couponAllTotalPrice": 0,
        "OrdererModel": {**orderer, "emailAddress": f"{rng.getrandbits(40):010x}@fw.rakuten.ne.jp",
                         "sex": rng.choice(["男", "女"]), "birthYear": None, "birthMonth": None, "birthDay": None},
        "SettlementModel": {"settlementMethodCode": settlement_code, "settlementMethod": settlement},
        "DeliveryModel": {"deliveryName": "代金引換" if settlement_code == 2 else "宅配便", "deliveryClass": 0},
        "PointModel": {"usedPoint": 0},
        "PackageModelList": [{
            "basketId": rng.randint(10**8, 10**9 - 1), "postagePrice": postage, "goodsPrice": goods,
            "totalPrice": goods + postage, "defaultDeliveryCompanyCode": "1001",
            "SenderModel": {**recipient, "isolatedIslandFlag": 0}, "ShippingModelList": [], "ItemModelList": items,
        }],
        "ChangeReasonModelList": [],
    }


def generate_orders(store: Store, count: int, progress: int, days: float) -> list[dict]:
    rng = random.Random()
    now = datetime.now(JST).replace(microsecond=0)
    shop = store.shop_number()
    orders = []
    for sequence in store.next_sequences(count):
        ordered_at = now - timedelta(seconds=rng.randint(0, int(days * 86400)))
        orders.append(generated_order(rng, f"{shop}-{ordered_at:%Y%m%d}-{sequence:010d}", ordered_at, progress))
    return orders


def complete_order(store: Store, partial: dict) -> dict:
    """A partial OrderModel filled in with made-up data; the given keys win (nested models merge)."""
    given = partial.get("orderDatetime")
    if given is not None and given_datetime(given) is None:
        raise ControlError("orderDatetime must look like 2026-11-01T10:15:30+0900")
    ordered_at = given_datetime(given) if given else datetime.now(JST).replace(microsecond=0)
    number = partial.get("orderNumber")
    if number is not None and (not isinstance(number, str) or not number):
        raise ControlError("orderNumber must be a non-empty string")
    if number is None:
        number = f"{store.shop_number()}-{ordered_at:%Y%m%d}-{store.next_sequences(1)[0]:010d}"
    progress = partial.get("orderProgress", 100)
    if not is_int(progress) or progress not in PROGRESSES:
        raise ControlError("orderProgress must be one of " + ", ".join(map(str, PROGRESSES)))
    base = generated_order(random.Random(), number, ordered_at, progress)
    order = merged(base, {**partial, "orderNumber": number, "orderDatetime": format_rms_datetime(ordered_at),
                          "orderProgress": progress})
    if "PackageModelList" in partial:
        _amounts_of_given_items(order, partial)
    return order


AMOUNT_KEYS = ("goodsPrice", "totalPrice", "requestPrice")


def _amounts_of_given_items(order: dict, partial: dict) -> None:
    """Given items, the amounts not given are RMS's for them: goods (tax-included prices × units), total (+
    postage) and the amount billed (+ charges − coupons − points), so the order adds up as RMS's do."""
    def number(value) -> int:
        return value if is_int(value) else 0

    goods = 0
    for package in order.get("PackageModelList") or []:
        for item in (package.get("ItemModelList") or []) if isinstance(package, dict) else []:
            if isinstance(item, dict):
                price = item.get("priceTaxIncl") if is_int(item.get("priceTaxIncl")) else item.get("price")
                goods += number(price) * number(item.get("units"))
    values = {"goodsPrice": goods, "totalPrice": goods + number(order.get("postagePrice"))}
    point = order.get("PointModel")
    values["requestPrice"] = values["totalPrice"] + sum(number(order.get(key)) for key in (
        "deliveryPrice", "paymentCharge", "additionalFeeOccurAmountToUser")) - number(order.get("couponAllTotalPrice")) \
        - number(point.get("usedPoint") if isinstance(point, dict) else 0)
    for key in AMOUNT_KEYS:
        if key not in partial:
            order[key] = values[key]


def merged(base: dict, partial: dict) -> dict:
    result = dict(base)
    for key, value in partial.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            result[key] = merged(base[key], value)
        else:
            result[key] = value
    return result
