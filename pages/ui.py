"""Shared page helpers: the one place pages get the database, the signed-in actor, and render errors.

Every page imports this module (``from pages import ui``) and nothing of the database driver. Invariants:
- ``get_db`` is the single process-wide ``Database`` (``st.cache_resource``), opened through ``core.open_db`` at the
  target named by env ``INVENTORY_DB`` (else ``data/inventory.duckdb``), already migrated.
- ``current_actor`` returns the actor ``app.py`` validated against the database in this very run (or a test put
  into ``st.session_state["actor"]``); with nobody signed in it stops the page before it draws anything.
- ``show_error`` is the only place an exception becomes something a person sees: a domain error is its sentence
  (plus each field problem), anything else is a short apology with an error id that is also in the JSON log.
  A traceback never reaches the browser.
- User-supplied text (SKUs, names, audit details, file names, messages quoting them) reaches anything Streamlit
  renders as markdown (alerts, captions, ``st.write``, labels) only through ``md``, and a plotly chart only through
  ``chart_text``; tables (``st.dataframe``), ``st.text``, ``st.code`` and ``st.json`` show text as it is.
- ``flash`` is the one way a page leaves a message for its next run (after a write, before ``st.rerun``; ``done``
  does both); ``page_header`` shows it once. Session-state keys shared between files are in ``pages.keys``.
"""

from __future__ import annotations

import html
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

import core
from core.base import observe
from core.base.errors import InventoryError, ValidationError
from core.base.permissions import REFUSALS, Actor, can
from core.db import Database
from core.domain import audit
from core.domain.catalog import list_stores
from pages.keys import ACTOR_KEY, COOKIE_ACTION_KEY, FLASH_KEY, LAST_OK_PREFIX, OP_ID_PREFIX

ALL_STORES = "All stores"


_logging_lock = threading.Lock()
_logging_ready = False


def _configure_logging() -> None:
    """Once per process: core's JSON log lines go to stderr at env ``INVENTORY_LOG_LEVEL`` (default INFO)."""
    global _logging_ready
    with _logging_lock:
        if not _logging_ready:
            observe.configure_logging(os.environ.get("INVENTORY_LOG_LEVEL", "INFO").upper())
            _logging_ready = True


@st.cache_resource(show_spinner=False)
def _open_db(target: str) -> Database:
    return core.open_db(target)


def get_db() -> Database:
    """The process-wide database (cached per target), already migrated; also turns on the JSON log.
    Raises ``StoreBusy`` when another process holds the DuckDB file."""
    _configure_logging()
    return _open_db(core.resolve_target())


def current_actor() -> Actor:
    """The signed-in actor; stops the page (after a short notice) when nobody is signed in."""
    actor = st.session_state.get(ACTOR_KEY)
    if not isinstance(actor, Actor):
        st.warning("Please sign in to use this page.")
        st.stop()
    return actor


def require_permission(action: str) -> Actor:
    """The guard owner-only pages call first: the signed-in actor when ``core.base.permissions.can(actor, action)``,
    otherwise a refusal sentence and ``st.stop()`` (nothing of the page is drawn or sent to the browser)."""
    actor = current_actor()
    if not can(actor, action):
        st.error(REFUSALS.get(action, "Your role may not open this page."))
        st.stop()
    return actor


