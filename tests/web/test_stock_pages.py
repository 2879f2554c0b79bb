"""在庫 (/stock) and a product's ledger (/stock/<id>): the numbers, search, the low-stock filter, paging, an
adjustment through htmx (the row or the numbers come back) and its refusal; no redirect is followed."""
from __future__ import annotations

import re

from boss.extensions import db
from boss.orders.actor import Actor
from boss.orders.models import Order
from boss.unit_of_work import unit_of_work
from boss.warehouse import stock
from tests.factories import create_order, create_product, map_item

HTMX = {"HX-Request": "true"}


def row_of(html: str, sku: str) -> str:
    return next(r for r in html.split("<tr") if f">{sku}</a>" in r)


def numbers_in(row: str) -> list[str]:
    return re.findall(r'<td class="num[^"]*"[^>]*>(?:<strong>)?([-0-9,]+)', row)


def reserve(app, tenant, order_id: int) -> None:
    with app.app_context():
        with unit_of_work() as uow:
            stock.reserve(db.session.get(Order, order_id), Actor("user", "倉庫 太郎", tenant.account_id))
            uow.commit()
        db.session.remove()


def adjust(web, product_id: int, htmx=True, **fields):
    data = {"delta": "3", "reason": "入荷", "csrf_token": web.csrf, **fields}
    return web.post(f"/stock/{product_id}/adjust", data=data, headers=HTMX if htmx else {})


def test_the_stock_page_shows_stock_reserved_and_available_and_the_nav_links_it(app, staff_client, client, tenant):
    product = create_product(client, tenant, "SKU-1", stock=1200)
    map_item(client, tenant, "item-1", "SKU-1")
    reserve(app, tenant, create_order(client, tenant)["id"])  # 2 units

    page = staff_client.get("/stock")

    assert page.status_code == 200
    assert 'href="/stock"' in page.text and 'aria-current="page"' in page.text.split('href="/stock"')[1][:30]
    assert numbers_in(row_of(page.text, "SKU-1")) == ["1,200", "2", "1,198"]
    assert f'href="/stock/{product["id"]}"' in page.text


def test_search_and_the_low_stock_filter_with_its_threshold(staff_client, client, tenant):
    create_product(client, tenant, "TEA-1", stock=3)
    create_product(client, tenant, "TEA-2", stock=9)
    create_product(client, tenant, "CUP-1", stock=1)

    searched = staff_client.get("/stock", query_string={"q": "tea"}, headers=HTMX).text
    low = staff_client.get("/stock", query_string={"low": "1"}, headers=HTMX).text
    low_ten = staff_client.get("/stock", query_string={"low": "1", "threshold": "10", "q": "TEA"}, headers=HTMX).text

    assert "<html" not in searched
    assert (">TEA-1<" in searched, ">TEA-2<" in searched, ">CUP-1<" in searched) == (True, True, False)
    assert (">TEA-1<" in low, ">TEA-2<" in low, ">CUP-1<" in low) == (True, False, True)
    assert (">TEA-1<" in low_ten, ">TEA-2<" in low_ten, ">CUP-1<" in low_ten) == (True, True, False)


