"""Orders, their lines, shipments, tags and history."""
from __future__ import annotations

from typing import Iterable, NamedTuple, Optional

from sqlalchemy import Index, UniqueConstraint, text

from ..colors import ink_on
from ..extensions import db
from ..models import Shop, utcnow
from . import consequences, rules
from .numbers import number_key

order_tags = db.Table(
    "order_tags",
    db.Column("order_id", db.Integer, db.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    db.Column("tag_id", db.Integer, db.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)

NOT_DELETED = text("deleted_at IS NULL")


class TagLook:
    """What a tag shows, from its code, name, colour and system flag: shared by Tag and listing.TagRow."""
    __slots__ = ()

    def meaning(self, lang: str = "ja") -> str:
        """What a system tag means, in the user's language ("" for a custom tag)."""
        spec = rules.SYSTEM_TAGS_BY_CODE.get(self.code or "")
        return (spec.meaning_en if lang == "en" else spec.meaning) if spec else ""

    @property
    def shown_color(self) -> str:
        """The colour the tag is drawn in: a system tag's from its definition (rules.SYSTEM_TAGS)."""
        spec = rules.SYSTEM_TAGS_BY_CODE.get(self.code or "") if self.system else None
        return spec.color if spec else self.color

    @property
    def ink(self) -> str:
        """The text colour readable on the tag's colour (black or white)."""
        return ink_on(self.shown_color)

    def label(self, lang: str = "ja") -> str:
        """A system tag's name in the user's language; a custom tag's name as its users wrote it."""
        spec = rules.SYSTEM_TAGS_BY_CODE.get(self.code or "")
        return spec.name_en if spec and lang == "en" else self.name


class Tag(TagLook, db.Model):
    __tablename__ = "tags"
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False)
    code = db.Column(db.String(40))  # system tags only
    name = db.Column(db.String(40), nullable=False)
    color = db.Column(db.String(7), nullable=False, default="#5b6b7f")
    system = db.Column(db.Boolean, nullable=False, default=False)
    holds = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "name", name="uq_tags_account_name"),
        Index("ix_tags_account_code", "account_id", "code"),
    )


class OrderLook:
    """What the rules and the JSON read of an order beyond its columns, from its columns, tags, lines and shipments:
    shared by Order and listing.OrderRow."""
    __slots__ = ()

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    def state(self) -> rules.OrderState:
        shipment = self.current_shipment
        return state_of(self, self.tags, self.lines, shipment.request_state if shipment is not None else None)

    @property
    def current_shipment(self) -> Optional["Shipment"]:
        """The order's latest shipment (api.md `shipment`); earlier ones stay in its history. None before the
        first shipping request — known without a query while shipment_status is null."""
        if self.shipment_status is None and "shipments" not in self.__dict__:
            return None
        return self.shipments[-1] if self.shipments else None

    def has_tag(self, code: str) -> bool:
        return any(t.code == code for t in self.tags)