# What Streamlit's markdown would interpret in text: emphasis, code, links and images, HTML, math ($), strikethrough,
# tables, entities, and ":" starting a directive, an icon or an emoji (":red[x]", ":material/x:", ":smile:"); at a
# line's start also headings, quotes, lists and setext underlines. A backslash before each keeps it literal.
_INLINE_SPECIAL = re.compile(r"[\\`*_\[\]<>$~|&]")
_SHORTCODE = re.compile(r":([^\s:]+):")  # ":smile:", ":material/home:" (a word joiner after the first colon, too)
_COLON = re.compile(r"(?<!\\):(?=\S)")  # the start of ":red[x]"
_LINE_SPECIAL = re.compile(r"^([ \t]*)([#>+=-]|[0-9]+(?=[.)]))", re.MULTILINE)
_LIST_NUMBER = re.compile(r"^([ \t]*[0-9]+)([.)])", re.MULTILINE)
# GFM turns bare URLs into links after parsing, escaped or not: an invisible word joiner (U+2060) in "://" and
# after "www" keeps them text. (E-mail addresses may still show as mailto links of exactly the text shown.)
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=\bwww)(?=\.)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def md(value: Any) -> str:
    """``value`` as literal text inside Streamlit markdown (``st.error``, ``st.caption``, ``st.write``, widget
    labels...): whatever markdown, Streamlit's extensions (``:red[x]``, ``$x$``, ``:material/x:``) or HTML would
    interpret is backslash-escaped, bare URLs are kept from becoming links, and line breaks stay line breaks.
    Wrap every user-supplied text (SKUs, names, audit details, file names, error messages quoting them) in it;
    our own markdown goes around it."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    text = _AUTOLINK.sub(WORD_JOINER, text)
    text = _INLINE_SPECIAL.sub(lambda m: "\\" + m.group(0), text)
    text = _COLON.sub(r"\\:", _SHORTCODE.sub(lambda m: f"\\:{WORD_JOINER}{m.group(1)}\\:", text))
    text = _LIST_NUMBER.sub(r"\1\\\2", text)
    text = _LINE_SPECIAL.sub(lambda m: m.group(1) + ("" if m.group(2)[0].isdigit() else "\\") + m.group(2), text)
    return text.replace("\n", "  \n")


def compact(value: Any, decimals: int = 2) -> str:
    """A figure short enough for a metric tile: in full below a million, else in millions, billions or trillions
    (``12.35 B``), and beyond a thousand trillion in scientific notation. Give the full figure as the tile's help."""
    number = float(value)
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(number) >= size:
            scaled = number / size
            return f"{scaled:,.2f} {suffix}" if abs(scaled) < 1000 else f"{number:.3e}"
    return f"{number:,.{decimals}f}"


def chart_text(value: Any) -> str:
    """``value`` as literal text in a plotly chart (axis labels, hover text), which reads a subset of HTML
    (``<a href>``, ``<b>``, ``<br>``) in every text it draws."""
    return html.escape(str(value), quote=False)


def tiles(*figures: tuple[Any, ...]) -> None:
    """One row of metric tiles, each ``(label, value)`` or ``(label, value, help)`` (help: the figure in full)."""
    for column, (label, value, *help_text) in zip(st.columns(len(figures)), figures, strict=True):
        column.metric(label, value, help=help_text[0] if help_text else None)


def movement_columns() -> dict[str, Any]:
    """The column labels of a table of movements (the Reports and Stock pages)."""
    labels = dict(
        store="Store", sku="SKU", name="Product", kind="Kind", quantity_after="On hand after", reason="Reason"
    )
    return {
        "created_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm"),
        "delta": st.column_config.NumberColumn("Change", format="%+d"),
        "actor": "By",
        **labels,
    }


# One colour language for every chart: stock coming in is green, going out is red/orange, corrections grey-blue.
KIND_COLOURS = {
    "stock_in": "#2e7d32",
    "transfer_in": "#66bb6a",
    "sale": "#e65100",
    "removal": "#c62828",
    "transfer_out": "#ff8a65",
    "order_cancel": "#a5d6a7",
    "order": "#f57c00",
    "adjustment": "#546e7a",
    "in": "#2e7d32",
    "out": "#e65100",
}


def show_figure(fig: Any, *, title: str, x_title: str, y_title: str, height: int = 320, **layout: Any) -> None:
    """A plotly figure at the page's width, with the app's chart margins (its texts already through ``chart_text``)."""
    margin = {"l": 10, "r": 10, "t": 40, "b": 10}
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, margin=margin, height=height, **layout)
    st.plotly_chart(fig, width="stretch")


