"""注文詳細's 編集 (issue 18): the inline form over the same service as PATCH /orders/{id} — what it offers in each
status, saving fields and lines, errors next to their fields with what was typed kept, a version conflict (R13)."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from boss.extensions import db
from boss.orders.models import Order
from tests.factories import create_order, create_product, map_item, set_request_state, set_state

HTMX = {"HX-Request": "true"}


class _Form(HTMLParser):
    """The values a browser would post from the page's edit form: inputs, checked boxes, textareas, selects."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self._in_form = self._textarea = self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and "/edit" in (a.get("action") or ""):
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit",):
            if a.get("type") != "checkbox" or "checked" in a:
                self.values[a["name"]] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values[self._textarea] = ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and ("selected" in a or self._select not in self.values):
            self.values[self._select] = a.get("value") or ""

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":  # a browser drops the newline that opens a textarea's content
            self.values[self._textarea] = re.sub(r"\A\r?\n", "", self.values[self._textarea])
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._in_form = False


def form_values(html: str) -> dict[str, str]:
    parser = _Form()
    parser.feed(html)
    return parser.values


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _open(client, order_id: int) -> dict:
    response = client.get(f"/orders/{order_id}/edit", headers=HTMX)
    assert response.status_code == 200, response.text
    return form_values(response.text)


def _save(client, order_id: int, values: dict, htmx: bool = True):
    return client.post(f"/orders/{order_id}/edit", data=values, headers=HTMX if htmx else {})


def _api_order(client, tenant, order_id):
    return client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers()).json


def _edited(client, tenant, order_id) -> list[str]:
    items = client.get(f"/api/v1/orders/{order_id}/events", headers=tenant.headers()).json["items"]
    return [e["message"] for e in items if e["kind"] == "edited"]


def test_the_edit_button_opens_the_form_holding_the_orders_fields_and_lines(staff_client, client, tenant):
    order = create_order(client, tenant, number="EDIT-OPEN", postage=600, remarks="午前中に")
    page = staff_client.get(f"/orders/{order['id']}").text
    assert re.search(r'<a class="button" href="/orders/\d+/edit" hx-get="/orders/\d+/edit" '
                     r'hx-target="#order-detail">編集</a>', page)
    values = _open(staff_client, order["id"])
    assert values["csrf_token"] and values["version"] == str(order["version"])
    assert values["buyer-name"] == "山田 花子" and values["postage"] == "600" and values["remarks"] == "午前中に"
    assert (values["lines-0-line_id"], values["lines-0-mall_item_id"], values["lines-0-quantity"]) == (
        str(order["lines"][0]["id"]), "item-1", "2")
    fragment = staff_client.get(f"/orders/{order['id']}/edit", headers=HTMX).text
    assert "<html" not in fragment and "保存" in fragment and "キャンセル" in fragment
    assert "モール連携の注文です" not in fragment  # a manual order: nothing to warn about
    # without htmx: the order page with the form open
    full = staff_client.get(f"/orders/{order['id']}/edit")
    assert full.status_code == 200 and "<html" in full.text and 'id="order-edit"' in full.text


