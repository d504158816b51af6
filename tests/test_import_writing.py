"""Import, writing: counts are SET through adjustments, versions, idempotency, all-or-nothing, dry run,
staff limits with denied audit rows, the history row, and the ledger invariants afterwards."""

from __future__ import annotations

import json

import pytest

from core.base.permissions import SYSTEM, Actor
from core.db import Database
from core.domain.catalog import get_product
from core.domain.check import check
from core.domain.stock import get_stock
from core.sheets.importer import history, import_file
from tests.test_import_reading import seed

SHOP_SEED = seed  # ``shop``: stores S1 and S2, three products with stock in S1, no user accounts


def imp(db: Database, data: bytes, actor: Actor = SYSTEM, **kwargs):
    return import_file(db, actor, data, file_name=kwargs.pop("file_name", "sheet.csv"), **kwargs)


def snapshot(db: Database) -> dict[str, list[tuple]]:
    """Every table that an import may write, in a stable order."""
    tables = {
        "products": "SELECT sku, name, category, unit_price, reorder_level, vendor_id, active, version FROM products",
        "stock": "SELECT store_id, product_id, quantity, version FROM stock",
        "movements": "SELECT id, store_id, product_id, kind, delta, quantity_after FROM movements",
        "vendors": "SELECT id, name FROM vendors",
        "audit": "SELECT id, action, outcome FROM audit",
        "imports": "SELECT id, applied FROM imports",
    }
    with db.reader() as tx:
        return {name: sorted(tx.all(sql), key=str) for name, sql in tables.items()}


def staff_actor(db: Database, *codes: str) -> Actor:
    with db.reader() as tx:
        ids = [tx.scalar("SELECT id FROM stores WHERE code = $1", [c]) for c in codes]
    return Actor(email="staff@shop.test", role="staff", store_ids=frozenset(int(i) for i in ids))


def test_quantity_sets_the_count_with_one_adjustment(shop: Database) -> None:
    report = imp(shop, b"sku,quantity\nMILK-1L,90\nSOAP-100,8\n", store="S1")
    assert (report.updated, report.unchanged) == (1, 1)
    row = get_stock(shop, SYSTEM, "S1", "MILK-1L")
    assert (row["quantity"], row["version"]) == (90, 3)  # stock_in made version 2
    with shop.reader() as tx:
        moves = tx.all(
            "SELECT kind, delta, quantity_after, reason FROM movements m JOIN products p ON p.id = m.product_id"
            " WHERE p.sku = 'MILK-1L' ORDER BY m.id"
        )
    assert moves[-1][:3] == ("adjustment", -10, 90)
    assert moves[-1][3] == f"import #{report.import_id}: sheet.csv"
    assert get_stock(shop, SYSTEM, "S1", "SOAP-100")["version"] == 2  # unchanged: untouched
    assert check(shop)["ok"]


def test_count_never_adds__importing_twice_keeps_the_count(shop: Database) -> None:
    data = b"sku,quantity\nRICE-5KG,12\n"
    imp(shop, data, store="S1")
    imp(shop, data, store="S1")
    assert get_stock(shop, SYSTEM, "S1", "RICE-5KG")["quantity"] == 12


def test_count_for_a_store_without_stock_row_creates_it_at_version_2(shop: Database) -> None:
    report = imp(shop, b"sku,quantity\nRICE-5KG,4\nMILK-1L,0\n", store="S2")
    assert (report.updated, report.unchanged) == (1, 1)  # 0 where nothing is held changes nothing
    row = get_stock(shop, SYSTEM, "S2", "RICE-5KG")
    assert (row["quantity"], row["version"]) == (4, 2)
    with shop.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM stock WHERE store_id = (SELECT id FROM stores WHERE code='S2')") == 1
    assert check(shop)["ok"]


def test_new_product_with_quantity__created_and_counted(shop: Database) -> None:
    report = imp(shop, b"sku,name,category,unit_price,quantity\nJAM-1,Jam,Spreads,2.50,6\n", store="S1")
    assert report.created == 1
    assert get_stock(shop, SYSTEM, "S1", "JAM-1")["quantity"] == 6
    assert get_product(shop, "JAM-1")["version"] == 1
    assert check(shop)["ok"]


