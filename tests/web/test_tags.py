"""タグ: system tags explained, custom tags made, and one tag added to (or removed from) many orders."""
from __future__ import annotations

import re

from sqlalchemy import select

from boss.extensions import db
from boss.orders import rules
from boss.orders.models import Tag
from tests.conftest import wait_for
from tests.factories import bulk_dialog, create_order, create_product, map_item

HTMX = {"HX-Request": "true"}


def _make_tag(client, tenant, name="ギフト包装", color="#16a085", holds=False) -> dict:
    response = client.post("/api/v1/tags", json={"name": name, "color": color, "holds": holds}, headers=tenant.headers())
    assert response.status_code == 201, response.json
    return response.json


def _custom_tags(app) -> list[tuple[str, str, bool]]:
    with app.app_context():
        return [(t.name, t.color, t.holds) for t in db.session.scalars(select(Tag).where(Tag.system.is_(False)).order_by(Tag.id))]


def _tag_names(client, tenant, order_id) -> list[str]:
    return [t["name"] for t in client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers()).json["tags"]]


def _create(client, csrf=True, **fields):
    data = {"name": "要確認", "color": "#e67e22", **fields}
    if csrf:
        data["csrf_token"] = client.csrf
    return client.post("/tags", data=data)


def test_the_page_and_its_htmx_fragment_come_from_one_url(staff_client):
    page = staff_client.get("/tags")
    fragment = staff_client.get("/tags", headers=HTMX)
    assert page.status_code == 200 and "<html" in page.text and "<html" not in fragment.text
    assert "システムタグ" in fragment.text and "カスタムタグを作成" in fragment.text
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]


def test_every_system_tag_is_listed_with_its_meaning_when_it_is_cleared_and_whether_it_holds(staff_client):
    page = staff_client.get("/tags").text
    system = page[page.index('id="system-title"'):]
    for spec in rules.SYSTEM_TAGS:
        assert spec.name in system and spec.meaning in system
    assert "外れません" in system and "すべての明細がマッピングされたとき" in system
    held_rows = [row for row in system.split("<tr") if "hold-chip" in row]
    assert len(held_rows) == sum(1 for spec in rules.SYSTEM_TAGS if spec.holds)


