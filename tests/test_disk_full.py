"""A full disk (issue 12, item 18): said in words, never retried as a conflict, never a partial file under the final
name, and the database works again once space is freed.

The real cases mount a small tmpfs (root only; CI runs as root) holding the DuckDB file, the backup folder or the
export target, and fill it. The paths that are hard to fill for real (PostgreSQL's own disk, a failure at a given
point) are driven with the driver's or the OS's disk-full error.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from core import open_db
from core.base.errors import DiskFull
from core.base.permissions import SYSTEM
from core.domain.backup import backup
from core.domain.check import check
from core.domain.ops import run
from core.domain.stock import stock_in
from core.sheets.exporter import export_file
from core.tools.cli import main
from tests.conftest import seed_shop

pytestmark = pytest.mark.slow  # crash-like: databases and exports on a full disk

DISK_FULL = "The disk is full"


@contextmanager
def small_disk(folder: Path, size: str = "8M") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``folder`` for the block."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Write a filler file until the disk is full; returns it (unlink it to free the space)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    os.write(fd, b"x" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---- backups ----------------------------------------------------------------------------------------------------


def test_backup__onto_a_full_disk_says_so_and_leaves_no_file(shop, tmp_path):
    with small_disk(tmp_path / "small") as folder:
        filler = fill(folder)
        with pytest.raises(DiskFull, match=DISK_FULL):
            backup(shop, SYSTEM, folder)
        assert listing(folder) == ["filler"]  # no partial .duckdb, no .wal
        filler.unlink()
        done = backup(shop, SYSTEM, folder)  # the same database, space freed: it works
        assert listing(folder) == [Path(done["path"]).name]
        stock_in(shop, SYSTEM, "S1", "MILK-1L", 1)


def test_backup__a_disk_that_fills_during_the_copy_leaves_no_file(shop, tmp_path):
    """Room for the probe and the start of the copy, not for all of it."""
    with small_disk(tmp_path / "small") as folder:
        filler = fill(folder)
        os.truncate(filler, filler.stat().st_size - 16 * 1024)
        with pytest.raises(DiskFull, match=DISK_FULL):
            backup(shop, SYSTEM, folder)
        assert listing(folder) == ["filler"]


def test_backup__a_failing_copy_removes_its_partial_file_and_wal(shop, tmp_path, monkeypatch):
    """Whatever fails during the copy (here the OS's disk-full error at the rename), nothing stays behind."""

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("core.domain.backup.os.replace", no_space)
    with pytest.raises(DiskFull, match=DISK_FULL):
        backup(shop, SYSTEM, tmp_path / "b")
    assert listing(tmp_path / "b") == []


def test_cli_backup__full_disk_is_one_sentence_exit_1(tmp_path, capsys):
    db_file = tmp_path / "inventory.duckdb"
    seed_shop(open_db(str(db_file)), users=False).close()
    with small_disk(tmp_path / "small") as folder:
        fill(folder)
        capsys.readouterr()
        code = main(["--db", str(db_file), "backup", str(folder)])
        _, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("error: The disk is full") and err.count("\n") == 1
    assert "IOException" not in err and "{" not in err and "went wrong" not in err


# ---- exports ----------------------------------------------------------------------------------------------------


def test_export__onto_a_full_disk_leaves_no_file(shop, tmp_path):
    for n in range(300):  # an export bigger than what is left
        from core.domain.catalog import create_product

        create_product(shop, SYSTEM, f"X-{n:04d}", "A product with a fairly long name " * 2, "Cat", "1.00", 1)
    with small_disk(tmp_path / "small") as folder:
        filler = fill(folder)
        os.truncate(filler, filler.stat().st_size - 8 * 1024)  # room for the start of the file only
        target = folder / "products.csv"
        with pytest.raises(DiskFull, match=DISK_FULL):
            export_file(shop, SYSTEM, "products", target)
        assert listing(folder) == ["filler"]  # neither the requested name nor a temporary file
        filler.unlink()
        assert export_file(shop, SYSTEM, "products", target)["rows"] == 303
        assert listing(folder) == ["products.csv"]


def test_export__replaces_an_existing_file_only_when_complete(shop, tmp_path, monkeypatch):
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "products.csv"
    target.write_text("the previous export\n")
    real_replace = os.replace

    def no_space(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(DiskFull):
        export_file(shop, SYSTEM, "products", target)
    assert target.read_text() == "the previous export\n"
    assert listing(tmp_path / "out") == ["products.csv"]
    monkeypatch.setattr(os, "replace", real_replace)
    export_file(shop, SYSTEM, "products", target)
    assert target.read_bytes().startswith(b"\xef\xbb\xbfsku,")


def test_cli_export__full_disk_is_a_sentence_exit_1(tmp_path, capsys):
    db_file = tmp_path / "inventory.duckdb"
    seed_shop(open_db(str(db_file)), users=False).close()
    with small_disk(tmp_path / "small") as folder:
        fill(folder)
        capsys.readouterr()
        code = main(["--db", str(db_file), "export", "products", "--output", str(folder / "p.csv")])
        _, err = capsys.readouterr()
        assert listing(folder) == ["filler"]
    assert code == 1 and err.startswith("error: The disk is full") and err.count("\n") == 1


# ---- the database's own disk ------------------------------------------------------------------------------------


def _big_csv(path: Path, rows: int) -> Path:
    lines = ["sku,name,category,unit_price,quantity"]
    lines += [f"SKU-{i:06d},Product number {i} with a long name,Cat,1.50,{i % 50}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.duckdb_only
def test_cli__import_then_writes_on_a_full_database_disk(tmp_path, capsys, monkeypatch):
    """The DuckDB file on a full disk: the import and the writes after it say so in words (exit 1, no JSON log line,
    no traceback, never "someone else changed"); once space is freed the same file works and passes check."""
    monkeypatch.setenv("INVENTORY_PASSWORD", "cli password 1")
    monkeypatch.delenv("INVENTORY_LOG_LEVEL", raising=False)
    data = _big_csv(tmp_path / "big.csv", 20_000)
    with small_disk(tmp_path / "small") as folder:
        target = str(folder / "inventory.duckdb")
        assert main(["--db", target, "store", "add", "S1", "Main"]) == 0
        assert main(["--db", target, "store", "add", "S9", "Elsewhere"]) == 0
        assert main(["--db", target, "user", "add", "staff@shop.test", "--role", "staff", "--store", "S1"]) == 0
        assert main(["--db", target, "import", str(_big_csv(tmp_path / "one.csv", 1)), "--store", "S1"]) == 0
        filler = fill(folder)
        for args in (
            ["import", str(data), "--store", "S1"],
            ["record", "stock-in", "--store", "S1", "--sku", "SKU-000000", "--qty", "5"],
            ["store", "add", "S2", "Second"],
        ):
            capsys.readouterr()
            code = main(["--db", target, *args])
            out, err = capsys.readouterr()
            said = out + err
            assert code == 1, said
            assert DISK_FULL in said, said
            assert "Someone else" not in said and "Traceback" not in said and '{"' not in said, said
        capsys.readouterr()  # a refusal whose audit row finds no room: the refusal, in one line
        refused = ["record", "sale", "--store", "S9", "--sku", "SKU-000000", "--qty", "1", "--as", "staff@shop.test"]
        assert main(["--db", target, *refused]) == 1
        out, err = capsys.readouterr()
        assert err == "error: You are not assigned to store S9.\n" and out == ""
        filler.unlink()
        assert main(["--db", target, "record", "stock-in", "--store", "S1", "--sku", "SKU-000000", "--qty", "5"]) == 0
        db = open_db(target)
        try:
            assert check(db)["ok"]
            with db.reader() as tx:
                assert tx.scalar("SELECT count(*) FROM stores") == 2
                assert tx.scalar("SELECT quantity FROM stock") == 5
        finally:
            db.close()


@pytest.mark.duckdb_only
def test_database__usable_again_after_a_checkpoint_failed_on_a_full_disk(tmp_path):
    """A checkpoint that fails on a full disk invalidates DuckDB's connection (every later statement failed, until a
    restart); the adapter reopens the file once space is freed. Nothing of the failed operations was saved."""
    with small_disk(tmp_path / "small") as folder:
        db = seed_shop(open_db(str(folder / "inventory.duckdb")), users=False)
        try:
            with db.reader() as tx:
                tx.execute("CHECKPOINT")
                tx.execute("SET checkpoint_threshold = '1KB'")  # every commit checkpoints
            filler = fill(folder)
            os.truncate(filler, filler.stat().st_size - 64 * 1024)  # room for the WAL, not for the checkpoint
            for _ in range(3):
                with pytest.raises(DiskFull, match=DISK_FULL):
                    stock_in(db, SYSTEM, "S1", "MILK-1L", 7)
            filler.unlink()
            assert _quantity(db) == 100
            stock_in(db, SYSTEM, "S1", "MILK-1L", 1)
            assert _quantity(db) == 101
            assert check(db)["ok"]
        finally:
            db.close()
        reopened = open_db(str(folder / "inventory.duckdb"))
        try:
            assert _quantity(reopened) == 101 and check(reopened)["ok"]
        finally:
            reopened.close()


def _quantity(db) -> int:
    with db.reader() as tx:
        return int(
            tx.scalar(
                "SELECT s.quantity FROM stock s JOIN products p ON p.id = s.product_id"
                " JOIN stores st ON st.id = s.store_id WHERE p.sku = 'MILK-1L' AND st.code = 'S1'"
            )
        )


def _native_disk_full(kind: str) -> Exception:
    if kind == "duckdb":
        return duckdb.TransactionException(
            'TransactionContext Error: Failed to commit: Could not write file "x.wal": No space left on device'
        )
    from psycopg import errors as pg_errors

    return pg_errors.DiskFull("could not extend file: No space left on device")


def test_run__a_full_disk_is_never_retried_as_a_conflict(shop):
    """Each engine's own disk-full error becomes ``DiskFull`` at the driver boundary, and the runner does not retry
    it (it used to retry it 30 times and then say "Someone else changed the same data")."""
    attempts = []

    def body(tx):
        attempts.append(1)
        raise tx.translate(_native_disk_full(shop.kind))

    with pytest.raises(DiskFull, match=DISK_FULL):
        run(shop, SYSTEM, "stock.in", body, entity="stock")
    assert len(attempts) == 1
    stock_in(shop, SYSTEM, "S1", "MILK-1L", 1)


def test_postgres__a_full_tablespace_is_a_full_disk(pg_server, tmp_path):
    """PostgreSQL's own disk: the ledger and the audit table on a tablespace on a small tmpfs, filled. A write says
    the disk is full (SQLSTATE 53100), is not retried, and works again once space is freed."""
    from tests.conftest import TEMPLATE

    folder = pg_server.directory / "small"  # inside the cluster's folder: the server's user can reach it
    with small_disk(folder, "4M"):
        space = folder / "space"
        space.mkdir()
        shutil.chown(space, "postgres", "postgres")
        url = pg_server.new_database(TEMPLATE)
        pg_server.sql(f"CREATE TABLESPACE hcli_small LOCATION '{space}'")
        try:
            db = seed_shop(open_db(url), users=False)
            try:
                with db.transaction() as tx:
                    tx.execute("ALTER TABLE movements SET TABLESPACE hcli_small")
                    tx.execute("ALTER TABLE audit SET TABLESPACE hcli_small")
                filler = fill(folder)
                with pytest.raises(DiskFull, match=DISK_FULL):
                    for _ in range(2000):  # the tables' last pages fill up, then the next write needs a new one
                        stock_in(db, SYSTEM, "S1", "MILK-1L", 1)
                before = _quantity(db)
                filler.unlink()
                stock_in(db, SYSTEM, "S1", "MILK-1L", 1)
                assert _quantity(db) == before + 1 and check(db)["ok"]
            finally:
                db.close()
        finally:
            pg_server.drop_database(url)
            pg_server.sql("DROP TABLESPACE IF EXISTS hcli_small")
