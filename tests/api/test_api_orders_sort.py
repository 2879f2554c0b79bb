"""GET /api/v1/orders `sort` and `prev_cursor` (api.md): each sort both ways with id breaking ties, pages the same
walked forward and back, a cursor bound to its sort, a forged cursor refused as 422 naming cursor."""
from __future__ import annotations

import base64
import json

import pytest

from tests.api.api_helpers import API, error_of
from tests.factories import create_order

# (buyer name, unit price, ordered_at): ties in each key, so the id has to decide.
ORDERS = [("佐藤 一郎", 1000, "2026-11-01T09:00:00+09:00"), ("Abe Ken", 3000, "2026-11-02T09:00:00+09:00"),
          ("ヤマダ ハナコ", 1000, "2026-11-01T09:00:00+09:00"), ("佐藤 一郎", 2000, "2026-11-03T09:00:00+09:00"),
          ("abe ken", 3000, "2026-11-02T09:00:00+09:00"), ("ヤマダ ハナコ", 500, "2026-11-04T09:00:00+09:00"),
          ("鈴木 次郎", 1000, "2026-11-01T09:00:00+09:00")]
KEYS = {"ordered_at": lambda o: o["ordered_at"], "total": lambda o: o["total"], "buyer": lambda o: o["buyer"]["name"]}


@pytest.fixture()
def created(client, tenant) -> list[dict]:
    return [create_order(client, tenant, number=f"S-{i}", ordered_at=at, buyer={"name": name},
                         lines=[{"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": price}])
            for i, (name, price, at) in enumerate(ORDERS)]


def _get(client, tenant, **query):
    return client.get(f"{API}/orders", query_string=query, headers=tenant.headers())


def _page(client, tenant, **query) -> dict:
    response = _get(client, tenant, **query)
    assert response.status_code == 200, response.json
    return response.json


def _expected(orders: list[dict], sort: str) -> list[int]:
    key = KEYS[sort.lstrip("-")]
    return [o["id"] for o in sorted(orders, key=lambda o: (key(o), o["id"]), reverse=sort.startswith("-"))]


def _walk(client, tenant, sort: str, limit: int, **query) -> list[list[int]]:
    """Every page forward by next_cursor, then back by prev_cursor: the same pages both ways."""
    forward, cursor = [], None
    while True:
        page = _page(client, tenant, sort=sort, limit=limit, **query, **({"cursor": cursor} if cursor else {}))
        assert (page["prev_cursor"] is None) == (not forward)  # null on the first page only
        forward.append([o["id"] for o in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    backward, cursor = [forward[-1]], page["prev_cursor"]
    while cursor:
        page = _page(client, tenant, sort=sort, limit=limit, **query, cursor=cursor)
        backward.append([o["id"] for o in page["items"]])
        assert page["next_cursor"] is not None
        cursor = page["prev_cursor"]
    assert backward[::-1] == forward
    return forward


@pytest.mark.parametrize("sort", ["-ordered_at", "ordered_at", "-total", "total", "buyer", "-buyer"])
def test_each_sort_pages_both_ways_with_the_id_breaking_ties(client, tenant, created, sort):
    pages = _walk(client, tenant, sort, limit=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert sum(pages, []) == _expected(created, sort)


def test_the_default_is_newest_first_and_the_first_page_has_no_prev_cursor(client, tenant, created):
    page = _page(client, tenant)
    assert [o["id"] for o in page["items"]] == _expected(created, "-ordered_at")
    assert page["prev_cursor"] is None and page["next_cursor"] is None


def test_totals_and_names_sort_as_stored(client, tenant, created):
    by_total = [o["total"] for o in _page(client, tenant, sort="-total")["items"]]
    assert by_total == sorted(by_total, reverse=True) and by_total[0] > by_total[-1]
    names = [o["buyer"]["name"] for o in _page(client, tenant, sort="buyer")["items"]]
    assert names == ["Abe Ken", "abe ken", "ヤマダ ハナコ", "ヤマダ ハナコ", "佐藤 一郎", "佐藤 一郎", "鈴木 次郎"]


def test_a_sort_pages_within_the_filters(client, tenant, created):
    cancelled = created[1:5]
    for order in cancelled:
        response = client.post(f"{API}/orders/{order['id']}/cancel", json={"reason_code": 10}, headers=tenant.headers())
        assert response.status_code == 200, response.json
    pages = _walk(client, tenant, "-total", limit=3, status="cancelled")
    assert sum(pages, []) == _expected(cancelled, "-total")
    pages = _walk(client, tenant, "buyer", limit=2, q="ヤマダ")
    assert sum(pages, []) == _expected([created[2], created[5]], "buyer")


def test_a_cursor_of_another_sort_is_refused_naming_the_cursor(client, tenant, created):
    cursor = _page(client, tenant, sort="-total", limit=2)["next_cursor"]
    error = error_of(_get(client, tenant, sort="buyer", limit=2, cursor=cursor), 422, "validation_error")
    assert set(error["fields"]) == {"cursor"}
    # Without `sort` the cursor goes on in its own.
    page = _page(client, tenant, limit=2, cursor=cursor)
    assert [o["id"] for o in page["items"]] == _expected(created, "-total")[2:4]


def test_an_unknown_sort_is_refused_naming_it(client, tenant):
    error = error_of(_get(client, tenant, sort="price"), 422, "validation_error")
    assert set(error["fields"]) == {"sort"}


def _forged(*parts) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "not-a-cursor", "MjAyNi0xMS0wMVQwMDowMDowMHwx",  # the old time|id form
    _forged("-total", "n", 10**30, 5), _forged("-total", "n", "1000", 5), _forged("-total", "n", True, 5),
    _forged("buyer", "n", "山田\x00", 5), _forged("buyer", "n", "\ud800", 5), _forged("buyer", "n", "x" * 256, 5),
    _forged("-ordered_at", "n", "2026-11-01T00:00:00+09:00", 5), _forged("-ordered_at", "n", "yesterday", 5),
    _forged("-ordered_at", "x", "2026-11-01T00:00:00", 5), _forged("-ordered_at", "n", "2026-11-01T00:00:00", 0),
    _forged("-ordered_at", "n", "2026-11-01T00:00:00", 2**40), _forged("-ordered_at", "n", "2026-11-01T00:00:00"),
    _forged("-requested_at", "n", "2026-11-01T00:00:00", 5), _forged("-total", "n", None, 5),
    base64.urlsafe_b64encode(b"[" * 1400).decode(), "A" * 2001])
def test_a_forged_cursor_is_a_422_naming_cursor_never_a_500(client, tenant, cursor):
    error = error_of(_get(client, tenant, cursor=cursor), 422, "validation_error")
    assert set(error["fields"]) == {"cursor"}


def test_a_forged_but_well_formed_cursor_only_moves_within_the_accounts_orders(client, tenant, created):
    page = _page(client, tenant, sort="total", cursor=_forged("total", "n", 999, 1))
    assert [o["id"] for o in page["items"]] == _expected(created, "total")[1:]
