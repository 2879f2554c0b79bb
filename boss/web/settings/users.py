"""設定 › ユーザー: the account's users (admins add and change them) and あなたのログイン (every user, for themselves)."""
from __future__ import annotations

from flask import flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from sqlalchemy import select
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, Regexp

from ... import accounts
from ...extensions import db
from ...models import ROLES, User
from ..auth import SESSION_KEY
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


class PasswordForm(SettingsForm):
    current_password = PasswordField(_l("現在のパスワード"), validators=[
        DataRequired(_l("現在のパスワードを入力してください。")), Length(max=200, message=_l("200文字以内で入力してください。"))])
    new_password = PasswordField(_l("新しいパスワード"), validators=[
        DataRequired(_l("新しいパスワードを入力してください。")),
        Length(min=8, max=200, message=_l("パスワードは8文字以上（200文字以内）にしてください。"))])
    confirm_password = PasswordField(_l("新しいパスワード（確認）"), validators=[
        DataRequired(_l("確認のため、新しいパスワードをもう一度入力してください。"))])


def account_users() -> list[User]:
    return list(db.session.scalars(select(User).where(User.account_id == current_user.account_id)
                                   .order_by(User.role, User.id)))


def _users_page(new_form: NewUserForm | None = None, status: int = 200, password_form: PasswordForm | None = None):
    return page_or_fragment("settings/users.html", "settings/_users.html", http_status=status, users=account_users(),
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


# ---------------------------------------------------------------- あなたのログイン (every user, for themselves)

@bp.post("/settings/password")
def change_password():
    """Every session of the user ends (a copied cookie too); this browser stays signed in with a new one."""
    form = PasswordForm()
    if form.validate():
        with attempt() as tried:
            token = accounts.change_password(current_actor(), form.current_password.data, form.new_password.data,
                                             form.confirm_password.data, request.user_agent.string)
        if not (exc := tried.error):
            session[SESSION_KEY] = token
            flash(_("パスワードを変更しました。ほかの端末のログインはすべて終了しました。"), "success")
            return redirect(url_for("settings.users", _anchor="my-login"), code=303)
        for name in exc.fields:
            getattr(form, name).errors.append(exc.message(lang()))
    return _users_page(password_form=form, status=422)


@bp.post("/settings/sessions/end")
def end_my_sessions():
    """「すべての端末からログアウト」: every session of mine ends, this one too."""
    accounts.sign_out_everywhere(current_actor(), current_user.id)
    session.pop(SESSION_KEY, None)
    logout_user()
    flash(_("すべての端末からログアウトしました。"), "info")
    return redirect(url_for("auth.login"), code=303)
