"""Japanese by default, English through Flask-Babel: the screens, and the catalog behind them.

The catalog is translations/en/LC_MESSAGES/messages.po, compiled to messages.mo next to it. To refresh it:
  pybabel extract -F babel.cfg -k _ -k gettext -k lazy_gettext -k _l --no-wrap -o translations/messages.pot .
  pybabel update --no-wrap -i translations/messages.pot -d translations   # then translate the new entries
  pybabel compile -d translations
"""
from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from boss.orders import rules
from tests.factories import create_order, set_state

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "translations" / "en" / "LC_MESSAGES"
KEYWORDS = ("_", "gettext", "lazy_gettext", "_l")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")
HTMX = {"HX-Request": "true"}


def _to_english(client):
    response = client.post("/lang/en", data={"csrf_token": client.csrf})
    assert response.status_code == 302


def _po():
    with open(CATALOG / "messages.po", "rb") as f:
        return read_po(f)


def _messages(catalog) -> dict[str, str]:
    return {message.id: message.string for message in catalog if message.id}


# ---------------------------------------------------------------- the screens

@pytest.mark.parametrize("accept_language", [None, "en-US,en;q=0.9", "en"])
def test_screens_are_japanese_by_default_whatever_the_browser_asks(staff_client, client, tenant, accept_language):
    create_order(client, tenant, number="I18N-JA")
    headers = {"Accept-Language": accept_language} if accept_language else {}
    page = staff_client.get("/orders", headers=headers).text
    assert '<html lang="ja">' in page
    assert "注文一覧" in page and "モール注文番号" in page and "I18N-JA" in page
    assert ">キャンセル</button>" in page and ">削除</button>" in page
    assert "Cancel</button>" not in page and "Orders</a>" not in page


def test_after_choosing_english_the_order_list_reads_in_english(staff_client, client, tenant):
    create_order(client, tenant, number="I18N-EN")
    _to_english(staff_client)
    page = staff_client.get("/orders").text
    assert '<html lang="en">' in page
    assert ">Orders</a>" in page and ">Shipments</a>" in page and ">Search</a>" in page
    assert "Mall order number" in page and "Order status" in page and "Shipment status" in page
    assert ">Cancel</button>" in page and ">Delete</button>" in page
    assert rules.STATUS_LABELS_EN[rules.AWAITING_CONFIRMATION] in page  # status labels: rules.py, not gettext
    assert "Needs attention" in page
    assert "注文一覧" not in page and ">キャンセル</button>" not in page and "モール注文番号" not in page
    assert "I18N-EN" in page  # data stays as it is


def test_the_choice_of_english_lasts_and_can_be_undone(staff_client):
    _to_english(staff_client)
    assert ">Orders</a>" in staff_client.get("/shipments").text
    staff_client.post("/lang/ja", data={"csrf_token": staff_client.csrf})
    page = staff_client.get("/orders").text
    assert '<html lang="ja">' in page and "注文一覧" in page


def test_the_cancel_dialog_reads_in_english(staff_client, client, tenant):
    order = create_order(client, tenant, number="I18N-DLG")
    _to_english(staff_client)
    dialog = unescape(staff_client.get(f"/orders/{order['id']}/cancel?version={order['version']}", headers=HTMX).text)
    assert "<html" not in dialog
    assert "Cancel order" in dialog
    assert "This order will be cancelled. A cancel cannot be undone." in dialog
    assert "The mall order number “I18N-DLG” can never be registered again in this shop." in dialog
    assert "Cancel reason" in dialog and "Back" in dialog
    assert "キャンセル" not in dialog and "戻る" not in dialog


def test_r1_the_refusal_tooltip_reads_in_english(staff_client, client, tenant, app):
    order = create_order(client, tenant, number="I18N-R1")
    set_state(app, order["id"], rules.SHIPPING_IN_PROGRESS, rules.SHIPPING)
    _to_english(staff_client)
    page = unescape(staff_client.get("/orders").text)
    english = rules.REASON_CANCEL_WHILE_SHIPPING.en
    row = re.search(r'<tr id="order-%d".*?</tr>' % order["id"], page, re.S).group(0)
    assert re.search(r'<button[^>]*act-cancel[^>]*disabled[^>]*title="%s"' % re.escape(english), row)
    assert f'<span id="cancel-why-{order["id"]}" class="sr-only">{english}</span>' in row
    assert rules.REASON_CANCEL_WHILE_SHIPPING.ja not in page
    dialog = unescape(staff_client.get(f"/orders/{order['id']}/cancel", headers=HTMX).text)
    assert english in dialog and "Cancel order" in dialog


