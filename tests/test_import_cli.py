"""`python -m core import|export`: SPEC's JSON object, exit codes 0/1/2, and the human summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import open_db
from core.tools.cli import main
from tests.test_import_reading import DATA, seed

KEYS = {"rows", "created", "updated", "unchanged", "applied", "errors", "warnings"}  # SPEC's keys
EXTRA_KEYS = {"more_errors"}  # problems found but not listed (the report's size is capped)


@pytest.fixture
def target(tmp_path: Path) -> str:
    path = str(tmp_path / "cli.duckdb")
    db = open_db(path)
    seed(db)
    db.close()
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_import_json__applied(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--db", target, "import", str(DATA / "hindi_urdu.csv"), "--store", "S1", "--json")
    result = json.loads(out)
    assert code == 0 and set(result) == KEYS | EXTRA_KEYS and result["more_errors"] == 0
    assert (result["rows"], result["created"], result["applied"], result["errors"]) == (2, 2, True, [])


def test_import_json__row_errors_exit_1_with_every_error(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--db", target, "import", str(DATA / "negative_numbers.csv"), "--store", "S1", "--json")
    result = json.loads(out)
    assert code == 1 and result["applied"] is False
    assert [(e["line"], e["column"]) for e in result["errors"]] == [
        (2, "unit_price"),
        (3, "quantity"),
        (4, "reorder_level"),
    ]


def test_import_skip_invalid_exit_0(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--db", target, "import", str(DATA / "duplicates.csv"), "--skip-invalid", "--json"]
    code, out, _ = cli(capsys, *args)
    result = json.loads(out)
    assert code == 0 and result["applied"] is True and result["created"] == 1 and len(result["errors"]) == 2


@pytest.mark.parametrize("name", ["empty.csv", "no_sku_column.csv", "does-not-exist.csv"])
def test_import_file_level_problem_exit_2(target: str, capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, _ = cli(capsys, "--db", target, "import", str(DATA / name), "--json")
    result = json.loads(out)
    assert code == 2 and result["applied"] is False
    assert len(result["errors"]) == 1 and result["errors"][0]["line"] is None


def test_import_dry_run_writes_nothing(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--db", target, "import", str(DATA / "aliases.csv"), "--dry-run")
    assert code == 0 and "Dry run: nothing was written." in out and "1 created" in out
    code, out, _ = cli(capsys, "--db", target, "import", str(DATA / "aliases.csv"), "--json")
    assert json.loads(out)["created"] == 1  # still new: the dry run wrote nothing


def test_import_human_output_lists_errors_and_warnings(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--db", target, "import", str(DATA / "non_numeric.csv"), "--store", "S1")
    assert code == 1
    assert "line 3, quantity: Quantity must be a whole number (got 'twelve')." in out
    assert "Nothing was written" in out
    code, out, _ = cli(capsys, "--db", target, "import", str(DATA / "extra_columns.csv"))
    assert code == 0 and "warning: Column 'Colour' is not a known column and was ignored." in out


def test_import_as_unknown_user_json_is_a_refusal(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--db", target, "import", str(DATA / "aliases.csv"), "--as", "x@y.test", "--json")
    assert code == 1 and json.loads(out)["errors"][0]["line"] is None


@pytest.mark.slow
def test_export_then_import_round_trip(target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for what, fmt in (("products", "xlsx"), ("stock", "csv")):
        out_file = tmp_path / f"{what}.{fmt}"
        code, out, _ = cli(capsys, "--db", target, "export", what, "--output", str(out_file))
        assert code == 0 and out_file.exists() and f"to {out_file}" in out
        code, out, _ = cli(capsys, "--db", target, "import", str(out_file), "--json")
        result = json.loads(out)
        assert code == 0 and result["unchanged"] == result["rows"] > 0


def test_export_stock_store_filter_and_format(target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "s1.data"
    code, _, _ = cli(
        capsys, "--db", target, "export", "stock", "--store", "S1", "--format", "xlsx", "--output", str(out_file)
    )
    assert code == 0 and out_file.read_bytes().startswith(b"PK")


def test_export_errors__unknown_store_1_unwritable_path_2(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "--db", target, "export", "stock", "--store", "S9", "--output", "/tmp/x.csv")
    assert code == 1 and "no store" in err
    code, _, err = cli(capsys, "--db", target, "export", "products", "--output", "/nonexistent-dir/p.csv")
    assert code == 2 and "Cannot write" in err


def test_import_dry_run_for_a_foreign_store__refused_and_audited(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.base.permissions import SYSTEM
    from core.domain.users import add_user

    db = open_db(target)
    add_user(db, SYSTEM, "staff@shop.test", "correct horse 42", "staff", name="Sam", stores=["S1"])
    db.close()
    sheet = tmp_path / "count.csv"
    sheet.write_bytes(b"sku,quantity\nMILK-1L,5\n")
    args = ["--db", target, "import", str(sheet), "--store", "S2", "--dry-run", "--as", "staff@shop.test"]
    code, out, err = cli(capsys, *args)
    assert code == 1 and "You are not assigned to store S2." in err
    code, out, _ = cli(capsys, *args, "--json")
    assert code == 1 and json.loads(out)["errors"][0]["message"] == "You are not assigned to store S2."
    db = open_db(target)
    with db.reader() as tx:
        denied = tx.dicts("SELECT actor, action, entity_id, after FROM audit WHERE outcome = 'denied' ORDER BY id")
    db.close()
    assert [(d["actor"], d["action"], d["entity_id"]) for d in denied] == [
        ("staff@shop.test", "import.counts", "S2")
    ] * 2
    assert json.loads(denied[0]["after"])["dry_run"] is True


def test_import_lookalike_skus__refused_then_confirmed_by_the_flag(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.base.permissions import SYSTEM
    from core.domain.catalog import create_product

    db = open_db(target)
    create_product(db, SYSTEM, "00123", "Padded", "Misc", "1.00", 5)
    db.close()
    sheet = tmp_path / "saved-by-calc.csv"
    sheet.write_bytes(b"sku,name,category,unit_price\n123,Other,Misc,2.00\n")
    code, out, _ = cli(capsys, "--db", target, "import", str(sheet))
    assert code == 1 and "line 2, sku: 123 is not in the catalog, but 00123 is" in out
    assert "import again with --allow-new-like-existing" in out
    code, out, _ = cli(capsys, "--db", target, "import", str(sheet), "--allow-new-like-existing", "--json")
    assert code == 0 and json.loads(out)["created"] == 1


def test_import_human_output_says_how_many_problems_were_not_listed(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVENTORY_IMPORT_MAX_REPORTED_PROBLEMS", "2")
    sheet = tmp_path / "dups.csv"
    sheet.write_bytes(b"sku,quantity\n" + b"DUP-1,1\n" * 50)
    code, out, _ = cli(capsys, "--db", target, "import", str(sheet), "--store", "S1")
    assert code == 1 and "50 with errors" in out
    assert out.count("line ") == 2 and "48 more problems were not listed (only the first 2 are)" in out
    code, out, _ = cli(capsys, "--db", target, "import", str(sheet), "--store", "S1", "--json")
    result = json.loads(out)
    assert (len(result["errors"]), result["more_errors"]) == (2, 48)
