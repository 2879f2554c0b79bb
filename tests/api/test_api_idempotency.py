"""`Idempotency-Key` on POST /orders and POST /orders/{id}/cancel: a repeat by the same account within 24 hours
returns the first answer and does nothing again."""
from __future__ import annotations

from tests.api.api_helpers import API, age_idempotency_keys, db_counts, error_of, events, list_numbers
from tests.factories import create_order, order_body


def _register(client, tenant, key, body):
    return client.post(f"{API}/orders", json=body, headers=tenant.headers(**{"Idempotency-Key": key}))


def _cancel(client, tenant, key, order_id, body=None):
    return client.post(f"{API}/orders/{order_id}/cancel", json=body if body is not None else {},
                       headers=tenant.headers(**{"Idempotency-Key": key}))


def test_a_repeated_registration_returns_the_first_answer_and_creates_one_order(app, client, tenant):
    body = order_body(tenant.shop_id, number="IDEM-1")
    first = _register(client, tenant, "key-1", body)
    second = _register(client, tenant, "key-1", body)
    assert first.status_code == second.status_code == 201, (first.json, second.json)
    assert second.json == first.json
    assert list_numbers(client, tenant) == ["IDEM-1"]
    assert db_counts(app, tenant.account_id)["orders"] == 1
    assert [e["kind"] for e in events(client, tenant, first.json["id"])] == ["registered"]


def test_without_a_key_a_repeated_registration_is_refused_by_r6(client, tenant):
    body = order_body(tenant.shop_id, number="IDEM-NOKEY")
    assert client.post(f"{API}/orders", json=body, headers=tenant.headers()).status_code == 201
    error_of(client.post(f"{API}/orders", json=body, headers=tenant.headers()), 409, "mall_order_number_taken")


def test_different_keys_are_different_requests(client, tenant):
    assert _register(client, tenant, "key-a", order_body(tenant.shop_id, number="IDEM-A")).status_code == 201
    assert _register(client, tenant, "key-b", order_body(tenant.shop_id, number="IDEM-B")).status_code == 201
    assert sorted(list_numbers(client, tenant)) == ["IDEM-A", "IDEM-B"]


def test_the_same_key_with_a_different_body_is_refused_with_422(app, client, tenant):
    assert _register(client, tenant, "key-2", order_body(tenant.shop_id, number="IDEM-2")).status_code == 201
    before = db_counts(app)
    error_of(_register(client, tenant, "key-2", order_body(tenant.shop_id, number="IDEM-3")), 422, "validation_error")
    assert db_counts(app) == before
    assert list_numbers(client, tenant) == ["IDEM-2"]


def test_a_refused_first_answer_is_replayed_too(client, tenant):
    holder = create_order(client, tenant, number="IDEM-TAKEN")
    body = order_body(tenant.shop_id, number="IDEM-TAKEN")
    first = _register(client, tenant, "key-3", body)
    error_of(first, 409, "mall_order_number_taken")
    client.delete(f"{API}/orders/{holder['id']}", headers=tenant.headers())  # the number is free now
    second = _register(client, tenant, "key-3", body)
    assert second.status_code == 409
    assert second.json == first.json
    assert list_numbers(client, tenant) == []


def test_another_account_using_the_same_key_is_independent(app, client, tenant, other_tenant):
    mine = _register(client, tenant, "shared", order_body(tenant.shop_id, number="IDEM-SHARED"))
    theirs = _register(client, other_tenant, "shared", order_body(other_tenant.shop_id, number="IDEM-SHARED"))
    assert mine.status_code == theirs.status_code == 201, (mine.json, theirs.json)
    assert theirs.json["id"] != mine.json["id"]
    assert theirs.json["shop_id"] == other_tenant.shop_id
    assert list_numbers(client, other_tenant) == ["IDEM-SHARED"]
    # and each account's repeat still replays its own answer
    again = _register(client, other_tenant, "shared", order_body(other_tenant.shop_id, number="IDEM-SHARED"))
    assert again.json == theirs.json


