"""The real-browser harness: Playwright (sync API) driving Debian Chromium against ``streamlit run app.py``.

Every test here is marked ``browser`` (added automatically for files in this folder; mark them anyway).

Fixtures
--------
``app_server_factory``
    ``start(seed=seed_shop, *, env=None, database=None) -> AppServer``. Creates a temporary DuckDB file, runs
    ``seed(db)`` through core on it (DuckDB allows one process per file, so seeding happens BEFORE the server
    starts and the file is closed again), then starts ``streamlit run app.py --server.headless true --server.port
    <free> --server.address 127.0.0.1`` in its own process group with env ``INVENTORY_DB`` pointing at the file,
    and waits until ``/healthz`` answers 200. Pass ``seed=None`` for an empty database (first run: setup page).
    With ``database`` (e.g. a ``postgresql://`` URL from the ``pg_server`` fixture) no file is made: that target is
    seeded (only when ``seed`` is not ``None``) and becomes ``INVENTORY_DB``; several servers may share it (seed it
    once, then start the others with ``seed=None``). Creating and dropping that database is the caller's job.
    Every server started is stopped after the test (SIGTERM to the process group, then SIGKILL).
    ``AppServer`` has ``url``, ``target`` (what ``core.open_db`` opens: the file or the URL), ``db_path`` (the
    DuckDB file; ``None`` with ``database``), ``log_path``, ``started_seconds`` (spawn to healthy) and ``log()``.
``app_server``
    ``app_server_factory()`` with ``seed_shop``: stores S1 "Main Street" and S2 "Market Road"; the owner
    ``OWNER_EMAIL`` and staff ``STAFF_EMAIL`` (store S1 only), both with password ``PASSWORD``; products
    RICE-5KG (30 in S1), MILK-1L (100 in S1), SOAP-100 (8 in S1). Constants come from ``tests/conftest.py``.
``browser`` (session scope)
    Chromium from ``/usr/bin/chromium`` launched with the flags of STACK_NOTES. Without Chromium or Playwright
    the browser tests are skipped with the reason shown; with env ``CI=true`` they fail instead.
``page``
    A fresh browser context (own cookies) and page per test, default timeout 60 s (``expect`` retries as long).
    For a second user at the same time open another context: ``browser.new_context().new_page()``.

Helpers
-------
``wait_idle(page)``: wait until the Streamlit script is not running
(``[data-testid="stApp"][data-test-script-state="notRunning"]``). ``sign_in(page, email, password)``: fill the
sign-in form, submit, and wait until the app is drawn for the signed-in user (the sidebar's "Sign out").
``open_page(page, server, path)``: go to ``server.url + path`` and wait until idle. ``login_cookie(page, email)``
and ``wait_for_login_cookie(page, email)``: the login cookie the browser holds (decoded ``username`` matched).

Run: ``python -m pytest tests/browser -q`` (``-m browser`` selects them in a full run).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core import open_db
from core.db import Database
from core.domain.sessions import COOKIE_PREFIX
from tests.conftest import OWNER_EMAIL, PASSWORD, ROOT, STAFF_EMAIL, seed_shop

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
START_TIMEOUT = 60.0
PORT_ATTEMPTS = 3
# Generous bounds, not pauses: a wait returns as soon as its condition holds. Under `-n auto` another worker's
# tests share the cores, and a Streamlit rerun on a busy 2-core machine can take well over Playwright's defaults.
DEFAULT_TIMEOUT_MS = 60_000

__all__ = [
    "IDLE",
    "OWNER_EMAIL",
    "PASSWORD",
    "STAFF_EMAIL",
    "AppServer",
    "act_and_wait_run",
    "open_page",
    "seed_shop",
    "sign_in",
    "wait_idle",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            # A real browser on a shared 2-core machine can miss a redraw by a few seconds: a Playwright time-out
            # (only that, never a failed assertion) gets one more try, reported as a rerun in the summary.
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2, only_rerun=["TimeoutError"]))


def _unavailable(reason: str) -> None:
    """Skip with a visible reason locally; fail under CI, where the browser suite must run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


