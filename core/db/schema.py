"""Schema and numbered migrations.

Each migration is a list of statements in the SQL subset DuckDB and PostgreSQL share; applied migrations are
recorded in ``schema_migrations``, so ``migrate`` is idempotent and opening an older database brings it up to
date. Never edit a released migration: append a new one.

No FOREIGN KEY constraints: DuckDB refuses to UPDATE a row that a foreign key points to (it checks the key as
if deleted), and products, stores and users are updated all the time. Referential integrity is kept by core's
operations and verified by ``core.domain.check``. Every range a value must keep to is a CHECK constraint.
"""

from __future__ import annotations

import secrets

from core.db import Database, Tx

MOVEMENT_KINDS = (
    "stock_in",
    "sale",
    "removal",
    "adjustment",
    "transfer_out",
    "transfer_in",
    "order",
    "order_cancel",
)
INBOUND_KINDS = ("stock_in", "transfer_in", "order_cancel")
OUTBOUND_KINDS = ("sale", "removal", "transfer_out", "order")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _movements_ddl(table: str, *, primary_key: bool) -> str:
    """The ledger table (migration 1 made it with a primary key on id; migration 2 rebuilt it without)."""
    id_column = "id BIGINT PRIMARY KEY" if primary_key else "id BIGINT NOT NULL"
    return f"""CREATE TABLE {table} (
        {id_column} DEFAULT nextval('movement_ids'),
        store_id BIGINT NOT NULL,
        product_id BIGINT NOT NULL,
        kind VARCHAR NOT NULL CHECK (kind IN ({_in(MOVEMENT_KINDS)})),
        delta INTEGER NOT NULL CHECK (delta <> 0),
        quantity_after INTEGER NOT NULL CHECK (quantity_after >= 0),
        reason VARCHAR CHECK (reason IS NULL OR length(reason) <= 200),
        vendor_id BIGINT,
        order_id BIGINT,
        actor VARCHAR NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        client_op_id VARCHAR,
        CHECK ((kind IN ({_in(INBOUND_KINDS)}) AND delta > 0)
            OR (kind IN ({_in(OUTBOUND_KINDS)}) AND delta < 0)
            OR kind = 'adjustment')
    )"""


M1_INITIAL = [
    "CREATE SEQUENCE store_ids",
    "CREATE SEQUENCE vendor_ids",
    "CREATE SEQUENCE product_ids",
    "CREATE SEQUENCE movement_ids",
    "CREATE SEQUENCE order_ids",
    "CREATE SEQUENCE user_ids",
    "CREATE SEQUENCE audit_ids",
    "CREATE SEQUENCE import_ids",
    """CREATE TABLE settings (
        key VARCHAR PRIMARY KEY,
        value VARCHAR NOT NULL
    )""",
    """CREATE TABLE stores (
        id BIGINT PRIMARY KEY DEFAULT nextval('store_ids'),
        code VARCHAR NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 16 AND code = trim(code)),
        name VARCHAR NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        active BOOLEAN NOT NULL DEFAULT TRUE,
        version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE vendors (
        id BIGINT PRIMARY KEY DEFAULT nextval('vendor_ids'),
        name VARCHAR NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
        contact VARCHAR CHECK (contact IS NULL OR length(contact) <= 200),
        active BOOLEAN NOT NULL DEFAULT TRUE,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE products (
        id BIGINT PRIMARY KEY DEFAULT nextval('product_ids'),
        sku VARCHAR NOT NULL UNIQUE CHECK (length(sku) BETWEEN 1 AND 64 AND sku = trim(sku)),
        name VARCHAR NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        category VARCHAR NOT NULL CHECK (length(category) BETWEEN 1 AND 50),
        unit_price DECIMAL(12, 2) NOT NULL CHECK (unit_price >= 0),
        reorder_level INTEGER NOT NULL DEFAULT 10 CHECK (reorder_level >= 0),
        vendor_id BIGINT,
        active BOOLEAN NOT NULL DEFAULT TRUE,
        version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_by VARCHAR
    )""",
    """CREATE TABLE stock (
        store_id BIGINT NOT NULL,
        product_id BIGINT NOT NULL,
        quantity INTEGER NOT NULL DEFAULT 0 CHECK (quantity >= 0),
        version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_by VARCHAR,
        PRIMARY KEY (store_id, product_id)
    )""",
    _movements_ddl("movements", primary_key=True),
    """CREATE TABLE operations (
        client_op_id VARCHAR PRIMARY KEY CHECK (length(client_op_id) BETWEEN 1 AND 100),
        action VARCHAR NOT NULL,
        actor VARCHAR NOT NULL,
        result VARCHAR NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE orders (
        id BIGINT PRIMARY KEY DEFAULT nextval('order_ids'),
        store_id BIGINT NOT NULL,
        status VARCHAR NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'shipped', 'cancelled')),
        customer VARCHAR CHECK (customer IS NULL OR length(customer) <= 100),
        created_by VARCHAR NOT NULL,
        version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_by VARCHAR
    )""",
    """CREATE TABLE order_lines (
        order_id BIGINT NOT NULL,
        line_no INTEGER NOT NULL CHECK (line_no >= 1),
        product_id BIGINT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        unit_price DECIMAL(12, 2) NOT NULL CHECK (unit_price >= 0),
        PRIMARY KEY (order_id, line_no)
    )""",
    """CREATE TABLE users (
        id BIGINT PRIMARY KEY DEFAULT nextval('user_ids'),
        email VARCHAR NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 254),
        name VARCHAR NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        password_hash VARCHAR NOT NULL,
        role VARCHAR NOT NULL CHECK (role IN ('owner', 'staff')),
        active BOOLEAN NOT NULL DEFAULT TRUE,
        failed_logins INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
        locked_until TIMESTAMPTZ,
        tokens_valid_after TIMESTAMPTZ NOT NULL DEFAULT now(),
        version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE user_stores (
        user_id BIGINT NOT NULL,
        store_id BIGINT NOT NULL,
        PRIMARY KEY (user_id, store_id)
    )""",
    """CREATE TABLE audit (
        id BIGINT PRIMARY KEY DEFAULT nextval('audit_ids'),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        actor VARCHAR NOT NULL,
        action VARCHAR NOT NULL,
        entity VARCHAR NOT NULL,
        entity_id VARCHAR,
        before VARCHAR,
        after VARCHAR,
        outcome VARCHAR NOT NULL CHECK (outcome IN ('ok', 'denied', 'conflict', 'error')),
        detail VARCHAR
    )""",
    """CREATE TABLE imports (
        id BIGINT PRIMARY KEY DEFAULT nextval('import_ids'),
        sha256 VARCHAR NOT NULL CHECK (length(sha256) = 64),
        file_name VARCHAR NOT NULL,
        actor VARCHAR NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        store_id BIGINT,
        rows INTEGER NOT NULL DEFAULT 0 CHECK (rows >= 0),
        created INTEGER NOT NULL DEFAULT 0 CHECK (created >= 0),
        updated INTEGER NOT NULL DEFAULT 0 CHECK (updated >= 0),
        unchanged INTEGER NOT NULL DEFAULT 0 CHECK (unchanged >= 0),
        errors INTEGER NOT NULL DEFAULT 0 CHECK (errors >= 0),
        applied BOOLEAN NOT NULL
    )""",
]

