"""設定: ショップ, ユーザー and APIトークン of the signed-in user's account.

Everyone sees the account's shops and users; only admins change them (api.md: admin may create and
change shops, users and other users' tokens). Every user manages their own API tokens. Objects are
looked up through the account, so another account's id answers 404 (R14).
"""
from __future__ import annotations

from datetime import date, datetime
from functools import wraps

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, Regexp

from .. import accounts
from ..errors import ServiceError
from ..extensions import db
from ..models import MALLS, ROLES, ApiToken, Shop, User, utcnow
from ..orders import services
from ..timefmt import to_jst
from .common import account_shops, current_actor, is_htmx, lang, page_or_fragment

bp = Blueprint("settings", __name__)

MALL_LABELS = {"rakuten": _l("楽天市場"), "yahoo": _l("Yahoo!ショッピング"), "amazon": "Amazon", "makeshop": "MakeShop",
               "qoo10": "Qoo10", "shopify": "Shopify", "other": _l("その他")}
ROLE_LABELS = {"admin": _l("管理者"), "staff": _l("スタッフ")}
LICENSE_WARN_DAYS = 30


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class SettingsForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect already refuses every POST without the token (400), before any view runs


class ShopForm(SettingsForm):
    name = StringField(_l("ショップ名"), filters=[_strip], validators=[
        DataRequired(_l("ショップ名を入力してください。")), Length(max=120, message=_l("120文字以内で入力してください。"))])
    auto_confirm = BooleanField(_l("自動確認"))
    reflect_cancel_to_rms = BooleanField(_l("注文キャンセルをRMS注文情報へ反映"))


class NewShopForm(ShopForm):
    mall = StringField(_l("モール"), validators=[AnyOf(MALLS, message=_l("モールを選んでください。"))])


class NewUserForm(SettingsForm):
    email = EmailField(_l("メールアドレス"), filters=[_strip], validators=[
        DataRequired(_l("メールアドレスを入力してください。")), Length(max=254, message=_l("254文字以内で入力してください。")),
        Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("メールアドレスの形式で入力してください。"))])
    name = StringField(_l("名前"), filters=[_strip], validators=[
        Optional(), Length(max=120, message=_l("120文字以内で入力してください。"))])
    password = PasswordField(_l("パスワード"), validators=[
        DataRequired(_l("パスワードを入力してください。")),
        Length(min=8, max=200, message=_l("パスワードは8文字以上（200文字以内）にしてください。"))])
    role = StringField(_l("権限"), default="staff",
                       validators=[AnyOf(ROLES, message=_l("管理者またはスタッフを選んでください。"))])


class TokenForm(SettingsForm):
    name = StringField(_l("名前"), filters=[_strip], validators=[
        DataRequired(_l("用途がわかる名前を入力してください。")), Length(max=120, message=_l("120文字以内で入力してください。"))])


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


def _or_404(lookup, *args):
    try:
        return lookup(current_user.account_id, *args)
    except ServiceError:
        abort(404)