def test_custom_tags_show_name_colour_holds_and_how_many_orders_carry_them(staff_client, client, tenant):
    tag = _make_tag(client, tenant, "要確認（電話）", "#e67e22", holds=True)
    order = create_order(client, tenant)
    client.post(f"/api/v1/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    page = staff_client.get("/tags").text
    custom = page[page.index('id="custom-title"'):page.index('id="system-title"')]
    assert "要確認（電話）" in custom and "#e67e22" in custom and "hold-chip" in custom
    assert f'href="/search?tag={tag["id"]}"' in custom and "1 件" in custom


def test_r14_custom_tags_of_another_account_are_not_listed(staff_client, client, other_tenant):
    _make_tag(client, other_tenant, "よその秘密タグ")
    assert "よその秘密タグ" not in staff_client.get("/tags").text


def test_creating_a_custom_tag_with_colour_and_hold(staff_client, app):
    response = _create(staff_client, name="  要確認  ", color="#E67E22", holds="y")
    assert response.status_code == 303 and response.headers["Location"].endswith("/tags")
    assert _custom_tags(app) == [("要確認", "#e67e22", True)]
    assert "タグ「要確認」を作成しました。" in staff_client.get("/tags").text
    assert _create(staff_client, name="ギフト").status_code == 303
    assert _custom_tags(app)[1] == ("ギフト", "#e67e22", False)


def test_bad_input_shows_errors_next_to_the_fields_and_creates_nothing(staff_client, app):
    empty = _create(staff_client, name="   ")
    assert empty.status_code == 422 and "タグ名を入力してください。" in empty.text
    too_long = _create(staff_client, name="長" * 41)
    assert too_long.status_code == 422 and "40文字以内で入力してください。" in too_long.text
    bad_colour = _create(staff_client, color="red")
    assert bad_colour.status_code == 422 and "#RRGGBB" in bad_colour.text
    assert 'aria-invalid="true"' in bad_colour.text
    assert _custom_tags(app) == []
    assert _create(staff_client, name="長" * 40).status_code == 303


def test_a_duplicate_name_or_a_system_tags_name_is_refused_on_the_name_field(staff_client, client, tenant, app):
    _make_tag(client, tenant, "ギフト包装")
    duplicate = _create(staff_client, name="ギフト包装")
    assert duplicate.status_code == 409 and "タグ「ギフト包装」は既にあります。" in duplicate.text
    system_name = _create(staff_client, name="商品未マッピング")
    assert system_name.status_code == 409 and "システムタグの名前です" in system_name.text
    assert _custom_tags(app) == [("ギフト包装", "#16a085", False)]


def test_csrf_creating_without_the_token_is_refused_and_creates_nothing(staff_client, app):
    assert _create(staff_client, csrf=False).status_code == 400
    assert _custom_tags(app) == []


def test_tag_names_are_shown_as_text_never_as_markup(staff_client, client, tenant):
    _make_tag(client, tenant, "<script>x()</script>")
    page = staff_client.get("/tags").text
    assert "<script>x()</script>" not in page and "&lt;script&gt;x()&lt;/script&gt;" in page
    order = create_order(client, tenant)
    dialog = staff_client.post("/tags/bulk-add", data={"order_ids": order["id"], "csrf_token": staff_client.csrf},
                               headers=HTMX).text
    assert "<script>x()</script>" not in dialog and "&lt;script&gt;x()&lt;/script&gt;" in dialog


# ---------------------------------------------------------------- bulk

def test_the_bulk_bar_offers_add_tag_and_its_dialog_lists_the_custom_tags(staff_client, client, tenant):
    gift = _make_tag(client, tenant, "ギフト包装")
    orders = [create_order(client, tenant) for _ in range(2)]
    assert 'hx-post="/tags/bulk-add"' in staff_client.get("/orders").text
    response = staff_client.post("/tags/bulk-add", data={"order_ids": [o["id"] for o in orders], "csrf_token": staff_client.csrf},
                                 headers=HTMX)
    dialog = response.text
    assert response.status_code == 200 and "<html" not in dialog
    assert 'class="dialog-body"' in dialog and 'id="dialog-title"' in dialog and "data-close-dialog" in dialog
    assert "2 件の注文" in dialog and f'name="tag_id" value="{gift["id"]}"' in dialog
    assert "商品未マッピング" not in dialog  # system tags are not offered
    assert dialog.count('name="selection"') == 1  # the two orders, frozen (the confirm acts on exactly them)


def test_the_dialog_says_so_when_nothing_is_selected_or_there_is_no_custom_tag(staff_client, client, tenant):
    nothing = staff_client.post("/tags/bulk-add", data={"csrf_token": staff_client.csrf}, headers=HTMX).text
    assert "注文が選択されていません。" in nothing
    order = create_order(client, tenant)
    no_tags = staff_client.post("/tags/bulk-add", data={"order_ids": order["id"], "csrf_token": staff_client.csrf},
                                headers=HTMX).text
    assert "カスタムタグがありません。" in no_tags and 'href="/tags"' in no_tags


def test_adding_a_tag_to_many_orders_reports_per_order_what_was_done_or_refused(staff_client, client, tenant, other_tenant):
    tag = _make_tag(client, tenant, "ギフト包装")
    fresh = create_order(client, tenant, number="ADD-1")
    tagged = create_order(client, tenant, number="ADD-2")
    client.post(f"/api/v1/orders/{tagged['id']}/tags/{tag['id']}", headers=tenant.headers())
    deleted = create_order(client, tenant, number="ADD-DEL")
    client.delete(f"/api/v1/orders/{deleted['id']}", headers=tenant.headers())
    theirs = create_order(client, other_tenant, number="THEIRS-1")
    ids = [fresh["id"], tagged["id"], deleted["id"], theirs["id"]]
    _, chosen = bulk_dialog(staff_client, "/tags/bulk-add", {"order_ids": ids})
    response = staff_client.post("/tags/bulk-apply", data={"selection": chosen, "tag_id": tag["id"], "mode": "add",
                                                            "csrf_token": staff_client.csrf}, headers=HTMX)
    result = response.text
    assert response.status_code == 200 and 'class="dialog-body bulk-result" data-refresh-list' in result
    assert "完了 2 件" in result and "できなかった注文 1 件" in result
    assert "追加しました" in result and "既に付いていました（変更なし）" in result
    assert "ADD-DEL" in result and "削除済みの注文は操作できません。" in result
    assert "THEIRS-1" not in result  # R14: another account's id is left out of the selection, its number never shown
    assert "ギフト包装" in _tag_names(client, tenant, fresh["id"])
    assert "ギフト包装" not in _tag_names(client, tenant, deleted["id"])
    assert "ギフト包装" not in _tag_names(client, other_tenant, theirs["id"])


def test_removing_a_tag_from_many_orders(staff_client, client, tenant):
    tag = _make_tag(client, tenant, "要確認", holds=True)
    tagged, plain = create_order(client, tenant, number="RM-1"), create_order(client, tenant, number="RM-2")
    client.post(f"/api/v1/orders/{tagged['id']}/tags/{tag['id']}", headers=tenant.headers())
    _, chosen = bulk_dialog(staff_client, "/tags/bulk-add", {"order_ids": [tagged["id"], plain["id"]]})
    result = staff_client.post("/tags/bulk-apply", data={"selection": chosen, "tag_id": tag["id"],
                                                          "mode": "remove", "csrf_token": staff_client.csrf}, headers=HTMX).text
    assert "タグ「要確認」を外す" in result and "外しました" in result and "付いていませんでした（変更なし）" in result
    assert "要確認" not in _tag_names(client, tenant, tagged["id"])


def test_select_all_matching_covers_every_order_of_the_tab(staff_client, client, tenant):
    tag = _make_tag(client, tenant)
    orders = [create_order(client, tenant) for _ in range(3)]
    dialog, chosen = bulk_dialog(staff_client, "/tags/bulk-add", {"all_matching": "1", "status": "awaiting_confirmation"})
    assert "3 件の注文" in dialog.text and chosen
    result = staff_client.post("/tags/bulk-apply", data={"selection": chosen, "mode": "add",
                                                          "tag_id": tag["id"], "csrf_token": staff_client.csrf}, headers=HTMX).text
    assert "完了 3 件" in result
    assert all("ギフト包装" in _tag_names(client, tenant, o["id"]) for o in orders)


def test_r14_a_tag_of_another_account_is_not_found(staff_client, client, tenant, other_tenant):
    theirs = _make_tag(client, other_tenant, "よそのタグ")
    _make_tag(client, tenant, "うちのタグ")  # the dialog offers the account's own tags
    order = create_order(client, tenant)
    _, chosen = bulk_dialog(staff_client, "/tags/bulk-add", {"order_ids": order["id"]})
    response = staff_client.post("/tags/bulk-apply", data={"selection": chosen, "tag_id": theirs["id"], "mode": "add",
                                                            "csrf_token": staff_client.csrf}, headers=HTMX)
    assert response.status_code == 404, response.text
    assert "よそのタグ" not in _tag_names(client, tenant, order["id"])


def test_applying_without_a_tag_chosen_asks_for_one(staff_client, client, tenant):
    _make_tag(client, tenant)
    order = create_order(client, tenant)
    _, chosen = bulk_dialog(staff_client, "/tags/bulk-add", {"order_ids": order["id"]})
    response = staff_client.post("/tags/bulk-apply", data={"selection": chosen, "mode": "add",
                                                            "csrf_token": staff_client.csrf}, headers=HTMX)
    assert response.status_code == 422 and "タグを選んでください。" in response.text


def test_csrf_a_bulk_change_without_the_token_is_refused_and_changes_nothing(staff_client, client, tenant):
    tag = _make_tag(client, tenant)
    order = create_order(client, tenant)
    _, chosen = bulk_dialog(staff_client, "/tags/bulk-add", {"order_ids": order["id"]})
    response = staff_client.post("/tags/bulk-apply", data={"selection": chosen, "tag_id": tag["id"], "mode": "add"},
                                 headers=HTMX)
    assert response.status_code == 400 and "ギフト包装" not in _tag_names(client, tenant, order["id"])


def test_a_bulk_change_over_the_threshold_runs_as_a_job_with_progress_then_the_per_order_result(
        staff_client, client, tenant, other_tenant, app, worker, monkeypatch):
    monkeypatch.setitem(app.config, "BULK_JOB_THRESHOLD", 3)
    tag = _make_tag(client, tenant)
    orders = [create_order(client, tenant) for _ in range(5)]
    client.post(f"/api/v1/orders/{orders[0]['id']}/tags/{tag['id']}", headers=tenant.headers())  # has it already
    client.delete(f"/api/v1/orders/{orders[1]['id']}", headers=tenant.headers())  # R8: refused, with the reason
    theirs = create_order(client, other_tenant)  # R14: another account's id is left out, its number never shown
    ids = [o["id"] for o in orders] + [theirs["id"]]
    dialog, chosen = bulk_dialog(staff_client, "/tags/bulk-add", {"order_ids": ids})
    assert "3件を超えるため、バックグラウンドで実行し進捗を表示します。" in dialog.text

    started = staff_client.post("/tags/bulk-apply", data={"selection": chosen, "tag_id": tag["id"], "mode": "add",
                                                          "csrf_token": staff_client.csrf}, headers=HTMX)
    assert started.status_code == 200 and "<progress" in started.text
    progress_url = re.search(r'hx-get="([^"]+/progress)"', started.text).group(1)
    result = wait_for(lambda: (r := staff_client.get(progress_url, headers=HTMX).text) and "<progress" not in r and r,
                      message="the bulk tag job's result")
    assert "タグ「ギフト包装」の追加" in result and "完了 4 件" in result and "できなかった注文 1 件" in result
    assert "既に付いていました（変更なし）" in result and "追加しました" in result
    assert "削除済みの注文" in result and theirs["mall_order_number"] not in result
    assert all("ギフト包装" in _tag_names(client, tenant, o["id"]) for o in orders[2:])


# ---------------------------------------------------------------- editing and deleting a custom tag

def _events(client, tenant, order_id) -> list[dict]:
    return client.get(f"/api/v1/orders/{order_id}/events", headers=tenant.headers()).json["items"]


def _version(client, tenant, order_id) -> int:
    return client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers()).json["version"]


