"""User-supplied text is shown as text on every page (AppTest): markdown, Streamlit's directives and HTML put into
every free-text field (SKU, product name, category, vendor, store code and name, customer, user name, reason,
audit detail, file name) never reach the browser as markup.

Streamlit reads markdown in ``st.error``/``st.caption``/``st.write``/labels...; pages pass user text through
``pages.ui.md`` (escaped) and plotly text through ``ui.chart_text``. Each page is scanned: no element that renders
markdown holds a raw marker such as ``![``, ``](``, ``**b**``, ``<img``, `` `c` ``, ``$x$``, ``:red[`` or
``http://``, and the escaped form of the hostile text is there.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from core.base.permissions import SYSTEM, Actor
from core.db import Database
from core.domain import audit
from core.domain.catalog import add_store, create_product
from core.domain.ops import transact
from core.domain.orders import create_order
from core.domain.signin import actor_for
from core.domain.stock import stock_in
from core.domain.users import add_user
from pages.ui import chart_text, md
from tests.conftest import PASSWORD, run_page

pytestmark = pytest.mark.slow  # AppTest runs of a page: about 1-3 s of CPU each

SKU = "![i](http://x.test/i.png)"
NAME = "**b** [l](http://x.test) <img src=x>"
CATEGORY = "`c` $x$ :red[x] <b>k</b>"
VENDOR = ":smile: <b>v</b> [v](http://x.test)"
STORE = "**B**"
STORE_NAME = "[s](http://x.test) **S** :material/home:"
CUSTOMER = "![c](http://x.test/c.png) :red[c]"
USER = "[u](http://x.test) **U**"
REASON = "**r** [r](http://x.test) $x$"
DETAIL = "Refused ![x](http://x.test/x.png) [click](http://x.test)"
RAW = (
    "**b**",
    "**S**",
    "**U**",
    "**r**",
    "**B**",
    "![",
    "<img",
    "<b>",
    "`c`",
    "$x$",
    ":red[",
    "http://",
    ":smile:",
)
RAW += (":material/",)
LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")  # [text]( not escaped
LITERAL = {"Code", "Text", "Json", "Dataframe", "Table"}  # elements that show text as it is


@pytest.fixture
def hostile(db: Database, app_db: str) -> Database:
    add_store(db, SYSTEM, STORE, STORE_NAME)
    add_store(db, SYSTEM, "S2", "Plain")
    add_user(db, SYSTEM, "boss@shop.test", PASSWORD, "owner", name=USER)
    add_user(db, SYSTEM, "sam@shop.test", PASSWORD, "staff", name=USER, stores=[STORE, "S2"])
    create_product(db, SYSTEM, SKU, NAME, CATEGORY, "2.00", 50, vendor=VENDOR)
    stock_in(db, SYSTEM, STORE, SKU, 20, vendor=VENDOR, reason=REASON)
    create_order(db, SYSTEM, STORE, [{"sku": SKU, "quantity": 1}], customer=CUSTOMER)
    denied = {"actor": "sam@shop.test", "action": "product.create", "entity": "product", "entity_id": SKU}
    transact(db, lambda tx: audit.write(tx, **denied, outcome="denied", detail=DETAIL))
    return db


def _texts(at: Any) -> list[tuple[str, str]]:
    """(element type, text) of everything that Streamlit renders as markdown: bodies and labels."""
    found: list[tuple[str, str]] = []

    def walk(node: Any) -> None:
        kind = type(node).__name__
        for child in getattr(node, "children", {}).values():
            walk(child)
        if kind in LITERAL:
            return
        for attr in ("label", "value", "body", "help"):
            if attr == "value" and kind not in {"Markdown", "Caption", "Error", "Warning", "Info", "Success"} | {
                "Title",
                "Header",
                "Subheader",
                "Toast",
                "Metric",
            }:
                continue
            try:
                text = getattr(node, attr)
            except Exception:
                continue
            if isinstance(text, str):
                found.append((kind, text))

    walk(at._tree)
    return found


def assert_literal(at: Any, *expected: str) -> None:
    """No markdown-rendered text holds a raw marker; each ``expected`` text is shown in its escaped form."""
    assert not at.exception, at.exception
    texts = _texts(at)
    for kind, text in texts:
        bad = [m for m in RAW if re.search(r"(?<!\\)" + re.escape(m), text)] + LINK.findall(text)
        assert not bad, f"{kind} renders {bad} as markdown: {text!r}"
    joined = "\n".join(t for _, t in texts)
    for value in expected:
        assert md(value) in joined, f"{value!r} is not shown (escaped) on the page"


def boss(db: Database) -> Actor:
    return actor_for(db, "boss@shop.test")


def test_audit_page__detail_and_refusal_are_text(hostile: Database) -> None:
    at = run_page("audit.py", boss(hostile))
    assert_literal(at, DETAIL)
    assert any(e.value == f"Refused: {md(DETAIL)}" for e in at.error)
    assert SKU in set(at.dataframe[0].value["entity"].str.removeprefix("product "))  # the table: literal


def test_dashboard__names_in_tables_and_charts_are_text(hostile: Database) -> None:
    at = run_page("dashboard.py", boss(hostile), dash_store=STORE)
    assert_literal(at)
    labels = set()
    for chart in at.get("plotly_chart"):
        for trace in json.loads(chart.proto.spec)["data"]:
            labels |= {v for v in (*trace.get("x", []), *trace.get("y", [])) if isinstance(v, str)}
    assert chart_text(CATEGORY) in labels and CATEGORY not in labels


def test_inventory__flash_and_banner_are_text(hostile: Database) -> None:
    flash = [("success", f"Product {SKU} added.")]
    at = run_page("inventory.py", boss(hostile), inventory_store=STORE, _flash=flash)
    assert_literal(at, SKU, STORE)


def test_products__product_caption_and_flash_are_text(hostile: Database) -> None:
    flash = [("success", f"Product {SKU} added.")]
    at = run_page("products.py", boss(hostile), details_sku=SKU, _flash=flash)
    assert_literal(at, NAME, SKU)


def test_stock__store_flash_and_movements_are_text(hostile: Database) -> None:
    flash = [("success", f"Stock-in recorded: {SKU} +1 (now 21).")]
    at = run_page("stock.py", boss(hostile), stock_store=STORE, _flash=flash)
    assert_literal(at, STORE, SKU)
    frame = next(d.value for d in at.dataframe if "reason" in d.value)
    assert REASON in set(frame["reason"]) and NAME in set(frame["name"])


def test_orders__store_and_customer_are_text(hostile: Database) -> None:
    at = run_page("orders.py", boss(hostile), orders_store=STORE)
    assert_literal(at, STORE)
    frames = [d.value for d in at.dataframe if "customer" in d.value]
    assert CUSTOMER in set(frames[0]["customer"])


def test_reports__one_product_and_not_found_are_text(hostile: Database) -> None:
    at = run_page("reports.py", boss(hostile), rep_sku=SKU)
    assert_literal(at, SKU, NAME, CATEGORY)
    at = run_page("reports.py", boss(hostile), rep_sku="[nope](http://x.test)")
    assert_literal(at)
    assert any("nope" in e.value for e in at.error)


def test_admin__user_names_store_names_and_notices_are_text(hostile: Database) -> None:
    notice = f"Store {STORE} is now {STORE_NAME}."
    at = run_page("admin.py", boss(hostile), manage_user="sam@shop.test", _flash=[("success", notice)])
    assert_literal(at, USER, notice)


def test_import__file_name_and_row_messages_are_text(hostile: Database) -> None:
    name = "![f](http://x.test/f.png) **F**.csv"
    at = run_page("import_export.py", boss(hostile))
    at.file_uploader[0].set_value((name, f"store,sku,quantity\n{STORE},{SKU},many\n".encode(), "text/csv"))
    at.run()
    assert_literal(at)
    assert at.error, "the bad row is reported"
    at.file_uploader[0].set_value((name, f"store,sku,quantity\n{STORE},{SKU},7\n".encode(), "text/csv"))
    at.run()
    at.button(key="import_commit").click().run()
    assert_literal(at, name)
    assert at.success, "the import is reported"


def test_sign_in_notice_is_text(hostile: Database) -> None:
    at = run_page("../app.py", None, _flash=[("info", f"The owner account {USER} is ready.")])
    assert_literal(at, USER)


def test_md__escapes_what_markdown_would_render() -> None:
    assert md("**b**") == "\\*\\*b\\*\\*" and md("a_b") == "a\\_b" and md("<img src=x>") == "\\<img src=x\\>"
    assert md("Saved: 3 product(s) updated.") == "Saved: 3 product(s) updated."  # our sentences stay readable
    assert md("# h\n1. x\n- y") == "\\# h  \n1\\. x  \n\\- y"
    assert "http://" not in md("http://x.test") and ":red[" not in md(":red[x]")


def test_chart_text__escapes_plotly_html() -> None:
    assert chart_text('<a href="http://x">c</a>') == '&lt;a href="http://x"&gt;c&lt;/a&gt;'
