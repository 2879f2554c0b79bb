"""What the sandbox answers to each RMS function, by the contract's status rules."""
from __future__ import annotations

import math
import random
from datetime import date, datetime
from typing import Callable

from flask import current_app

from ..reader import JST, format_rms_datetime
from .contract import (CANCELLED, DATE_PATTERN, MAX_NUMBERS, MAX_PAGE_AMOUNT, MAX_WINDOW, PROGRESSES, REASONS,
                       SEARCH_CAP, Answer, Fields, Refused, envelope, is_int, message)
from .store import Store


def search_order(store: Store, body: dict) -> Answer:
    fields = Fields("searchOrder", body)
    fields.integer("dateType", allowed=range(1, 7))
    start = fields.datetime("startDatetime")
    end = fields.datetime("endDatetime")
    progresses = body.get("orderProgressList")
    if progresses is not None and (not isinstance(progresses, list)
                                   or not all(is_int(p) and p in PROGRESSES for p in progresses)):
        fields.bad("orderProgressList")
    paging = fields.required("PaginationRequestModel")
    amount = page = None
    descending = False
    if paging is not None and not isinstance(paging, dict):
        fields.bad("PaginationRequestModel")
    elif paging is not None:
        amount = fields.integer("requestRecordsAmount", source=paging, minimum=1)
        page = fields.integer("requestPage", source=paging, minimum=1)
        sorts = paging.get("SortModelList")
        if sorts is not None:
            if (not isinstance(sorts, list) or not all(isinstance(sort, dict) and sort.get("sortColumn") == 1
                                                       and sort.get("sortDirection") in (1, 2) for sort in sorts)):
                fields.bad("SortModelList")
            elif sorts:
                descending = sorts[0]["sortDirection"] == 2
    fields.refuse_if_any()
    if end < start:
        raise Refused(envelope("searchOrder", [message(
            "searchOrder", "ERROR", 13, "endDatetimeはstartDatetime以降の日時を指定して下さい。")], 400))
    if end - start > MAX_WINDOW:
        raise Refused(envelope("searchOrder", [message(
            "searchOrder", "ERROR", 14, "期間は63日以内で指定して下さい。")], 400))
    if amount > MAX_PAGE_AMOUNT:
        raise Refused(envelope("searchOrder", [message(
            "searchOrder", "ERROR", 12, "requestRecordsAmountは1000以下で指定して下さい。")], 400))

    numbers = store.search(start, end, progresses)
    if not numbers:
        return envelope("searchOrder", [message("searchOrder", "INFO", 102, "該当する注文情報はありません。")],
                        orderNumberList=[], PaginationResponseModel={
                            "totalRecordsAmount": None, "totalPages": None, "requestPage": None})
    if descending:
        numbers.reverse()
    served = numbers[:SEARCH_CAP]
    pages = math.ceil(len(served) / amount)
    return envelope("searchOrder", [message("searchOrder", "INFO", 101, "注文検索に成功しました。")],
                    orderNumberList=served[(page - 1) * amount: page * amount],
                    PaginationResponseModel={"totalRecordsAmount": len(numbers), "totalPages": pages,
                                             "requestPage": page})


def get_order(store: Store, body: dict) -> Answer:
    fields = Fields("getOrder", body)
    numbers = fields.numbers()
    version = fields.integer("version", minimum=1)
    fields.refuse_if_any()
    too_many("getOrder", numbers)
    store.finish_processing(numbers, current_app.config["RMS_SANDBOX_PROCESSING_SECONDS"])
    orders = store.load(numbers)
    found = [order for order in orders if order is not None]
    messages = [message("getOrder", "ERROR", 101, "指定された注文番号の注文は存在しません。", number)
                for number, order in zip(numbers, orders) if order is None]
    if found:
        messages.insert(0, message("getOrder", "INFO", 101, f"受注情報取得に成功しました。(取得件数{len(found)}件)"))
    return envelope("getOrder", messages, version=version, OrderModelList=found)


def too_many(function: str, numbers: list[str]) -> None:
    if len(numbers) > MAX_NUMBERS:
        raise Refused(envelope(function, [message(
            function, "ERROR", 12, "orderNumberListは100件以内で指定して下さい。")], 400))


def cancel(function: str, allowed: tuple, to: int) -> Callable[[Store, dict], Answer]:
    def handle(store: Store, body: dict) -> Answer:
        fields = Fields(function, body)
        number = fields.text("orderNumber")
        fields.integer("inventoryRestoreType", allowed=(0, 1, 2))
        fields.integer("changeReasonDetailApply", allowed=REASONS)
        fields.refuse_if_any()
        moved, before = store.move(number, allowed, to)
        if moved:
            return envelope(function, [message(function, "INFO", 101, "キャンセル申請に成功しました。", number)])
        return envelope(function, [refusal(function, number, before)])

    return handle


