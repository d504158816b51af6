"""Import against hostile files and hostile people: a report of bounded size however many duplicate lines, one
``denied`` audit row per refused import however many lines, staff never create catalog data (vendors included),
a new vendor links on the first import, and a dry run for a foreign store is audited."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from core.base.permissions import SYSTEM
from core.db import Database
from core.domain.catalog import get_product
from core.domain.stock import get_stock
from core.sheets.importer import history
from core.sheets.report import MAX_REPORTED_ENV, MAX_REPORTED_PROBLEMS
from tests.test_import_reading import seed
from tests.test_import_writing import imp, snapshot, staff_actor

SHOP_SEED = seed  # ``shop``: stores S1 and S2, three products with stock in S1, no user accounts


DUPLICATES = 20_000


def denied_rows(db: Database) -> list[dict]:
    with db.reader() as tx:
        return tx.dicts("SELECT actor, action, entity, entity_id, after, detail FROM audit WHERE outcome = 'denied'")


# ---- item 3: one SKU on 20,000 lines ------------------------------------------------------------------------


@pytest.mark.slow
def test_sku_on_20000_lines__messages_and_report_stay_small(shop: Database) -> None:
    data = b"sku,quantity\n" + b"DUP-1,1\n" * DUPLICATES + b"MILK-1L,90\n"
    report = imp(shop, data, store="S1")
    assert not report.applied and report.exit_code == 1
    assert report.error_rows == DUPLICATES  # every duplicate line is an error: the all-or-nothing decision
    assert len(report.errors) == MAX_REPORTED_PROBLEMS and report.more_errors == DUPLICATES - MAX_REPORTED_PROBLEMS
    assert report.errors[0] == {
        "line": 2,
        "column": "sku",
        "message": "SKU DUP-1 appears 20,000 times in the file (lines 2, 3, 4, 5, 6 and 19,995 more).",
    }
    assert max(len(e["message"]) for e in report.errors) < 120
    assert report.preview["message"].str.len().max() < 120  # the per-row preview too
    assert report.to_json()["more_errors"] == DUPLICATES - MAX_REPORTED_PROBLEMS
    assert len(json.dumps(report.to_json())) < 400_000
    csv = pd.read_csv(io.BytesIO(report.error_report_csv()), encoding="utf-8-sig")
    assert len(csv) == MAX_REPORTED_PROBLEMS + 1  # the listed problems, then the sentence about the rest
    assert csv["message"].iloc[-1].startswith("18,000 more problems were not listed")
    assert history(shop, SYSTEM)[0]["errors"] == DUPLICATES
    assert get_stock(shop, SYSTEM, "S1", "MILK-1L")["quantity"] == 100  # nothing written

    skipped = imp(shop, data, store="S1", skip_invalid=True)
    assert skipped.applied and skipped.updated == 1 and skipped.error_rows == DUPLICATES
    assert get_stock(shop, SYSTEM, "S1", "MILK-1L")["quantity"] == 90


def test_duplicates_per_store_and_clashing_values__bounded(shop: Database) -> None:
    rows = "".join(f"S1,DUP-1,{i}\n" for i in range(3_000)) + "".join(f"S{1 + i % 2},MIX-1,{i}\n" for i in range(3_000))
    report = imp(shop, ("store,sku,unit_price\n" + rows).encode())
    by_line = pd.DataFrame(report.errors)
    assert by_line["message"].str.len().max() < 120
    assert "SKU DUP-1 for store S1 appears 3,000 times in the file (lines 2, 3, 4, 5, 6 and 2,995 more)." in set(
        by_line["message"]
    )
    assert "SKU DUP-1 has a different unit price on lines 2, 3, 4, 5, 6 and 2,995 more." in set(by_line["message"])


def test_report_cap_is_a_setting(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_REPORTED_ENV, "3")
    report = imp(shop, b"sku,unit_price\n" + b"MILK-1L,x\n" * 10)
    assert (len(report.errors), report.more_errors, report.error_rows, report.problems) == (3, 17, 10, 20)
    assert (
        report.not_listed()
        == "17 more problems were not listed (only the first 3 are): fix these and check the file again."
    )
    monkeypatch.setenv(MAX_REPORTED_ENV, "many")
    refused = imp(shop, b"sku,unit_price\nMILK-1L,x\n")
    assert refused.errors[0]["message"] == f"{MAX_REPORTED_ENV} must be a whole number of at least 1, not 'many'."


def test_a_file_with_few_problems_lists_them_all(shop: Database) -> None:
    report = imp(shop, b"sku,unit_price\nMILK-1L,x\nRICE-5KG,y\n")
    assert (len(report.errors), report.more_errors, report.not_listed()) == (2, 0, None)


# ---- item 4: one denied audit row per refused import -----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("dry_run", [True, False])
def test_staff_file_with_thousands_of_new_skus__one_denied_row(shop: Database, dry_run: bool) -> None:
    staff = staff_actor(shop, "S1")
    lines = 3_000
    data = b"sku,quantity\n" + b"".join(b"NEW-%05d,1\n" % i for i in range(lines))
    report = imp(shop, data, staff, dry_run=dry_run, file_name="many.csv")
    assert report.error_rows == lines and not report.applied
    denied = denied_rows(shop)
    assert len(denied) == 1
    row = denied[0]
    assert (row["actor"], row["action"], row["entity"], row["entity_id"]) == (
        "staff@shop.test",
        "import.catalog",
        "import",
        "many.csv",
    )
    after = json.loads(row["after"])
    assert after["lines"] == lines and after.get("dry_run", False) is dry_run
    assert [e["line"] for e in after["examples"]] == list(range(2, 12))  # the first ten
    assert after["examples"][0]["sku"] == "NEW-00000"
    assert "only the owner can add products" in after["examples"][0]["refused"]
    assert row["detail"].startswith("3,000 lines of " + ("a preview of " if dry_run else "") + "many.csv refused")
    assert len(row["after"]) < 5_000 and len(row["detail"]) <= 500
    imp(shop, data, staff, dry_run=dry_run, file_name="many.csv")  # again (a re-preview): one more row, not 3,000
    assert len(denied_rows(shop)) == 2


# ---- item 6: staff never create vendors ---------------------------------------------------------------------


@pytest.mark.parametrize("skip_invalid", [False, True])
def test_staff_count_naming_a_new_vendor__refused_audited_no_vendor(shop: Database, skip_invalid: bool) -> None:
    staff = staff_actor(shop, "S1")
    before = snapshot(shop)
    report = imp(shop, b"sku,quantity,vendor\nSOAP-100,5,Brand New Traders\nMILK-1L,90,\n", staff,
                 skip_invalid=skip_invalid)  # fmt: skip
    assert report.errors == [
        {
            "line": 2,
            "column": "vendor",
            "message": "Staff can import stock counts only, not catalog changes (this row changes the vendor).",
        }
    ]
    assert report.preview.set_index("line")["fate"][2] == "error"
    assert snapshot(shop)["vendors"] == before["vendors"] and snapshot(shop)["products"] == before["products"]
    denied = denied_rows(shop)
    assert len(denied) == 1
    example = json.loads(denied[0]["after"])["examples"][0]
    assert (example["line"], example["sku"], example["attempted"]) == (2, "SOAP-100", "vendor=Brand New Traders")
    assert get_stock(shop, SYSTEM, "S1", "SOAP-100")["quantity"] == 8
    assert get_stock(shop, SYSTEM, "S1", "MILK-1L")["quantity"] == (90 if skip_invalid else 100)


def test_staff_count_naming_the_products_own_vendor_is_fine(shop: Database) -> None:
    staff = staff_actor(shop, "S1")
    report = imp(shop, b"sku,quantity,vendor\nMILK-1L,90,amul\n", staff)
    assert report.applied and report.errors == [] and report.updated == 1
    assert denied_rows(shop) == []


# ---- item 7: a new vendor links on the first import ------------------------------------------------------------


def test_owner_new_vendor__linked_on_the_first_import_and_unchanged_on_the_second(shop: Database) -> None:
    data = b"sku,vendor\nSOAP-100,Godrej\n"
    first = imp(shop, data)
    assert (first.updated, first.unchanged, first.errors) == (1, 0, [])
    product = get_product(shop, "SOAP-100")
    assert product["vendor"] == "Godrej"
    again = imp(shop, data)
    assert (again.updated, again.unchanged) == (0, 1)
    assert get_product(shop, "SOAP-100")["version"] == product["version"]
    with shop.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM vendors WHERE lower(name) = 'godrej'") == 1


def test_owner_new_vendor_in_a_file_with_a_store_column(shop: Database) -> None:
    data = b"store,sku,vendor,quantity\nS1,SOAP-100,Godrej,8\nS2,SOAP-100,Godrej,2\n"
    first = imp(shop, data)
    assert first.errors == [] and first.updated == 2
    assert get_product(shop, "SOAP-100")["vendor"] == "Godrej"
    assert imp(shop, data).unchanged == 2


# ---- item 8: a dry run for a foreign store is audited -------------------------------------------------------


def test_staff_dry_run_for_a_foreign_store__refused_and_audited(shop: Database) -> None:
    staff = staff_actor(shop, "S1")
    before = snapshot(shop)
    report = imp(shop, b"sku,quantity\nMILK-1L,5\n", staff, store="S2", dry_run=True)
    assert report.exit_code == 1 and report.errors[0]["message"] == "You are not assigned to store S2."
    denied = denied_rows(shop)
    assert len(denied) == 1
    assert (denied[0]["actor"], denied[0]["action"], denied[0]["entity"], denied[0]["entity_id"]) == (
        "staff@shop.test",
        "import.counts",
        "store",
        "S2",
    )
    assert json.loads(denied[0]["after"]) == {"file": "sheet.csv", "dry_run": True}
    after = snapshot(shop)
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}