def test_changed_product_bumps_version_by_exactly_one(shop: Database) -> None:
    v = get_product(shop, "RICE-5KG")["version"]
    imp(shop, b"sku,name,category,unit_price,reorder_level,vendor\nRICE-5KG,Rice 5kg,Grains,460,6,Kohinoor\n")
    after = get_product(shop, "RICE-5KG")
    assert after["version"] == v + 1
    assert (after["name"], after["category"], str(after["unit_price"]), after["reorder_level"], after["vendor"]) == (
        "Rice 5kg",
        "Grains",
        "460.00",
        6,
        "Kohinoor",
    )
    assert after["updated_by"] == "cli"


def test_reimporting_the_same_file_changes_nothing(shop: Database) -> None:
    data = (
        b"sku,name,category,unit_price,quantity,vendor\n"
        b"RICE-5KG,Rice 5kg,Grains,460,12,Daawat\nNEW-1,Jam,Spreads,2.5,3,Kissan\n"
    )
    first = imp(shop, data, store="S1")
    assert (first.created, first.updated) == (1, 1)
    before = snapshot(shop)
    again = imp(shop, data, store="S1")
    assert (again.rows, again.unchanged, again.created, again.updated, again.errors) == (2, 2, 0, 0, [])
    assert set(again.preview["fate"]) == {"unchanged"}
    after = snapshot(shop)
    for table in ("products", "stock", "movements", "vendors", "audit"):
        assert after[table] == before[table], table
    assert len(after["imports"]) == len(before["imports"]) + 1  # only the history row records the attempt


def test_all_or_nothing__one_bad_row_writes_nothing_and_reports_every_error(shop: Database) -> None:
    before = snapshot(shop)
    report = imp(shop, b"sku,unit_price,quantity\nMILK-1L,60,5\nRICE-5KG,x,-2\n", store="S1")
    assert not report.applied and report.exit_code == 1
    assert [(e["line"], e["column"]) for e in report.errors] == [(3, "unit_price"), (3, "quantity")]
    assert report.updated == 1  # what the valid row would have done
    after = snapshot(shop)
    for table in ("products", "stock", "movements", "vendors", "audit"):
        assert after[table] == before[table], table
    assert after["imports"][-1][1] is False  # the refused attempt is in the history


def test_skip_invalid_applies_the_valid_rows(shop: Database) -> None:
    report = imp(shop, b"sku,unit_price,quantity\nMILK-1L,60,5\nRICE-5KG,x,-2\n", store="S1", skip_invalid=True)
    assert report.applied and report.exit_code == 0 and report.error_rows == 1
    assert get_stock(shop, SYSTEM, "S1", "MILK-1L")["quantity"] == 5
    assert get_stock(shop, SYSTEM, "S1", "RICE-5KG")["quantity"] == 30
    assert check(shop)["ok"]


def test_dry_run_reports_the_same_and_writes_nothing(shop: Database) -> None:
    data = b"sku,name,category,unit_price,quantity\nMILK-1L,,,60,5\nNEW-1,Jam,Spreads,2.5,1\n"
    before = snapshot(shop)
    dry = imp(shop, data, store="S1", dry_run=True)
    assert snapshot(shop) == before  # not even a history or audit row
    assert (dry.applied, dry.created, dry.updated, dry.exit_code) == (False, 1, 1, 0)
    real = imp(shop, data, store="S1")
    assert (real.applied, real.created, real.updated) == (True, 1, 1)
    assert dry.preview[["line", "sku", "fate"]].equals(real.preview[["line", "sku", "fate"]])


