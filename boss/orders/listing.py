"""A page of whole orders read as rows (GET /api/v1/orders): each order's columns with its lines and tags, which the
database gathers as JSON in the same statement — one round trip for the page and no ORM objects to build, where
the ORM read the orders, their lines and their tags in three and spent most of the page's time building objects.

The objects it gives (OrderRow, LineRow, TagRow) are read-only and answer what `api.serialize.order_json` and the
rules read of an Order, a line and a tag (OrderLook, LineLook, TagLook are shared with the models); an OrderRow's
shipments are plain rows of `shipments` (attach_shipments)."""
from __future__ import annotations

from collections import defaultdict
from operator import attrgetter
from typing import Iterable

from sqlalchemy import JSON, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..extensions import db
from ..models import Product
from .models import LineLook, Order, OrderLine, OrderLook, Shipment, Tag, TagLook, order_tags


class json_rows(FunctionElement):
    """The rows of a subquery as a JSON array of objects, from (key, value, key, value, …) — keys as SQL string
    literals. An empty set gives NULL on PostgreSQL and [] on SQLite; the order of the elements is not defined (the
    reader sorts them)."""
    type = JSON()
    name = "json_rows"
    inherit_cache = True


@compiles(json_rows, "postgresql")
def _json_rows_postgresql(element, compiler, **kw):
    return f"json_agg(json_build_object({compiler.process(element.clauses, **kw)}))"


@compiles(json_rows, "sqlite")
def _json_rows_sqlite(element, compiler, **kw):
    return f"json_group_array(json_object({compiler.process(element.clauses, **kw)}))"


def _pairs(**columns) -> list:
    return [part for key, column in columns.items() for part in (literal_column(f"'{key}'"), column)]


LINE_FIELDS = ("id", "position", "mall_item_id", "sub_code", "name", "quantity", "unit_price", "options", "product_id")
TAG_FIELDS = ("id", "code", "name", "color", "system", "holds")

_LINES = (select(json_rows(*_pairs(**{name: getattr(OrderLine, name) for name in LINE_FIELDS}, sku=Product.sku)))
          .select_from(OrderLine).outerjoin(Product, Product.id == OrderLine.product_id)
          .where(OrderLine.order_id == Order.id).correlate(Order).scalar_subquery().label("lines_json"))
_TAGS = (select(json_rows(*_pairs(**{name: getattr(Tag, name) for name in TAG_FIELDS})))
         .select_from(order_tags).join(Tag, Tag.id == order_tags.c.tag_id)
         .where(order_tags.c.order_id == Order.id).correlate(Order).scalar_subquery().label("tags_json"))

# What a page reads of each order: every column the JSON shows (not the last RMS read, the search text or the
# number's key, the largest and never shown), and its lines and tags.
_NOT_READ = {"rms_read", "rms_read_hash", "search_text", "mall_order_number_key"}
COLUMNS = (*(column for column in Order.__table__.c if column.key not in _NOT_READ), _LINES, _TAGS)


class LineRow(LineLook):
    __slots__ = (*LINE_FIELDS, "sku")

    def __init__(self, values: dict):
        for name in self.__slots__:
            setattr(self, name, values[name])


class TagRow(TagLook):
    __slots__ = TAG_FIELDS

    def __init__(self, values: dict):
        self.id, self.code, self.name, self.color = values["id"], values["code"], values["name"], values["color"]
        self.system, self.holds = bool(values["system"]), bool(values["holds"])  # SQLite's JSON has 0 and 1


class OrderRow(OrderLook):
    """An order of a page: its COLUMNS as attributes, its lines (in position order) and tags (by id), and its
    shipments (oldest first) once attach_shipments has read them."""

    def __init__(self, row):
        values = row._asdict()
        self.lines = sorted(map(LineRow, values.pop("lines_json") or ()), key=attrgetter("position", "id"))
        self.tags = sorted(map(TagRow, values.pop("tags_json") or ()), key=attrgetter("id"))
        self.__dict__.update(values)


def order_rows(rows: Iterable) -> list[OrderRow]:
    """The OrderRows of rows of COLUMNS, with their shipments (one read, for the orders that have any)."""
    orders = [OrderRow(row) for row in rows]
    attach_shipments([order for order in orders if order.shipment_status is not None])
    return orders


def attach_shipments(orders: list[OrderRow]) -> None:
    if not orders:
        return
    found = defaultdict(list)
    for shipment in db.session.execute(select(Shipment.__table__).where(Shipment.order_id.in_([o.id for o in orders]))
                                       .order_by(Shipment.id)):
        found[shipment.order_id].append(shipment)
    for order in orders:
        order.shipments = found[order.id]
