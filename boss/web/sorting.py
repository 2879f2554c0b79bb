"""The sortable column headers of 注文一覧 and 詳細検索 (注文日時, 合計, 購入者): the sort a page shows, which way each
column is sorted now and the sort its header's link asks for. The sorts are the API's (search.ORDER_SORTS)."""
from __future__ import annotations

from typing import NamedTuple, Optional

from flask import request
from flask_babel import lazy_gettext

from ..orders.search import DEFAULT_SORT, ORDER_SORTS

# Each sortable column and the sort a first click asks for: dates and amounts biggest first, names in order.
FIRST_CLICK = {"ordered_at": "-ordered_at", "total": "-total", "buyer": "buyer"}
SORT_LABELS = {"-ordered_at": lazy_gettext("新しい順"), "ordered_at": lazy_gettext("古い順"),
               "-total": lazy_gettext("合計の大きい順"), "total": lazy_gettext("合計の小さい順"),
               "buyer": lazy_gettext("購入者名の昇順"), "-buyer": lazy_gettext("購入者名の降順")}


class Header(NamedTuple):
    """A column header: `aria_sort` (ascending / descending) when the list is sorted by it, else None; `link`:
    the sort its link asks for (None for the default, left out of the URL); `title`: what the link does."""
    aria_sort: Optional[str]
    link: Optional[str]
    title: str


def requested_sort() -> str:
    """The page's `sort` (a name of ORDER_SORTS); anything else is the default, newest first."""
    value = (request.args.get("sort") or "").strip()
    return value if value in ORDER_SORTS else DEFAULT_SORT


def sort_arg(sort: str) -> Optional[str]:
    """`sort` as a link carries it: the default is left out, so the plain URL stays the plain list."""
    return None if sort == DEFAULT_SORT else sort


def headers(sort: str) -> dict[str, Header]:
    """The headers of the columns of FIRST_CLICK while the list shows `sort`: a click on the sorted column turns
    its direction round, on another sorts by it."""
    found = {}
    for column, first in FIRST_CLICK.items():
        current = sort.lstrip("-") == column
        descending = sort.startswith("-")
        link = (column if descending else f"-{column}") if current else first
        aria = ("descending" if descending else "ascending") if current else None
        found[column] = Header(aria, sort_arg(link), lazy_gettext("%(order)sに並べ替え", order=SORT_LABELS[link]))
    return found


def context(sort: str) -> dict:
    """What the list templates need of the sort: its name for the links, the headers, the label shown."""
    return dict(sort_arg=sort_arg(sort), sort_headers=headers(sort), sort_label=SORT_LABELS[sort])