def test_history_row_and_one_audit_row(shop: Database) -> None:
    report = imp(shop, b"sku,quantity\nMILK-1L,5\nRICE-5KG,30\n", store="S1", file_name="count.csv")
    rows = history(shop, SYSTEM)
    assert rows[0]["id"] == report.import_id
    assert (rows[0]["file_name"], rows[0]["rows"], rows[0]["updated"], rows[0]["unchanged"]) == ("count.csv", 2, 1, 1)
    assert rows[0]["applied"] is True and rows[0]["store"] == "S1" and len(rows[0]["sha256"]) == 64
    with shop.reader() as tx:
        audits = tx.dicts("SELECT action, entity, entity_id, after, outcome FROM audit WHERE entity = 'import'")
    assert len(audits) == 1
    assert (audits[0]["action"], audits[0]["outcome"], audits[0]["entity_id"]) == (
        "import.catalog",
        "ok",
        str(report.import_id),
    )
    assert json.loads(audits[0]["after"])["updated"] == 1


def test_staff_counts_for_own_store(shop: Database) -> None:
    staff = staff_actor(shop, "S1")
    report = imp(shop, b"sku,name,unit_price,quantity\nMILK-1L,Toned Milk 1 L,56.00,7\n", staff)
    assert report.errors == [] and report.store == "S1"  # the staff member's only store is the default
    assert get_stock(shop, SYSTEM, "S1", "MILK-1L")["quantity"] == 7


def test_staff_rows_changing_the_catalog_or_other_stores_are_denied_and_audited(shop: Database) -> None:
    staff = staff_actor(shop, "S1")
    data = b"store,sku,unit_price,quantity\nS1,MILK-1L,99,5\nS2,RICE-5KG,,4\nS1,NEW-9,1,1\nS1,SOAP-100,35.50,3\n"
    before = snapshot(shop)
    report = imp(shop, data, staff)
    assert not report.applied
    assert [(e["line"], e["column"], e["message"]) for e in report.errors] == [
        (2, "unit_price", "Staff can import stock counts only, not catalog changes (this row changes the unit price)."),
        (3, "store", "You are not assigned to store S2."),
        (4, "sku", "NEW-9 is not in the catalog: only the owner can add products."),
    ]
    assert snapshot(shop)["products"] == before["products"]
    with shop.reader() as tx:
        denied = tx.dicts("SELECT actor, action, entity_id, after, outcome FROM audit WHERE outcome = 'denied'")
    assert len(denied) == 1  # one row for the refused import, naming its refused lines
    assert (denied[0]["actor"], denied[0]["action"], denied[0]["entity_id"]) == (
        "staff@shop.test",
        "import.catalog",
        "sheet.csv",
    )
    after = json.loads(denied[0]["after"])
    assert after["lines"] == 3 and after["import_id"] == report.import_id
    assert [(e["line"], e["sku"], e["store"]) for e in after["examples"]] == [
        (2, "MILK-1L", "S1"),
        (3, "RICE-5KG", "S2"),
        (4, "NEW-9", "S1"),
    ]
    assert after["examples"][0]["attempted"] == "unit_price=99"
    ok = imp(shop, data, staff, skip_invalid=True)
    assert ok.applied and get_stock(shop, SYSTEM, "S1", "SOAP-100")["quantity"] == 3
    assert str(get_product(shop, "MILK-1L")["unit_price"]) == "56.00"


def test_staff_store_option_outside_own_stores_is_refused_and_audited(shop: Database) -> None:
    staff = staff_actor(shop, "S1")
    report = imp(shop, b"sku,quantity\nMILK-1L,5\n", staff, store="S2")
    assert report.exit_code == 1 and report.errors[0]["message"] == "You are not assigned to store S2."
    with shop.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM audit WHERE outcome = 'denied'") == 1


def test_staff_dry_run__writes_no_data_but_audits_the_refused_lines(shop: Database) -> None:
    staff = staff_actor(shop, "S1")
    before = snapshot(shop)
    report = imp(shop, b"sku,unit_price\nMILK-1L,1\n", staff, dry_run=True)
    assert report.errors and report.exit_code == 1
    after = snapshot(shop)
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}
    with shop.reader() as tx:
        denied = tx.dicts("SELECT entity_id, after FROM audit WHERE outcome = 'denied'")
    assert len(denied) == 1
    after = json.loads(denied[0]["after"])
    assert after["dry_run"] is True and after["examples"][0]["sku"] == "MILK-1L"


