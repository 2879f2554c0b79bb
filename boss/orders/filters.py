"""A list filter's values resolved strictly: a tag, shop or status that does not resolve is refused, naming
it, never dropped. A dropped condition widens the selection: a bulk cancel of 「条件に一致する全件」 with a
deleted tag would reach every order of the tab (issue 11, item 1)."""
from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from typing import Optional

from sqlalchemy import and_, select

from ..errors import ServiceError
from ..extensions import db
from ..models import Shop
from ..parsing import whole_number
from ..reason import Reason
from . import rules
from .models import Tag
from .search import OrderFilter

NOTHING_CHANGED = Reason("何も変更していません。", "Nothing was changed.")
TAG, SHOP = Reason("タグ", "tag"), Reason("ショップ", "shop")
SHOWN_CHARACTERS = 40  # a refusal names the value, cut to this length
MAX_CODE_LENGTH = 64


def _shown(value) -> str:
    text = "".join(ch if unicodedata.category(ch) != "Cc" else "�" for ch in str(value))
    return text if len(text) <= SHOWN_CHARACTERS else text[:SHOWN_CHARACTERS] + "…"


def _not_found(what: Reason, value) -> ServiceError:
    shown = _shown(value)
    return ServiceError("not_found", Reason(
        f"絞り込みの{what.ja}「{shown}」が見つかりません。削除されたか、このアカウントの{what.ja}ではありません。"
        f"一覧を開き直して選び直してください。{NOTHING_CHANGED.ja}",
        f"The {what.en} of the filter ({shown}) was not found: it was deleted or is not this account's. "
        f"Reload the list and select again. {NOTHING_CHANGED.en}"), {what.en: "not found"})


def _tag_by_id_or_code(account_id: int, value):
    """The one rule for naming a tag: the account's tag by its id (int or ASCII digits) or a system tag's code
    (e.g. mall_reflection_error); None when the value can be neither (blank, too long, not printable)."""
    text = str(value).strip()
    number = whole_number(text)
    if number is not None:
        return and_(Tag.account_id == account_id, Tag.id == number)
    if text and len(text) <= MAX_CODE_LENGTH and text.isprintable():
        return and_(Tag.account_id == account_id, Tag.code == text)
    return None


def find_tag(account_id: int, value) -> Optional[Tag]:
    """The tag `value` names (_tag_by_id_or_code), or None: none of the account's tags."""
    where = _tag_by_id_or_code(account_id, value)
    return None if where is None else db.session.scalar(select(Tag).where(where))


def tag_id(account_id: int, value) -> int:
    """The id of the tag `value` names (_tag_by_id_or_code); else not_found naming it."""
    where = _tag_by_id_or_code(account_id, value)
    found = None if where is None else db.session.scalar(select(Tag.id).where(where))
    if found is None:
        raise _not_found(TAG, str(value).strip())
    return found


def shop_id(account_id: int, value) -> int:
    number = whole_number(value)
    found = None if number is None else db.session.scalar(
        select(Shop.id).where(Shop.id == number, Shop.account_id == account_id))
    if found is None:
        raise _not_found(SHOP, str(value).strip())
    return found


def status(value: Optional[str]) -> Optional[str]:
    """A status identifier; blank or `all` is every status."""
    if value in (None, "", "all"):
        return None
    if value not in rules.STATUSES:
        shown = _shown(value)
        raise ServiceError("validation_error", Reason(
            f"絞り込みのステータス「{shown}」は不明です。一覧を開き直してください。{NOTHING_CHANGED.ja}",
            f"The status of the filter ({shown}) is unknown. Reload the list. {NOTHING_CHANGED.en}"),
            {"status": "unknown status"})
    return value


@dataclass(frozen=True)
class ListCriteria:
    """注文一覧's conditions (the status tab, the header's shop, the tag filter) as the list showed them."""
    status: Optional[str] = None
    shop_id: Optional[int] = None
    tag_id: Optional[int] = None

    def as_dict(self) -> dict:
        return asdict(self)

    def order_filter(self, account_id: int) -> OrderFilter:
        """The filter, resolved again (a tag or shop deleted since is refused, not dropped)."""
        return OrderFilter(account_id=account_id, status=status(self.status),
                           shop_id=shop_id(account_id, self.shop_id) if self.shop_id is not None else None,
                           tag_id=tag_id(account_id, self.tag_id) if self.tag_id is not None else None)
