"""Custom tags: created, renamed, recoloured, made to hold, deleted. System tags are the rules' own and fixed."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import select, update

from ..errors import ServiceError
from ..extensions import db
from ..models import utcnow
from ..reason import Reason
from ..unit_of_work import unit_of_work
from . import history, rules
from .actor import Actor
from .frame import event_row, get_tag
from .models import Order, OrderEvent, Tag, order_tags

REASON_SYSTEM_TAG_FIXED = Reason("システムタグは変更・削除できません。", "A system tag cannot be changed or deleted.")


def create_tag(actor: Actor, name: str, color: str = "#5b6b7f", holds: bool = False) -> Tag:
    with unit_of_work() as uow:
        _check_tag_name(actor.account_id, name)
        tag = Tag(account_id=actor.account_id, name=name, color=color, holds=holds, system=False)
        db.session.add(tag)
        uow.commit()
    return tag


def _check_tag_name(account_id: int, name: str, tag_id: Optional[int] = None) -> None:
    if any(spec.name == name for spec in rules.SYSTEM_TAGS):  # system tags are created lazily under these names
        raise ServiceError("already_exists", Reason(f"「{name}」はシステムタグの名前です。別の名前にしてください。",
                                                    f"{name} is the name of a system tag. Choose another name."))
    same = select(Tag.id).where(Tag.account_id == account_id, Tag.name == name)
    if db.session.scalars(same if tag_id is None else same.where(Tag.id != tag_id)).first():
        raise ServiceError("already_exists", Reason(f"タグ「{name}」は既にあります。", f"Tag {name} exists already."))


def _custom_tag(actor: Actor, tag_id: int) -> Tag:
    tag = get_tag(actor.account_id, tag_id)
    if tag.system:
        raise ServiceError("invalid_transition", REASON_SYSTEM_TAG_FIXED)
    return tag


def update_tag(actor: Actor, tag_id: int, name: str, color: str, holds: bool) -> Tag:
    """A custom tag's name, colour and hold. The orders carrying it keep it: what they may do next is
    decided, as always, from their tags at the time of the action (a new hold blocks their confirm)."""
    with unit_of_work() as uow:
        tag = _custom_tag(actor, tag_id)
        if name != tag.name:
            _check_tag_name(actor.account_id, name, tag.id)
        tag.name, tag.color, tag.holds = name, color, holds
        uow.commit()
    return tag


def delete_tag(actor: Actor, tag_id: int) -> int:
    """Delete a custom tag: it comes off every order that carries it, each with a history event (R12) and a new
    version (R13: a row showing it is stale), in one transaction. Returns how many orders it came off."""
    with unit_of_work() as uow:
        tag = _custom_tag(actor, tag_id)
        carrying = select(order_tags.c.order_id).where(order_tags.c.tag_id == tag.id)
        ids = list(db.session.scalars(carrying.order_by(order_tags.c.order_id).with_for_update()))
        now = utcnow()
        message = history.TAG_DELETED(name=tag.name)
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            statuses = db.session.execute(select(Order.id, Order.status).where(Order.id.in_(chunk))).all()
            db.session.execute(OrderEvent.__table__.insert(), [
                event_row(order_id, now, actor, "tag_removed", message, status, status) for order_id, status in statuses])
            db.session.execute(update(Order).where(Order.id.in_(chunk))
                               .values(version=Order.version + 1, updated_at=now).execution_options(synchronize_session=False))
        db.session.execute(order_tags.delete().where(order_tags.c.tag_id == tag.id))
        db.session.delete(tag)
        uow.commit()
    return len(ids)
