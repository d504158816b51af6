"""PostgreSQL test databases handed back after a test and reset for the next one, instead of a new database each.

Copying a template database (``CREATE DATABASE ... TEMPLATE``) costs about 0.25 s of server CPU here, most of a
short PostgreSQL test. ``Recycler.take(template)`` gives a test a database with exactly the template's schema,
rows and sequence positions: a database an earlier test handed back (``give_back``), emptied and refilled with the
template's rows in one transaction, or, when none is free, a fresh copy of the template.

A handed-back database is reused only when its schema is still the template's (tables, columns, defaults,
constraints, indexes, triggers and whether they are enabled, functions, views, owners, privileges, database
settings): a test that dropped a table, disabled a trigger or revoked a privilege gets its database dropped, not
reused. Connections a test left open to it are ended first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from tests.pg_server import PgServer

SCHEMA_FINGERPRINT = """
SELECT md5(string_agg(item, E'\\n' ORDER BY item)) FROM (
    SELECT 'c ' || table_name || '.' || column_name || ' ' || data_type || ' ' || coalesce(column_default, '')
           || ' ' || is_nullable AS item
      FROM information_schema.columns WHERE table_schema = 'public'
    UNION ALL SELECT 'i ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL SELECT 'k ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL SELECT 't ' || tgrelid::regclass::text || ' ' || tgname || ' ' || tgenabled::text
      FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL SELECT 'ti ' || tgrelid::regclass::text || ' ' || tgenabled::text  -- foreign keys' own triggers
      FROM pg_trigger WHERE tgisinternal
    UNION ALL SELECT 'f ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc)
      FROM pg_proc p WHERE pronamespace = 'public'::regnamespace
    UNION ALL SELECT 'r ' || c.relname || ' ' || c.relkind::text || ' ' || c.relowner::regrole::text || ' '
           || coalesce(c.relacl::text, '')
      FROM pg_class c WHERE relnamespace = 'public'::regnamespace
    UNION ALL SELECT 'n ' || nspname || ' ' || coalesce(nspacl::text, '') FROM pg_namespace
    UNION ALL SELECT 'd ' || coalesce(array_to_string(setconfig, ','), '') FROM pg_db_role_setting
      WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
    UNION ALL SELECT 'e ' || extname FROM pg_extension
) AS schema
"""
TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
SEQUENCES = "SELECT sequencename, start_value, last_value FROM pg_sequences WHERE schemaname = 'public'"


@dataclass
class Snapshot:
    """A template's schema fingerprint, every table's rows (binary COPY) and every sequence's position."""

    fingerprint: str
    rows: dict[str, bytes] = field(default_factory=dict)
    sequences: list[tuple[str, int, int | None]] = field(default_factory=list)


def _connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


def snapshot(url: str) -> Snapshot:
    """What ``url``'s database holds (read once; the connection is closed before anyone copies the database)."""
    with _connect(url) as conn:
        taken = Snapshot(fingerprint=str(conn.execute(SCHEMA_FINGERPRINT).fetchone()[0]))  # type: ignore[index]
        for (table,) in conn.execute(TABLES).fetchall():
            with conn.cursor().copy(sql.SQL("COPY {} TO STDOUT (FORMAT binary)").format(sql.Identifier(table))) as cp:
                taken.rows[table] = b"".join(bytes(chunk) for chunk in cp)
        taken.sequences = [tuple(row) for row in conn.execute(SEQUENCES).fetchall()]  # type: ignore[misc]
    return taken


def reset(url: str, to: Snapshot) -> bool:
    """Make ``url``'s database hold exactly ``to``'s rows and sequence positions; False (nothing reset) when its
    schema is no longer ``to``'s or the reset fails."""
    try:
        with _connect(url) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if conn.execute(SCHEMA_FINGERPRINT).fetchone()[0] != to.fingerprint:  # type: ignore[index]
                return False
            with conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '5s'")
                conn.execute("SET LOCAL session_replication_role = replica")  # no triggers, no foreign-key checks
                tables = sql.SQL(", ").join(sql.Identifier(t) for t in to.rows)
                conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY").format(tables))
                for table, data in to.rows.items():
                    if len(data) > 21:  # a binary COPY's header and trailer alone: no rows
                        copy = sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(sql.Identifier(table))
                        with conn.cursor().copy(copy) as cp:
                            cp.write(data)
                for name, start, last in to.sequences:
                    called = last is not None
                    conn.execute("SELECT setval(%s::regclass, %s, %s)", [name, last if called else start, called])
        return True
    except psycopg.Error:
        return False


class Recycler:
    """Test databases on one server: ``take(template)`` -> URL, ``give_back(url)`` after the test."""

    def __init__(self, server: PgServer) -> None:
        self.server = server
        self.snapshots: dict[str, Snapshot] = {}
        self.free: list[str] = []
        self.reused = 0

    def take(self, template: str) -> str:
        if template not in self.snapshots:
            self.snapshots[template] = snapshot(self.server.url_for(template))
        while self.free:
            url = self.free.pop()
            if reset(url, self.snapshots[template]):
                self.reused += 1
                return url
            self.server.drop_database(url)
        return self.server.new_database(template)

    def give_back(self, url: str) -> None:
        self.free.append(url)