def test_saving_changes_a_quantity_adds_a_line_and_shows_the_new_total_and_history(staff_client, client, tenant):
    order = create_order(client, tenant, number="EDIT-SAVE", postage=500)
    values = _open(staff_client, order["id"])
    # 「明細を追加」: the form comes back with an empty line more, nothing saved yet
    added = staff_client.post(f"/orders/{order['id']}/edit", data={**values, "add_line": "1"}, headers=HTMX)
    assert added.status_code == 200 and _api_order(client, tenant, order["id"])["version"] == order["version"]
    values = form_values(added.text)
    assert values["lines-1-line_id"] == "" and values["lines-1-quantity"] == "1"
    values.update({"lines-0-quantity": "3", "lines-1-mall_item_id": "item-9", "lines-1-name": "ほうじ茶",
                   "lines-1-unit_price": "800", "recipient-address": "東京都港区1-2-3"})
    response = _save(staff_client, order["id"], values)
    assert response.status_code == 200, response.text
    text = _text(response.text)
    assert "注文「EDIT-SAVE」を編集しました。" in text and 'id="order-edit"' not in response.text
    saved = _api_order(client, tenant, order["id"])
    assert saved["total"] == 3 * 1200 + 800 + 500 and f"¥{saved['total']:,}" in text
    assert saved["version"] == order["version"] + 1 and saved["recipient"]["address"] == "東京都港区1-2-3"
    [message] = _edited(client, tenant, order["id"])
    assert message.splitlines() == ["送付先 住所: （なし） → 東京都港区1-2-3", "明細1 数量: 2 → 3",
                                    "明細追加: （なし） → ほうじ茶（item-9）×1 単価800"]
    assert "明細1 数量: 2 → 3" in text  # the history on the page shows it


def test_a_removed_line_goes_and_a_confirmed_order_left_unmapped_goes_back_to_awaiting_confirmation(
        staff_client, client, tenant):
    create_product(client, tenant)
    map_item(client, tenant)
    order = create_order(client, tenant, number="EDIT-REMAP", lines=[
        {"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": 1200},
        {"mall_item_id": "item-1", "sub_code": "L", "name": "煎茶 L", "quantity": 1, "unit_price": 1500}])
    map_item(client, tenant, mall_item_id="item-1", sub_code="L")
    client.post(f"/api/v1/orders/{order['id']}/confirm", headers=tenant.headers())
    values = _open(staff_client, order["id"])
    values.update({"lines-0-remove": "y", "lines-1-mall_item_id": "item-unknown"})
    response = _save(staff_client, order["id"], values)
    assert response.status_code == 200, response.text
    saved = _api_order(client, tenant, order["id"])
    assert saved["status"] == "awaiting_confirmation"
    assert [line["mall_item_id"] for line in saved["lines"]] == ["item-unknown"]
    assert "商品がマッピングされていない明細があるため確認待です" in _text(response.text)


def test_errors_are_shown_next_to_their_fields_keeping_what_was_typed(staff_client, client, tenant):
    order = create_order(client, tenant, number="EDIT-BAD")
    values = _open(staff_client, order["id"])
    values.update({"lines-0-quantity": "0", "buyer-name": "", "remarks": "書きかけの備考", "postage": "abc"})
    response = _save(staff_client, order["id"], values)
    assert response.status_code == 422
    page = response.text
    assert re.search(r'id="lines-0-quantity-error"[^>]*>1〜9,999で入力してください。', page)
    assert re.search(r'id="buyer-name-error"[^>]*>[^<]*購入者の氏名を入力してください。', page)
    assert re.search(r'id="postage-error"[^>]*>整数で入力してください。', page)
    kept = form_values(page)
    assert kept["remarks"] == "書きかけの備考" and kept["lines-0-quantity"] == "0"
    assert _api_order(client, tenant, order["id"])["version"] == order["version"]


def test_removing_every_line_is_refused_at_the_lines_and_changes_nothing(staff_client, client, tenant):
    order = create_order(client, tenant, number="EDIT-EMPTY")
    values = _open(staff_client, order["id"])
    values.update({"lines-0-remove": "y", "remarks": "全部消す"})
    response = _save(staff_client, order["id"], values)
    assert response.status_code == 422
    assert re.search(r'id="edit-lines-error"[^>]*>明細がなくなります', response.text)
    assert form_values(response.text)["remarks"] == "全部消す"
    assert _api_order(client, tenant, order["id"])["remarks"] == ""


