"""``demo`` at scale: time, CPU, rows/s and peak memory of the load, then the time of ``check`` on the result.

Each size runs in a child process of its own (a fresh database file, its own peak RSS), the same code path as
``python -m core --db FILE demo ...``; ``check`` then runs through the CLI in another child, as an operator
would. The machine is shared, so CPU seconds are printed beside wall seconds (wall >> CPU / 2 means other
processes were using the cores), with the load average at the start.

Run: ``python -m tests.perf.bench_demo [--sizes 50x2000x90,500x10000x90] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def child(stores: int, products: int, days: int, path: str) -> None:
    """Load one size and print a JSON line with the summary and each step's wall and CPU seconds."""
    from core import open_db
    from core.tools.demo import generate

    def cpu() -> float:
        return sum(os.times()[:2])

    steps: list[dict[str, object]] = []
    last = [time.perf_counter(), cpu(), ""]

    def progress(fraction: float, message: str) -> None:
        now, used = time.perf_counter(), cpu()
        if last[2]:
            steps.append({"step": last[2], "wall": now - last[0], "cpu": used - last[1]})
        last[:] = [now, used, message]

    db = open_db(path)
    started = time.perf_counter()
    summary = generate(db, stores=stores, products=products, days=days, progress=progress)
    wall = time.perf_counter() - started
    db.close()
    print(json.dumps({"summary": summary, "wall": wall, "steps": steps}))


def _measure(argv: list[str]) -> dict[str, object]:
    """Run a child; os.wait4 gives its own CPU time and peak RSS (stderr goes to a file: no pipe deadlock)."""
    with tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, text=True)
        out = proc.stdout.read() if proc.stdout else ""
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        errors.seek(0)
        err = errors.read()
    return {
        "out": out,
        "err": err,
        "code": os.waitstatus_to_exitcode(status),
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
    }


def bench(stores: int, products: int, days: int, directory: Path) -> dict[str, object]:
    path = directory / f"demo_{stores}x{products}x{days}.duckdb"
    for old in (path, Path(f"{path}.wal")):
        old.unlink(missing_ok=True)
    load = _measure(
        [sys.executable, "-m", "tests.perf.bench_demo", "--child", f"{stores}x{products}x{days}", str(path)]
    )
    if load["code"] != 0:
        raise SystemExit(f"demo failed: {load['err']}")
    result = json.loads(str(load["out"]).strip().splitlines()[-1])
    checked = _measure([sys.executable, "-m", "core", "--db", str(path), "check", "--json"])
    report = json.loads(str(checked["out"]))
    return {
        "size": f"{stores} x {products:,} x {days}",
        "summary": result["summary"],
        "load_wall": result["wall"],
        "process_wall": load["wall"],
        "cpu": load["cpu"],
        "rss_mb": load["rss_mb"],
        "steps": result["steps"],
        "check_wall": checked["wall"],
        "check_cpu": checked["cpu"],
        "check_rss_mb": checked["rss_mb"],
        "check_ok": report["ok"],
        "file_mb": path.stat().st_size / 2**20,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="50x2000x90,500x10000x90", help="STORESxPRODUCTSxDAYS,...")
    parser.add_argument("--keep", help="directory for the database files (default: a temporary one)")
    parser.add_argument("--child", nargs=2, metavar=("SIZE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        stores, products, days = (int(x) for x in args.child[0].split("x"))
        child(stores, products, days, args.child[1])
        return

    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(args.keep) if args.keep else Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        results = []
        for size in args.sizes.split(","):
            stores, products, days = (int(x) for x in size.split("x"))
            r = bench(stores, products, days, directory)
            results.append(r)
            s = r["summary"]
            moves = s["movements"]
            print(
                f"\n== demo {r['size']}: {moves:,} movements, {s['stock_rows']:,} stock rows, {r['file_mb']:.0f} MB file"
            )
            print(
                f"   load {r['load_wall']:.1f} s wall ({r['process_wall']:.1f} s for the whole process), "
                f"{r['cpu']:.1f} s CPU, {moves / r['load_wall']:,.0f} movements/s, peak RSS {r['rss_mb']:,.0f} MB"
            )
            for step in r["steps"]:
                print(f"     {step['wall']:7.2f} s wall {step['cpu']:7.2f} s CPU  {step['step']}")
            print(
                f"   check: ok={r['check_ok']}, {r['check_wall']:.1f} s wall, {r['check_cpu']:.1f} s CPU, "
                f"peak RSS {r['check_rss_mb']:,.0f} MB"
            )
        if len(results) > 1:
            small, big = results[0], results[-1]
            per = [
                (r["cpu"] / r["summary"]["movements"] * 1e6, r["check_cpu"] / r["summary"]["movements"] * 1e6)
                for r in (small, big)
            ]
            print(
                f"\nCPU per million movements: load {per[0][0]:.2f} s -> {per[1][0]:.2f} s "
                f"(ratio {per[1][0] / per[0][0]:.2f}), check {per[0][1]:.2f} s -> {per[1][1]:.2f} s "
                f"(ratio {per[1][1] / per[0][1]:.2f}) from {small['size']} to {big['size']}"
            )


if __name__ == "__main__":
    main()
