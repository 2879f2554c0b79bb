"""What the 設定 pages share: their blueprint, the labels, the admin-only guard, the answer with a message."""
from __future__ import annotations

from datetime import date, datetime
from functools import wraps

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from ...models import utcnow
from ...timefmt import to_jst
from ..malls import MALL_LABELS

bp = Blueprint("settings", __name__)

ROLE_LABELS = {"admin": _l("管理者"), "staff": _l("スタッフ")}


def strip(value):
    return value.strip() if isinstance(value, str) else value


class SettingsForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect already refuses every POST without the token (400), before any view runs


@bp.context_processor
def _labels():
    return {"MALL_LABELS": MALL_LABELS, "ROLE_LABELS": ROLE_LABELS}


def admin_only(view):
    """Staff see the settings read-only; an admin-only POST (or form) by staff answers 403 and changes nothing."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            return render_template("settings/forbidden.html"), 403
        return view(*args, **kwargs)

    return wrapper


def with_message(template: str, status: int = 200, message: str = "", category: str = "success", **context):
    """An htmx answer: the changed part of the page plus the message above the content (out of band)."""
    return render_template(template, message=message, category=category, **context), status


def jst_today() -> date:
    return to_jst(utcnow()).date()


@bp.app_template_filter("jst_date")
def jst_date(value: date | datetime | None) -> str:
    """2027/01/31: a calendar date (a license key's expiry)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_jst(value).date()
    return value.strftime("%Y/%m/%d")
