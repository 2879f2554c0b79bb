"""The shop's browser app: server-rendered pages with htmx partials (thin views over the services)."""
from __future__ import annotations

from flask import Flask, redirect, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..extensions import db, login_manager
from ..models import User


def register_web(app: Flask) -> None:
    from . import auth, common, detail, manual, mapping, orders, products, search, settings, shipments, tags

    login_manager.login_view = "auth.login"
    login_manager.login_message = "ログインしてください。"
    login_manager.login_message_category = "info"
    login_manager.blueprint_login_views["api"] = None  # the API is never sent to the login page: 401 JSON

    @login_manager.user_loader
    def _load_user(user_id: str):
        # with its account, whose name every page's header shows: one statement instead of two
        return db.session.get(User, int(user_id), options=[joinedload(User.account)])

    for page in (auth, orders, detail, search, shipments, mapping, manual, products, tags, settings):
        app.register_blueprint(page.bp)
    common.init_app(app)

    @app.before_request
    def _require_login():
        """Every page needs a login (the API has its own bearer tokens)."""
        endpoint = request.endpoint or ""
        public = (endpoint.startswith(("api.", "health.", "sandbox")) or endpoint in ("auth.login", "static", "common.set_language")
                  # the API and /healthz answer JSON, also to a path or method they do not have (404, 405)
                  or request.path == "/api" or request.path.startswith(("/api/", "/healthz")))
        if not public and not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
        return None
