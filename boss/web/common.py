"""What every page shares: the actor, the shop filter, page-or-fragment rendering, filters, the header."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime
from typing import Callable, Iterator, Optional

from flask import (Blueprint, Flask, abort, current_app, g, make_response, redirect, render_template, request, session,
                   url_for)
from flask_babel import get_locale, get_translations
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import RequestEntityTooLarge

from ..colors import ink_on
from ..csv.files import FileTooLarge
from ..errors import ServiceError
from ..extensions import db
from ..models import Shop, utcnow
from ..orders import frame, history, rules
from ..orders.actor import Actor
from ..orders.search import status_counts
from ..parsing import whole_number
from ..reason import Reason
from ..timefmt import EARLIEST_DAY, LATEST_DAY, day_in_range, display_jst, iso_jst, to_jst
from . import malls

bp = Blueprint("common", __name__)


def current_actor() -> Actor:
    user = current_user
    return Actor("user", user.name or user.email, user.account_id, user.id)


def account_shops() -> list[Shop]:
    if "account_shops" not in g:
        g.account_shops = list(db.session.scalars(  # with their RMS connections: the header shows their errors
            select(Shop).where(Shop.account_id == current_user.account_id).order_by(Shop.id)
            .options(joinedload(Shop.rms_connection))))
    return g.account_shops


LICENSE_WARN_DAYS = 14  # rakuten-rms.md: the licenseKey expires every 90 days; warn 14 days ahead


def license_state(shop: Shop) -> Optional[tuple[str, int]]:
    """('expired' | 'soon' | 'ok', days left) for a shop whose RMS licenseKey has an expiry date."""
    expires_on = shop.rms.key_expires_on
    if expires_on is None:
        return None
    days = (expires_on - to_jst(utcnow()).date()).days
    return ("expired" if days < 0 else "soon" if days <= LICENSE_WARN_DAYS else "ok"), days


def shop_alerts() -> list[dict]:
    """The banner over every page: connected shops whose RMS connection fails or whose licenseKey expires
    within 14 days. From the account's shops the header loads anyway: no further query."""
    alerts = []
    for shop in account_shops():
        if not shop.rms_connected:
            continue
        if shop.rms.error:
            alerts.append({"shop": shop, "kind": "error", "days": None})
        state = license_state(shop)
        if state and state[0] != "ok":
            alerts.append({"shop": shop, "kind": state[0], "days": state[1]})
    return alerts


def selected_shop_id() -> Optional[int]:
    """The header's shop filter (すべてのショップ / one shop), kept in the session."""
    chosen = session.get("shop_id")
    if chosen and any(shop.id == chosen for shop in account_shops()):
        return chosen
    return None


def header_counts() -> dict[str, int]:
    """The status counts of the account (and the header's shop), once per request: the header's 要対応
    badge and 注文一覧's tabs show the same numbers. After an action, first asked after its commit."""
    if "header_counts" not in g:
        g.header_counts = status_counts(current_user.account_id, selected_shop_id(), account_shops())
    return g.header_counts


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def page_or_fragment(page: str, fragment: str, http_status: int = 200, **context):
    """One URL: the full page normally, the partial when htmx asks for it (every page answers Vary: HX-Request)."""
    return make_response(render_template(fragment if is_htmx() else page, **context), http_status)


# Stand-ins for the values a URL pattern leaves open: integers (they pass `<int:…>` converters) that no
# real path or query holds, each replaced by a str.format field once url_for has built the URL.
URL_MARKERS = (9_876_543_210_001, 9_876_543_210_002, 9_876_543_210_003)


def format_pattern(text: str, stand_ins, once: bool = False) -> str:
    """`text` (a URL, a piece of HTML rendered with stand-ins for what varies) as a str.format pattern: its braces
    doubled, each stand-in's every occurrence the field of its position. A stand-in missing (or, `once`, there more
    than once) raises ValueError."""
    pattern = text.replace("{", "{{").replace("}", "}}")
    for index, stand_in in enumerate(stand_ins):
        found = pattern.count(str(stand_in))
        if found == 0 or (once and found != 1):
            raise ValueError(f"{stand_in} is {found} times in {text[:200]!r}")
        pattern = pattern.replace(str(stand_in), "{%d}" % index)
    return pattern


def url_pattern(endpoint: str, *names: str) -> Callable[..., str]:
    """The URL of `endpoint` as a function of the integer values `names` (in that order), built by one
    url_for per page instead of one per row: a page of 50 rows with three links each spent ~1.5 ms in
    url_for. Only for integer values (ids, versions), which need no quoting."""
    url = url_for(endpoint, **dict(zip(names, URL_MARKERS)))
    try:
        return format_pattern(url, URL_MARKERS[:len(names)], once=True).format
    except ValueError:
        raise ValueError(f"url_pattern: {endpoint} does not hold each of {names} exactly once: {url}") from None


