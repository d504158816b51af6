"""core.reads.reports: movement totals checked against a plain-Python ledger, scoping, exports, audit log, system."""

# ruff: noqa: F401, F811  (pytest fixtures imported from tests/test_dashboard_data.py)

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from core import open_db
from core.base.errors import NotFound, PermissionDenied, ValidationError
from core.base.permissions import SYSTEM
from core.db import Database
from core.domain.catalog import update_product
from core.domain.orders import cancel_order, create_order
from core.domain.stock import record_removal, record_sale, set_count, stock_in, transfer
from core.reads.audit_log import audit_changes, audit_log, audit_options
from core.reads.dashboard import dashboard
from core.reads.reports import movement_report, product_across_stores
from core.reads.system import backup_now, default_backup_dir, health_check, system_status
from core.sheets.exporter import COLUMNS, export_movements
from tests.conftest import ROOT
from tests.test_dashboard_data import SHOP_SEED, owner, staff  # the shop without accounts; plain actors

TODAY = date.today()
EVIL = '=HYPERLINK("http://x")'


def _backdate_last(db: Database, days_ago: int, count: int = 1) -> None:
    when = datetime.combine(TODAY - timedelta(days=days_ago), time(9))
    with db.transaction() as tx:
        tx.execute(
            "UPDATE movements SET created_at = $1 WHERE id > (SELECT max(id) FROM movements) - $2", [when, count]
        )


@pytest.fixture
def ledger(shop: Database) -> list[tuple[str, str, str, int, int]]:
    """The shop plus one movement of every kind; returns the expected ledger as (store, sku, kind, delta, days ago)."""
    rows = [
        ("S1", "RICE-5KG", "stock_in", 30, 0),
        ("S1", "MILK-1L", "stock_in", 100, 0),
        ("S1", "SOAP-100", "stock_in", 8, 0),
    ]
    stock_in(shop, SYSTEM, "S2", "MILK-1L", 40)
    _backdate_last(shop, 10)
    rows.append(("S2", "MILK-1L", "stock_in", 40, 10))
    record_sale(shop, SYSTEM, "S1", [("MILK-1L", 5), ("RICE-5KG", 1)])
    _backdate_last(shop, 3, count=2)
    rows += [("S1", "MILK-1L", "sale", -5, 3), ("S1", "RICE-5KG", "sale", -1, 3)]
    record_sale(shop, SYSTEM, "S2", [("MILK-1L", 4)])
    _backdate_last(shop, 1)
    rows.append(("S2", "MILK-1L", "sale", -4, 1))
    record_removal(shop, SYSTEM, "S1", "SOAP-100", 2, EVIL)
    rows.append(("S1", "SOAP-100", "removal", -2, 0))
    transfer(shop, SYSTEM, "S1", "S2", [("RICE-5KG", 5)])
    rows += [("S1", "RICE-5KG", "transfer_out", -5, 0), ("S2", "RICE-5KG", "transfer_in", 5, 0)]
    set_count(shop, SYSTEM, "S1", "MILK-1L", 90)
    rows.append(("S1", "MILK-1L", "adjustment", -5, 0))
    order = create_order(shop, SYSTEM, "S1", [("RICE-5KG", 2)])
    cancel_order(shop, SYSTEM, order["order_id"])
    rows += [("S1", "RICE-5KG", "order", -2, 0), ("S1", "RICE-5KG", "order_cancel", 2, 0)]
    return rows


def expected_totals(rows, stores=None, skus=None, kinds=None, first_ago=None, last_ago=None):
    out: dict[str, dict[str, int]] = {}
    for store, sku, kind, delta, ago in rows:
        if (stores and store not in stores) or (skus and sku not in skus) or (kinds and kind not in kinds):
            continue
        if (first_ago is not None and ago > first_ago) or (last_ago is not None and ago < last_ago):
            continue
        t = out.setdefault(kind, {"count": 0, "units": 0, "net": 0})
        t["count"] += 1
        t["units"] += abs(delta)
        t["net"] += delta
    return out


def as_dict(report):
    return {t["kind"]: {"count": t["count"], "units": t["units"], "net": t["net"]} for t in report["totals"]}


# ---- movement report ----------------------------------------------------------------------------------------------


def test_movement_report__totals_by_kind_match_python(shop, ledger, owner):
    report = movement_report(shop, owner)
    assert as_dict(report) == expected_totals(ledger)
    assert report["total_rows"] == len(ledger) == report["shown"]
    assert report["overall"]["net"] == sum(r[3] for r in ledger)
    assert report["overall"]["units_in"] == sum(r[3] for r in ledger if r[3] > 0)
    assert report["overall"]["units_out"] == -sum(r[3] for r in ledger if r[3] < 0)
    assert [t["kind"] for t in report["totals"]][:2] == ["stock_in", "sale"]  # the ledger's order of kinds


