"""「CSVダウンロード」 on 注文一覧 and 詳細検索 (csv.md §3): a dialog choosing 注文単位／明細単位 and the encoding, a
job with progress through the real worker, then the download of the kept file and the count of characters
CP932 wrote as 〓."""
from __future__ import annotations

import csv
import io
import re

import pytest

from tests.api.api_helpers import API, create_tag
from tests.conftest import login, make_tenant, wait_for
from tests.factories import create_order

HTMX = {"HX-Request": "true"}


def _start(web, data: dict):
    return web.post("/orders/export", data={"csrf_token": web.csrf, **data}, headers=HTMX)


def _finished(web, started) -> str:
    assert started.status_code == 200, started.text
    assert "<progress" in started.text and "CSVを作成中" in started.text
    assert 'hx-trigger="load delay:500ms"' in started.text
    progress_url = re.search(r'hx-get="([^"]+/progress)"', started.text).group(1)
    return wait_for(lambda: (r := web.get(progress_url, headers=HTMX).text) and "<progress" not in r and r,
                    message="the export job's download link")


def _download(web, done: str):
    link = re.search(r'href="(/exports/[^"]+/download)"', done).group(1)
    response = web.get(link)
    response.get_data()  # the streamed body read whole, as a browser would
    response.close()
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="orders-')
    return link, response


def _numbers(data: bytes, encoding: str) -> list[str]:
    return [row["モール注文番号"] for row in csv.DictReader(io.StringIO(data.decode(encoding), newline=""))]


def test_the_list_has_the_button_and_its_dialog_offers_both_shapes_and_encodings(staff_client, client, tenant):
    create_order(client, tenant)
    page = staff_client.get("/orders?status=awaiting_confirmation").text
    button = re.search(r'hx-get="(/orders/export\?[^"]+)"[^>]*>CSVダウンロード', page)
    assert button and "status=awaiting_confirmation" in button.group(1)
    dialog = staff_client.get(button.group(1).replace("&amp;", "&"), headers=HTMX).text
    assert "注文単位（1注文1行）" in dialog and "明細単位" in dialog
    assert 'value="cp932" selected' in dialog and "Shift_JIS（CP932）" in dialog and "UTF-8（BOM付き）" in dialog
    assert 'name="status" value="awaiting_confirmation"' in dialog and 'name="source" value="list"' in dialog


def test_the_list_export_runs_as_a_job_then_downloads_the_tab_and_counts_the_replaced_characters(
        staff_client, client, tenant, other_tenant, worker):
    tag = create_tag(client, tenant, name="ギフト")
    sushi = create_order(client, tenant, number="W-1", buyer={"name": "寿司🍣🍣 太郎"})
    create_order(client, tenant, number="W-2")
    client.post(f"{API}/orders/{sushi['id']}/tags/{tag['id']}", headers=tenant.headers())
    create_order(client, other_tenant, number="THEIRS")

    done = _finished(staff_client, _start(staff_client, {"source": "list", "tag": str(tag["id"]), "shape": "lines",
                                                         "encoding": "cp932"}))
    # 🍣🍣 in 購入者名 and in 送付先名 (the buyer's when none is given): 4 characters
    assert "CP932で表せない文字 4 文字を〓に置き換えました" in done and "1 件の注文を出力しました。" in done
    _, response = _download(staff_client, done)
    [row] = csv.DictReader(io.StringIO(response.data.decode("cp932"), newline=""))
    assert row["モール注文番号"] == "W-1" and row["購入者名"] == "寿司〓〓 太郎" and row["商品名"] == "煎茶"

    everything = _finished(staff_client, _start(staff_client, {"source": "list", "shape": "orders",
                                                               "encoding": "utf-8"}))
    assert "置き換えました" not in everything and "2 件の注文を出力しました。" in everything
    _, response = _download(staff_client, everything)
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert sorted(_numbers(response.data, "utf-8-sig")) == ["W-1", "W-2"]


def test_the_search_export_is_the_search_result_deleted_orders_included_only_when_searched_so(
        staff_client, client, tenant, worker):
    create_order(client, tenant, number="S-1", buyer={"name": "佐藤 一郎"})
    gone = create_order(client, tenant, number="S-2", buyer={"name": "佐藤 次郎"})
    create_order(client, tenant, number="S-3", buyer={"name": "鈴木 三郎"})
    client.delete(f"{API}/orders/{gone['id']}", headers=tenant.headers())
    page = staff_client.get("/search?name=佐藤").text
    assert re.search(r'hx-get="/orders/export\?[^"]*source=search[^"]*"', page)

    done = _finished(staff_client, _start(staff_client, {"source": "search", "name": "佐藤", "shape": "orders",
                                                         "encoding": "cp932"}))
    assert _numbers(_download(staff_client, done)[1].data, "cp932") == ["S-1"]
    done = _finished(staff_client, _start(staff_client, {"source": "search", "name": "佐藤", "include_deleted": "1",
                                                         "shape": "orders", "encoding": "cp932"}))
    assert sorted(_numbers(_download(staff_client, done)[1].data, "cp932")) == ["S-1", "S-2"]