def chip_tables(lang_code: str) -> tuple[dict, dict]:
    """The chips of partials/_status.html for every status and shipment status in one language, rendered
    once per process (they depend on the labels alone): a page of rows looks its chips up instead of
    importing the macros and calling them twice per row."""
    tables = current_app.extensions.setdefault("boss_chip_tables", {})
    if lang_code not in tables:
        english = lang_code == "en"
        labels = rules.STATUS_LABELS_EN if english else rules.STATUS_LABELS
        shipment_labels = rules.SHIPMENT_STATUS_LABELS_EN if english else rules.SHIPMENT_STATUS_LABELS
        macros = current_app.jinja_env.get_template("partials/_status.html").make_module(
            {"STATUS_LABELS": labels, "SHIPMENT_STATUS_LABELS": shipment_labels})
        tables[lang_code] = ({status: macros.status_chip(status) for status in labels},
                             {status: macros.shipment_chip(status) for status in [None, *shipment_labels]})
    return tables[lang_code]


def lang() -> str:
    return str(get_locale() or "ja")[:2]


def history_text(stored: str) -> str:
    """A text the system wrote into an order's history (events, the reflection's message), in the page's language."""
    return history.in_language(stored, lang())


def yen(value) -> str:
    return "" if value is None else f"¥{value:,}"


@bp.post("/lang/<code>")
def set_language(code: str):
    if code in ("ja", "en"):
        session["lang"] = code
    return redirect(request.referrer or url_for("orders.index"))


@bp.post("/shop-filter")
def set_shop_filter():
    value = request.form.get("shop_id", "")
    session["shop_id"] = whole_number(value)
    return redirect(request.referrer or url_for("orders.index"))


def _translations():
    """The request's translations, looked up once: Flask-Babel looks the locale and its catalog up at every _(). One
    locale a request, as Flask-Babel keeps it (nothing here uses force_locale)."""
    found = g.get("_translations")
    if found is None:
        found = g._translations = get_translations()
    return found


@pass_context
def template_gettext(context, string: str, **variables):
    """The templates' `_()` and `gettext()`, as Jinja's newstyle gettext answers them (translated, escaped as Markup
    where autoescaping is on, then %-formatted with `variables`, always), with the answers without variables kept for
    the request: a page of 50 rows asks the same few strings hundreds of times, and Jinja's own path (a context call,
    the catalog, Markup, the %) cost ~10 µs each — about half of rendering 在庫's rows."""
    autoescape = context.eval_ctx.autoescape
    if not variables:
        memo = g.get("_gettext_memo")
        if memo is None:
            memo = g._gettext_memo = {}
        found = memo.get((string, autoescape))
        if found is None:
            found = memo[(string, autoescape)] = _translated(string, autoescape) % {}
        return found
    return _translated(string, autoescape) % variables


def _translated(string: str, autoescape: bool):
    text = _translations().ugettext(string)
    return Markup(text) if autoescape else text


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s), ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n), newstyle=True)
    app.jinja_env.globals.update(gettext=template_gettext, _=template_gettext)
    app.jinja_env.filters["jst"] = display_jst
    app.jinja_env.filters["iso_jst"] = iso_jst  # a <time datetime="…">'s value
    app.jinja_env.filters["yen"] = yen
    app.jinja_env.filters["history"] = history_text
    app.jinja_env.filters["ink_on"] = ink_on
    app.jinja_env.globals["url_pattern"] = url_pattern
    app.jinja_env.globals["chip_tables"] = chip_tables
    app.jinja_env.globals["cancel_reflection"] = malls.cancel_reflection
    app.jinja_env.globals["cancel_reflected"] = malls.cancel_reflected
    app.jinja_env.globals.update(CANCEL_REASONS=rules.CANCEL_REASONS, CANCEL_REASON_GROUPS=rules.CANCEL_REASON_GROUPS,
                                 DEFAULT_CANCEL_REASON=rules.DEFAULT_CANCEL_REASON)

    @app.context_processor
    def _frame():
        if not current_user.is_authenticated:
            return {"lang": lang()}
        return {
            "lang": lang(),
            "shops": account_shops(),
            "selected_shop_id": selected_shop_id(),
            "attention_count": header_counts()["attention"],
            "shop_alerts": shop_alerts(),
            "STATUS_LABELS": rules.STATUS_LABELS if lang() == "ja" else rules.STATUS_LABELS_EN,
            "SHIPMENT_STATUS_LABELS": rules.SHIPMENT_STATUS_LABELS if lang() == "ja" else rules.SHIPMENT_STATUS_LABELS_EN,
        }


