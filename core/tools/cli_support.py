"""What every ``python -m core`` command shares: exit codes, the usage error, JSON output, the acting user and
the password prompt."""

from __future__ import annotations

import getpass
import json
import os
import sys
from decimal import Decimal
from typing import Any

from core.base.permissions import SYSTEM, Actor
from core.db import Database

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or unreadable input: exit code 2."""


def _json(value: Any) -> str:
    def default(v: Any) -> Any:
        if isinstance(v, Decimal):
            return float(v)
        return str(v)

    return json.dumps(value, default=default, ensure_ascii=False, sort_keys=True)


def _actor(db: Database, email: str | None) -> Actor:
    if not email:
        return SYSTEM
    from core.domain.signin import actor_for

    return actor_for(db, email)


def _password(prompt: str) -> str:
    password = os.environ.get("INVENTORY_PASSWORD")
    if password:
        return password
    if not sys.stdin.isatty():
        raise UsageError("Set INVENTORY_PASSWORD or run this in a terminal to be asked for the password.")
    first = getpass.getpass(prompt)
    if getpass.getpass("Repeat the password: ") != first:
        raise UsageError("The two passwords differ.")
    return first
