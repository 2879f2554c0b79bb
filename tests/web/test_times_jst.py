"""Issue 11 item 12: times are Japan time everywhere. Every time stored in the database is set to a known UTC instant
of 2026-11-30 (15:00–23:59 UTC, so 2026-12-01 00:00–08:59 in Japan); every page, the main partials and the API
are read, and every time on them must be the Japan time of one of those instants (or of now, for a form's
default) — the UTC date 2026/11/30 appears nowhere. Runs on SQLite and on TEST_DATABASE_URL alike."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime, text

from boss.extensions import db
from boss.models import ApiToken, JobRecord, User
from tests.conftest import login
from tests.factories import create_order, create_product, map_item, set_rms_connection, set_state

API = "/api/v1"
HTMX = {"HX-Request": "true"}
# Jobs are known by uuid4 ids (the API refuses anything else as no job's id).
JOB_IDS = {name: f"00000000-0000-4000-8000-{n:012d}"
           for n, name in enumerate(["import-done", "import-running", "bulk-done", "bulk-running"], start=1)}
FIRST = datetime(2026, 11, 30, 15, 0)  # naive UTC, as stored: 2026-12-01 00:00 in Japan
SHOWN = re.compile(r"(\d{4})[/-](\d{2})[/-](\d{2})[ T](\d{2}):(\d{2})")
UTC_DAY = re.compile(r"2026[/-]11[/-]30|2026年11月30日")
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def _jst(instant: datetime) -> datetime:
    """Japan time worked out here, not by the code under test: UTC + 9 hours."""
    return instant + timedelta(hours=9)


def _datetime_columns():
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, DateTime):
                yield table.name, column.name


def _fix_every_time(app) -> dict[tuple[str, str], datetime]:
    """Every stored time (that is set) becomes its own instant of 2026-11-30 UTC, seven minutes apart."""
    instants = {}
    with app.app_context():
        for index, (table, column) in enumerate(_datetime_columns()):
            instant = FIRST + timedelta(minutes=7 * index)
            assert instant.date() == FIRST.date(), "more columns than one UTC day holds: shorten the step"
            db.session.execute(text(f"UPDATE {table} SET {column} = :at WHERE {column} IS NOT NULL"), {"at": instant})
            instants[table, column] = instant
        db.session.commit()
        db.session.remove()
    return instants


def _now_minutes(start: datetime, end: datetime) -> set[str]:
    """The Japan-time minutes between two moments of the test: what a form's 「今」 default may show."""
    minute, shown = start.replace(second=0, microsecond=0), set()
    while minute <= end:
        shown.add(_jst(minute).strftime("%Y/%m/%d %H:%M"))
        minute += timedelta(minutes=1)
    return shown


@pytest.fixture
def fixed_times(app, client, tenant):
    """One of everything that shows a time: orders waiting, cancelled, deleted and shipped with their history, a
    mapping, a tag, tokens used and revoked, a locked user, a shop's last import, import and bulk jobs."""
    from boss.accounts import create_token, revoke_token
    from boss.integrations.secrets import encrypt_secret
    from boss.orders.actor import Actor

    headers = tenant.headers("admin")
    create_product(client, tenant, sku="SKU-1")
    map_item(client, tenant, "item-1", "SKU-1")
    waiting = create_order(client, tenant, number="J-WAIT", lines=[
        {"mall_item_id": "item-9", "name": "未登録の湯呑み", "quantity": 1, "unit_price": 1000}])
    cancelled = create_order(client, tenant, number="J-CANCEL")
    assert client.post(f"{API}/orders/{cancelled['id']}/cancel", json={}, headers=headers).status_code == 200
    deleted = create_order(client, tenant, number="J-DELETE", lines=[
        {"mall_item_id": "item-8", "name": "未登録の急須", "quantity": 1, "unit_price": 3000}])
    assert client.delete(f"{API}/orders/{deleted['id']}", headers=headers).status_code == 200
    shipped = create_order(client, tenant, number="J-SHIP")
    set_state(app, shipped["id"], "completed", "shipped")
    tag = client.post(f"{API}/tags", json={"name": "ギフト包装", "color": "#16a085"}, headers=headers).json
    assert client.post(f"{API}/orders/{waiting['id']}/tags/{tag['id']}", headers=headers).status_code == 200
    with app.app_context():
        admin = db.session.query(User).filter_by(email=tenant.admin_email).one()
        actor = Actor("user", admin.name, admin.account_id, admin.id)
        create_token(admin, "used and revoked")
        revoke_token(actor, _last_token_id())
        key = app.config["SECRET_KEY"]
        set_rms_connection(tenant.shop_id, secrets_enc={"service_secret": encrypt_secret(key, "secret"),
                                                        "license_key": encrypt_secret(key, "SL0000")},
                           key_last4="0000", last_run_at=datetime(2026, 1, 1))
        jobs = {name: JobRecord(id=JOB_IDS[name], account_id=tenant.account_id, kind=kind, shop_id=shop_id, state=state,
                                progress=50, params={}, result=result, created_by=admin.name)
                for name, kind, shop_id, state, result in [
                    ("import-done", "import", tenant.shop_id, "finished", {"fetched": 1, "created": 1}),
                    ("import-running", "import", tenant.shop_id, "started", None),
                    ("bulk-done", "bulk_cancel", None, "finished", {"done": 0, "refused": 0, "items": []}),
                    ("bulk-running", "bulk_delete", None, "started", None)]}
        db.session.add_all(jobs.values())
        db.session.commit()
        db.session.remove()
    used = client.get(f"{API}/orders/{waiting['id']}", headers=tenant.headers("staff"))  # sets last_used_at
    assert used.status_code == 200
    started = datetime.now(timezone.utc).replace(tzinfo=None)
    instants = _fix_every_time(app)
    return dict(orders={"waiting": waiting["id"], "cancelled": cancelled["id"], "deleted": deleted["id"],
                        "shipped": shipped["id"]}, tag_id=tag["id"], jobs=sorted(JOB_IDS[n] for n in jobs),
                instants=instants, started=started)