class BadDay(ValueError):
    """A typed date that is no date, or out of range: str(exc) is the message to show under its input."""


def typed_day(text: str | None) -> Optional[date]:
    """A filter's date as typed: YYYY-MM-DD (the date picker's) or YYYY/MM/DD; None when blank; BadDay when it is no
    date between EARLIEST_DAY and LATEST_DAY. The page shows the input again as typed, with the message."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = datetime.strptime(text.replace("/", "-"), "%Y-%m-%d").date()
    except ValueError:
        raise BadDay(_("日付は 2026-11-01 の形式で入力してください。")) from None
    if not day_in_range(day):
        raise BadDay(_("%(first)s から %(last)s までの日付を入力してください。",
                       first=EARLIEST_DAY.isoformat(), last=LATEST_DAY.isoformat()))
    return day


class Attempt:
    """What `attempt()` caught: the service's refusal, or None when the call went through."""

    error: Optional[ServiceError] = None


@contextmanager
def attempt() -> Iterator[Attempt]:
    """A view's service call: a refusal (ServiceError) is kept on the yielded Attempt for the view to show (the
    service's unit of work has rolled back whatever it had done); anything else propagates.

        with attempt() as tried:
            shop = shops.create_shop(...)
        if tried.error: ...
    """
    tried = Attempt()
    try:
        yield tried
    except ServiceError as exc:
        tried.error = exc


def found_or_404(lookup: Callable, *args):
    """`lookup(account_id, *args)` of the signed-in user's account, or 404: another account's object, or one
    that does not exist, is not found here (R14)."""
    try:
        return lookup(current_user.account_id, *args)
    except ServiceError:
        abort(404)


def refusal_on_order(exc: ServiceError, order_id: int) -> str:
    """What a refused action on an order says on a page. A version conflict (R13) names the order, whose current
    state the page now shows, and asks to act again; any other refusal says why, as the service put it."""
    if exc.code != "conflict":
        return exc.message(lang())
    number = found_or_404(frame.get_order, order_id).mall_order_number
    return _("注文「%(n)s」は他の操作で更新されました。最新の状態を表示しています。もう一度操作してください。", n=number)


def refusal(template: str, exc: ServiceError, **context):
    """A refusal shown where the action was asked (a dialog), with its own status — a tag not found is a 404 as
    in the API (R14) — and the header that tells app.js to show it although htmx swaps no 4xx but 409 and 422."""
    response = make_response(render_template(template, error=exc.message(lang()), **context), exc.status)
    response.headers["BOSS-Refusal"] = "1"
    return response


NOT_A_VERSION = Reason("画面の版数（version）が正しくありません。何も変更していません。画面を開き直してください。",
                       "The form's version is not valid. Nothing was changed. Reload the page.")


def version_from(form) -> int | None:
    """The version the form was rendered with (R13): none when the form has none, refused when it is not one."""
    value = form.get("version", "").strip()
    if not value:
        return None
    version = whole_number(value)
    if version is None:
        raise ServiceError("validation_error", NOT_A_VERSION, {"version": "not an integer"})
    return version


# How GET /jobs/<id>/progress shows a job of each kind: the page that starts jobs of a kind registers its view
# (the self-polling progress bar while it runs, its own result once done); a kind none registers shows the bar.
JOB_PAGES: dict[str, Callable] = {}


def job_page(*kinds: str):
    def register(view: Callable) -> Callable:
        for kind in kinds:
            JOB_PAGES[kind] = view
        return view
    return register


FORM_FIELDS_BYTES = 64 * 1024  # a CSV upload's room besides its files: the form's other fields and boundaries


def accept_csv_uploads(bp: Blueprint, endpoint: str, refused: Callable[[str], object], files: int = 1) -> None:
    """Let `endpoint`'s body be as large as its CSV files may be (csv.md §4: CSV_MAX_BYTES each), not the 1 MB of
    other requests. It is set before the CSRF check, which reads the form first (a blueprint's URL value
    preprocessors run before every before_request). A body past it is answered with `refused(message)` (a 413
    page) for a signed-in user; only a signed-in user sees the form."""
    @bp.url_value_preprocessor
    def _csv_body_limit(name, values):
        if name == endpoint:
            request.max_content_length = files * current_app.config["CSV_MAX_BYTES"] + FORM_FIELDS_BYTES

    @bp.errorhandler(RequestEntityTooLarge)
    def _body_too_large(error: RequestEntityTooLarge):
        if not current_user.is_authenticated:
            return error
        return refused(FileTooLarge(current_app.config["CSV_MAX_BYTES"]).message(lang()))
