"""GET /healthz: database, Redis and whether a worker has been seen lately."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from redis.exceptions import RedisError
from rq import Worker
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db, get_queue, get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    answer = {"database": "ok", "redis": "ok", "worker": "stale"}
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        answer["database"] = f"error: {exc.__class__.__name__}"
    try:
        redis = get_redis()
        redis.ping()
        workers = Worker.all(queue=get_queue())
        if workers:
            answer["worker"] = "ok"
    except (RedisError, RuntimeError) as exc:
        answer["redis"] = f"error: {exc.__class__.__name__}"
    healthy = answer["database"] == "ok" and answer["redis"] == "ok"
    current_app.logger.debug("healthz %s", answer)
    return jsonify(answer), 200 if healthy else 503