def test_the_export_keeps_the_sort_the_list_or_search_was_shown_in(staff_client, client, tenant, worker):
    for number, price, name in (("R-1", 800, "佐藤 一郎"), ("R-2", 12000, "佐藤 二郎"), ("R-3", 3000, "鈴木 三郎")):
        create_order(client, tenant, number=number, buyer={"name": name},
                     lines=[{"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": price}])
    page = staff_client.get("/orders?sort=-total").text
    button = re.search(r'hx-get="(/orders/export\?[^"]+)"[^>]*>CSVダウンロード', page).group(1).replace("&amp;", "&")
    assert "sort=-total" in button
    dialog = staff_client.get(button, headers=HTMX).text
    assert 'name="sort" value="-total"' in dialog and "並び順は一覧のとおり（合計の大きい順）です。" in dialog
    done = _finished(staff_client, _start(staff_client, {"source": "list", "sort": "-total", "shape": "orders",
                                                         "encoding": "cp932"}))
    assert _numbers(_download(staff_client, done)[1].data, "cp932") == ["R-2", "R-3", "R-1"]

    results = staff_client.get("/search?name=佐藤&sort=total").text
    button = re.search(r'hx-get="(/orders/export\?[^"]+)"', results).group(1).replace("&amp;", "&")
    assert "sort=total" in button and "source=search" in button
    assert "並び順は一覧のとおり（合計の小さい順）です。" in staff_client.get(button, headers=HTMX).text
    done = _finished(staff_client, _start(staff_client, {"source": "search", "name": "佐藤", "sort": "total",
                                                         "shape": "orders", "encoding": "cp932"}))
    assert _numbers(_download(staff_client, done)[1].data, "cp932") == ["R-1", "R-2"]
    plain = staff_client.get("/orders/export?source=list&sort=sideways", headers=HTMX).text
    assert 'name="sort"' not in plain and "並び順は一覧のとおり（新しい順）です。" in plain  # not a sort: the default


def test_another_accounts_export_file_is_not_found(app, staff_client, client, tenant, worker):
    create_order(client, tenant)
    link, _ = _download(staff_client, _finished(staff_client, _start(
        staff_client, {"source": "list", "shape": "orders", "encoding": "cp932"})))
    other = make_tenant(app, "よその商店")
    stranger = login(app.test_client(), other.staff_email)
    assert stranger.get(link).status_code == 404
    assert staff_client.get("/exports/00000000-0000-0000-0000-000000000000/download").status_code == 404


@pytest.mark.parametrize("data, shown", [
    ({"source": "list", "shape": "rows", "encoding": "cp932"}, "出力形式と文字コードを選んでください。"),
    ({"source": "list", "shape": "orders", "encoding": "cp932", "tag": "987654"}, "絞り込みのタグ「987654」が見つかりません"),
    ({"source": "search", "shape": "orders", "encoding": "cp932", "ordered_from": "someday"}, "日付は 2026-11-01 の形式"),
])
def test_a_choice_or_condition_that_is_not_one_is_said_in_the_dialog_and_starts_nothing(
        staff_client, client, tenant, data, shown):
    response = _start(staff_client, data)
    assert response.status_code in (404, 422) and shown in response.text and "<progress" not in response.text


def test_an_export_job_that_died_half_way_writes_the_file_again_whole_when_run_again(app, client, tenant, monkeypatch):
    """A worker killed mid-file has committed some batches: the run that resumes drops that file and writes the
    export whole, so the job names one complete file."""
    from sqlalchemy import func, select

    from boss import outbox
    from boss.csv import exports, files
    from boss.extensions import db
    from boss.models import OutboxMessage, StoredFile
    from boss.orders.actor import Actor
    from boss.orders.search import OrderFilter

    for i in range(7):
        create_order(client, tenant, number=f"K-{i}")
    monkeypatch.setitem(app.config, "CSV_EXPORT_BATCH", 2)
    whole = exports.pieces

    def dying(*args, **kwargs):
        for n, piece in enumerate(whole(*args, **kwargs)):
            if n == 3:
                raise RuntimeError("worker killed")
            yield piece

    with app.app_context():
        job = exports.start_job(Actor("user", "staff", tenant.account_id, None), OrderFilter(tenant.account_id),
                                "orders", "cp932")
        job_id = job.id
        message_id = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.job_id == job_id))
        monkeypatch.setattr(exports, "pieces", dying)
        with pytest.raises(RuntimeError):
            outbox.run_message(message_id)
        assert db.session.scalar(select(func.count()).where(StoredFile.job_id == job_id)) == 1  # the partial one
        monkeypatch.setattr(exports, "pieces", whole)
        outbox.run_message(message_id)
        result = db.session.get(type(job), job_id).result
        assert db.session.scalar(select(func.count()).where(StoredFile.job_id == job_id)) == 1
        data = b"".join(files.chunks(result["file_id"]))
        assert sorted(_numbers(data, "cp932")) == [f"K-{i}" for i in range(7)] and result["orders"] == 7
        db.session.remove()


def test_without_signing_in_neither_the_dialog_nor_a_download_answers(client):
    for path in ("/orders/export?source=list", "/exports/00000000-0000-0000-0000-000000000000/download"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_export_started_without_the_csrf_token_is_refused(staff_client, client, tenant):
    response = staff_client.post("/orders/export", data={"source": "list", "shape": "orders", "encoding": "cp932"},
                                 headers=HTMX)
    assert response.status_code == 400 and "<progress" not in response.text
