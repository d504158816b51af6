"""client_op_id: an operation submitted twice is applied once; the repeat returns the first result."""

from __future__ import annotations

import threading

import pytest

from core.base.errors import InsufficientStock, ValidationError
from core.base.permissions import SYSTEM
from core.domain.catalog import add_store, create_product
from core.domain.orders import cancel_order, create_order, ship_order
from core.domain.stock import get_stock, record_removal, record_sale, set_count, stock_in, transfer
from tests.conftest import table_rows


def written(db):
    """Everything an operation writes, audit included."""
    with db.reader() as tx:
        return {t: table_rows(tx, t) for t in ("stock", "movements", "orders", "order_lines", "operations", "audit")}


OPERATIONS = {
    "stock_in": lambda db, op: stock_in(db, SYSTEM, "S1", "MILK-1L", 4, vendor="Amul", client_op_id=op),
    "sale": lambda db, op: record_sale(db, SYSTEM, "S1", [("MILK-1L", 2), ("RICE-5KG", 1)], client_op_id=op),
    "removal": lambda db, op: record_removal(db, SYSTEM, "S1", "MILK-1L", 1, "damaged", client_op_id=op),
    "set_count": lambda db, op: set_count(db, SYSTEM, "S1", "MILK-1L", 70, client_op_id=op),
    "transfer": lambda db, op: transfer(db, SYSTEM, "S1", "S2", [("MILK-1L", 3)], client_op_id=op),
    "order": lambda db, op: create_order(db, SYSTEM, "S1", [("RICE-5KG", 2)], client_op_id=op),
}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_resubmitted_operation__returns_the_first_result_and_writes_nothing(shop, name):
    first = OPERATIONS[name](shop, f"form-{name}-1")
    assert not first.get("replayed")
    before = written(shop)
    second = OPERATIONS[name](shop, f"form-{name}-1")
    assert second.pop("replayed") is True
    assert second == _jsonish(first)
    assert written(shop) == before
    # a new id is a new operation
    OPERATIONS[name](shop, f"form-{name}-2")
    assert written(shop) != before


def _jsonish(value):
    """The first result as it comes back from storage (JSON: Decimals and datetimes become strings)."""
    import json

    from core.domain.audit import to_json

    return json.loads(to_json(value))


def test_order_transitions__replay_instead_of_refusing_the_second_submission(shop):
    order_id = create_order(shop, SYSTEM, "S1", [("MILK-1L", 5)])["order_id"]
    cancel_order(shop, SYSTEM, order_id, client_op_id="cancel-1")
    assert cancel_order(shop, SYSTEM, order_id, client_op_id="cancel-1")["replayed"] is True
    assert get_stock(shop, SYSTEM, "S1", "MILK-1L")["quantity"] == 100
    other = create_order(shop, SYSTEM, "S1", [("MILK-1L", 5)])["order_id"]
    ship_order(shop, SYSTEM, other, client_op_id="ship-1")
    assert ship_order(shop, SYSTEM, other, client_op_id="ship-1")["status"] == "shipped"


def test_refused_operation__does_not_consume_its_id(shop):
    with pytest.raises(InsufficientStock):
        record_sale(shop, SYSTEM, "S1", [("SOAP-100", 50)], client_op_id="sale-1")
    stock_in(shop, SYSTEM, "S1", "SOAP-100", 50)
    result = record_sale(shop, SYSTEM, "S1", [("SOAP-100", 50)], client_op_id="sale-1")
    assert not result.get("replayed")
    assert get_stock(shop, SYSTEM, "S1", "SOAP-100")["quantity"] == 8


def test_same_id_for_another_action__is_refused(shop):
    stock_in(shop, SYSTEM, "S1", "MILK-1L", 1, client_op_id="op-1")
    before = written(shop)
    with pytest.raises(ValidationError, match="already used for another operation"):
        record_sale(shop, SYSTEM, "S1", [("MILK-1L", 1)], client_op_id="op-1")
    assert written(shop) == before


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sale", "set_count", "stock_in"])
def test_two_threads_submitting_the_same_id_at_once__apply_it_once(db, kind):
    add_store(db, SYSTEM, "S1", "One")
    create_product(db, SYSTEM, "A", "Apple", "Fruit", "1")
    stock_in(db, SYSTEM, "S1", "A", 100)
    calls = {
        "sale": lambda op: record_sale(db, SYSTEM, "S1", [("A", 1)], client_op_id=op),
        "set_count": lambda op: set_count(db, SYSTEM, "S1", "A", 10, client_op_id=op),
        "stock_in": lambda op: stock_in(db, SYSTEM, "S1", "A", 5, client_op_id=op),
    }
    expected_qty = {"sale": 99, "set_count": 10, "stock_in": 105}[kind]
    for round_no in range(8):
        set_count(db, SYSTEM, "S1", "A", 100)
        barrier = threading.Barrier(2)
        results: list = []

        def submit(op=f"{kind}-{round_no}", barrier=barrier, results=results):
            barrier.wait()
            try:
                results.append(calls[kind](op))
            except Exception as exc:  # collected and asserted below
                results.append(exc)

        threads = [threading.Thread(target=submit) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(isinstance(r, dict) for r in results), results
        assert sorted(bool(r.get("replayed")) for r in results) == [False, True]
        assert get_stock(db, SYSTEM, "S1", "A")["quantity"] == expected_qty
        with db.reader() as tx:
            assert tx.scalar("SELECT count(*) FROM movements WHERE client_op_id = $1", [f"{kind}-{round_no}"]) == 1


def test_same_id_from_another_person__is_refused_not_replayed(shop, staff):
    stock_in(shop, SYSTEM, "S1", "MILK-1L", 1, client_op_id="op-9")
    before = written(shop)
    with pytest.raises(ValidationError, match="already used for another operation"):
        stock_in(shop, staff, "S1", "MILK-1L", 1, client_op_id="op-9")
    assert written(shop) == before
