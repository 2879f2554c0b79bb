"""R14: an account sees and acts only on its own objects; another account's id answers 404 everywhere."""
from __future__ import annotations

import pytest

from tests.api.api_helpers import API, counts, create_tag, db_counts, error_of, list_numbers
from tests.factories import create_order, create_product, map_item, order_body


@pytest.fixture
def scene(app, client, tenant, other_tenant):
    """The other account has a confirmable order, a deletable order, a tag, a mapping and a job."""
    from boss.extensions import db
    from boss.job_records import create_job

    create_product(client, other_tenant, sku="OTHER-SKU")
    mapping = map_item(client, other_tenant, mall_item_id="item-1", sku="OTHER-SKU")
    theirs = create_order(client, other_tenant, number="THEIRS-1")  # fully mapped: confirmable
    deletable = create_order(client, other_tenant, number="THEIRS-2",
                             lines=[{"mall_item_id": "item-9", "name": "番茶", "quantity": 1, "unit_price": 500}])
    their_tag = create_tag(client, other_tenant, name="よその保留", holds=False)
    assert client.post(f"{API}/orders/{theirs['id']}/tags/{their_tag['id']}",
                       headers=other_tenant.headers()).status_code == 200
    with app.app_context():
        job = create_job(other_tenant.account_id, "bulk_cancel", {}, created_by="someone")
        db.session.commit()
        job_id = job.id
        db.session.remove()

    create_product(client, tenant, sku="MY-SKU")
    mine = create_order(client, tenant, number="MINE-1")
    my_tag = create_tag(client, tenant, name="自分のタグ")
    return {
        "theirs": theirs["id"], "deletable": deletable["id"], "their_tag": their_tag["id"],
        "their_mapping": mapping["id"], "their_job": job_id, "their_shop": other_tenant.shop_id,
        "mine": mine["id"], "my_tag": my_tag["id"], "my_shop": tenant.shop_id,
    }


def _state(client, who, order_id: int) -> dict:
    order = client.get(f"{API}/orders/{order_id}", headers=who.headers()).json
    history = client.get(f"{API}/orders/{order_id}/events", headers=who.headers()).json["items"]
    return {k: order[k] for k in ("status", "deleted", "version", "tags", "lines")} | {"events": len(history)}


CASES = [
    ("get an order", "get", "/orders/{theirs}", None, "staff"),
    ("confirm an order", "post", "/orders/{theirs}/confirm", None, "staff"),
    ("cancel an order", "post", "/orders/{theirs}/cancel", {}, "staff"),
    ("cancel an order as admin", "post", "/orders/{theirs}/cancel", {"reason_code": 1}, "admin"),
    ("delete an order", "delete", "/orders/{deletable}", None, "staff"),
    ("read an order's events", "get", "/orders/{theirs}/events", None, "staff"),
    ("add my tag to their order", "post", "/orders/{theirs}/tags/{my_tag}", None, "staff"),
    ("remove their tag from their order", "delete", "/orders/{theirs}/tags/{their_tag}", None, "staff"),
    ("add their tag to my order", "post", "/orders/{mine}/tags/{their_tag}", None, "staff"),
    ("remove their tag from my order", "delete", "/orders/{mine}/tags/{their_tag}", None, "staff"),
    ("change their shop", "patch", "/shops/{their_shop}", {"auto_confirm": True, "name": "乗っ取り"}, "admin"),
    ("delete their mapping", "delete", "/mappings/{their_mapping}", None, "staff"),
    ("read their job", "get", "/jobs/{their_job}", None, "staff"),
    ("register an order in their shop", "post", "/orders", "order_in_their_shop", "staff"),
    ("map an item of their shop", "post", "/mappings", "mapping_in_their_shop", "staff"),
    ("filter the list by their tag id", "get", "/orders?tag={their_tag}", None, "staff"),
    ("filter the list by their shop", "get", "/orders?shop_id={their_shop}", None, "staff"),
    ("count their shop's orders", "get", "/orders/counts?shop_id={their_shop}", None, "staff"),
    ("list their shop's mappings", "get", "/mappings?shop_id={their_shop}", None, "staff"),
]


