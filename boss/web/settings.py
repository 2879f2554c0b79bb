"""設定: ショップ, ユーザー and APIトークン of the signed-in user's account.

Everyone sees the account's shops and users; only admins change them (api.md: admin may create and
change shops, users and other users' tokens). Every user manages their own API tokens. Objects are
looked up through the account, so another account's id answers 404 (R14).
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from functools import wraps

from flask import (Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, Regexp, ValidationError

from .. import accounts
from ..errors import ServiceError
from ..extensions import db
from ..malls import connection
from ..models import MALLS, ROLES, ApiToken, JobRecord, Shop, User, utcnow
from ..orders import services
from ..parsing import whole_number
from ..timefmt import to_jst
from .auth import SESSION_KEY
from .common import LICENSE_WARN_DAYS, account_shops, current_actor, is_htmx, lang, license_state, page_or_fragment

bp = Blueprint("settings", __name__)

MALL_LABELS = {"rakuten": _l("楽天市場"), "yahoo": _l("Yahoo!ショッピング"), "amazon": "Amazon", "makeshop": "MakeShop",
               "qoo10": "Qoo10", "shopify": "Shopify", "other": _l("その他")}
ROLE_LABELS = {"admin": _l("管理者"), "staff": _l("スタッフ")}
INVENTORY_RESTORE_LABELS = {0: _l("商品の設定に従う"), 1: _l("在庫を戻す"), 2: _l("在庫を戻さない")}
LICENSE_KEY_DAYS = 90  # a Rakuten licenseKey is valid for 90 days from its issue


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


def _nfkc(value):
    """Full-width digits and letters as typed with a Japanese IME become half-width; outer spaces go."""
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


class WholeNumber:
    """A whole number from low to high, with one Japanese message for anything else."""

    def __init__(self, low: int, high: int, message):
        self.low, self.high, self.message = low, high, message

    def __call__(self, form, field):
        text = field.data or ""
        if not re.fullmatch(r"[0-9]{1,6}", text) or not self.low <= int(text) <= self.high:
            raise ValidationError(self.message)


def _parse_date(text: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    return None


RMS_KEY_CHARS = Regexp(r"^[\x21-\x7e]*$", message=_l("半角の英数字と記号で入力してください（空白は使えません）。"))


class RakutenShopForm(ShopForm):
    """A Rakuten shop also has its RMS API connection (rakuten-rms.md) and the import settings."""

    rms_service_secret = PasswordField("serviceSecret", filters=[_nfkc], validators=[
        Length(max=255, message=_l("255文字以内で入力してください。")), RMS_KEY_CHARS])
    rms_license_key = PasswordField("licenseKey", filters=[_nfkc], validators=[
        Length(max=255, message=_l("255文字以内で入力してください。")), RMS_KEY_CHARS])
    rms_license_key_expires_on = StringField(_l("licenseKeyの有効期限"), filters=[_nfkc])
    rms_base_url = StringField(_l("接続先URL"), filters=[_nfkc], validators=[
        Length(max=255, message=_l("255文字以内で入力してください。"))])
    import_interval_minutes = StringField(_l("自動取込の間隔（分）"), filters=[_nfkc], default="10", validators=[
        DataRequired(_l("取込の間隔を分で入力してください。")),
        WholeNumber(1, 1440, _l("1〜1440（分）の整数で入力してください。"))])
    initial_lookback_days = StringField(_l("初回取込の対象期間（日）"), filters=[_nfkc], default="30", validators=[
        DataRequired(_l("日数を入力してください。")), WholeNumber(1, 730, _l("1〜730（日）の整数で入力してください。"))])
    inventory_restore_type = StringField("inventoryRestoreType", default="0", validators=[
        AnyOf(("0", "1", "2"), message=_l("在庫の扱いを選んでください。"))])

    @classmethod
    def for_shop(cls, shop: Shop) -> "RakutenShopForm":
        """The form filled from the shop; the credentials are never filled in (nor shown)."""
        form = cls(formdata=None, obj=shop)
        form.rms_license_key_expires_on.data = (shop.rms_license_key_expires_on.isoformat()
                                                if shop.rms_license_key_expires_on else "")
        form.rms_base_url.data = _shown_base_url(shop)
        form.import_interval_minutes.data = str(shop.rms_import_interval_minutes)
        form.initial_lookback_days.data = str(shop.rms_initial_lookback_days)
        form.inventory_restore_type.data = str(shop.rms_inventory_restore_type)
        return form

    def validate_rms_license_key_expires_on(self, field):
        if field.data and _parse_date(field.data) is None:
            raise ValidationError(_("日付を「2027-01-31」の形で入力してください。"))

    def rms_changes(self, shop: Shop) -> dict | None:
        """The `rms` dict for services.update_shop, or None when the stored credentials stay. Adds field
        errors (and answers None) when the input cannot be saved as it is."""
        secret, key = self.rms_service_secret.data or "", self.rms_license_key.data or ""
        expires_text, base_url = self.rms_license_key_expires_on.data or "", self.rms_base_url.data or ""
        expires_on = _parse_date(expires_text) if expires_text else None
        if bool(secret) != bool(key):
            missing = self.rms_license_key if secret else self.rms_service_secret
            missing.errors.append(_("serviceSecretとlicenseKeyは2つそろえて入力してください（登録済みの値を残すときは両方とも空欄にします）。"))
            return None
        if not secret:  # the stored pair stays; its expiry and URL belong to it
            stored_expiry = shop.rms_license_key_expires_on
            if expires_on != stored_expiry:
                self.rms_license_key_expires_on.errors.append(
                    _("有効期限を変えるときは、そのlicenseKeyとserviceSecretも入力してください。") if shop.rms_connected else
                    _("有効期限はserviceSecretとlicenseKeyといっしょに登録します。"))
            if base_url.rstrip("/") != _shown_base_url(shop).rstrip("/"):
                self.rms_base_url.errors.append(
                    _("接続先URLを変えるときは、serviceSecretとlicenseKeyも入力してください。") if shop.rms_connected else
                    _("接続先URLはserviceSecretとlicenseKeyといっしょに登録します。"))
            return None
        if expires_on is not None and expires_on < _jst_today():
            self.rms_license_key_expires_on.errors.append(_("有効期限が過ぎた日付です。新しいlicenseKeyの有効期限を入力してください。"))
            return None
        return {"service_secret": secret, "license_key": key, "license_key_expires_on": expires_on,
                "base_url": base_url or None}


def _shown_base_url(shop: Shop) -> str:
    """The base URL field shows a URL only when it is not the default (blank = the default)."""
    if not shop.rms_base_url or shop.rms_base_url == connection.default_base_url():
        return ""
    return shop.rms_base_url


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


class PasswordForm(SettingsForm):
    current_password = PasswordField(_l("現在のパスワード"), validators=[
        DataRequired(_l("現在のパスワードを入力してください。")), Length(max=200, message=_l("200文字以内で入力してください。"))])
    new_password = PasswordField(_l("新しいパスワード"), validators=[
        DataRequired(_l("新しいパスワードを入力してください。")),
        Length(min=8, max=200, message=_l("パスワードは8文字以上（200文字以内）にしてください。"))])
    confirm_password = PasswordField(_l("新しいパスワード（確認）"), validators=[
        DataRequired(_l("確認のため、新しいパスワードをもう一度入力してください。"))])


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


# ---------------------------------------------------------------- ショップ

def _running_imports() -> dict[int, JobRecord]:
    """The account's imports that are queued or running, by shop (one query; one at a time per shop)."""
    jobs = db.session.scalars(select(JobRecord).where(
        JobRecord.account_id == current_user.account_id, JobRecord.kind == "import",
        JobRecord.state.in_(("queued", "started"))))
    return {job.shop_id: job for job in jobs}


