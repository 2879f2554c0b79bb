"""GET/PATCH /api/v1/warehouse (warehouse.md §1) and the shop's warehouse settings (api.md Shop)."""
from __future__ import annotations

import pytest

from tests.api.api_helpers import API, error_of

KEY = "rsl_key_abcdef_9Z1k"


def _patch(client, tenant, body, role="admin"):
    return client.patch(f"{API}/warehouse", json=body, headers=tenant.headers(role))


def test_a_new_account_reads_as_not_connected(client, tenant):
    response = client.get(f"{API}/warehouse", headers=tenant.headers())
    assert response.status_code == 200
    assert response.json == {"connected": False, "provider": "rsl", "base_url": "http://localhost/sandbox/warehouse",
                             "api_key_last4": None, "sync_interval_seconds": 60, "last_synced_at": None,
                             "error": None}


def test_an_admin_connects_and_the_key_is_never_shown_back(client, tenant):
    response = _patch(client, tenant, {"api_key": KEY, "sync_interval_seconds": 120})
    assert response.status_code == 200, response.json
    assert response.json["connected"] is True and response.json["api_key_last4"] == "9Z1k"
    assert response.json["sync_interval_seconds"] == 120
    shown = client.get(f"{API}/warehouse", headers=tenant.headers())
    assert shown.json == response.json and KEY not in shown.get_data(as_text=True)


def test_api_key_null_disconnects(client, tenant):
    _patch(client, tenant, {"api_key": KEY})
    response = _patch(client, tenant, {"api_key": None})
    assert response.status_code == 200
    assert response.json["connected"] is False and response.json["api_key_last4"] is None


def test_a_staff_token_may_read_but_not_change_the_connection(client, tenant):
    error_of(_patch(client, tenant, {"api_key": KEY}, role="staff"), 403, "forbidden")
    assert client.get(f"{API}/warehouse", headers=tenant.headers("staff")).json["connected"] is False


def test_each_account_has_its_own_connection(client, tenant, other_tenant):
    _patch(client, tenant, {"api_key": KEY})
    assert client.get(f"{API}/warehouse", headers=other_tenant.headers()).json["connected"] is False


@pytest.mark.parametrize("body,field", [
    ({"api_key": 5}, "api_key"), ({"api_key": ""}, "api_key"), ({"api_key": "two words"}, "api_key"),
    ({"api_key": "鍵"}, "api_key"), ({"api_key": "k" * 256}, "api_key"), ({"api_key": "a\u0000b"}, "api_key"),
    ({"base_url": "https://api.rsl.example"}, "base_url"), ({"base_url": "javascript:alert(1)"}, "base_url"),
    ({"base_url": 3}, "base_url"), ({"sync_interval_seconds": 29}, "sync_interval_seconds"),
    ({"sync_interval_seconds": 3601}, "sync_interval_seconds"),
    ({"sync_interval_seconds": "60"}, "sync_interval_seconds"),
    ({"sync_interval_seconds": True}, "sync_interval_seconds"), ({"provider": "rsl"}, "provider"),
])
def test_a_wrong_field_is_refused_naming_it_and_nothing_changes(client, tenant, body, field):
    _patch(client, tenant, {"api_key": KEY})
    error = error_of(_patch(client, tenant, {**body}), 422, "validation_error")
    assert field in error["fields"], error
    assert client.get(f"{API}/warehouse", headers=tenant.headers()).json["api_key_last4"] == "9Z1k"


def test_a_body_that_is_not_an_object_is_refused(client, tenant):
    error_of(client.patch(f"{API}/warehouse", data="[]", content_type="application/json",
                          headers=tenant.headers("admin")), 422, "validation_error")
    error_of(client.patch(f"{API}/warehouse", data="key", content_type="application/json",
                          headers=tenant.headers("admin")), 400, "bad_request")


def test_a_base_url_on_this_machine_is_taken_and_null_is_the_default_again(client, tenant):
    response = _patch(client, tenant, {"base_url": "http://127.0.0.1:8123/sandbox/warehouse/"})
    assert response.json["base_url"] == "http://127.0.0.1:8123/sandbox/warehouse"
    assert _patch(client, tenant, {"base_url": None}).json["base_url"] == "http://localhost/sandbox/warehouse"


def test_without_a_token_it_is_401(client):
    error_of(client.get(f"{API}/warehouse"), 401, "unauthorized")


def test_a_shop_has_its_warehouse_settings_off_and_empty_by_default(client, tenant):
    shop = client.get(f"{API}/shops", headers=tenant.headers()).json["items"][0]
    assert shop["auto_request_shipment"] is False
    assert shop["sender"] == {"postal_code": "", "address": "", "phone": ""}


def test_a_shop_is_created_and_changed_with_auto_request_and_its_sender(client, tenant):
    created = client.post(f"{API}/shops", headers=tenant.headers("admin"), json={
        "name": "倉庫店", "mall": "other", "auto_request_shipment": True,
        "sender": {"postal_code": "1000001", "address": "東京都千代田区1-1"}})
    assert created.status_code == 201, created.json
    assert created.json["auto_request_shipment"] is True
    assert created.json["sender"] == {"postal_code": "1000001", "address": "東京都千代田区1-1", "phone": ""}
    changed = client.patch(f"{API}/shops/{created.json['id']}", headers=tenant.headers("admin"),
                           json={"sender": {"phone": "03-1234-5678", "address": None}, "auto_request_shipment": False})
    assert changed.status_code == 200, changed.json
    assert changed.json["auto_request_shipment"] is False
    assert changed.json["sender"] == {"postal_code": "1000001", "address": "", "phone": "03-1234-5678"}


@pytest.mark.parametrize("body,field", [
    ({"sender": {"fax": "1"}}, "sender.fax"), ({"sender": {"phone": 3}}, "sender.phone"),
    ({"sender": {"postal_code": "1" * 17}}, "sender.postal_code"), ({"sender": "東京"}, "sender"),
    ({"auto_request_shipment": "yes"}, "auto_request_shipment"),
])
def test_wrong_shop_warehouse_settings_are_refused_naming_the_field(client, tenant, body, field):
    error = error_of(client.patch(f"{API}/shops/{tenant.shop_id}", headers=tenant.headers("admin"), json=body),
                     422, "validation_error")
    assert field in error["fields"], error
