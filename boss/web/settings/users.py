"""設定 › ユーザー: the account's users (admins add and change them, and reset their passwords). A user's own password
and sessions are on their アカウント page (boss/web/account.py)."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, Regexp

from ... import accounts
from ...extensions import db
from ...models import ROLES, User
from ..account import NewPasswordFields, refused_fields
from ..common import attempt, current_actor, found_or_404, is_htmx, lang, page_or_fragment
from .base import ROLE_LABELS, SettingsForm, admin_only, bp, strip, with_message


class NewUserForm(SettingsForm):
    email = EmailField(_l("メールアドレス"), filters=[strip], validators=[
        DataRequired(_l("メールアドレスを入力してください。")), Length(max=254, message=_l("254文字以内で入力してください。")),
        Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("メールアドレスの形式で入力してください。"))])
    name = StringField(_l("名前"), filters=[strip], validators=[
        Optional(), Length(max=120, message=_l("120文字以内で入力してください。"))])
    password = PasswordField(_l("パスワード"), validators=[
        DataRequired(_l("パスワードを入力してください。")),
        Length(min=8, max=200, message=_l("パスワードは8文字以上（200文字以内）にしてください。"))])
    role = StringField(_l("権限"), default="staff",
                       validators=[AnyOf(ROLES, message=_l("管理者またはスタッフを選んでください。"))])


def account_users() -> list[User]:
    return list(db.session.scalars(select(User).where(User.account_id == current_user.account_id)
                                   .order_by(User.role, User.id)))


def _users_page(new_form: NewUserForm | None = None, status: int = 200):
    return page_or_fragment("settings/users.html", "settings/_users.html", http_status=status, users=account_users(),
                            new_form=new_form or NewUserForm(formdata=None), section="users")


@bp.get("/settings/users")
def users():
    return _users_page()


@bp.post("/settings/users")
@admin_only
def create_user():
    form = NewUserForm()
    if form.validate():
        with attempt() as tried:
            user = accounts.create_user(form.email.data, form.password.data, current_user.account.name,
                                        admin=form.role.data == "admin", name=form.name.data or "")
        if not (exc := tried.error):
            flash(_("ユーザー「%(name)s」（%(email)s）を追加しました。", name=user.name, email=user.email), "success")
            return redirect(url_for("settings.users", _anchor=f"user-{user.id}"), code=303)
        field = form.password if exc.code == "validation_error" else form.email
        field.errors.append(exc.message(lang()))
    return _users_page(form, status=422)


def _user_action(user_id: int, action, done):
    """Change one user; answer their row with a message (htmx) or go back to the list."""
    found_or_404(accounts.account_user, user_id)
    with attempt() as tried:
        user = action()
    if exc := tried.error:
        user = accounts.account_user(current_user.account_id, user_id)
        message, category, status = exc.message(lang()), "error", exc.status
    else:
        message, category, status = done(user), "success", 200
    if not is_htmx():
        flash(message, category)
        return redirect(url_for("settings.users", _anchor=f"user-{user.id}"), code=303)
    return with_message("settings/_user_result.html", status=status, message=message, category=category, user=user)


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


# ---------------------------------------------------------------- パスワードの再設定 (an admin, for another user)

def _password_dialog(user: User, form: NewPasswordFields, status: int = 200):
    response = page_or_fragment("settings/user_password.html", "settings/_password_dialog.html", http_status=status,
                                user=user, form=form, in_dialog=is_htmx(), section="users")
    if status != 200 and is_htmx():  # posted from the dialog: the errors are shown there
        response.headers["HX-Retarget"] = "#dialog"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


@bp.get("/settings/users/<int:user_id>/password")
@admin_only
def password_dialog(user_id: int):
    return _password_dialog(found_or_404(accounts.account_user, user_id),
                            NewPasswordFields(formdata=None))


@bp.post("/settings/users/<int:user_id>/password")
@admin_only
def reset_password(user_id: int):
    """A user who forgot their password, or whose password may have leaked: every session of theirs ends."""
    user = found_or_404(accounts.account_user, user_id)
    form = NewPasswordFields()
    if form.validate():
        with attempt() as tried:
            accounts.reset_password(current_actor(), user_id, form.new_password.data, form.confirm_password.data)
        if not (exc := tried.error):
            message = _("%(name)sさんのパスワードを再設定しました。%(name)sさんのログインはすべて終了しました。"
                        "新しいパスワードは本人に安全な方法で伝えてください。", name=user.name)
            if not is_htmx():
                flash(message, "success")
                return redirect(url_for("settings.users", _anchor=f"user-{user.id}"), code=303)
            return with_message("settings/_user_result.html", message=message, user=user)
        if exc.fields:
            refused_fields(form, exc)
        else:  # not for oneself
            form.new_password.errors.append(exc.message(lang()))
    return _password_dialog(user, form, status=422)