def _row_context(**more) -> dict:
    """What a shop's rows need, also when they are rendered from another blueprint (GET /jobs/<id>/progress)."""
    return {"MALL_LABELS": MALL_LABELS, "license_state": license_state, "LICENSE_WARN_DAYS": LICENSE_WARN_DAYS,
            **more}


def _shops_page(new_form: NewShopForm | None = None, status: int = 200):
    return page_or_fragment("settings/index.html", "settings/_shops.html", http_status=status, shops=account_shops(),
                            new_form=new_form or NewShopForm(formdata=None), section="shops",
                            **_row_context(imports=_running_imports()))


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
    form = RakutenShopForm.for_shop(shop) if shop.mall == "rakuten" else ShopForm(formdata=None, obj=shop)
    return _shop_form(shop, form)


def _shop_form(shop: Shop, form: ShopForm, status: int = 200, form_errors: list[str] | None = None):
    """The edit form: a dialog over the shop table (htmx), or a page of its own."""
    response = page_or_fragment("settings/shop_edit.html", "settings/_shop_dialog.html", http_status=status, shop=shop,
                                form=form, form_errors=form_errors or [], in_dialog=is_htmx(), section="shops",
                                default_base_url=connection.default_base_url(),
                                sandbox=current_app.config["BOSS_SANDBOX"], INVENTORY_RESTORE_LABELS=INVENTORY_RESTORE_LABELS,
                                new_key_expiry=_jst_today() + timedelta(days=LICENSE_KEY_DAYS),
                                **_row_context())
    if status != 200 and is_htmx():  # the form was posted from the dialog: show the errors there
        response.headers["HX-Retarget"] = "#dialog"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def _service_errors(form: ShopForm, exc: ServiceError) -> list[str]:
    """A refusal's field errors (`rms.base_url`, `import_interval_minutes`, ...) next to their fields; the rest on top."""
    if exc.code == "already_exists":
        form.name.errors.append(exc.message(lang()))
        return []
    unplaced = []
    for name, text in (exc.fields or {}).items():
        field = getattr(form, name.replace("rms.", "rms_"), None) if isinstance(name, str) else None
        if field is None and name == "rms":
            field = getattr(form, "rms_license_key", None)
        if field is not None:
            field.errors = [*field.errors, text]
        else:
            unplaced.append(text)
    if not exc.fields:
        unplaced.append(exc.message(lang()))
    return unplaced


