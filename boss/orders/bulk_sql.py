"""One INSERT of many rows, each database its cheapest way (the mall import's batch); the UPDATEs of many versioned
rows in one statement (a page of warehouse events)."""
from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import Optional

import orjson
from sqlalchemy import Text, bindparam, cast, func, inspect, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db


def one_of(column, values):
    """`column IN values` for a long list (a page of events names hundreds): on PostgreSQL
    `column IN (SELECT unnest(:array))`, one parameter, so the statement's text stays the same whatever the number
    of values — psycopg parses a text of hundreds of placeholders anew at every execution, and SQLAlchemy renders
    each; elsewhere an IN list.

    Not `column = ANY(:array)`: once psycopg prepares the statement (its fifth run), PostgreSQL may keep a generic
    plan that looks the rows up by the other conditions and compares each with every element of the array — for
    the account's seen event ids, 500 × every event of the account, 150–350 ms a page at 10,000 events. The join
    with the unnested array is planned as lookups by the column's index whatever the plan."""
    values = list(values)
    if db.session.get_bind().dialect.name == "postgresql":
        return column.in_(select(func.unnest(bindparam(None, values, type_=postgresql.ARRAY(column.type))))
                          .scalar_subquery())
    return column.in_(values)


def insert_rows(table, rows: list[dict], unless_held: bool = False, returning: tuple = ()) -> list:
    """One INSERT of `rows` (dicts with the same keys); the RETURNING rows.

    unless_held: ON CONFLICT (shop_id, mall_order_number_key) WHERE deleted_at IS NULL DO NOTHING — a row whose
    number has an active holder (R4's partial unique index) is left out, and only that case.

    PostgreSQL gets the rows as one JSON parameter (INSERT … SELECT FROM json_populate_recordset): a short
    statement, the same whatever the number of rows, which the server parses in C. A multi-row VALUES
    list instead (SQLAlchemy's insertmanyvalues) is a text of thousands of placeholders that psycopg
    parses anew at every execution, and an array per column is escaped element by element in Python:
    ~15 and ~8 ms of CPU for 100 orders, against ~2 ms. orjson writes the JSON (~0.3 ms for 100 orders
    against ~1.5 ms with the json module; its naive datetimes and dates are isoformat()'s text). SQLite runs
    in-process: executemany (with insertmanyvalues for RETURNING). The same JSON through json_each and a
    json_extract per column costs SQLite more than SQLAlchemy's per-row handling does (~28 against ~21 ms
    of CPU for 100 orders with their triggers, measured on the bench machine).
    """
    if not rows:
        return []
    names = tuple(rows[0])
    if db.session.get_bind().dialect.name == "postgresql":
        statement = _json_insert(table, names, unless_held, tuple(returning))
        result = db.session.connection().execute(statement, {"rows": orjson.dumps(rows).decode()})
    else:
        statement = sqlite.insert(table)
        if unless_held:
            statement = _unless_held(statement, table)
        if returning:
            statement = statement.returning(*returning)
        result = db.session.connection().execute(statement, rows)
    return result.all() if returning else []


@lru_cache(maxsize=32)
def _json_insert(table, names: tuple, unless_held: bool, returning: tuple):
    """INSERT INTO table (names) SELECT names FROM json_populate_recordset(NULL::table, :rows) [ON CONFLICT …] [RETURNING …]."""
    source = func.json_populate_recordset(literal_column(f"NULL::{table.name}"),
                                          cast(bindparam("rows", type_=Text), postgresql.JSON)).table_valued(*names)
    statement = postgresql.insert(table).from_select(list(names), select(*(source.c[name] for name in names)))
    if unless_held:
        statement = _unless_held(statement, table)
    return statement.returning(*returning) if returning else statement


def _unless_held(statement, table):
    return statement.on_conflict_do_nothing(
        index_elements=[table.c.shop_id, table.c.mall_order_number_key], index_where=table.c.deleted_at.is_(None))


def flush_versioned(objects) -> None:
    """Write the pending column changes of many loaded objects of a versioned mapper (R13's orders) in one
    UPDATE per set of changed columns (PostgreSQL: the rows as one JSON parameter; SQLite: an executemany), instead
    of the ORM's flush, which sends a versioned UPDATE one row at a time (it needs each row's count): a page of
    warehouse events changes hundreds of orders, and on PostgreSQL each UPDATE is a round trip.

    The same check as the ORM's: `WHERE id = … AND version = <the version loaded>`, the version + 1; fewer rows
    matched than sent raises StaleDataError (an order changed meanwhile: on SQLite, which has no row lock), and the
    caller's transaction is rolled back as after the ORM's own. The written values become the objects' committed
    state, so the ORM's flush finds nothing more of theirs to write; their relationships (tags) are left to it."""
    _flush_changed(objects, versioned=True)


def flush_plain(objects) -> None:
    """The same for objects of a mapper without a version (a page's shipments, locked with their orders):
    `WHERE id = …`, one statement per set of changed columns instead of the ORM's executemany of one UPDATE a row."""
    _flush_changed(objects, versioned=False)


