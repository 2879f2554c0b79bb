"""アカウント: the signed-in user's own page (reached from the header's user menu): who they are, their password, and
the browsers they are signed in on.

A password change follows accounts.change_password: every session of the user ends (a copied cookie too) and this
browser goes on with a new one. Wrong current passwords are counted as failed logins are (auth.init_throttle):
past LOGIN_FAILURES_PER_ADDRESS in 15 minutes for the user from one client, the form answers 429 until the window frees.
"""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, Length

from .. import accounts
from .auth import SESSION_KEY
from .common import attempt, current_actor, lang, page_or_fragment

bp = Blueprint("account", __name__)

PASSWORD_RULE = _l("パスワードは8文字以上（200文字以内）にしてください。")


class NewPasswordFields(FlaskForm):
    """A new password twice, as the app's password rule has it (accounts: 8 characters at least; 200 at most)."""

    class Meta:
        csrf = False  # CSRFProtect already refuses every POST without the token (400), before any view runs

    new_password = PasswordField(_l("新しいパスワード"), validators=[
        DataRequired(_l("新しいパスワードを入力してください。")), Length(min=8, max=200, message=PASSWORD_RULE)])
    confirm_password = PasswordField(_l("新しいパスワード（確認）"), validators=[
        DataRequired(_l("確認のため、新しいパスワードをもう一度入力してください。"))])


class PasswordForm(NewPasswordFields):
    current_password = PasswordField(_l("現在のパスワード"), validators=[
        DataRequired(_l("現在のパスワードを入力してください。")), Length(max=200, message=_l("200文字以内で入力してください。"))])


def refused_fields(form: FlaskForm, exc) -> None:
    """The service's refusal under the fields it names."""
    for name in exc.fields:
        getattr(form, name).errors.append(exc.message(lang()))


def account_page(form: PasswordForm | None = None, status: int = 200):
    return page_or_fragment("account/index.html", "account/_content.html", http_status=status,
                            password_form=form or PasswordForm(formdata=None),
                            my_sessions=accounts.active_session_count(current_user.id))


@bp.get("/account")
def show():
    return account_page()


@bp.post("/account/password")
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
            return redirect(url_for("account.show"), code=303)
        if "current_password" in exc.fields:
            g.password_failed = True  # what the throttle counts
        refused_fields(form, exc)
    return account_page(form, status=422)


@bp.post("/account/sessions/end")
def end_my_sessions():
    """「すべての端末からログアウト」: every session of mine ends, this one too."""
    accounts.sign_out_everywhere(current_actor(), current_user.id)
    session.pop(SESSION_KEY, None)
    logout_user()
    flash(_("すべての端末からログアウトしました。"), "info")
    return redirect(url_for("auth.login"), code=303)
