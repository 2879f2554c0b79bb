"""R13 (two actions on one order never both apply) and R4 (one holder per number), through the API and the
database. The races need real row locks and concurrent writers: PostgreSQL only."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from boss.extensions import db
from boss.orders.models import Order
from tests.factories import create_order, order_body

ROOT = Path(__file__).resolve().parents[2]
MSG_CONFLICT = "この注文は他の操作で更新されました。最新の状態を表示しています。"

postgres_only = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="races need PostgreSQL's row locks and concurrent writers: set TEST_DATABASE_URL to run them")

N = 8


# ---------------------------------------------------------------- helpers

def get(client, tenant, order_id):
    response = client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers())
    assert response.status_code == 200, response.json
    return response.json


def event_kinds(client, tenant, order_id):
    response = client.get(f"/api/v1/orders/{order_id}/events", headers=tenant.headers())
    assert response.status_code == 200, response.json
    return [e["kind"] for e in response.json["items"]]


def counts(client, tenant):
    return client.get("/api/v1/orders/counts", headers=tenant.headers()).json


def outcome(response):
    """200, or the error code of a refusal."""
    return 200 if response.status_code == 200 else response.json["error"]["code"]


def race(app, calls):
    """Run each call(client) in its own thread with its own test client, all released at the same moment."""
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def run(index, call):
        client = app.test_client()
        try:
            barrier.wait(timeout=30)
            results[index] = call(client)
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racing request never finished"
    if errors:
        raise errors[0]
    return results


def cancel_call(tenant, order_id, **headers):
    return lambda c: c.post(f"/api/v1/orders/{order_id}/cancel", json={}, headers=tenant.headers(**headers))


def delete_call(tenant, order_id, **headers):
    return lambda c: c.delete(f"/api/v1/orders/{order_id}", headers=tenant.headers(**headers))


# ---------------------------------------------------------------- If-Match (both databases)

def test_r13_cancel_with_a_stale_if_match_is_refused_as_conflict_and_changes_nothing(client, tenant):
    order = create_order(client, tenant)
    tag = client.post("/api/v1/tags", json={"name": "要確認"}, headers=tenant.headers()).json
    changed = client.post(f"/api/v1/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers()).json
    assert changed["version"] != order["version"]  # someone else changed the order meanwhile
    before_counts = counts(client, tenant)

    response = client.post(f"/api/v1/orders/{order['id']}/cancel", json={},
                           headers=tenant.headers(**{"If-Match": str(order["version"])}))

    assert response.status_code == 409
    assert response.json["error"] == {"code": "conflict", "message": MSG_CONFLICT}
    after = get(client, tenant, order["id"])
    assert (after["status"], after["cancelled_at"], after["version"]) == ("awaiting_confirmation", None,
                                                                          changed["version"])
    kinds = event_kinds(client, tenant, order["id"])
    assert kinds[-1] == "conflict_refused" and "cancelled" not in kinds
    assert counts(client, tenant) == before_counts


def test_r13_delete_and_confirm_with_a_stale_if_match_are_refused_as_conflict(client, tenant):
    order = create_order(client, tenant)
    client.post("/api/v1/products", json={"sku": "SKU-1", "name": "煎茶"}, headers=tenant.headers())
    client.post("/api/v1/mappings", json={"shop_id": tenant.shop_id, "mall_item_id": "item-1", "sku": "SKU-1"},
                headers=tenant.headers())
    stale = {"If-Match": str(order["version"])}  # mapping the line changed the order

    deleted = client.delete(f"/api/v1/orders/{order['id']}", headers=tenant.headers(**stale))
    confirmed = client.post(f"/api/v1/orders/{order['id']}/confirm", headers=tenant.headers(**stale))

    assert outcome(deleted) == "conflict" and outcome(confirmed) == "conflict"
    after = get(client, tenant, order["id"])
    assert (after["status"], after["deleted"]) == ("awaiting_confirmation", False)
    assert event_kinds(client, tenant, order["id"]).count("conflict_refused") == 2


def test_r13_a_current_if_match_is_accepted(client, tenant):
    order = create_order(client, tenant)

    response = client.post(f"/api/v1/orders/{order['id']}/cancel", json={},
                           headers=tenant.headers(**{"If-Match": f'"{order["version"]}"'}))

    assert response.status_code == 200, response.json
    assert response.json["status"] == "cancelled"
    assert response.json["version"] > order["version"]


def test_r13_a_conflict_answers_in_english_when_asked(client, tenant):
    order = create_order(client, tenant)
    response = client.post(f"/api/v1/orders/{order['id']}/cancel", json={},
                           headers=tenant.headers(**{"If-Match": str(order["version"] + 5), "Accept-Language": "en"}))
    assert outcome(response) == "conflict"
    assert "changed" in response.json["error"]["message"]


# ---------------------------------------------------------------- R4 in the database (both databases)

def _row(tenant, number, deleted=False):
    now = datetime(2026, 11, 1, 1, 0)
    return Order(account_id=tenant.account_id, shop_id=tenant.shop_id, mall_order_number=number, ordered_at=now,
                 buyer_name="山田 花子", recipient_name="山田 花子", deleted_at=now if deleted else None)


def test_r4_the_database_refuses_a_second_not_deleted_order_with_the_same_number(ctx, tenant):
    db.session.add(_row(tenant, "DB-1"))
    db.session.commit()
    db.session.add(_row(tenant, "DB-1"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_r4_the_database_refuses_a_second_holder_even_when_the_first_is_cancelled(ctx, tenant):
    first = _row(tenant, "DB-2")
    first.status = "cancelled"
    db.session.add(first)
    db.session.commit()
    db.session.add(_row(tenant, "DB-2"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_r4_the_database_allows_deleted_orders_beside_the_one_active_holder(ctx, tenant, other_tenant):
    db.session.add_all([_row(tenant, "DB-3", deleted=True), _row(tenant, "DB-3", deleted=True), _row(tenant, "DB-3")])
    db.session.commit()
    # The same number in another shop is another number.
    other = _row(other_tenant, "DB-3")
    db.session.add(other)
    db.session.commit()

    holders = db.session.scalar(select(func.count()).select_from(Order).where(Order.mall_order_number == "DB-3"))
    assert holders == 4


def test_r4_deleting_the_holder_lets_the_database_accept_a_new_one(ctx, tenant):
    first = _row(tenant, "DB-4")
    db.session.add(first)
    db.session.commit()
    first.deleted_at = datetime(2026, 11, 2)
    db.session.commit()

    db.session.add(_row(tenant, "DB-4"))
    db.session.commit()  # no IntegrityError


# ---------------------------------------------------------------- a race on either database

def test_r13_simultaneous_cancels_apply_exactly_once_on_either_database(app, client, tenant):
    """SQLite (the embedded mode) has no row lock: there the loser learns of the race from the version
    check when it writes, and must still get the rule's own refusal (or conflict with If-Match), never a 500."""
    for if_match in (False, True):
        for _ in range(3):
            order = create_order(client, tenant)
            before = counts(client, tenant)
            headers = {"If-Match": str(order["version"])} if if_match else {}

            results = race(app, [cancel_call(tenant, order["id"], **headers) for _ in range(4)])

            loser = "conflict" if if_match else "cannot_cancel"
            assert Counter(outcome(r) for r in results) == {200: 1, loser: 3}
            assert event_kinds(client, tenant, order["id"]).count("cancelled") == 1
            after = counts(client, tenant)
            assert (after["awaiting_confirmation"], after["cancelled"]) == (before["awaiting_confirmation"] - 1,
                                                                            before["cancelled"] + 1)


