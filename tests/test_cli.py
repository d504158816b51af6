"""``python -m core``: every command of the core issue, in-process through ``main`` and as real subprocesses.

Exit codes: 0 success, 1 refused or failed (a sentence on stderr, never a traceback), 2 usage error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import open_db
from core.base import observe
from core.base.permissions import SYSTEM
from core.domain.catalog import create_product
from core.tools.cli import build_parser, main
from tests.conftest import table_rows

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _quiet_logger():
    logger = observe.logger
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


@pytest.fixture
def cli(db_path, capsys, monkeypatch):
    """Run ``main`` on a temporary database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("INVENTORY_PASSWORD", "cli password 1")
    monkeypatch.delenv("INVENTORY_DB", raising=False)

    def run(*args: str):
        capsys.readouterr()
        code = main(["--db", str(db_path), *args])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return run


@pytest.fixture
def shop_cli(cli, db_path):
    """Stores S1 and S2, an owner, a staff member of S1, and two products (products have no CLI command)."""
    assert cli("init")[0] == 0
    assert cli("store", "add", "S1", "Main Street")[0] == 0
    assert cli("store", "add", "S2", "Market Road")[0] == 0
    assert cli("user", "add", "owner@shop.test", "--role", "owner", "--name", "Olivia")[0] == 0
    assert cli("user", "add", "staff@shop.test", "--role", "staff", "--store", "S1")[0] == 0
    db = open_db(str(db_path))
    create_product(db, SYSTEM, "MILK-1L", "Toned Milk 1 L", "Dairy", "56.00", 20, vendor="Amul")
    create_product(db, SYSTEM, "SOAP-100", "Neem Soap", "Personal care", "35.50", 10)
    db.close()
    return cli