class Order(OrderLook, db.Model):
    __tablename__ = "orders"
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False)
    shop_id = db.Column(db.Integer, db.ForeignKey("shops.id"), nullable=False)
    mall_order_number = db.Column(db.String(64), nullable=False)
    # R4–R6 and the exact-number search compare this (orders.md §1); Text: NFKC and casefold may lengthen a
    # number, and a collision left by migration 0008 carries `#<order id>`. Inserts that leave it out (an
    # ORM Order, a Core executemany) get it from the number; the batch import's JSON INSERT sets it itself.
    mall_order_number_key = db.Column(db.Text, nullable=False, default=lambda context: number_key(
        context.get_current_parameters()["mall_order_number"]))
    source = db.Column(db.String(16), nullable=False, default="manual")  # mall_import, manual, csv
    mall_linked = db.Column(db.Boolean, nullable=False, default=False)
    status = db.Column(db.String(32), nullable=False, default=rules.AWAITING_CONFIRMATION)
    shipment_status = db.Column(db.String(32))  # of the current shipment; None before a shipping request
    ordered_at = db.Column(db.DateTime, nullable=False)

    buyer_name = db.Column(db.String(255), nullable=False)
    buyer_name_kana = db.Column(db.String(255), nullable=False, default="")
    buyer_email = db.Column(db.String(254), nullable=False, default="")
    buyer_phone = db.Column(db.String(40), nullable=False, default="")
    buyer_postal_code = db.Column(db.String(16), nullable=False, default="")
    buyer_address = db.Column(db.String(500), nullable=False, default="")
    recipient_name = db.Column(db.String(255), nullable=False)
    recipient_name_kana = db.Column(db.String(255), nullable=False, default="")
    recipient_email = db.Column(db.String(254), nullable=False, default="")
    recipient_phone = db.Column(db.String(40), nullable=False, default="")
    recipient_postal_code = db.Column(db.String(16), nullable=False, default="")
    recipient_address = db.Column(db.String(500), nullable=False, default="")

    payment_method = db.Column(db.String(120), nullable=False, default="")
    remarks = db.Column(db.Text, nullable=False, default="")
    delivery_date = db.Column(db.Date)
    delivery_time_slot = db.Column(db.String(40))
    postage = db.Column(db.Integer)
    # What the buyer pays (api.md, rakuten-rms.md §Reading an order): ラッピング料 (part of the total), the charges
    # on top of it (代引料, 決済手数料, 後払い手数料), coupons and points; billed = 請求金額 (None: not fixed yet).
    wrapping = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    charges = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    discount = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    points_used = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    billed = db.Column(db.BigInteger().with_variant(db.Integer(), "sqlite"))
    pickup = db.Column(db.JSON(none_as_null=True))  # {kind, store_code, store_name, address}: a convenience store or post office
    drop_off = db.Column(db.Text)  # 置き配: where
    # The last RMS version read of a Rakuten order (the fields BOSS reads) and its hash: a mall-side change is
    # a difference between two reads (rakuten-rms.md §Changes after import). rms_read is null while the order's
    # own columns hold that read (malls.rakuten.reread.last_read); a hash null: never read since version 10.
    rms_read = db.Column(db.JSON(none_as_null=True))
    rms_read_hash = db.Column(db.String(64))
    # 200 lines × 9,999 × 10,000,000 yen exceed 2³¹ (migration 0002); SQLite's INTEGER is 64-bit already.
    total = db.Column(db.BigInteger().with_variant(db.Integer(), "sqlite"), nullable=False, default=0)
    # Buyer/recipient names and kana (NFKC, no spaces, katakana) and phone digits, for `q`.
    search_text = db.Column(db.Text, nullable=False, default="")

    stock_reserved = db.Column(db.Boolean, nullable=False, default=False)
    confirmed_at = db.Column(db.DateTime)
    cancelled_at = db.Column(db.DateTime)
    cancelled_by = db.Column(db.String(160))
    cancel_reason_code = db.Column(db.Integer)
    retrieve_parcel = db.Column(db.Boolean)
    # R9: the shop's setting captured at the moment of the cancel (None until cancelled).
    reflect_cancel_to_rms = db.Column(db.Boolean)
    reflection_state = db.Column(db.String(16), nullable=False, default="none")
    reflection_message = db.Column(db.Text)
    # The shipping info's reflection to the mall (api.md `shipping_reflection`): none, pending, done, failed.
    shipping_reflection_state = db.Column(db.String(16), nullable=False, default="none", server_default="none")
    shipping_reflection_message = db.Column(db.Text)
    deleted_at = db.Column(db.DateTime)
    deleted_by = db.Column(db.String(160))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    version = db.Column(db.Integer, nullable=False)

    shop = db.relationship(Shop, lazy="joined", innerjoin=True)
    lines = db.relationship("OrderLine", order_by="OrderLine.position", lazy="selectin",
                            cascade="all, delete-orphan", back_populates="order")
    tags = db.relationship(Tag, secondary=order_tags, lazy="selectin", order_by=Tag.id)
    shipments = db.relationship("Shipment", order_by="Shipment.id", lazy="select",
                                cascade="all, delete-orphan", back_populates="order")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # R4: one not-deleted holder per number (by its key) and shop, enforced by both databases.
        Index("uq_orders_shop_number_key_active", "shop_id", "mall_order_number_key", unique=True,
              sqlite_where=NOT_DELETED, postgresql_where=NOT_DELETED),
        # R5 looks at every holder, deleted ones included; the search's exact-number match, per account.
        Index("ix_orders_shop_number_key", "shop_id", "mall_order_number_key"),
        Index("ix_orders_account_number_key", "account_id", "mall_order_number_key"),
        # Keyset pagination, newest first, per account or shop and tab.
        Index("ix_orders_account_list", "account_id", "ordered_at", "id",
              sqlite_where=NOT_DELETED, postgresql_where=NOT_DELETED),
        Index("ix_orders_account_status_list", "account_id", "status", "ordered_at", "id",
              sqlite_where=NOT_DELETED, postgresql_where=NOT_DELETED),
        Index("ix_orders_shop_status_list", "shop_id", "status", "ordered_at", "id",
              sqlite_where=NOT_DELETED, postgresql_where=NOT_DELETED),
        Index("ix_orders_shop_list", "shop_id", "ordered_at", "id",
              sqlite_where=NOT_DELETED, postgresql_where=NOT_DELETED),
        # The same four for the list's other sorts (search.ORDER_SORTS: 合計, 購入者), migration 0016.
        *(Index(f"ix_orders_{scope}{'_status' if by_status else ''}_{name}_list", scope_column,
                *(("status",) if by_status else ()), column, "id", sqlite_where=NOT_DELETED, postgresql_where=NOT_DELETED)
          for name, column in (("total", "total"), ("buyer", "buyer_name"))
          for scope, scope_column in (("account", "account_id"), ("shop", "shop_id")) for by_status in (False, True)),
    )

    def decide(self, action: str) -> rules.Decision:
        return rules.decide(action, self.state())

    def cancel_effects(self, retrieve_parcel: bool = False) -> consequences.CancelEffects:
        """What cancelling the order now sets off, with its shop's settings and the account's warehouse connection
        as they are now (R9), and whether its shipping request has left (R11)."""
        from ..warehouse.shipping import connected_now, request_sent

        shop = self.shop
        # Only an order the warehouse may hold is asked about the warehouse (a 確認待 cancel reads nothing more).
        asks = consequences.may_concern_the_warehouse(self.status, self.shipment_status, retrieve_parcel)
        shipment = self.current_shipment if asks else None
        return consequences.cancel_effects(consequences.CancelFacts(
            status=self.status, shipment_status=self.shipment_status, mall_linked=self.mall_linked,
            stock_reserved=self.stock_reserved, rms_connected=shop.rms_connected,
            reflect_cancel_to_rms=shop.reflect_cancel_to_rms, retrieve_parcel=retrieve_parcel,
            warehouse_connected=asks and connected_now(self.account_id),
            request_sent=shipment is not None and request_sent(shipment)))

    def confirms_at_rms(self) -> bool:
        """Whether becoming 確認済 now sends confirmOrder to RMS (its shop's settings as they are now)."""
        shop = self.shop
        return consequences.confirms_at_rms(self.mall_linked, shop.rms_connected, shop.confirm_at_rms)

    def recompute_total(self) -> None:
        self.total = sum(line.quantity * line.unit_price for line in self.lines) + (self.postage or 0) + \
            (self.wrapping or 0)


