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
from datetime import datetime, timezone
from typing import Optional

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
                   selected_choice=read_text(model, "selectedChoice", problems), raw=model)


@dataclass(frozen=True)
class RmsPackage:
    basket_id: Optional[int]
    sender: Optional[RmsPerson]  # None: not an object
    items: tuple[RmsItem, ...]
    postage_price: int
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def read(cls, value, problems: list) -> "RmsPackage":
        """A PackageModel; one that is not an object reads as an empty one."""
        model = _object(value, "PackageModel", problems) or {}
        items = _list(model.get("ItemModelList"), "ItemModelList", problems)
        basket_id = read_int(model, "basketId", problems)
        sender = _object(model.get("SenderModel"), "SenderModel", problems)
        return cls(basket_id=basket_id, sender=RmsPerson.read(sender, problems) if sender is not None else None,
                   items=tuple(RmsItem.read(item, problems) for item in items),
                   postage_price=read_int(model, "postagePrice", problems) or 0, raw=model)


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
    return RmsOrder(
        number=number, progress=progress, ordered_at=ordered_at, orderer=orderer, settlement_method=settlement_method,
        remarks=remarks, goods_price=goods_price or 0, postage_price=postage_price, total_price=total_price or 0,
        request_price=None if request_price == NOT_FIXED else request_price, packages=packages,
        recipient=_recipient(packages, orderer), raw=model, problems=tuple(problems))


def _recipient(packages: tuple[RmsPackage, ...], orderer: Optional[RmsPerson]) -> Optional[RmsPerson]:
    """Who receives the order: the first package's SenderModel (BOSS imports several packages as one
    order); the orderer when it is absent or empty; None when it is not an object (nor the orderer's)."""
    if not packages or not packages[0].raw.get("SenderModel"):
        return orderer
    return packages[0].sender
