"""The shop forms: name and switches for every shop; for a Rakuten shop also its RMS API connection and import settings."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Regexp, ValidationError

from ...malls.rakuten import connection
from ...models import MALLS, Shop
from .base import SettingsForm, jst_today, strip


class ShopForm(SettingsForm):
    name = StringField(_l("ショップ名"), filters=[strip], validators=[
        DataRequired(_l("ショップ名を入力してください。")), Length(max=120, message=_l("120文字以内で入力してください。"))])
    auto_confirm = BooleanField(_l("自動確認"))
    reflect_cancel_to_rms = BooleanField(_l("注文キャンセルをRMS注文情報へ反映"))
    confirm_at_rms = BooleanField(_l("確認済にしたら楽天RMSでも注文確認する"))
    auto_request_shipment = BooleanField(_l("確認済の注文を自動で出荷依頼する"))
    sender_postal_code = StringField(_l("依頼主 郵便番号"), filters=[strip], validators=[
        Length(max=16, message=_l("16文字以内で入力してください。"))])
    sender_address = StringField(_l("依頼主 住所"), filters=[strip], validators=[
        Length(max=500, message=_l("500文字以内で入力してください。"))])
    sender_phone = StringField(_l("依頼主 電話番号"), filters=[strip], validators=[
        Length(max=40, message=_l("40文字以内で入力してください。"))])

    def fill_warehouse(self, shop: Shop) -> "ShopForm":
        """The shop's 依頼主 (its `sender` JSON) into the form's fields."""
        sender = shop.sender or {}
        for name in ("postal_code", "address", "phone"):
            getattr(self, f"sender_{name}").data = sender.get(name) or ""
        return self

    def warehouse_changes(self) -> dict:
        return {"auto_request_shipment": bool(self.auto_request_shipment.data),
                "sender": {name: getattr(self, f"sender_{name}").data or ""
                           for name in ("postal_code", "address", "phone")}}


def _nfkc(value):
    """Full-width digits and letters as typed with a Japanese IME become half-width; outer spaces go."""
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


class WholeNumber:
    """A whole number from low to high, with one Japanese message for anything else."""

    def __init__(self, low: int, high: int, message):
        self.low, self.high, self.message = low, high, message

    def __call__(self, form, field):
        text = field.data or ""
        if not re.fullmatch(r"[0-9]{1,6}", text) or not self.low <= int(text) <= self.high:
            raise ValidationError(self.message)


def _parse_date(text: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    return None


RMS_KEY_CHARS = Regexp(r"^[\x21-\x7e]*$", message=_l("半角の英数字と記号で入力してください（空白は使えません）。"))


class RakutenShopForm(ShopForm):
    """A Rakuten shop also has its RMS API connection (rakuten-rms.md) and the import settings."""

    rms_service_secret = PasswordField("serviceSecret", filters=[_nfkc], validators=[
        Length(max=255, message=_l("255文字以内で入力してください。")), RMS_KEY_CHARS])
    rms_license_key = PasswordField("licenseKey", filters=[_nfkc], validators=[
        Length(max=255, message=_l("255文字以内で入力してください。")), RMS_KEY_CHARS])
    rms_license_key_expires_on = StringField(_l("licenseKeyの有効期限"), filters=[_nfkc])
    rms_base_url = StringField(_l("接続先URL"), filters=[_nfkc], validators=[
        Length(max=255, message=_l("255文字以内で入力してください。"))])
    import_interval_minutes = StringField(_l("自動取込の間隔（分）"), filters=[_nfkc], default="10", validators=[
        DataRequired(_l("取込の間隔を分で入力してください。")),
        WholeNumber(1, 1440, _l("1〜1440（分）の整数で入力してください。"))])
    initial_lookback_days = StringField(_l("初回取込の対象期間（日）"), filters=[_nfkc], default="30", validators=[
        DataRequired(_l("日数を入力してください。")), WholeNumber(1, 730, _l("1〜730（日）の整数で入力してください。"))])
    inventory_restore_type = StringField(_l("在庫の戻し方"), default="0", validators=[
        AnyOf(("0", "1", "2"), message=_l("在庫の扱いを選んでください。"))])

    @classmethod
    def for_shop(cls, shop: Shop) -> "RakutenShopForm":
        """The form filled from the shop; the credentials are never filled in (nor shown)."""
        form = cls(formdata=None, obj=shop)
        rms = shop.rms
        form.rms_license_key_expires_on.data = rms.key_expires_on.isoformat() if rms.key_expires_on else ""
        form.rms_base_url.data = _shown_base_url(shop)
        form.import_interval_minutes.data = str(rms.interval_seconds // 60)
        form.initial_lookback_days.data = str(rms.setting("initial_lookback_days"))
        form.inventory_restore_type.data = str(rms.setting("inventory_restore_type"))
        return form

    def validate_rms_license_key_expires_on(self, field):
        if field.data and _parse_date(field.data) is None:
            raise ValidationError(_("日付を「2027-01-31」の形で入力してください。"))

    def rms_changes(self, shop: Shop) -> dict | None:
        """The `rms` dict for shops.update_shop, or None when the stored credentials stay. Adds field
        errors (and answers None) when the input cannot be saved as it is."""
        secret, key = self.rms_service_secret.data or "", self.rms_license_key.data or ""
        expires_text, base_url = self.rms_license_key_expires_on.data or "", self.rms_base_url.data or ""
        expires_on = _parse_date(expires_text) if expires_text else None
        if bool(secret) != bool(key):
            missing = self.rms_license_key if secret else self.rms_service_secret
            missing.errors.append(_("serviceSecretとlicenseKeyは2つそろえて入力してください（登録済みの値を残すときは両方とも空欄にします）。"))
            return None
        if not secret:  # the stored pair stays; its expiry and URL belong to it
            stored_expiry = shop.rms.key_expires_on
            if expires_on != stored_expiry:
                self.rms_license_key_expires_on.errors.append(
                    _("有効期限を変えるときは、そのlicenseKeyとserviceSecretも入力してください。") if shop.rms_connected else
                    _("有効期限はserviceSecretとlicenseKeyといっしょに登録します。"))
            if base_url.rstrip("/") != _shown_base_url(shop).rstrip("/"):
                self.rms_base_url.errors.append(
                    _("接続先URLを変えるときは、serviceSecretとlicenseKeyも入力してください。") if shop.rms_connected else
                    _("接続先URLはserviceSecretとlicenseKeyといっしょに登録します。"))
            return None
        if expires_on is not None and expires_on < jst_today():
            self.rms_license_key_expires_on.errors.append(_("有効期限が過ぎた日付です。新しいlicenseKeyの有効期限を入力してください。"))
            return None
        return {"service_secret": secret, "license_key": key, "license_key_expires_on": expires_on,
                "base_url": base_url or None}


def _shown_base_url(shop: Shop) -> str:
    """The base URL field shows a URL only when it is not the default (blank = the default)."""
    base_url = shop.rms.base_url
    if not base_url or base_url == connection.default_base_url():
        return ""
    return base_url


class NewShopForm(ShopForm):
    mall = StringField(_l("モール"), validators=[AnyOf(MALLS, message=_l("モールを選んでください。"))])
