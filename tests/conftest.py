"""Shared fixtures: a fresh temporary database per test, the two roles, and a small seeded shop."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import pytest

from core import open_db
from core.catalog import add_store, create_product
from core.db import Database
from core.permissions import SYSTEM, Actor
from core.users import actor_for, add_user

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "samples"
OWNER_EMAIL, STAFF_EMAIL = "owner@shop.test", "staff@shop.test"
PASSWORD = "correct horse 42"

os.environ.setdefault("INVENTORY_LOG_LEVEL", "ERROR")
REAL_GENSALT = bcrypt.gensalt


@pytest.fixture(autouse=True)
def _fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """bcrypt at cost 4 instead of 12 while testing (the same algorithm; ~0.5 s -> 2 ms a hash).
    test_users checks the real default cost with ``REAL_GENSALT``."""
    monkeypatch.setattr(bcrypt, "gensalt", lambda rounds=4, prefix=b"2b": REAL_GENSALT(4, prefix))


def _clear_streamlit_caches() -> None:
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def app_db(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Pages open the test database (env INVENTORY_DB); Streamlit's caches start and end empty."""
    monkeypatch.setenv("INVENTORY_DB", str(db_path))
    monkeypatch.delenv("INVENTORY_BACKUP_DIR", raising=False)
    _clear_streamlit_caches()
    yield db_path
    _clear_streamlit_caches()


def run_page(page: str, actor: Actor | None, *, timeout: float = 30, **state: Any) -> Any:
    """Run ``pages/<page>`` once in AppTest as ``actor`` (``None``: nobody signed in) with ``state`` preset."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=timeout)
    if actor is not None:
        at.session_state["actor"] = actor
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def metrics(at: Any) -> dict[str, str]:
    """An AppTest's metric tiles, label -> value."""
    return {m.label: m.value for m in at.metric}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "inventory.duckdb"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    """A fresh, migrated, empty database in a temporary file."""
    database = open_db(str(db_path))
    yield database
    database.close()


def seed_shop(db: Database, *, users: bool = True) -> Database:
    """Two stores (S1, S2), three products with stock in S1, and (``users``) an owner and a staff member of S1
    only, all through core. The shop every test file and the browser harness start from."""
    from core.stock import stock_in

    add_store(db, SYSTEM, "S1", "Main Street")
    add_store(db, SYSTEM, "S2", "Market Road")
    if users:
        add_user(db, SYSTEM, OWNER_EMAIL, PASSWORD, "owner", name="Olivia Owner")
        add_user(db, SYSTEM, STAFF_EMAIL, PASSWORD, "staff", name="Sam Staff", stores=["S1"])
    create_product(db, SYSTEM, "RICE-5KG", "Basmati Rice 5 kg", "Staples", "450.00", 5, vendor="Daawat")
    create_product(db, SYSTEM, "MILK-1L", "Toned Milk 1 L", "Dairy", "56.00", 20, vendor="Amul")
    create_product(db, SYSTEM, "SOAP-100", "Neem Soap 100 g", "Personal care", "35.50", 10)
    stock_in(db, SYSTEM, "S1", "RICE-5KG", 30)
    stock_in(db, SYSTEM, "S1", "MILK-1L", 100)
    stock_in(db, SYSTEM, "S1", "SOAP-100", 8)
    return db


@pytest.fixture
def shop(db: Database) -> Database:
    """``seed_shop`` on a fresh database."""
    return seed_shop(db)


@pytest.fixture
def owner(shop: Database) -> Actor:
    return actor_for(shop, OWNER_EMAIL)


@pytest.fixture
def staff(shop: Database) -> Actor:
    return actor_for(shop, STAFF_EMAIL)