def test_a_key_older_than_24_hours_no_longer_replays(app, client, tenant):
    body = order_body(tenant.shop_id, number="IDEM-OLD")
    assert _register(client, tenant, "key-old", body).status_code == 201
    age_idempotency_keys(app, hours=25)
    error_of(_register(client, tenant, "key-old", body), 409, "mall_order_number_taken")
    assert db_counts(app, tenant.account_id)["orders"] == 1


def test_a_key_younger_than_24_hours_still_replays(app, client, tenant):
    body = order_body(tenant.shop_id, number="IDEM-YOUNG")
    first = _register(client, tenant, "key-young", body)
    age_idempotency_keys(app, hours=23)
    assert _register(client, tenant, "key-young", body).json == first.json


# ---------------------------------------------------------------- cancel


def test_a_repeated_cancel_returns_the_first_answer_and_cancels_once(client, tenant):
    order = create_order(client, tenant)
    first = _cancel(client, tenant, "cancel-1", order["id"], {"reason_code": 1})
    second = _cancel(client, tenant, "cancel-1", order["id"], {"reason_code": 1})
    assert first.status_code == second.status_code == 200, (first.json, second.json)
    assert second.json == first.json
    assert first.json["status"] == "cancelled"
    kinds = [e["kind"] for e in events(client, tenant, order["id"])]
    assert kinds.count("cancelled") == 1


def test_a_cancel_with_a_new_key_gets_the_rules_refusal(client, tenant):
    order = create_order(client, tenant)
    assert _cancel(client, tenant, "cancel-a", order["id"]).status_code == 200
    error_of(_cancel(client, tenant, "cancel-b", order["id"]), 409, "cannot_cancel")


def test_a_cancel_key_reused_for_another_order_is_refused_with_422(client, tenant):
    first = create_order(client, tenant)
    second = create_order(client, tenant)
    assert _cancel(client, tenant, "cancel-2", first["id"]).status_code == 200
    error_of(_cancel(client, tenant, "cancel-2", second["id"]), 422, "validation_error")
    assert client.get(f"{API}/orders/{second['id']}", headers=tenant.headers()).json["status"] == "awaiting_confirmation"


def test_a_cancel_key_with_a_different_reason_is_refused_with_422(client, tenant):
    order = create_order(client, tenant)
    assert _cancel(client, tenant, "cancel-3", order["id"], {"reason_code": 1}).status_code == 200
    error_of(_cancel(client, tenant, "cancel-3", order["id"], {"reason_code": 8}), 422, "validation_error")
    assert client.get(f"{API}/orders/{order['id']}", headers=tenant.headers()).json["cancel_reason_code"] == 1


def test_a_registration_key_and_a_cancel_key_do_not_mix(client, tenant):
    """The same key string on another endpoint is another request (refused, never a replay of the other answer)."""
    created = _register(client, tenant, "mixed", order_body(tenant.shop_id, number="IDEM-MIX"))
    assert created.status_code == 201
    response = _cancel(client, tenant, "mixed", created.json["id"])
    assert response.status_code in (200, 422)
    if response.status_code == 200:
        assert response.json["status"] == "cancelled"
    else:
        assert response.json["error"]["code"] == "validation_error"


def test_an_over_long_key_is_refused_with_422(app, client, tenant):
    before = db_counts(app)
    error_of(_register(client, tenant, "k" * 256, order_body(tenant.shop_id)), 422, "validation_error")
    assert db_counts(app) == before


def test_a_repeat_with_the_same_json_written_differently_is_the_same_request(app, client, tenant):
    """Issue 11 item 11: the fingerprint is the parsed JSON, so key order and spacing do not make a repeat new."""
    import json

    body = order_body(tenant.shop_id, number="IDEM-JSON")
    compact = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    reordered = json.dumps(dict(reversed(list(body.items()))), ensure_ascii=True, indent=2)
    headers = tenant.headers(**{"Idempotency-Key": "key-json", "Content-Type": "application/json"})
    first = client.post(f"{API}/orders", data=compact.encode(), headers=headers)
    second = client.post(f"{API}/orders", data=reordered.encode(), headers=headers)
    assert first.status_code == second.status_code == 201 and second.json == first.json
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert db_counts(app, tenant.account_id)["orders"] == 1