# The ledger is append-only and its ids come from a sequence, so they are unique without an index; nothing looks a
# movement up by id. A PRIMARY KEY there cost DuckDB an ART index kept in memory (hundreds of MB at 18 million
# rows) and about 10% of a 200,000-row import. DuckDB cannot drop a constraint, so the table is rebuilt.
M2_LEDGER_WITHOUT_INDEX = [
    _movements_ddl("movements_rebuilt", primary_key=False),
    "INSERT INTO movements_rebuilt SELECT id, store_id, product_id, kind, delta, quantity_after, reason, vendor_id,"
    " order_id, actor, created_at, client_op_id FROM movements ORDER BY id",
    "DROP TABLE movements",
    "ALTER TABLE movements_rebuilt RENAME TO movements",
]

# Sign-in throttling (core.domain.signin_throttle): one row per client address (account ''), per account (client ''),
# and per account and client. Several app processes on one PostgreSQL database share it.
M3_SIGNIN_THROTTLE = [
    """CREATE TABLE signin_throttle (
        account VARCHAR NOT NULL CHECK (length(account) <= 254),
        client VARCHAR NOT NULL CHECK (length(client) <= 64),
        failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
        last_failure_at TIMESTAMPTZ,
        blocked_until TIMESTAMPTZ,
        last_success_at TIMESTAMPTZ,
        PRIMARY KEY (account, client)
    )""",
]

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "initial schema", M1_INITIAL),
    (2, "ledger without a primary-key index", M2_LEDGER_WITHOUT_INDEX),
    (3, "sign-in throttling by client and account", M3_SIGNIN_THROTTLE),
]


def applied_versions(tx: Tx) -> set[int]:
    return {row[0] for row in tx.all("SELECT version FROM schema_migrations")}


def migrate(db: Database) -> list[int]:
    """Create or bring the schema up to date; return the versions applied now (empty when current).

    Each migration runs in its own transaction with its ``schema_migrations`` row, all under the database's schema
    lock (PostgreSQL: two app processes starting together migrate once). Also makes sure the
    settings every install needs exist (a random cookie secret: no secret has a default).
    """
    with db.schema_lock():
        with db.transaction() as tx:
            tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
        with db.reader() as tx:
            done = applied_versions(tx)
        applied = []
        for version, name, statements in MIGRATIONS:
            if version in done:
                continue
            with db.transaction() as tx:
                for sql in statements:
                    tx.execute(sql)
                tx.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [version, name])
            applied.append(version)
        with db.transaction() as tx:
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ('cookie_secret', $1) ON CONFLICT (key) DO NOTHING",
                [secrets.token_urlsafe(48)],
            )
    return applied


def current_version(db: Database) -> int:
    with db.reader() as tx:
        return max(applied_versions(tx), default=0)


def get_setting(db: Database, key: str) -> str | None:
    with db.reader() as tx:
        return tx.scalar("SELECT value FROM settings WHERE key = $1", [key])


def set_setting(tx: Tx, key: str, value: str) -> None:
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
