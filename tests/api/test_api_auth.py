"""api.md Conventions: bearer tokens (401 `unauthorized`) and roles (403 `forbidden` for staff on admin actions)."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from boss.extensions import db
from boss.models import ApiToken, User, hash_token, utcnow
from tests.api.api_helpers import API, db_counts, error_of
from tests.factories import create_order, order_body

ENDPOINTS = [
    ("get", f"{API}/orders"),
    ("get", f"{API}/orders/counts"),
    ("get", f"{API}/orders/1"),
    ("post", f"{API}/orders"),
    ("post", f"{API}/orders/1/cancel"),
    ("delete", f"{API}/orders/1"),
    ("get", f"{API}/shops"),
    ("post", f"{API}/tags"),
    ("post", f"{API}/mappings"),
    ("get", f"{API}/jobs/abc"),
]

BAD_AUTHORIZATION = {
    "no header": None,
    "empty header": "",
    "bearer without token": "Bearer",
    "bearer with blank token": "Bearer    ",
    "unknown token": "Bearer boss_this-token-was-never-issued",
    "wrong scheme": "Basic dXNlcjpwYXNz",
}


def _auth_headers(tenant, kind: str) -> dict:
    if kind == "token without scheme":
        return {"Authorization": tenant.staff_token}
    if kind == "token with a character changed":
        return {"Authorization": f"Bearer {tenant.staff_token[:-1]}{'A' if tenant.staff_token[-1] != 'A' else 'B'}"}
    value = BAD_AUTHORIZATION[kind]
    return {} if value is None else {"Authorization": value}


@pytest.mark.parametrize("kind", BAD_AUTHORIZATION)
@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_requests_without_a_valid_token_answer_401_unauthorized(client, method, path, kind):
    value = BAD_AUTHORIZATION[kind]
    response = getattr(client, method)(path, json={}, headers={} if value is None else {"Authorization": value})
    error_of(response, 401, "unauthorized")


@pytest.mark.parametrize("kind", ["token without scheme", "token with a character changed"])
def test_a_real_token_sent_wrongly_or_altered_answers_401(client, tenant, kind):
    error_of(client.get(f"{API}/orders", headers=_auth_headers(tenant, kind)), 401, "unauthorized")
    error_of(client.post(f"{API}/orders", json=order_body(tenant.shop_id), headers=_auth_headers(tenant, kind)),
             401, "unauthorized")


def test_an_unauthenticated_registration_creates_no_order(app, client, tenant):
    before = db_counts(app)
    response = client.post(f"{API}/orders", json=order_body(tenant.shop_id), headers={"Authorization": "Bearer nope"})
    error_of(response, 401, "unauthorized")
    assert db_counts(app) == before


def test_an_unauthenticated_cancel_leaves_the_order_as_it_was(client, tenant):
    order = create_order(client, tenant)
    error_of(client.post(f"{API}/orders/{order['id']}/cancel", json={}), 401, "unauthorized")
    again = client.get(f"{API}/orders/{order['id']}", headers=tenant.headers()).json
    assert again["status"] == "awaiting_confirmation"
    assert again["version"] == order["version"]


def test_a_revoked_token_is_refused_with_401(app, client, tenant):
    assert client.get(f"{API}/orders", headers=tenant.headers()).status_code == 200
    with app.app_context():
        db.session.execute(update(ApiToken).where(ApiToken.token_hash == hash_token(tenant.staff_token))
                           .values(revoked_at=utcnow()))
        db.session.commit()
        db.session.remove()
    error_of(client.get(f"{API}/orders", headers=tenant.headers()), 401, "unauthorized")
    assert client.get(f"{API}/orders", headers=tenant.headers("admin")).status_code == 200


def test_the_token_of_a_deactivated_user_is_refused_with_401(app, client, tenant):
    with app.app_context():
        db.session.execute(update(User).where(User.email == tenant.staff_email).values(active=False))
        db.session.commit()
        db.session.remove()
    error_of(client.get(f"{API}/orders", headers=tenant.headers()), 401, "unauthorized")


def test_the_bearer_scheme_is_case_insensitive(client, tenant):
    response = client.get(f"{API}/orders", headers={"Authorization": f"bearer {tenant.staff_token}"})
    assert response.status_code == 200


# ---------------------------------------------------------------- roles

NEW_SHOP = {"name": "新しいヤフー店", "mall": "yahoo"}


@pytest.mark.parametrize("role,status", [("staff", 403), ("admin", 201)])
def test_only_an_admin_may_create_a_shop(app, client, tenant, role, status):
    before = db_counts(app)["shops"]
    response = client.post(f"{API}/shops", json=NEW_SHOP, headers=tenant.headers(role))
    if status == 403:
        error_of(response, 403, "forbidden")
        assert db_counts(app)["shops"] == before
    else:
        assert response.status_code == 201, response.json
        assert response.json["name"] == NEW_SHOP["name"]
        assert response.json["mall"] == "yahoo"
        assert response.json["auto_confirm"] is False
        assert db_counts(app)["shops"] == before + 1
    names = [s["name"] for s in client.get(f"{API}/shops", headers=tenant.headers()).json["items"]]
    assert (NEW_SHOP["name"] in names) is (status == 201)


@pytest.mark.parametrize("role,status", [("staff", 403), ("admin", 200)])
def test_only_an_admin_may_change_a_shop(client, tenant, role, status):
    response = client.patch(f"{API}/shops/{tenant.shop_id}", json={"name": "改名した店", "auto_confirm": True},
                            headers=tenant.headers(role))
    shop = next(s for s in client.get(f"{API}/shops", headers=tenant.headers()).json["items"]
                if s["id"] == tenant.shop_id)
    if status == 403:
        error_of(response, 403, "forbidden")
        assert shop["name"] != "改名した店"
        assert shop["auto_confirm"] is False
    else:
        assert response.status_code == 200, response.json
        assert response.json["name"] == "改名した店"
        assert shop["name"] == "改名した店"
        assert shop["auto_confirm"] is True


def test_a_shop_never_returns_its_secrets(client, tenant):
    shop = client.get(f"{API}/shops", headers=tenant.headers()).json["items"][0]
    assert set(shop) >= {"id", "name", "mall", "auto_confirm", "reflect_cancel_to_rms", "rms_connected",
                         "license_key_last4", "license_key_expires_on"}
    assert not any("secret" in key or key == "license_key" for key in shop)


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_both_roles_may_do_order_product_mapping_and_tag_actions(client, tenant, role):
    headers = tenant.headers(role)
    product = client.post(f"{API}/products", json={"sku": f"SKU-{role}", "name": "煎茶"}, headers=headers)
    assert product.status_code == 201, product.json
    mapping = client.post(f"{API}/mappings", json={"shop_id": tenant.shop_id, "mall_item_id": "item-1",
                                                   "sku": f"SKU-{role}"}, headers=headers)
    assert mapping.status_code == 201, mapping.json
    tag = client.post(f"{API}/tags", json={"name": f"{role}のタグ"}, headers=headers)
    assert tag.status_code == 201, tag.json
    order = client.post(f"{API}/orders", json=order_body(tenant.shop_id), headers=headers)
    assert order.status_code == 201, order.json
    order_id = order.json["id"]
    assert client.post(f"{API}/orders/{order_id}/tags/{tag.json['id']}", headers=headers).status_code == 200
    assert client.post(f"{API}/orders/{order_id}/confirm", headers=headers).status_code == 200
    cancelled = client.post(f"{API}/orders/{order_id}/cancel", json={}, headers=headers)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"


def test_events_name_the_token_user_as_the_actor(client, tenant):
    order = create_order(client, tenant)
    items = client.get(f"{API}/orders/{order['id']}/events", headers=tenant.headers()).json["items"]
    assert items[0]["actor"]["type"] == "token"
    assert tenant.staff_email in items[0]["actor"]["name"]