@bp.post("/settings/shops/<int:shop_id>")
@admin_only
def update_shop(shop_id: int):
    shop = _or_404(services.get_shop, shop_id)
    rakuten = shop.mall == "rakuten"
    form = RakutenShopForm() if rakuten else ShopForm()
    if not form.validate():
        return _shop_form(shop, form, status=422)
    changes = {"name": form.name.data, "auto_confirm": form.auto_confirm.data}
    rms = None
    if rakuten:  # the switch, the connection and the import settings are shown (and meant) for Rakuten shops only
        rms = form.rms_changes(shop)
        if any(field.errors for field in form):
            return _shop_form(shop, form, status=422)
        changes.update(reflect_cancel_to_rms=form.reflect_cancel_to_rms.data,
                       import_interval_minutes=int(form.import_interval_minutes.data),
                       initial_lookback_days=int(form.initial_lookback_days.data),
                       inventory_restore_type=int(form.inventory_restore_type.data))
        if rms:
            changes["rms"] = rms
    reflect_before = shop.reflect_cancel_to_rms
    try:
        shop = services.update_shop(current_actor(), shop_id, changes)
    except ServiceError as exc:
        db.session.rollback()
        errors = _service_errors(form, exc)
        return _shop_form(services.get_shop(current_user.account_id, shop_id), form, status=exc.status, form_errors=errors)
    message = _("ショップ「%(name)s」の設定を保存しました。", name=shop.name)
    if rms:
        message += " " + _("RMS API接続を登録しました（licenseKey 末尾 %(last4)s）。取込を開始しました。",
                           last4=shop.rms_license_key_last4)
    if shop.reflect_cancel_to_rms != reflect_before:
        message += " " + (_("次のキャンセルから楽天RMSへ反映します。") if shop.reflect_cancel_to_rms
                          else _("次のキャンセルから楽天RMSへは反映しません。")) + " " + _("これまでのキャンセルは変わりません。")
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("settings.index", _anchor=f"shop-{shop.id}"), code=303)
    return _message("settings/_shop_result.html", message=message, shop=shop, **_row_context(imports=_running_imports()))


# ---------------------------------------------------------------- 取込 (staff and admins: api.md)