def _subprocess(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    # never the test process's database; ``env`` may name one (else the CLI's default, data/inventory.duckdb)
    full_env = {**{k: v for k, v in os.environ.items() if k != "INVENTORY_DB"}, "INVENTORY_LOG_LEVEL": "ERROR"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


# ---- init, store, user ----------------------------------------------------------------------------------------


def test_init__creates_then_is_idempotent(cli, db_path):
    code, out, _ = cli("init")
    assert code == 0 and "is ready (schema version" in out and db_path.exists()
    assert cli("init")[0] == 0


def test_store_add__duplicate_is_a_refusal_with_a_sentence(shop_cli):
    code, _, err = shop_cli("store", "add", "s1", "Again")
    assert code == 1
    assert err.strip() == "error: A store with code S1 already exists."


def test_user_add__first_owner_then_staff_with_stores(shop_cli, db_path):
    db = open_db(str(db_path))
    try:
        with db.reader() as tx:
            rows = tx.all("SELECT email, role, name FROM users ORDER BY id")
    finally:
        db.close()
    assert rows == [("owner@shop.test", "owner", "Olivia"), ("staff@shop.test", "staff", "staff")]


def test_user_add__password_rules_are_refusals(cli, monkeypatch):
    cli("init")
    monkeypatch.setenv("INVENTORY_PASSWORD", "short")
    code, _, err = cli("user", "add", "a@shop.test", "--role", "owner")
    assert code == 1 and "at least 8 characters" in err


def test_user_add__without_a_password_source_is_a_usage_error(cli, monkeypatch):
    monkeypatch.delenv("INVENTORY_PASSWORD")
    with open(os.devnull) as not_a_terminal:
        monkeypatch.setattr(sys, "stdin", not_a_terminal)
        code, _, err = cli("user", "add", "a@shop.test", "--role", "owner")
    assert code == 2 and "INVENTORY_PASSWORD" in err


def test_user_add__staff_may_not_add_users(shop_cli):
    code, _, err = shop_cli("user", "add", "x@shop.test", "--role", "owner", "--as", "staff@shop.test")
    assert code == 1 and "Only the owner can manage user accounts." in err


def test_user_add__first_owner_with_an_unknown_store_creates_nothing(db_target, capsys, monkeypatch):
    """One transaction: on an empty database a refused store leaves no owner (and no half-made setup) behind."""
    monkeypatch.setenv("INVENTORY_PASSWORD", "cli password 1")
    code = main(["--db", db_target, "user", "add", "boss@x.com", "--role", "owner", "--store", "NOPE"])
    err = capsys.readouterr().err
    assert code == 1 and "NOPE" in err and "Traceback" not in err
    db = open_db(db_target)
    try:
        with db.reader() as tx:
            assert tx.scalar("SELECT count(*) FROM users") == 0
            assert tx.scalar("SELECT count(*) FROM settings WHERE key = 'owner_created'") == 0
    finally:
        db.close()
    assert main(["--db", db_target, "store", "add", "S1", "Main"]) == 0
    assert main(["--db", db_target, "user", "add", "boss@x.com", "--role", "owner", "--store", "S1"]) == 0


def _lock_out(db_target, email, client="203.0.113.9"):
    """Lock ``email`` out from ``client`` and slow every new client down (as a guessing run would)."""
    from core.base.errors import AuthError
    from core.domain import signin_throttle
    from core.domain.signin import authenticate

    db = open_db(db_target)
    try:
        for n in range(signin_throttle.throttle_settings().free_failures):
            with pytest.raises(AuthError):
                authenticate(db, email, "wrong guess 1", client=f"192.0.2.{n}")
        with pytest.raises(AuthError, match="wait"):
            authenticate(db, email, "cli password 1", client=client)
    finally:
        db.close()


def _can_sign_in(db_target, email, password, client="203.0.113.9"):
    from core.base.errors import AuthError
    from core.domain.signin import authenticate

    db = open_db(db_target)
    try:
        return authenticate(db, email, password, client=client).email == email
    except AuthError:
        return False
    finally:
        db.close()


def _audit(db_target, action):
    db = open_db(db_target)
    try:
        with db.reader() as tx:
            return tx.all("SELECT actor, entity_id, outcome FROM audit WHERE action = $1 ORDER BY id", [action])
    finally:
        db.close()


@pytest.fixture
def owner_cli(db_target, capsys, monkeypatch):
    """``main`` on a fresh database of either engine with one owner (password ``cli password 1``)."""
    monkeypatch.setenv("INVENTORY_PASSWORD", "cli password 1")

    def run(*args: str):
        capsys.readouterr()
        code = main(["--db", db_target, *args])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    assert run("user", "add", "boss@x.com", "--role", "owner")[0] == 0
    assert run("store", "add", "S1", "Main")[0] == 0
    assert run("user", "add", "staff@x.com", "--role", "staff", "--store", "S1")[0] == 0
    return run


def test_user_unlock__an_owner_locked_out_of_the_web_gets_back_in(owner_cli, db_target):
    _lock_out(db_target, "boss@x.com")
    assert not _can_sign_in(db_target, "boss@x.com", "cli password 1")
    code, out, _ = owner_cli("user", "unlock", "BOSS@x.com")
    assert code == 0 and "Unlocked boss@x.com" in out
    assert _can_sign_in(db_target, "boss@x.com", "cli password 1")
    assert _audit(db_target, "user.unlock") == [("cli", "boss@x.com", "ok")]


def test_user_set_password__sets_unlocks_and_is_audited(owner_cli, db_target, monkeypatch):
    _lock_out(db_target, "boss@x.com")
    monkeypatch.setenv("INVENTORY_PASSWORD", "a new owner pass 2")
    code, out, _ = owner_cli("user", "set-password", "boss@x.com")
    assert code == 0 and "Set a new password for boss@x.com" in out
    assert _can_sign_in(db_target, "boss@x.com", "a new owner pass 2")
    assert not _can_sign_in(db_target, "boss@x.com", "cli password 1")
    assert _audit(db_target, "user.reset_password") == [("cli", "boss@x.com", "ok")]


def test_user_set_password__refusals(owner_cli, monkeypatch):
    monkeypatch.setenv("INVENTORY_PASSWORD", "short")
    code, _, err = owner_cli("user", "set-password", "boss@x.com")
    assert code == 1 and "at least 8 characters" in err
    monkeypatch.setenv("INVENTORY_PASSWORD", "long enough 1")
    code, _, err = owner_cli("user", "set-password", "ghost@x.com")
    assert code == 1 and "There is no user" in err
    code, _, err = owner_cli("user", "set-password", "boss@x.com", "--as", "staff@x.com")
    assert code == 1 and "Only the owner can manage user accounts." in err
    code, _, err = owner_cli("user", "unlock", "boss@x.com", "--as", "staff@x.com")
    assert code == 1 and "Only the owner can manage user accounts." in err
    monkeypatch.delenv("INVENTORY_PASSWORD")
    with open(os.devnull) as not_a_terminal:
        monkeypatch.setattr(sys, "stdin", not_a_terminal)
        code, _, err = owner_cli("user", "set-password", "boss@x.com")
    assert code == 2 and "INVENTORY_PASSWORD" in err


def test_rotate_secret__new_key_every_session_ends_audited(owner_cli, db_target):
    from datetime import UTC, datetime

    from core.base.errors import AuthError
    from core.db.schema import get_setting
    from core.domain.sessions import session_actor

    db = open_db(db_target)
    try:
        key, began = get_setting(db, "cookie_secret"), datetime.now(UTC)
        assert session_actor(db, "staff@x.com", began).email == "staff@x.com"
    finally:
        db.close()
    code, out, _ = owner_cli("rotate-secret")
    assert code == 0 and "every session ended (2 accounts" in out
    db = open_db(db_target)
    try:
        assert get_setting(db, "cookie_secret") != key
        with pytest.raises(AuthError, match="session has ended"):
            session_actor(db, "staff@x.com", began)
    finally:
        db.close()
    assert _audit(db_target, "auth.rotate_secret") == [("cli", "cookie_secret", "ok")]
    code, _, err = owner_cli("rotate-secret", "--as", "staff@x.com")
    assert code == 1 and "Only the owner can use the system tools." in err


# ---- record ---------------------------------------------------------------------------------------------------


def test_record__stock_in_sale_removal_with_json(shop_cli):
    code, out, _ = shop_cli(
        "record", "stock-in", "--store", "S1", "--sku", "MILK-1L", "--qty", "40", "--vendor", "Amul", "--json"
    )
    assert code == 0
    result = json.loads(out)
    assert result["movements"][0] | {"id": 0} == {
        "id": 0,
        "store": "S1",
        "sku": "MILK-1L",
        "kind": "stock_in",
        "delta": 40,
        "quantity_after": 40,
        "version": 2,
    }
    code, out, _ = shop_cli(
        "record", "sale", "--store", "S1", "--sku", "MILK-1L", "--qty", "3", "--as", "staff@shop.test", "--json"
    )
    assert code == 0 and json.loads(out)["movements"][0]["quantity_after"] == 37
    code, out, _ = shop_cli(
        "record", "removal", "--store", "S1", "--sku", "MILK-1L", "--qty", "2", "--reason", "damaged"
    )
    assert code == 0 and out.strip() == "removal MILK-1L in S1: -2, now 35 on hand."


def test_record__a_repeated_op_id_is_applied_once(shop_cli):
    args = ("record", "stock-in", "--store", "S1", "--sku", "MILK-1L", "--qty", "5", "--op-id", "paper-slip-7")
    assert shop_cli(*args)[0] == 0
    code, out, _ = shop_cli(*args)
    assert code == 0 and "nothing new was written" in out
    code, out, _ = shop_cli("kpis", "--json")
    assert json.loads(out)["total_units"] == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("record", "sale", "--store", "S1", "--sku", "MILK-1L", "--qty", "1"),
            "Not enough stock of MILK-1L in store S1: 1 requested, 0 available.",
        ),
        (
            ("record", "stock-in", "--store", "S9", "--sku", "MILK-1L", "--qty", "1"),
            "There is no store with code 'S9'.",
        ),
        (
            ("record", "stock-in", "--store", "S1", "--sku", "NOPE", "--qty", "1"),
            "There is no product with SKU 'NOPE'.",
        ),
        (
            ("record", "stock-in", "--store", "S2", "--sku", "MILK-1L", "--qty", "1", "--as", "staff@shop.test"),
            "You are not assigned to store S2.",
        ),
        (
            ("record", "stock-in", "--store", "S1", "--sku", "MILK-1L", "--qty", "1", "--as", "ghost@shop.test"),
            "This account does not exist or is deactivated.",
        ),
    ],
)
def test_record__refusals_exit_1_with_one_sentence(shop_cli, args, message):
    code, _, err = shop_cli(*args)
    assert code == 1
    assert err.strip() == f"error: {message}"