def _last_token_id() -> int:
    return db.session.query(db.func.max(ApiToken.id)).scalar()


def _pages(data: dict, shop_id: int) -> list[tuple[str, dict]]:
    orders = data["orders"]
    pages = [("/orders", {}), ("/orders?status=all", {}), ("/orders?status=cancelled", {}), ("/orders?status=all", HTMX),
             ("/search?include_deleted=y", {}), ("/search?include_deleted=y&mall_order_number=J-", HTMX),
             ("/shipments", {}), ("/shipments", HTMX), ("/mapping", {}), ("/mapping", HTMX), ("/mapping/products?q=SKU", HTMX),
             ("/products", {}), ("/tags", {}), (f"/tags/{data['tag_id']}/edit", {}), ("/orders/new", {}),
             ("/settings", {}), ("/settings/users", {}), ("/settings/tokens", {}), (f"/settings/shops/{shop_id}/edit", HTMX)]
    for order_id in orders.values():
        pages += [(f"/orders/{order_id}", {}), (f"/orders/{order_id}", HTMX)]
    pages += [(f"/orders/{orders['waiting']}/cancel?version=1", HTMX), (f"/orders/{orders['waiting']}/delete?version=1", HTMX)]
    pages += [(f"/jobs/{job_id}/progress", HTMX) for job_id in data["jobs"]]
    return pages


def _times_on(page: str) -> set[str]:
    return {f"{y}/{mo}/{d} {h}:{mi}" for y, mo, d, h, mi in SHOWN.findall(page)}


@pytest.mark.parametrize("language", ["ja", "en"])
def test_i12_every_page_shows_every_time_in_japan_time(app, tenant, fixed_times, language):
    browser = login(app.test_client(), tenant.admin_email)
    if language == "en":
        browser.post("/lang/en", data={"csrf_token": browser.csrf})
    allowed = {_jst(instant).strftime("%Y/%m/%d %H:%M") for instant in fixed_times["instants"].values()}
    seen: dict[str, set[str]] = {}
    for url, headers in _pages(fixed_times, tenant.shop_id):
        response = browser.get(url, headers=headers)
        assert response.status_code == 200, url
        assert not UTC_DAY.search(response.text), f"{url} shows the UTC day 2026/11/30"
        seen[url + (" (htmx)" if headers else "")] = _times_on(response.text)
    now = _now_minutes(fixed_times["started"] - timedelta(minutes=1), datetime.now(timezone.utc).replace(tzinfo=None))
    for url, times in seen.items():
        assert times <= allowed | now, f"{url} shows {sorted(times - allowed - now)}, not the Japan time of a stored time"

    instants, orders = fixed_times["instants"], fixed_times["orders"]

    def shown(table, column):
        return _jst(instants[table, column]).strftime("%Y/%m/%d %H:%M")

    # Not vacuous: each kind of time is on the page that shows it, in Japan time.
    expected = {
        "/orders?status=all": [shown("orders", "ordered_at")],
        f"/orders/{orders['cancelled']}": [shown("orders", "ordered_at"), shown("orders", "cancelled_at"),
                                            shown("order_events", "at")],
        f"/orders/{orders['deleted']}": [shown("orders", "deleted_at")],
        f"/orders/{orders['shipped']}": [shown("shipments", "requested_at")],
        "/search?include_deleted=y": [shown("orders", "ordered_at")],
        "/shipments": [shown("shipments", "requested_at")],
        "/mapping": [shown("item_mappings", "created_at")],
        "/tags": [shown("tags", "created_at")],
        "/settings": [shown("connections", "last_run_at"), shown("jobs", "created_at")],
        "/settings/users": [shown("users", "created_at")],
        "/settings/tokens": [shown("api_tokens", "created_at"), shown("api_tokens", "last_used_at"),
                             shown("api_tokens", "revoked_at")],
        f"/jobs/{JOB_IDS['import-done']}/progress (htmx)": [shown("jobs", "updated_at")],
        f"/jobs/{JOB_IDS['import-running']}/progress (htmx)": [shown("jobs", "created_at")],
    }
    for url, times in expected.items():
        assert set(times) <= seen[url], f"{url} should show {times}, shows {sorted(seen[url])}"