def _custom_names(client, tenant, order_id) -> list[str]:
    system = {spec.name for spec in rules.SYSTEM_TAGS}
    return [name for name in _tag_names(client, tenant, order_id) if name not in system]


def test_custom_tags_have_an_edit_link_and_system_tags_none(staff_client, client, tenant):
    tag = _make_tag(client, tenant)
    page = staff_client.get("/tags").text
    assert f'href="/tags/{tag["id"]}/edit"' in page
    system_part = page[page.index('id="system-title"'):]
    assert "/edit" not in system_part
    edit = staff_client.get(f"/tags/{tag['id']}/edit")
    assert edit.status_code == 200 and 'value="ギフト包装"' in edit.text and "削除する" in edit.text


def test_editing_a_tag_changes_its_name_colour_and_hold_and_the_orders_keep_it(staff_client, client, tenant, app):
    tag = _make_tag(client, tenant)
    order = create_order(client, tenant, number="TAG-EDIT")
    client.post(f"/api/v1/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    response = staff_client.post(f"/tags/{tag['id']}", data={"csrf_token": staff_client.csrf, "name": "のし対応",
                                                             "color": "#8E44AD", "holds": "y"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/tags")
    assert "タグ「のし対応」を保存しました。" in staff_client.get("/tags").text
    assert _custom_tags(app) == [("のし対応", "#8e44ad", True)]
    assert _custom_names(client, tenant, order["id"]) == ["のし対応"]


def test_a_tag_made_holding_blocks_the_confirm_of_the_orders_carrying_it(staff_client, client, tenant):
    tag = _make_tag(client, tenant, name="電話確認")
    create_product(client, tenant)
    map_item(client, tenant)
    order = create_order(client, tenant, number="TAG-HOLD")
    client.post(f"/api/v1/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    staff_client.post(f"/tags/{tag['id']}", data={"csrf_token": staff_client.csrf, "name": "電話確認",
                                                  "color": "#16a085", "holds": "y"})
    refused = client.post(f"/api/v1/orders/{order['id']}/confirm", headers=tenant.headers())
    assert refused.status_code == 409 and "電話確認" in refused.json["error"]["message"]