def _flush_changed(objects, versioned: bool) -> None:
    groups: dict = defaultdict(list)
    for obj in objects:
        state = inspect(obj)
        if state.key is None or not state.modified or (state.mapper.version_id_col is not None) != versioned:
            continue
        columns = state.mapper.column_attrs
        changed = {key: state.dict[key] for key, before in state.committed_state.items()
                   if key in columns and key in state.dict and state.dict[key] != before}
        if changed:
            groups[(state.mapper, tuple(sorted(changed)))].append((obj, changed))
    for (mapper, keys), items in groups.items():
        version_key = mapper.get_property_by_column(mapper.version_id_col).key if versioned else None
        versions = [inspect(obj).committed_state.get(version_key, getattr(obj, version_key)) if versioned else None
                    for obj, _ in items]
        _update(mapper.local_table, mapper.version_id_col.name if versioned else None, keys,
                [(obj.id, version, changed) for (obj, changed), version in zip(items, versions)])
        for (obj, changed), version in zip(items, versions):
            for key, value in changed.items():
                set_committed_value(obj, key, value)
            if versioned:
                set_committed_value(obj, version_key, version + 1)
            state = inspect(obj)
            if not state.committed_state:  # nothing else of it pending: not dirty any more (else the ORM's flush
                state._commit_all(state.dict, db.session.identity_map)  # looks at every column of it again)


class Row:
    """A table's row read as plain values (no ORM object: a page of warehouse events reads hundreds), which
    remembers what is set on it for `update_rows`. Values that are not the row's columns (what it is read with:
    an order's lines, a shipment's order) are given at creation and are not written."""

    def __init__(self, values: dict, **read_with):
        self.__dict__.update(values, **read_with)
        self.__dict__["_changed"] = {}

    def __setattr__(self, name, value):
        self.__dict__[name] = value
        self._changed[name] = value


def update_rows(table, rows, version: Optional[str] = None) -> None:
    """Write what was set on `rows` (Row) since they were read: one UPDATE per set of changed columns, as
    `flush_versioned` writes loaded objects. `version`: the table's version column, checked and bumped as the
    ORM does (R13; fewer rows matched than sent raises StaleDataError). Setting anything that is not a column of
    `table` is a mistake of the caller's: it raises."""
    groups: dict = defaultdict(list)
    for row in rows:
        if row._changed:
            unknown = set(row._changed) - set(table.c.keys())
            if unknown:
                raise AttributeError(f"not a column of {table.name}: {', '.join(sorted(unknown))}")
            groups[tuple(sorted(row._changed))].append(row)
    for keys, items in groups.items():
        _update(table, version, keys, [(row.id, getattr(row, version) if version else None, row._changed)
                                       for row in items])
        for row in items:
            if version:
                row.__dict__[version] += 1
            row.__dict__["_changed"] = {}


def _update(table, version_name: Optional[str], keys: tuple, items: list[tuple]) -> None:
    """UPDATE `table` SET `keys` for items of (id, version, {key: value}), in one statement (PostgreSQL) or one
    executemany (SQLite); StaleDataError when fewer rows matched than sent."""
    if db.session.get_bind().dialect.name == "postgresql":
        rows = [{**changed, "id": row_id, **({version_name: version} if version_name else {})}
                for row_id, version, changed in items]
        matched = db.session.connection().execute(_json_update(table, version_name, keys),
                                                  {"rows": orjson.dumps(rows).decode()}).rowcount
    else:
        matched = db.session.connection().execute(_row_update(table, version_name, keys), [
            {**{f"v_{key}": changed[key] for key in keys}, "w_id": row_id,
             **({"w_version": version, "v_new_version": version + 1} if version_name else {})}
            for row_id, version, changed in items]).rowcount
    if matched != len(items):
        raise StaleDataError(f"UPDATE statement on table '{table.name}' expected to update {len(items)} row(s); "
                             f"{matched} were matched.")


@lru_cache(maxsize=32)
def _json_update(table, version_name: Optional[str], keys: tuple):
    """PostgreSQL: UPDATE table SET keys = j.keys[, version = version + 1] FROM json_populate_recordset(NULL::table,
    :rows) AS j WHERE id = j.id [AND version = j.version] — every row in one short statement (as insert_rows does),
    not an executemany of one UPDATE per row."""
    named = ("id", version_name) if version_name else ("id",)
    source = func.json_populate_recordset(literal_column(f"NULL::{table.name}"),
                                          cast(bindparam("rows", type_=Text), postgresql.JSON)).table_valued(
        *named, *keys).alias("j")
    values = {key: source.c[key] for key in keys}
    if not version_name:
        return update(table).where(table.c.id == source.c.id).values(values)
    return (update(table).where(table.c.id == source.c.id, table.c[version_name] == source.c[version_name])
            .values({**values, version_name: table.c[version_name] + 1}))


@lru_cache(maxsize=32)
def _row_update(table, version_name: Optional[str], keys: tuple):
    values = {key: bindparam(f"v_{key}") for key in keys}
    if not version_name:
        return update(table).where(table.c.id == bindparam("w_id")).values(values)
    return (update(table).where(table.c.id == bindparam("w_id"), table.c[version_name] == bindparam("w_version"))
            .values({**values, version_name: bindparam("v_new_version")}))
