"""Each mall by its name, and what a cancel's dialog and the order page say of reflecting the cancel there (ui.md
"Dialog texts"): one place, so that a Yahoo! order never reads as if it were a Rakuten one."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

MALL_LABELS = {"rakuten": _l("楽天市場"), "yahoo": _l("Yahoo!ショッピング"), "amazon": "Amazon", "makeshop": "MakeShop",
               "qoo10": "Qoo10", "shopify": "Shopify", "other": _l("その他")}


def _named(mall: str) -> bool:
    """A mall the sentences name (「その他」 is no mall's name: they say モール)."""
    return mall in MALL_LABELS and mall not in ("rakuten", "other")


def cancel_reflection(mall: str, reflects: bool) -> str:
    """The cancel dialogs' sentence: reflected to RMS (R9), or where the shop cancels it by hand."""
    if reflects:
        return _("楽天RMSにもキャンセルを反映します。")
    if mall == "rakuten":
        return _("楽天RMSには反映しません（RMS側で別途キャンセルしてください）。")
    if _named(mall):
        return _("モールには反映しません（%(mall)sの管理画面でキャンセルしてください）。", mall=MALL_LABELS[mall])
    return _("モールには反映しません（モールの管理画面でキャンセルしてください）。")


def cancel_reflected(mall: str, reflected: bool) -> str:
    """The order page's 「キャンセル反映」 of a cancelled order: what its cancel did at the mall."""
    if reflected:
        return _("楽天RMSへ反映する")
    if mall == "rakuten":
        return _("楽天RMSへは反映しない")
    if _named(mall):
        return _("モールへは反映しない（%(mall)sの管理画面でキャンセル）", mall=MALL_LABELS[mall])
    return _("モールへは反映しない（モールの管理画面でキャンセル）")
