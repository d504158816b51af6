"""Benchmark: every hostile file of issue 12 that concerns reading, imported end to end, one fresh process each.

Run: ``python -m tests.perf.bench_hostile [--rows 1000000] [--accepted-rows 100000] [--bomb-gb 3]
[--staff-rows 100000] [--dup-lines 20000] [--app-memory-gb 8] [--only WORD,...]`` (not collected by pytest).

The files are generated first (nothing is checked in): a workbook with cells at A1 and XFD1048576 (item 1); an XLSX
that inflates to ``--bomb-gb`` GB of XML, and one whose ZIP header understates its size (2); a ``--rows``-row XLSX
and the same rows as CSV, and an XLSX/CSV pair of ``--accepted-rows`` rows, under the workbook row limit (5); a
``sep=é`` line, a ragged row with a 200 KB cell, a header line over 200,000 characters (17); a mixed UTF-8 /
Windows-1252 CSV (19); an ODS with a far cell reached through repeats, a normal XLS and ODS (23); a CSV repeating one
SKU on ``--dup-lines`` lines (3, imported by the owner) and a staff preview of a file of ``--staff-rows`` new SKUs (4).

Each file is then imported through ``core.sheets.importer.import_file`` in a fresh Python process (a temporary DuckDB shop
seeded as the tests seed it, owner or staff), which prints the outcome's sentence, the wall time of the import, the
peak resident memory of that app process (and its baseline before the import), the peak of the child process
that parsed a workbook (its VmHWM) and the audit rows the import wrote. Each case's process runs under an
address-space limit (``--app-memory-gb``), so a case that runs away dies alone (reported as such).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("INVENTORY_LOG_LEVEL", "ERROR")

HEADER = ["sku", "name", "category", "unit_price", "quantity", "reorder_level", "vendor"]


def catalog_rows(n: int, seed: int = 7):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    for i in range(n):
        yield (
            f"SKU-{i:07d}",
            f"Product number {i} {rng.choice(('Rice', 'Dal', 'Tea', 'Soap'))}",
            f"Category {rng.randrange(40)}",
            f"{rng.randint(1, 500_000) / 100:.2f}",
            str(rng.randint(0, 900)),
            str(rng.randint(0, 40)),
            f"Vendor {rng.randrange(25)}",
        )


def write_csv(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(HEADER) + "\n")
        for row in catalog_rows(n):
            fh.write(",".join(row) + "\n")


def _column(j: int) -> str:
    return "ABCDEFG"[j]


def write_xlsx(path: Path, n: int) -> None:
    """The same rows as ``write_csv`` as an XLSX, its sheet XML streamed into the archive (as Excel writes it:
    every cell with its reference; numbers as numbers, text inline)."""
    from tests import hostile_files as make

    template = zipfile.ZipFile(__import__("io").BytesIO(make.xlsx([HEADER])))
    head, tail = template.read(make.SHEET).split(b"<sheetData>")[0], b"</sheetData>"
    tail += template.read(make.SHEET).split(b"</sheetData>")[1]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in template.infolist():
            if info.filename != make.SHEET:
                out.writestr(info.filename, template.read(info.filename))
        with out.open(make.SHEET, "w", force_zip64=True) as sheet:
            sheet.write(head + b"<sheetData>")
            rows = [HEADER, *catalog_rows(n)]
            buffer = []
            for i, row in enumerate(rows, start=1):
                cells = []
                for j, value in enumerate(row):
                    ref = f"{_column(j)}{i}"
                    if i > 1 and j in (3, 4, 5):
                        cells.append(f'<c r="{ref}"><v>{value}</v></c>')
                    else:
                        cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
                buffer.append(f'<row r="{i}">{"".join(cells)}</row>')
                if len(buffer) >= 10_000:
                    sheet.write("".join(buffer).encode())
                    buffer = []
            sheet.write("".join(buffer).encode() + tail)


def write_bomb(path: Path, gigabytes: float) -> None:
    """An ordinary two-row XLSX whose sheet XML is padded with ``gigabytes`` GB of spaces (streamed, honest sizes)."""
    from tests import hostile_files as make

    template = zipfile.ZipFile(__import__("io").BytesIO(make.xlsx(make.COUNT_ROWS)))
    head, rest = template.read(make.SHEET).split(b"<sheetData>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in template.infolist():
            if info.filename != make.SHEET:
                out.writestr(info.filename, template.read(info.filename))
        with out.open(make.SHEET, "w", force_zip64=True) as sheet:
            sheet.write(head + b"<sheetData>")
            block = b" " * (1 << 24)
            for _ in range(int(gigabytes * 1e9) // len(block)):
                sheet.write(block)
            sheet.write(rest)


def make_files(directory: Path, args: argparse.Namespace) -> list[tuple[str, str, Path, str]]:
    """(name, issue item, file, who imports: owner | staff-preview)."""
    from tests import hostile_files as make

    def put(name: str, data: bytes | str) -> Path:
        path = directory / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    cases = []
    started = time.perf_counter()
    cases.append(("far cell A1+XFD1048576 .xlsx", "1", put("far.xlsx", make.far_cell_xlsx()), "owner"))
    cases.append(("far cell via repeats .ods", "1/23", put("far.ods", make.far_cell_ods()), "owner"))
    bomb = directory / "bomb.xlsx"
    write_bomb(bomb, args.bomb_gb)
    cases.append((f"bomb: {bomb.stat().st_size / 1e6:.1f} MB -> {args.bomb_gb:g} GB .xlsx", "2", bomb, "owner"))
    liar = make.with_declared_size(make.bomb_xlsx(megabytes=100), make.SHEET, 5_000)
    cases.append(("zip header understating 100 MB .xlsx", "2", put("liar.xlsx", liar), "owner"))
    for n in (args.rows, args.accepted_rows):
        xlsx, csv_ = directory / f"rows_{n}.xlsx", directory / f"rows_{n}.csv"
        write_xlsx(xlsx, n)
        write_csv(csv_, n)
        cases.append((f"{n:,} rows .xlsx ({xlsx.stat().st_size / 1e6:.0f} MB)", "5", xlsx, "owner"))
        cases.append((f"{n:,} rows .csv (the same rows)", "5", csv_, "owner"))
    cases.append(("sep=é first line .csv", "17", put("sep.csv", "sep=é\nskuéquantity\nA1é3\n"), "owner"))
    ragged = "sku,quantity\nMILK-1L,3\nSOAP-100,4," + "x" * 200_000 + "\n"
    cases.append(("ragged row, 200 KB cell .csv", "17", put("ragged.csv", ragged), "owner"))
    wide = ",".join(["sku", "quantity"] + [f"column {i}" for i in range(25_000)]) + "\nMILK-1L,3\n"
    cases.append(("header line of 250,000 chars .csv", "17", put("wide.csv", wide), "owner"))
    mixed = "sku,name,category,unit_price,quantity\n" + "".join(
        f"MX-{i},Café {i},Drinks,2.00,{i}\n" for i in range(10_000)
    )
    mixed = mixed.encode()
    mixed = mixed.replace("Café 77,".encode(), "Crème 77,".encode("cp1252"))
    cases.append(("mixed UTF-8/Windows-1252 .csv", "19", put("mixed.csv", mixed), "owner"))
    cases.append((".xls catalog", "23", put("catalog.xls", make.xls(make.CATALOG_ROWS)), "owner"))
    cases.append((".ods catalog", "23", put("catalog.ods", make.ods(make.CATALOG_ROWS)), "owner"))
    dupes = "sku,name,category,unit_price,quantity\n" + "DUP-1,Same,Misc,1.00,1\n" * args.dup_lines
    cases.append((f"one SKU on {args.dup_lines:,} lines .csv", "3", put("dupes.csv", dupes), "owner"))
    news = "sku,name,category,unit_price,quantity\n" + "".join(
        f"NEW-{i:07d},New {i},Misc,1.00,{i % 50}\n" for i in range(args.staff_rows)
    )
    cases.append((f"{args.staff_rows:,} new SKUs, staff preview", "4", put("news.csv", news), "staff-preview"))
    print(f"generated {len(cases)} files in {time.perf_counter() - started:.1f} s")
    return cases


def run_case(path: Path, who: str, workdir: Path) -> dict[str, object]:
    """In this (fresh) process: seed a shop, import ``path`` once, measure."""
    import bcrypt

    real = bcrypt.gensalt
    bcrypt.gensalt = lambda rounds=4, prefix=b"2b": real(4, prefix)  # the tests' cost: seeding is not measured

    from core import open_db
    from core.domain.signin import actor_for
    from core.sheets import worker as spreadsheet_worker
    from core.sheets.importer import import_file
    from tests.conftest import OWNER_EMAIL, STAFF_EMAIL, seed_shop

    db = open_db(str(workdir / "shop.duckdb"))
    seed_shop(db)
    actor = actor_for(db, STAFF_EMAIL if who.startswith("staff") else OWNER_EMAIL)
    with db.reader() as tx:
        audit_before = int(tx.scalar("SELECT count(*) FROM audit"))
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    report = import_file(db, actor, path, store="S1", dry_run=who.endswith("preview"))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with db.reader() as tx:
        audit_rows = int(tx.scalar("SELECT count(*) FROM audit")) - audit_before
    db.close()
    if report.file_error:
        outcome = f"exit {report.exit_code}: {report.errors[0]['message']}"
    else:
        listed = len(report.errors)
        outcome = (
            f"exit {report.exit_code}: {report.rows:,} rows, {report.created:,} created, {report.updated:,} updated,"
            f" {report.error_rows:,} rows with errors ({listed:,} listed)"
        )
        if report.warnings:
            outcome += f"; warning: {report.warnings[0]}"
    return {
        "outcome": outcome,
        "seconds": seconds,
        "app_mb": peak / 1024,
        "baseline_mb": baseline / 1024,
        "child_mb": spreadsheet_worker.last_child_peak_kb / 1024,
        "audit_rows": audit_rows,
    }


def _limit_memory(gigabytes: float) -> None:
    """A case that runs away (an unfixed quadratic report) dies alone instead of exhausting the machine."""
    limit = int(gigabytes * 1e9)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the large XLSX (and its CSV)")
    parser.add_argument("--accepted-rows", type=int, default=100_000, help="rows of an XLSX under the row limit")
    parser.add_argument("--bomb-gb", type=float, default=3.0)
    parser.add_argument("--staff-rows", type=int, default=100_000)
    parser.add_argument("--dup-lines", type=int, default=20_000, help="lines repeating one SKU (item 3)")
    parser.add_argument(
        "--app-memory-gb", type=float, default=8.0, help="address-space limit of each case's app process"
    )
    parser.add_argument("--only", default="", help="comma-separated words: run the cases whose name has one")
    parser.add_argument("--case", nargs=3, metavar=("FILE", "WHO", "WORKDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(Path(args.case[0]), args.case[1], Path(args.case[2]))))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench_hostile_") as tmp:
        directory = Path(tmp)
        cases = make_files(directory, args)
        words = [w.strip().lower() for w in args.only.split(",") if w.strip()]
        print(
            f"{'file':42s} {'item':>5s} {'seconds':>8s} {'app MB':>8s} {'(before)':>8s} {'child MB':>8s} {'audit':>6s}"
        )
        for name, item, path, who in cases:
            if words and not any(w in name.lower() for w in words):
                continue
            workdir = Path(tempfile.mkdtemp(dir=tmp))
            done = subprocess.run(
                [sys.executable, "-m", "tests.perf.bench_hostile", "--case", str(path), who, str(workdir)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                preexec_fn=lambda: _limit_memory(args.app_memory_gb),
            )
            if done.returncode != 0:
                print(f"{name:42s} {item:>5s}  the app process died: exit {done.returncode}; {done.stderr[-300:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            child = f"{r['child_mb']:8.0f}" if r["child_mb"] else f"{'-':>8s}"
            print(
                f"{name:42s} {item:>5s} {r['seconds']:8.2f} {r['app_mb']:8.0f} {r['baseline_mb']:8.0f} {child}"
                f" {r['audit_rows']:6d}"
            )
            print(f"    {r['outcome'][:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
