"""BOSS: an order-management system for Japanese e-commerce shops."""
from __future__ import annotations

import gc
import uuid
from pathlib import Path

from flask import Flask, g, render_template, request, session
from flask_babel import gettext
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException, InternalServerError

from .config import Config
from .extensions import babel, csrf, db, login_manager, migrate


class BossFlask(Flask):
    def log_exception(self, exc_info) -> None:
        """An unexpected error's log line carries the request id its answer shows (api.md: internal_error)."""
        self.logger.error("Exception on %s [%s] request_id=%s", request.path, request.method, request_id(),
                          exc_info=exc_info)


def request_id() -> str:
    if "request_id" not in g:
        g.request_id = str(uuid.uuid4())
    return g.request_id


def create_app(test_config: dict | None = None) -> Flask:
    app = BossFlask(__name__, template_folder="../templates", static_folder="../static")
    app.config.from_object(Config())
    if test_config:
        app.config.update(test_config)
        from .config import _engine_options
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    from .api.validation import JSONProvider
    app.json = JSONProvider(app)
    app.json.ensure_ascii = False

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_root() / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_locale)
    from .security import init_security
    init_security(app)

    from . import models  # noqa: F401  (register the tables)
    from .orders import models as order_models  # noqa: F401
    from .api import bp as api_bp
    from .cli import register_cli
    from .health import bp as health_bp

    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # bearer tokens, not cookies
    app.register_blueprint(health_bp)
    if app.config["BOSS_SANDBOX"]:
        from .malls.rakuten.sandbox.routes import bp as rms_sandbox_bp
        app.register_blueprint(rms_sandbox_bp)  # the RMS stand-in, only with BOSS_SANDBOX on
        from .warehouse.simulator.routes import bp as warehouse_simulator_bp
        app.register_blueprint(warehouse_simulator_bp)  # the warehouse (RSL) stand-in, likewise
    register_cli(app)
    from .web import register_web
    register_web(app)

    @app.context_processor
    def _url_rules():
        return {"url_rules": app.view_functions}

    _error_handlers(app)
    # The app's own objects — modules, models, SQLAlchemy's metadata, templates: some 130,000 — live as long as
    # the process: leave them out of every full garbage collection, which otherwise walks them all (40–90 ms,
    # once every few dozen RMS batches: P6's slowest batches) and, in a forked worker, touches every page.
    gc.freeze()
    return app


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def _error_handlers(app: Flask) -> None:
    """Errors outside any view: an unknown path, a wrong method, a body too large, a NUL in the query or a
    form, and the unexpected. Under /api in the API's envelope (api.md), never the login page."""
    from .api.errors import error_response, http_error_response, lang

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if is_api_request():
            return http_error_response(exc)
        return exc

    @app.errorhandler(InternalServerError)
    def _internal_error(exc: InternalServerError):
        rid = request_id()
        if is_api_request():
            return error_response("internal_error", 500, (
                f"予期しないエラーが発生しました（request id: {rid}）。" if lang() == "ja"
                else f"An unexpected error occurred (request id: {rid})."), headers={"X-Request-Id": rid})
        return render_template("errors/message.html", title="500", message=gettext(
            "予期しないエラーが発生しました。お手数ですが、この番号を添えて管理者にお知らせください: %(rid)s", rid=rid)), 500

    @app.before_request
    def _refuse_nul():
        """A NUL byte in a page's query string or form reaches no view (no database stores it): 422 naming
        each field. The API reads its query and body field by field (api/validation.py) and says the same."""
        if is_api_request():
            return None
        fields = [name for source in (request.args, request.form) for name, values in source.lists()
                  if "\x00" in name or any("\x00" in value for value in values)]
        if not fields:
            return None
        from .api.validation import printable_name
        names = "、".join(printable_name(name) for name in fields)
        return render_template("errors/message.html", title="422", message=gettext(
            "入力に使えない文字（NUL）が含まれています: %(names)s。取り除いてからもう一度お試しください。", names=names)), 422


def _root():
    return Path(__file__).resolve().parent.parent


def _locale() -> str:
    """Screens are Japanese unless the user picked English (the API reads Accept-Language itself)."""
    return session.get("lang") or "ja"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL lets the web and the worker read while one writes; foreign keys on like PostgreSQL."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