# ---- seeding and the server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class AppServer:
    """One running ``streamlit run app.py`` on a loopback port, on its own DuckDB file (``db_path``) or on a given
    database target (``db_path`` is then ``None``). ``target`` is the string ``core.open_db`` opens either way."""

    url: str
    db_path: Path | None
    log_path: Path
    process: subprocess.Popen[bytes]
    started_seconds: float = 0.0
    target: str = ""
    _log_file: Any = field(default=None, repr=False)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_server(
    directory: Path,
    seed: Callable[[Database], None] | None = seed_shop,
    env: dict[str, str] | None = None,
    *,
    database: str | None = None,
) -> AppServer:
    """Seed a new database in ``directory`` (through core, then closed), start the app on it, wait until healthy.

    With ``database`` the app runs on that target instead (``directory`` then holds just the log), seeded first
    only when ``seed`` is given."""
    directory.mkdir(parents=True, exist_ok=True)
    db_path = None if database else directory / "inventory.duckdb"
    target = database or str(db_path)
    db = open_db(target)
    try:
        if seed is not None:
            seed(db)
    finally:
        db.close()
    child_env = {**os.environ, "INVENTORY_DB": target, "INVENTORY_LOG_LEVEL": "INFO", **(env or {})}
    # A free port can be taken by another process (another xdist worker's server) between our probe and
    # streamlit's bind: streamlit then exits saying so, and another port is tried.
    for attempt in range(PORT_ATTEMPTS):
        server = _spawn(directory / "server.log", child_env, db_path, target)
        if server is not None:
            return server
        if attempt == PORT_ATTEMPTS - 1:
            pytest.fail(f"no free port for streamlit in {PORT_ATTEMPTS} tries", pytrace=False)
    raise AssertionError("unreachable")


def _spawn(log_path: Path, child_env: dict[str, str], db_path: Path | None, target: str) -> AppServer | None:
    """Start ``streamlit run app.py`` on a free port and wait until healthy; ``None`` when the port was taken."""
    port = free_port()
    log_file = log_path.open("wb")
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=child_env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = AppServer(f"http://127.0.0.1:{port}", db_path, log_path, process, target=target, _log_file=log_file)
    deadline = started + START_TIMEOUT
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            server.stop()
            if f"Port {port} is not available" in server.log():
                return None
            pytest.fail(f"streamlit exited with code {process.returncode}:\n{server.log()[-3000:]}", pytrace=False)
        if _healthy(server.url):
            server.started_seconds = time.perf_counter() - started
            return server
        time.sleep(0.1)
    server.stop()
    pytest.fail(f"streamlit did not become healthy in {START_TIMEOUT:.0f} s:\n{server.log()[-3000:]}", pytrace=False)
    raise AssertionError("unreachable")


@pytest.fixture
def app_server_factory(tmp_path: Path) -> Iterator[Callable[..., AppServer]]:
    servers: list[AppServer] = []

    def start(
        seed: Callable[[Database], None] | None = seed_shop,
        *,
        env: dict[str, str] | None = None,
        database: str | None = None,
    ) -> AppServer:
        server = start_server(tmp_path / f"server{len(servers)}", seed, env, database=database)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def app_server(app_server_factory: Callable[..., AppServer]) -> AppServer:
    return app_server_factory()