# ---------------------------------------------------------------- races (PostgreSQL)

@pytest.mark.postgres
@postgres_only
def test_r13_many_simultaneous_cancels_of_one_order_apply_exactly_once(app, client, tenant):
    for _ in range(3):
        order = create_order(client, tenant)
        before = counts(client, tenant)

        results = race(app, [cancel_call(tenant, order["id"]) for _ in range(N)])

        assert Counter(outcome(r) for r in results) == {200: 1, "cannot_cancel": N - 1}
        assert event_kinds(client, tenant, order["id"]).count("cancelled") == 1
        after = counts(client, tenant)
        assert after["awaiting_confirmation"] == before["awaiting_confirmation"] - 1
        assert after["cancelled"] == before["cancelled"] + 1
        assert after["all"] == before["all"]
        assert get(client, tenant, order["id"])["status"] == "cancelled"


@pytest.mark.postgres
@postgres_only
def test_r13_simultaneous_cancels_with_the_same_if_match_give_one_success_and_conflicts(app, client, tenant):
    order = create_order(client, tenant)
    before = counts(client, tenant)
    seen = {"If-Match": str(order["version"])}

    results = race(app, [cancel_call(tenant, order["id"], **seen) for _ in range(N)])

    assert Counter(outcome(r) for r in results) == {200: 1, "conflict": N - 1}
    kinds = event_kinds(client, tenant, order["id"])
    assert kinds.count("cancelled") == 1
    assert kinds.count("conflict_refused") == N - 1
    after = counts(client, tenant)
    assert (after["awaiting_confirmation"], after["cancelled"]) == (before["awaiting_confirmation"] - 1,
                                                                    before["cancelled"] + 1)