def refusal(function: str, number: str, progress: int) -> dict:
    if progress == -1:
        return message(function, "ERROR", 101, "指定された注文番号の注文は存在しません。", number)
    if progress in CANCELLED:
        return message(function, "ERROR", 102, "この注文はすでにキャンセルされています。", number)
    return message(function, "ERROR", 103, f"現在の注文ステータス({progress})ではこの操作はできません。", number)


def confirm_order(store: Store, body: dict) -> Answer:
    """100 → 200 (楽天処理中) with the time of the shop's confirmation; RMS moves it on to 300 (get_order)."""
    fields = Fields("confirmOrder", body)
    numbers = fields.numbers()
    fields.refuse_if_any()
    too_many("confirmOrder", numbers)
    messages = []
    confirmed_at = format_rms_datetime(datetime.now(JST))
    for number in numbers:
        moved, before = store.move(number, (100,), 200)
        if moved:
            store.update_order(number, lambda order: order.update(shopOrderCfmDatetime=confirmed_at))
        messages.append(message("confirmOrder", "INFO", 101, "注文確認に成功しました。", number) if moved
                        else refusal("confirmOrder", number, before))
    return envelope("confirmOrder", messages)


def update_order_shipping(store: Store, body: dict) -> Answer:
    function = "updateOrderShipping"
    fields = Fields(function, body)
    number = fields.text("orderNumber")
    baskets = fields.required("BasketidModelList")
    if baskets is not None and not (isinstance(baskets, list) and all(isinstance(b, dict) for b in baskets)):
        fields.bad("BasketidModelList")
        baskets = None
    for basket in baskets or []:
        fields.integer("basketId", source=basket)
        shippings = fields.required("ShippingModelList", basket)
        if shippings is None:
            continue
        if not (isinstance(shippings, list) and all(isinstance(s, dict) for s in shippings)):
            fields.bad("ShippingModelList")
            continue
        for shipping in shippings:
            company = fields.text("deliveryCompany", shipping)
            if company is not None and not company.isdigit():
                fields.bad("deliveryCompany")
            fields.text("shippingNumber", shipping)
            shipped_on = shipping.get("shippingDate")
            if shipped_on is not None and not valid_date(shipped_on):
                fields.bad("shippingDate")
    fields.refuse_if_any()

    order = store.load([number])[0]
    if order is None or order["orderProgress"] in CANCELLED or order["orderProgress"] == 400:
        return envelope(function, [refusal(function, number, -1 if order is None else order["orderProgress"])])
    known = {package.get("basketId") for package in order.get("PackageModelList") or []}
    unknown = [basket["basketId"] for basket in baskets if basket["basketId"] not in known]
    if unknown:
        return envelope(function, [message(function, "ERROR", 104, f"basketId {unknown[0]} はこの注文にありません。", number)])

    def add_shippings(stored: dict) -> None:
        for basket in baskets:
            package = next(p for p in stored["PackageModelList"] if p.get("basketId") == basket["basketId"])
            listed = package.setdefault("ShippingModelList", [])
            for shipping in basket["ShippingModelList"]:
                listed.append({"shippingDetailId": random.randint(10**8, 10**9 - 1),
                               "deliveryCompany": shipping["deliveryCompany"],
                               "shippingNumber": shipping["shippingNumber"],
                               "shippingDate": shipping.get("shippingDate")})

    store.update_order(number, add_shippings)
    store.move(number, (100, 200, 300), 500)
    return envelope(function, [message(function, "INFO", 101, "発送情報の更新に成功しました。", number)])


def valid_date(value) -> bool:
    if not isinstance(value, str) or not DATE_PATTERN.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


HANDLERS: dict[str, Callable[[Store, dict], Answer]] = {
    "searchOrder": search_order,
    "getOrder": get_order,
    "cancelOrder": cancel("cancelOrder", (100, 200, 300), 900),
    # 800 (キャンセル確定待ち) is already cancelled: asking again is answered as a success and changes nothing
    "cancelOrderAfterShipping": cancel("cancelOrderAfterShipping", (500, 600, 700, 800), 800),
    "confirmOrder": confirm_order,
    "updateOrderShipping": update_order_shipping,
}


def run(store: Store, function: str, body: dict) -> Answer:
    try:
        return HANDLERS[function](store, body)
    except Refused as refused:
        return refused.answer
