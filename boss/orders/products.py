"""Products: what the shop sells and stocks, known by SKU."""
from __future__ import annotations

from sqlalchemy import select

from ..errors import ServiceError
from ..extensions import db
from ..models import Product
from ..reason import Reason
from ..unit_of_work import unit_of_work
from ..warehouse import stock as stock_ledger
from .actor import Actor


def create_product(actor: Actor, sku: str, name: str, code: str = "", stock: int = 0) -> Product:
    with unit_of_work() as uow:
        if db.session.scalars(select(Product).where(Product.account_id == actor.account_id, Product.sku == sku)).first():
            raise ServiceError("already_exists", Reason(f"SKU「{sku}」は既に登録されています。", f"SKU {sku} exists already."))
        product = Product(account_id=actor.account_id, sku=sku, name=name, code=code or sku, stock=stock, reserved=0)
        db.session.add(product)
        stock_ledger.initial_stock(product, actor)
        uow.commit()
    return product