@pytest.mark.postgres
@postgres_only
def test_r13_a_cancel_racing_a_delete_applies_exactly_one_of_them(app, client, tenant):
    winners = Counter()
    for _ in range(5):
        order = create_order(client, tenant)

        cancelled, deleted = race(app, [cancel_call(tenant, order["id"]), delete_call(tenant, order["id"])])

        assert sorted([outcome(cancelled), outcome(deleted)], key=str) in (
            [200, "cannot_delete"], [200, "cannot_cancel"]), (cancelled.json, deleted.json)
        after = get(client, tenant, order["id"])
        kinds = event_kinds(client, tenant, order["id"])
        if cancelled.status_code == 200:
            winners["cancel"] += 1
            assert (after["status"], after["deleted"]) == ("cancelled", False)
            assert "deleted" not in kinds
        else:
            winners["delete"] += 1
            assert (after["status"], after["deleted"]) == ("awaiting_confirmation", True)
            assert "cancelled" not in kinds
    listed = client.get("/api/v1/orders", query_string={"limit": 200}, headers=tenant.headers()).json["items"]
    final = counts(client, tenant)
    assert final["all"] == len(listed) == winners["cancel"]
    assert final["cancelled"] == winners["cancel"] and final["awaiting_confirmation"] == 0


@pytest.mark.postgres
@postgres_only
def test_r4_r13_simultaneous_registrations_of_one_number_end_with_one_order(app, client, tenant):
    body = order_body(tenant.shop_id, "RACE-0001")

    results = race(app, [lambda c: c.post("/api/v1/orders", json=body, headers=tenant.headers())
                         for _ in range(N)])

    assert Counter(r.status_code for r in results) == {201: 1, 409: N - 1}
    assert {r.json["error"]["code"] for r in results if r.status_code == 409} == {"mall_order_number_taken"}
    listed = client.get("/api/v1/orders", query_string={"mall_order_number": "RACE-0001", "include_deleted": "true"},
                        headers=tenant.headers()).json["items"]
    assert [o["id"] for o in listed] == [next(r.json["id"] for r in results if r.status_code == 201)]
    assert counts(client, tenant)["awaiting_confirmation"] == 1