class LineLook:
    """What the rules and the JSON read of a line beyond its columns: shared by OrderLine and listing.LineRow."""
    __slots__ = ()

    @property
    def label(self) -> str:
        return line_label(self.mall_item_id, self.sub_code)

    @property
    def mapped(self) -> bool:
        return self.product_id is not None


class OrderLine(LineLook, db.Model):
    __tablename__ = "order_lines"
    id = db.Column(db.Integer, primary_key=True)
    order_id = db.Column(db.Integer, db.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    position = db.Column(db.Integer, nullable=False, default=0)
    mall_item_id = db.Column(db.String(255), nullable=False)
    sub_code = db.Column(db.String(255), nullable=False, default="")
    name = db.Column(db.String(255), nullable=False)
    quantity = db.Column(db.Integer, nullable=False)
    unit_price = db.Column(db.Integer, nullable=False)
    options = db.Column(db.Text, nullable=False, default="", server_default="")  # 項目選択肢, lines joined by \n
    product_id = db.Column(db.Integer, db.ForeignKey("products.id"), index=True)

    order = db.relationship(Order, back_populates="lines")
    product = db.relationship("Product", lazy="joined")

    __table_args__ = (
        # Mapping looks for unmapped lines by mall item.
        Index("ix_order_lines_unmapped", "mall_item_id", "sub_code",
              sqlite_where=text("product_id IS NULL"), postgresql_where=text("product_id IS NULL")),
    )

    @property
    def sku(self) -> Optional[str]:
        """The mapped product's SKU (None: not mapped)."""
        return self.product.sku if self.product is not None else None


def state_of(order, tags: Iterable[Tag], lines: Iterable[OrderLine | LineKey],
             request_state: Optional[str] = None) -> rules.OrderState:
    """The rules' view of an order (or of a row with its status, shipment_status and deleted_at), with its
    tags and lines — read by the caller when it has no ORM collections (注文一覧's rows) — and its current
    shipment's request state (出荷依頼を再送 asks it)."""
    return rules.OrderState(
        status=order.status,
        shipment_status=order.shipment_status,
        deleted=order.deleted_at is not None,
        holding_tags=tuple(t.name for t in tags if t.holds),
        mapped_lines=tuple(line.label for line in lines if line.product_id is not None),
        unmapped_lines=tuple(line.label for line in lines if line.product_id is None),
        request_state=request_state,
    )


def line_label(mall_item_id: str, sub_code: str) -> str:
    return f"{mall_item_id}/{sub_code}" if sub_code else mall_item_id


class LineKey(NamedTuple):
    """What the rules read of a line (its label, mapped or not), without the line's ORM object."""
    mall_item_id: str
    sub_code: str
    product_id: Optional[int]

    @property
    def label(self) -> str:
        return line_label(self.mall_item_id, self.sub_code)


class Shipment(db.Model):
    __tablename__ = "shipments"
    id = db.Column(db.Integer, primary_key=True)
    order_id = db.Column(db.Integer, db.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    status = db.Column(db.String(32), nullable=False, default=rules.REQUESTED)
    tracking_number = db.Column(db.String(64))
    requested_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    # The request's way to the warehouse (warehouse.md §4): pending (its send job has it), sent, failed.
    request_state = db.Column(db.String(16), nullable=False, default="pending", server_default="sent")
    request_error = db.Column(db.Text)  # the warehouse's message when the request failed
    warehouse_id = db.Column(db.String(64), index=True)  # "WS-…", once the warehouse took the request
    sent_at = db.Column(db.DateTime)
    carrier = db.Column(db.String(16))  # yamato, sagawa, japanpost, other
    shipped_on = db.Column(db.Date)
    parcels = db.Column(db.JSON(none_as_null=True))  # [{carrier, tracking_number}] when more than one box
    reason = db.Column(db.Text)  # 出荷不可: the warehouse's refusal reason (or the withdrawal's outcome)
    reason_code = db.Column(db.String(16))
    short_lines = db.Column(db.JSON(none_as_null=True))  # R01: [{sku, short}]
    last_seq = db.Column(db.Integer, nullable=False, default=0, server_default="0")  # of the events applied
    status_before_withdrawal = db.Column(db.String(32))  # where a refused withdrawal goes back to
    # The cancellation notice (R11): none, pending (sent or to be sent, 「倉庫連絡待ち」), acknowledged, refused.
    notice = db.Column(db.String(16), nullable=False, default="none", server_default="none")
    notice_message = db.Column(db.Text)
    pending_cancel = db.Column(db.JSON(none_as_null=True))  # 取下げ後にキャンセル: {reason_code, actor}

    order = db.relationship(Order, back_populates="shipments")

    __table_args__ = (
        # 出荷一覧: keyset pages newest first, in all and per shipment status (migration 0004).
        Index("ix_shipments_list", "requested_at", "id"),
        Index("ix_shipments_status_list", "status", "requested_at", "id"),
    )

    @property
    def client_reference(self) -> str:
        """What the warehouse knows the request by: BOSS's shipment id, the same for every retry of its send."""
        return str(self.id)


class OrderEvent(db.Model):
    """R12: every action and job outcome on an order."""

    __tablename__ = "order_events"
    id = db.Column(db.Integer, primary_key=True)
    order_id = db.Column(db.Integer, db.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)
    actor_type = db.Column(db.String(10), nullable=False)  # user, token, job, system
    actor_name = db.Column(db.String(160), nullable=False)
    kind = db.Column(db.String(40), nullable=False)
    from_status = db.Column(db.String(32))
    to_status = db.Column(db.String(32))
    message = db.Column(db.Text, nullable=False, default="")

    order = db.relationship(Order)


class Return(db.Model):
    """A cancelled 完了 order's return (warehouse.md §4 Return): 返品待ち (`awaiting_return`) until the warehouse (or a
    user) reports what came back and what is sellable, then 検品済 (`inspected`)."""

    __tablename__ = "returns"
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False)
    order_id = db.Column(db.Integer, db.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False)
    shipment_id = db.Column(db.Integer)
    status = db.Column(db.String(16), nullable=False, default="awaiting_return")
    opened_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    inspected_at = db.Column(db.DateTime)
    inspected_by = db.Column(db.String(160))

    order = db.relationship(Order)
    lines = db.relationship("ReturnLine", order_by="ReturnLine.id", lazy="selectin", cascade="all, delete-orphan",
                            back_populates="return_")

    __table_args__ = (
        Index("ix_returns_order", "order_id"),
        Index("ix_returns_account_list", "account_id", "id"),
        Index("ix_returns_account_status_list", "account_id", "status", "id"),
    )


class ReturnLine(db.Model):
    __tablename__ = "return_lines"
    id = db.Column(db.Integer, primary_key=True)
    return_id = db.Column(db.Integer, db.ForeignKey("returns.id", ondelete="CASCADE"), nullable=False)
    product_id = db.Column(db.Integer)
    sku = db.Column(db.String(64), nullable=False)
    quantity = db.Column(db.Integer, nullable=False)  # shipped
    returned = db.Column(db.Integer)  # null until inspected
    sellable = db.Column(db.Integer)

    return_ = db.relationship(Return, back_populates="lines")

    __table_args__ = (Index("ix_return_lines_return", "return_id"),)
