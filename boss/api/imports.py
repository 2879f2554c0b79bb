"""The CSV endpoints (csv.md §5): POST /api/v1/imports/orders, GET /api/v1/jobs/{id}/error-report.csv."""
from __future__ import annotations

import io
import re

from flask import Response, current_app, g, jsonify, request, stream_with_context
from werkzeug.exceptions import RequestEntityTooLarge

from ..csv import files, order_import
from ..errors import not_found
from ..extensions import db
from ..job_records import get_job
from ..models import StoredFile
from . import bp
from .errors import lang
from .routes import account_id
from .validation import JOB_ID_PATTERN

MULTIPART_ALLOWANCE = 1 << 20  # the form's other fields and boundaries besides the file


def upload_form() -> tuple:
    """The upload's `file` (a stream, or None), its name and the form's other fields, read under the CSV routes'
    own size limit (csv.md §4); a body past it is refused as the file's own size would be (413 file_too_large,
    the limit named). A `file` part sent without a file name (a plain form field) is the file's text."""
    limit = current_app.config["CSV_MAX_BYTES"]
    request.max_content_length = limit + MULTIPART_ALLOWANCE
    try:
        upload, form = request.files.get("file"), request.form
    except RequestEntityTooLarge:
        raise files.FileTooLarge(limit) from None
    if upload is not None:
        return upload.stream, upload.filename or "", form
    if form.get("file"):
        return io.BytesIO(form["file"].encode()), "", form
    return None, "", form


@bp.post("/v1/imports/orders")
def imports_orders():
    stream, name, form = upload_form()
    job = order_import.start(g.actor, stream, name, shop_id=form.get("shop_id"), mode=form.get("mode"),
                             encoding=form.get("encoding"), lang=lang())
    return jsonify({"job_id": job.id}), 202


@bp.get("/v1/jobs/<id>/error-report.csv")
def jobs_error_report(id: str):
    if not re.fullmatch(JOB_ID_PATTERN, id):
        raise not_found("ジョブ", "Job")
    job = get_job(account_id(), id)
    report = db.session.query(StoredFile).filter_by(job_id=job.id, kind="error_report").first()
    if report is None:
        raise not_found("エラーレポート", "Error report")
    return file_response(report)


def file_response(stored: StoredFile, charset: str | None = None) -> Response:
    """A stored CSV streamed to the client chunk by chunk, as a download."""
    content_type = "text/csv" + (f"; charset={charset}" if charset else "")
    response = Response(stream_with_context(files.chunks(stored.id)), content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{stored.name}"'
    response.headers["Content-Length"] = str(stored.size)
    return response
