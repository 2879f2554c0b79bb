"""The bulk dialogs' frozen selection: the dialog signs what it showed (the ticked orders, or the list's
conditions with the count and digest of the orders they matched) and what it was for into one form field, and
the confirm acts on exactly that — never on conditions worked out again from whatever the form or the session
holds by then."""
from __future__ import annotations

from flask import current_app
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from ..errors import ServiceError
from ..extensions import db
from ..orders import bulk, filters
from ..orders.filters import ListCriteria
from ..orders.models import Order
from ..parsing import whole_number
from ..reason import Reason

MAX_AGE_SECONDS = 2 * 3600
EXPIRED = Reason("この選択は有効期限が切れたか、正しくありません。何も変更していません。一覧で選び直してください。",
                 "This selection has expired or is not valid. Nothing was changed. Select the orders again.")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="bulk-selection")


def criteria_from(form) -> ListCriteria:
    """The list's conditions as its bulk form (or the count link) sends them, each resolved or refused."""
    account_id = current_user.account_id
    shop, tag = (form.get("shop_id") or "").strip(), (form.get("tag") or "").strip()
    return ListCriteria(status=filters.status((form.get("status") or "").strip() or None),
                        shop_id=filters.shop_id(account_id, shop) if shop else None,
                        tag_id=filters.tag_id(account_id, tag) if tag else None)


def from_form(form) -> bulk.Selection:
    """The selection of the order list's bulk form: the ticked rows that are the account's orders (R14), or
    「条件に一致する全件」 of the list as shown."""
    if form.get("all_matching") == "1":
        return bulk.matching_selection(current_user.account_id, criteria_from(form))
    ticked = [i for i in dict.fromkeys(whole_number(v) for v in form.getlist("order_ids")) if i is not None]
    ids = set(db.session.scalars(select(Order.id).where(Order.id.in_(ticked),
                                                        Order.account_id == current_user.account_id))) if ticked else set()
    return bulk.Selection(tuple(i for i in ticked if i in ids))


def freeze(selection: bulk.Selection, purpose: str) -> str:
    """The signed selection for a dialog of `purpose` (a bulk action, or "tag" for 「タグを追加」)."""
    criteria = selection.criteria
    return _serializer().dumps({
        "account": current_user.account_id, "user": current_user.id, "purpose": purpose,
        "criteria": criteria.as_dict() if criteria else None,
        "ids": [] if criteria else list(selection.ids), "count": selection.count, "digest": selection.digest,
    })


def thaw(token: str, purpose: str) -> bulk.Selection:
    """The orders a confirm of `purpose` acts on (bulk.SelectionChanged when the matching orders changed since
    the dialog); a token of another user, another dialog or over two hours old is refused."""
    try:
        data = _serializer().loads(token or "", max_age=MAX_AGE_SECONDS)
    except (BadSignature, SignatureExpired):
        raise ServiceError("validation_error", EXPIRED, {"selection": "expired or not valid"}) from None
    if (data.get("account"), data.get("user"), data.get("purpose")) != (current_user.account_id, current_user.id, purpose):
        raise ServiceError("validation_error", EXPIRED, {"selection": "not this dialog's"})
    criteria = ListCriteria(**data["criteria"]) if data["criteria"] else None
    return bulk.frozen_selection(current_user.account_id, criteria, tuple(data["ids"]), data["count"], data["digest"])
