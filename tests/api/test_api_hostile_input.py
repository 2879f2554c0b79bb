"""Issue 11 items 4 and 5: no input gives a 5xx, and /api answers JSON, never the login page.

api.md's error table: a NUL byte, or a date outside 1900-01-01…2100-12-31, is 422 `validation_error`
naming the field; JSON nested deeper than 32 levels is 400 `bad_request`; a body over 1 MB is 413
`payload_too_large`; anything unexpected is 500 `internal_error` with a request id, logged. An unknown
path under /api is 404 `not_found`, a wrong method 405 `method_not_allowed` with `Allow`, no token 401
with `WWW-Authenticate: Bearer`. Routing comes before authentication: a request that names no operation
(an unknown path, a bad id, a wrong method) answers 404 or 405 with or without a token.
"""
from __future__ import annotations

import copy
import io
import json
import logging
import re
import uuid

import pytest

from tests.api.api_helpers import API, create_tag, db_counts, error_of
from tests.factories import create_order, create_product, map_item, order_body

NUL = "a\x00b"
DAYS_OUT_OF_RANGE = ["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01"]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# ---------------------------------------------------------------- item 4: NUL bytes


@pytest.mark.parametrize("where", ["buyer.name", "buyer.address", "mall_order_number", "remarks", "payment_method",
                                   "lines[0].name", "lines[0].mall_item_id", "recipient.phone"])
def test_a_nul_byte_in_an_order_field_answers_422_naming_it_and_registers_nothing(app, client, tenant, where):
    body = order_body(tenant.shop_id, recipient={"name": "佐藤"})
    target, key = body, where
    for part in where.split(".")[:-1]:
        found = re.fullmatch(r"(\w+)\[(\d)\]", part)
        target = target[found.group(1)][int(found.group(2))] if found else target[part]
    target[where.split(".")[-1].split("[")[0]] = NUL
    before = db_counts(app)
    error = error_of(client.post(f"{API}/orders", json=body, headers=tenant.headers()), 422, "validation_error")
    assert "NUL" in error["fields"][key]
    assert db_counts(app) == before


@pytest.mark.parametrize("path,body", [
    ("/products", {"sku": "SKU\x00", "name": "煎茶"}),
    ("/tags", {"name": "要\x00確認"}),
    ("/mappings", {"shop_id": 0, "mall_item_id": "item\x00", "sku": "SKU-1"}),
], ids=["product", "tag", "mapping"])
def test_a_nul_byte_in_products_tags_and_mappings_answers_422(app, client, tenant, path, body):
    if "shop_id" in body:
        body["shop_id"] = tenant.shop_id
    before = db_counts(app)
    error = error_of(client.post(API + path, json=body, headers=tenant.headers()), 422, "validation_error")
    assert any("NUL" in why for why in error["fields"].values())
    assert db_counts(app) == before


@pytest.mark.parametrize("name", ["q", "tag", "mall_order_number", "status", "cursor", "ordered_from"])
def test_a_nul_byte_in_a_filter_answers_422_naming_it(client, tenant, name):
    create_order(client, tenant)
    error = error_of(client.get(f"{API}/orders", query_string={name: NUL}, headers=tenant.headers()), 422,
                     "validation_error")
    assert "NUL" in error["fields"][name]


def test_a_nul_byte_in_q_is_refused_on_sqlite_fts5_and_postgresql_alike(client, tenant):
    create_order(client, tenant)
    for q in ("\x00", "山田\x00", "\x00\x00\x00"):
        error_of(client.get(f"{API}/orders", query_string={"q": q}, headers=tenant.headers()), 422, "validation_error")


def test_a_nul_byte_in_the_idempotency_key_or_a_job_id_is_no_server_error(client, tenant):
    response = client.post(f"{API}/orders", json=order_body(tenant.shop_id),
                           headers=tenant.headers(**{"Idempotency-Key": "key\x00"}))
    error_of(response, 422, "validation_error")
    error_of(client.get(f"{API}/jobs/abc%00def", headers=tenant.headers()), 404, "not_found")


def test_a_lone_surrogate_is_refused_like_a_nul(app, client, tenant):
    raw = json.dumps(order_body(tenant.shop_id, number="T-\ud800"), ensure_ascii=True)
    before = db_counts(app)
    response = client.post(f"{API}/orders", data=raw, content_type="application/json", headers=tenant.headers())
    assert "mall_order_number" in error_of(response, 422, "validation_error")["fields"]
    assert db_counts(app) == before


def test_an_unknown_field_named_with_a_nul_or_a_surrogate_is_named_back_readably(client, tenant):
    raw = '{"name": "x", "bad\\u0000key": 1, "\\udc80": 2}'
    response = client.post(f"{API}/tags", data=raw, content_type="application/json", headers=tenant.headers())
    fields = error_of(response, 422, "validation_error")["fields"]
    assert set(fields) == {"bad\\u0000key", "\\udc80"}


