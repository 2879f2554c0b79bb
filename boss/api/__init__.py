"""The JSON API v1 (api.md): thin, over the same services as the screens."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import errors, routes, warehouse, returns, imports, mapping_imports, openapi  # noqa: E402,F401  (register handlers and views)
