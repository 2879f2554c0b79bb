"""GET /api/openapi.json (no token) describes api.md's endpoints; GET /healthz reports database, Redis, worker."""
from __future__ import annotations

import re

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound

# api.md's endpoint table.
ENDPOINTS = [
    ("get", "/api/v1/shops"),
    ("post", "/api/v1/shops"),
    ("patch", "/api/v1/shops/{id}"),
    ("post", "/api/v1/products"),
    ("get", "/api/v1/products"),
    ("get", "/api/v1/products/{id}/stock-movements"),
    ("post", "/api/v1/products/{id}/stock-adjustments"),
    ("post", "/api/v1/mappings"),
    ("delete", "/api/v1/mappings/{id}"),
    ("post", "/api/v1/tags"),
    ("post", "/api/v1/orders/{id}/tags/{tag_id}"),
    ("delete", "/api/v1/orders/{id}/tags/{tag_id}"),
    ("post", "/api/v1/orders"),
    ("get", "/api/v1/orders"),
    ("get", "/api/v1/orders/counts"),
    ("get", "/api/v1/orders/{id}"),
    ("post", "/api/v1/orders/{id}/confirm"),
    ("post", "/api/v1/orders/{id}/cancel"),
    ("delete", "/api/v1/orders/{id}"),
    ("post", "/api/v1/orders/{id}/retry-reflection"),
    ("post", "/api/v1/orders/{id}/retry-shipping-reflection"),
    ("post", "/api/v1/orders/{id}/request-shipment"),
    ("post", "/api/v1/orders/{id}/retry-shipping-request"),
    ("post", "/api/v1/orders/{id}/request-withdrawal"),
    ("post", "/api/v1/orders/{id}/retry-warehouse-notice"),
    ("get", "/api/v1/orders/{id}/events"),
    ("post", "/api/v1/shops/{id}/import"),
    ("post", "/api/v1/orders/bulk"),
    ("get", "/api/v1/jobs/{id}"),
    ("get", "/api/v1/warehouse"),
    ("patch", "/api/v1/warehouse"),
    ("post", "/api/v1/warehouse/sync"),
    ("get", "/api/v1/returns"),
    ("get", "/api/v1/returns/{id}"),
    ("post", "/api/v1/returns/{id}/inspection"),
    ("get", "/healthz"),
]


@pytest.fixture
def document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json


def test_the_openapi_document_needs_no_token_and_is_valid(client, document):
    from openapi_spec_validator import validate

    assert document["openapi"].startswith("3.")
    validate(document)


@pytest.mark.parametrize("method,path", ENDPOINTS, ids=[f"{m} {p}" for m, p in ENDPOINTS])
def test_every_endpoint_of_api_md_is_in_the_document_with_id_parameters(document, method, path):
    assert path in document["paths"], sorted(document["paths"])
    operation = document["paths"][path].get(method)
    assert operation is not None, f"{method.upper()} {path} missing"
    assert operation["responses"]
    declared = {p["name"] for p in operation.get("parameters", []) + document["paths"][path].get("parameters", [])
                if p.get("in") == "path"}
    assert declared == set(re.findall(r"{(\w+)}", path))


def test_every_documented_operation_is_served_by_the_app(app, document):
    adapter = app.url_map.bind("localhost")
    for path, item in document["paths"].items():
        concrete = re.sub(r"{\w+}", "1", path)
        for method in item:
            if method in ("parameters", "summary", "description"):
                continue
            try:
                adapter.match(concrete, method=method.upper())
            except (NotFound, MethodNotAllowed):
                pytest.fail(f"{method.upper()} {path} is documented but not served")


def test_every_operation_the_app_serves_under_api_is_in_the_document(app, document):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"].get(path, {}), f"{method} {path} is served but not documented"


def test_the_document_declares_bearer_auth_and_the_error_envelope(document):
    schemes = document["components"]["securitySchemes"]
    assert any(s.get("type") == "http" and s.get("scheme") == "bearer" for s in schemes.values())
    error = document["components"]["schemas"]["Error"]
    codes = error["properties"]["error"]["properties"]["code"]["enum"]
    assert set(codes) >= {"bad_request", "unauthorized", "forbidden", "not_found", "validation_error",
                          "mall_order_number_taken", "already_exists", "cannot_cancel", "cannot_delete",
                          "invalid_transition", "conflict"}


def test_the_document_states_the_order_limits_of_api_md(document):
    new_order = document["components"]["schemas"]["NewOrder"]
    line = new_order["properties"]["lines"]["items"]
    assert (new_order["properties"]["lines"]["minItems"], new_order["properties"]["lines"]["maxItems"]) == (1, 200)
    assert (line["properties"]["quantity"]["minimum"], line["properties"]["quantity"]["maximum"]) == (1, 9999)
    assert (line["properties"]["unit_price"]["minimum"], line["properties"]["unit_price"]["maximum"]) == (0, 10_000_000)
    # 64 characters once the blanks around it are trimmed (the server trims first): a pattern says so exactly
    number = re.compile(new_order["properties"]["mall_order_number"]["pattern"])
    assert number.fullmatch("A" * 64) and number.fullmatch("  " + "A" * 64 + "\u3000")
    assert not number.fullmatch("A" * 65) and not number.fullmatch("   ") and not number.fullmatch("A\x00")


def test_an_order_answer_has_every_field_the_document_lists(client, tenant, document):
    from tests.factories import create_order

    order = create_order(client, tenant)
    assert set(document["components"]["schemas"]["Order"]["properties"]) <= set(order)


# ---------------------------------------------------------------- /healthz


def test_healthz_answers_json_with_database_redis_and_worker_without_a_token(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    body = response.json
    assert {"database", "redis", "worker"} <= set(body)
    assert body["database"] == "ok" and body["redis"] == "ok"
    assert body["worker"] in ("ok", "stale")