def test_i12_every_time_the_api_gives_is_japan_time_with_its_offset(client, tenant, fixed_times):
    allowed = {_jst(instant).strftime("%Y-%m-%dT%H:%M:%S") + "+09:00" for instant in fixed_times["instants"].values()}
    headers = tenant.headers("admin")
    answers = [client.get(f"{API}/shops", headers=headers), client.get(f"{API}/orders", headers=headers)]
    for order_id in fixed_times["orders"].values():
        answers += [client.get(f"{API}/orders/{order_id}", headers=headers),
                    client.get(f"{API}/orders/{order_id}/events", headers=headers)]
    answers += [client.get(f"{API}/jobs/{job_id}", headers=headers) for job_id in fixed_times["jobs"]]
    found = []

    def walk(value):
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and ISO.match(value):
            found.append(value)

    for answer in answers:
        assert answer.status_code == 200, answer.request.path
        walk(answer.json)
    assert found and set(found) <= allowed, sorted(set(found) - allowed)
    instants = fixed_times["instants"]
    for column in ("ordered_at", "cancelled_at", "deleted_at"):
        assert _jst(instants["orders", column]).strftime("%Y-%m-%dT%H:%M:%S+09:00") in found
    assert _jst(instants["order_events", "at"]).strftime("%Y-%m-%dT%H:%M:%S+09:00") in found
    assert _jst(instants["connections", "last_run_at"]).strftime("%Y-%m-%dT%H:%M:%S+09:00") in found


def test_i12_the_demos_cancel_banner_and_its_history_give_the_same_time(app):
    """The demo cancelled its orders 2 hours after they were placed but wrote their history at the moment of seeding:
    the banner and the history disagreed by hours (days, for older orders). Now the history tells the order's story."""
    from boss.demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo
    from boss.orders.models import Order

    with app.app_context():
        seed_demo()
        seeded = datetime.now(timezone.utc).replace(tzinfo=None)
        cancelled = [(order.id, order.ordered_at) for order in
                     db.session.query(Order).filter_by(status="cancelled", deleted_at=None).order_by(Order.id)]
        db.session.remove()
    assert cancelled
    browser = login(app.test_client(), DEMO_EMAIL, DEMO_PASSWORD)
    for order_id, ordered_at in cancelled:
        page = browser.get(f"/orders/{order_id}").text
        banner = re.search(r'class="notice notice-cancelled".*?</div>', page, re.S).group(0)
        history = re.search(r'<table class="compact history">.*?</table>', page, re.S).group(0)
        cancelled_row = re.search(r'<tr class="ev-status_set">.*?</tr>', history, re.S).group(0)
        assert _times_on(banner) == _times_on(cancelled_row), f"order {order_id}: {banner} / {cancelled_row}"
        story = {_jst(ordered_at).strftime("%Y/%m/%d %H:%M"), _jst(seeded).strftime("%Y/%m/%d %H:%M")}
        assert all(min(story) <= shown <= max(story) for shown in _times_on(history)), f"order {order_id}"


def test_i12_a_time_is_shown_as_the_japan_time_of_its_instant_whether_stored_naive_utc_or_given_with_its_offset():
    from boss.timefmt import JST, display_jst, iso_jst

    stored = datetime(2026, 11, 30, 23, 30)  # naive UTC, as the database holds it
    for value in (stored, stored.replace(tzinfo=timezone.utc), datetime(2026, 12, 1, 8, 30, tzinfo=JST)):
        assert display_jst(value) == "2026/12/01 08:30"
        assert iso_jst(value) == "2026-12-01T08:30:00+09:00"
