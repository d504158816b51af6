"""``python -m core``: a thin wrapper that turns arguments into core calls and domain errors into sentences.

Exit codes: 0 success; 1 refused or failed (nothing written); 2 usage error or unreadable input.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Sequence

from core import open_db
from core.base import observe
from core.base.errors import InventoryError, ValidationError
from core.base.validate import clean_op_id
from core.db import Database, check_target, resolve_target
from core.tools.cli_accounts import cmd_rotate_secret, cmd_user_add, cmd_user_set_password, cmd_user_unlock
from core.tools.cli_support import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, UsageError, _actor, _json

# ---- commands ---------------------------------------------------------------------------------------------


def cmd_init(db: Database, args: argparse.Namespace) -> int:
    from core.db.schema import current_version

    print(f"Database {db.label} is ready (schema version {current_version(db)}).")
    return EXIT_OK


def cmd_store_add(db: Database, args: argparse.Namespace) -> int:
    from core.domain.catalog import add_store

    store = add_store(db, _actor(db, args.as_email), args.code, args.name)
    print(f"Added store {store['code']} ({store['name']}).")
    return EXIT_OK


def cmd_demo(db: Database, args: argparse.Namespace) -> int:
    from core.tools.demo import generate

    started = time.perf_counter()
    summary = generate(db, stores=args.stores, products=args.products, days=args.days, seed=args.seed)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    if args.json:
        print(_json(summary))
    else:
        print(", ".join(f"{k}: {v}" for k, v in summary.items()))
    return EXIT_OK


def cmd_record(db: Database, args: argparse.Namespace) -> int:
    from core.domain import stock

    actor = _actor(db, args.as_email)
    if args.kind == "stock-in":
        result = stock.stock_in(
            db, actor, args.store, args.sku, args.qty, vendor=args.vendor, reason=args.reason, client_op_id=args.op_id
        )
    elif args.kind == "sale":
        result = stock.record_sale(db, actor, args.store, [(args.sku, args.qty)], client_op_id=args.op_id)
    else:
        if not args.reason:
            raise UsageError("A removal needs --reason (damaged, expired, lost or other).")
        result = stock.record_removal(db, actor, args.store, args.sku, args.qty, args.reason, client_op_id=args.op_id)
    if args.json:
        print(_json(result))
    else:
        for m in result["movements"]:
            print(f"{m['kind']} {m['sku']} in {m['store']}: {m['delta']:+d}, now {m['quantity_after']} on hand.")
        if result.get("replayed"):
            print("(already recorded earlier with this operation id: nothing new was written)")
    return EXIT_OK


def cmd_kpis(db: Database, args: argparse.Namespace) -> int:
    from core.reads.kpis import compute_kpis

    kpis = compute_kpis(db, _actor(db, args.as_email), args.store)
    if args.json:
        print(_json(kpis))
    else:
        for key, value in kpis.items():
            print(f"{key.replace('_', ' ')}: {value}")
    return EXIT_OK


def cmd_check(db: Database, args: argparse.Namespace) -> int:
    from core.domain.check import check

    result = check(db)
    if args.json:
        print(_json(result))
    else:
        print("All invariants hold." if result["ok"] else "\n".join(result["problems"]))
    return EXIT_OK if result["ok"] else EXIT_REFUSED


def cmd_backup(db: Database, args: argparse.Namespace) -> int:
    from core.domain.backup import backup

    result = backup(db, _actor(db, args.as_email), args.dir)
    print(f"Backup written to {result['path']} ({result['bytes']} bytes).")
    return EXIT_OK


def cmd_import(db: Database, args: argparse.Namespace) -> int:
    from core.sheets.importer import ImportReport, import_file

    try:
        actor = _actor(db, args.as_email)
    except InventoryError as exc:
        if not args.json:
            raise
        refused = ImportReport(str(args.file), "", errors=[{"line": None, "column": None, "message": str(exc)}])
        print(_json(refused.to_json()))
        return EXIT_REFUSED
    report = import_file(
        db,
        actor,
        args.file,
        store=args.store,
        dry_run=args.dry_run,
        skip_invalid=args.skip_invalid,
        allow_new_like_existing=args.allow_new_like_existing,
    )
    if args.json:
        print(_json(report.to_json()))
        return report.exit_code
    if report.file_error:
        print(f"error: {report.errors[0]['message']}", file=sys.stderr)
        return report.exit_code
    error_rows = report.error_rows
    print(
        f"{report.file_name}: {report.rows} rows: {report.created} created, {report.updated} updated,"
        f" {report.unchanged} unchanged, {error_rows} with errors."
    )
    for err in report.errors:
        print(f"line {err['line']}, {err['column'] or 'row'}: {err['message']}")
    if report.not_listed():
        print(report.not_listed())
    if report.lookalike_skus and not args.allow_new_like_existing:
        print("If those SKUs really are new products, import again with --allow-new-like-existing.")
    for warning in report.warnings:
        print(f"warning: {warning}")
    if args.dry_run:
        print("Dry run: nothing was written.")
    elif report.applied:
        skipped = f" ({error_rows} rows with errors were skipped)" if error_rows else ""
        print(f"Applied{skipped}.")
    else:
        print("Nothing was written: fix the errors above, or use --skip-invalid to apply the valid rows.")
    return report.exit_code


def cmd_export(db: Database, args: argparse.Namespace) -> int:
    from core.sheets.exporter import export_file

    fmt = args.format or ("xlsx" if str(args.output).lower().endswith(".xlsx") else "csv")
    try:
        result = export_file(db, _actor(db, args.as_email), args.what, args.output, store=args.store, fmt=fmt)
    except OSError as exc:
        raise UsageError(f"Cannot write {args.output}: {exc.strerror or exc}.") from exc
    print(f"Wrote {result['rows']} {args.what} rows to {result['path']}.")
    return EXIT_OK


# ---- parser -----------------------------------------------------------------------------------------------


def _positive(text: str) -> int:
    """A whole number of at least 1 in plain digits: Python's ``int`` would also take ``1_000``, `` 12 ``, ``+5``
    and other scripts' digits."""
    if not re.fullmatch(r"[0-9]+", text, re.ASCII):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (write it with the digits 0-9 only)")
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _op_id(text: str) -> str | None:
    try:
        return clean_op_id(text)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _as(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as", dest="as_email", metavar="EMAIL", help="act as this user (default: the operator)")


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m core`` parser: global options, then one subcommand (its handler is ``args.func``)."""
    parser = argparse.ArgumentParser(prog="python -m core", description="Inventory Lite command line.")
    parser.add_argument(
        "--db",
        metavar="TARGET",
        help="a DuckDB file or a postgresql:// URL (default: env INVENTORY_DB, else data/inventory.duckdb)",
    )
    parser.add_argument("--verbose", action="store_true", help="print the JSON operation log to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("init", help="create or migrate the database").set_defaults(func=cmd_init)
    _account_commands(sub)
    _shop_commands(sub)
    _file_commands(sub)
    _report_commands(sub)
    return parser


Commands = argparse._SubParsersAction  # what ``add_subparsers`` returns (argparse names no public type for it)


def _account_commands(sub: Commands) -> None:
    """``user add|unlock|set-password`` and ``rotate-secret``."""
    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    p = user.add_parser("add", help="add a user (password from env INVENTORY_PASSWORD or a prompt)")
    p.add_argument("email")
    p.add_argument("--role", choices=["owner", "staff"], required=True)
    p.add_argument("--name")
    p.add_argument("--store", action="append", default=[], metavar="CODE")
    _as(p)
    p.set_defaults(func=cmd_user_add)
    p = user.add_parser("unlock", help="clear every sign-in lock and failure count of an account")
    p.add_argument("email")
    _as(p)
    p.set_defaults(func=cmd_user_unlock)
    p = user.add_parser(
        "set-password", help="set a new password (from env INVENTORY_PASSWORD or a prompt); unlocks, ends sessions"
    )
    p.add_argument("email")
    _as(p)
    p.set_defaults(func=cmd_user_set_password)

    p = sub.add_parser("rotate-secret", help="make a new login cookie key: every session of every user ends")
    _as(p)
    p.set_defaults(func=cmd_rotate_secret)


def _shop_commands(sub: Commands) -> None:
    """``store add``, ``demo`` and ``record``."""
    store = sub.add_parser("store", help="manage stores").add_subparsers(dest="store_command", required=True)
    p = store.add_parser("add", help="add a store")
    p.add_argument("code")
    p.add_argument("name")
    _as(p)
    p.set_defaults(func=cmd_store_add)

    p = sub.add_parser("demo", help="reproducible sample data of any size")
    p.add_argument("--stores", type=_positive, default=3)
    p.add_argument("--products", type=_positive, default=200)
    p.add_argument("--days", type=_positive, default=90)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("record", help="record a stock-in, sale or removal")
    p.add_argument("kind", choices=["stock-in", "sale", "removal"])
    p.add_argument("--store", required=True, metavar="CODE")
    p.add_argument("--sku", required=True)
    p.add_argument("--qty", required=True, type=_positive, metavar="N")
    p.add_argument("--reason")
    p.add_argument("--vendor")
    p.add_argument(
        "--op-id",
        dest="op_id",
        type=_op_id,
        help="client operation id (up to 100 characters): a repeat is applied once",
    )
    p.add_argument("--json", action="store_true")
    _as(p)
    p.set_defaults(func=cmd_record)


def _file_commands(sub: Commands) -> None:
    """``import`` and ``export``."""
    p = sub.add_parser(
        "import", help="import a CSV, TSV, XLSX, XLS or ODS file (first sheet): catalog upserts by SKU and stock counts"
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--store", metavar="CODE", help="store of the counts when the file has no store column")
    p.add_argument("--dry-run", action="store_true", help="report what would happen and write nothing")
    p.add_argument("--skip-invalid", action="store_true", help="apply the valid rows even if some have errors")
    p.add_argument(
        "--allow-new-like-existing",
        action="store_true",
        help="confirm that new all-digit SKUs differing from existing ones only by leading zeros are new products",
    )
    p.add_argument("--json", action="store_true")
    _as(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export products, stock or movements as CSV or XLSX")
    p.add_argument("what", choices=["products", "stock", "movements"])
    p.add_argument("--store", metavar="CODE")
    p.add_argument("--format", choices=["csv", "xlsx"], help="default: from the output file name, else csv")
    p.add_argument("--output", required=True, metavar="FILE")
    _as(p)
    p.set_defaults(func=cmd_export)


def _report_commands(sub: Commands) -> None:
    """``kpis``, ``check`` and ``backup``."""
    p = sub.add_parser("kpis", help="key figures")
    p.add_argument("--store", metavar="CODE")
    p.add_argument("--json", action="store_true")
    _as(p)
    p.set_defaults(func=cmd_kpis)

    p = sub.add_parser("check", help="verify every invariant")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("backup", help="write a consistent copy of the database into DIR")
    p.add_argument("dir", metavar="DIR")
    _as(p)
    p.set_defaults(func=cmd_backup)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage message
        return int(exc.code or 0) and EXIT_USAGE
    observe.configure_logging("INFO" if args.verbose else os.environ.get("INVENTORY_LOG_LEVEL", "ERROR"))
    db = None
    try:
        try:
            check_target(resolve_target(args.db))
        except ValidationError as exc:
            raise UsageError(exc.message) from None
        db = open_db(args.db)
        return int(args.func(db, args))
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except InventoryError as exc:
        if getattr(args, "json", False) and args.command in ("record", "kpis"):
            print(_json({"ok": False, "error": str(exc)}))
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except Exception as exc:  # never a traceback for a person: the log has the details
        error_id = getattr(exc, "error_id", None) or "unlogged"
        # the traceback goes to the log only with --verbose: a person never sees one
        observe.logger.error(
            "unexpected error", extra={"error_id": error_id, "error": repr(exc)}, exc_info=bool(args.verbose)
        )
        print(
            f"error: something went wrong ({type(exc).__name__}, error id {error_id}); nothing was changed by it.",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    except KeyboardInterrupt:
        print("interrupted: nothing more was written", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        if db is not None:
            db.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