def _body(kind, scene):
    if kind == "order_in_their_shop":
        return order_body(scene["their_shop"], number="INTRUDER-1")
    if kind == "mapping_in_their_shop":
        return {"shop_id": scene["their_shop"], "mall_item_id": "item-9", "sku": "MY-SKU"}
    return kind


@pytest.mark.parametrize("what,method,path,body,role", CASES, ids=[c[0] for c in CASES])
def test_r14_another_accounts_object_answers_404_and_nothing_changes(
        app, client, tenant, other_tenant, scene, what, method, path, body, role):
    before_db = db_counts(app)
    before = {k: _state(client, other_tenant, scene[k]) for k in ("theirs", "deletable")}
    mine_before = _state(client, tenant, scene["mine"])
    their_shop_before = client.get(f"{API}/shops", headers=other_tenant.headers()).json
    their_mappings_before = client.get(f"{API}/mappings", headers=other_tenant.headers()).json

    kwargs = {"headers": tenant.headers(role)}
    payload = _body(body, scene)
    if payload is not None:
        kwargs["json"] = payload
    response = getattr(client, method)(API + path.format(**scene), **kwargs)

    error = error_of(response, 404, "not_found")
    assert "THEIRS" not in error["message"] and "よその" not in error["message"]
    assert db_counts(app) == before_db
    assert {k: _state(client, other_tenant, scene[k]) for k in ("theirs", "deletable")} == before
    assert _state(client, tenant, scene["mine"]) == mine_before
    assert client.get(f"{API}/shops", headers=other_tenant.headers()).json == their_shop_before
    assert client.get(f"{API}/mappings", headers=other_tenant.headers()).json == their_mappings_before


def test_r14_the_owner_can_do_what_the_other_account_was_refused(client, other_tenant, scene):
    """The 404s above are about the account, not about objects that cannot be acted on."""
    headers = other_tenant.headers()
    assert client.get(f"{API}/orders/{scene['theirs']}", headers=headers).status_code == 200
    assert client.get(f"{API}/jobs/{scene['their_job']}", headers=headers).status_code == 200
    assert client.post(f"{API}/orders/{scene['theirs']}/confirm", headers=headers).status_code == 200
    assert client.delete(f"{API}/orders/{scene['deletable']}", headers=headers).status_code == 200
    assert client.delete(f"{API}/mappings/{scene['their_mapping']}", headers=headers).status_code == 204


def test_r14_the_list_never_shows_another_accounts_orders(client, tenant, other_tenant, scene):
    create_order(client, other_tenant, number="THEIRS-3", buyer={"name": "山田 花子"})
    assert list_numbers(client, tenant) == ["MINE-1"]
    assert list_numbers(client, tenant, include_deleted="true") == ["MINE-1"]
    assert list_numbers(client, tenant, q="THEIRS-1") == []
    assert list_numbers(client, tenant, mall_order_number="THEIRS-1") == []
    assert list_numbers(client, tenant, q="山田") == ["MINE-1"]
    assert list_numbers(client, tenant, tag="not_mall_linked") == ["MINE-1"]
    assert sorted(list_numbers(client, other_tenant)) == ["THEIRS-1", "THEIRS-2", "THEIRS-3"]


def test_r14_a_deleted_order_of_another_account_stays_invisible(client, tenant, other_tenant, scene):
    assert client.delete(f"{API}/orders/{scene['deletable']}", headers=other_tenant.headers()).status_code == 200
    assert list_numbers(client, tenant, include_deleted="true", q="THEIRS-2") == []
    error_of(client.get(f"{API}/orders/{scene['deletable']}", headers=tenant.headers()), 404, "not_found")


def test_r14_counts_never_include_another_accounts_orders(client, tenant, other_tenant, scene):
    mine = counts(client, tenant)
    assert mine["all"] == 1 and mine["awaiting_confirmation"] == 1
    theirs = counts(client, other_tenant)
    assert theirs["all"] == 2


def test_r14_the_same_mall_order_number_may_exist_in_two_accounts(client, tenant, other_tenant, scene):
    """R4 is per shop: another account's holder never blocks (or reveals) a number."""
    response = client.post(f"{API}/orders", json=order_body(tenant.shop_id, number="THEIRS-1"),
                           headers=tenant.headers())
    assert response.status_code == 201, response.json
    assert response.json["shop_id"] == tenant.shop_id


