"""What the history (R12) says: every text the system writes into an order's events, as stored (Japanese,
the record), and its English, so a stored event reads in the reader's language — also the events written
before a reader switched, since the English is worked out from the stored text, not stored beside it.

A text is a template: `{name}` marks a value (a reason, a tag's name, RMS's own error text). In English a
value that is one of ours (a cancel reason, a system tag's name, a system actor's name) is translated too;
anything else (RMS's message, a user's tag name, a SKU) is shown as it was written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..errors import REASON_CONFLICT
from ..reason import Reason
from . import rules


@dataclass(frozen=True)
class Text(Reason):
    """A text of ours in both languages; called with its values, the stored (Japanese) text."""

    def __call__(self, **values) -> str:
        """The stored (Japanese) text with its values."""
        return self.ja.format(**values)


CONFLICT_REFUSED = Text(REASON_CONFLICT.ja, REASON_CONFLICT.en)
CANCELLED = Text("キャンセル理由: {reason}", "Cancel reason: {reason}")
CANCELLED_RETRIEVE = Text("キャンセル理由: {reason}（荷物の引き戻しあり）", "Cancel reason: {reason} (the parcel is to be retrieved)")
REFLECTING = Text("楽天RMSへキャンセルを反映します。", "The cancel will be reflected to Rakuten RMS.")
DELETED = Text("注文を削除しました。モール注文番号は再び登録できます。",
               "Order deleted. Its mall order number can be registered again.")
REGISTERED = {
    "manual": Text("手動で登録しました。", "Registered by hand."),
    "csv": Text("CSVで登録しました。", "Registered from a CSV file."),
}
REGISTERED_OTHER = Text("登録しました。", "Registered.")
AUTO_CONFIRMED = Text("ショップの自動確認設定により確認済にしました。", "Confirmed by the shop's automatic confirmation setting.")
IMPORTED = Text("楽天RMSから取り込みました。", "Imported from Rakuten RMS.")
MALL_CANCELLED = Text("楽天RMSでキャンセルされています。内容を確認してこの注文をキャンセルしてください。",
                      "Cancelled at Rakuten RMS. Check it, then cancel this order.")
MALL_CHANGE_HELD = Text("出荷依頼後に楽天で注文が変更されました。履歴で変更内容を確認してください。",
                        "The order was changed at Rakuten after it was requested from the warehouse. See the changes in the history.")
MALL_CHANGE_REFRESHED = Text("取込内容を更新", "Import brought up to date")
READ_HOLD_CLEARED = Text("楽天RMSを読み直したところ解消していたため外しました。",
                         "Removed: a new read of Rakuten RMS shows it resolved.")
REFLECTED = Text("楽天RMSにキャンセルを反映しました。", "The cancel was reflected to Rakuten RMS.")
REFLECTION_TAG_CLEARED = Text("再反映に成功したためタグを外しました。", "Tag removed: the retried reflection succeeded.")
REFLECTION_RETRY_ASKED = Text("楽天RMSへの反映を再試行します。", "The reflection to Rakuten RMS will be tried again.")
REFLECTION_RETRY = Text("一時的なエラーのため再試行します（{n}/{tries}回目）: {error}",
                        "Temporary error, trying again ({n} of {tries}): {error}")
RMS_SILENT = Text("楽天RMSが{tries}回続けて応答しませんでした: {error}", "Rakuten RMS did not answer {tries} times in a row: {error}")
RMS_ERROR = Text("楽天RMSの応答エラー: {error}", "Rakuten RMS answered with an error: {error}")
RMS_NO_CREDENTIALS = Text("楽天RMSの接続情報がないため反映できません。",
                          "Cannot reflect: the shop has no Rakuten RMS connection.")
RMS_REFUSED = Text("楽天RMSがキャンセルを受け付けませんでした。", "Rakuten RMS did not accept the cancel.")
RMS_NOT_FOUND = Text("楽天RMSにこの注文が見つかりません。", "Rakuten RMS does not know this order.")
RMS_PROGRESS = Text("楽天RMSの注文ステータス（{progress}）ではキャンセルできません。",
                    "Rakuten RMS cannot cancel an order in its status {progress}.")
RMS_AWAITING_CHANGE = Text("注文が変更確定待ち（400）です", "the order awaits the confirmation of a change (400)")
CONFIRMING = Text("楽天RMSで注文確認します。", "The order will be confirmed at Rakuten RMS.")
RMS_CONFIRMED = Text("楽天RMSで注文確認しました。", "Confirmed at Rakuten RMS.")
RMS_CONFIRMED_ALREADY = Text("楽天RMSでは既に注文確認待ちを過ぎています: {detail}", "Already past awaiting confirmation at Rakuten RMS: {detail}")
RMS_STATUS = Text("注文ステータス {progress}", "its status {progress}")
RMS_PROCESSING = Text("楽天RMSで注文確認したため、楽天処理中になりました。", "Confirmed at Rakuten RMS: Rakuten is processing the order.")
RMS_CONFIRM_CANCELLED = Text("楽天RMSで注文確認しようとしたところ、既にキャンセルされていました。内容を確認してこの注文をキャンセルしてください。",
                             "Could not confirm at Rakuten RMS: the order is cancelled there. Check it, then cancel this order.")
RMS_CONFIRM_DROPPED = Text("注文をキャンセルしたため、楽天RMSでの注文確認は行いません。",
                           "The order was cancelled: it will not be confirmed at Rakuten RMS.")
RMS_CONFIRM_PROGRESS = Text("楽天RMSの注文ステータス（{progress}）では注文確認できません。",
                            "Rakuten RMS cannot confirm an order in its status {progress}.")
# The shipping info's reflection to RMS (updateOrderShipping; boss.malls.rakuten.shipping_info).
SHIPPING_REFLECTING = Text("楽天RMSへ出荷情報（追跡番号）を反映します。",
                           "The shipping info (tracking number) will be reflected to Rakuten RMS.")
SHIPPING_REFLECTED = Text("楽天RMSへ出荷情報を反映しました（{numbers}）。",
                          "The shipping info was reflected to Rakuten RMS ({numbers}).")
SHIPPING_ALREADY_AT_RMS = Text("楽天RMSには既にこの追跡番号が登録されています（{numbers}）。",
                               "Rakuten RMS already has this tracking number ({numbers}).")
SHIPPING_CANCELLED_AT_RMS = Text("楽天RMSでキャンセルされているため出荷情報を反映できません（注文ステータス {progress}）。",
                                 "Cannot reflect the shipping info: the order is cancelled at Rakuten RMS "
                                 "(its status {progress}).")
SHIPPING_REFUSED = Text("楽天RMSが出荷情報を受け付けませんでした。", "Rakuten RMS did not accept the shipping info.")
SHIPPING_NO_BASKET = Text("楽天RMSの注文に送付先（basketId）がありません。", "The order at Rakuten RMS has no package (basketId).")
SHIPPING_PROGRESS = Text("楽天RMSの注文ステータス（{progress}）では出荷情報を反映できません。",
                         "Rakuten RMS cannot take shipping info for an order in its status {progress}.")
SHIPPING_RETRY_ASKED = Text("楽天RMSへの出荷情報の反映を再試行します。", "The shipping info will be reflected to Rakuten RMS again.")
SHIPPING_TAG_CLEARED = Text("出荷情報の再反映に成功したためタグを外しました。",
                            "Tag removed: the retried shipping info reflection succeeded.")
TAG_DELETED = Text("タグ「{name}」を削除したため外しました。", "Tag {name} removed: the tag was deleted.")
DEMO = Text("デモデータ", "Demo data")
DEMO_STATUS = Text("デモデータの状態", "Demo data's status")

# The warehouse's (warehouse.md §4).
SHIPMENT_REQUESTED = Text("倉庫へ出荷依頼します（出荷 {shipment}）。", "The shipment will be requested from the warehouse (shipment {shipment}).")
SHIPMENT_SENT = Text("倉庫が出荷依頼を受け付けました（倉庫の出荷ID {warehouse_id}）。",
                     "The warehouse accepted the shipping request (its shipment id {warehouse_id}).")
SHIPMENT_NOT_SENT_CANCELLED = Text("注文がキャンセルされたため、出荷依頼は送信しませんでした。",
                                   "The order was cancelled: the shipping request was not sent.")
SHIPMENT_REFUSED_AT_SEND = Text("倉庫が出荷依頼を受け付けませんでした: {error}", "The warehouse did not accept the shipping request: {error}")
SHIPMENT_SEND_RETRY = Text("倉庫へ送信できませんでした。{at} に再試行します（{n}/{tries}回目）: {error}",
                           "Could not reach the warehouse; trying again at {at} ({n} of {tries}): {error}")
SHIPMENT_SEND_FAILED = Text("倉庫へ{tries}回続けて送信できませんでした: {error}",
                            "Could not reach the warehouse {tries} times in a row: {error}")
NO_RESULT = Text("倉庫の応答にこの出荷依頼の結果がありません", "The warehouse's answer has no result for this request")
SHIPMENT_RESEND = Text("出荷依頼を再送します。", "The shipping request will be sent again.")
SHIPMENT_RESENT_CLEARED = Text("出荷依頼の再送に成功したためタグを外しました。", "Tag removed: the resent shipping request succeeded.")
SHIPMENT_STARTED = Text("倉庫が出荷作業を開始しました。", "The warehouse started picking.")
SHIPPED = Text("出荷しました（{carrier} {tracking}、出荷日 {shipped_on}）。", "Shipped ({carrier} {tracking}, ship date {shipped_on}).")
SHIPMENT_REFUSED = Text("倉庫が出荷不可としました（{code}）: {reason}", "The warehouse could not ship it ({code}): {reason}")
WITHDRAWN = Text("倉庫が出荷取下げを受け付けました。出荷不可になりました。", "The warehouse accepted the withdrawal: not shippable.")
WITHDRAWAL_REFUSED = Text("倉庫が出荷取下げを受け付けませんでした: {reason}", "The warehouse refused the withdrawal: {reason}")
NOTICE_ACKNOWLEDGED = Text("倉庫がキャンセル連絡を受け付けました。", "The warehouse acknowledged the cancel notice.")
NOTICE_REFUSED = Text("倉庫がキャンセルできませんでした: {reason}", "The warehouse could not cancel: {reason}")
STALE_EVENT = Text("古い倉庫イベント「{type}」（seq {seq}）は適用しませんでした（適用済み seq {last}）。",
                   "An old warehouse event {type} (seq {seq}) was not applied (seq {last} is applied).")
EVENT_NOT_APPLIED = Text("倉庫イベント「{type}」を適用しませんでした: {reason}", "The warehouse event {type} was not applied: {reason}")
WITHDRAWAL_REQUESTED = Text("倉庫へ出荷取下げを依頼します。", "A withdrawal will be requested from the warehouse.")
WITHDRAWAL_THEN_CANCEL = Text("倉庫へ出荷取下げを依頼します。取り下げられたらキャンセルします（キャンセル理由: {reason}）。",
                              "A withdrawal will be requested; once accepted the order is cancelled (cancel reason: {reason}).")
WITHDRAWN_BEFORE_SEND = Text("倉庫へ送る前の出荷依頼を取り下げました。", "The request was withdrawn before it was sent to the warehouse.")
WITHDRAWAL_SENT = Text("倉庫へ出荷取下げを依頼しました。回答を待っています。", "The withdrawal was sent to the warehouse; waiting for its answer.")
WITHDRAWAL_TOO_LATE = Text("倉庫は既に出荷済みのため取り下げられません: {error}", "Too late to withdraw: the warehouse has shipped it: {error}")
CANCELLATION_SENT = Text("倉庫へキャンセルを連絡しました。回答を待っています。", "The cancel was sent to the warehouse; waiting for its answer.")
NOTICE_TO_SEND = Text("倉庫へキャンセルを連絡します。", "The cancel will be sent to the warehouse.")
NOTICE_NOT_NEEDED = Text("倉庫は出荷依頼を受け付けていなかったため、連絡は不要になりました。",
                         "No notice needed: the warehouse never took the request.")
NOTICE_REFUSED_AT_SEND = Text("倉庫が連絡を受け付けませんでした: {error}", "The warehouse did not accept the notice: {error}")
NOTICE_SEND_RETRY = Text("倉庫へ連絡できませんでした。{at} に再試行します（{n}/{tries}回目）: {error}",
                         "Could not reach the warehouse; trying again at {at} ({n} of {tries}): {error}")
NOTICE_SEND_FAILED = Text("倉庫へ{tries}回続けて連絡できませんでした: {error}",
                          "Could not reach the warehouse {tries} times in a row: {error}")
AUTO_REQUEST_SHORT = Text("在庫が足りないため自動で出荷依頼できませんでした（{skus}）。",
                          "Not enough stock to request the shipment automatically ({skus}).")
RETURN_OPENED = Text("返品を受け付けました（返品待ち: {lines}）。", "A return was opened (awaiting return: {lines}).")
RETURN_OPENED_AFTER_SHIPPED = Text(
    "キャンセル後に倉庫が出荷したため返品を受け付けました（返品待ち: {lines}）。",
    "The warehouse shipped after the cancel: a return was opened (awaiting return: {lines}).")
RETURN_INSPECTED = Text(
    "返品を検品しました（SKU 返品数/販売可能数: {lines}）。販売可能な{sellable}点を在庫に戻しました。",
    "The return was inspected (SKU returned/sellable: {lines}). {sellable} sellable units went back into stock.")
RETURN_RESTOCKED = Text("返品の検品（販売可能）", "Return inspected (sellable)")
NOTICE_RESEND = Text("倉庫への連絡を再送します。", "The notice to the warehouse will be sent again.")
NOTICE_RESENT_CLEARED = Text("倉庫への連絡に成功したためタグを外しました。", "Tag removed: the notice reached the warehouse.")

# The names the system acts under (events' actor_name).
WAREHOUSE_ACTOR = Text("倉庫", "Warehouse")
WAREHOUSE_SEND_ACTOR = Text("倉庫連携", "Warehouse link")
AUTO_REQUEST_ACTOR = Text("自動出荷依頼", "Automatic shipping request")
AFTER_WITHDRAWAL_ACTOR = Text("取下げ後にキャンセル（{name}）", "Cancel after withdrawal ({name})")
AUTO_CONFIRM_ACTOR = Text("自動確認", "Automatic confirmation")
IMPORT_ACTOR = Text("楽天RMS取込", "Rakuten RMS import")
SCHEDULED_IMPORT_ACTOR = Text("定期取込", "Scheduled import")
REFLECTION_ACTOR = Text("楽天RMS反映", "Rakuten RMS reflection")
MAPPING_CSV_ACTOR = Text("商品マッピングCSV {job}（{name}）", "Mapping CSV {job} ({name})")
ORDERS_CSV_ACTOR = Text("受注CSV登録 {job}（{name}）", "CSV registration {job} ({name})")
BULK_ACTORS = {  # a bulk job acts as 「<label> <job id>（<who started it>）」
    "confirm": Text("一括確認 {job}（{name}）", "Bulk confirm {job} ({name})"),
    "cancel": Text("一括キャンセル {job}（{name}）", "Bulk cancel {job} ({name})"),
    "delete": Text("一括削除 {job}（{name}）", "Bulk delete {job} ({name})"),
    "retry_reflection": Text("一括再反映 {job}（{name}）", "Bulk reflection retry {job} ({name})"),
    "retry_shipping_reflection": Text("一括出荷情報再反映 {job}（{name}）", "Bulk shipping info reflection retry {job} ({name})"),
    "request_shipment": Text("一括出荷依頼 {job}（{name}）", "Bulk shipping request {job} ({name})"),
    "add_tag": Text("一括タグ追加 {job}（{name}）", "Bulk tag add {job} ({name})"),
    "remove_tag": Text("一括タグ外し {job}（{name}）", "Bulk tag removal {job} ({name})"),
}


def _texts() -> list[Text]:
    found = [value for value in globals().values() if isinstance(value, Text)]
    return found + list(REGISTERED.values()) + list(BULK_ACTORS.values())


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[re.Pattern, str]]:
    """Each text's Japanese as a pattern (its values as named groups), longest first so that a text that
    extends another (CANCELLED_RETRIEVE) wins."""
    patterns = []
    for text in sorted(_texts(), key=lambda t: len(t.ja), reverse=True):
        parts = re.split(r"\{(\w+)\}", text.ja)
        regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
        patterns.append((re.compile(regex + r"\Z", re.S), text.en))
    return patterns


@lru_cache(maxsize=1)
def _values_en() -> dict[str, str]:
    """Our own values that appear inside texts or alone (a tag event's message is the tag's name; a retry's
    error may be a text of ours)."""
    values = {ja: en for ja, en in rules.CANCEL_REASONS.values()}
    values.update({ja: rules.CANCEL_REASONS[code][1] for code, ja in rules.FORMER_CANCEL_REASON_LABELS.items()})
    values.update({tag.name: tag.name_en for tag in rules.SYSTEM_TAGS})
    values.update({text.ja: text.en for text in _texts() if "{" not in text.ja})
    return values


def english(stored: str) -> str:
    """A stored history text in English: ours translated, values of ours translated, anything else as is."""
    if not stored:
        return stored
    values = _values_en()
    if stored in values:
        return values[stored]
    for pattern, en in _patterns():
        match = pattern.match(stored)
        if match:
            return en.format(**{name: values.get(value, value) for name, value in match.groupdict().items()})
    return stored


def in_language(stored: str, lang: str) -> str:
    return english(stored) if lang == "en" else stored
