"""The CSV endpoints (csv.md §5): POST /api/v1/imports/orders, POST /api/v1/jobs/{id}/register (a check-only
run registered, csv.md §6), GET /api/v1/jobs/{id}/error-report.csv."""
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
    """The upload's `file` parts as [(stream, name)] (one file, or Yahoo!'s two: csv.md §6; none: []) and the
    form's other fields, read under the CSV routes' own size limit (csv.md §4: CSV_MAX_BYTES per file, two
    files at most); a body past it is refused as a file's own size would be (413 file_too_large, the limit
    named). A `file` part sent without a file name (a plain form field) is the file's text."""
    limit = current_app.config["CSV_MAX_BYTES"]
    request.max_content_length = 2 * limit + MULTIPART_ALLOWANCE
    try:
        uploads, form = request.files.getlist("file"), request.form
    except RequestEntityTooLarge:
        raise files.FileTooLarge(limit) from None
    if uploads:
        return [(upload.stream, upload.filename or "") for upload in uploads], form
    return [(io.BytesIO(text.encode()), "") for text in form.getlist("file") if text], form


@bp.post("/v1/imports/orders")
def imports_orders():
    uploads, form = upload_form()
    job = order_import.start(g.actor, uploads, shop_id=form.get("shop_id"), mode=form.get("mode"),
                             encoding=form.get("encoding"), lang=lang())
    return jsonify({"job_id": job.id}), 202


@bp.post("/v1/jobs/<id>/register")
def jobs_register(id: str):
    """A finished check-only 受注CSV登録 registered from the files it checked: nothing uploaded again."""
    if not re.fullmatch(JOB_ID_PATTERN, id):
        raise not_found("ジョブ", "Job")
    job = order_import.register_checked(g.actor, id, lang=lang())
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
