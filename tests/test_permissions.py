"""The permission matrix, checked twice: ``can`` for every action x role x store, and every staff refusal
through the real operations (PermissionDenied, an audit row with outcome ``denied``, nothing else changed)."""

from __future__ import annotations

import pytest

from core.base.errors import PermissionDenied
from core.base.permissions import RULES, SYSTEM, Actor, can, require, store_scope
from core.domain.backup import backup
from core.domain.catalog import add_store, add_vendor, create_product, deactivate_product, update_product, update_store
from core.domain.catalog import update_vendor as change_vendor
from core.domain.orders import cancel_order, create_order, ship_order
from core.domain.sessions import rotate_secret
from core.domain.stock import get_stock, record_removal, record_sale, set_count, stock_in, transfer
from core.domain.users import add_user, assign_stores, reset_password, set_active, unlock
from tests.conftest import table_rows

# What SPEC says staff may do, in their own stores only; everything else is owner-only.
STAFF_IN_OWN_STORES = {
    "stock.read",
    "stock.count",
    "stock.in",
    "stock.sale",
    "stock.removal",
    "stock.transfer",
    "order.create",
    "order.ship",
    "order.cancel",
    "import.counts",
    "report.read",
}
OWNER_ONLY = {
    "product.create",
    "product.update",
    "product.deactivate",
    "import.catalog",
    "user.manage",
    "store.manage",
    "vendor.manage",
    "audit.read",
    "system.manage",
}
OWN, OTHER = 1, 2
STAFF = "staff@shop.test"


def test_rules__cover_exactly_the_known_actions():
    assert set(RULES) == STAFF_IN_OWN_STORES | OWNER_ONLY


@pytest.mark.parametrize("action", sorted(STAFF_IN_OWN_STORES | OWNER_ONLY))
@pytest.mark.parametrize("role", ["owner", "staff"])
@pytest.mark.parametrize("where", ["own store", "other store", "no store"])
def test_can__matrix(action, role, where):
    actor = Actor(email=f"{role}@x.test", role=role, store_ids=frozenset({OWN}))
    store_id = {"own store": OWN, "other store": OTHER, "no store": None}[where]
    if role == "owner":
        expected = True
    elif action in OWNER_ONLY:
        expected = False
    else:
        expected = where != "other store"
    assert can(actor, action, store_id) is expected
    if expected:
        require(actor, action, store_id)
    else:
        with pytest.raises(PermissionDenied):
            require(actor, action, store_id, store_label="S2")


def test_can__unknown_action_or_role_is_refused():
    assert not can(SYSTEM, "product.explode")
    assert not can(Actor(email="x@x.test", role="admin", store_ids=frozenset({OWN})), "stock.sale", OWN)


def test_can__staff_without_stores_may_use_no_store():
    nobody = Actor(email="n@x.test", role="staff")
    assert not any(can(nobody, action, sid) for action in RULES for sid in (OWN, OTHER))


def test_require__messages_are_sentences_naming_the_store_or_the_rule():
    staff = Actor(email="s@x.test", role="staff", store_ids=frozenset({OWN}))
    with pytest.raises(PermissionDenied, match=r"^You are not assigned to store S2\.$"):
        require(staff, "stock.sale", OTHER, store_label="S2")
    with pytest.raises(PermissionDenied, match=r"^Staff cannot change prices"):
        require(staff, "product.update")


def test_store_scope__owner_everything_staff_their_stores():
    assert store_scope(SYSTEM) is None
    assert store_scope(Actor(email="s@x.test", role="staff", store_ids=frozenset({3, 1}))) == [1, 3]


# ---- the tripwire: every staff refusal through the real operations ------------------------------------------------


def _everything_but_audit(db):
    with db.reader() as tx:
        tables = [
            r[0]
            for r in tx.all(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_name <> 'audit'"
            )
        ]
        return {t: table_rows(tx, t) for t in sorted(tables)}


