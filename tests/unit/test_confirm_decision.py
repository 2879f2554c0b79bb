"""注文確認 at RMS: what a pending confirm does once RMS has answered (boss.malls.rakuten.confirmation), one row a case."""
from __future__ import annotations

import pytest

from boss.malls.rakuten.client import RmsMessage, RmsProtocolError, RmsRequestError, RmsTransientError
from boss.malls.rakuten.confirmation import after_check, after_confirm
from boss.malls.rakuten.lane_state import Verdict
from boss.orders.consequences import confirms_at_rms

TIMEOUT = RmsTransientError("RMS did not answer within 30 seconds", function="getOrder")
REFUSED = RmsRequestError("ORDER_EXT_API_GET_ORDER_ERROR_001: invalid request", function="getOrder", http_status=400)


def _error(number: int, text: str = "エラー") -> RmsMessage:
    return RmsMessage("ERROR", f"ORDER_EXT_API_CONFIRM_ORDER_ERROR_{number:03d}", text, "1-20261101-0000000001")


ANSWERS = [
    ("info_is_done_and_rakuten_processing", None, Verdict("processing", "楽天RMSで注文確認しました。")),
    ("error_102_cancelled_at_rakuten_is_mall_cancelled", _error(102), Verdict("mall_cancelled")),
    ("error_103_status_moved_on_is_done", _error(103, "現在の注文ステータス(300)ではこの操作はできません。"),
     Verdict("done", "楽天RMSでは既に注文確認待ちを過ぎています: ORDER_EXT_API_CONFIRM_ORDER_ERROR_103: "
                     "現在の注文ステータス(300)ではこの操作はできません。")),
    ("error_105_postage_not_set_is_a_final_failure_with_rms_message", _error(105, "送料が未設定です。"),
     Verdict("fail", "ORDER_EXT_API_CONFIRM_ORDER_ERROR_105: 送料が未設定です。")),
    ("another_error_is_a_final_failure_too", _error(101, "注文が存在しません。"),
     Verdict("fail", "ORDER_EXT_API_CONFIRM_ORDER_ERROR_101: 注文が存在しません。")),
]


@pytest.mark.parametrize(("error", "verdict"), [case[1:] for case in ANSWERS], ids=[case[0] for case in ANSWERS])
def test_confirm_order_answers(error, verdict):
    assert after_confirm(error) == verdict


CHECKS = [
    ("awaiting_confirmation_100_is_sent_confirm_order", 100, Verdict("send", phase="confirm")),
    ("rakuten_processing_200_is_done_and_rakuten_processing", 200,
     Verdict("processing", "楽天RMSでは既に注文確認待ちを過ぎています: 注文ステータス 200")),
    ("awaiting_a_change_400_is_done_and_rakuten_processing", 400,
     Verdict("processing", "楽天RMSでは既に注文確認待ちを過ぎています: 注文ステータス 400")),
    ("awaiting_shipment_300_is_done", 300, Verdict("done", "楽天RMSでは既に注文確認待ちを過ぎています: 注文ステータス 300")),
    ("shipped_500_is_done", 500, Verdict("done", "楽天RMSでは既に注文確認待ちを過ぎています: 注文ステータス 500")),
    ("cancelled_800_is_mall_cancelled", 800, Verdict("mall_cancelled")),
    ("cancelled_900_is_mall_cancelled", 900, Verdict("mall_cancelled")),
    ("an_order_rms_does_not_know_is_a_final_failure", None, Verdict("fail", "楽天RMSにこの注文が見つかりません。")),
    ("a_transient_get_order_is_retried", TIMEOUT, Verdict("retry", "RMS did not answer within 30 seconds")),
    ("get_order_refused_is_a_final_failure", REFUSED,
     Verdict("fail", "楽天RMSの応答エラー: ORDER_EXT_API_GET_ORDER_ERROR_001: invalid request")),
    ("get_order_breaking_the_contract_is_a_final_failure", RmsProtocolError("no OrderModelList"),
     Verdict("fail", "楽天RMSの応答エラー: no OrderModelList")),
]


@pytest.mark.parametrize(("answer", "verdict"), [case[1:] for case in CHECKS], ids=[case[0] for case in CHECKS])
def test_a_confirm_checked_by_get_order(answer, verdict):
    assert after_check(answer) == verdict


def test_confirm_order_is_sent_only_for_an_order_rms_shows_awaiting_confirmation():
    sent = {progress for progress in (None, *range(100, 1000, 100)) if after_check(progress).action == "send"}
    assert sent == {100}


@pytest.mark.parametrize("mall_linked", [False, True])
@pytest.mark.parametrize("rms_connected", [False, True])
@pytest.mark.parametrize("setting", [False, True])
def test_only_a_mall_linked_order_of_a_connected_shop_with_the_setting_on_is_confirmed_at_rms(mall_linked, rms_connected, setting):
    assert confirms_at_rms(mall_linked, rms_connected, setting) is (mall_linked and rms_connected and setting)
