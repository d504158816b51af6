"""The Products page (AppTest): the owner adds, deactivates, reactivates a product and changes its vendor; staff
neither see the page in the navigation nor get anything of it at its address."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.base.permissions import SYSTEM
from core.domain.catalog import deactivate_product, get_product
from tests.conftest import OWNER_EMAIL, STAFF_EMAIL, page_opener, run_page
from tests.test_app_support import app_test, fast_hashing, sign_in_as  # noqa: F401  (autouse fixture)

PAGE = "products.py"


@pytest.fixture
def open_page(shop, app_db):
    """``open_page(actor, **session_state)``: the products page run once for ``actor`` against the shop."""
    return page_opener(PAGE)


def _texts(elements):
    return " | ".join(str(e.value) for e in elements)


def _add_product(at, **fields):
    for key, value in fields.items():
        at.text_input(key=f"add_{key}").input(value)
    at.button(key="FormSubmitter:add_product-Add product").click().run()
    assert not at.exception
    return at


def _count(db, sku):
    with db.reader() as tx:
        return tx.scalar("SELECT count(*) FROM products WHERE sku = $1", [sku])


def test_add_product__each_invalid_field_has_a_message(open_page, owner, shop):
    at = _add_product(open_page(owner), sku="NEW-1", name="", category="", price="-2", reorder="x")
    text = _texts(at.error) + _texts(at.markdown)
    for message in ("Name is required", "Category is required", "Unit price cannot be negative", "Reorder level"):
        assert message in text
    assert _count(shop, "NEW-1") == 0


def test_add_product__owner_adds_it_and_the_notice_shows_once(open_page, owner, shop):
    at = _add_product(open_page(owner), sku="TEA-250", name="Tea 250 g", category="Beverages", price="120.5")
    assert "Product TEA-250 added." in _texts(at.success)
    assert get_product(shop, "TEA-250")["unit_price"] == Decimal("120.50")
    at.run()
    assert "Product TEA-250 added." not in _texts(at.success)


def test_add_product__the_same_product_sent_again_at_once_is_not_an_error(open_page, owner, shop):
    """A double click whose first run already added the product: the second submit says so, nothing else."""
    at = _add_product(open_page(owner), sku="TEA-250", name="Tea 250 g", category="Beverages", price="120.5")
    at.button(key="FormSubmitter:add_product-Add product").click().run()
    assert not at.exception and not at.error
    assert "Product TEA-250 was just added; it was not added twice." in _texts(at.info)
    assert _count(shop, "TEA-250") == 1


def test_add_product__duplicate_sku_is_refused(open_page, owner):
    at = _add_product(open_page(owner), sku="MILK-1L", name="Milk", category="Dairy", price="1")
    assert "already exists" in _texts(at.error)


def test_deactivate_product__owner_hides_it(open_page, owner, shop):
    at = open_page(owner)
    at.selectbox(key="deactivate_sku").select("SOAP-100")
    at.checkbox(key="deactivate_sure").check()
    at.button(key="FormSubmitter:deactivate_product-Deactivate").click().run()
    assert not at.exception
    assert "Product SOAP-100 deactivated." in _texts(at.success)
    assert "SOAP-100" not in at.selectbox(key="deactivate_sku").options
    assert get_product(shop, "SOAP-100")["active"] is False


def test_deactivate_product__needs_confirmation(open_page, owner, shop):
    at = open_page(owner)
    at.selectbox(key="deactivate_sku").select("SOAP-100")
    at.button(key="FormSubmitter:deactivate_product-Deactivate").click().run()
    assert "tick the box" in _texts(at.error)
    assert get_product(shop, "SOAP-100")["active"] is True


def test_product_details__owner_reactivates_and_changes_the_vendor(open_page, owner, shop):
    deactivate_product(shop, SYSTEM, "SOAP-100")
    at = open_page(owner)
    at.text_input(key="details_sku").input("SOAP-100").run()
    at.text_input(key="details_vendor_SOAP-100").input("Hindustan Unilever")
    at.checkbox(key="details_active_SOAP-100").check()
    at.button(key="details_save").click().run()
    assert not at.exception
    product = get_product(shop, "SOAP-100")
    assert (product["active"], product["vendor"], product["version"]) == (True, "Hindustan Unilever", 3)
    assert "Product SOAP-100 saved (version 3)." in _texts(at.success)


def test_product_details__unknown_sku_is_a_sentence(open_page, owner):
    at = open_page(owner)
    at.text_input(key="details_sku").input("NOPE-1").run()
    assert not at.exception and "There is no product with SKU 'NOPE-1'." in _texts(at.error)


def test_products__staff_get_a_refusal_and_nothing_of_the_page(shop, app_db, staff):
    at = run_page(PAGE, staff)
    assert not at.exception
    assert at.error and not at.text_input and not at.title
    assert not [f for f in at.get("form")]


def test_products__in_the_owners_navigation_only(shop, monkeypatch):
    at = sign_in_as(app_test(shop, monkeypatch), OWNER_EMAIL)
    assert "Products" in {info["page_name"] for info in at._registered_pages.values()}
    at.switch_page("pages/products.py").run()
    assert not at.exception and [t.value for t in at.title] == ["Products"]

    at = sign_in_as(app_test(shop, monkeypatch), STAFF_EMAIL)
    pages = at._registered_pages.values()
    assert "Products" not in {p["page_name"] for p in pages if p["page_name"] != "Not available"}
    with pytest.raises(ValueError):
        at.switch_page("pages/products.py")