def test_r13_saving_over_a_change_made_meanwhile_answers_409_naming_the_order(staff_client, client, tenant):
    order = create_order(client, tenant, number="EDIT-RACE")
    values = _open(staff_client, order["id"])
    client.patch(f"/api/v1/orders/{order['id']}", json={"remarks": "先に変更"}, headers=tenant.headers())
    values["remarks"] = "後から変更"
    response = _save(staff_client, order["id"], values)
    assert response.status_code == 409
    text = _text(response.text)
    assert "注文「EDIT-RACE」は他の操作で更新されました。" in text and "もう一度操作してください。" in text
    assert "先に変更" in text and 'id="order-edit"' not in response.text  # the current state, the form closed
    assert _api_order(client, tenant, order["id"])["remarks"] == "先に変更"
    # without htmx: back to the page with the message
    again = _save(staff_client, order["id"], values, htmx=False)
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/orders/{order['id']}")


@pytest.mark.parametrize("status, shipment_status", [("completed", "shipped"), ("cancelled", None)])
def test_an_order_past_editing_shows_the_button_disabled_with_its_reason_and_refuses_the_form(
        staff_client, client, tenant, app, status, shipment_status):
    order = create_order(client, tenant)
    set_state(app, order["id"], status, shipment_status)
    page = staff_client.get(f"/orders/{order['id']}").text
    assert re.search(r'<button type="button" disabled title="[^"]+" aria-describedby="edit-why">編集</button>', page)
    assert re.search(r'<span id="edit-why">この注文は[^<]+のため編集できません。', page)
    values = {"csrf_token": staff_client.csrf, "version": str(order["version"] + 1), "remarks": "x"}
    assert staff_client.get(f"/orders/{order['id']}/edit", headers=HTMX).status_code == 409
    refused = staff_client.post(f"/orders/{order['id']}/edit", data={**values, "version": ""}, headers=HTMX)
    assert refused.status_code == 409 and "編集できません" in _text(refused.text)


def test_a_failed_shipping_request_offers_the_recipient_delivery_and_remarks_only(staff_client, client, tenant, app):
    order = create_order(client, tenant)
    set_state(app, order["id"], "awaiting_shipment", "requested")
    set_request_state(app, order["id"], "failed")
    values = _open(staff_client, order["id"])
    assert "recipient-address" in values and "remarks" in values
    assert not any(name.startswith(("buyer-", "lines-")) or name == "postage" for name in values)
    values["recipient-address"] = "大阪府大阪市北区1-1"
    assert _save(staff_client, order["id"], values).status_code == 200
    assert _api_order(client, tenant, order["id"])["recipient"]["address"] == "大阪府大阪市北区1-1"


def test_a_mall_linked_order_warns_that_rakuten_rms_is_not_changed(staff_client, client, tenant, app):
    order = create_order(client, tenant)
    with app.app_context():
        db.session.get(Order, order["id"]).mall_linked = True
        db.session.commit()
        db.session.remove()
    fragment = staff_client.get(f"/orders/{order['id']}/edit", headers=HTMX).text
    assert "モール連携の注文です。ここでの変更は楽天RMSには反映されません。" in fragment


def test_an_unchanged_form_saves_nothing(staff_client, client, tenant):
    order = create_order(client, tenant, number="EDIT-SAME")
    response = _save(staff_client, order["id"], _open(staff_client, order["id"]))
    assert response.status_code == 200 and "変更はありませんでした" in _text(response.text)
    assert _api_order(client, tenant, order["id"])["version"] == order["version"]
    assert _edited(client, tenant, order["id"]) == []


def test_csrf_saving_without_the_token_is_refused_and_changes_nothing(staff_client, client, tenant):
    order = create_order(client, tenant)
    values = _open(staff_client, order["id"])
    values.pop("csrf_token")
    values["remarks"] = "CSRF"
    assert staff_client.post(f"/orders/{order['id']}/edit", data=values).status_code == 400
    assert _api_order(client, tenant, order["id"])["remarks"] == ""


def test_another_accounts_order_is_not_found(staff_client, client, other_tenant):
    theirs = create_order(client, other_tenant)
    assert staff_client.get(f"/orders/{theirs['id']}/edit").status_code == 404
    assert staff_client.post(f"/orders/{theirs['id']}/edit", data={"csrf_token": staff_client.csrf}).status_code == 404
