"""The one reader of RMS's OrderModel (getOrder): a typed order for the import, the cancel reflection and
the mall-cancel detection, and the one parser of RMS datetimes.

It reads as the import always has — texts trimmed, a quantity or price given as a numeric text taken as a
number, an absent or empty SenderModel meaning that the orderer is the recipient — and notes every
departure from the documented model in `RmsOrder.problems`, in reading order. What a departure means is
its reader's to decide: the client refuses a getOrder answer with any (`RmsProtocolError`: the answer is
not the contract), the import refuses an order only by its own rules (`importer.new_order`), so that one
odd order fails alone. A model that is not an object at all reads as None.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Optional

from ...orders.delivery import AFTERNOON, MORNING, OTHER_SLOT
from ...timefmt import JST

RMS_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S+0900"
RMS_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0900")
OPEN_PROGRESS = (100, 200, 300, 400)
CANCELLED_PROGRESS = (800, 900)
ORDER_PROGRESSES = (100, 200, 300, 400, 500, 600, 700, 800, 900)
NOT_FIXED = -9999  # an amount RMS has not fixed yet


# --------------------------------------------------------------------------------------------- datetimes

def format_rms_datetime(value: datetime) -> str:
    """`YYYY-MM-DDThh:mm:ss+0900`. A naive value is UTC, as BOSS stores times."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(JST).strftime(RMS_DATETIME_FORMAT)


def parse_rms_datetime(text) -> datetime:
    """An aware datetime from `YYYY-MM-DDThh:mm:ss+0900` as RMS writes it (read by fromisoformat, 50 times
    faster than strptime), or, trimmed, from another offset's spelling (`+09:00`, as strptime's %z reads
    it: the import has always taken those); ValueError for anything else."""
    if not isinstance(text, str):
        raise ValueError(f"not an RMS datetime: {text!r}")
    if RMS_DATETIME.fullmatch(text):
        return datetime.fromisoformat(text)
    return datetime.strptime(text.strip(), "%Y-%m-%dT%H:%M:%S%z")


# --------------------------------------------------------------------------------------------- fields

def read_text(model: dict, key: str, problems: Optional[list] = None) -> str:
    """The trimmed text of `key` ("" when absent); a value that is neither text nor an integer is read as
    text too, and noted in `problems` (None: not checked)."""
    value = model.get(key)
    if value.__class__ is str:  # nearly every value: a JSON string
        return value.strip()
    if value is None:
        return ""
    if problems is not None and (not isinstance(value, (str, int)) or isinstance(value, bool)):
        problems.append(f"{key} is not text: {value!r}")
    return str(value).strip()


