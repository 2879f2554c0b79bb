"""The one error type services raise: a code of api.md, a message in Japanese and English."""
from __future__ import annotations

from typing import Optional

from .reason import Reason

STATUS_BY_CODE = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "validation_error": 422,
    "mall_order_number_taken": 409,
    "already_exists": 409,
    "cannot_cancel": 409,
    "cannot_delete": 409,
    "invalid_transition": 409,
    "insufficient_stock": 409,
    "conflict": 409,
    "file_too_large": 413,
}

REASON_CONFLICT = Reason(
    "この注文は他の操作で更新されました。最新の状態を表示しています。",
    "This order was changed by someone else. Its current state is shown.",
)
REASON_NOT_FOUND = Reason("見つかりません。", "Not found.")


class ServiceError(Exception):
    def __init__(self, code: str, reason: Reason, fields: Optional[dict] = None):
        super().__init__(reason.en)
        self.code = code
        self.reason = reason
        self.fields = fields or {}

    @property
    def status(self) -> int:
        return STATUS_BY_CODE[self.code]

    def message(self, lang: str = "ja") -> str:
        return self.reason.text(lang)


def not_found(what_ja: str = "", what_en: str = "") -> ServiceError:
    if what_ja:
        return ServiceError("not_found", Reason(f"{what_ja}が見つかりません。", f"{what_en} not found."))
    return ServiceError("not_found", REASON_NOT_FOUND)


def validation_error(fields: dict[str, str]) -> ServiceError:
    listed = ", ".join(f"{k}: {v}" for k, v in fields.items())
    # The reasons are Japanese: the English message names the fields only.
    return ServiceError("validation_error", Reason(f"入力内容に誤りがあります（{listed}）。",
                                                   f"Invalid input ({', '.join(fields)})."), fields)