def _audit_rows(db):
    with db.reader() as tx:
        return tx.dicts("SELECT actor, action, entity, entity_id, outcome, detail FROM audit ORDER BY id")


STAFF_REFUSALS = {
    "price": ("product.update", lambda db, a, o: update_product(db, a, "RICE-5KG", 1, unit_price="1")),
    "name": ("product.update", lambda db, a, o: update_product(db, a, "RICE-5KG", 1, name="Cheap rice")),
    "category": ("product.update", lambda db, a, o: update_product(db, a, "RICE-5KG", 1, category="Other")),
    "reorder level": ("product.update", lambda db, a, o: update_product(db, a, "RICE-5KG", 1, reorder_level=0)),
    "vendor": ("product.update", lambda db, a, o: update_product(db, a, "RICE-5KG", 1, vendor="Sneaky Ltd")),
    "active": ("product.update", lambda db, a, o: update_product(db, a, "RICE-5KG", 1, active=False)),
    "no-op product update": ("product.update", lambda db, a, o: update_product(db, a, "RICE-5KG", 1)),
    "create product": ("product.create", lambda db, a, o: create_product(db, a, "NEW", "New", "Misc", "1")),
    "deactivate product": ("product.deactivate", lambda db, a, o: deactivate_product(db, a, "RICE-5KG")),
    "add user": ("user.manage", lambda db, a, o: add_user(db, a, "x@shop.test", "long enough 1", "owner")),
    "deactivate user": ("user.manage", lambda db, a, o: set_active(db, a, "owner@shop.test", False)),
    "reset password": ("user.manage", lambda db, a, o: reset_password(db, a, "owner@shop.test", "hijacked pw 1")),
    "reset own password": ("user.manage", lambda db, a, o: reset_password(db, a, "staff@shop.test", "newpass 12")),
    "assign stores": ("user.manage", lambda db, a, o: assign_stores(db, a, "staff@shop.test", ["S1", "S2"])),
    "unlock": ("user.manage", lambda db, a, o: unlock(db, a, "owner@shop.test")),
    "add store": ("store.manage", lambda db, a, o: add_store(db, a, "S9", "Mine")),
    "rename store": ("store.manage", lambda db, a, o: update_store(db, a, "S1", name="Renamed")),
    "add vendor": ("vendor.manage", lambda db, a, o: add_vendor(db, a, "Sneaky Ltd")),
    "change vendor": ("vendor.manage", lambda db, a, o: change_vendor(db, a, "Amul", contact="me")),
    "stock-in other store": ("stock.in", lambda db, a, o: stock_in(db, a, "S2", "MILK-1L", 1)),
    "sale other store": ("stock.sale", lambda db, a, o: record_sale(db, a, "S2", [("MILK-1L", 1)])),
    "removal other store": ("stock.removal", lambda db, a, o: record_removal(db, a, "S2", "MILK-1L", 1, "lost")),
    "count other store": ("stock.count", lambda db, a, o: set_count(db, a, "S2", "MILK-1L", 0)),
    "transfer out of other": ("stock.transfer", lambda db, a, o: transfer(db, a, "S2", "S1", [("MILK-1L", 1)])),
    "transfer into other": ("stock.transfer", lambda db, a, o: transfer(db, a, "S1", "S2", [("MILK-1L", 1)])),
    "order other store": ("order.create", lambda db, a, o: create_order(db, a, "S2", [("MILK-1L", 1)])),
    "ship other store": ("order.ship", lambda db, a, o: ship_order(db, a, o)),
    "cancel other store": ("order.cancel", lambda db, a, o: cancel_order(db, a, o)),
    "backup": ("system.manage", lambda db, a, o: backup(db, a, db.target + ".backups")),
    "rotate the cookie key": ("system.manage", lambda db, a, o: rotate_secret(db, a)),
}


