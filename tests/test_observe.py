"""Structured logs and metrics: one JSON log line per operation through one logger, counts by action/outcome."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from core.base import observe
from core.base.errors import ConflictError, InsufficientStock, PermissionDenied
from core.base.permissions import SYSTEM
from core.domain.catalog import update_product
from core.domain.ops import run
from core.domain.stock import record_sale, stock_in


@pytest.fixture
def log_lines():
    """The ``inventory`` logger's output, configured as the app and CLI configure it, one parsed dict a line."""
    logger = observe.logger
    saved = (logger.handlers[:], logger.level, logger.propagate)
    stream = io.StringIO()
    observe.configure_logging("INFO", stream=stream)

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


def _operations(records):
    return [r for r in records if r.get("message") == "operation"]


def test_log__one_json_line_per_operation_with_the_required_fields(shop, staff, log_lines):
    stock_in(shop, staff, "S1", "MILK-1L", 2, client_op_id="op-42")
    (line,) = _operations(log_lines())
    assert line["actor"] == "staff@shop.test"
    assert (line["action"], line["entity"], line["outcome"], line["level"]) == ("stock.in", "stock", "ok", "INFO")
    assert line["entity_id"] == "MILK-1L@S1"
    assert line["client_op_id"] == "op-42"
    assert isinstance(line["latency_ms"], float) and line["latency_ms"] >= 0
    assert "ts" in line


def test_log__refusals_and_conflicts_are_logged_with_their_outcome(shop, staff, log_lines):
    with pytest.raises(PermissionDenied):
        stock_in(shop, staff, "S2", "MILK-1L", 1)
    with pytest.raises(InsufficientStock):
        record_sale(shop, SYSTEM, "S1", [("SOAP-100", 99)])
    update_product(shop, SYSTEM, "SOAP-100", 1, name="Soap")
    with pytest.raises(ConflictError):
        update_product(shop, SYSTEM, "SOAP-100", 1, name="Old soap")
    got = [(r["action"], r["outcome"], r["level"]) for r in _operations(log_lines())]
    assert got == [
        ("stock.in", "denied", "WARNING"),
        ("stock.sale", "invalid", "INFO"),
        ("product.update", "ok", "INFO"),
        ("product.update", "conflict", "WARNING"),
    ]
    assert "not assigned to store S2" in _operations(log_lines())[0]["detail"]


def test_log__an_unexpected_error_gets_an_id_in_the_log_and_the_audit(shop, log_lines):
    def body(tx):
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError) as err:
        run(shop, SYSTEM, "test.boom", body, entity="test")
    error_id = err.value.error_id
    assert re.fullmatch(r"[0-9a-f]{12}", error_id)
    (line,) = _operations(log_lines())
    assert (line["outcome"], line["level"], line["error_id"]) == ("error", "ERROR", error_id)
    with shop.reader() as tx:
        detail = tx.scalar("SELECT detail FROM audit WHERE outcome = 'error'")
    assert error_id in detail and "disk on fire" in detail


def _count(action, outcome):
    text = observe.metrics_text().decode()
    pattern = rf'inventory_operations_total{{action="{re.escape(action)}",outcome="{outcome}"}} ([0-9.e+]+)'
    m = re.search(pattern, text)
    return float(m.group(1)) if m else 0.0


def test_metrics__count_operations_by_action_and_outcome(shop, staff):
    ok, denied = _count("stock.removal", "ok"), _count("stock.removal", "denied")
    from core.domain.stock import record_removal

    record_removal(shop, staff, "S1", "MILK-1L", 1, "damaged")
    record_removal(shop, staff, "S1", "MILK-1L", 1, "damaged")
    with pytest.raises(PermissionDenied):
        record_removal(shop, staff, "S2", "MILK-1L", 1, "damaged")
    assert _count("stock.removal", "ok") == ok + 2
    assert _count("stock.removal", "denied") == denied + 1
    assert "inventory_operation_seconds_bucket" in observe.metrics_text().decode()


def test_latency_percentiles__summarise_recent_operations(shop):
    for _ in range(3):
        stock_in(shop, SYSTEM, "S1", "MILK-1L", 1)
    summary = observe.latency_percentiles()["stock.in"]
    assert summary["count"] >= 3
    assert 0 <= summary["p50_ms"] <= summary["p95_ms"]


def test_logger__is_the_single_inventory_logger():
    assert observe.logger is logging.getLogger("inventory")
