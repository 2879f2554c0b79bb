"""受注CSV登録's columns and rows (csv.md §1), pure: a row read into an order's fields and a line, every problem
of the row at once; the rows of one order assembled into registration.NewOrder's arguments.

The limits are the API's (api.md, boss/api/routes.py: read_new_order), so a CSV order is one the API takes:
names 255 characters, e-mail 254, phone 40, postal code 16, address 500, payment method 120, remarks 5,000,
mall item id, sub code and item name 255; quantity 1..9,999, unit price 0..10,000,000, postage 0..1,000,000,
charges, discount and points 0..10,000,000 each, 請求金額 up to what 200 lines, postage and charges can add to.
項目選択肢 (not in the API) is held to 5,000 characters, as 備考.

A モール注文番号 is read by boss.orders.numbers.manual_number: empty is `missing`, over 64 characters `too_long`,
a character that shows nothing `invalid_number` (the number is not one BOSS can register; its message names the
character's position).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from ..orders import delivery
from ..orders.numbers import MAX_LENGTH as NUMBER_MAX_LENGTH
from ..orders.numbers import InvalidNumber, invisible, manual_number, normalise
from ..reason import Reason
from . import values
from .reading import Column, Header, Row
from .values import CellError

MAX_LINES = 200
MAX_QUANTITY, MAX_UNIT_PRICE, MAX_POSTAGE = 9999, 10_000_000, 1_000_000
MAX_BILLED = MAX_LINES * MAX_QUANTITY * MAX_UNIT_PRICE + MAX_POSTAGE + delivery.MAX_ADJUSTMENT
PARTY_LIMITS = {"name": 255, "name_kana": 255, "email": 254, "phone": 40, "postal_code": 16, "address": 500}
PARTY = tuple(PARTY_LIMITS)
MAX_PAYMENT_METHOD, MAX_REMARKS, MAX_OPTIONS, MAX_ITEM_TEXT = 120, 5000, 5000, 255

ORDER_COLUMNS: tuple[Column, ...] = (
    Column("shop", "ショップ", required=True),
    Column("mall_order_number", "モール注文番号", required=True),
    Column("ordered_at", "注文日時"),
    Column("buyer_name", "購入者名", required=True),
    Column("buyer_name_kana", "購入者名カナ"),
    Column("buyer_email", "購入者メール"),
    Column("buyer_phone", "購入者電話番号"),
    Column("buyer_postal_code", "購入者郵便番号"),
    Column("buyer_address", "購入者住所"),
    Column("recipient_name", "送付先名"),
    Column("recipient_name_kana", "送付先名カナ"),
    Column("recipient_phone", "送付先電話番号"),
    Column("recipient_postal_code", "送付先郵便番号"),
    Column("recipient_address", "送付先住所"),
    Column("payment_method", "支払方法"),
    Column("remarks", "備考"),
    Column("delivery_date", "お届け日"),
    Column("delivery_time_slot", "お届け時間帯"),
    Column("postage", "送料"),
    Column("charges", "手数料"),
    Column("discount", "割引"),
    Column("points_used", "ポイント利用"),
    Column("billed", "請求金額"),
    Column("options", "項目選択肢"),
    Column("mall_item_id", "モール商品ID", required=True),
    Column("sub_code", "サブコード"),
    Column("item_name", "商品名", required=True),
    Column("quantity", "数量", required=True),
    Column("unit_price", "単価", required=True),
)
LINE_FIELDS = ("mall_item_id", "sub_code", "item_name", "quantity", "unit_price", "options")
ORDER_FIELDS: tuple[str, ...] = tuple(column.field for column in ORDER_COLUMNS if column.field not in LINE_FIELDS)
JA = {column.field: column.ja for column in ORDER_COLUMNS}
RECIPIENT_FIELDS = tuple(f"recipient_{name}" for name in PARTY if name != "email")


def _integer(low: int, high: int) -> Callable[[str], int]:
    return lambda cell: values.integer(cell, low, high)


def _text(limit: int, strip: bool = True) -> Callable[[str], str]:
    return lambda cell: values.text(cell, limit, strip=strip)


# How each field's non-empty cell is read (shop and モール注文番号 are read apart).
READERS: dict[str, Callable[[str], object]] = {
    "ordered_at": values.order_datetime,
    **{f"buyer_{name}": _text(limit) for name, limit in PARTY_LIMITS.items()},
    **{field: _text(PARTY_LIMITS[field.removeprefix("recipient_")]) for field in RECIPIENT_FIELDS},
    "payment_method": _text(MAX_PAYMENT_METHOD),
    "remarks": _text(MAX_REMARKS, strip=False),
    "delivery_date": values.delivery_date,
    "delivery_time_slot": values.time_slot,
    "postage": _integer(0, MAX_POSTAGE),
    **{name: _integer(0, delivery.MAX_ADJUSTMENT) for name in ("charges", "discount", "points_used")},
    "billed": _integer(0, MAX_BILLED),
    "mall_item_id": _text(MAX_ITEM_TEXT),
    "sub_code": _text(MAX_ITEM_TEXT),
    "item_name": _text(MAX_ITEM_TEXT),
    "quantity": _integer(1, MAX_QUANTITY),
    "unit_price": _integer(0, MAX_UNIT_PRICE),
    "options": _text(MAX_OPTIONS),
}
REQUIRED_IN_EVERY_ROW = ("mall_item_id", "item_name", "quantity", "unit_price")
LINE_KEYS = {"mall_item_id": "mall_item_id", "sub_code": "sub_code", "item_name": "name", "quantity": "quantity",
             "unit_price": "unit_price", "options": "options"}


@dataclass(frozen=True)
class RowError:
    row: int
    column: str  # the header as written in the file ("" when the error is the row's)
    code: str
    reason: Reason


@dataclass(frozen=True)
class OrderRow:
    row: int
    shop: str  # the ショップ cell, stripped ("" when none/empty)
    number: str  # the モール注文番号 normalised (manual_number(...).number)
    key: str  # its number key (manual_number(...).key)
    order: dict  # order-level fields the row fills (non-empty cells only), parsed to their types
    line: dict  # {"mall_item_id", "sub_code", "name", "quantity", "unit_price", "options"}
    header: Optional[Header] = field(default=None, compare=False, repr=False)  # for the columns' names

    def column(self, name: str) -> str:
        """The header of a field as written in the file, its Japanese header without one."""
        return (self.header.name_of(name) if self.header else "") or JA.get(name, name)


def _in_file_order(errors: list[RowError], header: Optional[Header]) -> list[RowError]:
    """Errors by row, and within a row by the column's place in the file (the row's own errors first)."""
    names = header.names if header else ()
    return sorted(errors, key=lambda error: (error.row, names.index(error.column) if error.column in names else -1))


def _blank(cell: str) -> bool:
    return not cell.strip()


def _number_error(raw: str, exc: InvalidNumber) -> tuple[str, Reason]:
    number = normalise(raw)
    if not number:
        return values.MISSING, exc.reason
    if len(number) > NUMBER_MAX_LENGTH and not any(invisible(ch) for ch in number):
        return values.TOO_LONG, exc.reason
    return values.INVALID_NUMBER, exc.reason


def read_row(header: Header, row: Row) -> tuple[Optional[OrderRow], list[RowError]]:
    """The row read into an OrderRow, or every problem of it (OrderRow None): codes of csv.md §1, each with the
    column's header as written in the file. Order-level cells may be empty (another row of the order fills them);
    モール注文番号 and the line's モール商品ID, 商品名, 数量, 単価 may not."""
    errors: list[RowError] = []

    def refuse(name: str, code: str, reason: Reason) -> None:
        errors.append(RowError(row.number, header.name_of(name) or JA[name], code, reason))

    raw_number = header.cell(row, "mall_order_number")
    number = key = ""
    try:
        read = manual_number(raw_number)
        number, key = read.number, read.key
    except InvalidNumber as exc:
        refuse("mall_order_number", *_number_error(raw_number, exc))
    order: dict = {}
    line: dict = {"mall_item_id": "", "sub_code": "", "name": "", "quantity": 0, "unit_price": 0, "options": ""}
    for name, reader in READERS.items():
        cell = header.cell(row, name)
        if _blank(cell):
            if name in REQUIRED_IN_EVERY_ROW:
                refuse(name, values.MISSING, values.REASON_MISSING)
            continue
        try:
            value = reader(cell)
        except CellError as exc:
            refuse(name, exc.code, exc.reason)
            continue
        if name in LINE_KEYS:
            line[LINE_KEYS[name]] = value
        elif value is not None:  # お届け時間帯 指定なし fills nothing
            order[name] = value
    if errors:
        return None, _in_file_order(errors, header)
    shop = header.cell(row, "shop").strip()
    return OrderRow(row.number, shop, number, key, order, line, header), []