def read_int(model: dict, key: str, problems: list, required: bool = False) -> Optional[int]:
    """The JSON integer of `key`, None when absent or not one (noted in `problems`, as an absent required one)."""
    value = model.get(key)
    if value is None:
        if required:
            problems.append(f"{key} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or (isinstance(value, float) and not value.is_integer()):
        problems.append(f"{key} is not an integer: {value!r}")
        return None
    return int(value)


def _count(model: dict, key: str, problems: list) -> Optional[int]:
    """A quantity or price: as read_int checks it, but taken as int() takes it (a numeric text, a fraction
    cut off) — the import's reading; None when int() cannot."""
    read_int(model, key, problems, required=True)
    try:
        return int(model.get(key))
    except (TypeError, ValueError, OverflowError):
        return None


def _lenient_int(value) -> Optional[int]:
    """An integer, or a numeric text read as one; None for anything else. For the fields version 10 added,
    which RMS may leave null: an odd one is read as absent, never a reason to refuse the answer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def _rate_percent(value) -> Optional[int]:
    """taxRate (0.1, 0.08, or a text of one) as whole percent (10, 8); None when absent or not a rate."""
    try:
        rate = float(value)
    except (TypeError, ValueError):
        return None
    return round(rate * 100) if 0 <= rate < 1 else None


def _multiline(text: str) -> str:
    """A multi-line text (項目選択肢) with RMS's line breaks as \\n."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _object(value, what: str, problems: list) -> Optional[dict]:
    if not isinstance(value, dict):
        problems.append(f"{what} is not an object")
        return None
    return value


def _list(value, what: str, problems: list) -> list:
    """A model list (absent or null: empty)."""
    value = value or []
    if not isinstance(value, list):
        problems.append(f"{what} is not a list")
        return []
    return value


# --------------------------------------------------------------------------------------------- the order

@dataclass(frozen=True)
class RmsPerson:
    """An OrdererModel (the buyer) or SenderModel (the recipient)."""

    family_name: str
    first_name: str
    family_name_kana: str
    first_name_kana: str
    zip_code: str
    prefecture: str
    city: str
    sub_address: str
    phone: str
    email: Optional[str]

    @property
    def name(self) -> str:
        return f"{self.family_name} {self.first_name}".strip()

    @property
    def kana(self) -> str:
        return f"{self.family_name_kana} {self.first_name_kana}".strip()

    @property
    def address(self) -> str:
        return f"{self.prefecture}{self.city}{self.sub_address}"

    @classmethod
    def read(cls, model: dict, problems: list) -> "RmsPerson":
        def text(key: str) -> str:
            return read_text(model, key, problems)

        zip_code = "-".join(filter(None, (text("zipCode1"), text("zipCode2"))))
        phone = "-".join(filter(None, (text("phoneNumber1"), text("phoneNumber2"), text("phoneNumber3"))))
        return cls(family_name=text("familyName"), first_name=text("firstName"),
                   family_name_kana=text("familyNameKana"), first_name_kana=text("firstNameKana"),
                   zip_code=zip_code, prefecture=text("prefecture"), city=text("city"),
                   sub_address=text("subAddress"), phone=phone, email=text("emailAddress") or None)


@dataclass(frozen=True)
class RmsItem:
    manage_number: str  # the shop's item management number: our モール商品ID
    item_name: str
    price: Optional[int]  # None: not a number
    units: Optional[int]  # None: not a number
    variant_id: Optional[str]  # our サブコード; None for an item without SKU
    item_number: str
    item_id: str
    item_detail_id: Optional[int]
    selected_choice: str
    raw: dict = field(repr=False, compare=False)
    include_tax: bool = True  # includeTaxFlag 1 (or absent, as before version 10): `price` is with tax
    price_tax_incl: Optional[int] = None
    tax_percent: Optional[int] = None  # taxRate 0.1 → 10
    sku_info: str = ""

    @classmethod
    def read(cls, value, problems: list) -> "RmsItem":
        """An ItemModel; one that is not an object reads as an empty one (no quantity, no price)."""
        model = _object(value, "ItemModel", problems) or {}
        skus = _list(model.get("SkuModelList"), "SkuModelList", problems)
        sku = _object(skus[0], "SkuModel", problems) if skus else None
        variant = read_text(sku, "variantId", problems) if sku is not None else ""
        return cls(manage_number=read_text(model, "manageNumber", problems),
                   item_name=read_text(model, "itemName", problems),
                   price=_count(model, "price", problems), units=_count(model, "units", problems),
                   variant_id=variant or None, item_number=read_text(model, "itemNumber", problems),
                   item_id=read_text(model, "itemId"), item_detail_id=read_int(model, "itemDetailId", problems),
                   selected_choice=_multiline(read_text(model, "selectedChoice", problems)), raw=model,
                   include_tax=_lenient_int(model.get("includeTaxFlag")) != 0,
                   price_tax_incl=_lenient_int(model.get("priceTaxIncl")),
                   tax_percent=_rate_percent(model.get("taxRate")),
                   sku_info=_multiline(read_text(sku, "skuInfo") if sku is not None else ""))

    @property
    def unit_price(self) -> Optional[int]:
        """The unit price with tax (BOSS's prices always include it): priceTaxIncl when RMS gives it; else
        `price` when it includes tax; else `price` plus tax, rounded down (BOSS's assumption where RMS gives
        no tax-included price; 10% when RMS gives no rate either). None when `price` is not a number."""
        if self.price_tax_incl is not None and self.price_tax_incl >= 0:
            return self.price_tax_incl
        if self.price is None or self.include_tax:
            return self.price
        percent = 10 if self.tax_percent is None else self.tax_percent
        return self.price * (100 + percent) // 100

    @property
    def sub_code(self) -> str:
        """Our サブコード: the SKU's variantId, none ("") for an item without SKU or without variations (RMS
        fills variantId with the management number then, and a mapping without サブコード must match it)."""
        variant = self.variant_id or ""
        return "" if variant == self.manage_number else variant

    @property
    def options(self) -> str:
        """項目選択肢 as the buyer chose them: selectedChoice, else the SKU's skuInfo, never both."""
        return self.selected_choice or self.sku_info


@dataclass(frozen=True)
class RmsPackage:
    basket_id: Optional[int]
    sender: Optional[RmsPerson]  # None: not an object
    items: tuple[RmsItem, ...]
    postage_price: int
    raw: dict = field(repr=False, compare=False)
    pickup: Optional[dict] = None  # api.md's pickup: {kind, store_code, store_name, address}
    drop_off: Optional[str] = None  # 置き配: where (dropOffFlag 1)
    gift_input_pending: bool = False  # SocialGiftModel.inputFlag 0: the recipient has not entered an address

    @classmethod
    def read(cls, value, problems: list) -> "RmsPackage":
        """A PackageModel; one that is not an object reads as an empty one."""
        model = _object(value, "PackageModel", problems) or {}
        items = _list(model.get("ItemModelList"), "ItemModelList", problems)
        basket_id = read_int(model, "basketId", problems)
        sender = _object(model.get("SenderModel"), "SenderModel", problems)
        gift = model.get("SocialGiftModel")
        return cls(basket_id=basket_id, sender=RmsPerson.read(sender, problems) if sender is not None else None,
                   items=tuple(RmsItem.read(item, problems) for item in items),
                   postage_price=read_int(model, "postagePrice", problems) or 0, raw=model,
                   pickup=_pickup(model.get("DeliveryCvsModel")),
                   drop_off=(read_text(model, "dropOffLocation") or "置き配") if _lenient_int(model.get("dropOffFlag")) == 1
                   else None,
                   gift_input_pending=isinstance(gift, dict) and _lenient_int(gift.get("inputFlag")) == 0)


POST_OFFICE_CVS_CODE = 60


def _pickup(model) -> Optional[dict]:
    """DeliveryCvsModel as api.md's pickup: a post office (cvsCode 60) or a convenience store; None when absent."""
    if not isinstance(model, dict) or not any(model.get(key) for key in ("storeCode", "storeName", "storeAddress")):
        return None
    zip_code = read_text(model, "storeZip")
    place = f"{read_text(model, 'storePrefecture')}{read_text(model, 'storeAddress')}"
    return {"kind": "post_office" if _lenient_int(model.get("cvsCode")) == POST_OFFICE_CVS_CODE else "convenience_store",
            "store_code": read_text(model, "storeCode"), "store_name": read_text(model, "storeName"),
            "address": " ".join(filter(None, (zip_code, place)))}


@dataclass(frozen=True)
class RmsOrder:
    """One OrderModel: `raw` keeps the whole dict; the fields are what BOSS reads; `problems` what departs
    from the documented model (empty for a well-formed order)."""

    number: str
    progress: Optional[int]
    ordered_at: Optional[datetime]  # aware, Japan time; None: not an RMS datetime
    orderer: Optional[RmsPerson]  # None: not an object
    settlement_method: str
    remarks: str
    goods_price: int
    postage_price: Optional[int]  # None: absent or not a number
    total_price: int
    request_price: Optional[int]  # None while RMS shows -9999 (not yet fixed)
    packages: tuple[RmsPackage, ...]
    recipient: Optional[RmsPerson]  # see read_order
    raw: dict = field(repr=False, compare=False)
    problems: tuple[str, ...] = ()
    # Version 10 (rakuten-rms.md §Reading an order): what the buyer pays on top of the total and what is taken
    # off it (0 when absent), whether any amount is still -9999, the delivery wish, a gift's pending address.
    delivery_price: int = 0  # 代引料
    payment_charge: int = 0  # 決済手数料
    additional_fee: int = 0  # 後払い手数料
    coupon: int = 0
    used_point: int = 0
    amounts_fixed: bool = True
    delivery_date: Optional[date] = None
    time_slot: Optional[str] = None
    recipient_pending: bool = False
    modified: bool = False  # modifyFlag 1

    @property
    def is_cancelled(self) -> bool:
        return self.progress in CANCELLED_PROGRESS

    @property
    def is_open(self) -> bool:
        """100–400: what the import takes."""
        return self.progress in OPEN_PROGRESS

    @property
    def items(self) -> list[RmsItem]:
        return [item for package in self.packages for item in package.items]

    @property
    def charges(self) -> int:
        return self.delivery_price + self.payment_charge + self.additional_fee


def read_order(model) -> Optional[RmsOrder]:
    """An OrderModel as an RmsOrder, None when it is not an object."""
    if not isinstance(model, dict):
        return None
    problems: list[str] = []
    number = read_text(model, "orderNumber")
    if not isinstance(model.get("orderNumber"), str) or not model["orderNumber"]:
        problems.append("an OrderModel without orderNumber")
    progress = read_int(model, "orderProgress", problems, required=True)
    if progress is not None and progress not in ORDER_PROGRESSES:
        problems.append(f"order {number}: unknown orderProgress {progress}")
    try:
        ordered_at = parse_rms_datetime(model.get("orderDatetime"))
    except ValueError as exc:
        problems.append(f"order {number}: {exc}")
        ordered_at = None
    packages = model.get("PackageModelList") or []
    if not isinstance(packages, list):
        problems.append(f"order {number}: PackageModelList is not a list")
        packages = []
    request_price = read_int(model, "requestPrice", problems)
    orderer = _object(model.get("OrdererModel"), "OrdererModel", problems)
    orderer = RmsPerson.read(orderer, problems) if orderer is not None else None
    settlement = _object(model.get("SettlementModel") or {}, "SettlementModel", problems) or {}
    settlement_method = read_text(settlement, "settlementMethod", problems)
    remarks = read_text(model, "remarks", problems)
    goods_price, postage_price, total_price = (read_int(model, key, problems) for key in (
        "goodsPrice", "postagePrice", "totalPrice"))
    packages = tuple(RmsPackage.read(package, problems) for package in packages)
    point = model.get("PointModel")
    extras = {key: _lenient_int(model.get(key)) for key in (
        "deliveryPrice", "paymentCharge", "additionalFeeOccurAmountToUser", "couponAllTotalPrice")}
    extras["usedPoint"] = _lenient_int(point.get("usedPoint")) if isinstance(point, dict) else None
    amounts = (goods_price, postage_price, total_price, request_price, *extras.values())
    recipient = _recipient(packages, orderer)
    return RmsOrder(
        number=number, progress=progress, ordered_at=ordered_at, orderer=orderer, settlement_method=settlement_method,
        remarks=remarks, goods_price=goods_price or 0, postage_price=postage_price, total_price=total_price or 0,
        request_price=None if request_price == NOT_FIXED else request_price, packages=packages,
        recipient=recipient, raw=model, problems=tuple(problems),
        **{name: max(extras[key] or 0, 0) for name, key in (
            ("delivery_price", "deliveryPrice"), ("payment_charge", "paymentCharge"),
            ("additional_fee", "additionalFeeOccurAmountToUser"), ("coupon", "couponAllTotalPrice"),
            ("used_point", "usedPoint"))},
        amounts_fixed=NOT_FIXED not in amounts, delivery_date=read_date(model.get("deliveryDate")),
        time_slot=time_slot(model.get("shippingTerm")),
        recipient_pending=_lenient_int(model.get("socialGiftFlag")) == 1 and bool(packages) and (
            packages[0].gift_input_pending or is_gift_placeholder(recipient)),
        modified=_lenient_int(model.get("modifyFlag")) == 1)


def read_date(value) -> Optional[date]:
    """deliveryDate `YYYY-MM-DD` (RMS's date form); None when absent or not a date."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def time_slot(value) -> Optional[str]:
    """shippingTerm (a number, or a numeric text) as api.md's delivery_time_slot: None (0, absent: 指定なし),
    午前中 (1), 午後 (2), `HH-HH` for h1h2 (h1 = value // 100, h2 = value % 100, 7 ≤ h1 < h2 ≤ 24: 1416 is
    14-16, 812 is 08-12), その他 for 9 and anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    term = _lenient_int(value)
    if term == 0:
        return None
    if term in TIME_SLOT_WORDS:
        return TIME_SLOT_WORDS[term]
    if term is not None and 7 <= term // 100 < term % 100 <= 24:
        return f"{term // 100:02d}-{term % 100:02d}"
    return OTHER_SLOT


TIME_SLOT_WORDS = {1: MORNING, 2: AFTERNOON}  # shippingTerm's own words, in api.md's (orders.delivery)
GIFT_PLACEHOLDERS = ("入力待ち", "ニュウリョクマチ", "999-9999", "999-9999-9999")


def is_gift_placeholder(person: Optional[RmsPerson]) -> bool:
    """A social gift's SenderModel before its recipient entered an address: RMS's placeholders in it."""
    return person is not None and any(value in GIFT_PLACEHOLDERS for value in (
        person.family_name, person.first_name, person.prefecture, person.city, person.zip_code))


def _recipient(packages: tuple[RmsPackage, ...], orderer: Optional[RmsPerson]) -> Optional[RmsPerson]:
    """Who receives the order: the first package's SenderModel (BOSS imports several packages as one
    order); the orderer when it is absent or empty; None when it is not an object (nor the orderer's)."""
    if not packages or not packages[0].raw.get("SenderModel"):
        return orderer
    return packages[0].sender