# ---------------------------------------------------------------- item 4: dates


@pytest.mark.parametrize("day", DAYS_OUT_OF_RANGE)
@pytest.mark.parametrize("name", ["ordered_from", "ordered_to"])
def test_a_filter_date_outside_1900_to_2100_answers_422_naming_it(client, tenant, name, day):
    error = error_of(client.get(f"{API}/orders", query_string={name: day}, headers=tenant.headers()), 422,
                     "validation_error")
    assert error["fields"][name] == "1900-01-01から2100-12-31までの日付で指定してください"


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+09:00", "9999-12-31T23:59:59+09:00", "0001-01-01", "9999-12-31",
                                   "0001-01-01T00:00:00Z"])
def test_an_ordered_at_outside_1900_to_2100_answers_422_and_registers_nothing(app, client, tenant, value):
    before = db_counts(app)
    response = client.post(f"{API}/orders", json=order_body(tenant.shop_id, ordered_at=value), headers=tenant.headers())
    assert "ordered_at" in error_of(response, 422, "validation_error")["fields"]
    assert db_counts(app) == before


@pytest.mark.parametrize("day", DAYS_OUT_OF_RANGE)
def test_a_delivery_date_outside_1900_to_2100_answers_422(client, tenant, day):
    response = client.post(f"{API}/orders", json=order_body(tenant.shop_id, delivery_date=day), headers=tenant.headers())
    assert "delivery_date" in error_of(response, 422, "validation_error")["fields"]


def test_the_first_and_last_days_of_the_range_are_taken(client, tenant):
    first = create_order(client, tenant, ordered_at="1900-01-01T00:00:00+09:00", delivery_date="2100-12-31")
    assert first["ordered_at"] == "1900-01-01T00:00:00+09:00" and first["delivery_date"] == "2100-12-31"
    response = client.get(f"{API}/orders", query_string={"ordered_from": "1900-01-01", "ordered_to": "2100-12-31"},
                          headers=tenant.headers())
    assert [o["id"] for o in response.json["items"]] == [first["id"]]


# ---------------------------------------------------------------- item 4: nesting, size, cursors


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_json_nested_deeper_than_32_levels_answers_400_bad_request(app, client, tenant, depth):
    before = db_counts(app)
    for path in ("/orders", "/tags", f"/orders/{create_order(client, tenant)['id']}/cancel"):
        body = '{"name": ' + nested(depth - 1) + "}"
        response = client.post(API + path, data=body, content_type="application/json", headers=tenant.headers())
        assert "32" in error_of(response, 400, "bad_request")["message"]
    assert db_counts(app)["tags"] == before["tags"]


def test_json_nested_32_levels_is_read_and_judged_field_by_field(client, tenant):
    body = '{"name": ' + nested(31) + "}"
    response = client.post(f"{API}/tags", data=body, content_type="application/json", headers=tenant.headers())
    assert error_of(response, 422, "validation_error")["fields"] == {"name": "文字列で指定してください"}


def test_a_body_over_1_mb_answers_413_payload_too_large(app, client, tenant):
    before = db_counts(app)
    body = json.dumps(order_body(tenant.shop_id, remarks="x" * (1024 * 1024)))
    response = client.post(f"{API}/orders", data=body, content_type="application/json", headers=tenant.headers())
    error_of(response, 413, "payload_too_large")
    assert db_counts(app) == before


def _cursor(raw: str) -> str:
    import base64

    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("raw", ["2026-11-01T00:00:00|99999999999999999999", "2026-11-01T00:00:00|9223372036854775808",
                                 "2026-11-01T00:00:00|-5", "2026-11-01T00:00:00+09:00|5", "0001-01-01T00:00:00|2147483648",
                                 "x|y", "nothing"])
def test_a_forged_cursor_answers_422_naming_the_cursor(client, tenant, raw):
    create_order(client, tenant)
    response = client.get(f"{API}/orders", query_string={"cursor": _cursor(raw)}, headers=tenant.headers())
    assert "cursor" in error_of(response, 422, "validation_error")["fields"]


@pytest.mark.parametrize("cursor", ["99999999999999999999", "-1", "1e5", "١٢"])
def test_a_product_cursor_must_be_an_id(client, tenant, cursor):
    response = client.get(f"{API}/products", query_string={"cursor": cursor}, headers=tenant.headers())
    assert "cursor" in error_of(response, 422, "validation_error")["fields"]


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "99999999999", "１", "W/\"x\"", "1\x00"])
def test_if_match_must_be_a_version_number(app, client, tenant, value):
    order = create_order(client, tenant)
    before = db_counts(app)
    response = client.post(f"{API}/orders/{order['id']}/confirm", headers=tenant.headers(**{"If-Match": value}))
    error_of(response, 422, "validation_error")
    assert db_counts(app) == before