@pytest.mark.parametrize("case", sorted(STAFF_REFUSALS))
def test_staff_refusal__raises_audits_denied_and_changes_nothing(shop, staff, case):
    action, attempt = STAFF_REFUSALS[case]
    stock_in(shop, SYSTEM, "S2", "MILK-1L", 10)
    other_order = create_order(shop, SYSTEM, "S2", [("MILK-1L", 2)])["order_id"]
    before, audit_before = _everything_but_audit(shop), _audit_rows(shop)
    with pytest.raises(PermissionDenied) as err:
        attempt(shop, staff, other_order)
    assert str(err.value).endswith(".") and "Traceback" not in str(err.value)
    assert _everything_but_audit(shop) == before
    new_rows = _audit_rows(shop)[len(audit_before) :]
    assert len(new_rows) == 1, new_rows
    (row,) = new_rows
    assert (row["actor"], row["action"], row["outcome"]) == ("staff@shop.test", action, "denied")
    assert row["detail"] == str(err.value)


def test_staff_refusal__backup_creates_no_file(shop, staff, tmp_path):
    with pytest.raises(PermissionDenied):
        backup(shop, staff, tmp_path / "backups")
    assert not (tmp_path / "backups").exists()


def test_owner__may_do_what_staff_may_not(shop, owner):
    update_product(shop, owner, "RICE-5KG", 1, unit_price="1", vendor="New Vendor")
    add_store(shop, owner, "S3", "Third")
    assign_stores(shop, owner, "staff@shop.test", ["S1", "S2"])
    stock_in(shop, owner, "S2", "MILK-1L", 1)
    with shop.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM audit WHERE outcome = 'denied'") == 0


def test_staff_with_a_newly_assigned_store__may_work_there(shop, owner):
    from core.domain.signin import actor_for

    assign_stores(shop, owner, "staff@shop.test", ["S1", "S2"])
    staff = actor_for(shop, "staff@shop.test")
    stock_in(shop, staff, "S2", "MILK-1L", 1)
    transfer(shop, staff, "S2", "S1", [("MILK-1L", 1)])


# A crafted request with invalid values must still trip the wire: permission is decided before validation.
INVALID_STAFF_ATTEMPTS = {
    "negative price": ("product.update", lambda db, a: update_product(db, a, "RICE-5KG", 1, unit_price="-1")),
    "unknown product field": ("product.update", lambda db, a: update_product(db, a, "RICE-5KG", 1, quantity=9)),
    "product without a name": ("product.create", lambda db, a: create_product(db, a, "NEW", "", "", "abc")),
    "store with a bad code": ("store.manage", lambda db, a: add_store(db, a, "", "")),
    "store renamed to nothing": ("store.manage", lambda db, a: update_store(db, a, "S1", name="x" * 500)),
    "vendor without a name": ("vendor.manage", lambda db, a: add_vendor(db, a, "")),
    "user with a short password": ("user.manage", lambda db, a: add_user(db, a, "bad", "short", "owner")),
    "reset to a short password": ("user.manage", lambda db, a: reset_password(db, a, "owner@shop.test", "x")),
    "deactivate oneself": ("user.manage", lambda db, a: set_active(db, a, "staff@shop.test", False)),
    "assign unknown stores": ("user.manage", lambda db, a: assign_stores(db, a, "nobody@shop.test", ["NOPE"])),
    "unlock an unknown account": ("user.manage", lambda db, a: unlock(db, a, "nobody@shop.test")),
    "deactivate an unknown product": ("product.deactivate", lambda db, a: deactivate_product(db, a, "NOPE", 1)),
    "vendor with a long contact": ("vendor.manage", lambda db, a: change_vendor(db, a, "Nobody", contact="x" * 500)),
}


@pytest.mark.parametrize("case", sorted(INVALID_STAFF_ATTEMPTS))
def test_staff_refusal__with_invalid_input_is_still_denied_and_audited_once(shop, staff, case):
    action, attempt = INVALID_STAFF_ATTEMPTS[case]
    before, audit_before = _everything_but_audit(shop), _audit_rows(shop)
    with pytest.raises(PermissionDenied):
        attempt(shop, staff)
    assert _everything_but_audit(shop) == before
    new_rows = _audit_rows(shop)[len(audit_before) :]
    assert [(r["actor"], r["action"], r["outcome"]) for r in new_rows] == [("staff@shop.test", action, "denied")]


