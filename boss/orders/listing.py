"""A page of whole orders read as rows (GET /api/v1/orders): each order's columns with its lines, tags and shipments,
and returns, which the database gathers as JSON in the same statement — one round trip for the page and no ORM
objects to build, where the ORM read them in five and spent most of the page's time building objects. One statement
reads from one moment, so the page needs no snapshot transaction (api.errors.ONE_STATEMENT_READS).

The objects it gives (OrderRow, LineRow, TagRow, ShipmentRow, ReturnRow) are read-only and answer what
`api.serialize.order_json` and the rules read of an Order, a line, a tag, a shipment and a return (OrderLook, LineLook and
TagLook are shared with the models)."""
from __future__ import annotations

from datetime import date, datetime
from operator import attrgetter, itemgetter

from sqlalchemy import JSON, case, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..extensions import db
from ..models import Product
from . import rules
from .models import LineLook, Order, OrderLine, OrderLook, Return, ReturnLine, Shipment, Tag, TagLook, order_tags


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


class json_column(FunctionElement):
    """A JSON value inside json_rows (a JSON column, a json_rows subquery): as it is on PostgreSQL (json nests as
    it is), read as JSON on SQLite (which has it as text and would nest it as a string)."""
    type = JSON()
    name = "json_column"
    inherit_cache = True


