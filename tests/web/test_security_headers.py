"""Issue 11 item 7: security headers on every response, the session cookie's flags, and which forwarding
headers are believed (only a trusted proxy's)."""
from __future__ import annotations

import re

import pytest
from flask import request

from boss import create_app
from boss.config import Config
from tests.conftest import ROOT, login

CSP = "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"


def _assert_security_headers(response):
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_r7_pages_partials_the_api_static_files_and_errors_all_carry_the_security_headers(app, tenant):
    client = login(app.test_client(), tenant.staff_email)
    answers = [
        client.get("/login"),
        client.get("/orders"),
        client.get("/orders", headers={"HX-Request": "true"}),
        client.get("/static/app.css"),
        client.get("/no-such-page"),
        app.test_client().get("/api/v1/orders", headers=tenant.headers()),
        app.test_client().get("/api/v1/orders"),
        app.test_client().get("/healthz"),
    ]
    for response in answers:
        _assert_security_headers(response)
        assert "Strict-Transport-Security" not in response.headers, "no HSTS over plain http"


def test_r7_the_session_cookie_is_httponly_and_samesite_lax_and_not_secure_on_plain_http(app):
    cookie = app.test_client().get("/login").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie, "a shop on http://127.0.0.1 must still be able to log in"


def test_r7_pages_tell_htmx_to_evaluate_no_code_and_inject_no_styles(app, tenant):
    page = login(app.test_client(), tenant.staff_email).get("/orders").text
    assert """<meta name="htmx-config" content='{"allowEval":false,"includeIndicatorStyles":false}'>""" in page


INLINE = {
    "a style attribute": re.compile(r"\sstyle\s*="),
    "a <style> block": re.compile(r"<style[\s>]"),
    "an inline <script>": re.compile(r"<script(?![^>]*\ssrc=)[^>]*>"),
    "an on…= handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "an hx-on attribute (eval)": re.compile(r"\shx-on"),
    "a javascript: URL or js: value": re.compile(r"(javascript|js):", re.I),
}


def test_r7_no_template_has_inline_script_or_style_the_policy_would_refuse():
    found = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text()
        found += [f"{template.relative_to(ROOT)}: {what}" for what, pattern in INLINE.items() if pattern.search(text)]
    assert not found, found


def _app_behind(trust_proxy: bool, secure_cookie: bool, app):
    """The suite's app again (same database and Redis), behind a proxy or not, with a page saying who asked."""
    application = create_app({**app.config, "TRUST_PROXY": trust_proxy, "SESSION_COOKIE_SECURE": secure_cookie})

    @application.get("/_client")
    def _client():
        return {"address": request.remote_addr, "scheme": request.scheme}

    return application


FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


def test_r7_without_trust_proxy_forged_forwarding_headers_change_neither_the_client_nor_the_scheme(app, tenant):
    client = login(_app_behind(False, False, app).test_client(), tenant.staff_email)
    answer = client.get("/_client", headers=FORWARDED)
    assert answer.json == {"address": "127.0.0.1", "scheme": "http"}, "the throttle keys on the real client address"
    assert "Strict-Transport-Security" not in answer.headers


def test_r7_behind_a_trusted_proxy_its_client_and_https_are_believed_with_hsts_and_a_secure_cookie(app, tenant):
    proxied = _app_behind(True, True, app)
    client = proxied.test_client()
    # The proxy says https on every request; over https Flask-WTF also wants a same-site Referer, which
    # Referrer-Policy: same-origin lets browsers send.
    client.environ_base.update(HTTP_X_FORWARDED_PROTO="https", HTTP_REFERER="https://localhost/login")
    login(client, tenant.staff_email)
    answer = client.get("/_client", headers={**FORWARDED, "X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
    assert answer.json == {"address": "203.0.113.9", "scheme": "https"}, "one proxy: its last hop is the client"
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = proxied.test_client().get("/login", headers=FORWARDED).headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    plain = proxied.test_client().get("/login?next=/orders", headers={"X-Forwarded-Proto": "http"})
    assert plain.status_code == 302 and plain.headers["Location"] == "https://localhost/login?next=/orders"


@pytest.mark.parametrize("environment, secure", [
    ({}, False),
    ({"TRUST_PROXY": "1"}, True),
    ({"PREFERRED_URL_SCHEME": "https"}, True),
    ({"TRUST_PROXY": "1", "SESSION_COOKIE_SECURE": "0"}, False),
    ({"SESSION_COOKIE_SECURE": "1"}, True),
])
def test_r7_the_secure_cookie_flag_follows_https_unless_set(monkeypatch, environment, secure):
    for name in ("TRUST_PROXY", "PREFERRED_URL_SCHEME", "SESSION_COOKIE_SECURE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert Config().SESSION_COOKIE_SECURE is secure
