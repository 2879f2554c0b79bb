"""The returns' endpoints (warehouse.md §4 Return): GET /api/v1/returns, GET /api/v1/returns/{id},
POST /api/v1/returns/{id}/inspection."""
from __future__ import annotations

from flask import g, jsonify, request

from ..orders import shipping_rules as sr
from ..parsing import MAX_ID
from ..warehouse import returns
from . import bp
from .routes import account_id, body
from .serialize import return_json
from .validation import Reader

MAX_INSPECTION_LINES = 200


@bp.get("/v1/returns")
def returns_list():
    """The account's returns, newest first (keyset on the return id), of one status or all."""
    reader = Reader(request.args.to_dict(), from_query=True)
    status = reader.string("status", default=None, choices=tuple(sr.RETURN_LABELS))
    limit = reader.integer("limit", minimum=1, maximum=200, default=50)
    before = reader.integer("cursor", minimum=0, maximum=MAX_ID)
    reader.done()
    items, next_cursor = returns.list_returns(account_id(), status, limit, before)
    return jsonify({"items": [return_json(r) for r in items],
                    "next_cursor": str(next_cursor) if next_cursor is not None else None})


@bp.get("/v1/returns/<int:id>")
def returns_get(id: int):
    return jsonify(return_json(returns.get(account_id(), id)))


@bp.post("/v1/returns/<int:id>/inspection")
def returns_inspect(id: int):
    """A user's inspection: per SKU returned and sellable (a SKU not given: nothing came back of it)."""
    returns.get(account_id(), id)  # another account's return is not found before its body is read
    reader = body()
    reported = []
    for index, raw in enumerate(reader.array("lines", required=True, max_items=MAX_INSPECTION_LINES)):
        item = reader.item("lines", index, raw)
        sku = item.string("sku", required=True, max_len=64)
        returned = item.integer("returned", required=True, minimum=0, maximum=returns.MAX_QUANTITY)
        sellable = item.integer("sellable", required=True, minimum=0, maximum=returns.MAX_QUANTITY)
        item.unknown({"sku", "returned", "sellable"})
        reported.append(returns.Reported(sku, returned, sellable))
    reader.unknown({"lines"})
    reader.done()
    return jsonify(return_json(returns.inspect(g.actor, id, reported)))
