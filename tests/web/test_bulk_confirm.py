"""注文一覧's 「選択した N 件を確認済にする」 (issue 18 item 2): the bulk dialog, its per-order result with each order's
shop and the reason of each refusal, a job over BULK_JOB_THRESHOLD."""
from __future__ import annotations

from tests.factories import bulk_dialog, create_order, create_product, map_item

HTMX = {"HX-Request": "true"}
UNMAPPED = [{"mall_item_id": "item-unmapped", "name": "番茶", "quantity": 1, "unit_price": 500}]


def _post(client, path, data):
    return client.post(path, data={"csrf_token": client.csrf, **data}, headers=HTMX)


def _mapped(client, tenant):
    create_product(client, tenant, "SKU-1")
    map_item(client, tenant, "item-1", "SKU-1")


def test_the_bulk_bar_offers_to_confirm_the_selected_orders(staff_client):
    page = " ".join(staff_client.get("/orders").text.split())
    assert 'name="action" value="confirm"' in page and "件を確認済にする" in page


def test_bulk_confirm_says_what_it_does_then_confirms_and_names_each_shop_and_refusal(staff_client, client, tenant):
    _mapped(client, tenant)
    ready = create_order(client, tenant, number="WBC-READY")
    unmapped = create_order(client, tenant, number="WBC-UNMAPPED", lines=UNMAPPED)

    dialog, chosen = bulk_dialog(staff_client, "/orders/bulk/confirm",
                                 {"action": "confirm", "order_ids": [ready["id"], unmapped["id"]]})

    text = " ".join(dialog.text.split())
    assert "一括確認" in text and "2 件の注文" in text and "確認済にする" in text
    assert "商品がマッピングされていない注文" in text
    result = _post(staff_client, "/orders/bulk", {"action": "confirm", "selection": chosen})
    text = " ".join(result.text.split())
    assert result.status_code == 200
    assert "完了 1 件" in text and "できなかった注文 1 件" in text
    assert "<th>ショップ</th>" in text and text.count("<td>テスト商店の楽天店</td>") == 2
    assert "商品がマッピングされていない明細があるため確認できません（item-unmapped）" in text
    statuses = [client.get(f"/api/v1/orders/{o['id']}", headers=tenant.headers()).json["status"] for o in (ready, unmapped)]
    assert statuses == ["confirmed", "awaiting_confirmation"]


def test_bulk_confirm_of_all_matching_orders_of_the_tab(staff_client, client, tenant):
    _mapped(client, tenant)
    orders = [create_order(client, tenant, number=f"WBC-ALL-{i}") for i in range(3)]

    _, chosen = bulk_dialog(staff_client, "/orders/bulk/confirm",
                            {"action": "confirm", "all_matching": "1", "status": "awaiting_confirmation"})
    result = _post(staff_client, "/orders/bulk", {"action": "confirm", "selection": chosen})

    assert "完了 3 件" in " ".join(result.text.split())
    assert {client.get(f"/api/v1/orders/{o['id']}", headers=tenant.headers()).json["status"] for o in orders} == {
        "confirmed"}


def test_bulk_confirm_over_the_threshold_runs_as_a_job_and_its_result_names_the_shop(
        staff_client, client, tenant, app, worker, monkeypatch):
    from tests.conftest import wait_for

    monkeypatch.setitem(app.config, "BULK_JOB_THRESHOLD", 2)
    _mapped(client, tenant)
    ids = [create_order(client, tenant, number=f"WBC-JOB-{i}")["id"] for i in range(3)]
    dialog, chosen = bulk_dialog(staff_client, "/orders/bulk/confirm", {"action": "confirm", "order_ids": ids})
    assert "バックグラウンドで実行" in dialog.text

    response = _post(staff_client, "/orders/bulk", {"action": "confirm", "selection": chosen})

    assert "<progress" in response.text
    job_url = response.text.split('hx-get="')[1].split('"')[0]
    done = wait_for(lambda: (page := staff_client.get(job_url, headers=HTMX).text) and "一括操作の結果" in page and page,
                    timeout=60, message="the bulk confirm job's result")
    text = " ".join(done.split())
    assert "完了 3 件" in text and text.count("<td>テスト商店の楽天店</td>") == 3


def test_a_tag_bulk_result_names_the_shop_too(staff_client, client, tenant):
    order = create_order(client, tenant, number="WBC-TAG")
    tag = client.post("/api/v1/tags", json={"name": "要確認"}, headers=tenant.headers()).json
    _, chosen = bulk_dialog(staff_client, "/tags/bulk-add", {"order_ids": [order["id"]]})
    result = _post(staff_client, "/tags/bulk-apply", {"selection": chosen, "tag_id": tag["id"], "mode": "add"})
    assert "<td>テスト商店の楽天店</td>" in result.text, result.text
