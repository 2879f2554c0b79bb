"""商品マッピングCSV over the API (csv.md §5): POST /api/v1/imports/mappings, multipart `file` and `encoding`."""
from __future__ import annotations

from flask import g, jsonify

from ..csv import mapping_import
from ..errors import ServiceError
from ..reason import Reason
from . import bp
from .errors import lang
from .imports import upload_form

REASON_ONE_FILE = Reason("商品マッピングCSVは1ファイルずつアップロードしてください。", "Upload one mapping CSV file at a time.")


@bp.post("/v1/imports/mappings")
def imports_mappings():
    uploads, form = upload_form()
    if len(uploads) > 1:
        raise ServiceError("validation_error", REASON_ONE_FILE, {"file": REASON_ONE_FILE.text(lang())})
    stream, name = uploads[0] if uploads else (None, "")
    job = mapping_import.start(g.actor, stream, name, form.get("encoding") or "auto", lang())
    return jsonify({"job_id": job.id}), 202
