"""「CSVダウンロード」 of 注文一覧 (the tab and filters shown) and 詳細検索 (the result shown): a dialog choosing
注文単位／明細単位 and the encoding, then a job (csv_export) with a progress bar, then the download link and how
many characters CP932 could not hold (csv.md §3)."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from wtforms.fields.core import UnboundField

from ..csv import exports, files
from ..errors import ServiceError
from ..models import JobRecord
from ..orders.search import DEFAULT_SORT, ORDER_SORTS, OrderFilter
from ..reason import Reason
from . import selection
from .common import current_actor, found_or_404, job_page, refusal
from .search import SearchForm
from .sorting import SORT_LABELS

bp = Blueprint("exports", __name__)

SOURCES = ("list", "search")
LIST_FIELDS = ("status", "tag", "shop_id")
SEARCH_FIELDS = tuple(name for name, value in vars(SearchForm).items() if isinstance(value, UnboundField))


def _criteria(values, source: str) -> dict:
    """The conditions the list or search showed, as its links carry them (what the dialog posts back), and the
    sort it showed them in when not the default."""
    if source == "list":
        found = {name: values.get(name, "").strip() for name in LIST_FIELDS if values.get(name, "").strip()}
    else:
        found = {name: values[name] for name in SEARCH_FIELDS if values.get(name, "").strip()}
    sort = (values.get("sort") or "").strip()
    return {**found, "sort": sort} if sort in ORDER_SORTS and sort != DEFAULT_SORT else found


def _order_filter(source: str, criteria: dict) -> OrderFilter:
    """The orders the list or the search shows with `criteria`; a condition that no longer resolves is
    refused (ServiceError), never dropped."""
    if source == "list":
        return selection.criteria_from(criteria).order_filter(current_user.account_id)
    form = SearchForm(formdata=MultiDict({name: value for name, value in criteria.items() if name != "sort"}))
    if not form.validate():
        raise ServiceError("validation_error", _search_refusal(form))
    return form.order_filter()


def _search_refusal(form: SearchForm) -> Reason:
    problems = " ".join(f"{form[name].label.text}: {' '.join(errors)}" for name, errors in form.errors.items())
    return Reason(f"検索条件に誤りがあります。{problems}", f"The search conditions are not valid. {problems}")


def _source() -> str:
    source = request.values.get("source", "list")
    if source not in SOURCES:
        abort(400)
    return source


def _dialog(source: str, criteria: dict) -> dict:
    """What the dialog shows and posts back: the conditions, the sort they are written in, the choices."""
    return dict(source=source, criteria=criteria, sort_label=SORT_LABELS[criteria.get("sort", DEFAULT_SORT)],
                shapes=exports.SHAPES, encodings=exports.ENCODINGS)


@bp.get("/orders/export")
def dialog():
    source = _source()
    return render_template("exports/_dialog.html", **_dialog(source, _criteria(request.args, source)))


@bp.post("/orders/export")
def start():
    source = _source()
    criteria = _criteria(request.form, source)
    shape, encoding = request.form.get("shape", "orders"), request.form.get("encoding", "cp932")
    if shape not in exports.SHAPES or encoding not in exports.ENCODINGS:
        return render_template("exports/_dialog.html", **_dialog(source, criteria),
                               error=_("出力形式と文字コードを選んでください。")), 422
    try:
        flt = _order_filter(source, criteria)
    except ServiceError as exc:
        return refusal("exports/_dialog.html", exc, **_dialog(source, criteria))
    return progress(exports.start_job(current_actor(), flt, shape, encoding, criteria.get("sort", DEFAULT_SORT)))


@job_page(exports.JOB_KIND)
def progress(job: JobRecord):
    if job.state != "finished":
        return render_template("jobs/_progress.html", job=job, title=_("CSVを作成中"))
    return render_template("exports/_done.html", job=job, result=job.result)


@bp.get("/exports/<file_id>/download")
def download(file_id: str):
    """The export's file, to its own account only (another account's: 404, as one that does not exist)."""
    stored = found_or_404(files.get_file, file_id)
    if stored.kind != "export":
        abort(404)
    return Response(stream_with_context(files.chunks(stored.id)), content_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{stored.name}"',
                             "Content-Length": str(stored.size)})