def error_id_for(exc: BaseException) -> str:
    """The id of an unexpected error: the one ``core.domain.ops`` attached and logged, or a new one logged here."""
    existing = getattr(exc, "error_id", None)
    if existing:
        return str(existing)
    error_id = uuid.uuid4().hex[:12]
    try:
        exc.error_id = error_id  # type: ignore[attr-defined]
    except AttributeError:  # pragma: no cover - exceptions with __slots__
        pass
    observe.logger.error(
        "unexpected error in a page",
        exc_info=(type(exc), exc, exc.__traceback__),
        extra={"error_id": error_id, "error_type": type(exc).__name__},
    )
    return error_id


def show_error(exc: BaseException) -> None:
    """Render ``exc`` for a person: a domain error's sentence (and every field problem it carries); anything else
    a short apology with an error id that also appears in the JSON log."""
    if isinstance(exc, InventoryError):
        st.error(md(exc))
        if isinstance(exc, ValidationError) and len(exc.errors) > 1:
            lines = []
            for err in exc.errors:
                where = f"line {err.line}, " if err.line is not None else ""
                lines.append(f"- {md(f'{where}{err.field}: {err.message}')}")
            st.markdown("\n".join(lines))
        return
    st.error(f"Sorry, something went wrong and nothing was changed. Error id: {error_id_for(exc)}.")


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any | None:
    """Run one core call; on any exception render it with ``show_error`` and return ``None``.
    (Streamlit's own ``st.stop``/``st.rerun`` are ``BaseException``s and pass through untouched.)"""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        show_error(exc)
        return None


# ---- feedback that survives a rerun ---------------------------------------------------------------------------


def flash(message: Any, kind: str = "success") -> None:
    """Leave ``message`` for the next run of the page (set it, then ``st.rerun``): ``show_flashes`` shows it once.
    ``kind`` is ``success``, ``info``, ``warning`` or ``error``; an exception is rendered by ``show_error``."""
    st.session_state.setdefault(FLASH_KEY, []).append((kind, message))


def show_flashes(*, keep: bool = False) -> None:
    """Show the waiting messages (user text as text) and drop them, so each is seen once. They stay while a login
    cookie is still on its way to the browser (its answer reruns the script by itself) and with ``keep`` (the
    sign-in page keeps its notices until the next submit)."""
    waiting = st.session_state.get(FLASH_KEY) or []
    if not keep and COOKIE_ACTION_KEY not in st.session_state:
        st.session_state.pop(FLASH_KEY, None)
    for kind, message in waiting:
        if isinstance(message, BaseException):
            show_error(message)
        else:
            getattr(st, kind)(md(message))


def done(
    message: str, result: Any = None, *, replayed: str = "That was already done; nothing was applied twice."
) -> None:
    """After a successful write: clear the read caches, flash ``message`` (``replayed`` instead when core replayed
    an operation it had already applied), and run the page again, so every table shows the new state."""
    clear_caches()
    if isinstance(result, dict) and result.get("replayed"):
        flash(replayed, "info")
    else:
        flash(message)
    st.rerun()


def pick(
    label: str, rows: list[dict[str, Any]], describe: Callable[[dict[str, Any]], str], *, key: str, by: str = "id"
) -> dict[str, Any] | None:
    """A selectbox of ``rows`` by their ``by`` field, each described by ``describe``; the chosen row (or ``None``)."""
    by_key = {r[by]: r for r in rows}
    chosen = st.selectbox(label, list(by_key), format_func=lambda k: describe(by_key[k]), key=key)
    return None if chosen is None else by_key[chosen]


def page_header(title: str, permission: str | None = None) -> Actor:
    """The start of every page: the signed-in actor (checked against ``permission`` on owner pages), the title,
    and the messages the previous run left (``flash``)."""
    actor = require_permission(permission) if permission else current_actor()
    st.title(title)
    show_flashes()
    return actor


