"""Fixtures the API contract tests share."""
from __future__ import annotations

import pytest

from tests.api.api_helpers import API
from tests.factories import create_product, map_item


@pytest.fixture
def house(client, tenant):
    """A connected warehouse, and SKU-1 (10 in stock) mapped from item-1."""
    response = client.patch(f"{API}/warehouse", json={"api_key": "key-bulk-1234"}, headers=tenant.headers("admin"))
    assert response.status_code == 200, response.json
    create_product(client, tenant, "SKU-1", stock=10)
    map_item(client, tenant, "item-1", "SKU-1")
