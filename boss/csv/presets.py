"""Mall exports as they come (csv.md §6), pure: no Flask, no SQLAlchemy.

A preset recognises a mall's or tool's order file by its header and reads each of its rows into §1's cells,
so the registration job reads them with order_rows.read_row unchanged (one set of rules — R6, R7, modes, the
error report — for every format). A PresetTable is such a file seen as §1's: its `rows()` are SourceRows whose
cells are in ORDER_COLUMNS' layout, its `header` a SourceHeader whose `name_of(field)` is the column the field
came from as the file writes it (errors name the file's own column), and `read(row)` reads a row as read_row
does, with the problems the translation itself found (an Amazon price that does not divide, a Rakuten price
without tax and without its rate, a Yahoo! order without items…).

How split values are joined (the §6 table's “+”):
- names: family and given name with one half-width space (`山田 太郎`), as a person writes them;
- phones: the parts joined by `-`; postcodes of two parts: 3 + 4 digits, zero-padded, joined by `-` (`150-0001`);
- addresses: prefecture, city and the rest written together (`東京都渋谷区神宮前1-2-3`), a second (and third)
  address line after one half-width space (`… 2F`);
- money columns summed (手数料 + その他費用, …): empty when all are empty, so a later row of an order that leaves
  them empty does not disagree with the first.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Callable, Iterator, Optional, Sequence

from ..reason import Reason
from . import values
from .order_rows import JA, ORDER_COLUMNS, RECIPIENT_FIELDS, OrderRow, RowError, read_row
from .reading import Header, OpenChunks, Row, Table, header_key
from .writing import unguarded

FIELDS: tuple[str, ...] = tuple(column.field for column in ORDER_COLUMNS)
POSITION = {name: position for position, name in enumerate(FIELDS)}
_BIG = 10**12  # parts of a sum are read wide; the sum is held to §1's range by read_row


@dataclass(frozen=True)
class Preset:
    id: str  # "rakuten_pay"
    name: str  # "楽天ペイ受注CSV"
    part: str  # "" for one-file formats; Yahoo!'s "order" | "item"
    required: tuple[str, ...]  # header names as the format writes them

    def matches(self, keys: set[str]) -> bool:
        return all(header_key(name) in keys for name in self.required)


NEXT_ENGINE = Preset("next_engine", "ネクストエンジン汎用受注CSV", "",
                     ("店舗伝票番号", "受注日", "受注名", "商品コード", "商品名", "商品価格", "受注数量"))
RAKUTEN_PAY = Preset("rakuten_pay", "楽天ペイ受注CSV", "", ("注文番号", "注文日時", "注文者姓", "商品管理番号", "商品名", "単価", "個数"))
AMAZON = Preset("amazon", "Amazon 注文レポート", "", ("order-id", "purchase-date", "sku", "quantity-purchased", "item-price"))
YAHOO_ORDER = Preset("yahoo", "Yahoo!ショッピング 注文データ + 商品データ", "order", ("OrderId", "OrderTime", "BillName"))
YAHOO_ITEM = Preset("yahoo", "Yahoo!ショッピング 注文データ + 商品データ", "item",
                    ("OrderId", "ItemId", "Title", "Quantity", "UnitPrice"))
PRESETS: tuple[Preset, ...] = (NEXT_ENGINE, RAKUTEN_PAY, AMAZON, YAHOO_ORDER, YAHOO_ITEM)  # the table's order
FORMATS: tuple[tuple[str, str], ...] = (("next_engine", NEXT_ENGINE.name), ("rakuten_pay", RAKUTEN_PAY.name),
                                        ("amazon", AMAZON.name), ("yahoo", YAHOO_ORDER.name))
PRESET_IDS = tuple(identifier for identifier, _ in FORMATS)


def recognise(names: Sequence[str]) -> Optional[Preset]:
    """The first preset (in the table's order) whose required columns the header holds, compared by header_key;
    None: §1's own, or no format BOSS reads."""
    keys = {header_key(name) for name in names}
    return next((preset for preset in PRESETS if preset.matches(keys)), None)


def formats_listed() -> str:
    return "、".join(f"{identifier}（{name}）" for identifier, name in FORMATS)


REASON_UNKNOWN = Reason(
    "このファイルの形式が分かりません。読める形式は BOSS の受注CSV（テンプレート）と、" + formats_listed() + " です。"
    "モールや受注管理システムからダウンロードしたファイルを、編集せずにアップロードしてください。",
    "The file's format is not one BOSS reads. It reads its own order CSV (the template) and "
    + ", ".join(f"{identifier} ({name})" for identifier, name in FORMATS)
    + ". Upload the file your mall or tool gave you, untouched.")
REASON_TWO_FILES = Reason(
    "2つのファイルを一緒にアップロードできるのは Yahoo!ショッピングの注文データと商品データだけです。1つずつアップロードしてください。",
    "Two files in one upload are only for Yahoo! Shopping's order data and item data. Upload the files one by one.")
REASON_YAHOO_PAIR = Reason(
    "Yahoo!ショッピングのファイルは、注文データと商品データの2つを一緒にアップロードしてください。",
    "Upload Yahoo! Shopping's two files together: the order data and the item data.")
REASON_NEEDS_SHOP = Reason("モールのファイルを登録するには、ショップを選んでください。",
                           "Choose the shop the mall's file is for.")


# ---------------------------------------------------------------- rows and header seen as §1's


@dataclass(frozen=True)
class SourceHeader(Header):
    """§1's fields in ORDER_COLUMNS' layout; `name_of` names the file's own column(s) a field comes from."""
    sources: dict = field(default_factory=dict)  # field -> the column as the file writes it
    order_columns: frozenset = frozenset()  # Yahoo!: the columns that are the order file's

    def name_of(self, name: str) -> str:
        return self.sources.get(name, "")


@dataclass(frozen=True)
class SourceRow(Row):
    """A row of a mall's file as §1's cells (`number`: the row as Excel shows it; for Yahoo! the item file's,
    or past the item file's last row for an order without items)."""
    errors: tuple = ()  # RowErrors the translation found
    superseded: frozenset = frozenset()  # fields whose read_row errors the translation's errors stand for
    several_destinations: bool = False
    order_row: int = 0  # Yahoo!: the order file's row of this row's order (0: none)
    item_row: int = 0  # Yahoo!: the item file's row (0: an order without items)


def _header(sources: dict, order_columns: frozenset = frozenset()) -> SourceHeader:
    return SourceHeader(names=tuple(JA[name] for name in FIELDS), index=dict(POSITION), unknown=(),
                        sources=sources, order_columns=order_columns)


class _Columns:
    """A file's header: cells by the format's column name, compared by header_key."""

    def __init__(self, names: Sequence[str]):
        self.names = tuple(names)
        self.position: dict[str, int] = {}
        for position, name in enumerate(names):
            self.position.setdefault(header_key(name), position)
        self._by_name: dict[str, Optional[int]] = {}  # the format's names as the presets write them -> position

    def has(self, name: str) -> bool:
        return header_key(name) in self.position

    def written(self, name: str) -> str:
        """The column as the file writes it (its canonical name when the file has none)."""
        position = self.position.get(header_key(name))
        return self.names[position] if position is not None else name

    def getter(self, cells: Sequence[str]) -> Callable[[str], str]:
        by_name = self._by_name

        def get(name: str) -> str:
            position = by_name.get(name, -1)
            if position == -1:
                position = by_name[name] = self.position.get(header_key(name))
            return unguarded(cells[position]) if position is not None and position < len(cells) else ""
        return get


# ---------------------------------------------------------------- joins


def _blank(text: str) -> bool:
    return not text.strip()


def _name(family: str, given: str) -> str:
    return " ".join(part.strip() for part in (family, given) if part.strip())


def _phone(*parts: str) -> str:
    return "-".join(part.strip() for part in parts if part.strip())


def _postcode(first: str, second: str) -> str:
    first, second = (unicodedata.normalize("NFKC", part).strip() for part in (first, second))
    if not first and not second:
        return ""
    if first.isdigit() and second.isdigit():
        return f"{first.zfill(3)}-{second.zfill(4)}"
    return f"{first}-{second}"


def _address(area: Sequence[str], lines: Sequence[str] = ()) -> str:
    """Prefecture, city, the rest written together; further address lines after a space."""
    head = "".join(part.strip() for part in area)
    return " ".join(part for part in (head, *(line.strip() for line in lines)) if part)


class _Translation:
    """One row's §1 cells being made, and the errors found on the way."""

    def __init__(self, number: int, columns: _Columns):
        self.number = number
        self.columns = columns
        self.cells: dict[str, str] = {}
        self.errors: list[RowError] = []
        self.superseded: set[str] = set()

    def refuse(self, name: str, column: str, code: str, reason: Reason) -> None:
        self.errors.append(RowError(self.number, self.columns.written(column), code, reason))
        self.superseded.add(name)

    def amount(self, name: str, column: str, text: str, low: int = -_BIG) -> Optional[int]:
        """A money cell read wide (None when empty or refused for `name`)."""
        if _blank(text):
            return None
        try:
            return values.integer(text, low, _BIG)
        except values.CellError as exc:
            self.refuse(name, column, exc.code, exc.reason)
            return None

    def total(self, name: str, get, *columns: str, absolute: bool = False) -> None:
        """The sum of money cells into `name` (empty when all are empty)."""
        amounts = [(column, self.amount(name, column, get(column))) for column in columns]
        if name in self.superseded:
            return
        given = [value for _, value in amounts if value is not None]
        if given:
            self.cells[name] = str(sum(abs(value) if absolute else value for value in given))

    def row(self, **extra) -> SourceRow:
        cells = tuple(self.cells.get(name, "") for name in FIELDS)
        return SourceRow(self.number, cells, errors=tuple(self.errors), superseded=frozenset(self.superseded), **extra)


# ---------------------------------------------------------------- the presets' translations


def _next_engine(t: _Translation, get) -> None:
    c = t.cells
    c["mall_order_number"], c["ordered_at"] = get("店舗伝票番号"), get("受注日")
    c["buyer_name"], c["buyer_name_kana"] = get("受注名"), get("受注名カナ")
    c["buyer_phone"], c["buyer_email"], c["buyer_postal_code"] = get("受注電話番号"), get("受注メールアドレス"), get("受注郵便番号")
    c["buyer_address"] = _address([get("受注住所1")], [get("受注住所2")])
    c["recipient_name"], c["recipient_name_kana"] = get("発送先名"), get("発送先カナ")
    c["recipient_phone"], c["recipient_postal_code"] = get("発送電話番号"), get("発送郵便番号")
    c["recipient_address"] = _address([get("発送先住所1")], [get("発送先住所2")])
    c["payment_method"], c["remarks"] = get("支払方法"), get("備考")
    c["delivery_date"], c["delivery_time_slot"] = get("日付指定"), get("時間帯指定")
    c["mall_item_id"], c["item_name"], c["options"] = get("商品コード"), get("商品名"), get("商品オプション")
    c["unit_price"], c["quantity"] = get("商品価格"), get("受注数量")
    c["postage"], c["points_used"], c["billed"] = get("発送料"), get("ポイント"), get("合計金額")
    t.total("charges", get, "手数料", "その他費用")


NEXT_ENGINE_SOURCES = {
    "mall_order_number": "店舗伝票番号", "ordered_at": "受注日", "buyer_name": "受注名", "buyer_name_kana": "受注名カナ",
    "buyer_phone": "受注電話番号", "buyer_email": "受注メールアドレス", "buyer_postal_code": "受注郵便番号",
    "buyer_address": "受注住所1", "recipient_name": "発送先名", "recipient_name_kana": "発送先カナ",
    "recipient_phone": "発送電話番号", "recipient_postal_code": "発送郵便番号", "recipient_address": "発送先住所1",
    "payment_method": "支払方法", "remarks": "備考", "delivery_date": "日付指定", "delivery_time_slot": "時間帯指定",
    "mall_item_id": "商品コード", "item_name": "商品名", "options": "商品オプション", "unit_price": "商品価格",
    "quantity": "受注数量", "postage": "発送料", "points_used": "ポイント", "billed": "合計金額", "charges": "手数料"}


def _rakuten_party(c: dict, get, prefix: str, into: str) -> None:
    c[f"{into}_name"] = _name(get(f"{prefix}姓"), get(f"{prefix}名"))
    c[f"{into}_name_kana"] = _name(get(f"{prefix}姓カナ"), get(f"{prefix}名カナ"))
    c[f"{into}_phone"] = _phone(*(get(f"{prefix}電話番号{n}") for n in (1, 2, 3)))
    c[f"{into}_postal_code"] = _postcode(get(f"{prefix}郵便番号1"), get(f"{prefix}郵便番号2"))
    c[f"{into}_address"] = _address([get(f"{prefix}住所{part}") for part in ("都道府県", "郡市区", "それ以降の住所")])


REASON_NO_TAX_RATE = Reason(
    "税込別が1（税別）の行に商品税率がありません。2023年以降の形式（商品税率・商品毎税込価格の列がある形式）でダウンロードし直してください。",
    "税込別 is 1 (without tax) but the row has no 商品税率. Download the file again in the layout since 2023 "
    "(with 商品税率 and 商品毎税込価格).")


def _rakuten_price(t: _Translation, get) -> None:
    if not _blank(get("商品毎税込価格")):
        t.cells["unit_price"] = get("商品毎税込価格")
        return
    price = get("単価")
    if unicodedata.normalize("NFKC", get("税込別")).strip() != "1" or _blank(price):
        t.cells["unit_price"] = price
        return
    rate_text = unicodedata.normalize("NFKC", get("商品税率")).strip()
    if not rate_text:
        t.refuse("unit_price", "商品税率", values.MISSING, REASON_NO_TAX_RATE)
        return
    try:
        percent = Decimal(rate_text.rstrip("%")) * (1 if rate_text.endswith("%") else 100)
    except InvalidOperation:
        percent = Decimal("NaN")
    if not percent.is_finite() or percent != percent.to_integral_value() or not 0 <= percent <= 100:
        t.refuse("unit_price", "商品税率", values.INVALID_NUMBER, Reason(
            f"商品税率「{rate_text}」は税率として読めません（例 0.1、0.08）。",
            f"商品税率 “{rate_text}” is not a tax rate (e.g. 0.1, 0.08)."))
        return
    amount = t.amount("unit_price", "単価", price, low=0)
    if amount is not None:
        t.cells["unit_price"] = str(amount * (100 + int(percent)) // 100)


def _rakuten_pay(t: _Translation, get) -> None:
    c = t.cells
    c["mall_order_number"], c["ordered_at"] = get("注文番号"), get("注文日時")
    _rakuten_party(c, get, "注文者", "buyer")
    c["buyer_email"] = get("注文者メールアドレス")
    _rakuten_party(c, get, "送付先", "recipient")
    c["payment_method"], c["remarks"] = get("支払方法名"), get("コメント")
    c["delivery_date"], c["delivery_time_slot"] = get("お届け日指定"), get("お届け時間帯")
    item, sku = get("商品管理番号"), get("SKU管理番号")
    c["mall_item_id"], c["item_name"], c["quantity"] = item, get("商品名"), get("個数")
    if sku.strip() and sku.strip() != item.strip():
        c["sub_code"] = sku
    c["options"] = get("項目・選択肢") if not _blank(get("項目・選択肢")) else get("SKU情報")
    _rakuten_price(t, get)
    c["postage"], c["discount"] = get("送料合計"), get("クーポン利用総額")
    c["points_used"], c["billed"] = get("ポイント利用額"), get("請求金額")
    t.total("charges", get, "代引料合計", "決済手数料")


def _rakuten_sources(columns: _Columns) -> dict:
    sources = {
        "mall_order_number": "注文番号", "ordered_at": "注文日時", "buyer_name": "注文者姓", "buyer_name_kana": "注文者姓カナ",
        "buyer_phone": "注文者電話番号1", "buyer_postal_code": "注文者郵便番号1", "buyer_address": "注文者住所都道府県",
        "buyer_email": "注文者メールアドレス", "recipient_name": "送付先姓", "recipient_name_kana": "送付先姓カナ",
        "recipient_phone": "送付先電話番号1", "recipient_postal_code": "送付先郵便番号1",
        "recipient_address": "送付先住所都道府県", "payment_method": "支払方法名", "remarks": "コメント",
        "delivery_date": "お届け日指定", "delivery_time_slot": "お届け時間帯", "mall_item_id": "商品管理番号",
        "sub_code": "SKU管理番号", "item_name": "商品名", "quantity": "個数", "options": "項目・選択肢",
        "unit_price": "商品毎税込価格" if columns.has("商品毎税込価格") else "単価", "postage": "送料合計",
        "discount": "クーポン利用総額", "points_used": "ポイント利用額", "billed": "請求金額", "charges": "代引料合計"}
    return sources


def _amazon(t: _Translation, get) -> None:
    c = t.cells
    c["mall_order_number"], c["ordered_at"] = get("order-id"), get("purchase-date")
    recipient = get("recipient-name")
    c["buyer_name"] = get("buyer-name") if not _blank(get("buyer-name")) else recipient
    c["buyer_email"], c["buyer_phone"] = get("buyer-email"), get("buyer-phone-number")
    address = _address([get("ship-state"), get("ship-city"), get("ship-address-1")],
                       [get("ship-address-2"), get("ship-address-3")])
    c["recipient_name"], c["recipient_phone"] = recipient, get("ship-phone-number")
    c["recipient_postal_code"] = c["buyer_postal_code"] = get("ship-postal-code")
    c["recipient_address"] = c["buyer_address"] = address
    c["mall_item_id"], c["item_name"], c["quantity"] = get("sku"), get("product-name"), get("quantity-purchased")
    c["delivery_date"] = get("delivery-start-date")
    price = get("item-price")
    c["unit_price"] = price
    if _blank(price):
        return
    try:
        total = values.integer(price, 0, _BIG)
        quantity = values.integer(get("quantity-purchased"), 1, _BIG)
    except values.CellError:
        return  # read_row names what is wrong with either (item-price, quantity-purchased)
    if total % quantity:
        t.refuse("unit_price", "item-price", values.INVALID_NUMBER, Reason(
            f"item-price（{total:,}）が数量（{quantity:,}）で割り切れません。item-price は明細の合計（税込）です。",
            f"item-price ({total:,}) does not divide by the quantity ({quantity:,}): item-price is the line's total "
            "(tax included)."))
        return
    c["unit_price"] = str(total // quantity)


AMAZON_SOURCES = {
    "mall_order_number": "order-id", "ordered_at": "purchase-date", "buyer_name": "buyer-name",
    "buyer_email": "buyer-email", "buyer_phone": "buyer-phone-number", "recipient_name": "recipient-name",
    "recipient_phone": "ship-phone-number", "recipient_postal_code": "ship-postal-code",
    "buyer_postal_code": "ship-postal-code", "recipient_address": "ship-address-1", "buyer_address": "ship-address-1",
    "mall_item_id": "sku", "item_name": "product-name", "quantity": "quantity-purchased", "unit_price": "item-price",
    "delivery_date": "delivery-start-date", "postage": "shipping-price", "discount": "item-promotion-discount"}


def _yahoo_party(c: dict, get, prefix: str, into: str) -> None:
    name = get(f"{prefix}Name")
    c[f"{into}_name"] = name if not _blank(name) else _name(get(f"{prefix}LastName"), get(f"{prefix}FirstName"))
    kana = get(f"{prefix}NameKana")
    c[f"{into}_name_kana"] = kana if not _blank(kana) else _name(get(f"{prefix}LastNameKana"),
                                                                  get(f"{prefix}FirstNameKana"))
    c[f"{into}_phone"], c[f"{into}_postal_code"] = get(f"{prefix}PhoneNumber"), get(f"{prefix}ZipCode")
    c[f"{into}_address"] = _address([get(f"{prefix}Prefecture"), get(f"{prefix}City"), get(f"{prefix}Address1")],
                                    [get(f"{prefix}Address2")])


def _yahoo_order(t: _Translation, get) -> None:
    c = t.cells
    c["mall_order_number"], c["ordered_at"] = get("OrderId"), get("OrderTime")
    _yahoo_party(c, get, "Bill", "buyer")
    c["buyer_email"] = get("BillMailAddress")
    _yahoo_party(c, get, "Ship", "recipient")
    c["payment_method"], c["remarks"] = get("PayMethodName"), get("BuyerComments")
    c["delivery_date"], c["delivery_time_slot"] = get("ShipRequestDate"), get("ShipRequestTime")
    c["postage"], c["points_used"], c["billed"] = get("ShipCharge"), get("UsePoint"), get("TotalPrice")
    t.total("charges", get, "PayCharge", "GiftWrapCharge")
    t.total("discount", get, "Discount", "TotalMallCouponDiscount")


def _options(names: str, chosen: str) -> str:
    """Yahoo!'s ItemOptionName / ItemOptionValue (`;`-separated, pair by pair) as `名:値` lines."""
    pairs = zip(names.split(";"), chosen.split(";") + [""] * names.count(";"))
    return "\n".join(f"{name.strip()}:{value.strip()}" for name, value in pairs if name.strip() or value.strip())


def _yahoo_item(t: _Translation, get) -> Optional[int]:
    """The item's cells; answers its coupon discount × quantity (None: none, or unreadable)."""
    c = t.cells
    c["mall_item_id"], c["sub_code"], c["item_name"] = get("ItemId"), get("SubCode"), get("Title")
    c["quantity"], c["options"] = get("Quantity"), _options(get("ItemOptionName"), get("ItemOptionValue"))
    price = get("UnitPrice")
    c["unit_price"] = price
    coupon = t.amount("unit_price", "CouponDiscount", get("CouponDiscount"), low=0)
    if not coupon or _blank(price):
        return None
    try:
        unit = values.integer(price, 0, _BIG)
        quantity = values.integer(get("Quantity"), 1, _BIG)
    except values.CellError:
        return None  # read_row names what is wrong (UnitPrice, Quantity)
    c["unit_price"] = str(unit + coupon)
    return coupon * quantity


YAHOO_ORDER_SOURCES = {
    "mall_order_number": "OrderId", "ordered_at": "OrderTime", "buyer_name": "BillName",
    "buyer_name_kana": "BillNameKana",
    "buyer_phone": "BillPhoneNumber", "buyer_postal_code": "BillZipCode", "buyer_address": "BillPrefecture",
    "buyer_email": "BillMailAddress", "recipient_name": "ShipName", "recipient_name_kana": "ShipNameKana",
    "recipient_phone": "ShipPhoneNumber", "recipient_postal_code": "ShipZipCode", "recipient_address": "ShipPrefecture",
    "payment_method": "PayMethodName", "remarks": "BuyerComments", "delivery_date": "ShipRequestDate",
    "delivery_time_slot": "ShipRequestTime", "postage": "ShipCharge", "points_used": "UsePoint",
    "billed": "TotalPrice", "charges": "PayCharge", "discount": "Discount"}
YAHOO_ITEM_SOURCES = {"mall_item_id": "ItemId", "sub_code": "SubCode", "item_name": "Title", "quantity": "Quantity",
                      "unit_price": "UnitPrice", "options": "ItemOptionName"}
ORDER_LEVEL = tuple(name for name in FIELDS if name not in YAHOO_ITEM_SOURCES)


# ---------------------------------------------------------------- the tables


@dataclass
class SourceFile:
    """One uploaded file: its bytes, name and how it reads (from reading.peek_header)."""
    open_chunks: OpenChunks
    name: str
    encoding: str
    delimiter: str
    header_row: int
    names: tuple[str, ...]
    detected: bool = False

    def raw(self) -> Table:
        """The file as uploaded: its own header, its rows' cells (for the error report)."""
        return Table(self.encoding, Header(self.names, {}, ()), self.open_chunks, self.header_row, self.delimiter,
                     self.detected)


def _key(number: str) -> str:
    return header_key(number)


class PresetTable:
    """A file of a one-file preset (next_engine, rakuten_pay, amazon) read as §1's rows."""

    def __init__(self, preset: Preset, source: SourceFile):
        self.preset = preset
        self.sources = [source]
        self.encoding = source.encoding
        self.columns = _Columns(source.names)
        raw = {"next_engine": NEXT_ENGINE_SOURCES, "rakuten_pay": None, "amazon": AMAZON_SOURCES}[preset.id]
        raw = raw if raw is not None else _rakuten_sources(self.columns)
        self.header = _header({name: self.columns.written(column) for name, column in raw.items()})
        self._totals: Optional[dict] = None

    def read(self, row: SourceRow) -> tuple[Optional[OrderRow], list[RowError]]:
        return read_translated(self.header, row)

    def place(self, row: Optional[SourceRow], number: int, column: str) -> tuple[Optional[str], int]:
        """Where an error of a row lands: (the file's name when the upload has two files, its row)."""
        return None, number

    def places(self, row: SourceRow) -> list[tuple[Optional[str], int]]:
        """The rows of the upload a row stands for (refused with its order)."""
        return [(None, row.number)]

    def report_parts(self) -> list[tuple[Optional[str], Table]]:
        return [(None, self.sources[0].raw())]

    def index_rows(self) -> Iterator[Row]:
        """The rows with only their order's number (what the job's index pass reads), untranslated: cheaper."""
        number_column, at = self.header.sources["mall_order_number"], POSITION["mall_order_number"]
        blank = [""] * len(FIELDS)
        for row in self.sources[0].raw().rows():
            cells = list(blank)
            cells[at] = self.columns.getter(row.cells)(number_column)
            yield Row(row.number, tuple(cells))

    def rows(self) -> Iterator[SourceRow]:
        translate = {"next_engine": _next_engine, "rakuten_pay": _rakuten_pay, "amazon": _amazon}[self.preset.id]
        totals = self._amazon_totals() if self.preset is AMAZON else None
        firsts: set[str] = set()  # rakuten_pay: orders whose first row is read (複数送付先)
        for row in self.sources[0].raw().rows():
            get = self.columns.getter(row.cells)
            translation = _Translation(row.number, self.columns)
            translate(translation, get)
            several = False
            if self.preset is RAKUTEN_PAY and unicodedata.normalize("NFKC", get("複数送付先フラグ")).strip() == "1":
                several = True
                key = _key(get("注文番号"))
                if key in firsts:
                    for name in RECIPIENT_FIELDS:
                        translation.cells.pop(name, None)
                firsts.add(key)
            if totals is not None:
                postage, discount = totals.get(_key(get("order-id")), ("", ""))
                translation.cells["postage"], translation.cells["discount"] = postage, discount
                self._amazon_money(translation, get)
            yield translation.row(several_destinations=several)

    def _amazon_money(self, t: _Translation, get) -> None:
        for name, columns in (("postage", ("shipping-price",)),
                              ("discount", ("item-promotion-discount", "ship-promotion-discount"))):
            for column in columns:  # the row's own unreadable cells, named
                t.amount(name, column, get(column))

    def _amazon_totals(self) -> dict:
        """Per order: the sum of its rows' shipping-price, and of their promotion discounts (absolute values);
        "" when none of its rows gives one, or one is unreadable (that row is refused naming it)."""
        if self._totals is None:
            sums: dict[str, list] = {}
            for row in self.sources[0].raw().rows():
                get = self.columns.getter(row.cells)
                entry = sums.setdefault(_key(get("order-id")), [None, None, False])
                for slot, columns in ((0, ("shipping-price",)),
                                      (1, ("item-promotion-discount", "ship-promotion-discount"))):
                    for column in columns:
                        if _blank(get(column)):
                            continue
                        try:
                            entry[slot] = (entry[slot] or 0) + abs(values.integer(get(column), -_BIG, _BIG))
                        except values.CellError:
                            entry[2] = True
            self._totals = {key: ("", "") if broken else tuple("" if v is None else str(v) for v in (postage, discount))
                            for key, (postage, discount, broken) in sums.items()}
        return self._totals


REASON_NO_ITEMS = Reason("この注文（OrderId）の商品が商品データにありません。同じ期間の商品データを一緒にアップロードしてください。",
                         "The item data has no item of this order (OrderId). Upload the item data of the same period "
                         "with it.")
REASON_NO_ORDER = Reason("この商品の注文（OrderId）が注文データにありません。同じ期間の注文データを一緒にアップロードしてください。",
                         "The order data has no order of this item (OrderId). Upload the order data of the same period "
                         "with it.")


class YahooTable:
    """Yahoo!'s order file and item file read as one file of §1's rows: one row per item row (its order's cells
    from the order file, joined by OrderId), then a row for each order without items."""

    def __init__(self, order: SourceFile, item: SourceFile):
        self.preset = YAHOO_ORDER
        self.order, self.item = order, item
        self.sources = [order, item]
        self.encoding = order.encoding
        self.order_columns, self.item_columns = _Columns(order.names), _Columns(item.names)
        sources = {name: self.order_columns.written(column) for name, column in YAHOO_ORDER_SOURCES.items()}
        sources.update({name: self.item_columns.written(column) for name, column in YAHOO_ITEM_SOURCES.items()})
        written_orders = frozenset(sources[name] for name in YAHOO_ORDER_SOURCES if name != "mall_order_number")
        self.header = _header(sources, written_orders)
        self._orders: Optional[dict] = None
        self._last_item_row = 0

    def read(self, row: SourceRow) -> tuple[Optional[OrderRow], list[RowError]]:
        return read_translated(self.header, row)

    def place(self, row: Optional[SourceRow], number: int, column: str) -> tuple[Optional[str], int]:
        if row is None:
            return self.item.name, number
        if row.item_row and column not in self.header.order_columns:
            return self.item.name, row.item_row
        return self.order.name, row.order_row

    def places(self, row: SourceRow) -> list[tuple[Optional[str], int]]:
        return ([(self.order.name, row.order_row)] if row.order_row else []) + \
            ([(self.item.name, row.item_row)] if row.item_row else [])

    def report_parts(self) -> list[tuple[Optional[str], Table]]:
        return [(self.order.name, self.order.raw()), (self.item.name, self.item.raw())]

    def _index(self) -> dict:
        """OrderId key -> [order row, its §1 cells, errors, superseded, coupon discount of its items, has items]."""
        if self._orders is None:
            orders: dict[str, list] = {}
            for row in self.order.raw().rows():
                get = self.order_columns.getter(row.cells)
                translation = _Translation(row.number, self.order_columns)
                _yahoo_order(translation, get)
                orders.setdefault(_key(get("OrderId")), [row.number, translation.cells, translation.errors,
                                                         translation.superseded, 0, False])
            for row in self.item.raw().rows():
                self._last_item_row = row.number
                get = self.item_columns.getter(row.cells)
                entry = orders.get(_key(get("OrderId")))
                if entry is None:
                    continue
                entry[5] = True
                coupon = _yahoo_item(_Translation(row.number, self.item_columns), get)
                entry[4] += coupon or 0
            self._orders = orders
        return self._orders

    def index_rows(self) -> Iterator[SourceRow]:
        return self.rows()

    def rows(self) -> Iterator[SourceRow]:
        orders = self._index()
        for row in self.item.raw().rows():
            get = self.item_columns.getter(row.cells)
            translation = _Translation(row.number, self.item_columns)
            _yahoo_item(translation, get)
            entry = orders.get(_key(get("OrderId")))
            if entry is None:
                translation.cells["mall_order_number"] = get("OrderId")
                translation.errors.append(RowError(row.number, self.item_columns.written("OrderId"), values.MISSING,
                                                   REASON_NO_ORDER))
                translation.superseded.update(FIELDS)
                yield translation.row(item_row=row.number)
                continue
            order_row, cells, errors, superseded, coupons, _ = entry
            translation.cells.update(cells)
            if coupons:
                discount = int(cells.get("discount") or 0) if "discount" not in superseded else 0
                translation.cells["discount"] = str(discount + coupons)
            translation.errors.extend(replace(error, row=row.number) for error in errors)
            translation.superseded.update(superseded)
            yield translation.row(order_row=order_row, item_row=row.number)
        for key, (order_row, cells, errors, superseded, _, has_items) in orders.items():
            if has_items:
                continue
            number = self._last_item_row + order_row
            error = RowError(number, self.order_columns.written("OrderId"), values.MISSING, REASON_NO_ITEMS)
            yield SourceRow(number, tuple(cells.get(name, "") for name in FIELDS), errors=(error,),
                            superseded=frozenset(FIELDS), order_row=order_row)


def read_translated(header: SourceHeader, row: SourceRow) -> tuple[Optional[OrderRow], list[RowError]]:
    """read_row over the translated cells, with the translation's own errors in place of read_row's for the
    fields they stand for (an order without items is refused for that alone)."""
    parsed, errors = read_row(header, row)
    if not row.errors:
        return parsed, errors
    superseded_columns = {header.name_of(name) or JA[name] for name in row.superseded}
    kept = [error for error in errors if error.column not in superseded_columns]
    return None, [*row.errors, *kept]


def open_preset(preset: Preset, files: Sequence[SourceFile]):
    """The table a preset reads its file(s) as: Yahoo!'s pair told apart by their headers, in either order."""
    if preset.id != "yahoo":
        return PresetTable(preset, files[0])
    first, second = files
    if recognise(first.names) is YAHOO_ITEM:
        first, second = second, first
    if first.name == second.name:  # errors and the report tell the files apart by their names
        name = first.name[:240]  # as import_errors holds a file's name: 255 characters
        first, second = replace(first, name=f"{name}（注文データ）"), replace(second, name=f"{name}（商品データ）")
    return YahooTable(first, second)