def test_the_list_pages_by_sku_fifty_at_a_time(app, staff_client, tenant):
    from boss.orders.products import create_product as make

    with app.app_context():
        for n in range(55):
            make(Actor("user", "x", tenant.account_id), f"P-{n:03d}", f"商品{n}")
        db.session.remove()

    first = staff_client.get("/stock").text
    after = re.search(r'href="(/stock\?after=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = staff_client.get(after).text

    assert ">P-049<" in first and ">P-050<" not in first
    assert ">P-050<" in second and ">P-054<" in second and ">P-049<" not in second and "次の50件" not in second


def test_an_adjustment_through_htmx_answers_the_updated_row(staff_client, client, tenant):
    product = create_product(client, tenant, "SKU-1", stock=5)

    response = adjust(staff_client, product["id"], delta="-2", reason="破損")

    assert response.status_code == 200 and "<html" not in response.text
    assert response.text.lstrip().startswith(f'<tr id="stock-row-{product["id"]}"')
    assert numbers_in(response.text) == ["3", "0", "3"] and "調整しました" in response.text
    ledger = client.get(f"/api/v1/products/{product['id']}/stock-movements", headers=tenant.headers()).json
    assert (ledger["items"][0]["delta_stock"], ledger["items"][0]["reason"]) == (-2, "破損")
    assert ledger["items"][0]["actor"]["type"] == "user"


def test_each_rows_form_on_the_list_is_the_form_the_row_is_answered_with_in_either_language(staff_client, client,
                                                                                              tenant):
    """The list writes its 50 forms from one rendered pattern (web/stock.list_adjust_forms); each must be exactly the
    form that stock/_adjust_form.html renders for that product (its id in the URL and the inputs' ids, the session's
    CSRF token, the labels in the page's language) — the form an adjustment answers the row with."""
    products = [create_product(client, tenant, sku, stock=5) for sku in ("SKU-1", "SKU-2")]
    for language, label in (("ja", "増減数（減らすときは −）"), ("en", None)):
        staff_client.post(f"/lang/{language}", data={"csrf_token": staff_client.csrf})
        page = staff_client.get("/stock").text
        for product in products:
            row = page.split(f'<tr id="stock-row-{product["id"]}">')[1].split("</tr>")[0]
            listed = re.search(r'<td class="adjust">(.*?)</td>', row, re.S).group(1).strip()
            answered = adjust(staff_client, product["id"], delta="0").text  # refused: the row with its form again
            form = re.search(r'<form class="adjust-form".*?</form>', answered, re.S).group(0)
            assert listed == re.sub(r'aria-invalid="true" aria-describedby="[^"]+"', "", form).replace(
                'value="0"', 'value=""').replace('value="入荷"', 'value=""'), language
            assert f'/stock/{product["id"]}/adjust' in listed and f'id="delta-{product["id"]}"' in listed
            assert f'name="csrf_token" value="{staff_client.csrf}"' in listed
            assert (label in listed) if label else ("Adjust" in listed and "増減" not in listed)


def test_an_adjustment_below_the_reserved_count_is_refused_in_the_row_saying_why(app, staff_client, client, tenant):
    product = create_product(client, tenant, "SKU-1", stock=5)
    map_item(client, tenant, "item-1", "SKU-1")
    reserve(app, tenant, create_order(client, tenant)["id"])  # 2 reserved

    response = adjust(staff_client, product["id"], delta="-4", reason="棚卸し")

    assert response.status_code == 422
    assert "引当済みの2点を下回る在庫数にはできません" in response.text and "減らせるのは3点まで" in response.text
    assert numbers_in(response.text) == ["5", "2", "3"]
    assert 'value="-4"' in response.text and 'value="棚卸し"' in response.text  # kept to correct


def test_an_adjustment_without_a_reason_or_of_zero_is_refused(staff_client, client, tenant):
    product = create_product(client, tenant, "SKU-1", stock=5)

    no_reason = adjust(staff_client, product["id"], reason="  ")
    zero = adjust(staff_client, product["id"], delta="0")

    assert no_reason.status_code == 422 and "理由を入力してください。" in no_reason.text
    assert zero.status_code == 422 and "0以外の数を入力してください" in zero.text


def test_an_adjustment_without_htmx_redirects_back_with_a_message(staff_client, client, tenant):
    product = create_product(client, tenant, "SKU-1", stock=5)

    done = adjust(staff_client, product["id"], htmx=False, **{"from": "ledger"})
    refused = adjust(staff_client, product["id"], htmx=False, delta="-100")

    assert done.status_code == 303 and done.headers["Location"].endswith(f"/stock/{product['id']}")
    assert refused.status_code == 303 and refused.headers["Location"].endswith("/stock")
    assert "在庫を調整できませんでした" in staff_client.get("/stock").text


def test_the_ledger_page_shows_the_numbers_and_the_movements_newest_first_with_the_order(app, staff_client, client,
                                                                                      tenant):
    product = create_product(client, tenant, "SKU-1", stock=5)
    map_item(client, tenant, "item-1", "SKU-1")
    order = create_order(client, tenant)
    reserve(app, tenant, order["id"])
    adjust(staff_client, product["id"], delta="4", reason="入荷分")

    page = staff_client.get(f"/stock/{product['id']}")

    assert page.status_code == 200
    figures = re.findall(r"<dd>([-0-9,]+)</dd>", page.text)
    assert figures == ["9", "2", "7"]
    rows = page.text.split('<tbody>')[-1].split("<tr")[1:]
    kinds = [re.search(r'<td class="kind">([^<]+)</td>', r).group(1) for r in rows]
    assert kinds == ["調整", "引当", "調整"]
    assert ">+4<" in rows[0] and "入荷分" in rows[0]
    assert f'href="/orders/{order["id"]}"' in rows[1] and order["mall_order_number"] in rows[1] and "倉庫 太郎" in rows[1]
    assert ">+2<" in rows[1] and "初期在庫" in rows[2]
    assert re.search(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}", rows[0])


def test_an_adjustment_on_the_ledger_page_answers_the_numbers_and_tells_the_ledger_to_reload(staff_client, client,
                                                                                             tenant):
    product = create_product(client, tenant, "SKU-1", stock=5)

    response = adjust(staff_client, product["id"], **{"from": "ledger"})

    assert response.status_code == 200 and 'id="stock-numbers"' in response.text
    assert re.findall(r"<dd>([-0-9,]+)</dd>", response.text) == ["8", "0", "8"]
    assert response.headers["HX-Trigger"] == "stock-adjusted"
    ledger = staff_client.get(f"/stock/{product['id']}", headers={**HTMX, "HX-Target": "stock-ledger"}).text
    assert "<html" not in ledger and "入荷" in ledger


def test_another_accounts_product_is_not_found(staff_client, client, other_tenant):
    product = create_product(client, other_tenant, "SKU-X", stock=5)

    assert staff_client.get(f"/stock/{product['id']}").status_code == 404
    assert adjust(staff_client, product["id"]).status_code == 404
    assert ">SKU-X<" not in staff_client.get("/stock").text


def test_the_pages_need_a_login(client):
    response = client.get("/stock")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
