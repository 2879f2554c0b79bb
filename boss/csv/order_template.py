"""受注CSV登録's template (csv.md §4): §1's headers in their order and two example rows of one order, in CP932 as
Excel opens it. The second row is the order's second line: it leaves the order's fields empty, as a file may."""
from __future__ import annotations

from .order_rows import ORDER_COLUMNS
from .writing import CsvWriter

FIRST_LINE = {
    "mall_order_number": "CSV-0001", "ordered_at": "2026/11/27 14:05", "buyer_name": "山田 太郎",
    "buyer_name_kana": "ヤマダ タロウ", "buyer_email": "taro@example.com", "buyer_phone": "03-1234-5678",
    "buyer_postal_code": "100-0001", "buyer_address": "東京都千代田区千代田1-1", "payment_method": "クレジットカード",
    "remarks": "ギフト包装希望", "delivery_date": "2026/12/01", "delivery_time_slot": "14-16", "postage": "600",
    "charges": "0", "discount": "0", "points_used": "0", "options": "カラー:赤",
    "mall_item_id": "tea-001", "sub_code": "red", "item_name": "煎茶 100g", "quantity": "2", "unit_price": "1200",
}
SECOND_LINE = {"mall_order_number": "CSV-0001", "mall_item_id": "cup-001", "item_name": "湯呑み",
               "quantity": "1", "unit_price": "2500"}


def order_template(shop_name: str) -> bytes:
    """The template's bytes, its rows in the shop `shop_name`: uploaded as it is, it registers one order."""
    rows = [{**line, "shop": shop_name} for line in (FIRST_LINE, SECOND_LINE)]
    return CsvWriter("cp932").rows([[column.ja for column in ORDER_COLUMNS],
                                    *([row.get(column.field, "") for column in ORDER_COLUMNS] for row in rows)])