def test_r12_the_history_reads_in_english_also_for_events_written_before_the_switch(staff_client, client, tenant, app):
    order = create_order(client, tenant, number="I18N-HIST")
    client.post(f"/api/v1/orders/{order['id']}/cancel", json={"reason_code": 8}, headers=tenant.headers())
    with app.app_context():  # a system tag raised by the import job, as it is stored: in Japanese
        from boss.extensions import db
        from boss.orders import frame, history
        from boss.orders.actor import Actor
        from boss.orders.models import Order
        from boss.outbox import commit_and_dispatch
        stored = db.session.get(Order, order["id"])
        frame.raise_system_tag(stored, "multiple_destinations", Actor.job(stored.account_id, history.IMPORT_ACTOR.ja))
        commit_and_dispatch()
        db.session.remove()
    japanese = unescape(staff_client.get(f"/orders/{order['id']}").text)
    assert "キャンセル理由: ショップ都合（欠品）" in japanese and "楽天RMS取込" in japanese
    _to_english(staff_client)
    page = unescape(staff_client.get(f"/orders/{order['id']}").text)
    history_part = page[page.index('id="h-history"'):page.index("</table>", page.index('id="h-history"'))]
    assert "Cancel reason: Shop: out of stock" in history_part
    assert "Rakuten RMS import" in history_part and "Several destinations" in history_part
    assert rules.SYSTEM_TAGS_BY_CODE["multiple_destinations"].meaning_en in page  # the tag panel says what it means
    assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", history_part), history_part


# ---------------------------------------------------------------- the catalog

def test_every_message_has_an_english_translation_that_keeps_its_placeholders():
    catalog = _po()
    problems = []
    for message in catalog:
        if not message.id:
            continue
        if not message.string or not message.string.strip():
            problems.append(f"untranslated: {message.id!r}")
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        names = sorted(PLACEHOLDER.findall(message.id))
        if sorted(PLACEHOLDER.findall(message.string)) != names:
            problems.append(f"placeholders differ: {message.id!r} -> {message.string!r}")
            continue
        try:  # Jinja's newstyle gettext always %-formats: a stray % breaks the page
            message.string % {name: 1 for name in names}
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(f"does not format ({exc}): {message.string!r}")
    assert len(_messages(catalog)) > 100
    assert not problems, "\n".join(problems)


def test_the_catalog_covers_every_string_the_code_marks_for_translation():
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, **{keyword: None for keyword in KEYWORDS}}
    in_code = {message for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options_map, keywords)
               if isinstance(message, str)}
    missing = sorted(in_code - set(_messages(_po())))
    assert not missing, "not in messages.po (run pybabel extract + update, then translate):\n" + "\n".join(missing)


def test_the_compiled_catalog_is_up_to_date_with_the_po():
    with open(CATALOG / "messages.mo", "rb") as f:
        compiled = _messages(read_mo(f))
    source = {key: value for key, value in _messages(_po()).items() if value}
    assert compiled == source, "messages.mo is stale: run pybabel compile -d translations"


def test_templates_have_no_japanese_outside_gettext():
    """Japanese UI text in a template must go through _() so that English can replace it."""
    japanese = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    allowed = {"日本語", "RMS接続エラー"}  # the language switch names itself; a test on a stored error message
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = re.sub(r"\{#.*?#\}", "", path.read_text(), flags=re.S)
        text = re.sub(r"(?:_|gettext)\(\s*('[^']*'|\"[^\"]*\")", "_(''", text)
        for word in allowed:
            text = text.replace(word, "")
        for number, line in enumerate(text.splitlines(), 1):
            if japanese.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not found, "\n".join(found)
