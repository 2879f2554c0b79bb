"""Bulk actions (confirm, cancel, delete, reflection retry, 出荷依頼, tags): per order, its shop, what was done and
what was refused and why (orders.md §6). Each order is its own unit of work: one refused order never undoes another. 出荷依頼 is the
exception in form, not in outcome: a chunk of orders is requested in one transaction (shipping.request_many), each
order refused or requested exactly as it would be alone (P10: 10,000 requests within 30 s).

Up to BULK_JOB_THRESHOLD orders run in the request; more run as a job in checkpointed chunks that
resume where they stopped; one run covers at most 10,000 orders.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

from flask import current_app
from sqlalchemy import select

from .. import effects, outbox
from ..errors import ServiceError
from ..extensions import db
from ..job_records import create_job
from ..job_runner import ItemResult, run_in_chunks
from ..models import JobItem, JobRecord, Shop
from ..reason import Reason
from ..unit_of_work import unit_of_work
from . import actions, frame, history
from .actor import Actor
from .filters import ListCriteria
from .models import Order, OrderEvent
from .search import OrderFilter, matching_ids

# the order list's bulk bar
ACTIONS = ("confirm", "cancel", "delete", "retry_reflection", "retry_shipping_reflection", "request_shipment")
TAG_ACTIONS = ("add_tag", "remove_tag")  # its 「タグを追加」 dialog (params: tag_id)
MAX_ORDERS = 10_000
DONE = {"confirm": Reason("確認済にしました", "Confirmed"), "cancel": Reason("キャンセルしました", "Cancelled"), "delete": Reason("削除しました", "Deleted"),
        "retry_reflection": Reason("再反映を開始しました", "Reflection retried"),
        "retry_shipping_reflection": Reason("出荷情報の再反映を開始しました", "Shipping info reflection retried"),
        "request_shipment": Reason("出荷依頼しました", "Shipment requested"),
        "add_tag": Reason("追加しました", "Added"), "remove_tag": Reason("外しました", "Removed")}
# A tag change that found the order as it was asked to leave it: done, nothing changed.
UNCHANGED = {"add_tag": Reason("既に付いていました（変更なし）", "Already had it (no change)"),
             "remove_tag": Reason("付いていませんでした（変更なし）", "Did not have it (no change)")}
FINAL_KIND = {"confirm": "confirmed", "cancel": "cancelled", "delete": "deleted", "retry_reflection": "reflection_pending",
              "retry_shipping_reflection": "reflection_pending",
              "request_shipment": "shipment_requested",
              "add_tag": "tag_added", "remove_tag": "tag_removed"}


@dataclass
class Outcome:
    job_id: Optional[str] = None
    result: Optional[dict] = None


def select_ids(flt: OrderFilter) -> list[int]:
    ids = matching_ids(flt, MAX_ORDERS + 1)
    if len(ids) > MAX_ORDERS:
        raise ServiceError("validation_error", Reason(
            f"一度に操作できるのは{MAX_ORDERS:,}件までです（該当{len(ids) - 1:,}件以上）。条件を絞り込んでください。",
            f"At most {MAX_ORDERS:,} orders per run. Narrow the filter."), {"filter": "too many orders"})
    return ids


@dataclass(frozen=True)
class Selection:
    """What a bulk dialog showed: the ticked orders, or every order matching `criteria` (「条件に一致する全件」)
    as they were when the dialog opened, known by their count and digest."""
    ids: tuple[int, ...]
    criteria: Optional[ListCriteria] = None

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def digest(self) -> str:
        return ids_digest(self.ids)


def ids_digest(ids) -> str:
    return hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()[:32]


class SelectionChanged(ServiceError):
    """The orders matching the dialog's conditions are not those it showed: nothing is done, the dialog shows
    the new selection to confirm again."""

    def __init__(self, before: int, now: Selection):
        super().__init__("conflict", Reason(
            f"ダイアログを開いた後に、条件に一致する注文が変わりました（{before:,}件 → {now.count:,}件）。"
            "何も変更していません。内容を確かめて、もう一度実行してください。",
            f"The orders matching the conditions changed after the dialog opened ({before:,} → {now.count:,}). "
            "Nothing was changed. Check and run it again."))
        self.selection = now


def matching_selection(account_id: int, criteria: ListCriteria) -> Selection:
    return Selection(tuple(select_ids(criteria.order_filter(account_id))), criteria)


def frozen_selection(account_id: int, criteria: Optional[ListCriteria], ids: tuple[int, ...], count: int,
                     digest: str) -> Selection:
    """The orders a confirmed dialog acts on: the ticked ones as shown, or the matching ones when they are still
    exactly those the dialog counted (else SelectionChanged; a tag or shop deleted since is refused)."""
    if criteria is None:
        return Selection(ids)
    now = matching_selection(account_id, criteria)
    if now.count != count or now.digest != digest:
        raise SelectionChanged(count, now)
    return now


def start(actor: Actor, action: str, ids: list[int], params: dict) -> Outcome:
    ids = list(dict.fromkeys(ids))  # once each, in the order given
    if len(ids) > MAX_ORDERS:
        raise ServiceError("validation_error", Reason(f"一度に操作できるのは{MAX_ORDERS:,}件までです。",
                                                      f"At most {MAX_ORDERS:,} orders per run."))
    if len(ids) <= current_app.config["BULK_JOB_THRESHOLD"]:
        return Outcome(result=run_ids(actor, action, ids, params))
    with unit_of_work() as uow:
        job = create_job(actor.account_id, f"bulk_{action}", {
            "action": action, "order_ids": ids, "actor": [actor.type, actor.name, actor.user_id], **params,
        }, created_by=actor.name)
        db.session.flush()
        outbox.record("bulk.run", {"job_id": job.id}, job_id=job.id)
        uow.commit()
    return Outcome(job_id=job.id)


def _act_on(actor: Actor, action: str, order_id: int, params: dict) -> bool:
    """Carry out the action on one order; False when a tag change found nothing to change."""
    if action in TAG_ACTIONS:
        order = frame.get_order(actor.account_id, order_id)
        had = any(tag.id == params["tag_id"] for tag in order.tags)
        if action == "add_tag":
            actions.add_tag(actor, order_id, params["tag_id"])
            return not had
        actions.remove_tag(actor, order_id, params["tag_id"])
        return had
    if action == "confirm":  # the order page's 確認済にする: its rules, history, version and auto-request
        actions.confirm(actor, order_id)
    elif action == "cancel":
        actions.cancel(actor, order_id, params.get("reason_code") or 10)
    elif action == "retry_reflection":
        from ..malls.rakuten.reflection import retry

        retry(actor, order_id)
    elif action == "retry_shipping_reflection":
        from ..malls.rakuten import shipping_info

        shipping_info.retry(actor, order_id)
    elif action == "request_shipment":
        from ..warehouse.shipping import request_shipment

        request_shipment(actor, order_id)
    else:
        actions.delete(actor, order_id)
    return True


def run_one(actor: Actor, action: str, order_id: int, params: dict) -> ItemResult:
    lang = params.get("lang") or "ja"
    done = DONE[action].text(lang)
    try:
        changed = _act_on(actor, action, order_id, params)
    except ServiceError as exc:  # the service's unit of work rolled back what it had begun
        # A resumed job that did this one before its checkpoint (job actors are named after their job; a
        # user's earlier cancel of the same order is a refusal, not "done").
        if actor.type == "job" and _already_done_by(actor, action, order_id):
            return _item(actor, order_id, True, None, done)
        return _item(actor, order_id, False, exc.code, exc.message(lang))
    if not changed:
        done = UNCHANGED[action].text(lang)
    return _item(actor, order_id, True, None, done)


def _item(actor: Actor, order_id: int, done: bool, code: Optional[str], message: str) -> ItemResult:
    # R14: never the number of another account's order (an id sent by mistake or on purpose).
    number = db.session.scalar(select(Order.mall_order_number).where(
        Order.id == order_id, Order.account_id == actor.account_id))
    return ItemResult(ref=order_id, done=done, code=code, message=message, mall_order_number=number)


def _shown(item: ItemResult | JobItem, shop: tuple[int, str] | tuple[None, None]) -> dict:
    """An order's result as the API and the result page show it, with its shop (none for an id not the account's)."""
    return {"order_id": item.ref, "mall_order_number": item.mall_order_number, "shop_id": shop[0],
            "shop_name": shop[1], "done": item.done, "code": item.code, "message": item.message}


def _already_done_by(actor: Actor, action: str, order_id: int) -> bool:
    return db.session.scalar(select(OrderEvent.id).where(
        OrderEvent.order_id == order_id, OrderEvent.kind == FINAL_KIND[action],
        OrderEvent.actor_name == actor.name).limit(1)) is not None


def summarise(actor: Actor, items: list[ItemResult] | list[JobItem]) -> dict:
    done = sum(1 for item in items if item.done)
    shops = _shops(actor, [item.ref for item in items])
    return {"total": len(items), "done": done, "refused": len(items) - done,
            "items": [_shown(item, shops.get(item.ref, (None, None))) for item in items]}


def _shops(actor: Actor, ids: list[int]) -> dict[int, tuple[int, str]]:
    """Each order's shop (id, name), R14: only the account's own orders; read a thousand ids at a time."""
    valid = [order_id for order_id in dict.fromkeys(ids) if frame.valid_id(order_id)]
    shops = {}
    for start in range(0, len(valid), 1000):
        shops.update({order_id: (shop_id, name) for order_id, shop_id, name in db.session.execute(
            select(Order.id, Shop.id, Shop.name).join(Shop, Shop.id == Order.shop_id).where(
                Order.id.in_(valid[start:start + 1000]), Order.account_id == actor.account_id))})
    return shops


def run_ids(actor: Actor, action: str, ids: list[int], params: dict) -> dict:
    if action == "request_shipment":
        chunk = current_app.config["BULK_CHUNK"]
        return summarise(actor, [item for start in range(0, len(ids), chunk)
                                 for item in run_chunk(actor, action, ids[start:start + chunk], params)])
    return summarise(actor, [run_one(actor, action, order_id, params) for order_id in ids])


def run_chunk(actor: Actor, action: str, ids: list[int], params: dict) -> list[ItemResult]:
    """The results of `ids`, as run_one's one after the other would be. 出荷依頼 requests the chunk in one
    transaction (shipping.request_many: each order refused or requested as it would be alone); should that find
    an order changed under it (SQLite's version check), and for every other action, order by order."""
    if action != "request_shipment":
        return [run_one(actor, action, order_id, params) for order_id in ids]
    from ..warehouse.shipping import request_many

    outcome = request_many(actor, ids)
    if outcome is None:
        return [run_one(actor, action, order_id, params) for order_id in ids]
    lang = params.get("lang") or "ja"
    refused = [order_id for order_id in ids if outcome[order_id] is not None]
    done_before = _done_by(actor, action, refused) if actor.type == "job" else set()
    numbers = _numbers(actor, ids)
    done = DONE[action].text(lang)
    return [ItemResult(ref=order_id, done=True, code=None, message=done, mall_order_number=numbers.get(order_id))
            if outcome[order_id] is None or order_id in done_before else
            ItemResult(ref=order_id, done=False, code=outcome[order_id].code,
                       message=outcome[order_id].message(lang), mall_order_number=numbers.get(order_id))
            for order_id in ids]


def _numbers(actor: Actor, ids: list[int]) -> dict[int, str]:
    """_item's numbers for many orders (R14: only the account's own)."""
    valid = [order_id for order_id in ids if frame.valid_id(order_id)]
    return dict(db.session.execute(select(Order.id, Order.mall_order_number).where(
        Order.id.in_(valid), Order.account_id == actor.account_id)).all()) if valid else {}


def _done_by(actor: Actor, action: str, ids: list[int]) -> set[int]:
    """_already_done_by for many orders."""
    valid = [order_id for order_id in ids if frame.valid_id(order_id)]
    return set(db.session.scalars(select(OrderEvent.order_id).where(
        OrderEvent.order_id.in_(valid), OrderEvent.kind == FINAL_KIND[action],
        OrderEvent.actor_name == actor.name))) if valid else set()


@effects.handler("bulk.run")
def run_job(message) -> None:
    """Carry out a bulk job in checkpointed chunks (job_runner): a killed worker's job resumes at its last
    committed chunk, and an order done after that commit is found done (`_already_done_by`)."""
    job = db.session.get(JobRecord, message.payload["job_id"])
    if job is None or job.state in ("finished", "failed"):
        return
    params = dict(job.params)
    ids = params.pop("order_ids")
    action = params.pop("action")
    _, actor_name, user_id = params.pop("actor")
    actor = Actor("job", history.BULK_ACTORS[action](job=job.id[:8], name=actor_name), job.account_id, user_id)

    def do_chunk(start: int, end: int) -> list[ItemResult]:
        return run_chunk(actor, action, ids[start:end], params)

    run_in_chunks(job, len(ids), current_app.config["BULK_CHUNK"], do_chunk, lambda items: summarise(actor, items))
