"""Structured JSON logs and metrics for every operation, through one logger.

``record`` is called once per operation by the runner (``core.domain.ops``): one JSON log line with actor, action,
entity, outcome and latency_ms, one Prometheus counter increment and one latency observation. Recent
latencies are also kept in memory so the System page can show p50/p95 without a metrics server.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import defaultdict, deque
from typing import Any, TextIO

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from pythonjsonlogger.json import JsonFormatter

logger = logging.getLogger("inventory")
logger.addHandler(logging.NullHandler())  # silent until configure_logging: no bare lines on stderr

REGISTRY = CollectorRegistry()
OPERATIONS = Counter(
    "inventory_operations", "Operations by action and outcome", ["action", "outcome"], registry=REGISTRY
)
LATENCY = Histogram(
    "inventory_operation_seconds",
    "Operation latency by action and outcome",
    ["action", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)

_recent: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=2000))
_recent_lock = threading.Lock()


def configure_logging(level: str | int = "INFO", stream: TextIO | None = None) -> None:
    """Send the ``inventory`` logger's records to ``stream`` (stderr) as one JSON object per line."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter("{asctime}{levelname}{message}", style="{", rename_fields={"asctime": "ts", "levelname": "level"})
    )
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def record(actor: str, action: str, entity: str, outcome: str, seconds: float, **fields: Any) -> None:
    """Log and count one finished operation."""
    OPERATIONS.labels(action, outcome).inc()
    LATENCY.labels(action, outcome).observe(seconds)
    with _recent_lock:
        _recent[action].append(seconds)
    # "disk_full" is a warning: the person is told in words; an "error" is a bug, with an error id to look up
    level = logging.INFO if outcome in ("ok", "invalid") else logging.WARNING
    if outcome == "error":
        level = logging.ERROR
    logger.log(
        level,
        "operation",
        extra={
            "actor": actor,
            "action": action,
            "entity": entity,
            "outcome": outcome,
            "latency_ms": round(seconds * 1000, 3),
            **fields,
        },
    )


def latency_percentiles() -> dict[str, dict[str, float]]:
    """p50/p95 (ms) and count of the recent operations of each action in this process."""
    out: dict[str, dict[str, float]] = {}
    with _recent_lock:
        items = {k: sorted(v) for k, v in _recent.items() if v}
    for action, values in sorted(items.items()):
        n = len(values)
        out[action] = {
            "count": n,
            "p50_ms": round(values[int(0.50 * (n - 1))] * 1000, 3),
            "p95_ms": round(values[int(0.95 * (n - 1))] * 1000, 3),
        }
    return out


def metrics_text() -> bytes:
    """The Prometheus text exposition of this process's operation metrics."""
    return generate_latest(REGISTRY)
