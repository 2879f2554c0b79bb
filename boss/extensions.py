"""Extension objects, initialised by create_app, and access to Redis and the RQ queue."""
from __future__ import annotations

from flask import current_app
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from redis import Redis
from rq import Queue
from sqlalchemy import MetaData

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def redis_connection(url: str | None = None) -> Redis:
    """A Redis connection with short timeouts, so an outage is noticed rather than waited on."""
    url = url or current_app.config["REDIS_URL"]
    if not url:
        raise RuntimeError("REDIS_URL is not set")
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def get_redis() -> Redis:
    """The app's Redis client, one per app and URL: its pool keeps connections between requests, so a request
    takes one an earlier request opened rather than connecting anew (~1.3 ms). redis-py's pool is thread-safe
    and, in a forked child (an rq work horse), opens connections of the child's own."""
    url = current_app.config["REDIS_URL"]
    clients = current_app.extensions.setdefault("boss_redis", {})
    if url not in clients:
        clients.setdefault(url, redis_connection(url))
    return clients[url]


def get_queue() -> Queue:
    return Queue(current_app.config["BOSS_QUEUE"], connection=get_redis(), default_timeout=600)