def test_staff_price_change_on_a_line_with_another_error_still_trips_the_wire(shop: Database) -> None:
    staff = staff_actor(shop, "S1")
    report = imp(shop, b"sku,unit_price,quantity\nMILK-1L,1,-5\n", staff)
    messages = [e["message"] for e in report.errors]
    assert any("cannot be negative" in m or "negative" in m for m in messages), messages
    assert any("not catalog changes" in m for m in messages), messages
    with shop.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM audit WHERE outcome = 'denied'") == 1


def test_staff_history_shows_only_their_imports(shop: Database) -> None:
    staff = staff_actor(shop, "S1")
    imp(shop, b"sku,quantity\nMILK-1L,5\n", staff)
    imp(shop, b"sku,quantity\nMILK-1L,6\n", store="S1")
    assert [r["actor"] for r in history(shop, staff)] == ["staff@shop.test"]
    assert len(history(shop, SYSTEM)) == 2


def test_real_staff_account__actor_from_the_users_table(shop: Database) -> None:
    from core.domain.signin import actor_for
    from core.domain.users import add_user

    add_user(shop, SYSTEM, "real@shop.test", "correct horse 42", "staff", name="Real", stores=["S2"])
    staff = actor_for(shop, "real@shop.test")
    report = import_file(shop, staff, b"sku,quantity\nMILK-1L,1\n", file_name="c.csv")
    assert report.applied and report.store == "S2"
    assert get_stock(shop, SYSTEM, "S2", "MILK-1L")["quantity"] == 1


def test_new_sku_counted_in_two_stores__one_product_two_stock_rows(shop: Database) -> None:
    data = b"store,sku,name,category,unit_price,quantity\nS1,TEA-1,Tea,Drinks,2.40,5\nS2,TEA-1,,,,3\n"
    report = imp(shop, data)
    assert report.errors == [] and report.created == 2  # both lines create something new
    assert get_product(shop, "TEA-1")["version"] == 1
    assert (get_stock(shop, SYSTEM, "S1", "TEA-1")["quantity"], get_stock(shop, SYSTEM, "S2", "TEA-1")["quantity"]) == (
        5,
        3,
    )
    again = imp(shop, data)
    assert again.unchanged == 2 and check(shop)["ok"]


def test_rows_go_one_way__loaded_once_and_only_what_the_report_needs_is_read_back(
    shop: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file's rows enter the database once (one bulk load), every check runs there, and what comes back is
    bounded by the problems, not by the file: the valid rows of a file with an error are applied from the staging
    table (no second load of the bad lines), and neither that import nor a re-import reads every row back."""
    from core.db import Tx
    from core.db.duck import DuckTx
    from core.db.postgres import PgTx

    loaded: list[int] = []
    read: list[int] = []
    for cls in (DuckTx, PgTx):
        load, frame = cls.load_frame, cls.frame
        monkeypatch.setattr(
            cls, "load_frame", lambda tx, table, f, _load=load: loaded.append(len(f)) or _load(tx, table, f)
        )
        monkeypatch.setattr(
            cls,
            "frame",
            lambda tx, sql, params=None, _frame=frame: read.append(len(got := _frame(tx, sql, params))) or got,
        )
    fetch_all = Tx.all
    monkeypatch.setattr(
        Tx, "all", lambda tx, sql, params=None: read.append(len(got := fetch_all(tx, sql, params))) or got
    )
    rows = 400
    lines = [f"NEW-{i:04d},New {i},Grocery,{i % 50 + 1}.25,{i % 9}" for i in range(rows)]
    lines[123] = "NEW-0123,New 123,Grocery,1.25,-4"  # one bad row
    data = ("sku,name,category,unit_price,quantity\n" + "\n".join(lines) + "\n").encode()

    report = imp(shop, data, store="S1", skip_invalid=True)
    assert report.applied and (report.created, report.error_rows) == (rows - 1, 1)
    assert loaded == [rows] and sum(read) < 20, (loaded, read)

    loaded.clear(), read.clear()
    again = imp(shop, data, store="S1", skip_invalid=True)
    assert (again.unchanged, again.created, again.error_rows) == (rows - 1, 0, 1)
    assert loaded == [rows] and sum(read) < 20, (loaded, read)
    assert check(shop)["ok"]