def test_record__json_refusal_prints_an_error_object(shop_cli):
    code, out, _ = shop_cli("record", "sale", "--store", "S1", "--sku", "SOAP-100", "--qty", "2", "--json")
    assert code == 1
    assert json.loads(out) == {
        "ok": False,
        "error": "Not enough stock of SOAP-100 in store S1: 2 requested, 0 available.",
    }


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("explode",),
        ("record", "sale", "--store", "S1", "--sku", "MILK-1L", "--qty", "0"),
        ("record", "sale", "--store", "S1", "--sku", "MILK-1L", "--qty", "abc"),
        ("record", "sale", "--sku", "MILK-1L", "--qty", "1"),
        ("record", "refund", "--store", "S1", "--sku", "MILK-1L", "--qty", "1"),
        ("record", "removal", "--store", "S1", "--sku", "MILK-1L", "--qty", "1"),  # no --reason
        ("user", "add", "x@shop.test", "--role", "admin"),
        ("kpis", "--store"),
    ],
)
def test_usage_errors__exit_2(cli, args):
    code, _, err = cli(*args)
    assert code == 2
    assert err.strip()


def test_usage_error__writes_nothing(shop_cli, db_path):
    shop_cli("record", "removal", "--store", "S1", "--sku", "MILK-1L", "--qty", "1")
    db = open_db(str(db_path))
    try:
        with db.reader() as tx:
            assert tx.scalar("SELECT count(*) FROM movements") == 0
    finally:
        db.close()


