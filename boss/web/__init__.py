"""The shop's browser app: server-rendered pages with htmx partials (thin views over the services)."""
from __future__ import annotations

from flask import Flask, redirect, request, session, url_for
from flask_login import current_user

from .. import accounts
from ..extensions import login_manager


def register_web(app: Flask) -> None:
    from . import (account, auth, common, detail, exports, imports, manual, mapping, order_edit, orders, products,
                   returns, search, settings, shipment_view, shipments, stock, tags)

    login_manager.login_view = "auth.login"
    login_manager.login_message = "ログインしてください。"
    login_manager.login_message_category = "info"
    login_manager.blueprint_login_views["api"] = None  # the API is never sent to the login page: 401 JSON

    @login_manager.user_loader
    def _load_user(user_id: str):
        # Only through a server-side session that is the user's, has not ended and is not idle (a copied
        # cookie dies with its session; a remember-me cookie, carrying no session, signs no one in).
        # The user comes with their account, whose name every page's header shows.
        return accounts.session_user(session.get(auth.SESSION_KEY), user_id)

    pages = (auth, orders, detail, order_edit, search, exports, shipments, returns, mapping, manual, products, stock,
             tags, settings, imports, account)
    for page in pages:
        app.register_blueprint(page.bp)
    common.init_app(app)
    app.jinja_env.globals["tracking_url"] = shipment_view.tracking_url
    auth.init_throttle(app)
    web_blueprints = {page.bp.name for page in pages} | {common.bp.name}

    @app.after_request
    def _vary_on_htmx(response):
        """One URL answers a page or its partial by HX-Request: every page says so to caches (the API does not)."""
        if request.blueprint in web_blueprints:
            response.vary.add("HX-Request")
        return response

    @app.before_request
    def _require_login():
        """Every page needs a login (the API has its own bearer tokens). The session is checked first thing,
        before any view has written anything (a session's check may end it or note its use)."""
        endpoint = request.endpoint or ""
        if (endpoint.startswith(("api.", "health.", "sandbox")) or endpoint == "static"
                # the API and /healthz answer JSON, also to a path or method they do not have (404, 405)
                or request.path == "/api" or request.path.startswith(("/api/", "/healthz"))):
            return None
        if current_user.is_authenticated or endpoint in ("auth.login", "common.set_language"):
            return None
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
