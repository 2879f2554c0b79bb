"""The cancel dialogs name the order's own mall (issue 18 item 6) and list キャンセル理由 as ui.md does: without RMS's
codes, the buyer's and the shop's reasons grouped, その他（ショップ都合） preselected and last (item 9)."""
from __future__ import annotations

import re

import pytest

from tests.conftest import login, make_tenant
from tests.factories import bulk_dialog, create_order

HTMX = {"HX-Request": "true"}


def _dialog(client, order) -> str:
    return " ".join(client.get(f"/orders/{order['id']}/cancel", headers=HTMX).text.split())


@pytest.mark.parametrize("mall,sentence", [
    ("yahoo", "モールには反映しません（Yahoo!ショッピングの管理画面でキャンセルしてください）。"),
    ("amazon", "モールには反映しません（Amazonの管理画面でキャンセルしてください）。"),
    ("makeshop", "モールには反映しません（MakeShopの管理画面でキャンセルしてください）。"),
    ("qoo10", "モールには反映しません（Qoo10の管理画面でキャンセルしてください）。"),
    ("shopify", "モールには反映しません（Shopifyの管理画面でキャンセルしてください）。"),
    ("other", "モールには反映しません（モールの管理画面でキャンセルしてください）。"),
    ("rakuten", "楽天RMSには反映しません（RMS側で別途キャンセルしてください）。"),
])
def test_the_cancel_dialog_names_the_orders_mall_and_never_rms_for_another_mall(app, mall, sentence):
    shop = make_tenant(app, f"{mall}の店", mall=mall)
    order = create_order(app.test_client(), shop, number=f"MALL-{mall}")
    text = _dialog(login(app.test_client(), shop.staff_email), order)
    assert sentence in text
    if mall != "rakuten":
        assert "RMS" not in text


def test_the_cancel_dialog_reads_in_english_with_the_malls_name(app):
    shop = make_tenant(app, "英語のYahoo店", mall="yahoo")
    order = create_order(app.test_client(), shop, number="MALL-EN")
    client = login(app.test_client(), shop.staff_email)
    client.post("/lang/en", data={"csrf_token": client.csrf})
    text = _dialog(client, order)
    assert "Yahoo! Shopping" in text and "RMS" not in text


def test_a_cancelled_yahoo_orders_page_says_its_cancel_was_not_sent_to_the_mall_and_where_to_cancel(app):
    shop = make_tenant(app, "取消のYahoo店", mall="yahoo")
    api = app.test_client()
    order = create_order(api, shop, number="MALL-DONE")
    api.post(f"/api/v1/orders/{order['id']}/cancel", json={}, headers=shop.headers())
    page = " ".join(login(app.test_client(), shop.staff_email).get(f"/orders/{order['id']}").text.split())
    assert "<dt>キャンセル反映</dt> <dd>モールへは反映しない（Yahoo!ショッピングの管理画面でキャンセル）</dd>" in page
    assert "楽天RMSへは反映しない" not in page


def _reasons(html: str) -> list[tuple[str, list[tuple[str, str]]]]:
    select = re.search(r'<select name="reason_code".*?</select>', html, re.S).group(0)
    return [(label, re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', body))
            for label, body in re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', select, re.S)]


BUYER = [("1", "購入者都合（キャンセル）"), ("2", "購入者都合（受取後の返品）"), ("3", "購入者都合（受取拒否・不在）"),
         ("4", "購入者都合（未入金）"), ("5", "購入者都合（代引き受取拒否）"), ("6", "購入者都合（その他）")]
SHOP = [("8", "ショップ都合（欠品）"), ("13", "ショップ都合（発送遅延）"), ("14", "ショップ都合（注意フラグ）"),
        ("15", "ショップ都合（返品：破損・品違い）"), ("10", "その他（ショップ都合）")]


def test_cancel_reasons_are_grouped_without_codes_and_the_shops_other_is_last_and_chosen(staff_client, client, tenant):
    order = create_order(client, tenant, number="REASONS")
    html = staff_client.get(f"/orders/{order['id']}/cancel", headers=HTMX).text
    assert _reasons(html) == [("購入者都合", BUYER), ("ショップ都合", SHOP)]
    assert re.search(r'<option value="10" selected>その他（ショップ都合）</option>', html)
    assert "店舗" not in html


def test_the_bulk_cancel_dialog_lists_the_same_reasons_and_says_shop(staff_client, client, tenant):
    order = create_order(client, tenant, number="REASONS-BULK")
    dialog, _ = bulk_dialog(staff_client, "/orders/bulk/confirm", {"action": "cancel", "order_ids": [order["id"]]})
    assert _reasons(dialog.text) == [("購入者都合", BUYER), ("ショップ都合", SHOP)]
    assert "このショップで再び登録できなくなります" in dialog.text and "店舗" not in dialog.text
