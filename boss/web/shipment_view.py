"""What the order page's shipment panel and 出荷一覧's rows show of a shipment, and which shipping actions they offer.

The decisions come from the rules (boss/orders/shipping_rules.py, through boss/warehouse/shipping.py for 出荷依頼):
a button the rules refuse is shown disabled with the rule's reason (ui.md), never hidden without a word.
"""
from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple, Optional

from flask_babel import lazy_gettext

from ..orders import rules
from ..orders import shipping_rules as sr
from ..orders.models import Order
from ..warehouse import shipping, withdrawal

CARRIERS = {"yamato": lazy_gettext("ヤマト運輸"), "sagawa": lazy_gettext("佐川急便"),
            "japanpost": lazy_gettext("日本郵便"), "other": lazy_gettext("その他")}
# Each carrier's tracking page (warehouse.md `carrier`), the number in place of {number}; a carrier not here
# (その他) shows its number without a link.
TRACKING_URLS = {
    "yamato": "https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number00=1&number01={number}",
    "sagawa": "https://k2k.sagawa-exp.co.jp/p/web/okurijosearch.do?okurijoNo={number}",
    "japanpost": "https://trackings.post.japanpost.jp/services/srv/search/direct?reqCodeNo1={number}&locale=ja",
}
_WRITTEN_WITH = re.compile(r"[\s\-‐－ー−]")  # the hyphens and spaces a number is often written with


def tracking_url(carrier: Optional[str], number: Optional[str]) -> Optional[str]:
    """The carrier's page tracking `number`, or None: an unknown carrier, or a number that is not letters and
    digits once its hyphens and spaces are gone (no carrier's is anything else)."""
    template = TRACKING_URLS.get(carrier or "")
    plain = _WRITTEN_WITH.sub("", unicodedata.normalize("NFKC", number or ""))
    if template is None or not (plain.isascii() and plain.isalnum()):
        return None
    return template.format(number=plain)


REQUEST_STATES = {sr.PENDING: lazy_gettext("送信待ち"), sr.SENT: lazy_gettext("送信済み"),
                  sr.FAILED: lazy_gettext("送信エラー")}
NOTICE_STATES = {sr.NOTICE_PENDING: lazy_gettext("倉庫連絡待ち"), sr.NOTICE_ACKNOWLEDGED: lazy_gettext("受付済み"),
                 sr.NOTICE_REFUSED: lazy_gettext("キャンセル不可")}

class ShippingActions(NamedTuple):
    """The shipping buttons an order shows (None: not shown at all in this state), each a rules.Decision."""
    request: Optional[rules.Decision] = None  # 出荷依頼
    re_request: Optional[rules.Decision] = None  # 再出荷依頼
    retry: Optional[rules.Decision] = None  # 出荷依頼を再送
    withdraw: Optional[rules.Decision] = None  # 出荷取下げ
    withdraw_then_cancel: Optional[rules.Decision] = None  # 取下げ後にキャンセル

    def any(self) -> bool:
        return any(decision is not None for decision in self)


def shipping_actions(order: Order) -> ShippingActions:
    """Which shipping buttons the order's state calls for, allowed or not: 出荷依頼 before the first request,
    再出荷依頼 after 出荷不可, 出荷依頼を再送 after a failed send, the withdrawals while the warehouse has it."""
    if order.deleted or order.status in (rules.CANCELLED, rules.COMPLETED):
        return ShippingActions()
    state = order.state()
    shipment = order.current_shipment
    found = {}
    if order.status in (rules.AWAITING_CONFIRMATION, rules.CONFIRMED):
        found["request"] = shipping.decide_request(order, shipping.connected_now(order.account_id))
    if state.shipment_status == rules.NOT_SHIPPABLE:
        found["re_request"] = shipping.decide_request(order, shipping.connected_now(order.account_id))
    if shipment is not None and shipment.request_state == sr.FAILED:
        found["retry"] = sr.can_retry_request(state)
    if state.shipment_status in sr.LIVE_AT_THE_WAREHOUSE:
        found["withdraw"] = withdrawal.decide(order, then_cancel=False)
        found["withdraw_then_cancel"] = withdrawal.decide(order, then_cancel=True)
    return ShippingActions(**found)


def row_actions(order: Order) -> ShippingActions:
    """出荷一覧's row: 出荷取下げ while the warehouse has the request, 再出荷依頼 after 出荷不可."""
    actions = shipping_actions(order)
    return ShippingActions(re_request=actions.re_request, withdraw=actions.withdraw)