def _message(template: str, status: int = 200, message: str = "", category: str = "success", **context):
    """An htmx answer: the changed part of the page plus the message above the content (out of band)."""
    response = make_response(render_template(template, message=message, category=category, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response


def _jst_today() -> date:
    return to_jst(utcnow()).date()


def license_state(shop: Shop) -> tuple[str, int] | None:
    """('expired' | 'soon' | 'ok', days left) for a shop whose RMS license key has an expiry date."""
    if shop.rms_license_key_expires_on is None:
        return None
    days = (shop.rms_license_key_expires_on - _jst_today()).days
    return ("expired" if days < 0 else "soon" if days <= LICENSE_WARN_DAYS else "ok"), days


# ---------------------------------------------------------------- ショップ

def _shops_page(new_form: NewShopForm | None = None, status: int = 200):
    return page_or_fragment("settings/index.html", "settings/_shops.html", http_status=status, shops=account_shops(),
                            new_form=new_form or NewShopForm(formdata=None), license_state=license_state,
                            section="shops")


@bp.get("/settings")
def index():
    return _shops_page()


@bp.post("/settings/shops")
@admin_only
def create_shop():
    form = NewShopForm()
    if form.validate():
        try:
            shop = services.create_shop(current_actor(), form.name.data, form.mall.data, form.auto_confirm.data,
                                        form.reflect_cancel_to_rms.data)
        except ServiceError as exc:
            db.session.rollback()
            form.name.errors.append(exc.message(lang()))
        else:
            flash(_("ショップ「%(name)s」を追加しました。", name=shop.name), "success")
            return redirect(url_for("settings.index", _anchor=f"shop-{shop.id}"), code=303)
    return _shops_page(form, status=422)


@bp.get("/settings/shops/<int:shop_id>/edit")
@admin_only
def edit_shop(shop_id: int):
    shop = _or_404(services.get_shop, shop_id)
    form = ShopForm(formdata=None, obj=shop)
    return _shop_form(shop, form)


def _shop_form(shop: Shop, form: ShopForm, status: int = 200):
    """The edit form: a dialog over the shop table (htmx), or a page of its own."""
    response = page_or_fragment("settings/shop_edit.html", "settings/_shop_dialog.html", http_status=status, shop=shop,
                                form=form, in_dialog=is_htmx(), section="shops")
    if status != 200 and is_htmx():  # the form was posted from the dialog: show the errors there
        response.headers["HX-Retarget"] = "#dialog"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


@bp.post("/settings/shops/<int:shop_id>")
@admin_only
def update_shop(shop_id: int):
    shop = _or_404(services.get_shop, shop_id)
    form = ShopForm()
    if not form.validate():
        return _shop_form(shop, form, status=422)
    changes = {"name": form.name.data, "auto_confirm": form.auto_confirm.data}
    if shop.mall == "rakuten":  # the switch is shown (and meant) for Rakuten shops only
        changes["reflect_cancel_to_rms"] = form.reflect_cancel_to_rms.data
    reflect_before = shop.reflect_cancel_to_rms
    try:
        shop = services.update_shop(current_actor(), shop_id, changes)
    except ServiceError as exc:
        db.session.rollback()
        form.name.errors.append(exc.message(lang()))
        return _shop_form(shop, form, status=exc.status)
    message = _("ショップ「%(name)s」の設定を保存しました。", name=shop.name)
    if shop.reflect_cancel_to_rms != reflect_before:
        message += " " + (_("次のキャンセルから楽天RMSへ反映します。") if shop.reflect_cancel_to_rms
                          else _("次のキャンセルから楽天RMSへは反映しません。")) + " " + _("これまでのキャンセルは変わりません。")
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("settings.index", _anchor=f"shop-{shop.id}"), code=303)
    return _message("settings/_shop_result.html", message=message, shop=shop, license_state=license_state)


# ---------------------------------------------------------------- ユーザー

def _account_users() -> list[User]:
    return list(db.session.scalars(select(User).where(User.account_id == current_user.account_id)
                                   .order_by(User.role, User.id)))


def _users_page(new_form: NewUserForm | None = None, status: int = 200):
    return page_or_fragment("settings/users.html", "settings/_users.html", http_status=status, users=_account_users(),
                            new_form=new_form or NewUserForm(formdata=None), now=utcnow(), section="users")


@bp.get("/settings/users")
def users():
    return _users_page()


@bp.post("/settings/users")
@admin_only
def create_user():
    form = NewUserForm()
    if form.validate():
        try:
            user = accounts.create_user(form.email.data, form.password.data, current_user.account.name,
                                        admin=form.role.data == "admin", name=form.name.data or "")
        except ServiceError as exc:
            db.session.rollback()
            field = form.password if exc.code == "validation_error" else form.email
            field.errors.append(exc.message(lang()))
        else:
            flash(_("ユーザー「%(name)s」（%(email)s）を追加しました。", name=user.name, email=user.email), "success")
            return redirect(url_for("settings.users", _anchor=f"user-{user.id}"), code=303)
    return _users_page(form, status=422)


def _user_action(user_id: int, action, done):
    """Change one user; answer their row with a message (htmx) or go back to the list."""
    _or_404(accounts.account_user, user_id)
    try:
        user = action()
        message, category, status = done(user), "success", 200
    except ServiceError as exc:
        db.session.rollback()
        user = accounts.account_user(current_user.account_id, user_id)
        message, category, status = exc.message(lang()), "error", exc.status
    if not is_htmx():
        flash(message, category)
        return redirect(url_for("settings.users", _anchor=f"user-{user.id}"), code=303)
    return _message("settings/_user_result.html", status=status, message=message, category=category, user=user,
                    now=utcnow())


@bp.post("/settings/users/<int:user_id>/role")
@admin_only
def change_role(user_id: int):
    role = request.form.get("role", "")
    return _user_action(user_id, lambda: accounts.change_role(current_actor(), user_id, role),
                        lambda user: _("%(name)sさんの権限を「%(role)s」に変更しました。",
                                       name=user.name, role=ROLE_LABELS[user.role]))


@bp.post("/settings/users/<int:user_id>/active")
@admin_only
def set_active(user_id: int):
    active = request.form.get("active") == "1"
    return _user_action(user_id, lambda: accounts.set_active(current_actor(), user_id, active),
                        lambda user: _("%(name)sさんを有効に戻しました。", name=user.name) if user.active else
                        _("%(name)sさんを無効にしました。ログインもAPIトークンも使えなくなります。", name=user.name))


# ---------------------------------------------------------------- APIトークン

def _token_lists() -> tuple[list[ApiToken], list[ApiToken]]:
    """My tokens, and (for an admin) the other users' tokens of the account; newest first, revoked last."""
    order = (ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())
    mine = list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(*order)))
    others = []
    if current_user.is_admin:
        others = list(db.session.scalars(
            select(ApiToken).join(User).where(User.account_id == current_user.account_id, User.id != current_user.id)
            .order_by(User.id, *order)))
    return mine, others


