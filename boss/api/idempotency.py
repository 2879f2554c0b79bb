"""`Idempotency-Key`: a repeat of the same key by the same account within 24 hours returns the first
answer and does nothing again. The key is reserved (committed) before the work, so two concurrent
repeats cannot both do it."""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from functools import wraps

from flask import current_app, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..errors import ServiceError
from ..extensions import db
from ..models import IdempotencyRecord, utcnow
from ..unit_of_work import UnitOfWork, unit_of_work
from .errors import refuse, service_error_response


def idempotent(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        key = key.strip()
        if not key or len(key) > 255 or "\x00" in key:
            raise refuse("validation_error", "Idempotency-Key は1〜255文字（NUL文字なし）で指定してください。",
                         "Idempotency-Key must be 1 to 255 characters, without NUL.")
        fingerprint = _fingerprint()
        record, fresh = _reserve(g.actor.account_id, key, fingerprint)
        if not fresh:
            return _replay(record, fingerprint)
        try:
            response = view(*args, **kwargs)
        except ServiceError as exc:
            response = service_error_response(exc)
        except Exception:
            _forget(record)
            raise
        body, status = _unpack(response)
        with unit_of_work() as uow:
            record = db.session.merge(record)
            record.status_code, record.body = status, body
            uow.commit()
        return jsonify(body), status

    return wrapper


def _fingerprint() -> str:
    """The request as its meaning: a JSON body by its parsed value (key order and spacing do not make a repeat
    a different request), anything else by its bytes."""
    data = request.get_json(silent=True)
    body = request.get_data() if data is None else json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(f"{request.method} {request.path}\n".encode() + body).hexdigest()


def _unpack(response):
    if isinstance(response, tuple):
        resp, status = response[0], response[1]
    else:
        resp, status = response, response.status_code
    return resp.get_json(), status


def _reserve(account_id: int, key: str, fingerprint: str) -> tuple[IdempotencyRecord, bool]:
    """The record for this key, and whether this request has just reserved it."""
    ttl = timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])
    existing = _find(account_id, key)
    if existing is not None and existing.created_at < utcnow() - ttl:
        _forget(existing)
        existing = None
    if existing is not None:
        return existing, False
    record = IdempotencyRecord(account_id=account_id, key=key, request_fingerprint=fingerprint)
    try:
        with unit_of_work() as uow:
            db.session.add(record)
            uow.commit()
    except IntegrityError:  # a concurrent repeat reserved it first
        return _find(account_id, key), False
    return record, True


def _forget(record: IdempotencyRecord) -> None:
    """The key is free again: its request failed unexpectedly (whatever it left undone is rolled back), or it
    has expired."""
    UnitOfWork.rollback()
    with unit_of_work() as uow:
        db.session.delete(db.session.merge(record))
        uow.commit()


def _find(account_id: int, key: str):
    return db.session.scalars(select(IdempotencyRecord).where(
        IdempotencyRecord.account_id == account_id, IdempotencyRecord.key == key)).first()


def _replay(record: IdempotencyRecord, fingerprint: str):
    if record.request_fingerprint != fingerprint:
        raise refuse("validation_error", "この Idempotency-Key は別のリクエストで使われています。",
                     "This Idempotency-Key was used for a different request.")
    if record.status_code is None:
        raise refuse("conflict", "同じ Idempotency-Key のリクエストを処理中です。しばらくしてから再度お試しください。",
                     "A request with this Idempotency-Key is still being processed. Try again shortly.")
    response = jsonify(record.body)
    response.headers["Idempotent-Replayed"] = "true"
    return response, record.status_code
