"""The SQL of one ``core.tools.demo`` load (``Plan``): vendors, stores and products from the sample catalog, then
the ledger's history and the stock it ends at, all by set-based ``INSERT ... SELECT`` over ``generate_series`` with
window functions; Python only builds the SQL text. The statements run unchanged on DuckDB and PostgreSQL 15, with
the same result.

Steps: reference tables -> vendors, stores, products (ids reserved in one block per sequence: ``nextval``, then
``setval`` past the block) -> one row per (store, product) with its draw counts -> every later movement with
its running sum (one window) -> per pair the closing quantity: a target raised just enough that no running
quantity is negative, and the opening stock-in = closing - sum of later deltas -> the ledger with ids from one
sorted pass -> stock rows. At 500 stores x 10,000 products x 90 days that is about 18 million movements.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from core.db import Tx
from core.tools.demo_data import CITIES, MULTIPACK_MAX, SHOPS, VENDORS
from core.tools.demo_sql import PRIME, REFERENCE_TABLES, drop_tables, reference_tables, sql_hash, sql_unit

KEEP = (74, 70, 72, 76, 86, 100, 100)  # per weekday Mon..Sun: percent of drawn sales that happen (weekly rhythm)
AVG_QTY = 1.85  # mean units per sale line (see the quantity expression in Plan._events_sql)


class Plan:
    """The SQL of one load. Every number inlined into the SQL is an integer or float computed here."""

    def __init__(self, seed: int, stores: int, products: int, days: int, start: datetime, now: datetime) -> None:
        self.seed, self.stores, self.products, self.days = seed, stores, products, days
        self.start = start
        self.epoch = int(start.timestamp())
        self.now_offset = int(now.timestamp()) - self.epoch  # seconds from the first day's midnight to now
        self.dow0 = start.weekday()
        # sale lines per store and day: a bigger catalog sells more lines, but fewer of each product
        self.lines_per_day = 70.0 * (products / 200.0) ** 0.3
        self.keep_mean = sum(KEEP) / 700.0
        self.first: dict[str, int] = {}  # table -> first id given to its demo rows

    def h(self, salt: int, *columns: str) -> str:
        return sql_hash(self.seed, salt, *columns)

    def u(self, salt: int, *columns: str) -> str:
        return sql_unit(self.seed, salt, *columns)

    def load(self, tx: Tx, email: str, report: Callable[[float, str], None]) -> dict[str, Any]:
        # fractions follow each step's measured share of the time at 500 x 10,000 x 90 (bench_demo)
        report(0.0, "Preparing the sample catalog")
        reference_tables(tx)
        report(0.01, "Adding vendors, stores and products")
        self._catalog(tx, email)
        drop_tables(tx, REFERENCE_TABLES)
        report(0.02, "Planning stock for every store and product")
        tx.execute(self._pairs_sql())
        drop_tables(tx, ("demo_store", "demo_p"))
        report(0.05, "Drawing sales, deliveries and removals")
        tx.execute(self._events_sql())
        report(0.18, "Working out opening and closing stock")
        tx.execute(self._closing_sql())
        drop_tables(tx, ("demo_pairs",))
        report(0.21, "Writing the movements ledger")
        movements = self._movements(tx, email)
        drop_tables(tx, ("demo_ev",))
        report(0.68, "Writing stock levels")
        tx.execute(
            "INSERT INTO stock (store_id, product_id, quantity, version, updated_at, updated_by)"
            f" SELECT {self.first['stores'] - 1} + CAST(sn AS BIGINT), {self.first['products'] - 1} + CAST(pn AS BIGINT),"
            " closing, n + 2,"
            f" to_timestamp({self.epoch} + last_t), CAST($1 AS VARCHAR) FROM demo_pair",
            [email],
        )
        drop_tables(tx, ("demo_pair",))
        return {
            "stores": self.stores,
            "vendors": len(VENDORS),
            "products": self.products,
            "stock_rows": self.stores * self.products,
            "movements": movements,
            "days": self.days,
            "seed": self.seed,
            "first_day": self.start.date().isoformat(),
        }

    def _ids(self, tx: Tx, table: str, sequence: str, count: int) -> int:
        """Reserve ``count`` consecutive ids of ``sequence`` (the table is empty, nobody else is adding rows)."""
        first = int(tx.scalar(f"SELECT nextval('{sequence}')"))
        tx.execute(f"SELECT setval('{sequence}', {first - 1 + count})")
        self.first[table] = first
        return first - 1

    def _catalog(self, tx: Tx, email: str) -> None:
        created = self.start - timedelta(days=30)
        base = self._ids(tx, "vendors", "vendor_ids", len(VENDORS))
        tx.execute(
            "INSERT INTO vendors (id, name, contact, created_at)"
            f" SELECT {base} + v + 1, name, '+91 ' || CAST(70000 + {self.h(1, 'v')} % 29999 AS VARCHAR) || ' '"
            f" || lpad(CAST({self.h(2, 'v')} % 100000 AS VARCHAR), 5, '0'), CAST($1 AS TIMESTAMPTZ) FROM demo_vendor",
            [created],
        )
        tx.execute(
            "CREATE TEMP TABLE demo_store AS"
            " SELECT x.n AS sn, x.factor, pl.code"
            " || lpad(CAST(row_number() OVER (PARTITION BY x.city ORDER BY x.n) AS VARCHAR), 3, '0') AS code,"
            " sh.name || ', ' || pl.locality AS name"
            f" FROM (SELECT g.n, {self.h(3, 'g.n')} % {len(CITIES)} AS city, {self.h(4, 'g.n')} % 8 AS loc,"
            f" {self.h(5, 'g.n')} % {len(SHOPS)} AS shop, 0.6 + 0.9 * {self.u(6, 'g.n')} AS factor"
            f" FROM generate_series(1, {self.stores}) AS g(n)) x"
            " JOIN demo_place pl ON pl.city = x.city AND pl.loc = x.loc JOIN demo_shop sh ON sh.shop = x.shop"
        )
        base = self._ids(tx, "stores", "store_ids", self.stores)
        tx.execute(
            "INSERT INTO stores (id, code, name, created_at, updated_at)"
            f" SELECT {base} + sn, code, name, CAST($1 AS TIMESTAMPTZ), CAST($1 AS TIMESTAMPTZ) FROM demo_store",
            [created],
        )
        tx.execute(self._products_sql())
        base = self._ids(tx, "products", "product_ids", self.products)
        tx.execute(
            "INSERT INTO products (id, sku, name, category, unit_price, reorder_level, vendor_id, created_at,"
            " updated_at, updated_by)"
            f" SELECT {base} + pn, sku, name, category, unit_price, reorder, {self.first['vendors']} + v, CAST($1 AS TIMESTAMPTZ),"
            " CAST($1 AS TIMESTAMPTZ), CAST($2 AS VARCHAR)"
            " FROM demo_p",
            [created, email],
        )

    def _products_sql(self) -> str:
        """The first ``products`` names of the shuffled catalog (plain packs first, then variants, then
        multipacks), with a price that fits the pack, a popularity, a reorder level and a vendor."""
        line = "l.grp * 100 + l.line"
        key = (line, "z.size", "coalesce(v.variant, 0)", "pk.pack")
        return (
            "CREATE TEMP TABLE demo_p AS"
            " WITH combo AS ("
            "  SELECT l.cat, l.line, z.size, coalesce(v.variant, 0) AS variant, pk.pack, z.price,"
            "   l.name || coalesce(' ' || v.name, '') || ' ' || z.label"
            "   || CASE WHEN pk.pack > 1 THEN ' (Pack of ' || CAST(pk.pack AS VARCHAR) || ')' ELSE '' END AS name,"
            f"  {self.u(10, line)} AS brand, {self.u(11, line)} AS fame, {self.u(12, *key)} AS noise,"
            "   row_number() OVER (ORDER BY CASE WHEN pk.pack > 1 THEN 2 WHEN v.variant > 0 THEN 1 ELSE 0 END,"
            f"   {self.h(13, *key)}) AS pn"
            "  FROM demo_line l JOIN demo_size z ON z.grp = l.grp LEFT JOIN demo_variant v ON v.grp = l.grp"
            f"  JOIN demo_pack pk ON pk.pack = 1 OR (l.multi = 1 AND z.price * pk.pack <= {MULTIPACK_MAX})"
            " ), chosen AS ("
            "  SELECT combo.*, c.code, c.name AS category, c.perishable,"
            "   price * pack * CASE WHEN pack > 1 THEN 0.95 ELSE 1.0 END * (0.85 + 0.35 * brand)"
            "   * (1.0 + 0.04 * (variant % 3)) AS raw_price,"
            "   c.weight * (0.02 + power(fame, 4)) * (0.6 + 0.8 * noise) / (1.0 + 0.8 * size)"
            "   * CASE WHEN variant > 0 THEN 0.5 ELSE 1.0 END * CASE WHEN pack > 1 THEN 0.3 / pack ELSE 1.0 END AS weight"
            f"  FROM combo JOIN demo_cat c ON c.cat = combo.cat WHERE pn <= {self.products}"
            " ), priced AS ("
            "  SELECT chosen.*,"
            "   CASE WHEN raw_price < 50 THEN round(raw_price) WHEN raw_price < 1000 THEN round(raw_price / 5) * 5"
            "   ELSE round(raw_price / 10) * 10 END AS price_rounded,"
            f"  {self.lines_per_day} * weight / sum(weight) OVER () AS rate"
            "  FROM chosen"
            " ), ordered AS ("
            f"  SELECT priced.*, least(100, greatest(3, round(rate * 7 * {AVG_QTY} * 1.2))) AS raw_reorder"
            "  FROM priced"
            " )"
            " SELECT pn, code || '-' || lpad(CAST(pn AS VARCHAR), 5, '0') AS sku, name, category, perishable, rate,"
            "  CAST(price_rounded AS DECIMAL(12, 2)) AS unit_price,"
            f" (cat * 2 + line % 3) % {len(VENDORS)} AS v,"
            "  CASE WHEN price_rounded < 30 THEN 24 WHEN price_rounded < 120 THEN 12 WHEN price_rounded < 400 THEN 6"
            "  ELSE 3 END AS case_qty,"
            "  CAST(CASE WHEN raw_reorder > 10 THEN round(raw_reorder / 5) * 5 ELSE raw_reorder END AS INTEGER)"
            "  AS reorder"
            " FROM ordered"
        )

    # ---- the ledger ----------------------------------------------------------------------------------------

    def _pairs_sql(self) -> str:
        """Per (store, product): how many sales to draw, the restocking interval and first day, how many
        removals, when the opening stock arrived and the closing quantity aimed at.

        Three hashes per pair (a, b, c) give every draw: residues modulo coprime numbers and the hash's
        fraction of PRIME are nearly independent. Opening stock arrives store by store between 07:00 and
        08:00 of the first day, in (store, product) order, so its ids need no sort (see ``_movements``)."""
        d, pairs = self.days, self.stores * self.products
        often, seldom = min(900, round(150 * d / 90)), min(900, round(40 * d / 90))
        return (
            "CREATE TEMP TABLE demo_pairs AS"
            " SELECT CAST(sn AS SMALLINT) AS sn, CAST(pn AS SMALLINT) AS pn, v, rate, demand, case_qty, perishable,"
            "  intv, ns, nrm, t0, target, phase,"
            f"  CASE WHEN phase <= {d - 1}"
            f"  THEN CAST(floor(({d - 1} - phase) / CAST(intv AS DOUBLE PRECISION)) AS INTEGER) + 1 ELSE 0 END AS nr"
            " FROM (SELECT y.*, 1 + a % intv AS phase"
            "  FROM (SELECT x.*,"
            "   greatest(7, CAST(least(1000, ceil(case_qty * (CASE WHEN a % 101 < 50 THEN 2 ELSE 1 END) / demand))"
            "   AS INTEGER)) AS intv,"
            f"  CAST(floor(rate * {d} / {self.keep_mean} + CAST(b AS DOUBLE PRECISION) / {PRIME}) AS INTEGER) AS ns,"
            "   CASE WHEN b % 1000 < chance THEN 1 ELSE 0 END + CASE WHEN b % 1000 * 5 < chance THEN 1 ELSE 0 END"
            "   AS nrm,"
            f"  least(25200 + CAST(floor(3600 * CAST(({self.products} * (sn - 1) + pn - 1) AS BIGINT) / {pairs})"
            f"   AS INTEGER), {self.now_offset}) AS t0,"
            "   CASE WHEN c % 1000 < 45 THEN 0 WHEN c % 1000 < 140 THEN 1 + c % reorder"
            f"  ELSE reorder + 1 + CAST(round(demand * (3 + 25 * CAST(c AS DOUBLE PRECISION) / {PRIME})) AS INTEGER)"
            "   + c % 7 END AS target"
            "   FROM (SELECT s.sn, p.pn, p.v, p.rate * s.factor AS rate, p.rate * s.factor * "
            f"{AVG_QTY} AS demand, p.case_qty, p.perishable, p.reorder,"
            f"    CASE WHEN p.perishable = 1 THEN {often} ELSE {seldom} END AS chance,"
            f"    {self.h(30, 's.sn', 'p.pn')} AS a, {self.h(25, 's.sn', 'p.pn')} AS b,"
            f"    {self.h(50, 's.sn', 'p.pn')} AS c"
            "    FROM demo_store s CROSS JOIN demo_p p) x) y) z"
        )

    def _events_sql(self) -> str:
        """Every movement after the opening stock-in, with ``run``: the running sum of deltas per pair.

        ``kr`` orders kinds within one second (1 restock, 2 sale, 3 removal); ``rc`` codes the reason."""
        d, event = self.days, ("pr.sn", "pr.pn", "g.k")
        keep = " ".join(f"WHEN {i} THEN {k}" for i, k in enumerate(KEEP))
        # one hash gives the day (mod days) and the keep draw (mod a prime not dividing days): nearly independent
        keep_mod = next(m for m in (97, 89, 83) if d % m)
        sales = (
            "SELECT sn, pn, 2 AS kr, k,"
            " day * 86400 + CASE WHEN b % 100 < 30 THEN 28800 + b % 10799 WHEN b % 100 < 55 THEN 39600 + b % 21599"
            " ELSE 61200 + b % 16199 END AS t,"
            " -(1 + CASE WHEN b % 101 >= 55 THEN 1 ELSE 0 END + CASE WHEN b % 101 >= 80 THEN 1 ELSE 0 END"
            " + CASE WHEN b % 101 >= 92 THEN 1 ELSE 0 END + CASE WHEN b % 101 >= 97 THEN 2 ELSE 0 END"
            f" + CASE WHEN dow >= 5 AND a % {keep_mod} < {keep_mod * 30 // 100} THEN 1 ELSE 0 END) AS delta, 0 AS rc"
            " FROM (SELECT sn, pn, k, a, b, a % "
            + str(d)
            + " AS day, ("
            + str(self.dow0)
            + " + a % "
            + str(d)
            + ") % 7 AS dow"
            f"  FROM (SELECT pr.sn, pr.pn, g.k, {self.h(20, *event)} AS a, {self.h(22, *event)} AS b"
            "   FROM demo_pairs pr, generate_series(1, pr.ns) AS g(k)) w) x"
            f" WHERE a % {keep_mod} * 100 < {keep_mod} * CASE dow {keep} END"
        )
        restocks = (
            "SELECT pr.sn, pr.pn, 1 AS kr, g.k,"
            f" (pr.phase + (g.k - 1) * pr.intv) * 86400 + 32400 + {self.h(32, *event)} % 14400 AS t,"
            f" CAST(pr.case_qty * greatest(1, round(pr.demand * pr.intv * (0.9 + 0.4 * {self.u(33, *event)})"
            " / pr.case_qty)) AS INTEGER) AS delta, 0 AS rc"
            " FROM demo_pairs pr, generate_series(1, pr.nr) AS g(k)"
        )
        removals = (
            "SELECT sn, pn, 3 AS kr, k, (c % " + str(d) + ") * 86400 + 72000 + c % 7199 AS t,"
            " -(1 + c % 3) AS delta,"
            " CASE WHEN perishable = 1 THEN CASE WHEN c % 10 < 6 THEN 2 WHEN c % 10 < 9 THEN 3 ELSE 4 END"
            " ELSE CASE WHEN c % 10 < 7 THEN 3 ELSE 4 END END AS rc"
            f" FROM (SELECT pr.sn, pr.pn, pr.perishable, g.k, {self.h(40, *event)} AS c"
            "  FROM demo_pairs pr, generate_series(1, pr.nrm) AS g(k)) w"
        )
        return (
            "CREATE TEMP TABLE demo_ev AS"
            " SELECT CAST(sn AS SMALLINT) AS sn, CAST(pn AS SMALLINT) AS pn, CAST(kr AS SMALLINT) AS kr, k,"
            "  CAST(t AS INTEGER) AS t, CAST(delta AS INTEGER) AS delta, CAST(rc AS SMALLINT) AS rc,"
            "  CAST(sum(delta) OVER (PARTITION BY sn, pn ORDER BY t, kr, k"
            "  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS INTEGER) AS run"
            f" FROM ({sales} UNION ALL {restocks} UNION ALL {removals}) e WHERE t <= {self.now_offset}"
        )

    def _closing_sql(self) -> str:
        """Per pair: the closing quantity is the target raised until no running quantity is negative and
        the opening stock-in is positive; opening = closing - the sum of the later deltas."""
        return (
            "CREATE TEMP TABLE demo_pair AS"
            " SELECT sn, pn, v, n, t0, greatest(t0, coalesce(last_t, t0)) AS last_t, closing, closing - total AS opening"
            " FROM (SELECT pr.sn, pr.pn, pr.v, pr.t0, coalesce(a.n, 0) AS n, a.last_t, coalesce(a.total, 0) AS total,"
            "  greatest(pr.target, coalesce(a.total - a.minrun, 0), coalesce(a.total, 0) + 1) AS closing"
            "  FROM demo_pairs pr LEFT JOIN (SELECT sn, pn, count(*) AS n, max(t) AS last_t,"
            "   CAST(sum(delta) AS INTEGER) AS total, min(run) AS minrun FROM demo_ev GROUP BY sn, pn) a"
            "  ON a.sn = pr.sn AND a.pn = pr.pn) z"
        )

    def _movements(self, tx: Tx, email: str) -> int:
        """Insert every movement with ids ascending in time (ties: store, product, kind, draw).

        Opening stock-ins arrive before 08:00 on the first day in (store, product) order (or at ``now``, when
        nothing else happened yet), and everything else from 08:00 on, so the openings take the first ids
        without a sort and the rest follow, sorted by a key packed into two BIGINTs (twice as fast as five):
        t < 2**26 (730 days of seconds), sn < 2**10, pn < 2**14, kr < 4 and k < 2**20 (see the limits)."""
        openings = self.stores * self.products
        total = openings + int(tx.scalar("SELECT count(*) FROM demo_ev"))
        base = self._ids(tx, "movements", "movement_ids", total)
        columns = "id, store_id, product_id, kind, delta, quantity_after, reason, vendor_id, actor, created_at"
        store, product, vendor = self.first["stores"] - 1, self.first["products"] - 1, self.first["vendors"]
        tx.execute(
            f"INSERT INTO movements ({columns})"
            f" SELECT {base} + {self.products} * (CAST(sn AS BIGINT) - 1) + pn, {store} + CAST(sn AS BIGINT),"
            f"  {product} + CAST(pn AS BIGINT), 'stock_in', opening,"
            f"  opening, 'opening stock', {vendor} + v, CAST($1 AS VARCHAR), to_timestamp({self.epoch} + t0)"
            " FROM demo_pair",
            [email],
        )
        reasons = " ".join(f"WHEN {i} THEN '{r}'" for i, r in enumerate(("expired", "damaged", "lost"), 2))
        tx.execute(
            f"INSERT INTO movements ({columns})"
            f" SELECT {base + openings} + row_number() OVER (ORDER BY CAST(e.t AS BIGINT) * 16777216"
            "  + CAST(e.sn AS BIGINT) * 16384 + e.pn, e.kr * 1048576 + e.k),"
            f"  {store} + CAST(e.sn AS BIGINT), {product} + CAST(e.pn AS BIGINT),"
            "  CASE e.kr WHEN 2 THEN 'sale' WHEN 3 THEN 'removal' ELSE 'stock_in' END, e.delta, p.opening + e.run,"
            f"  CASE e.rc {reasons} END, CASE WHEN e.kr = 1 THEN {vendor} + p.v END,"
            f"  CAST($1 AS VARCHAR), to_timestamp({self.epoch} + e.t)"
            " FROM demo_ev e JOIN demo_pair p ON p.sn = e.sn AND p.pn = e.pn",
            [email],
        )
        return total