# ---- the browser --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -r requirements-dev.txt)")
    from playwright.sync_api import expect

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)  # `expect` retries for 5 s by default: as long as any wait
    with sync_playwright() as p:
        try:
            launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:
            _unavailable(f"Chromium did not start: {exc}")
        plain_context = launched.new_context

        def patient_context(*args: Any, **kwargs: Any) -> Any:
            """Every context a test opens waits ``DEFAULT_TIMEOUT_MS`` (Playwright's own default is 30 s)."""
            context = plain_context(*args, **kwargs)
            context.set_default_timeout(DEFAULT_TIMEOUT_MS)
            return context

        launched.new_context = patient_context
        yield launched
        launched.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A page in a fresh context. When the test fails, a screenshot is saved and its path printed."""
    context = browser.new_context()
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    if request.node.stash.get(_CALL_FAILED, False):
        shot = tmp_path / "failure.png"
        try:
            tab.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot of the failing page: {shot} (url {tab.url})")
        except Exception as exc:  # the page may be gone with the failure
            print(f"\nno screenshot: {exc}")
    context.close()


def wait_idle(page: Any, timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
    """Wait until Streamlit has finished running the script for this page."""
    page.wait_for_selector(IDLE, timeout=timeout_ms)


RUN_COUNTER = """() => {
    if (window.__scriptStateChanges === undefined) {
        window.__scriptStateChanges = 0;
        const app = document.querySelector('[data-testid="stApp"]');
        new MutationObserver((changes) => { window.__scriptStateChanges += changes.length; })
            .observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
    }
    return window.__scriptStateChanges;
}"""


def act_and_wait_run(page: Any, action: Callable[[], Any], timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
    """Do ``action`` (a click, a key press) and wait until the script run it causes has started and ended. Reading
    the page right after a click races the run: until it starts the page still shows the previous run's answer
    (``wait_idle`` alone returns at once). A MutationObserver counts every change of the script state, so even a
    run that starts and ends between two polls is seen."""
    before = page.evaluate(RUN_COUNTER)
    action()
    page.wait_for_function("n => window.__scriptStateChanges > n", arg=before, timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def open_page(page: Any, server: AppServer, path: str = "/") -> None:
    page.goto(server.url + path)
    wait_idle(page)


def login_cookie(page: Any, email: str | None = None) -> dict[str, Any] | None:
    """The browser's login cookie (for ``email`` when given), or ``None``."""
    for cookie in page.context.cookies():
        if not cookie["name"].startswith(COOKIE_PREFIX):
            continue
        try:
            payload = cookie["value"].split(".")[1]
            username = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["username"]
        except (IndexError, ValueError, KeyError):
            continue
        if email is None or username == email.lower():
            return cookie
    return None


def wait_for_login_cookie(page: Any, email: str, timeout_s: float = DEFAULT_TIMEOUT_MS / 1000) -> dict[str, Any]:
    """Wait until the browser holds the login cookie of ``email`` (issued in the run after sign-in)."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        cookie = login_cookie(page, email)
        if cookie is not None:
            return cookie
        page.wait_for_timeout(50)
    raise AssertionError(f"no login cookie for {email} after {timeout_s:.0f} s")


def sign_in(page: Any, email: str, password: str) -> None:
    """Fill the sign-in form, submit it, and wait until the signed-in app is drawn and its login cookie is set
    (so a following ``page.goto`` or reload stays signed in)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    signed_in = page.get_by_role("button", name="Sign out")
    refused = page.locator('[data-testid="stAlertContentError"]')
    # A rerun still in flight (e.g. right after the setup page) can redraw the form between our typing and the
    # click, submitting it empty; a redrawn, still-empty form is simply filled again (at most three times).
    for attempt in range(3):
        wait_idle(page)
        page.get_by_role("textbox", name="Email").fill(email)
        page.get_by_role("textbox", name="Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        try:
            signed_in.or_(refused).first.wait_for(timeout=DEFAULT_TIMEOUT_MS / 3)
            break
        except PlaywrightTimeout:
            try:
                form_is_back_empty = page.get_by_role("textbox", name="Email").input_value(timeout=1000) == ""
            except PlaywrightTimeout:
                form_is_back_empty = False
            if attempt == 2 or not form_is_back_empty:
                signed_in.or_(refused).first.wait_for()
                break
    if not signed_in.is_visible():
        raise AssertionError(f"sign-in of {email} refused: {refused.first.inner_text()}")
    wait_idle(page)
    wait_for_login_cookie(page, email)