def test_r14_products_and_mappings_of_another_account_are_not_listed(client, tenant, scene):
    skus = [p["sku"] for p in client.get(f"{API}/products", headers=tenant.headers()).json["items"]]
    assert skus == ["MY-SKU"]
    assert client.get(f"{API}/mappings", headers=tenant.headers()).json["items"] == []
    shops = client.get(f"{API}/shops", headers=tenant.headers()).json["items"]
    assert [s["id"] for s in shops] == [tenant.shop_id]
    tags = client.get(f"{API}/tags", headers=tenant.headers()).json["items"]
    assert "よその保留" not in [t["name"] for t in tags]


def test_r14_a_sku_of_another_account_cannot_be_mapped(app, client, tenant, scene):
    before = db_counts(app)
    response = client.post(f"{API}/mappings", json={"shop_id": tenant.shop_id, "mall_item_id": "item-1",
                                                     "sku": "OTHER-SKU"}, headers=tenant.headers())
    error = error_of(response, 422, "validation_error")
    assert "sku" in error["fields"]
    assert db_counts(app) == before


def test_r14_bulk_actions_on_another_accounts_orders_are_refused_and_reveal_nothing(
        client, tenant, other_tenant, scene):
    before = {k: _state(client, other_tenant, scene[k]) for k in ("theirs", "deletable")}
    response = client.post(f"{API}/orders/bulk", json={"action": "cancel", "order_ids": [scene["theirs"], scene["mine"]]},
                           headers=tenant.headers())
    assert response.status_code == 200, response.json
    items = {item["order_id"]: item for item in response.json["result"]["items"]}
    assert items[scene["theirs"]]["done"] is False
    assert items[scene["theirs"]]["code"] == "not_found"
    assert items[scene["theirs"]]["mall_order_number"] is None
    assert items[scene["mine"]]["done"] is True
    assert {k: _state(client, other_tenant, scene[k]) for k in ("theirs", "deletable")} == before


def test_r14_an_idempotency_key_of_another_account_neither_replays_nor_blocks(client, tenant, other_tenant):
    headers = {"Idempotency-Key": "shared-key-1"}
    theirs = client.post(f"{API}/orders", json=order_body(other_tenant.shop_id, number="K-1"),
                         headers=other_tenant.headers(**headers))
    mine = client.post(f"{API}/orders", json=order_body(tenant.shop_id, number="K-1"),
                       headers=tenant.headers(**headers))
    assert theirs.status_code == 201 and mine.status_code == 201, (theirs.json, mine.json)
    assert mine.json["id"] != theirs.json["id"]
    assert mine.json["shop_id"] == tenant.shop_id


HUGE = [2**31, 10**20]
NOWHERE = [
    ("get", "/orders/{id}", None),
    ("post", "/orders/{id}/confirm", None),
    ("post", "/orders/{id}/cancel", {}),
    ("delete", "/orders/{id}", None),
    ("get", "/orders/{id}/events", None),
    ("post", "/orders/1/tags/{id}", None),
    ("delete", "/orders/{id}/tags/1", None),
    ("delete", "/mappings/{id}", None),
    ("get", "/orders?tag={id}", None),
    ("get", "/orders?shop_id={id}", None),
    ("get", "/orders/counts?shop_id={id}", None),
    ("post", "/orders", "order"),
    ("post", "/mappings", "mapping"),
]


@pytest.mark.parametrize("big", HUGE)
@pytest.mark.parametrize("method,path,body", NOWHERE, ids=[f"{m} {p}" for m, p, _ in NOWHERE])
def test_an_id_too_large_for_any_object_answers_404_not_a_server_error(client, tenant, method, path, body, big):
    create_order(client, tenant)
    kwargs = {"headers": tenant.headers()}
    if body == "order":
        kwargs["json"] = order_body(big)
    elif body == "mapping":
        create_product(client, tenant)
        kwargs["json"] = {"shop_id": big, "mall_item_id": "item-1", "sku": "SKU-1"}
    elif body is not None:
        kwargs["json"] = body
    error_of(getattr(client, method)(API + path.format(id=big), **kwargs), 404, "not_found")


def test_a_shop_patch_with_an_id_too_large_answers_404(client, tenant):
    error_of(client.patch(f"{API}/shops/{2**40}", json={"auto_confirm": True}, headers=tenant.headers("admin")),
             404, "not_found")
