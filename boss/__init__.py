"""BOSS: an order-management system for Japanese e-commerce shops."""
from __future__ import annotations

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .config import Config
from .extensions import babel, csrf, db, login_manager, migrate


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.from_object(Config())
    if test_config:
        app.config.update(test_config)
        from .config import _engine_options
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
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
    from .malls import reflection  # noqa: F401  (hands reflections to the shops' lanes when they are dispatched)
    from .api import bp as api_bp
    from .cli import register_cli
    from .health import bp as health_bp

    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # bearer tokens, not cookies
    app.register_blueprint(health_bp)
    if app.config["BOSS_SANDBOX"]:
        from .malls.sandbox import bp as rms_sandbox_bp
        app.register_blueprint(rms_sandbox_bp)  # the RMS stand-in, only with BOSS_SANDBOX on
    register_cli(app)
    from .web import register_web
    register_web(app)

    @app.context_processor
    def _url_rules():
        return {"url_rules": app.view_functions}

    @app.errorhandler(404)
    @app.errorhandler(405)
    def _api_not_found(exc):
        """Unknown API paths answer in the API's error envelope too."""
        if request.path.startswith("/api/"):
            from .api.errors import error_response
            code = "not_found" if exc.code == 404 else "bad_request"
            return error_response(code, exc.code, "見つかりません。" if exc.code == 404 else "このメソッドは使えません。")
        return exc

    @app.teardown_appcontext
    def _close_redis(exc):
        from flask import g
        redis = g.pop("redis", None)
        if redis is not None:
            redis.close()

    return app


def _root():
    from pathlib import Path
    return Path(__file__).resolve().parent.parent


def _locale() -> str:
    """Screens are Japanese unless the user picked English (the API reads Accept-Language itself)."""
    from flask import session
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