@compiles(json_column, "postgresql")
def _json_column_postgresql(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(json_column, "sqlite")
def _json_column_sqlite(element, compiler, **kw):
    return f"json({compiler.process(element.clauses, **kw)})"


def _pairs(model=None, names: tuple = (), **columns) -> list:
    """(key, value, …) for json_rows: `model`'s columns `names` under their own names, then `columns`."""
    columns = {**{name: getattr(model, name) for name in names}, **columns}
    return [part for key, column in columns.items() for part in (literal_column(f"'{key}'"), column)]


LINE_FIELDS = ("id", "position", "mall_item_id", "sub_code", "name", "quantity", "unit_price", "options", "product_id")
TAG_FIELDS = ("id", "code", "name", "color", "system", "holds")
RETURN_LINE_FIELDS = ("id", "sku", "quantity", "returned", "sellable")
# What the JSON and the rules read of a shipment (serialize.shipment_json, OrderLook.state, `warehouse_notice`).
SHIPMENT_FIELDS = ("id", "status", "request_state", "request_error", "warehouse_id", "carrier", "tracking_number",
                   "reason", "notice")

# The SKU by a subquery of its own, per line, not a join: PostgreSQL hashed every product for every order.
_SKU = select(Product.sku).where(Product.id == OrderLine.product_id).correlate(OrderLine).scalar_subquery()
_LINES = (select(json_rows(*_pairs(OrderLine, LINE_FIELDS, sku=_SKU)))
          .where(OrderLine.order_id == Order.id).correlate(Order).scalar_subquery().label("lines_json"))
_TAGS = (select(json_rows(*_pairs(Tag, TAG_FIELDS)))
         .select_from(order_tags).join(Tag, Tag.id == order_tags.c.tag_id)
         .where(order_tags.c.order_id == Order.id).correlate(Order).scalar_subquery().label("tags_json"))
_SHIPMENTS = (select(json_rows(*_pairs(Shipment, (*SHIPMENT_FIELDS, "requested_at", "shipped_on"),
                                       parcels=json_column(Shipment.parcels),
                                       short_lines=json_column(Shipment.short_lines))))
              .where(Shipment.order_id == Order.id).correlate(Order).scalar_subquery().label("shipments_json"))
# A shipped order's returns (return_json; an order that is not 発送済 shows none, so reads none), with their lines.
_RETURN_LINES = (select(json_rows(*_pairs(ReturnLine, RETURN_LINE_FIELDS)))
                 .where(ReturnLine.return_id == Return.id).correlate(Return).scalar_subquery())
_RETURNS = case((Order.shipment_status == rules.SHIPPED, (
    select(json_rows(*_pairs(Return, ("id", "order_id", "status", "opened_at", "inspected_at"),
                             lines=json_column(_RETURN_LINES))))
    .where(Return.order_id == Order.id).correlate(Order).scalar_subquery())), else_=None).label("returns_json")

# What a page reads of each order: every column the JSON shows (not the last RMS read, the search text or the
# number's key, the largest and never shown), and its lines, tags, shipments and returns.
_NOT_READ = {"rms_read", "rms_read_hash", "search_text", "mall_order_number_key"}
COLUMNS = (*(column for column in Order.__table__.c if column.key not in _NOT_READ), _LINES, _TAGS, _SHIPMENTS,
           _RETURNS)


def read_page(page) -> list:
    """The rows of a page's statement of COLUMNS (its filter, order and limit). SQLite computes what a statement
    selects before it sorts: without an index that gives the order (include_deleted), it would build the JSON of
    every matching order and keep the page's. There the page's orders are chosen first, by id, and the JSON built
    for them alone. PostgreSQL computes it after the LIMIT by itself (and would spend ~1 ms more on the subquery)."""
    if db.session.get_bind().dialect.name == "sqlite":
        page = page.where(Order.id.in_(page.with_only_columns(Order.id).scalar_subquery()))
    return list(db.session.execute(page))


def _time(value: str | None) -> datetime | None:
    """A date and time as JSON holds it: ISO text from both databases (SQLite's with a space before the time)."""
    return datetime.fromisoformat(value) if value else None


class _Fields:
    """A read-only object of a JSON object's FIELDS, as they came; a subclass reads the rest itself."""
    __slots__ = ()
    FIELDS: tuple = ()

    def __init__(self, values: dict):
        for name in self.FIELDS:
            setattr(self, name, values[name])


class LineRow(_Fields, LineLook):
    FIELDS = (*LINE_FIELDS, "sku")
    __slots__ = FIELDS


class TagRow(_Fields, TagLook):
    FIELDS = ("id", "code", "name", "color")
    __slots__ = TAG_FIELDS

    def __init__(self, values: dict):
        super().__init__(values)
        self.system, self.holds = bool(values["system"]), bool(values["holds"])  # SQLite's JSON has 0 and 1


class ShipmentRow(_Fields):
    FIELDS = SHIPMENT_FIELDS
    __slots__ = (*SHIPMENT_FIELDS, "requested_at", "shipped_on", "parcels", "short_lines")

    def __init__(self, values: dict):
        super().__init__(values)
        self.requested_at = _time(values["requested_at"])
        self.shipped_on = date.fromisoformat(values["shipped_on"]) if values["shipped_on"] else None
        self.parcels, self.short_lines = values["parcels"], values["short_lines"]


class ReturnLineRow(_Fields):
    FIELDS = __slots__ = RETURN_LINE_FIELDS


class ReturnRow(_Fields):
    FIELDS = ("id", "order_id", "status")
    __slots__ = (*FIELDS, "opened_at", "inspected_at", "lines")

    def __init__(self, values: dict):
        super().__init__(values)
        self.opened_at, self.inspected_at = _time(values["opened_at"]), _time(values["inspected_at"])
        self.lines = sorted(map(ReturnLineRow, values["lines"] or ()), key=attrgetter("id"))


class OrderRow(OrderLook):
    """An order of a page: its COLUMNS as attributes, its lines (in position order), tags (by id) and shipments
    (oldest first), and its latest return when it is 発送済. Read-only: nothing here is written back."""

    def __init__(self, row):
        values = row._asdict()
        self.lines = sorted(map(LineRow, values.pop("lines_json") or ()), key=attrgetter("position", "id"))
        self.tags = sorted(map(TagRow, values.pop("tags_json") or ()), key=attrgetter("id"))
        self.shipments = sorted(map(ShipmentRow, values.pop("shipments_json") or ()), key=attrgetter("id"))
        returns = values.pop("returns_json")
        self.latest_return = ReturnRow(max(returns, key=itemgetter("id"))) if returns else None
        self.__dict__.update(values)
