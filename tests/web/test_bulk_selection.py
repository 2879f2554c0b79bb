"""Bulk actions reach exactly the orders their dialog showed (issue 11, item 1): a filter that does not resolve
is refused and changes nothing, the dialog freezes its selection, and a confirm whose matching orders changed
says so with the new count instead of acting — for cancel, delete and tags, on the screens and in the API."""
from __future__ import annotations

import pytest

from tests.conftest import login
from tests.factories import bulk_dialog, create_order, order_body

HTMX = {"HX-Request": "true"}

# Each bulk action of the list: where its dialog opens, where it is confirmed, and what the confirm posts.
ACTIONS = {
    "cancel": ("/orders/bulk/confirm", "/orders/bulk", {"action": "cancel", "reason_code": "10"}),
    "delete": ("/orders/bulk/confirm", "/orders/bulk", {"action": "delete"}),
    "add_tag": ("/tags/bulk-add", "/tags/bulk-apply", {"mode": "add"}),
}


def _tag(client, tenant, name="要確認") -> dict:
    response = client.post("/api/v1/tags", json={"name": name}, headers=tenant.headers())
    assert response.status_code == 201, response.json
    return response.json


def _tag_order(client, tenant, order, tag):
    assert client.post(f"/api/v1/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers()).status_code == 200


def _state(client, tenant, order) -> tuple:
    found = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json
    return found["status"], found["deleted"], sorted(t["name"] for t in found["tags"] if not t["system"])


def _dialog_data(action: str, **form) -> dict:
    data = {"all_matching": "1", **form}
    if action in ("cancel", "delete"):
        data["action"] = action
    return data


def _confirm(web, action: str, chosen: str, **more):
    _, confirm_path, data = ACTIONS[action]
    return web.post(confirm_path, data={"csrf_token": web.csrf, **data, "selection": chosen, **more}, headers=HTMX)


def _open(web, action: str, **form):
    """The bulk dialog of `action` over 「条件に一致する全件」 of the list `form` describes."""
    return bulk_dialog(web, ACTIONS[action][0], _dialog_data(action, **form))


def _delete_tag(web, tag_id) -> None:
    assert web.post(f"/tags/{tag_id}/delete", data={"csrf_token": web.csrf}).status_code == 303


@pytest.fixture
def backlog(client, tenant):
    """The tab 確認待: two orders tagged 要確認 and three others — a bulk action on the tag must reach two."""
    tag = _tag(client, tenant)
    tagged = [create_order(client, tenant, number=f"TAGGED-{i}") for i in range(2)]
    for order in tagged:
        _tag_order(client, tenant, order, tag)
    others = [create_order(client, tenant, number=f"OTHER-{i}") for i in range(3)]
    return tag, tagged, others


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("which", ["made_up", "another_accounts", "deleted"])
def test_a_tag_filter_that_does_not_resolve_is_refused_and_changes_nothing(
        action, which, staff_client, client, tenant, other_tenant, backlog):
    tag, tagged, others = backlog
    value = {"made_up": "987654", "another_accounts": str(_tag(client, other_tenant, "よそのタグ")["id"]),
             "deleted": str(_tag(client, tenant, "消したタグ")["id"])}[which]
    if which == "deleted":
        _delete_tag(staff_client, value)
    before = [_state(client, tenant, o) for o in tagged + others]
    response, chosen = _open(staff_client, action, status="awaiting_confirmation", tag=value)
    assert response.status_code == 404 and chosen is None and response.headers["BOSS-Refusal"]  # shown in the dialog
    assert f"絞り込みのタグ「{value}」が見つかりません" in response.text and "何も変更していません" in response.text
    assert [_state(client, tenant, o) for o in tagged + others] == before


@pytest.mark.parametrize("action", ACTIONS)
def test_a_tag_deleted_between_the_dialog_and_the_confirm_is_refused_and_changes_nothing(
        action, staff_client, client, tenant, backlog):
    tag, tagged, others = backlog
    gift = _tag(client, tenant, "ギフト")
    response, chosen = _open(staff_client, action, status="awaiting_confirmation", tag=str(tag["id"]))
    assert "2 件の注文" in response.text and chosen
    _delete_tag(staff_client, tag['id'])
    before = [_state(client, tenant, o) for o in tagged + others]
    result = _confirm(staff_client, action, chosen, tag_id=str(gift["id"]))
    assert result.status_code == 404 and f"絞り込みのタグ「{tag['id']}」が見つかりません" in result.text
    assert [_state(client, tenant, o) for o in tagged + others] == before


@pytest.mark.parametrize("action", ACTIONS)
def test_the_confirm_acts_on_the_frozen_selection_whatever_else_the_form_says(
        action, staff_client, client, tenant, backlog):
    tag, tagged, others = backlog
    gift = _tag(client, tenant, "ギフト")
    _, chosen = _open(staff_client, action, status="awaiting_confirmation", tag=str(tag["id"]))
    # A forged or stale form that would widen the selection to the whole tab is not read at confirm time.
    result = _confirm(staff_client, action, chosen, tag_id=str(gift["id"]), all_matching="1", tag="", status="",
                      order_ids=[o["id"] for o in others])
    assert result.status_code == 200 and "完了 2 件" in " ".join(result.text.split())
    assert all(_state(client, tenant, o) == ("awaiting_confirmation", False, []) for o in others)
    expected = {"cancel": ("cancelled", False), "delete": ("awaiting_confirmation", True),
                "add_tag": ("awaiting_confirmation", False)}[action]
    assert all(_state(client, tenant, o)[:2] == expected for o in tagged)


@pytest.mark.parametrize("action", ACTIONS)
def test_when_the_matching_orders_changed_the_confirm_says_so_with_the_new_count_instead_of_acting(
        action, staff_client, client, tenant, backlog):
    tag, tagged, others = backlog
    gift = _tag(client, tenant, "ギフト")
    _, chosen = _open(staff_client, action, status="awaiting_confirmation", tag=str(tag["id"]))
    late = create_order(client, tenant, number="TAGGED-LATE")
    _tag_order(client, tenant, late, tag)
    before = [_state(client, tenant, o) for o in tagged + others + [late]]
    result = _confirm(staff_client, action, chosen, tag_id=str(gift["id"]))
    text = " ".join(result.text.split())
    assert result.status_code == 409 and "条件に一致する注文が変わりました（2件 → 3件）" in text and "3 件の注文" in text
    assert [_state(client, tenant, o) for o in tagged + others + [late]] == before
    renewed = result.text.split('name="selection" value="')[1].split('"')[0]
    again = _confirm(staff_client, action, renewed, tag_id=str(gift["id"]))
    assert again.status_code == 200 and "完了 3 件" in " ".join(again.text.split())


def test_an_order_leaving_the_selection_also_stops_the_confirm(staff_client, client, tenant, backlog):
    tag, tagged, _ = backlog
    _, chosen = bulk_dialog(staff_client, "/orders/bulk/confirm",
                            _dialog_data("cancel", status="awaiting_confirmation", tag=str(tag["id"])))
    client.post(f"/api/v1/orders/{tagged[0]['id']}/cancel", json={}, headers=tenant.headers())  # someone else, meanwhile
    result = _confirm(staff_client, "cancel", chosen)
    assert result.status_code == 409 and "（2件 → 1件）" in result.text
    assert _state(client, tenant, tagged[1])[0] == "awaiting_confirmation"


@pytest.mark.parametrize("action", ACTIONS)
def test_all_matching_keeps_to_the_shop_the_list_showed_even_when_the_header_shop_changes(
        action, app, staff_client, client, tenant):
    second = client.post("/api/v1/shops", json={"name": "二号店", "mall": "yahoo"}, headers=tenant.headers("admin")).json
    gift = _tag(client, tenant, "ギフト")
    first_shop = [create_order(client, tenant, number=f"FIRST-{i}") for i in range(2)]
    second_shop = [client.post("/api/v1/orders", json={**_body(second["id"], f"SECOND-{i}")}, headers=tenant.headers()).json
                   for i in range(3)]
    staff_client.post("/shop-filter", data={"shop_id": second["id"], "csrf_token": staff_client.csrf})
    page = staff_client.get("/orders?status=awaiting_confirmation").text
    assert f'name="shop_id" value="{second["id"]}"' in page  # the bulk form carries the shop the list shows
    response, chosen = _open(staff_client, action, status="awaiting_confirmation", shop_id=str(second["id"]))
    assert "3 件の注文" in response.text
    staff_client.post("/shop-filter", data={"shop_id": "", "csrf_token": staff_client.csrf})  # another tab: all shops
    result = _confirm(staff_client, action, chosen, tag_id=str(gift["id"]))
    assert "完了 3 件" in " ".join(result.text.split())
    assert all(_state(client, tenant, o) == ("awaiting_confirmation", False, []) for o in first_shop)
    assert all(_state(client, tenant, o) != ("awaiting_confirmation", False, []) for o in second_shop)


@pytest.mark.parametrize("action", ACTIONS)
def test_a_shop_filter_of_another_account_is_refused_and_changes_nothing(action, staff_client, client, tenant, other_tenant):
    mine = create_order(client, tenant)
    response, chosen = _open(staff_client, action, shop_id=str(other_tenant.shop_id))
    assert response.status_code == 404 and chosen is None
    assert f"絞り込みのショップ「{other_tenant.shop_id}」が見つかりません" in response.text
    assert _state(client, tenant, mine) == ("awaiting_confirmation", False, [])


@pytest.mark.parametrize("action", ACTIONS)
def test_an_unknown_status_is_refused_instead_of_meaning_every_status(action, staff_client, client, tenant):
    mine = create_order(client, tenant)
    response, chosen = _open(staff_client, action, status="awaiting_confirmaton")
    assert response.status_code == 422 and chosen is None and "「awaiting_confirmaton」は不明です" in response.text
    assert _state(client, tenant, mine) == ("awaiting_confirmation", False, [])


def test_a_forged_or_another_users_selection_is_refused(app, staff_client, client, tenant):
    orders = [create_order(client, tenant) for _ in range(2)]
    _, chosen = bulk_dialog(staff_client, "/orders/bulk/confirm", {"action": "cancel", "order_ids": [orders[0]["id"]]})
    forged = _confirm(staff_client, "cancel", chosen[:-2] + ("AA" if not chosen.endswith("AA") else "BB"))
    assert forged.status_code == 422 and "有効期限が切れたか、正しくありません" in forged.text
    admin = login(app.test_client(), tenant.admin_email)
    assert _confirm(admin, "cancel", chosen).status_code == 422
    assert [_state(client, tenant, o)[0] for o in orders] == ["awaiting_confirmation"] * 2


def test_ticked_rows_are_acted_on_exactly(staff_client, client, tenant):
    orders = [create_order(client, tenant) for _ in range(3)]
    _, chosen = bulk_dialog(staff_client, "/orders/bulk/confirm", {"action": "delete", "order_ids": [orders[0]["id"]]})
    result = _confirm(staff_client, "delete", chosen, order_ids=[o["id"] for o in orders])
    assert "完了 1 件" in " ".join(result.text.split())
    assert [_state(client, tenant, o)[1] for o in orders] == [True, False, False]


def test_select_all_matching_says_when_the_tag_of_the_list_is_gone(staff_client, client, tenant, backlog):
    tag, _, _ = backlog
    assert staff_client.get(f"/orders/matching-count?tag={tag['id']}").json == {"count": 2, "over_limit": False}
    _delete_tag(staff_client, tag['id'])
    response = staff_client.get(f"/orders/matching-count?tag={tag['id']}")
    assert response.status_code == 404 and "見つかりません" in response.json["error"]


def test_a_list_whose_tag_is_gone_shows_no_order_and_its_select_all_is_refused(staff_client, client, tenant, backlog):
    """A bookmarked list of a deleted tag must not turn into the whole tab for 「条件に一致する全件」."""
    tag, tagged, others = backlog
    _delete_tag(staff_client, tag['id'])
    page = staff_client.get(f"/orders?status=awaiting_confirmation&tag={tag['id']}").text
    assert "絞り込みのタグが見つかりません" in page and "OTHER-0" not in page and "TAGGED-0" not in page
    assert f'name="tag" value="{tag["id"]}"' in page and f"tag={tag['id']}" in page.split("data-count-url=")[1][:200]
    response, chosen = bulk_dialog(staff_client, "/orders/bulk/confirm",
                                   _dialog_data("cancel", status="awaiting_confirmation", tag=str(tag["id"])))
    assert response.status_code == 404 and chosen is None
    assert all(_state(client, tenant, o)[0] == "awaiting_confirmation" for o in tagged + others)


def test_a_tag_chosen_in_the_dialog_and_deleted_before_the_confirm_is_said_in_the_dialog(staff_client, client, tenant, backlog):
    tag, tagged, _ = backlog
    gift = _tag(client, tenant, "ギフト")
    _, chosen = bulk_dialog(staff_client, "/tags/bulk-add", {"order_ids": [tagged[0]["id"]]})
    _delete_tag(staff_client, gift['id'])
    result = _confirm(staff_client, "add_tag", chosen, tag_id=str(gift["id"]))
    assert result.status_code == 404 and result.headers["BOSS-Refusal"]
    assert "タグが見つかりません" in result.text and 'name="selection"' in result.text  # the dialog, to pick again
    assert _state(client, tenant, tagged[0])[2] == ["要確認"]


def test_the_changed_notice_is_shown_also_when_no_order_matches_any_more(staff_client, client, tenant, backlog):
    tag, tagged, _ = backlog
    _, chosen = bulk_dialog(staff_client, "/orders/bulk/confirm",
                            _dialog_data("delete", status="awaiting_confirmation", tag=str(tag["id"])))
    for order in tagged:
        client.post(f"/api/v1/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    result = _confirm(staff_client, "delete", chosen)
    assert result.status_code == 409 and "（2件 → 0件）" in result.text and "注文が選択されていません" in result.text


def test_a_selection_frozen_for_one_action_is_refused_by_another(staff_client, client, tenant):
    order = create_order(client, tenant)
    _, for_tags = bulk_dialog(staff_client, "/tags/bulk-add", {"order_ids": [order["id"]]})
    _, for_retry = bulk_dialog(staff_client, "/orders/bulk/confirm", {"action": "retry_reflection", "order_ids": [order["id"]]})
    assert _confirm(staff_client, "cancel", for_tags).status_code == 422
    assert _confirm(staff_client, "cancel", for_retry).status_code == 422
    assert _state(client, tenant, order)[0] == "awaiting_confirmation"


def test_ticked_ids_that_are_not_the_accounts_orders_are_not_counted(staff_client, client, tenant, other_tenant):
    mine = create_order(client, tenant)
    theirs = create_order(client, other_tenant)
    response, _ = bulk_dialog(staff_client, "/orders/bulk/confirm",
                              {"action": "cancel", "order_ids": [mine["id"], theirs["id"], 987654]})
    assert "1 件の注文" in response.text


@pytest.mark.parametrize("digit", ["²", "١", "１"])
def test_digits_that_are_not_ascii_are_refused_not_a_server_error(digit, staff_client, client, tenant):
    """`str.isdigit()` takes '²' (which int() refuses: a 500) and '١', '１' (which int() reads)."""
    order = create_order(client, tenant)
    answers = [
        staff_client.get(f"/orders?tag={digit}"),
        staff_client.get(f"/orders/matching-count?tag={digit}"),
        staff_client.get(f"/orders/matching-count?shop_id={digit}"),
        bulk_dialog(staff_client, "/orders/bulk/confirm", {"action": "cancel", "order_ids": [digit]})[0],
        bulk_dialog(staff_client, "/tags/bulk-add", _dialog_data("add_tag", tag=digit))[0],
        staff_client.post(f"/orders/{order['id']}/cancel", data={"csrf_token": staff_client.csrf, "reason_code": digit},
                          headers=HTMX),
        staff_client.post(f"/orders/{order['id']}/cancel", data={"csrf_token": staff_client.csrf, "version": digit},
                          headers=HTMX),
        staff_client.post(f"/orders/{order['id']}/tags", data={"csrf_token": staff_client.csrf, "tag_id": digit},
                          headers=HTMX),
        staff_client.post("/shop-filter", data={"csrf_token": staff_client.csrf, "shop_id": digit}),
        staff_client.get(f"/products?page={digit}"),
        staff_client.get(f"/mapping?page={digit}"),
    ]
    assert [a.status_code for a in answers if a.status_code >= 500] == []
    assert _state(client, tenant, order)[0] == "awaiting_confirmation"


def test_a_bulk_cancel_reason_that_is_not_one_is_refused_not_replaced(staff_client, client, tenant):
    order = create_order(client, tenant)
    _, chosen = bulk_dialog(staff_client, "/orders/bulk/confirm", {"action": "cancel", "order_ids": [order["id"]]})
    result = _confirm(staff_client, "cancel", chosen, reason_code="abc")
    assert result.status_code == 422 and "キャンセル理由が正しくありません" in result.text
    assert _state(client, tenant, order)[0] == "awaiting_confirmation"


def _body(shop_id: int, number: str) -> dict:
    return order_body(shop_id, number)


# ---------------------------------------------------------------- the bulk API


def _bulk(client, tenant, **body):
    return client.post("/api/v1/orders/bulk", json=body, headers=tenant.headers())


API_ACTIONS = ["cancel", "delete", "add_tag"]


@pytest.mark.parametrize("action", API_ACTIONS)
@pytest.mark.parametrize("which", ["made_up", "another_accounts", "deleted"])
def test_api_bulk_with_a_tag_filter_that_does_not_resolve_answers_404_naming_it(
        action, which, staff_client, client, tenant, other_tenant, backlog):
    tag, tagged, others = backlog
    value = {"made_up": "no_such_tag", "another_accounts": _tag(client, other_tenant, "よそのタグ")["id"],
             "deleted": _tag(client, tenant, "消したタグ")["id"]}[which]
    if which == "deleted":
        _delete_tag(staff_client, value)
    before = [_state(client, tenant, o) for o in tagged + others]
    extra = {"tag_id": tag["id"]} if action == "add_tag" else {}
    response = _bulk(client, tenant, action=action, filter={"status": "awaiting_confirmation", "tag": value}, **extra)
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    assert f"「{value}」" in response.json["error"]["message"]
    assert [_state(client, tenant, o) for o in tagged + others] == before


@pytest.mark.parametrize("action", API_ACTIONS)
def test_api_bulk_with_a_shop_filter_of_another_account_answers_404_and_one_of_its_own_keeps_to_it(
        action, client, tenant, other_tenant):
    gift = _tag(client, tenant, "ギフト")
    extra = {"tag_id": gift["id"]} if action == "add_tag" else {}
    second = client.post("/api/v1/shops", json={"name": "二号店", "mall": "yahoo"}, headers=tenant.headers("admin")).json
    first_shop = create_order(client, tenant)
    in_second = client.post("/api/v1/orders", json=_body(second["id"], "SECOND-1"), headers=tenant.headers()).json
    refused = _bulk(client, tenant, action=action, filter={"shop_id": other_tenant.shop_id}, **extra)
    assert refused.status_code == 404 and f"「{other_tenant.shop_id}」" in refused.json["error"]["message"]
    assert _state(client, tenant, first_shop) == _state(client, tenant, in_second) == ("awaiting_confirmation", False, [])
    done = _bulk(client, tenant, action=action, filter={"shop_id": second["id"]}, **extra)
    assert done.status_code == 200 and [i["order_id"] for i in done.json["result"]["items"]] == [in_second["id"]]
    assert _state(client, tenant, first_shop) == ("awaiting_confirmation", False, [])


@pytest.mark.parametrize("action", API_ACTIONS)
def test_api_bulk_with_an_unknown_status_answers_422_and_does_nothing(action, client, tenant):
    gift = _tag(client, tenant, "ギフト")
    order = create_order(client, tenant)
    extra = {"tag_id": gift["id"]} if action == "add_tag" else {}
    response = _bulk(client, tenant, action=action, filter={"status": "pending"}, **extra)
    assert response.status_code == 422 and "status" in response.json["error"]["fields"]
    assert _state(client, tenant, order) == ("awaiting_confirmation", False, [])


@pytest.mark.parametrize("blank", [{"tag": ""}, {"tag": "  "}, {"tag": None}, {"shop_id": ""}, {"status": ""},
                                   {"q": ""}, {"mall_order_number": " "}, {"status": ["cancelled"]}])
def test_api_bulk_with_a_blank_condition_is_refused_instead_of_reaching_every_order(blank, client, tenant):
    orders = [create_order(client, tenant) for _ in range(2)]
    response = _bulk(client, tenant, action="delete", filter=blank)
    assert response.status_code == 422 and f"filter.{next(iter(blank))}" in response.json["error"]["fields"]
    assert [_state(client, tenant, o)[1] for o in orders] == [False, False]


@pytest.mark.parametrize("body", [{"filter": {}}, {"filter": []}, {"filter": "all"},
                                  {"order_ids": [1], "filter": {"status": "awaiting_confirmation"}},
                                  {"order_ids": [], "filter": {"status": "awaiting_confirmation"}}])
def test_api_bulk_with_an_empty_filter_or_both_ids_and_filter_is_refused(body, client, tenant):
    orders = [create_order(client, tenant) for _ in range(2)]
    body = {k: ([orders[0]["id"]] if v == [1] else v) for k, v in body.items()}
    response = _bulk(client, tenant, action="cancel", **body)
    assert response.status_code == 422 and "filter" in response.json["error"]["fields"]
    assert [_state(client, tenant, o)[0] for o in orders] == ["awaiting_confirmation"] * 2


def test_api_bulk_adds_and_removes_a_tag_on_the_matching_orders(client, tenant, other_tenant, backlog):
    tag, tagged, others = backlog
    gift = _tag(client, tenant, "ギフト")
    added = _bulk(client, tenant, action="add_tag", tag_id=gift["id"], filter={"tag": tag["id"]})
    assert added.status_code == 200 and added.json["result"]["done"] == 2
    assert all("ギフト" in _state(client, tenant, o)[2] for o in tagged)
    assert all("ギフト" not in _state(client, tenant, o)[2] for o in others)
    removed = _bulk(client, tenant, action="remove_tag", tag_id=gift["id"], order_ids=[tagged[0]["id"]])
    assert removed.json["result"]["done"] == 1 and "ギフト" not in _state(client, tenant, tagged[0])[2]
    theirs = _tag(client, other_tenant, "よそのタグ")
    assert _bulk(client, tenant, action="add_tag", tag_id=theirs["id"], order_ids=[tagged[0]["id"]]).status_code == 404  # R14
    missing = _bulk(client, tenant, action="add_tag", order_ids=[tagged[0]["id"]])
    assert missing.status_code == 422 and "tag_id" in missing.json["error"]["fields"]
