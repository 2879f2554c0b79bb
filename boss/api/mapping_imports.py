"""商品マッピングCSV over the API (csv.md §5): POST /api/v1/imports/mappings, multipart `file` and `encoding`."""
from __future__ import annotations

from flask import g, jsonify

from ..csv import mapping_import
from . import bp
from .errors import lang
from .imports import upload_form


@bp.post("/v1/imports/mappings")
def imports_mappings():
    stream, name, form = upload_form()
    job = mapping_import.start(g.actor, stream, name, form.get("encoding") or "auto", lang())
    return jsonify({"job_id": job.id}), 202
