"""core.domain.reading: every public read in core is refused for an actor who may not do it, with exactly one
``denied`` audit row each, and the table below names every read marked ``public_read`` (nothing is left out)."""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import core
from core.base.errors import PermissionDenied
from core.base.permissions import SYSTEM, Actor
from core.db import Database
from core.db.sql import Params
from core.domain import catalog, grid, orders, reading, stock, users
from core.domain.orders import create_order
from core.domain.stock import stock_in
from core.reads import audit_log, dashboard, kpis, reports, system
from core.sheets import exporter, importer
from tests.test_dashboard_data import SHOP_SEED, owner, staff  # noqa: F401  the shop without accounts; plain actors

NOBODY = Actor(email="nobody@shop.test", role="visitor")  # a role the permission table does not know


def _order_in_s2(db: Database) -> int:
    stock_in(db, SYSTEM, "S2", "MILK-1L", 5)
    return int(create_order(db, SYSTEM, "S2", [("MILK-1L", 1)])["order_id"])


# (read, who is refused, the call, the audited action): staff is refused another store, NOBODY any read at all
Call = Callable[[Database, Actor, Path], Any]
REFUSED: list[tuple[Callable[..., Any], str, Call, str]] = [
    (stock.get_stock, "staff", lambda db, a, p: stock.get_stock(db, a, "S2", "MILK-1L"), "stock.read"),
    (stock.recent_movements, "staff", lambda db, a, p: stock.recent_movements(db, a, "S2"), "stock.read"),
    (orders.list_orders, "staff", lambda db, a, p: orders.list_orders(db, a, store="S2"), "stock.read"),
    (orders.order_lines, "staff", lambda db, a, p: orders.order_lines(db, a, _order_in_s2(db)), "stock.read"),
    (grid.inventory_page, "staff", lambda db, a, p: grid.inventory_page(db, a, "S2"), "stock.read"),
    (users.list_users, "staff", lambda db, a, p: users.list_users(db, a), "user.manage"),
    (users.get_user, "staff", lambda db, a, p: users.get_user(db, a, "owner@shop.test"), "user.manage"),
    (kpis.compute_kpis, "staff", lambda db, a, p: kpis.compute_kpis(db, a, "S2"), "stock.read"),
    (dashboard.dashboard, "staff", lambda db, a, p: dashboard.dashboard(db, a, "S2"), "report.read"),
    (reports.movement_report, "staff", lambda db, a, p: reports.movement_report(db, a, stores=["S2"]), "report.read"),
    (reports.product_across_stores, "nobody", lambda db, a, p: reports.product_across_stores(db, a, "MILK-1L"), "report.read"),
    (audit_log.audit_log, "staff", lambda db, a, p: audit_log.audit_log(db, a), "audit.read"),
    (audit_log.audit_options, "staff", lambda db, a, p: audit_log.audit_options(db, a), "audit.read"),
    (system.system_status, "staff", lambda db, a, p: system.system_status(db, a), "system.manage"),
    (system.health_check, "staff", lambda db, a, p: system.health_check(db, a), "system.manage"),
    (exporter.export_frame, "staff", lambda db, a, p: exporter.export_frame(db, a, "stock", store="S2"), "stock.read"),
    (exporter.export_frame, "staff", lambda db, a, p: exporter.export_frame(db, a, "movements", store="S2"), "report.read"),
    (exporter.movement_frame, "nobody", lambda db, a, p: exporter.movement_frame(db, a), "report.read"),
    (exporter.export_movements, "staff", lambda db, a, p: exporter.export_movements(db, a, stores=["S2"]), "report.read"),
    (exporter.export_bytes, "nobody", lambda db, a, p: exporter.export_bytes(db, a, "stock"), "stock.read"),
    (exporter.export_file, "staff", lambda db, a, p: exporter.export_file(db, a, "stock", p / "x.csv", store="S2"), "stock.read"),
]  # fmt: skip

# reads open to every signed-in role (the catalog, the store list, one's own imports): nothing to refuse
OPEN = [
    catalog.list_stores,
    catalog.list_vendors,
    catalog.get_product,
    catalog.categories,
    grid.product_options,
    importer.history,
]


def _name(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def _denied(db: Database) -> list[dict[str, Any]]:
    with db.reader() as tx:
        return tx.dicts("SELECT actor, action, entity, entity_id, detail FROM audit WHERE outcome = 'denied'")


def test_every_public_read__is_in_the_table():
    for module in pkgutil.walk_packages(core.__path__, "core."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)  # every public_read registers itself on import
    listed = {_name(fn) for fn, *_ in REFUSED} | {_name(fn) for fn in OPEN}
    assert listed == reading.READS


def test_every_public_read__refused_raises_and_audits_one_denied_row(shop, staff, tmp_path):  # noqa: F811
    actors = {"staff": staff, "nobody": NOBODY}
    for fn, who, call, action in REFUSED:
        before = len(_denied(shop))
        with pytest.raises(PermissionDenied):
            call(shop, actors[who], tmp_path)
        rows = _denied(shop)[before:]
        assert [(r["actor"], r["action"]) for r in rows] == [(actors[who].email, action)], _name(fn)
        assert rows[0]["detail"], _name(fn)


def test_open_reads__need_no_permission(shop, staff):  # noqa: F811
    assert [s["code"] for s in catalog.list_stores(shop, staff)] == ["S1"]
    assert [s["code"] for s in catalog.list_stores(shop, NOBODY)] == []
    assert catalog.get_product(shop, "MILK-1L")["sku"] == "MILK-1L"
    assert catalog.categories(shop) == ["Dairy", "Personal care", "Staples"]
    assert len(grid.product_options(shop)) == 3 and catalog.list_vendors(shop)
    assert importer.history(shop, staff) == [] and _denied(shop) == []


def test_read__a_refused_store_names_the_store_in_its_audit_row(shop, staff):  # noqa: F811
    with pytest.raises(PermissionDenied, match="not assigned to store S2"):
        reports.movement_report(shop, staff, stores=["S1", "S2"])
    (row,) = _denied(shop)
    assert (row["entity"], row["entity_id"]) == ("store", "S2")


def test_read__logs_and_times_every_read(shop, owner, caplog, monkeypatch):  # noqa: F811
    from core.base import observe

    monkeypatch.setattr(observe.logger, "propagate", True)
    caplog.set_level("INFO", logger="inventory")
    stock.get_stock(shop, owner, "S1", "MILK-1L")
    with pytest.raises(PermissionDenied):
        users.list_users(shop, NOBODY)
    lines = [(r.action, r.outcome) for r in caplog.records if getattr(r, "action", None)]
    assert ("stock.get", "ok") in lines and ("user.list", "denied") in lines
    assert observe.latency_percentiles()["stock.get"]["count"] >= 1


def test_scope__binds_store_ids_as_values(shop, staff, owner):  # noqa: F811
    with shop.reader() as tx:
        params = Params("x")
        assert reading.scope(tx, staff, "stock.read").sql(params, "m.store_id") == "m.store_id IN ($2)"
        assert params.values == ["x", *sorted(staff.store_ids)]
        assert reading.scope(tx, owner, "stock.read").sql(Params(), "m.store_id") == "TRUE"
        chosen = reading.scope(tx, owner, "report.read", ["s2", "S1", "S2"])
        assert [s["code"] for s in chosen.stores] == ["S2", "S1", "S2"] and len(chosen.store_ids or ()) == 2
        nowhere = Params()
        assert reading.scope(tx, NOBODY, "stock.read").sql(nowhere, "s.store_id") == "s.store_id IN (NULL)"
    assert json.dumps(nowhere.values) == "[]"
