"""A real, throwaway PostgreSQL server for the tests and benchmarks: Debian's binaries, a cluster in a temporary
directory, run as an ordinary user, listening on 127.0.0.1 at a free port, gone when stopped.

``initdb`` refuses to run as root; as root the cluster is made and run by the ``postgres`` system user (the
Debian package creates it). Durability is switched off (``fsync=off``): these clusters hold test data only.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SUPERUSER = "inventory"
PORT_ATTEMPTS = 3


def find_bin_dir() -> Path | None:
    """The folder of ``initdb``/``pg_ctl``: env ``PG_BIN``, else Debian's newest, else the PATH."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if debian:
        return Path(debian[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """A running cluster: ``url`` reaches its ``postgres`` database as the superuser."""

    directory: Path
    port: int
    bin_dir: Path
    as_user: list[str]
    _owned_dir: bool = True
    _count: int = field(default=0)

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_user, str(self.bin_dir / "pg_ctl"), "-D", str(self.directory / "data"), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    def sql(self, statement: str, database: str = "postgres") -> None:
        """Run one statement in autocommit (CREATE/DROP DATABASE cannot run in a transaction)."""
        import psycopg

        with psycopg.connect(self.url_for(database), autocommit=True) as conn:
            conn.execute(statement)

    def new_database(self, template: str | None = None, *, name: str | None = None) -> str:
        """A fresh database (a copy of ``template`` if given; named ``name`` or a unique name); returns its URL."""
        self._count += 1
        name = name or f"t{os.getpid()}_{self._count}"
        self.sql(f"CREATE DATABASE {name}" + (f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""))
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        self._ctl("stop", "-m", "immediate", "-w")
        if self._owned_dir:
            shutil.rmtree(self.directory, ignore_errors=True)


def start(directory: Path | None = None) -> PgServer:
    """initdb + start a cluster; raises RuntimeError with the server's words when it cannot."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL's binaries (initdb, pg_ctl) are not installed: apt-get install -y postgresql")
    owned = directory is None
    base = Path(tempfile.mkdtemp(prefix="inventory-pg-")) if directory is None else directory
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres", "postgres")
        os.chmod(base, 0o700)
    data = base / "data"
    init = subprocess.run(
        [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "-N"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
    # A free port can be taken by another process (another xdist worker's cluster or app server) between our
    # probe and the server's bind: then the start fails with "could not bind", and another port is tried.
    for attempt in range(PORT_ATTEMPTS):
        server = PgServer(base, _free_port(), bin_dir, as_user, _owned_dir=owned)
        options = (
            f"-p {server.port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB"
        )
        log_path = base / "server.log"
        log_path.unlink(missing_ok=True)
        started = server._ctl("-o", options, "-l", str(log_path), "-w", "-t", "60", "start")
        if started.returncode == 0:
            return server
        log = log_path.read_text(errors="replace") if log_path.exists() else ""
        if "could not bind" not in log or attempt == PORT_ATTEMPTS - 1:
            raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()} {log[-2000:]}")
    raise AssertionError("unreachable")


def with_password(url: str, password: str) -> str:
    """``url`` with a password in it (for tests that check it is never shown)."""
    parts = urlsplit(url)
    netloc = f"{parts.username}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