def test_movement_report__daily_series_covers_every_matching_row(shop, ledger, owner):
    report = movement_report(shop, owner)
    for kind, t in expected_totals(ledger).items():
        assert sum(d["units"] for d in report["daily"] if d["kind"] == kind) == t["units"]
    sale_days = {d["day"] for d in report["daily"] if d["kind"] == "sale"}
    assert sale_days == {TODAY - timedelta(days=3), TODAY - timedelta(days=1)}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"stores": ["S2"]}, {"stores": {"S2"}}),
        ({"kinds": ["sale", "removal"]}, {"kinds": {"sale", "removal"}}),
        ({"product": "toned MILK"}, {"skus": {"MILK-1L"}}),  # name, case-insensitive
        ({"product": "rice-5"}, {"skus": {"RICE-5KG"}}),  # part of the SKU
        ({"stores": ["S1", "S2"], "kinds": ["sale"], "product": "milk"}, {"kinds": {"sale"}, "skus": {"MILK-1L"}}),
        ({"start": TODAY - timedelta(days=3), "end": TODAY - timedelta(days=1)}, {"first_ago": 3, "last_ago": 1}),
        ({"start": TODAY - timedelta(days=3), "end": TODAY - timedelta(days=3)}, {"first_ago": 3, "last_ago": 3}),
        ({"end": TODAY - timedelta(days=2)}, {"last_ago": 2}),
        ({"start": TODAY}, {"first_ago": 0}),
    ],
)
def test_movement_report__filters_match_python(shop, ledger, owner, filters, expected):
    report = movement_report(shop, owner, **filters)
    assert as_dict(report) == expected_totals(ledger, **expected)
    assert len(report["rows"]) == report["total_rows"]


def test_movement_report__limit_keeps_newest_rows_and_totals_cover_all(shop, ledger, owner):
    report = movement_report(shop, owner, limit=3)
    assert report["shown"] == 3 and report["total_rows"] == len(ledger)
    ids = [r["id"] for r in report["rows"]]
    assert ids == sorted(ids, reverse=True)
    assert [r["kind"] for r in report["rows"]] == ["order_cancel", "order", "adjustment"]
    assert as_dict(report) == expected_totals(ledger)


def test_movement_report__staff_sees_only_their_stores(shop, ledger, staff):
    report = movement_report(shop, staff)
    assert as_dict(report) == expected_totals(ledger, stores={"S1"})
    assert {r["store"] for r in report["rows"]} == {"S1"}


def test_movement_report__staff_asking_for_another_store_is_refused_and_audited(shop, ledger, staff):
    with pytest.raises(PermissionDenied, match="S2"):
        movement_report(shop, staff, stores=["S1", "S2"])
    with shop.reader() as tx:
        assert tx.one("SELECT actor, outcome FROM audit ORDER BY id DESC LIMIT 1") == (staff.email, "denied")


@pytest.mark.parametrize(
    "filters",
    [
        {"kinds": ["sale", "theft"]},
        {"start": TODAY, "end": TODAY - timedelta(days=1)},
        {"limit": 0},
    ],
)
def test_movement_report__bad_filters_are_refused(shop, owner, filters):
    with pytest.raises(ValidationError):
        movement_report(shop, owner, **filters)


def test_movement_report__unknown_store_is_not_found(shop, owner):
    with pytest.raises(NotFound):
        movement_report(shop, owner, stores=["NOPE"])


def test_movement_report__empty_database_is_empty(db):
    report = movement_report(db, SYSTEM)
    assert report["rows"] == [] and report["totals"] == [] and report["daily"] == []
    assert report["overall"] == {"count": 0, "units_in": 0, "units_out": 0, "net": 0}


# ---- export ---------------------------------------------------------------------------------------------------------


def test_export_movements__csv_has_every_row_and_neutralises_formulas(shop, ledger, owner):
    data = export_movements(shop, owner, "csv")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS["movements"]
    assert len(rows) - 1 == len(ledger)
    removal = next(r for r in rows[1:] if r[3] == "removal")
    assert removal[6] == "'" + EVIL
    assert removal[4] == "-2"  # numbers are numbers, not neutralised text
    assert sorted((r[1], r[2], r[3], int(r[4])) for r in rows[1:]) == sorted(r[:4] for r in ledger)


def test_export_movements__xlsx_reads_back_with_filters(shop, ledger, owner):
    data = export_movements(shop, owner, "xlsx", kinds=["removal", "sale"])
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    assert tuple(sheet[0]) == COLUMNS["movements"]
    body = sheet[1:]
    assert len(body) == sum(t["count"] for t in expected_totals(ledger, kinds={"removal", "sale"}).values())
    removal = next(r for r in body if r[3] == "removal")
    assert removal[6] == "'" + EVIL and removal[4] == -2