# ---- kpis, check, backup ----------------------------------------------------------------------------------------


def test_kpis__json_has_the_spec_keys(shop_cli):
    shop_cli("record", "stock-in", "--store", "S1", "--sku", "MILK-1L", "--qty", "10")
    shop_cli("record", "stock-in", "--store", "S2", "--sku", "SOAP-100", "--qty", "4")
    code, out, _ = shop_cli("kpis", "--json")
    kpis = json.loads(out)
    assert code == 0
    assert {"total_skus", "total_units", "stock_value", "low_stock", "out_of_stock"} <= set(kpis)
    assert (kpis["total_units"], kpis["stock_value"], kpis["low_stock"]) == (14, 702.0, 2)
    code, out, _ = shop_cli("kpis", "--store", "S2", "--json")
    assert json.loads(out)["total_units"] == 4
    code, out, _ = shop_cli("kpis", "--as", "staff@shop.test")
    assert code == 0 and "total units: 10" in out


def test_check__json_ok_then_exit_1_listing_problems(shop_cli, db_path):
    shop_cli("record", "stock-in", "--store", "S1", "--sku", "MILK-1L", "--qty", "10")
    code, out, _ = shop_cli("check", "--json")
    assert (code, json.loads(out)) == (0, {"ok": True, "problems": []})
    db = open_db(str(db_path))
    with db.transaction() as tx:
        tx.execute("UPDATE stock SET quantity = 11")
    db.close()
    code, out, _ = shop_cli("check", "--json")
    result = json.loads(out)
    assert code == 1 and result["ok"] is False
    assert "stock differs from the ledger: S1, MILK-1L, 11, 10" in result["problems"]
    code, out, _ = shop_cli("check")
    assert code == 1 and "stock differs from the ledger" in out


def test_backup__writes_a_copy_with_the_same_rows(shop_cli, db_path, tmp_path):
    shop_cli("record", "stock-in", "--store", "S1", "--sku", "MILK-1L", "--qty", "10")
    code, out, _ = shop_cli("backup", str(tmp_path / "backups"))
    assert code == 0 and out.startswith("Backup written to ")
    (copy_path,) = (tmp_path / "backups").glob("inventory-*.duckdb")
    tables = ("stores", "products", "stock", "movements", "users", "user_stores", "vendors")
    contents = []
    for path in (db_path, copy_path):
        db = open_db(str(path))
        with db.reader() as tx:
            contents.append({t: table_rows(tx, t) for t in tables})
        db.close()
    assert contents[0] == contents[1]
    assert contents[1]["movements"]