@bp.post("/settings/shops/<int:shop_id>/import")
def import_shop(shop_id: int):
    """今すぐ取込: start the shop's import, or show the one already queued or running (never two at once)."""
    from ..malls.importer import start_import

    shop = _or_404(services.get_shop, shop_id)
    already = _running_imports().get(shop.id)
    try:
        job = start_import(current_actor(), shop.id)
    except ServiceError as exc:
        db.session.rollback()
        if exc.code == "not_found":
            abort(404)
        if not is_htmx():
            flash(exc.message(lang()), "error")
            return redirect(url_for("settings.index", _anchor=f"shop-{shop_id}"), code=303)
        response = make_response(render_template("settings/_import_status.html", job=None, shop=shop,
                                                 refusal=exc.message(lang())), exc.status)
        response.headers["Vary"] = "HX-Request"
        return response
    if not is_htmx():
        flash(_("「%(name)s」の取込を開始しました。", name=shop.name) if already is None else
              _("「%(name)s」はすでに取込中です。", name=shop.name), "success")
        return redirect(url_for("settings.index", _anchor=f"shop-{shop.id}"), code=303)
    response = make_response(render_template("settings/_import_status.html", job=job, shop=shop,
                                             already=already is not None), 202)
    response.headers["Vary"] = "HX-Request"
    return response


def import_progress(job: JobRecord):
    """GET /jobs/<id>/progress of an import (boss.web.orders.job_progress asks here): while it runs, the
    self-polling partial; once it has ended, the shop's rows with the result, swapped out of band (the
    connection state and the last import time may have changed), and the 要対応 badge."""
    shop = db.session.get(Shop, job.shop_id) if job.shop_id else None
    if job.state not in ("finished", "failed") or shop is None or shop.account_id != job.account_id:
        return render_template("settings/_import_status.html", job=job, shop=shop)
    response = make_response(render_template("settings/_import_done.html", job=job, shop=shop,
                                             **_row_context(imports={})))
    response.headers["HX-Reswap"] = "none"  # everything is out of band
    return response


# ---------------------------------------------------------------- ユーザー

def _account_users() -> list[User]:
    return list(db.session.scalars(select(User).where(User.account_id == current_user.account_id)
                                   .order_by(User.role, User.id)))


def _users_page(new_form: NewUserForm | None = None, status: int = 200, password_form: PasswordForm | None = None):
    return page_or_fragment("settings/users.html", "settings/_users.html", http_status=status, users=_account_users(),
                            new_form=new_form or NewUserForm(formdata=None), section="users",
                            password_form=password_form or PasswordForm(formdata=None),
                            my_sessions=accounts.active_session_count(current_user.id))


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
    return _message("settings/_user_result.html", status=status, message=message, category=category, user=user)


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


@bp.post("/settings/users/<int:user_id>/sessions/end")
@admin_only
def end_user_sessions(user_id: int):
    return _user_action(user_id, lambda: accounts.sign_out_everywhere(current_actor(), user_id),
                        lambda user: _("%(name)sさんをすべての端末からログアウトしました。", name=user.name))


# ---------------------------------------------------------------- あなたのログイン (every user, for themselves)

@bp.post("/settings/password")
def change_password():
    """Every session of the user ends (a copied cookie too); this browser stays signed in with a new one."""
    form = PasswordForm()
    if form.validate():
        try:
            token = accounts.change_password(current_actor(), form.current_password.data, form.new_password.data,
                                             form.confirm_password.data, request.user_agent.string)
        except ServiceError as exc:
            db.session.rollback()
            for name in exc.fields:
                getattr(form, name).errors.append(exc.message(lang()))
        else:
            session[SESSION_KEY] = token
            flash(_("パスワードを変更しました。ほかの端末のログインはすべて終了しました。"), "success")
            return redirect(url_for("settings.users", _anchor="my-login"), code=303)
    return _users_page(password_form=form, status=422)


@bp.post("/settings/sessions/end")
def end_my_sessions():
    """「すべての端末からログアウト」: every session of mine ends, this one too."""
    accounts.sign_out_everywhere(current_actor(), current_user.id)
    session.pop(SESSION_KEY, None)
    logout_user()
    flash(_("すべての端末からログアウトしました。"), "info")
    return redirect(url_for("auth.login"), code=303)


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
        owner_id = whole_number(chosen)
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