def test_export_movements__staff_export_is_scoped(shop, ledger, staff):
    rows = list(csv.reader(io.StringIO(export_movements(shop, staff, "csv").decode("utf-8-sig"))))[1:]
    assert {r[1] for r in rows} == {"S1"}
    with pytest.raises(PermissionDenied):
        export_movements(shop, staff, "csv", stores=["S2"])


def test_export_movements__unknown_format_is_refused(shop, owner):
    with pytest.raises(ValidationError, match="csv or xlsx"):
        export_movements(shop, owner, "pdf")


# ---- one product across stores --------------------------------------------------------------------------------------


def test_product_across_stores__quantity_value_and_last_movement(shop, ledger, owner):
    result = product_across_stores(shop, owner, "MILK-1L")
    stores = {r["store"]: r for r in result["stores"]}
    for code in ("S1", "S2"):
        mine = [r for r in ledger if r[0] == code and r[1] == "MILK-1L"]
        assert stores[code]["quantity"] == sum(r[3] for r in mine)
        assert stores[code]["stock_value"] == stores[code]["quantity"] * Decimal("56.00")
    assert stores["S1"]["last_kind"] == "adjustment" and stores["S1"]["last_delta"] == -5
    assert stores["S2"]["last_kind"] == "sale"
    assert result["totals"]["quantity"] == 90 + 36
    assert result["totals"]["stock_value"] == Decimal("56.00") * 126
    assert result["product"]["name"] == "Toned Milk 1 L"


def test_product_across_stores__status_follows_reorder_level(shop, ledger, owner):
    rows = {r["store"]: r for r in product_across_stores(shop, owner, "SOAP-100")["stores"]}
    assert rows["S1"]["quantity"] == 6 and rows["S1"]["status"] == "low"
    assert "S2" not in rows  # never held it


def test_product_across_stores__staff_sees_only_their_stores(shop, ledger, staff):
    result = product_across_stores(shop, staff, "MILK-1L")
    assert [r["store"] for r in result["stores"]] == ["S1"]
    assert result["totals"]["quantity"] == 90


def test_product_across_stores__unknown_sku_is_not_found(shop, owner):
    with pytest.raises(NotFound):
        product_across_stores(shop, owner, "NOPE")


# ---- audit log ------------------------------------------------------------------------------------------------------


def _tripwires(shop, staff) -> int:
    """Staff attempts that are refused; returns how many."""
    attempts = [
        lambda: update_product(shop, staff, "RICE-5KG", 1, unit_price="1.00"),
        lambda: dashboard(shop, staff, "S2"),
        lambda: audit_log(shop, staff),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    return len(attempts)


def test_audit_log__owner_counts_denied_tripwires(shop, owner, staff):
    n = _tripwires(shop, staff)
    log = audit_log(shop, owner)
    assert log["denied"] == n
    with shop.reader() as tx:
        assert log["total"] == tx.scalar("SELECT count(*) FROM audit")
    denied = audit_log(shop, owner, outcome="denied")
    assert denied["total"] == n and {r["outcome"] for r in denied["rows"]} == {"denied"}
    assert {r["actor"] for r in denied["rows"]} == {staff.email}
    assert {r["action"] for r in denied["rows"]} == {"product.update", "report.read", "audit.read"}


def test_audit_log__filters_by_actor_action_and_date(shop, owner, staff):
    _tripwires(shop, staff)
    by_staff = audit_log(shop, owner, who=staff.email)
    assert by_staff["total"] == 3
    stock = audit_log(shop, owner, action="stock.in")
    assert stock["total"] == 3 and {r["action"] for r in stock["rows"]} == {"stock.in"}
    assert audit_log(shop, owner, start=TODAY, end=TODAY)["total"] == audit_log(shop, owner)["total"]
    assert audit_log(shop, owner, end=TODAY - timedelta(days=1))["total"] == 0


def test_audit_log__before_and_after_are_parsed_with_a_field_diff(shop, owner):
    update_product(shop, owner, "RICE-5KG", 1, unit_price="470.00", name="Basmati 5 kg")
    row = audit_log(shop, owner, action="product.update")["rows"][0]
    assert row["before"]["unit_price"] == "450.00" and row["after"]["unit_price"] == "470.00"
    changes = {c["field"]: (c["before"], c["after"]) for c in row["changes"]}
    assert changes["unit_price"] == ("450.00", "470.00")
    assert changes["name"] == ("Basmati Rice 5 kg", "Basmati 5 kg")
    assert "category" not in changes


def test_audit_log__limit_keeps_newest_but_counts_all(shop, owner):
    log = audit_log(shop, owner, limit=2)
    assert len(log["rows"]) == 2 and log["total"] > 2
    assert log["rows"][0]["id"] > log["rows"][1]["id"]


def test_audit_log__staff_is_refused_and_the_attempt_is_audited(shop, owner, staff):
    with pytest.raises(PermissionDenied, match="Only the owner"):
        audit_log(shop, staff)
    with pytest.raises(PermissionDenied):
        audit_options(shop, staff)
    rows = audit_log(shop, owner, outcome="denied")["rows"]
    assert [(r["actor"], r["action"]) for r in rows] == [(staff.email, "audit.read")] * 2


def test_audit_log__bad_outcome_is_refused(shop, owner):
    with pytest.raises(ValidationError):
        audit_log(shop, owner, outcome="maybe")


def test_audit_options__lists_actors_and_actions(shop, owner, staff):
    _tripwires(shop, staff)
    options = audit_options(shop, owner)
    assert {"cli", staff.email} <= set(options["actors"])
    assert {"store.add", "product.create", "stock.in", "product.update"} <= set(options["actions"])
    assert options["outcomes"] == ["ok", "denied", "conflict", "error"]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, None, []),
        ({"a": 1, "b": 2}, {"a": 1, "b": 3}, [{"field": "b", "before": "2", "after": "3"}]),
        (None, {"code": "S1"}, [{"field": "code", "before": "", "after": "S1"}]),
        ({"q": 5}, None, [{"field": "q", "before": "5", "after": ""}]),
        (None, {"lines": [{"sku": "A"}]}, [{"field": "lines", "before": "", "after": '[{"sku": "A"}]'}]),
        (None, [1, 2], [{"field": "value", "before": "", "after": "[1, 2]"}]),
    ],
)
def test_audit_changes__per_field_diff(before, after, expected):
    assert audit_changes(before, after) == expected