def store_selector(actor: Actor, *, key: str, label: str = "Store", include_all: bool = False) -> str | None:
    """A selectbox of the store codes ``actor`` may use; returns the chosen code, or ``None`` for "All stores".
    Stops the page with a notice when the actor has no store at all."""
    labels = store_labels(actor)
    if not labels:
        st.info("No store is available to you yet. Ask the owner to add a store or assign you to one.")
        st.stop()
    options = ([ALL_STORES] if include_all else []) + list(labels)
    choice = st.selectbox(label, options, key=key, format_func=lambda code: labels.get(code, code))
    return None if choice == ALL_STORES else choice


def store_labels(actor: Actor) -> dict[str, str]:
    """The stores ``actor`` may use, code -> "CODE - Name" (what every store selector shows; pass it as
    ``format_func=lambda code: labels.get(code, code)`` so the widget's value stays the code)."""
    return {s["code"]: f"{s['code']} - {s['name']}" for s in list_stores(get_db(), actor)}


def op_id(form_key: str) -> str:
    """The ``client_op_id`` of the current instance of form ``form_key`` (stable across reruns until rotated)."""
    key = OP_ID_PREFIX + form_key
    if key not in st.session_state:
        st.session_state[key] = uuid.uuid4().hex
    return str(st.session_state[key])


def new_op_id(form_key: str) -> None:
    """Rotate the form's ``client_op_id`` after a successful submit, so the next submit is a new operation."""
    st.session_state[OP_ID_PREFIX + form_key] = uuid.uuid4().hex


def data_key() -> str:
    """The key for cached reads: the database and its latest change (``core.domain.audit.latest_change``). A write made by
    any app process on a shared PostgreSQL database moves it, so no process keeps showing what another changed."""
    db = get_db()
    return f"{db.target}#{audit.latest_change(db)}"


def clear_caches() -> None:
    """Clear every ``st.cache_data`` after a write, so the next read shows it."""
    st.cache_data.clear()


# ---- forms that submit operations ---------------------------------------------------------------------------

DOUBLE_SUBMIT_SECONDS = 3.0


def op_id_for(form_key: str, values: Any) -> str:
    """The form's operation id (``op_id``); the values of the last success sent again within
    ``DOUBLE_SUBMIT_SECONDS`` (a double click whose first run already finished) reuse that success's id, so core
    replays it instead of applying it twice."""
    last = st.session_state.get(LAST_OK_PREFIX + form_key)
    fingerprint = json.dumps(values, sort_keys=True, default=str)
    if last and last["values"] == fingerprint and time.monotonic() - last["at"] < DOUBLE_SUBMIT_SECONDS:
        return str(last["op"])
    return op_id(form_key)


def remember_success(form_key: str, op: str, values: Any) -> None:
    """After a successful submit: remember it for ``op_id_for``, rotate the form's id, clear the read caches."""
    st.session_state[LAST_OK_PREFIX + form_key] = {
        "values": json.dumps(values, sort_keys=True, default=str),
        "op": op,
        "at": time.monotonic(),
    }
    new_op_id(form_key)
    clear_caches()


def lines_editor(key: str, rows: int = 5) -> pd.DataFrame:
    """A (SKU, quantity) lines editor (a sale, a transfer, an order): ``rows`` blank lines, more with the + button.
    ``key`` changes after each success, which empties it."""
    blank = pd.DataFrame(
        {"sku": pd.Series([None] * rows, dtype="string"), "quantity": pd.Series([None] * rows, dtype="Int64")}
    )
    return st.data_editor(
        blank,
        key=key,
        num_rows="dynamic",
        hide_index=True,
        column_config={
            "sku": st.column_config.TextColumn("SKU", help="Type or scan the SKU", max_chars=64),
            "quantity": st.column_config.NumberColumn("Quantity", min_value=1, step=1),
        },
        width="stretch",
    )


def filled_lines(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The filled lines of a lines editor (a row with neither SKU nor quantity is ignored)."""
    lines = []
    for sku, qty in zip(frame["sku"], frame["quantity"], strict=True):
        sku = None if pd.isna(sku) or not str(sku).strip() else str(sku).strip()
        qty = None if pd.isna(qty) else int(qty)
        if sku is not None or qty is not None:
            lines.append({"sku": sku, "quantity": qty})
    return lines
