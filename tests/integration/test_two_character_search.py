"""Names of 2 characters are found through the bigram index (migration 0006), with exactly the answer of a
plain substring match over search_text: deleted orders left out, other accounts never seen."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from boss.extensions import db
from boss.orders import search
from boss.orders.models import Order
from boss.orders.search import OrderFilter, list_orders, normalise
from tests.factories import create_order

PEOPLE = [  # (buyer, buyer kana, recipient, recipient kana, phone)
    ("山田 花子", "ヤマダ ハナコ", None, None, "03-1234-5678"),
    ("田中 太郎", "タナカ タロウ", "山田 太郎", "ヤマダ タロウ", "090-1111-2222"),
    ("柳岡 ゾウ", "ﾔﾅｷﾞｵｶ ｿﾞｳ", None, None, "06-0000-1111"),
    ("服部 半蔵", "はっとり はんぞう", None, None, "011-222-3333"),
    ("Ａｂｃ 田", "エービーシー", "ab%_c", "", "0120-99-9999"),
    ("田田 田", "デンデン", None, None, ""),
    ("佐藤", "", None, None, "03-9999-0000"),
]
EXTRA = ["ゾゾ", "田山", "|山", "a|", "%_", "_c", "\\%"]  # absent ones, a '|' (dropped by normalise), LIKE's specials


def _create(client, tenant, number: str, person) -> dict:
    name, kana, recipient, recipient_kana, phone = person
    body = {"number": number, "buyer": {"name": name, "name_kana": kana, "phone": phone, "email": "x@example.jp"}}
    if recipient is not None:
        body["recipient"] = {"name": recipient, "name_kana": recipient_kana}
    return create_order(client, tenant, **body)


def _orders(app, account_id: int) -> list[Order]:
    with app.app_context():
        orders = list(db.session.scalars(select(Order).where(Order.account_id == account_id)))
        db.session.expunge_all()
        db.session.remove()
    return orders


def _found(app, account_id: int, needle: str, index_only: bool = False, **more) -> list[int]:
    with app.app_context():
        if index_only and db.engine.dialect.name == "postgresql":  # the GIN index, not a scan of these few rows
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            db.session.execute(text("SET LOCAL enable_indexscan = off"))
        orders = list_orders(OrderFilter(account_id=account_id, q=needle, **more), limit=1000).rows
        db.session.remove()
    return [o.id for o in orders]


def _substring_scan(orders: list[Order], needle: str, include_deleted: bool = False) -> list[int]:
    term = normalise(needle)
    hits = [o for o in orders if term in o.search_text and (include_deleted or o.deleted_at is None)]
    return [o.id for o in sorted(hits, key=lambda o: (o.ordered_at, o.id), reverse=True)]


@pytest.fixture
def population(app, client, tenant, other_tenant):
    """Two accounts with the same people; in ours, one order of each person deleted."""
    mine = [_create(client, tenant, f"BG-{i}-{copy}", person) for copy in range(2) for i, person in enumerate(PEOPLE)]
    for i, person in enumerate(PEOPLE):
        _create(client, other_tenant, f"BG-THEIRS-{i}", person)
    for order in mine[::2]:
        assert client.delete(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).status_code in (200, 204)
    return _orders(app, tenant.account_id)


def _needles(orders: list[Order]) -> list[str]:
    """Every 2-character substring of any order's search_text (but those across a '|' between its parts), and EXTRA."""
    grams = {o.search_text[i:i + 2] for o in orders for i in range(len(o.search_text) - 1)}
    return sorted(g for g in grams if "|" not in g) + EXTRA


@pytest.mark.parametrize("plan", ["index", "walk"])
def test_every_two_character_needle_finds_what_a_substring_scan_finds(app, tenant, population, monkeypatch, plan):
    if plan == "walk":  # SQLite: a needle with more hits than this walks the list index instead
        monkeypatch.setattr(search, "FTS_WALK_HITS", 0)
    needles = _needles(population)
    assert len(needles) > 70
    for needle in needles:
        assert _found(app, tenant.account_id, needle, index_only=plan == "index") == _substring_scan(population, needle), needle


def _postgresql_plan(app, condition_of) -> str:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite asks its FTS5 bigram table by name (the test above)")
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        db.session.execute(text("SET LOCAL enable_indexscan = off"))
        compiled = select(Order.id).where(condition_of()).compile(db.engine)
        plan = "\n".join(db.session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars())
        db.session.remove()
    return plan


def test_on_postgresql_the_bigram_index_serves_the_needle(app, tenant, population):
    plan = _postgresql_plan(app, lambda: search._substring_condition("柳岡"))
    assert "ix_orders_search_bigrams" in plan, plan


def test_on_postgresql_q_leaves_the_bigram_test_to_the_index_and_rechecks_by_strpos(app, tenant, population):
    """With the number's OR, a filter holding search_bigrams would compute it again for every order fetched."""
    plan = _postgresql_plan(app, lambda: search.q_condition("柳岡"))
    filters = [line for line in plan.splitlines() if "Filter:" in line]
    assert "BitmapOr" in plan and "ix_orders_search_bigrams" in plan, plan
    assert filters and not any("search_bigrams" in line for line in filters) and any("strpos" in line for line in filters), plan


def test_typed_forms_are_normalised_before_the_lookup(app, tenant, population):
    for typed, term in (("ﾔﾅ", "ヤナ"), ("やま", "ヤマ"), ("ＡＢ", "ab"), ("山 田", "山田"), ("ハッ", "ハッ")):
        assert normalise(typed) == term
        expected = _substring_scan(population, term)
        assert expected and _found(app, tenant.account_id, typed) == expected, typed


def test_deleted_orders_are_found_only_when_asked_for(app, tenant, population):
    deleted = {o.id for o in population if o.deleted_at is not None}
    found = _found(app, tenant.account_id, "柳岡")
    assert len(found) == 1 and not deleted & set(found)
    with_deleted = _found(app, tenant.account_id, "柳岡", include_deleted=True)
    assert with_deleted == _substring_scan(population, "柳岡", include_deleted=True) and len(with_deleted) == 2


def test_another_accounts_orders_are_never_found(app, tenant, other_tenant, population):
    theirs = _orders(app, other_tenant.account_id)
    assert _found(app, other_tenant.account_id, "服部") == _substring_scan(theirs, "服部") != []
    ours = set(_found(app, tenant.account_id, "服部", include_deleted=True))
    assert ours and not ours & {o.id for o in theirs}


def test_the_index_follows_a_changed_and_a_removed_search_text(app, tenant, population):
    """Nothing rewrites search_text today but building an order; the index must follow if something does."""
    target = next(o for o in population if o.deleted_at is None and "ハットリ" in o.search_text)
    gone = next(o for o in population if o.deleted_at is None and "柳岡" in o.search_text)
    with app.app_context():
        db.session.execute(text("UPDATE orders SET search_text = :t WHERE id = :i"), {"t": "鬼瓦権造|オニガワラ", "i": target.id})
        db.session.execute(text("DELETE FROM orders WHERE id = :i"), {"i": gone.id})
        db.session.commit()
        db.session.remove()
    assert _found(app, tenant.account_id, "鬼瓦") == [target.id]
    assert target.id not in _found(app, tenant.account_id, "ハッ")
    assert _found(app, tenant.account_id, "柳岡") == []
    now = _orders(app, tenant.account_id)
    for needle in ("ハッ", "柳岡", "ガワ", "山田", "田田"):
        assert _found(app, tenant.account_id, needle) == _substring_scan(now, needle), needle