def assemble(rows: Sequence[OrderRow]) -> tuple[Optional[dict], list[RowError]]:
    """The rows of ONE order, in file order, as registration.NewOrder's keyword arguments but shop_id; or its
    errors: `conflicting_order_fields` on each later row whose non-empty order field differs from an earlier
    row's, `missing` 購入者名 when no row gives it, `missing` 送付先名 when other 送付先 cells are given without it,
    `too_many_lines` past 200 lines (on the 201st line's row)."""
    errors: list[RowError] = []
    fields: dict = {}
    for row in rows:
        for name, value in row.order.items():
            if name not in fields:
                fields[name] = (value, row)
            elif fields[name][0] != value:
                first = fields[name][1]
                errors.append(RowError(row.row, row.column(name), "conflicting_order_fields", Reason(
                    f"同じ注文の{first.row}行目と「{row.column(name)}」が違います。同じ注文の行では同じ値にするか、空欄にしてください。",
                    f"“{row.column(name)}” differs from row {first.row} of the same order. "
                    "Rows of one order must agree, or leave the cell empty.")))
    first = rows[0]
    if "buyer_name" not in fields:
        errors.append(RowError(first.row, first.column("buyer_name"), values.MISSING, Reason(
            "購入者名を入力してください（注文のどれか1行に）。", "Enter the buyer's name (on a row of the order).")))
    given = [name for name in RECIPIENT_FIELDS[1:] if name in fields]
    if given and "recipient_name" not in fields:
        row = fields[given[0]][1]
        errors.append(RowError(row.row, row.column("recipient_name"), values.MISSING, Reason(
            f"「{row.column(given[0])}」があるのに送付先名が空です。送付先名を入力するか、送付先の列を空にしてください"
            "（空なら購入者に届けます）。",
            f"“{row.column(given[0])}” is given but the recipient's name is empty. Enter the recipient's name, or "
            "leave the recipient's cells empty (the order then goes to the buyer).")))
    if len(rows) > MAX_LINES:
        errors.append(RowError(rows[MAX_LINES].row, "", "too_many_lines", Reason(
            f"1件の注文の明細は{MAX_LINES}行までです（この注文は{len(rows)}行あります）。",
            f"An order has at most {MAX_LINES} lines (this one has {len(rows)}).")))
    if errors:
        return None, _in_file_order(errors, rows[0].header)
    value = {name: entry[0] for name, entry in fields.items()}
    buyer = {name: value.get(f"buyer_{name}", "") for name in PARTY}
    recipient = None
    if "recipient_name" in value:
        recipient = {name: value.get(f"recipient_{name}", "") for name in PARTY}
    return {
        "mall_order_number": first.number,
        "buyer": buyer,
        "recipient": recipient,
        "lines": [dict(row.line) for row in rows],
        "ordered_at": value.get("ordered_at"),
        "payment_method": value.get("payment_method", ""),
        "remarks": value.get("remarks", ""),
        "delivery_date": value.get("delivery_date"),
        "delivery_time_slot": value.get("delivery_time_slot"),
        "postage": value.get("postage"),
        "charges": value.get("charges", 0),
        "discount": value.get("discount", 0),
        "points_used": value.get("points_used", 0),
        "billed": value.get("billed"),
    }, []
