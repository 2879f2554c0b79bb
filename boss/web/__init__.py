"""The shop's browser app: server-rendered pages with htmx partials (thin views over the services)."""
from __future__ import annotations

from flask import Flask, redirect, request, url_for
from flask_login import current_user

from ..extensions import db, login_manager
from ..models import User


def register_web(app: Flask) -> None:
    from . import auth, common, orders

    login_manager.login_view = "auth.login"
    login_manager.login_message = "ログインしてください。"
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def _load_user(user_id: str):
        return db.session.get(User, int(user_id))

    app.register_blueprint(auth.bp)
    app.register_blueprint(orders.bp)
    for module in _optional_pages():
        app.register_blueprint(module.bp)
    common.init_app(app)

    @app.before_request
    def _require_login():
        """Every page needs a login (the API has its own bearer tokens)."""
        endpoint = request.endpoint or ""
        public = endpoint.startswith(("api.", "health.", "sandbox")) or endpoint in ("auth.login", "static", "common.set_language")
        if not public and not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
        return None


def _optional_pages():
    """Page blueprints beyond the order list, each in its own module."""
    import importlib

    modules = []
    for name in ("shipments", "search", "detail", "mapping", "manual", "products", "tags", "settings", "jobs"):
        try:
            modules.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    return modules