def test_backup__staff_are_refused(shop_cli, tmp_path):
    code, _, err = shop_cli("backup", str(tmp_path / "b"), "--as", "staff@shop.test")
    assert code == 1 and "Only the owner can use the system tools." in err


# ---- help documents every command of the core issue --------------------------------------------------------------

SPEC_COMMANDS = {
    "init": [],
    "user add": ["--role", "--name", "--store", "INVENTORY_PASSWORD"],
    "store add": ["CODE", "NAME"],
    "demo": ["--stores", "--products", "--days", "--seed"],
    "record": ["stock-in", "sale", "removal", "--store", "--sku", "--qty", "--reason", "--as", "--json"],
    "kpis": ["--store", "--json"],
    "check": ["--json"],
    "backup": ["DIR"],
}


def test_help__lists_every_command_of_the_spec():
    result = _subprocess("--help")
    assert result.returncode == 0
    for command in SPEC_COMMANDS:
        assert command.split()[0] in result.stdout, command
    assert "--db" in result.stdout


@pytest.mark.parametrize("command", sorted(SPEC_COMMANDS))
def test_help__documents_each_commands_options(command, capsys):
    assert main([*command.split(), "--help"]) == 0
    text = capsys.readouterr().out
    if command == "user add":  # the password source is documented on the group
        main(["user", "--help"])
        text += capsys.readouterr().out
    for word in SPEC_COMMANDS[command]:
        assert word in text or word.lower() in text, f"{command} --help does not mention {word}"


def test_parser__has_no_undocumented_command():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    helps = {c.dest: c.help for c in sub._choices_actions}
    assert all(helps.values()), helps


# ---- real processes ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_subprocess__a_whole_session(tmp_path):
    db = str(tmp_path / "inv.duckdb")
    env = {"INVENTORY_PASSWORD": "owner password"}
    assert _subprocess("--db", db, "init").returncode == 0
    assert _subprocess("--db", db, "store", "add", "S1", "Main").returncode == 0
    assert _subprocess("--db", db, "user", "add", "o@shop.test", "--role", "owner", env=env).returncode == 0
    seeded = open_db(db)
    create_product(seeded, SYSTEM, "TEA", "Tea", "Drinks", "10")
    seeded.close()
    done = _subprocess(
        "--db", db, "record", "stock-in", "--store", "S1", "--sku", "TEA", "--qty", "3", "--as", "o@shop.test", "--json"
    )
    assert done.returncode == 0 and json.loads(done.stdout)["movements"][0]["quantity_after"] == 3
    refused = _subprocess("--db", db, "record", "sale", "--store", "S1", "--sku", "TEA", "--qty", "4")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: Not enough stock of TEA in store S1: 4 requested, 3 available."
    usage = _subprocess("--db", db, "record", "sale", "--store", "S1")
    assert usage.returncode == 2 and "required" in usage.stderr
    kpis = _subprocess("--db", db, "kpis", "--json")
    assert json.loads(kpis.stdout)["stock_value"] == 30.0
    env_db = _subprocess("check", "--json", env={"INVENTORY_DB": db})
    assert json.loads(env_db.stdout) == {"ok": True, "problems": []}
    for result in (done, refused, usage, kpis, env_db):
        assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_writing_while_another_process_holds_the_file__exits_1_naming_it(shop_cli, db_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)",
            str(db_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        code, _, err = shop_cli("record", "stock-in", "--store", "S1", "--sku", "MILK-1L", "--qty", "1")
        assert code == 1
        assert f"process {holder.pid}" in err
        assert err.startswith("error: The database is in use by")
        result = _subprocess("--db", str(db_path), "store", "add", "S3", "Third")
        assert result.returncode == 1 and f"process {holder.pid}" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        holder.kill()
        holder.wait()
    assert shop_cli("record", "stock-in", "--store", "S1", "--sku", "MILK-1L", "--qty", "1")[0] == 0


def test_unopenable_database_path__is_a_sentence(capsys):
    code = main(["--db", "/proc/no-such-dir/inv.duckdb", "init"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: Cannot open the database") and "Traceback" not in err
