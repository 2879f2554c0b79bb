"""Error messages are Japanese by default and English with `Accept-Language: en` (api.md Conventions)."""
from __future__ import annotations

import re

import pytest

from tests.api.api_helpers import API, create_tag, error_of, system_tag_id
from tests.factories import create_order, create_product, map_item, order_body

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")


def _unauthorized(client, tenant, headers):
    return client.get(f"{API}/orders", headers=headers), 401, "unauthorized"


def _forbidden(client, tenant, headers):
    return client.post(f"{API}/shops", json={"name": "x", "mall": "yahoo"}, headers={**tenant.headers(), **headers}), \
        403, "forbidden"


def _not_found(client, tenant, headers):
    return client.get(f"{API}/orders/424242", headers={**tenant.headers(), **headers}), 404, "not_found"


def _bad_request(client, tenant, headers):
    return client.post(f"{API}/orders", data="nope", headers={**tenant.headers(), **headers,
                                                                "Content-Type": "text/plain"}), 400, "bad_request"


def _validation(client, tenant, headers):
    body = order_body(tenant.shop_id, lines=[{"mall_item_id": "i", "name": "n", "quantity": 0, "unit_price": 1}])
    return client.post(f"{API}/orders", json=body, headers={**tenant.headers(), **headers}), 422, "validation_error"


def _taken(client, tenant, headers):
    create_order(client, tenant, number="LANG-1")
    return client.post(f"{API}/orders", json=order_body(tenant.shop_id, number="LANG-1"),
                       headers={**tenant.headers(), **headers}), 409, "mall_order_number_taken"


def _already_exists(client, tenant, headers):
    create_tag(client, tenant, name="gift")
    return client.post(f"{API}/tags", json={"name": "gift"}, headers={**tenant.headers(), **headers}), \
        409, "already_exists"


def _cannot_cancel(client, tenant, headers):
    order = create_order(client, tenant)
    client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    return client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers={**tenant.headers(), **headers}), \
        409, "cannot_cancel"


def _cannot_delete(client, tenant, headers):
    create_product(client, tenant, sku="SKU-1")
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    order = create_order(client, tenant)
    return client.delete(f"{API}/orders/{order['id']}", headers={**tenant.headers(), **headers}), 409, "cannot_delete"


def _unmapped_confirm(client, tenant, headers):
    order = create_order(client, tenant)
    return client.post(f"{API}/orders/{order['id']}/confirm", headers={**tenant.headers(), **headers}), \
        409, "invalid_transition"


def _held_confirm(client, tenant, headers):
    create_product(client, tenant, sku="SKU-1")
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    order = create_order(client, tenant)
    hold = create_tag(client, tenant, name="credit-check", holds=True)
    client.post(f"{API}/orders/{order['id']}/tags/{hold['id']}", headers=tenant.headers())
    return client.post(f"{API}/orders/{order['id']}/confirm", headers={**tenant.headers(), **headers}), \
        409, "invalid_transition"


def _system_tag(client, tenant, headers):
    order = create_order(client, tenant)
    tag_id = system_tag_id(client, tenant, "multiple_destinations")
    return client.post(f"{API}/orders/{order['id']}/tags/{tag_id}", headers={**tenant.headers(), **headers}), \
        409, "invalid_transition"


def _conflict(client, tenant, headers):
    order = create_order(client, tenant)
    return client.post(f"{API}/orders/{order['id']}/cancel", json={},
                       headers={**tenant.headers(), **headers, "If-Match": str(order["version"] + 1)}), 409, "conflict"


def _deleted(client, tenant, headers):
    order = create_order(client, tenant)
    client.delete(f"{API}/orders/{order['id']}", headers=tenant.headers())
    return client.post(f"{API}/orders/{order['id']}/confirm", headers={**tenant.headers(), **headers}), \
        409, "invalid_transition"


CASES = [_unauthorized, _forbidden, _not_found, _bad_request, _validation, _taken, _already_exists, _cannot_cancel,
         _cannot_delete, _unmapped_confirm, _held_confirm, _system_tag, _conflict, _deleted]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.strip("_") for c in CASES])
def test_error_messages_are_japanese_by_default(client, tenant, case):
    response, status, code = case(client, tenant, {})
    assert JAPANESE.search(error_of(response, status, code)["message"])


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.strip("_") for c in CASES])
def test_error_messages_are_english_with_accept_language_en(client, tenant, case):
    response, status, code = case(client, tenant, {"Accept-Language": "en"})
    message = error_of(response, status, code)["message"]
    assert not JAPANESE.search(message), message


@pytest.mark.parametrize("header,english", [
    ("en-US,en;q=0.9", True),
    ("ja,en;q=0.5", False),
    ("en;q=0.4,ja;q=0.8", False),
    ("fr", False),
    ("ja-JP", False),
])
def test_accept_language_picks_the_preferred_of_japanese_and_english(client, tenant, header, english):
    message = error_of(client.get(f"{API}/orders/424242", headers=tenant.headers(**{"Accept-Language": header})),
                       404, "not_found")["message"]
    assert bool(JAPANESE.search(message)) is not english, message


def test_the_english_message_of_a_refusal_is_the_same_rule_in_english(client, tenant):
    order = create_order(client, tenant)
    client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    error = error_of(client.post(f"{API}/orders/{order['id']}/cancel", json={},
                                 headers=tenant.headers(**{"Accept-Language": "en"})), 409, "cannot_cancel")
    assert error["message"] == "This order is already cancelled. A cancel cannot be undone."


def test_a_validation_error_in_english_still_names_the_fields(client, tenant):
    body = order_body(tenant.shop_id, number="N" * 65)
    error = error_of(client.post(f"{API}/orders", json=body, headers=tenant.headers(**{"Accept-Language": "en"})),
                     422, "validation_error")
    assert "mall_order_number" in error["message"]
    assert "mall_order_number" in error["fields"]
