"""R9: what a pending cancel does once getOrder has answered (boss.malls.rakuten.reflection.after_check), one row a case."""
from __future__ import annotations

import pytest

from boss.malls.rakuten.reflection import Verdict, after_check
from boss.malls.rakuten.client import RmsProtocolError, RmsRequestError, RmsTransientError

TIMEOUT = RmsTransientError("RMS did not answer within 30 seconds", function="getOrder")
REFUSED = RmsRequestError("ORDER_EXT_API_GET_ORDER_ERROR_001: invalid request", function="getOrder", http_status=400)
BROKEN = RmsProtocolError("getOrder answered with no OrderModelList", function="getOrder")

CASES = [
    # (case, answer, phase, refusal, verdict)
    ("r9_already_cancelled_at_rms_900_is_done_and_no_second_cancel_is_sent", 900, "check", None, Verdict("done")),
    ("r9_cancel_awaiting_confirmation_at_rms_800_is_done", 800, "check", None, Verdict("done")),
    ("r9_error_answer_but_rms_shows_the_order_cancelled_is_done", 900, "verify", "E01: busy", Verdict("done")),
    ("r9_error_answer_and_rms_not_cancelled_is_a_final_failure_with_rms_message", 300, "verify", "E02: refused",
     Verdict("fail", "E02: refused")),
    ("r9_error_answer_without_a_message_is_a_final_failure_saying_rms_refused", 100, "verify", None,
     Verdict("fail", "楽天RMSがキャンセルを受け付けませんでした。")),
    ("r9_error_answer_and_the_order_gone_from_rms_fails_with_rms_message", None, "verify", "E02: refused",
     Verdict("fail", "E02: refused")),
    ("r9_an_order_rms_does_not_know_is_a_final_failure", None, "check", None,
     Verdict("fail", "楽天RMSにこの注文が見つかりません。")),
    ("r9_awaiting_a_change_400_is_transient_and_retried", 400, "check", None,
     Verdict("retry", "注文が変更確定待ち（400）です")),
    ("r9_awaiting_confirmation_100_is_sent_cancel_order", 100, "check", None, Verdict("send", phase="cancel")),
    ("r9_rakuten_processing_200_is_sent_cancel_order", 200, "check", None, Verdict("send", phase="cancel")),
    ("r9_awaiting_shipment_300_is_sent_cancel_order", 300, "check", None, Verdict("send", phase="cancel")),
    ("r9_shipped_500_is_sent_cancel_after_shipping", 500, "check", None,
     Verdict("send", phase="cancel_after_shipping")),
    ("r9_payment_in_progress_600_is_sent_cancel_after_shipping", 600, "check", None, Verdict("send", phase="cancel_after_shipping")),
    ("r9_payment_done_700_is_sent_cancel_after_shipping", 700, "check", None,
     Verdict("send", phase="cancel_after_shipping")),
    ("r9_a_progress_rms_cannot_cancel_is_a_final_failure_naming_it", 1000, "check", None,
     Verdict("fail", "楽天RMSの注文ステータス（1000）ではキャンセルできません。")),
    ("r9_a_timeout_5xx_or_429_of_get_order_is_transient_and_retried", TIMEOUT, "check", None,
     Verdict("retry", "RMS did not answer within 30 seconds")),
    ("r9_a_transient_get_order_while_verifying_is_retried_too", TIMEOUT, "verify", "E02: refused",
     Verdict("retry", "RMS did not answer within 30 seconds")),
    ("r9_get_order_refused_by_rms_is_a_final_failure_with_its_error", REFUSED, "check", None,
     Verdict("fail", "楽天RMSの応答エラー: ORDER_EXT_API_GET_ORDER_ERROR_001: invalid request")),
    ("r9_get_order_breaking_the_contract_is_a_final_failure_with_its_error", BROKEN, "check", None,
     Verdict("fail", "楽天RMSの応答エラー: getOrder answered with no OrderModelList")),
]


@pytest.mark.parametrize(("answer", "phase", "refusal", "verdict"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_r9_the_reflection_decides_from_rms_answer(answer, phase, refusal, verdict):
    assert after_check(answer, phase, refusal) == verdict


def test_r9_a_cancel_is_sent_only_for_an_order_rms_shows_open_and_never_while_verifying_an_error_answer():
    sent = {(progress, phase) for progress in (None, *range(100, 1000, 100)) for phase in ("check", "verify")
            if after_check(progress, phase).action == "send"}
    assert sent == {(progress, "check") for progress in (100, 200, 300, 500, 600, 700)}