@pytest.mark.parametrize("value", ["{version}", '"{version}"', 'W/"{version}"'])
def test_if_match_takes_the_version_bare_or_as_an_etag(client, tenant, value):
    order = create_order(client, tenant)
    response = client.post(f"{API}/orders/{order['id']}/confirm",
                           headers=tenant.headers(**{"If-Match": value.format(version=order["version"])}))
    assert response.status_code in (200, 409) and response.json.get("error", {}).get("code") != "conflict"


def test_a_tag_filter_of_other_digits_is_a_code_not_a_server_error(client, tenant):
    create_order(client, tenant)
    for tag in ("²", "١", "99999999999999999999"):
        error_of(client.get(f"{API}/orders", query_string={"tag": tag}, headers=tenant.headers()), 404, "not_found")


# ---------------------------------------------------------------- item 4: the unexpected


def test_an_unexpected_error_answers_500_internal_error_with_the_request_id_it_logs(app, client, tenant, monkeypatch,
                                                                                    caplog):
    from boss.api import routes

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(routes, "status_counts", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        response = client.get(f"{API}/orders/counts", headers=tenant.headers(**{"Accept-Language": "en"}))
    error = error_of(response, 500, "internal_error")
    request_id = re.search(r"request id: ([0-9a-f-]{36})", error["message"]).group(1)
    uuid.UUID(request_id)
    assert response.headers["X-Request-Id"] == request_id
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info and "boom" in str(logged[0].exc_info[1])


def test_an_unexpected_error_on_a_page_shows_the_request_id_it_logs(app, staff_client, monkeypatch, caplog):
    from boss.web import orders

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(orders, "list_orders", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        response = staff_client.get("/orders")
    assert response.status_code == 500
    request_id = re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", response.text).group(0)
    assert any(request_id in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------- item 5: JSON, never the login page


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v1/orders/-1", "/api/v1/orders/abc", "/api/v2/orders",
                                  "/api", "/api/", "/api/v1/orders/1/nothing", "/api/v1/orders/%00"])
@pytest.mark.parametrize("with_token", [True, False], ids=["token", "no token"])
def test_an_unknown_api_path_answers_404_not_found_as_json_with_or_without_a_token(client, tenant, path, with_token):
    response = client.get(path, headers=tenant.headers() if with_token else {})
    error_of(response, 404, "not_found")
    assert "Location" not in response.headers


@pytest.mark.parametrize("method,path,allowed", [
    ("put", "/api/v1/orders", {"GET", "POST"}),
    ("delete", "/api/v1/shops", {"GET", "POST"}),
    ("get", "/api/v1/orders/1/confirm", {"POST"}),
    ("put", "/api/v1/orders/1", {"GET", "DELETE", "PATCH"}),
    ("post", "/api/openapi.json", {"GET"}),
])
@pytest.mark.parametrize("with_token", [True, False], ids=["token", "no token"])
def test_a_wrong_method_answers_405_method_not_allowed_with_allow(client, tenant, method, path, allowed, with_token):
    response = getattr(client, method)(path, headers=tenant.headers() if with_token else {})
    error_of(response, 405, "method_not_allowed")
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}],
                         ids=["none", "invalid", "other scheme"])