# ---- system ---------------------------------------------------------------------------------------------------------


def test_system_status__health_sizes_counts_and_latency(shop, ledger, owner):
    status = system_status(shop, owner)
    assert status["healthy"] is True and status["size_bytes"] > 0 and status["schema_version"] >= 1
    counts = {t["table"]: t["rows"] for t in status["tables"]}
    assert counts["movements"] == len(ledger)
    assert counts["stores"] == 2 and counts["products"] == 3
    latency = {row["action"]: row for row in status["latency"]}
    assert latency["stock.sale"]["count"] >= 2
    assert latency["stock.sale"]["p50_ms"] <= latency["stock.sale"]["p95_ms"]


def test_system__staff_is_refused_by_core(shop, staff, tmp_path):
    for attempt in (
        lambda: system_status(shop, staff),
        lambda: health_check(shop, staff),
        lambda: backup_now(shop, staff, tmp_path / "b"),
    ):
        with pytest.raises(PermissionDenied, match="Only the owner"):
            attempt()
    assert not (tmp_path / "b").exists()


def test_health_check__reports_ok_on_a_consistent_database(shop, ledger, owner):
    assert health_check(shop, owner) == {"ok": True, "problems": []}


def test_health_check__lists_a_problem(shop, owner):
    with shop.transaction() as tx:
        tx.execute("UPDATE stock SET quantity = quantity + 1 WHERE product_id = (SELECT min(product_id) FROM stock)")
    result = health_check(shop, owner)
    assert result["ok"] is False and any("ledger" in p for p in result["problems"])


@pytest.mark.duckdb_only
def test_backup_now__writes_an_openable_copy_beside_the_database(shop, ledger, owner, db_path, monkeypatch):
    monkeypatch.delenv("INVENTORY_BACKUP_DIR", raising=False)
    assert default_backup_dir(shop) == db_path.parent / "backups"
    result = backup_now(shop, owner)
    path = Path(result["path"])
    assert path.parent == db_path.parent / "backups" and result["bytes"] > 0
    copy = open_db(str(path))
    try:
        with copy.reader() as tx:
            assert tx.scalar("SELECT count(*) FROM movements") == len(ledger)
    finally:
        copy.close()


def test_backup_now__on_postgresql_defaults_to_data_backups_and_copies_into_a_duckdb_file(
    shop, ledger, owner, tmp_path, monkeypatch
):
    monkeypatch.delenv("INVENTORY_BACKUP_DIR", raising=False)
    if shop.kind == "postgres":  # no file of its own to sit beside
        assert default_backup_dir(shop) == ROOT / "data" / "backups"
    result = backup_now(shop, owner, tmp_path / "elsewhere")
    copy = open_db(result["path"])
    try:
        assert copy.kind == "duckdb"
        with copy.reader() as tx:
            assert tx.scalar("SELECT count(*) FROM movements") == len(ledger)
    finally:
        copy.close()


def test_backup_now__configured_folder_wins(shop, owner, tmp_path, monkeypatch):
    monkeypatch.setenv("INVENTORY_BACKUP_DIR", str(tmp_path / "elsewhere"))
    result = backup_now(shop, owner)
    assert Path(result["path"]).parent == tmp_path / "elsewhere"
