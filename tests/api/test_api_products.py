"""POST/GET /api/v1/products: the catalogue that mappings point at."""
from __future__ import annotations

import pytest

from tests.api.api_helpers import API, db_counts, error_of
from tests.factories import create_product


def test_a_product_is_created_with_its_stock(client, tenant):
    response = client.post(f"{API}/products", json={"sku": "TEA-01", "name": "煎茶 100g", "code": "TEA", "stock": 12},
                           headers=tenant.headers())
    assert response.status_code == 201, response.json
    product = response.json
    assert {k: product[k] for k in ("sku", "code", "name", "stock", "reserved", "available")} == {
        "sku": "TEA-01", "code": "TEA", "name": "煎茶 100g", "stock": 12, "reserved": 0, "available": 12}


def test_a_sku_that_exists_answers_409_already_exists(app, client, tenant):
    create_product(client, tenant, sku="TEA-01")
    before = db_counts(app)
    error_of(client.post(f"{API}/products", json={"sku": "TEA-01", "name": "別の商品"}, headers=tenant.headers()),
             409, "already_exists")
    assert db_counts(app) == before


def test_the_product_list_pages_with_a_cursor_and_filters_by_q(client, tenant):
    for i in range(5):
        create_product(client, tenant, sku=f"SKU-{i}")
    create_product(client, tenant, sku="TEA-9")
    first = client.get(f"{API}/products", query_string={"limit": 4}, headers=tenant.headers()).json
    second = client.get(f"{API}/products", query_string={"limit": 4, "cursor": first["next_cursor"]},
                        headers=tenant.headers()).json
    skus = [p["sku"] for p in first["items"] + second["items"]]
    assert skus == ["SKU-0", "SKU-1", "SKU-2", "SKU-3", "SKU-4", "TEA-9"]
    assert second["next_cursor"] is None
    found = client.get(f"{API}/products", query_string={"q": "tea"}, headers=tenant.headers()).json["items"]
    assert [p["sku"] for p in found] == ["TEA-9"]


@pytest.mark.parametrize("cursor", ["-1", "abc", str(2**40)])
def test_a_bad_product_cursor_answers_422(client, tenant, cursor):
    error = error_of(client.get(f"{API}/products", query_string={"cursor": cursor}, headers=tenant.headers()),
                     422, "validation_error")
    assert "cursor" in error["fields"]


@pytest.mark.parametrize("q,expected", [("%", ["OFF%-1"]), ("_", ["A_B"]), ("F%", ["OFF%-1"]), ("A%B", [])])
def test_like_wildcards_in_the_product_q_are_literal(client, tenant, q, expected):
    for sku in ("OFF%-1", "A_B", "AXB"):
        create_product(client, tenant, sku=sku)
    found = client.get(f"{API}/products", query_string={"q": q}, headers=tenant.headers()).json["items"]
    assert [p["sku"] for p in found] == expected
