"""A whole OrderModel in the shape getOrder (version 10) answers: every key RMS sends, nulls where it sends
nulls (rakuten-rms.md, examples/rms-getOrder-response.json), for tests to give the sandbox and then read."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

from boss.malls.rakuten.reader import format_rms_datetime

MUG = ("mug-002", "mug-002-ai")  # a mall item and its サブコード (tests map it)


def sender(**fields) -> dict:
    return {"zipCode1": "100", "zipCode2": "0001", "prefecture": "東京都", "city": "見本区",
            "subAddress": "見本町1-2-3 サンプルハイツ101", "familyName": "山田", "firstName": "花子",
            "familyNameKana": "ヤマダ", "firstNameKana": "ハナコ", "phoneNumber1": "03", "phoneNumber2": "1234",
            "phoneNumber3": "5678", "isolatedIslandFlag": 0, **fields}


def item(manage_number: str = MUG[0], variant: str = MUG[1], price: int = 2200, units: int = 1, **fields) -> dict:
    return {"itemDetailId": 111111111, "itemName": "波佐見焼 マグカップ", "itemId": 10000123, "itemNumber": manage_number,
            "manageNumber": manage_number, "price": price, "units": units, "includePostageFlag": 0, "includeTaxFlag": 1,
            "includeCashOnDeliveryPostageFlag": 0, "taxRate": 0.1, "priceTaxIncl": price, "selectedChoice": "",
            "pointRate": 1, "pointType": 0, "inventoryType": 2, "delvdateInfo": None, "restoreInventoryFlag": 0,
            "dealFlag": 0, "drugFlag": 0, "deleteItemFlag": 0, "isSingleItemShipping": 0,
            "SkuModelList": [{"variantId": variant, "merchantDefinedSkuId": None, "skuInfo": None}], **fields}


def whole_order(items: list[dict] | None = None, postage: int = 550, progress: int = 100, **fields) -> dict:
    """An OrderModel of yesterday (inside the import's first look-back) whose amounts add up as RMS's do (goods,
    total, request), with `fields` over it."""
    items = copy.deepcopy(items) if items is not None else [item()]
    goods = sum(i["priceTaxIncl"] * i["units"] for i in items)
    order = {
        "orderNumber": None, "orderProgress": progress, "subStatusId": None, "subStatusName": None,
        "orderDatetime": format_rms_datetime(datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)), "shopOrderCfmDatetime": None, "orderFixDatetime": None,
        "shippingInstDatetime": None, "shippingCmplRptDatetime": None, "cancelDueDate": (datetime.now(timezone.utc) + timedelta(days=13)).date().isoformat(),
        "deliveryDate": None, "shippingTerm": None, "remarks": "[配送日時指定:]\n指定なし", "giftCheckFlag": 0,
        "severalSenderFlag": 0, "equalSenderFlag": 1, "isolatedIslandFlag": 0, "rakutenMemberFlag": 1,
        "carrierCode": 0, "emailCarrierCode": 0, "orderType": 1, "reserveNumber": None, "reserveDeliveryCount": None,
        "cautionDisplayType": 0, "cautionDisplayDetailType": None, "rakutenConfirmFlag": 0,
        "goodsPrice": goods, "goodsTax": None, "postagePrice": postage, "deliveryPrice": 0, "paymentCharge": 0,
        "paymentChargeTaxRate": 0.1, "totalPrice": goods + postage, "requestPrice": goods + postage,
        "couponAllTotalPrice": 0, "couponShopPrice": 0, "couponOtherPrice": 0, "additionalFeeOccurAmountToUser": 0,
        "additionalFeeOccurAmountToShop": 0, "asurakuFlag": 0, "drugFlag": 0, "dealFlag": 0, "membershipType": 0,
        "memo": None, "operator": None, "mailPlugSentence": None, "modifyFlag": 0, "receiptIssueCount": 0,
        "receiptIssueHistoryList": None, "socialGiftFlag": 0, "fundingProjectFlag": 0,
        "OrdererModel": {**sender(familyName="山田", firstName="太郎", firstNameKana="タロウ"),
                         "emailAddress": "a1b2c3@fw.rakuten.ne.jp", "sex": None, "birthYear": None, "birthMonth": None,
                         "birthDay": None},
        "SettlementModel": {"settlementMethodCode": 1, "settlementMethod": "クレジットカード", "rpaySettlementFlag": 1,
                            "cardName": None, "cardNumber": None, "cardOwner": None, "cardYm": None, "cardPayType": None,
                            "cardInstallmentDesc": None},
        "DeliveryModel": {"deliveryName": "宅配便", "deliveryClass": 0},
        "PointModel": {"usedPoint": 0},
        "WrappingModel1": None, "WrappingModel2": None,
        "PackageModelList": [{
            "basketId": 987654321, "postagePrice": postage, "postageTaxRate": 0.1, "deliveryPrice": 0,
            "deliveryTaxRate": 0.1, "goodsTax": None, "goodsPrice": goods, "totalPrice": goods + postage,
            "noshi": None, "packageDeleteFlag": 0, "defaultDeliveryCompanyCode": "1001", "dropOffFlag": 0,
            "dropOffLocation": None, "SenderModel": sender(), "ItemModelList": items, "ShippingModelList": [],
            "DeliveryCvsModel": None, "SocialGiftModel": None,
        }],
        "CouponModelList": None, "ChangeReasonModelList": None, "TaxSummaryModelList": None, "DueDateModelList": None,
    }
    for key, value in fields.items():
        order[key] = value
    return order


def with_package(order: dict, **fields) -> dict:
    """The order with its first package's `fields` replaced."""
    order = copy.deepcopy(order)
    order["PackageModelList"][0].update(fields)
    return order