# ---- the owner's operations: one ok row each, with what changed ---------------------------------------------------

OWNER_CHANGES = {
    "add store": ("store.add", "S9", False, lambda db, a: add_store(db, a, "S9", "Ninth")),
    "rename store": ("store.update", "S1", True, lambda db, a: update_store(db, a, "S1", name="Renamed")),
    "add vendor": ("vendor.add", "Fresh Ltd", False, lambda db, a: add_vendor(db, a, "Fresh Ltd")),
    "change vendor": ("vendor.update", "Amul", True, lambda db, a: change_vendor(db, a, "Amul", contact="me")),
    "create product": ("product.create", "NEW", False, lambda db, a: create_product(db, a, "NEW", "N", "M", "1")),
    "change price": (
        "product.update",
        "RICE-5KG",
        True,
        lambda db, a: update_product(db, a, "RICE-5KG", 1, unit_price="1"),
    ),
    "deactivate product": ("product.update", "RICE-5KG", True, lambda db, a: deactivate_product(db, a, "RICE-5KG")),
    "add user": (
        "user.add",
        "x@shop.test",
        False,
        lambda db, a: add_user(db, a, "x@shop.test", "long enough 1", "staff"),
    ),
    "deactivate user": ("user.deactivate", STAFF, True, lambda db, a: set_active(db, a, STAFF, False)),
    "reset password": ("user.reset_password", STAFF, True, lambda db, a: reset_password(db, a, STAFF, "new secret 12")),
    "assign stores": ("user.assign_stores", STAFF, True, lambda db, a: assign_stores(db, a, STAFF, ["S1", "S2"])),
    "unlock": ("user.unlock", STAFF, True, lambda db, a: unlock(db, a, STAFF)),
    "rotate the cookie key": ("auth.rotate_secret", "cookie_secret", False, lambda db, a: rotate_secret(db, a)),
}


@pytest.mark.parametrize("case", sorted(OWNER_CHANGES))
def test_owner_change__writes_exactly_one_ok_row_with_what_changed(shop, owner, case):
    action, entity_id, has_before, change = OWNER_CHANGES[case]
    with shop.reader() as tx:
        last = tx.scalar("SELECT max(id) FROM audit")
    change(shop, owner)
    with shop.reader() as tx:
        rows = tx.dicts("SELECT actor, action, entity_id, before, after, outcome FROM audit WHERE id > $1", [last])
    assert [(r["actor"], r["action"], r["entity_id"], r["outcome"]) for r in rows] == [
        (owner.email, action, entity_id, "ok")
    ]
    assert (rows[0]["before"] is not None) is has_before and rows[0]["after"] is not None


# ---- a page left open after the account changed -------------------------------------------------------------


def test_stale_actor__deactivated_user_cannot_write_with_an_old_actor(shop, owner, staff):
    set_active(shop, owner, staff.email, False)
    with pytest.raises(PermissionDenied, match="deactivated"):
        stock_in(shop, staff, "S1", "MILK-1L", 1)
    assert get_stock(shop, owner, "S1", "MILK-1L")["quantity"] == 100
    with shop.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM audit WHERE actor = $1 AND outcome = 'denied'", [staff.email]) == 1


def test_stale_actor__staff_moved_off_a_store_cannot_write_there_with_an_old_actor(shop, owner, staff):
    assign_stores(shop, owner, staff.email, ["S2"])
    with pytest.raises(PermissionDenied, match="changed since"):
        stock_in(shop, staff, "S1", "MILK-1L", 1)
    assert get_stock(shop, owner, "S1", "MILK-1L")["quantity"] == 100
