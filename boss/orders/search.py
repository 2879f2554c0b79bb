"""Finding orders: the `q` normalisation, filters, keyset cursors and tab counts."""
from __future__ import annotations

import base64
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Callable, NamedTuple, Optional

from sqlalchemy import Text, and_, column, exists, func, or_, select, table, tuple_
from sqlalchemy.dialects.postgresql import ARRAY

from ..extensions import db
from ..models import RAKUTEN_RMS, RSL, Connection, OrderCount, Shop
from . import rules
from .models import Order, Tag, order_tags
from .numbers import number_key

_SPACES = re.compile(r"\s+")
_PHONE_LIKE = re.compile(r"^[\d\-‐－()（）+＋\s]+$")
# Hiragana → katakana, so ヤマダ, やまだ and ﾔﾏﾀﾞ find each other.
_HIRAGANA_TO_KATAKANA = {code: code + 0x60 for code in range(0x3041, 0x3097)}


def normalise(value: str) -> str:
    """NFKC (half-width kana to full-width, full-width latin to ASCII), no spaces, katakana, lower case."""
    value = unicodedata.normalize("NFKC", value or "")
    value = _SPACES.sub("", value).translate(_HIRAGANA_TO_KATAKANA)
    return value.lower().replace("|", "")


def digits(value: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", value or "") if ch.isdigit())


def search_text_for(order: Order) -> str:
    parts = [order.buyer_name, order.buyer_name_kana, order.recipient_name, order.recipient_name_kana]
    phones = [digits(order.buyer_phone), digits(order.recipient_phone)]
    return "|".join([normalise(p) for p in parts if p] + [p for p in phones if p])


# SQLite's FTS5 trigram table over orders.search_text (migration 0001), and the FTS5 table of the
# text's bigrams, each a hex token (migration 0006; detail=none takes its MATCH on the table-named column).
ORDERS_FTS = table("orders_fts", column("rowid"), column("search_text"))
ORDERS_FTS_BIGRAM = table("orders_fts_bigram", column("rowid"), column("orders_fts_bigram"))


def like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# No phone number has more digits (E.164): a longer run of digits, such as a Rakuten order number
# 123456-20261101-0000012345, can only be a mall order number, so it is not looked for in the phones.
MAX_PHONE_DIGITS = 15


def q_condition(q: str):
    """`q` matches a mall order number by its key (orders.md §1: cxl−777 finds CXL-777), a name or kana as a
    substring, or a phone by its digits."""
    q = q.strip()
    phone_like = bool(_PHONE_LIKE.match(q) and digits(q))
    term = digits(q) if phone_like else normalise(q)
    number = Order.mall_order_number_key == number_key(q)
    if not term or (phone_like and len(term) > MAX_PHONE_DIGITS):
        return number
    if _bigram_term(term) and db.engine.dialect.name == "postgresql":
        # number OR (indexed AND recheck), written as (number OR indexed) AND (number OR recheck): PostgreSQL
        # then answers the first from the two indexes' bitmaps without computing search_bigrams again for
        # each row fetched (~40 µs a row: 柳岡 took 28 ms instead of 2), and a walk of the list index
        # tests the cheap re-check first.
        indexed, recheck = _bigram_parts(term)
        return and_(or_(number, indexed), or_(number, recheck))
    return or_(number, _substring_condition(term))


def _bigram_term(term: str) -> bool:
    """A needle of 2 characters that the bigram index of migration 0006 holds (not 2 digits: see there)."""
    return len(term) == 2 and not (term.isascii() and term.isdigit())


def _substring_condition(term: str):
    if _bigram_term(term):
        return _bigram_condition(term)
    if db.engine.dialect.name == "sqlite" and len(term) >= 3:
        # The FTS5 trigram table (migration 0001) finds a substring of 3+ characters as a phrase
        # query from its index alone. (A LIKE on it would not do: with ESCAPE SQLite hands it to no
        # virtual table, so FTS5 reads every row; without, FTS5 still re-reads each candidate's text
        # from orders to re-check the pattern.) Inside "…" every character is literal.
        phrase = '"' + term.replace('"', '""') + '"'
        hits = select(ORDERS_FTS.c.rowid).where(ORDERS_FTS.c.search_text.match(phrase))
        found = db.session.scalar(select(func.count()).select_from(hits.limit(FTS_WALK_HITS + 1).subquery()))
        if found > FTS_WALK_HITS:
            # A common name: walking the list index newest first and testing each order against the
            # hits fills a page within a few thousand orders, where fetching and sorting every hit
            # would cost ~100 ms at 1M orders. "+ 0" keeps SQLite from looking orders up by the hits.
            return (Order.id + 0).in_(hits)
        return Order.id.in_(hits)
    probe = _index_probe(term) if db.engine.dialect.name == "postgresql" else term
    if probe != term:
        return and_(Order.search_text.like(like_pattern(probe), escape="\\"), func.strpos(Order.search_text, term) > 0)
    return Order.search_text.like(like_pattern(term), escape="\\")


_DIGIT_RUNS = re.compile(r"\d+")


def _index_probe(term: str) -> str:
    """PostgreSQL: the part of a needle the trigram index looks up. Digit trigrams are the commonest there (every
    order's phone numbers are in search_text), so a needle mixing letters and digits (a shop's own order
    number such as store-10500002 typed into `q`) is looked up by its longest run of 3+ other characters and
    re-checked whole by strpos: the same answer, ~3 → ~1.5 ms of index work at 1M orders."""
    if not any(ch.isdigit() for ch in term):
        return term
    longest = max(_DIGIT_RUNS.split(term), key=len)
    return longest if len(longest) >= 3 else term


# Above this many FTS hits a name search walks the list index instead (measured crossover at 1M
# orders on SQLite: ~3,000 hits, where both plans take ~15 ms; bench/p3_search).
FTS_WALK_HITS = 3000


def _bigram_condition(term: str):
    """A needle of 2 characters, which no trigram index can serve: the bigram index of migration 0006
    finds the orders holding it and a substring test re-checks each, so the answer is exactly the
    substring match's. A common needle walks the list index newest first instead, testing each order,
    and fills a page within a few thousand orders, where fetching and sorting every hit costs more."""
    if db.engine.dialect.name == "postgresql":
        return and_(*_bigram_parts(term))
    like = Order.search_text.like(like_pattern(term), escape="\\")
    token = '"' + term.encode().hex().upper() + '"'  # the bigram as migration 0006 wrote it
    hits = select(ORDERS_FTS_BIGRAM.c.rowid).where(ORDERS_FTS_BIGRAM.c.orders_fts_bigram.match(token))
    found = db.session.scalar(select(func.count()).select_from(hits.limit(FTS_WALK_HITS + 1).subquery()))
    if found > FTS_WALK_HITS:
        return like
    return and_(Order.id.in_(hits), like)


def _bigram_parts(term: str) -> tuple:
    """PostgreSQL: the test the GIN index on search_bigrams(search_text) answers, and its re-check.
    The planner chooses between that index and a walk of the list index. The re-check is strpos, not
    LIKE: PostgreSQL multiplies the selectivities of the two tests, which say the same thing, and with a
    LIKE thought 佐藤 (18,000 orders) matched 119 and fetched them all; it takes strpos(…) > 0 for a plain
    one in three. search_bigrams is COST 1000, so a walk tests strpos first and computes the bigrams only
    of the orders that hold the needle."""
    return (func.search_bigrams(Order.search_text, type_=ARRAY(Text)).contains([term]),
            func.strpos(Order.search_text, term) > 0)


class BadCursor(ValueError):
    pass


class CursorOfAnotherSort(BadCursor):
    """A cursor of one sort given with another `sort` (api.md: 422 naming cursor)."""

    def __init__(self, sort: str):
        super().__init__(f"cursor is of sort {sort}")
        self.sort = sort


MAX_CURSOR_ID = 2**31 - 1  # parsing.MAX_ID: a larger id is no order's and must not reach the database
MAX_CURSOR_LENGTH = 2000  # base64 of the longest key (a 255-character name in UTF-8) and the rest
_BIGINT = 2**63  # a key past the database's integer range must not reach it


@dataclass(frozen=True)
class Sort:
    """A keyset order: `column` then `id_column` as the tie-breaker, both in the same direction. `name` is the API's
    (a leading - for descending); `kind` is how a cursor carries the key (datetime, int or str)."""
    name: str
    column: Any
    id_column: Any
    kind: type

    @property
    def descending(self) -> bool:
        return self.name.startswith("-")


def sorts_of(id_column, *keys: tuple[str, Any, type]) -> dict[str, Sort]:
    """Each (name, column, kind) in both directions, the first one descending first: the default."""
    return {sort.name: sort for name, column, kind in keys
            for sort in (Sort(f"-{name}", column, id_column, kind), Sort(name, column, id_column, kind))}


# api.md GET /orders `sort`: newest first by default. The buyer is sorted by the stored name (code point order,
# the same on both databases), as the list shows it.
ORDER_SORTS = sorts_of(Order.id, ("ordered_at", Order.ordered_at, datetime), ("total", Order.total, int),
                       ("buyer", Order.buyer_name, str))
DEFAULT_SORT = "-ordered_at"


class Page(NamedTuple):
    """A keyset page, its sort and the cursors of the pages after and before it (None: there is none)."""
    rows: list
    next_cursor: Optional[str]
    prev_cursor: Optional[str]
    sort: str = DEFAULT_SORT


def encode_cursor(sort: Sort, row, backward: bool = False) -> str:
    """The cursor of the page after `row` (or, `backward`, before it) in `sort`: its sort, way, key and id."""
    key = getattr(row, sort.column.key)
    raw = json.dumps([sort.name, "p" if backward else "n", key.isoformat() if sort.kind is datetime else key,
                      getattr(row, sort.id_column.key)], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sorts: dict[str, Sort]) -> tuple[Sort, bool, Any, int]:
    """(sort, backward, key, id) of a cursor encode_cursor made; BadCursor for anything else, so that a forged
    value never reaches the database as one it cannot take (a NUL, a lone surrogate, an integer out of range)."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        name, way, key, row_id = json.loads(raw)
        sort = sorts[name]
        key = _cursor_key(sort.kind, key)
    except (ValueError, TypeError, KeyError, UnicodeError, RecursionError) as exc:
        raise BadCursor("cursor is not one this API returned") from exc
    if way not in ("n", "p") or type(row_id) is not int or not 0 < row_id <= MAX_CURSOR_ID:
        raise BadCursor("cursor is not one this API returned")
    return sort, way == "p", key, row_id


def _cursor_key(kind: type, key):
    if kind is datetime:
        at = datetime.fromisoformat(key)
        if at.tzinfo is not None:
            raise ValueError("an aware time: no cursor carries one")
        return at
    if type(key) is not kind:
        raise TypeError("not the sort's kind of key")
    if kind is int and not -_BIGINT < key < _BIGINT:
        raise ValueError("out of range")
    if kind is str and (len(key) > 255 or "\x00" in key):
        raise ValueError("no stored name is like this")
    if kind is str:
        key.encode("utf-8")  # a lone surrogate: UnicodeError
    return key


def keyset_page(stmt, sorts: dict[str, Sort], limit: int, cursor: Optional[str], fetch,
                sort: Optional[str] = None) -> Page:
    """One page of `stmt` in `sort` (a name of `sorts`; None: the cursor's, else the first of `sorts`) after or
    before `cursor`, with the cursors of the pages after and before it; `fetch` runs the statement. Keyset: page
    1,000 costs what page 1 does. BadCursor for a cursor no page gave, CursorOfAnotherSort for one of another sort.
    A step back that reaches the top answers the first page as it is now (orders may have come since)."""
    if not cursor:
        chosen = sorts[sort or next(iter(sorts))]
        return _page(stmt, chosen, limit, fetch, None, False)
    chosen, backward, key, row_id = decode_cursor(cursor, sorts)
    if sort and sort != chosen.name:
        raise CursorOfAnotherSort(chosen.name)
    page = _page(stmt, chosen, limit, fetch, (key, row_id), backward)
    if backward and page.prev_cursor is None and len(page.rows) < limit:
        return _page(stmt, chosen, limit, fetch, None, False)
    return page


def _page(stmt, sort: Sort, limit: int, fetch, after: Optional[tuple], backward: bool) -> Page:
    descending = sort.descending != backward  # the way this query walks the index
    keys = tuple_(sort.column, sort.id_column)
    if after is not None:
        stmt = stmt.where(keys < tuple_(*after) if descending else keys > tuple_(*after))
    columns = (sort.column, sort.id_column)
    stmt = stmt.order_by(*(c.desc() if descending else c.asc() for c in columns)).limit(limit + 1)
    rows = list(fetch(stmt))
    more, rows = len(rows) > limit, rows[:limit]
    if backward:
        rows.reverse()
        return Page(rows, encode_cursor(sort, rows[-1]) if rows else None,
                    encode_cursor(sort, rows[0], backward=True) if more else None, sort.name)
    if after is None:
        return Page(rows, encode_cursor(sort, rows[-1]) if more else None, None, sort.name)
    # After a cursor, the page before starts before this page's first row, or (none left: deleted since) the cursor's.
    first = rows[0] if rows else SimpleNamespace(**{sort.column.key: after[0], sort.id_column.key: after[1]})
    return Page(rows, encode_cursor(sort, rows[-1]) if more else None, encode_cursor(sort, first, backward=True),
                sort.name)


@dataclass
class OrderFilter:
    account_id: int
    shop_id: Optional[int] = None
    status: Optional[str] = None
    shipment_status: Optional[str] = None
    tag_id: Optional[int] = None
    q: Optional[str] = None
    mall_order_number: Optional[str] = None
    ordered_from: Optional[datetime] = None
    ordered_to: Optional[datetime] = None
    include_deleted: bool = False
    sku_product_id: Optional[int] = None
    # 詳細検索 (web): the 要対応 orders, and one field each instead of the all-in-one `q`.
    attention: bool = False
    name: Optional[str] = None  # buyer/recipient name or kana, substring, normalised like `q`
    phone: Optional[str] = None  # by its digits, substring
    email: Optional[str] = None  # buyer or recipient e-mail, whole address, case-insensitive

    def conditions(self) -> list:
        conds = [Order.account_id == self.account_id]
        if not self.include_deleted:
            conds.append(Order.deleted_at.is_(None))
        if self.shop_id is not None:
            conds.append(Order.shop_id == self.shop_id)
        if self.status:
            conds.append(Order.status == self.status)
        if self.shipment_status:
            conds.append(Order.shipment_status == self.shipment_status)
        if self.tag_id is not None:
            conds.append(exists().where(and_(order_tags.c.order_id == Order.id, order_tags.c.tag_id == self.tag_id)))
        if self.mall_order_number and self.mall_order_number.strip():
            conds.append(Order.mall_order_number_key == number_key(self.mall_order_number))
        if self.ordered_from:
            conds.append(Order.ordered_at >= self.ordered_from)
        if self.ordered_to:
            conds.append(Order.ordered_at < self.ordered_to)
        if self.q and self.q.strip():
            conds.append(q_condition(self.q))
        if self.sku_product_id is not None:
            from .models import OrderLine
            conds.append(exists().where(and_(OrderLine.order_id == Order.id, OrderLine.product_id == self.sku_product_id)))
        if self.attention:
            conds.append(attention_condition(self.account_id))
        if self.name and normalise(self.name):
            conds.append(_substring_condition(normalise(self.name)))
        if self.phone and digits(self.phone):
            conds.append(_substring_condition(digits(self.phone)))
        if self.email and self.email.strip():
            address = unicodedata.normalize("NFKC", self.email).strip().lower()
            conds.append(or_(func.lower(Order.buyer_email) == address, func.lower(Order.recipient_email) == address))
        return conds


def attention_condition(account_id: int):
    """要対応: not deleted, with an error or holding system tag (orders.md §6), the orders the badge counts.
    Looked up from the tagged orders (tags by code, then order_tags by tag_id) rather than by testing every
    order of the account: the cost follows the number of 要対応 orders, which are few."""
    tagged = (select(order_tags.c.order_id).join(Tag, Tag.id == order_tags.c.tag_id)
              .where(Tag.account_id == account_id, Tag.code.in_(rules.ATTENTION_TAG_CODES)))
    return and_(Order.deleted_at.is_(None), Order.id.in_(tagged))


def list_orders(flt: OrderFilter, limit: int = 50, cursor: Optional[str] = None, columns: tuple = (),
                sort: Optional[str] = None, read: Optional[Callable] = None) -> Page:
    """One page in `sort` (ORDER_SORTS; None: the cursor's, else newest first), ties broken by id; keyset, so page
    1,000 costs what page 1 does (each sort walks an index of its own, migrations 0001 and 0016). Whole orders;
    or, given `columns` (which must include id and the sort's key), plain rows of those columns: no ORM objects
    to build for 50 rows (the web list's few columns; the API's listing.COLUMNS, which `read` as listing.read_page
    does)."""
    stmt = (select(*columns) if columns else select(Order)).where(*flt.conditions())
    return keyset_page(stmt, ORDER_SORTS, limit, cursor, read or (lambda page: list(
        db.session.execute(page) if columns else db.session.scalars(page).unique())), sort)


def matching_ids(flt: OrderFilter, cap: int) -> list[int]:
    stmt = (select(Order.id).where(*flt.conditions())
            .order_by(Order.ordered_at.desc(), Order.id.desc()).limit(cap))
    return list(db.session.scalars(stmt))


def count_matching(flt: OrderFilter, cap: int) -> int:
    inner = select(Order.id).where(*flt.conditions()).limit(cap).subquery()
    return db.session.scalar(select(func.count()).select_from(inner))


def status_counts(account_id: int, shop_id: Optional[int] = None,
                  account_shops: Optional[list[Shop]] = None) -> dict[str, int]:
    """Tab and 要対応 counts over not-deleted orders, from the counters the services keep (no scan of
    orders), plus the shops whose mall connection fails — counted from `account_shops` (all the
    account's shops) when the caller has them loaded, as every web page does for its header."""
    stmt = (select(OrderCount.status, func.sum(OrderCount.n))
            .join(Shop, Shop.id == OrderCount.shop_id)
            .where(Shop.account_id == account_id).group_by(OrderCount.status))
    if shop_id is not None:
        stmt = stmt.where(OrderCount.shop_id == shop_id)
    found = {status: int(n or 0) for status, n in db.session.execute(stmt)}
    counts = {status: found.get(status, 0) for status in rules.STATUSES}
    counts["all"] = sum(counts.values())
    if account_shops is not None:
        failing = sum(1 for shop in account_shops if shop.rms.error is not None
                      and (shop_id is None or shop.id == shop_id))
    else:
        shops = select(func.count(Connection.id)).where(Connection.account_id == account_id, Connection.shop_id.is_not(None),
                                                        Connection.provider == RAKUTEN_RMS, Connection.error.is_not(None))
        failing = db.session.scalar(shops.where(Connection.shop_id == shop_id) if shop_id is not None else shops) or 0
    counts["attention"] = found.get(ATTENTION, 0) + int(failing) + warehouse_failing(account_id)
    return counts


def warehouse_failing(account_id: int) -> int:
    """1 when the account's warehouse connection fails (「倉庫接続エラー」): it stops every shop's shipping
    requests, so it counts whatever shop the header shows."""
    return int(db.session.scalar(select(func.count(Connection.id)).where(
        Connection.account_id == account_id, Connection.shop_id.is_(None), Connection.provider == RSL,
        Connection.error.is_not(None))) or 0)


ATTENTION = "attention"  # the counter row of not-deleted orders carrying an attention tag
