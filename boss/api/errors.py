"""Authentication and the error envelope of api.md."""
from __future__ import annotations

from functools import wraps

from flask import g, jsonify, request
from werkzeug.exceptions import HTTPException

from .. import accounts
from ..errors import ServiceError
from ..orders.actor import Actor
from ..reason import Reason
from ..unit_of_work import read_snapshot
from . import bp

PUBLIC_ENDPOINTS = {"api.openapi_document"}


def lang() -> str:
    return request.accept_languages.best_match(["ja", "en"]) or "ja"


def error_response(code: str, status: int, message: str, fields: dict | None = None, headers: dict | None = None):
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    response.headers.extend(headers or {})
    return response


def service_error_response(exc: ServiceError):
    return error_response(exc.code, exc.status, exc.message(lang()), exc.fields or None)


def refuse(code: str, ja: str, en: str):
    return ServiceError(code, Reason(ja, en))


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError):
    return service_error_response(exc)


HTTP_ERRORS = {  # werkzeug's errors as api.md's codes, each with its message
    400: ("bad_request", Reason("リクエストが正しくありません。", "The request is not valid.")),
    401: ("unauthorized", Reason("APIトークンがないか無効です。", "The API token is missing or invalid.")),
    403: ("forbidden", Reason("この操作は許可されていません。", "This is not allowed.")),
    404: ("not_found", Reason("見つかりません。", "Not found.")),
    405: ("method_not_allowed", Reason("このパスはこのメソッドを受け付けません。", "This path does not take this method.")),
    413: ("payload_too_large", Reason("リクエスト本文が大きすぎます（1 MBまで）。", "The request body is too large (1 MB at most).")),
    415: ("bad_request", Reason("リクエスト本文がJSONではありません。", "The request body is not JSON.")),
}


def http_error_response(exc: HTTPException):
    """A werkzeug error (routing, size, …) in the API's envelope: 405 with Allow, 401 with WWW-Authenticate."""
    status = exc.code or 500
    code, reason = HTTP_ERRORS.get(status, ("bad_request", Reason("リクエストが正しくありません。", "The request is not valid.")))
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(sorted(set(exc.valid_methods) | {"OPTIONS"}))
    return error_response(code, status, reason.text(lang()), headers=headers)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return http_error_response(exc)


# GETs whose orders are read by one statement, which reads from one moment by itself: no snapshot transaction to
# open (on PostgreSQL a rollback, a connection check and a BEGIN more). What else they read (the warehouse
# connection's state) is no part of an order's version.
ONE_STATEMENT_READS = {"api.orders_list"}


@bp.before_request
def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    user = accounts.token_user(token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        return error_response("unauthorized", 401, "APIトークンがないか無効です。" if lang() == "ja"
                              else "The API token is missing or invalid.")
    g.api_user = user
    g.actor = Actor("token", f"{user.email}（API）", user.account_id, user.id)
    # An answer read from one moment of the database (an order's version and its shipment and tags alike).
    if request.method in ("GET", "HEAD") and request.endpoint not in ONE_STATEMENT_READS:
        read_snapshot()
    return None


def admin_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not g.api_user.is_admin:
            raise refuse("forbidden", "この操作は管理者のみ行えます。", "Only an admin may do this.")
        return view(*args, **kwargs)

    return wrapper
