"""商品マッピングCSV over the API (csv.md §5): POST /api/v1/imports/mappings, multipart `file` and `encoding`."""
from __future__ import annotations

from flask import current_app, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..csv import mapping_import
from ..csv.files import FileTooLarge
from ..errors import ServiceError
from ..reason import Reason
from . import bp
from .errors import lang

MULTIPART_ALLOWANCE = 64 * 1024  # the form's boundaries and other fields, over the file's own limit


def upload_form():
    """The request's `file` under CSV_MAX_BYTES (not the 1 MB of JSON bodies): over it, 413 file_too_large."""
    limit = current_app.config["CSV_MAX_BYTES"]
    request.max_content_length = limit + MULTIPART_ALLOWANCE
    try:
        upload = request.files.get("file")
        form = request.form
    except RequestEntityTooLarge:
        raise FileTooLarge(limit) from None
    if upload is None:
        reason = Reason("CSVファイル（file）を選んでください。", "Send the CSV file as `file`.")
        raise ServiceError("validation_error", reason, {"file": reason.text(lang())})
    return upload, form


@bp.post("/v1/imports/mappings")
def imports_mappings():
    upload, form = upload_form()
    encoding = form.get("encoding") or "auto"
    job = mapping_import.start(g.actor, upload.stream, upload.filename or "mappings.csv", encoding, lang())
    return jsonify({"job_id": job.id}), 202
