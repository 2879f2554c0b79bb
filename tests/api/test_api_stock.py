"""The Stock API (warehouse.md §4): a product's ledger, newest first, and stock adjustments with a reason."""
from __future__ import annotations

import re

from tests.api.api_helpers import API, error_of
from tests.factories import create_product

JST_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+09:00$")


def adjust(client, tenant, product_id, **body):
    return client.post(f"{API}/products/{product_id}/stock-adjustments", json=body, headers=tenant.headers())


def test_an_adjustment_answers_201_with_the_product_and_appears_first_in_its_ledger(client, tenant):
    product = create_product(client, tenant, stock=10)

    response = adjust(client, tenant, product["id"], delta=-4, reason="破損のため廃棄")

    assert response.status_code == 201
    assert response.json == {**product, "stock": 6, "reserved": 0, "available": 6}
    ledger = client.get(f"{API}/products/{product['id']}/stock-movements", headers=tenant.headers()).json
    assert ledger["next_cursor"] is None
    newest, initial = ledger["items"]
    assert {k: v for k, v in newest.items() if k not in ("id", "at")} == {
        "kind": "adjustment", "delta_stock": -4, "delta_reserved": 0, "order_id": None,
        "actor": {"type": "token", "name": f"{tenant.staff_email}（API）"}, "reason": "破損のため廃棄"}
    assert JST_TIME.match(newest["at"])
    assert (initial["kind"], initial["delta_stock"], initial["reason"]) == ("adjustment", 10, "初期在庫")


def test_the_ledger_pages_by_its_cursor(client, tenant):
    product = create_product(client, tenant, stock=1)
    for n in range(1, 5):
        adjust(client, tenant, product["id"], delta=n, reason=f"入荷 {n}")
    url = f"{API}/products/{product['id']}/stock-movements"

    first = client.get(url, query_string={"limit": 3}, headers=tenant.headers()).json
    second = client.get(url, query_string={"limit": 3, "cursor": first["next_cursor"]}, headers=tenant.headers()).json

    assert [m["reason"] for m in first["items"] + second["items"]] == ["入荷 4", "入荷 3", "入荷 2", "入荷 1", "初期在庫"]
    assert second["next_cursor"] is None


def test_an_adjustment_below_zero_is_refused_naming_delta_and_changes_nothing(client, tenant):
    product = create_product(client, tenant, stock=2)

    error = error_of(adjust(client, tenant, product["id"], delta=-3, reason="棚卸し"), 422, "validation_error")

    assert "delta" in error["fields"] and "減らせるのは2点まで" in error["fields"]["delta"]
    after = client.get(f"{API}/products", headers=tenant.headers()).json["items"][0]
    assert after["stock"] == 2


def test_an_adjustment_needs_a_non_zero_integer_delta_and_a_reason(client, tenant):
    product = create_product(client, tenant)
    for body, field in (({"delta": 0, "reason": "x"}, "delta"), ({"delta": 1.5, "reason": "x"}, "delta"),
                        ({"delta": 10_000_001, "reason": "x"}, "delta"), ({"delta": 1}, "reason"),
                        ({"delta": 1, "reason": "x" * 501}, "reason"), ({"delta": 1, "reason": "x", "why": 1}, "why")):
        error = error_of(adjust(client, tenant, product["id"], **body), 422, "validation_error")
        assert field in error["fields"], (body, error)


def test_another_accounts_product_is_not_found(client, tenant, other_tenant):
    product = create_product(client, tenant)

    error_of(adjust(client, other_tenant, product["id"], delta=1, reason="x"), 404, "not_found")
    error_of(client.get(f"{API}/products/{product['id']}/stock-movements", headers=other_tenant.headers()),
             404, "not_found")
    error_of(client.get(f"{API}/products/999999/stock-movements", headers=tenant.headers()), 404, "not_found")


def test_the_ledger_query_is_validated(client, tenant):
    product = create_product(client, tenant)
    for query in ({"limit": 0}, {"limit": 201}, {"cursor": "abc"}):
        error = error_of(client.get(f"{API}/products/{product['id']}/stock-movements", query_string=query,
                                    headers=tenant.headers()), 422, "validation_error")
        assert set(error["fields"]) == set(query)


def test_the_adjustment_message_follows_accept_language(client, tenant):
    product = create_product(client, tenant, stock=1)
    response = client.post(f"{API}/products/{product['id']}/stock-adjustments", json={"delta": -2, "reason": "x"},
                           headers=tenant.headers(**{"Accept-Language": "en"}))
    assert error_of(response, 422, "validation_error")["message"] == (
        "Stock cannot go below the 0 units reserved (1 on hand; at most 1 can be taken away).")
