"""Security headers, cookie flags and which forwarding headers to believe, for every response.

Flask-Talisman sets the headers on pages, htmx partials, the API and static files alike: a CSP that allows
only this site's own files (no inline script or style: behaviour lives in static/app.js, looks in
static/app.css), no framing, nosniff, `Referrer-Policy: same-origin`, and HSTS on requests that came over
https. `X-Forwarded-*` headers are believed only with TRUST_PROXY=1 (Heroku's router sets them); otherwise
they are dropped before the app sees them, so a forged `X-Forwarded-For` cannot pose as another client.
"""
from __future__ import annotations

from flask import Flask
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "object-src": "'none'",
}


def init_security(app: Flask) -> None:
    """One Talisman per app: an instance keeps its options (and its app) on itself."""
    secure_cookie = app.config["SESSION_COOKIE_SECURE"]
    Talisman(
        app,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="same-origin",
        # Redirect http to https only where the scheme is known to be the proxy's (TRUST_PROXY): elsewhere a
        # TLS proxy this app does not believe would make every request look like http and loop.
        force_https=secure_cookie and app.config["TRUST_PROXY"],
        session_cookie_secure=secure_cookie,
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
    )
    if app.config["TRUST_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
    else:
        app.wsgi_app = DropForwardedHeaders(app.wsgi_app)


class DropForwardedHeaders:
    """WSGI middleware: without a trusted proxy, no `X-Forwarded-*` / `Forwarded` header reaches the app."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        for key in [k for k in environ if k.startswith("HTTP_X_FORWARDED_") or k == "HTTP_FORWARDED"]:
            del environ[key]
        return self.wsgi_app(environ, start_response)
