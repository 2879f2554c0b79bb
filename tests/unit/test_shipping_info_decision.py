"""Shipping info to RMS: what pending shipping info does once getOrder has answered
(boss.malls.rakuten.shipping_info.after_check), one row a case; and the ShippingModels a shipment becomes."""
from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from boss.malls.rakuten.client import RmsProtocolError, RmsRequestError, RmsTransientError
from boss.malls.rakuten.lane_state import Verdict
from boss.malls.rakuten.reader import read_order
from boss.malls.rakuten.shipping_info import after_check, missing, shipping_models

TIMEOUT = RmsTransientError("RMS did not answer within 30 seconds", function="getOrder")
REFUSED = RmsRequestError("ORDER_EXT_API_GET_ORDER_ERROR_001: invalid request", function="getOrder", http_status=400)
BROKEN = RmsProtocolError("getOrder answered with no OrderModelList", function="getOrder")
OURS = [{"deliveryCompany": "1001", "shippingNumber": "1111", "shippingDate": "2026-12-05"},
        {"deliveryCompany": "1003", "shippingNumber": "2222", "shippingDate": "2026-12-05"}]


def rms(progress, numbers=(), basket=123):
    package = {"basketId": basket, "ItemModelList": [],
               "ShippingModelList": [{"deliveryCompany": "1001", "shippingNumber": n} for n in numbers]}
    return read_order({"orderNumber": "1-20261201-00000001", "orderProgress": progress,
                       "PackageModelList": [package]})


CASES = [
    # (case, answer, phase, refusal, verdict)
    ("every_number_already_at_rms_is_done_and_nothing_is_sent", rms(500, ("1111", "2222")), "check", None,
     Verdict("done", "楽天RMSには既にこの追跡番号が登録されています（1111、2222）。")),
    ("numbers_at_rms_after_an_error_answer_is_done_too", rms(500, ("1111", "2222")), "verify", "E: x",
     Verdict("done", "楽天RMSには既にこの追跡番号が登録されています（1111、2222）。")),
    ("cancelled_at_rakuten_900_is_a_final_failure_saying_so", rms(900), "check", None,
     Verdict("fail", "楽天RMSでキャンセルされているため出荷情報を反映できません（注文ステータス 900）。")),
    ("cancel_awaiting_confirmation_800_is_a_final_failure_too", rms(800, ("1111",)), "check", None,
     Verdict("fail", "楽天RMSでキャンセルされているため出荷情報を反映できません（注文ステータス 800）。")),
    ("an_error_answer_and_the_numbers_not_at_rms_is_a_final_failure_with_rms_message", rms(100), "verify",
     "ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_105: x",
     Verdict("fail", "ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_105: x")),
    ("an_order_rms_does_not_know_is_a_final_failure", None, "check", None,
     Verdict("fail", "楽天RMSにこの注文が見つかりません。")),
    ("awaiting_a_change_400_is_transient", rms(400), "check", None, Verdict("retry", "注文が変更確定待ち（400）です")),
    ("awaiting_confirmation_100_is_sent", rms(100), "check", None, Verdict("send", phase="ship")),
    ("awaiting_shipment_300_is_sent", rms(300), "check", None, Verdict("send", phase="ship")),
    ("shipped_500_with_one_number_of_two_is_sent", rms(500, ("1111",)), "check", None, Verdict("send", phase="ship")),
    ("payment_done_700_is_sent", rms(700), "check", None, Verdict("send", phase="ship")),
    ("an_order_without_a_basket_is_a_final_failure", rms(300, basket=None), "check", None,
     Verdict("fail", "楽天RMSの注文に送付先（basketId）がありません。")),
    ("a_timeout_5xx_or_429_of_get_order_is_retried", TIMEOUT, "check", None,
     Verdict("retry", "RMS did not answer within 30 seconds")),
    ("a_refused_get_order_is_a_final_failure", REFUSED, "check", None,
     Verdict("fail", f"楽天RMSの応答エラー: {REFUSED}")),
    ("a_get_order_that_breaks_the_contract_is_a_final_failure", BROKEN, "check", None,
     Verdict("fail", f"楽天RMSの応答エラー: {BROKEN}")),
]


@pytest.mark.parametrize("answer,phase,refusal,verdict", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_after_check(answer, phase, refusal, verdict):
    assert after_check(answer, OURS, phase, refusal) == verdict


def test_only_the_numbers_rms_lacks_are_sent():
    assert missing(rms(500, ("1111",)), OURS) == [OURS[1]]


@pytest.mark.parametrize("carrier,code", [("yamato", "1001"), ("sagawa", "1002"), ("japanpost", "1003"),
                                          ("other", "1000"), (None, "1000")])
def test_a_single_parcel_is_one_shipping_model_with_the_carriers_code(carrier, code):
    shipment = SimpleNamespace(carrier=carrier, tracking_number="4000-1111", shipped_on=date(2026, 12, 5), parcels=None)
    assert shipping_models(shipment) == [{"deliveryCompany": code, "shippingNumber": "4000-1111",
                                          "shippingDate": "2026-12-05"}]


def test_several_parcels_are_one_shipping_model_each():
    shipment = SimpleNamespace(carrier="yamato", tracking_number="A", shipped_on=date(2026, 12, 5),
                               parcels=[{"carrier": "yamato", "tracking_number": "A"},
                                        {"carrier": "sagawa", "tracking_number": "B"}])
    models = shipping_models(shipment)
    assert [(m["deliveryCompany"], m["shippingNumber"]) for m in models] == [("1001", "A"), ("1002", "B")]


@pytest.mark.parametrize("mall_linked,rms_connected,reflects", [
    (True, True, True), (False, True, False), (True, False, False), (False, False, False)])
def test_r7_only_a_mall_linked_order_of_a_shop_connected_to_rms_has_its_shipping_info_reflected(
        mall_linked, rms_connected, reflects):
    from boss.orders.consequences import reflects_shipping

    assert reflects_shipping(mall_linked, rms_connected) is reflects
