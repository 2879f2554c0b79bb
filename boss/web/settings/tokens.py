"""設定 › APIトークン: every user manages their own; an admin also the other users' of the account."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ... import accounts
from ...extensions import db
from ...models import ApiToken, User
from ...parsing import whole_number
from ..common import attempt, current_actor, found_or_404, is_htmx, lang, page_or_fragment
from .base import SettingsForm, bp, strip, with_message
from .users import account_users


class TokenForm(SettingsForm):
    name = StringField(_l("名前"), filters=[strip], validators=[
        DataRequired(_l("用途がわかる名前を入力してください。")), Length(max=120, message=_l("120文字以内で入力してください。"))])


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
    users = [u for u in account_users() if u.active]
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
    with attempt() as tried:
        record, token = accounts.create_token_for(current_actor(), owner_id, form.name.data)
    if exc := tried.error:
        if exc.code == "not_found":
            abort(404)
        form.name.errors.append(exc.message(lang()))
        return _tokens_page(form, status=422)
    return _tokens_page(status=201, created={"token": token, "record": record, "owner": record.user})


@bp.post("/settings/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    found_or_404(accounts.account_token, token_id)
    with attempt() as tried:
        token = accounts.revoke_token(current_actor(), token_id)
    if exc := tried.error:
        if exc.code == "forbidden":
            return render_template("settings/forbidden.html"), 403
        raise exc
    message = _("APIトークン「%(name)s」（末尾 %(last4)s）を失効させました。このトークンではAPIを使えません。"
                "使っていたシステムには、新しいトークンを作成して設定し直してください。",
                name=token.name, last4=token.last4)
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("settings.tokens"), code=303)
    return with_message("settings/_token_result.html", message=message, token=token,
                    show_owner=token.user_id != current_user.id)
