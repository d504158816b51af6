"""Sign-in timing on a temporary DuckDB file at bcrypt's real cost: a wrong password for a real account, any
password for an unknown account (both must take the same time: no account probing by timing), a right password,
and a throttled attempt (refused before any hash is computed).

Run: ``python -m tests.perf.bench_signin [--n 10]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from core import open_db
from core.base.errors import AuthError
from core.base.permissions import SYSTEM
from core.domain.signin import authenticate
from core.domain.users import add_user

EMAIL, PASSWORD = "owner@shop.test", "correct horse 42"


def _median_ms(db: object, email: str, password: str, n: int, client: str) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        try:
            authenticate(db, email, password, client=client)  # type: ignore[arg-type]
        except AuthError:
            pass
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(str(Path(tmp) / "bench.duckdb"))
        try:
            add_user(db, SYSTEM, EMAIL, PASSWORD, "owner")
            for i in range(args.n):
                add_user(db, SYSTEM, f"staff{i}@shop.test", PASSWORD, "staff")
            _median_ms(db, "warm@shop.test", "wrong guess 1", 1, "192.0.2.1")  # warm-up
            rows: dict[str, float] = {"right password": _median_ms(db, EMAIL, PASSWORD, args.n, "192.0.2.50")}
            real, unknown = [], []
            for i in range(args.n):  # interleaved; each account and client once, below every limit
                real.append(_median_ms(db, f"staff{i}@shop.test", "wrong guess 1", 1, f"198.51.100.{i}"))
                unknown.append(_median_ms(db, f"ghost{i}@shop.test", "wrong guess 1", 1, f"203.0.113.{i}"))
            rows["wrong password, real account"] = statistics.median(real)
            rows["unknown account"] = statistics.median(unknown)
            for _ in range(5):
                _median_ms(db, EMAIL, "wrong guess 1", 1, "192.0.2.99")
            rows["throttled (locked client)"] = _median_ms(db, EMAIL, PASSWORD, args.n, "192.0.2.99")
        finally:
            db.close()
    print(f"sign-in, median of {args.n} (bcrypt at the library's default cost):")
    for name, ms in rows.items():
        print(f"  {name:32s} {ms:8.1f} ms")


if __name__ == "__main__":
    main()