def test_editing_refuses_a_taken_name_or_bad_colour_on_the_field_and_changes_nothing(staff_client, client, tenant, app):
    _make_tag(client, tenant, name="既存")
    tag = _make_tag(client, tenant, name="変更前")
    for fields, error in [({"name": "既存"}, "タグ「既存」は既にあります。"),
                          ({"name": rules.SYSTEM_TAGS[0].name}, "はシステムタグの名前です"),
                          ({"name": "   "}, "タグ名を入力してください。"),
                          ({"color": "red"}, "#RRGGBB の形式で指定してください。")]:
        data = {"csrf_token": staff_client.csrf, "name": "変更前", "color": "#16a085", **fields}
        response = staff_client.post(f"/tags/{tag['id']}", data=data)
        assert response.status_code in (409, 422) and error in response.text, fields
    assert _custom_tags(app) == [("既存", "#16a085", False), ("変更前", "#16a085", False)]


def test_r12_deleting_a_tag_takes_it_off_every_order_with_a_history_event_and_a_new_version(staff_client, client, tenant, app):
    tag = _make_tag(client, tenant, name="セール")
    keep = _make_tag(client, tenant, name="ギフト")
    carrying = [create_order(client, tenant, number=f"TAG-DEL-{i}") for i in range(3)]
    other = create_order(client, tenant, number="TAG-DEL-X")
    for order in carrying:
        client.post(f"/api/v1/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    client.post(f"/api/v1/orders/{carrying[0]['id']}/tags/{keep['id']}", headers=tenant.headers())
    client.delete(f"/api/v1/orders/{carrying[2]['id']}", headers=tenant.headers())  # R8: deleted, still carries it
    before = {o["id"]: _version(client, tenant, o["id"]) for o in carrying[:2] + [other]}
    page = staff_client.get(f"/tags/{tag['id']}/edit").text
    assert "このタグは 3 件の注文に付いています。" not in page  # the deleted order is not counted
    assert "このタグは 2 件の注文に付いています。" in page

    response = staff_client.post(f"/tags/{tag['id']}/delete", data={"csrf_token": staff_client.csrf})
    assert response.status_code == 303
    assert "タグ「セール」を削除しました（3 件の注文から外しました）。" in staff_client.get("/tags").text
    assert [name for name, *_ in _custom_tags(app)] == ["ギフト"]
    assert _custom_names(client, tenant, carrying[0]["id"]) == ["ギフト"]
    assert _custom_names(client, tenant, carrying[1]["id"]) == []
    for order in carrying[:2]:
        assert _version(client, tenant, order["id"]) == before[order["id"]] + 1  # R13: a row showing the tag is stale
        last = _events(client, tenant, order["id"])[-1]
        assert last["kind"] == "tag_removed" and last["message"] == "タグ「セール」を削除したため外しました。"
    assert _version(client, tenant, other["id"]) == before[other["id"]]
    assert _events(client, tenant, other["id"])[-1]["kind"] != "tag_removed"


def test_r14_system_tags_and_another_accounts_tags_cannot_be_edited_or_deleted(staff_client, client, tenant, other_tenant, app):
    theirs = _make_tag(client, other_tenant, name="よそのタグ")
    create_order(client, tenant, number="TAG-SYS")  # makes the account's system tags
    with app.app_context():
        system = db.session.scalars(select(Tag).where(Tag.account_id == tenant.account_id, Tag.system.is_(True))).first()
        system_id = system.id
    for tag_id in (theirs["id"], system_id, 987654):
        assert staff_client.get(f"/tags/{tag_id}/edit").status_code == 404
        assert staff_client.post(f"/tags/{tag_id}", data={"csrf_token": staff_client.csrf, "name": "x",
                                                          "color": "#000000"}).status_code == 404
        assert staff_client.post(f"/tags/{tag_id}/delete", data={"csrf_token": staff_client.csrf}).status_code == 404
    assert _custom_tags(app) == [("よそのタグ", "#16a085", False)]


def test_csrf_editing_or_deleting_without_the_token_is_refused_and_changes_nothing(staff_client, client, tenant, app):
    tag = _make_tag(client, tenant)
    assert staff_client.post(f"/tags/{tag['id']}", data={"name": "x", "color": "#000000"}).status_code == 400
    assert staff_client.post(f"/tags/{tag['id']}/delete").status_code == 400
    assert _custom_tags(app) == [("ギフト包装", "#16a085", False)]
