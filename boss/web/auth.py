"""ログイン / ログアウト: hashed passwords, a slow-down after failures and a temporary lock."""
from __future__ import annotations

import time
from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from ..accounts import find_user
from ..extensions import db
from ..models import User, utcnow

bp = Blueprint("auth", __name__)

LOCK_AFTER = 5
LOCK_MINUTES = 15


class LoginForm(FlaskForm):
    email = EmailField("メールアドレス", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("パスワード", validators=[DataRequired(), Length(max=200)])


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = find_user(form.email.data)
        now = utcnow()
        if user is not None and user.locked_until and user.locked_until > now:
            minutes = int((user.locked_until - now).total_seconds() // 60) + 1
            flash(_("ログインに続けて失敗したため、一時的にロックしています。%(m)s分後にもう一度お試しください。", m=minutes), "error")
        elif user is not None and user.is_active and user.check_password(form.password.data):
            user.failed_logins = 0
            user.locked_until = None
            db.session.commit()
            login_user(user)
            target = request.args.get("next") or ""
            return redirect(target if target.startswith("/") and not target.startswith("//") and target.isprintable()
                            else url_for("orders.index"))
        else:
            failures = 1
            if user is not None:
                user.failed_logins += 1
                if user.failed_logins >= LOCK_AFTER:
                    user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
                    user.failed_logins = 0
                db.session.commit()
                failures = user.failed_logins or LOCK_AFTER
            else:
                # An unknown address costs what a known one does (a password check and a first failure's
                # wait), so the answer's time does not tell which addresses have an account.
                _decoy().check_password(form.password.data)
            # Slow down guessing: each failure in a row costs a little more time.
            time.sleep(min(current_app.config.get("LOGIN_DELAY_STEP", 0.3) * failures, 2))
            flash(_("メールアドレスまたはパスワードが正しくありません。"), "error")
    return render_template("auth/login.html", form=form)


def _decoy() -> User:
    """A user that is no one, with a password hash made as real ones are (once per process and method)."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    decoys = current_app.extensions.setdefault("login_decoys", {})
    if method not in decoys:
        decoy = User()
        decoy.set_password(f"decoy-{time.time_ns()}")
        decoys[method] = decoy
    return decoys[method]


@bp.post("/logout")
def logout():
    logout_user()
    flash(_("ログアウトしました。"), "info")
    return redirect(url_for("auth.login"))
