"""The warehouse connection's endpoints (warehouse.md §1): GET/PATCH /api/v1/warehouse, POST /api/v1/warehouse/sync."""
from __future__ import annotations

from flask import g, jsonify

from ..warehouse import connection
from . import bp
from .errors import admin_required
from .routes import account_id, body

WAREHOUSE_FIELDS = {"api_key", "base_url", "sync_interval_seconds"}


@bp.get("/v1/warehouse")
def warehouse_get():
    return jsonify(connection.warehouse_json(connection.warehouse_for(account_id())))


@bp.patch("/v1/warehouse")
@admin_required
def warehouse_update():
    """Any of the fields; `"api_key": null` disconnects, `"base_url": null` (or blank) means the default."""
    reader = body()
    changes = {}
    if reader.has("api_key"):
        changes["api_key"] = reader.string("api_key", max_len=connection.MAX_KEY_LENGTH, default=None, strip=False)
    if reader.has("base_url"):
        changes["base_url"] = reader.string("base_url", max_len=255, default=None)
    seconds = reader.integer("sync_interval_seconds", minimum=connection.MIN_INTERVAL, maximum=connection.MAX_INTERVAL)
    if seconds is not None:
        changes["sync_interval_seconds"] = seconds
    reader.unknown(WAREHOUSE_FIELDS)
    reader.done()
    return jsonify(connection.warehouse_json(connection.update_warehouse(g.actor, changes)))


@bp.post("/v1/warehouse/sync")
def warehouse_sync():
    """A run reading the events after this request: the queued run if one waits, else a new one."""
    from ..warehouse import sync

    return jsonify({"job_id": sync.request_sync(account_id())}), 202