def _token_owners() -> list[User]:
    """Whom an admin may make a token for: the account's active users, themselves first."""
    users = [u for u in _account_users() if u.active]
    return sorted(users, key=lambda u: (u.id != current_user.id, u.id))


def _tokens_page(form: TokenForm | None = None, status: int = 200, created: dict | None = None):
    mine, others = _token_lists()
    response = page_or_fragment("settings/tokens.html", "settings/_tokens.html", http_status=status, mine=mine,
                                others=others, form=form or TokenForm(formdata=None), created=created,
                                owners=_token_owners() if current_user.is_admin else [],
                                chosen_owner=request.form.get("user_id", ""), section="tokens")
    if created:  # the token itself is in this answer: no cache may keep it
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/settings/tokens")
def tokens():
    return _tokens_page()


@bp.post("/settings/tokens")
def create_token():
    chosen = request.form.get("user_id", "")
    owner_id = current_user.id
    if chosen and chosen != str(current_user.id):
        if not current_user.is_admin:  # only admins make tokens for others
            return render_template("settings/forbidden.html"), 403
        owner_id = int(chosen) if chosen.isdigit() else None
    form = TokenForm()
    if not form.validate():
        return _tokens_page(form, status=422)
    try:
        record, token = accounts.create_token_for(current_actor(), owner_id, form.name.data)
    except ServiceError as exc:
        db.session.rollback()
        if exc.code == "not_found":
            abort(404)
        form.name.errors.append(exc.message(lang()))
        return _tokens_page(form, status=422)
    return _tokens_page(status=201, created={"token": token, "record": record, "owner": record.user})


@bp.post("/settings/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    _or_404(accounts.account_token, token_id)
    try:
        token = accounts.revoke_token(current_actor(), token_id)
    except ServiceError as exc:
        db.session.rollback()
        if exc.code == "forbidden":
            return render_template("settings/forbidden.html"), 403
        raise
    message = _("APIトークン「%(name)s」（末尾 %(last4)s）を失効させました。このトークンでのAPI呼び出しは401になります。",
                name=token.name, last4=token.last4)
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("settings.tokens"), code=303)
    return _message("settings/_token_result.html", message=message, token=token,
                    show_owner=token.user_id != current_user.id)


@bp.app_template_filter("jst_date")
def jst_date(value: date | datetime | None) -> str:
    """2027/01/31: a calendar date (a license key's expiry)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_jst(value).date()
    return value.strftime("%Y/%m/%d")