CHILD = r'''
import json, sys
from boss import create_app

config, job = json.loads(sys.argv[1]), json.loads(sys.argv[2])
app = create_app(config)
client = app.test_client()
headers = {"Authorization": "Bearer " + job["token"]}
path = "/api/v1/orders/%d" % job["order_id"]
warm = client.get(path, headers=headers)  # connect and authenticate before the start signal
print("ready", warm.status_code, flush=True)
sys.stdin.readline()
if job["action"] == "cancel":
    response = client.post(path + "/cancel", json={}, headers=headers)
else:
    response = client.delete(path, headers=headers)
print(json.dumps({"status": response.status_code, "body": response.get_json()}), flush=True)
'''


@pytest.mark.postgres
@postgres_only
def test_r13_cancels_and_deletes_from_separate_processes_apply_exactly_once(app, client, tenant, tmp_path):
    order = create_order(client, tenant)
    script = tmp_path / "racer.py"
    script.write_text(CHILD)
    config = {key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "BOSS_QUEUE", "SECRET_KEY",
                                               "BOSS_DATA_DIR")}
    config.update(TESTING=True, BOSS_SANDBOX=True)
    actions = ["cancel", "delete", "cancel", "delete"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = []
    try:
        for index, action in enumerate(actions):
            job = {"token": tenant.staff_token, "order_id": order["id"], "action": action}
            stderr = open(tmp_path / f"racer-{index}.err", "w")
            processes.append(subprocess.Popen([sys.executable, str(script), json.dumps(config), json.dumps(job)],
                                              cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                              stderr=stderr, text=True))
            stderr.close()
        for index, process in enumerate(processes):
            ready = process.stdout.readline()
            assert ready.strip() == "ready 200", (tmp_path / f"racer-{index}.err").read_text()
        for process in processes:  # the start signal, as close together as we can send it
            process.stdin.write("go\n")
            process.stdin.flush()
        answers = []
        for index, process in enumerate(processes):
            out, _ = process.communicate(timeout=60)
            assert process.returncode == 0, (tmp_path / f"racer-{index}.err").read_text()
            answers.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    statuses = [a["status"] for a in answers]
    assert statuses.count(200) == 1, answers
    winner = actions[statuses.index(200)]
    codes = Counter(a["body"]["error"]["code"] for a in answers if a["status"] != 200)
    assert codes == {"cannot_cancel": 2 - (winner == "cancel"), "cannot_delete": 2 - (winner == "delete")}
    after = get(client, tenant, order["id"])
    kinds = event_kinds(client, tenant, order["id"])
    if winner == "cancel":
        assert (after["status"], after["deleted"]) == ("cancelled", False)
        assert kinds.count("cancelled") == 1 and "deleted" not in kinds
        assert counts(client, tenant)["cancelled"] == 1
    else:
        assert (after["status"], after["deleted"]) == ("awaiting_confirmation", True)
        assert kinds.count("deleted") == 1 and "cancelled" not in kinds
        assert counts(client, tenant)["all"] == 0


@postgres_only
def test_a_check_only_run_registered_by_many_clicks_at_once_starts_one_registration(app, client, tenant):
    from tests.csv_files import imported, orders_by_number, preset_bytes, preset_header, run_jobs

    row = {"注文番号": "R-RACE", "注文日時": "2026-11-27 14:05:00", "注文者姓": "楽天", "商品管理番号": "sencha",
           "商品名": "煎茶", "単価": "1080", "個数": "1"}
    checked = imported(app, client, tenant, preset_bytes(preset_header("rakuten_pay.csv"), [row]),
                       shop_id=tenant.shop_id, mode="check_only")
    url = f"/api/v1/jobs/{checked['id']}/register"
    results = race(app, [lambda c: c.post(url, headers=tenant.headers()) for _ in range(N)])
    assert sorted(r.status_code for r in results) == [202] + [409] * (N - 1)
    run_jobs(app)
    assert orders_by_number(app)["R-RACE"] == 1