def test_an_operation_without_a_valid_token_answers_401_with_www_authenticate_bearer(client, tenant, headers):
    order = create_order(client, tenant)
    for method, path in (("get", "/api/v1/orders"), ("post", f"/api/v1/orders/{order['id']}/cancel"),
                         ("get", "/api/v1/orders/counts")):
        response = getattr(client, method)(path, headers=headers)
        error_of(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_the_login_manager_answers_401_json_for_the_api_not_a_redirect(app):
    """Were an API view ever guarded by Flask-Login, its refusal is the API's 401, not the login page."""
    from werkzeug.exceptions import Unauthorized

    from boss.api.errors import http_error_response
    from boss.extensions import login_manager

    with app.test_request_context("/api/v1/orders", headers={"Accept-Language": "en"}):
        with pytest.raises(Unauthorized) as refused:
            login_manager.unauthorized()
        response = http_error_response(refused.value)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json["error"]["code"] == "unauthorized"


# ---------------------------------------------------------------- item 4: every operation, every hostile value


HOSTILE_STRINGS = ["a\x00b", "\x00", "0001-01-01", "9999-12-31", "0001-01-01T00:00:00+09:00", "9999-12-31T23:59:59Z",
                   "99999999999999999999", "-1", "", " ", "\ud800", "x" * 5000, "%", "²"]
HOSTILE_VALUES = [*HOSTILE_STRINGS, 2**63, -(2**63) - 1, 10**30, 1e308, -1, 0, True, None, [], {}, [None], {"a": "\x00"}]
PATH_VALUES = ["-1", "0", "abc", "99999999999999999999", "9223372036854775808", "%00", "1%00", "%C0%80", "2147483648"]


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = document["components"]["schemas"][name]
    return schema


def _body_variants(document: dict, schema: dict, valid: dict) -> list:
    """The valid body with each property (at any depth of objects) replaced by each hostile value, plus
    hostile bodies whole."""
    variants = ['{"a": ' + nested(100_000) + "}", nested(33), "\x00", '"\\u0000"', "[]", "1e999", "{" * 10]

    def walk(sub: dict, path: list):
        sub = _resolve(document, sub)
        for name, prop in sub.get("properties", {}).items():
            for value in HOSTILE_VALUES:
                body = copy.deepcopy(valid)
                target = body
                for key in path:
                    target = target.setdefault(key, {}) if isinstance(target, dict) else target
                if isinstance(target, dict):
                    target[name] = value
                    variants.append(json.dumps(body, ensure_ascii=True))
            prop = _resolve(document, prop)
            if prop.get("type") == "object" and len(path) < 2:
                walk(prop, path + [name])
    walk(schema, [])
    return variants


def _form(name: str, value: str) -> dict:
    """A multipart upload whose field `name` is `value` (the file: a file holding it, UTF-8)."""
    form = {"file": (io.BytesIO(value.encode() if name == "file" else "ショップ,モール注文番号\r\n".encode()), "x.csv")}
    if name != "file":
        form[name] = value
    return form


@pytest.mark.slow
def test_every_operation_of_the_openapi_document_takes_every_hostile_value_without_a_5xx(app, client, tenant):
    document = client.get("/api/openapi.json").json
    order = create_order(client, tenant)
    create_product(client, tenant)
    map_item(client, tenant)
    create_tag(client, tenant)
    valid_bodies = {
        ("post", "/api/v1/orders"): order_body(tenant.shop_id),
        ("post", "/api/v1/products"): {"sku": "S-2", "name": "n"},
        ("post", "/api/v1/mappings"): {"shop_id": tenant.shop_id, "mall_item_id": "i", "sku": "SKU-1"},
        ("post", "/api/v1/tags"): {"name": "t"},
        ("post", "/api/v1/shops"): {"name": "s", "mall": "rakuten"},
        ("post", "/api/v1/orders/bulk"): {"action": "cancel", "order_ids": [order["id"]]},
    }
    seen = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "patch", "delete", "put"):
                continue
            params = operation.get("parameters", [])
            concrete = path.replace("{id}", str(order["id"])).replace("{tag_id}", "1")
            urls = [concrete] + [re.sub(r"{\w+}", value, path) for value in PATH_VALUES]
            requests = [(url, {}, None, {}) for url in urls]
            for param in params:
                for value in HOSTILE_STRINGS:
                    if param["in"] == "query" and "\ud800" not in value:  # a URL cannot carry one
                        requests.append((concrete, {param["name"]: value}, None, {}))
                    elif param["in"] == "header" and "\x00" not in value and "\ud800" not in value:
                        requests.append((concrete, {}, None, {param["name"]: value}))
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                valid = valid_bodies.get((method, path), {})
                requests += [(concrete, {}, body, {}) for body in
                             _body_variants(document, content["application/json"]["schema"], valid)]
            if "multipart/form-data" in content:  # a CSV upload: each hostile value as the file and as each field
                fields = content["multipart/form-data"]["schema"]["properties"]
                requests += [(concrete, {}, _form(name, value), {}) for name in fields for value in HOSTILE_STRINGS
                             if "\ud800" not in value]
            for url, query, body, headers in requests:
                is_form = isinstance(body, dict)
                response = getattr(client, method)(
                    url, query_string=query, data=body,
                    content_type="multipart/form-data" if is_form else "application/json" if body is not None else None,
                    headers=tenant.headers("admin", **headers))
                seen += 1
                assert response.status_code < 500, (method, url, query, (body or "")[:200], headers, response.text[:300])
                documented = operation["responses"].get(str(response.status_code), {}).get("content", {})
                if "text/csv" in documented:  # GET /orders/export.csv: a streamed file, read whole
                    assert response.mimetype == "text/csv" and response.get_data(), (method, url, query)
                elif url.startswith("/api/") and response.status_code != 204:
                    assert response.is_json, (method, url, response.status_code)
    assert seen > 1000
