"""The CSV upload screens' own body limit (csv.md §4): CSV_MAX_BYTES, not the 1 MB of other requests.

Hooks that run before any view read the form (CSRF, the NUL check), and would read it under the 1 MB limit. A view
marked `@csv_upload(too_large)` has its body read first, here, under CSV_MAX_BYTES; past it, `too_large(limit)`
answers instead of the view (the form, saying the limit). The API reads its uploads in its views (no such hooks)."""
from __future__ import annotations

from typing import Callable

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

FORM_FIELDS_BYTES = 64 * 1024  # the multipart body's room besides the file: its other fields and boundaries


def csv_upload(too_large: Callable[[int], object]):
    def mark(view):
        view.csv_too_large = too_large
        return view
    return mark


def init_upload_limit(app: Flask) -> None:
    """Register the hook; before CSRFProtect's, so that it is the first to read the body."""

    @app.before_request
    def _csv_upload_limit():
        too_large = getattr(app.view_functions.get(request.endpoint), "csv_too_large", None)
        if too_large is None or request.method != "POST":
            return None
        limit = app.config["CSV_MAX_BYTES"]
        request.max_content_length = limit + FORM_FIELDS_BYTES
        try:
            request.form
        except RequestEntityTooLarge:
            return too_large(limit)
        return None
