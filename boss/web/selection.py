"""The bulk dialogs' frozen selection: the dialog signs what it showed (the ticked ids, or the list's conditions
with the count and digest of the orders they matched) into one form field, and the confirm acts on exactly
that — never on the conditions worked out again from whatever the form or the session holds by then."""
from __future__ import annotations

from flask import current_app
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import ServiceError
from ..orders import bulk
from ..orders.filters import ListCriteria
from ..orders.rules import Reason
from ..orders.services import valid_id

MAX_AGE_SECONDS = 2 * 3600
EXPIRED = Reason("この選択は有効期限が切れたか、正しくありません。何も変更していません。一覧で選び直してください。",
                 "This selection has expired or is not valid. Nothing was changed. Select the orders again.")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="bulk-selection")


def from_form(form) -> bulk.Selection:
    """The selection of the order list's bulk form: the ticked rows, or 「条件に一致する全件」 of the list as shown."""
    if form.get("all_matching") == "1":
        return bulk.matching_selection(current_user.account_id, ListCriteria.from_form(current_user.account_id, form))
    ids = [int(v) for v in form.getlist("order_ids") if v.isdigit() and valid_id(int(v))]
    return bulk.Selection(tuple(dict.fromkeys(ids)))


def freeze(selection: bulk.Selection) -> str:
    criteria = selection.criteria
    return _serializer().dumps({
        "account": current_user.account_id, "user": current_user.id,
        "criteria": criteria.as_dict() if criteria else None,
        "ids": [] if criteria else list(selection.ids), "count": selection.count, "digest": selection.digest,
    })


def thaw(token: str) -> bulk.Selection:
    """The orders a confirm acts on (bulk.SelectionChanged when the matching orders changed since the dialog)."""
    try:
        data = _serializer().loads(token or "", max_age=MAX_AGE_SECONDS)
    except (BadSignature, SignatureExpired):
        raise ServiceError("validation_error", EXPIRED, {"selection": "expired or not valid"}) from None
    if data.get("account") != current_user.account_id or data.get("user") != current_user.id:
        raise ServiceError("validation_error", EXPIRED, {"selection": "not this user's"})
    criteria = ListCriteria(**data["criteria"]) if data["criteria"] else None
    return bulk.frozen_selection(current_user.account_id, criteria, tuple(data["ids"]), data["count"], data["digest"])

