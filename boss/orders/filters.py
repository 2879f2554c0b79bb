"""A list filter's values resolved strictly: a tag, shop or status that does not resolve is refused, naming
it, never dropped. A dropped condition widens the selection: a bulk cancel of 「条件に一致する全件」 with a
deleted tag would reach every order of the tab (issue 11, item 1)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

from sqlalchemy import select

from ..errors import ServiceError
from ..extensions import db
from ..models import Shop
from . import rules
from .models import Tag
from .rules import Reason
from .search import OrderFilter

NOTHING_CHANGED = Reason("何も変更していません。", "Nothing was changed.")


def _not_found(what: Reason, value) -> ServiceError:
    return ServiceError("not_found", Reason(
        f"絞り込みの{what.ja}「{value}」が見つかりません。削除されたか、このアカウントの{what.ja}ではありません。"
        f"一覧を開き直して選び直してください。{NOTHING_CHANGED.ja}",
        f"The {what.en} of the filter ({value}) was not found: it was deleted or is not this account's. "
        f"Reload the list and select again. {NOTHING_CHANGED.en}"), {what.en.lower(): "not found"})


TAG, SHOP = Reason("タグ", "tag"), Reason("ショップ", "shop")


def tag_id(account_id: int, value) -> int:
    """A tag of the account by its id (int or digits) or a system tag's code; else not_found naming it."""
    text = str(value).strip()
    stmt = select(Tag.id).where(Tag.account_id == account_id)
    if text.isdigit():
        if len(text) > 18:
            raise _not_found(TAG, text)
        stmt = stmt.where(Tag.id == int(text))
    else:
        stmt = stmt.where(Tag.code == text)
    found = db.session.scalar(stmt) if text else None
    if found is None:
        raise _not_found(TAG, text)
    return found


def shop_id(account_id: int, value) -> int:
    text = str(value).strip()
    found = None
    if text.isdigit() and len(text) <= 18:
        found = db.session.scalar(select(Shop.id).where(Shop.id == int(text), Shop.account_id == account_id))
    if found is None:
        raise _not_found(SHOP, text)
    return found


def status(value: Optional[str]) -> Optional[str]:
    """A status identifier; blank or `all` is every status."""
    if value in (None, "", "all"):
        return None
    if value not in rules.STATUSES:
        raise ServiceError("validation_error", Reason(
            f"絞り込みのステータス「{value}」は不明です。一覧を開き直してください。{NOTHING_CHANGED.ja}",
            f"The status of the filter ({value}) is unknown. Reload the list. {NOTHING_CHANGED.en}"),
            {"status": "unknown status"})
    return value


@dataclass(frozen=True)
class ListCriteria:
    """注文一覧's conditions (the status tab, the header's shop, the tag filter), as ids and identifiers."""
    status: Optional[str] = None
    shop_id: Optional[int] = None
    tag_id: Optional[int] = None

    @classmethod
    def from_form(cls, account_id: int, form) -> "ListCriteria":
        """Read and resolve the form's `status`, `shop_id` and `tag`, refusing what does not resolve."""
        shop, tag = (form.get("shop_id") or "").strip(), (form.get("tag") or "").strip()
        return cls(status=status((form.get("status") or "").strip() or None),
                   shop_id=shop_id(account_id, shop) if shop else None,
                   tag_id=tag_id(account_id, tag) if tag else None)

    def as_dict(self) -> dict:
        return asdict(self)

    def order_filter(self, account_id: int) -> OrderFilter:
        """The filter, resolved again (a tag or shop deleted since is refused, not dropped)."""
        return OrderFilter(account_id=account_id, status=status(self.status),
                           shop_id=shop_id(account_id, self.shop_id) if self.shop_id is not None else None,
                           tag_id=tag_id(account_id, self.tag_id) if self.tag_id is not None else None)
