"""``python -m core user ...`` and ``rotate-secret``: accounts and sign-in from the command line (an owner locked
out of the web can always get back in here)."""

from __future__ import annotations

import argparse

from core.db import Database
from core.tools.cli_support import EXIT_OK, _actor, _password


def cmd_user_add(db: Database, args: argparse.Namespace) -> int:
    from core.domain.users import add_user, create_first_owner, has_users

    password = _password(f"Password for {args.email}: ")
    if not has_users(db) and args.role == "owner" and not args.as_email:
        name = args.name or args.email.split("@")[0]
        user = create_first_owner(db, args.email, name, password, stores=args.store)  # one transaction
    else:
        user = add_user(
            db, _actor(db, args.as_email), args.email, password, args.role, name=args.name, stores=args.store
        )
    print(f"Added {user['role']} {user['email']}" + (f" (stores: {', '.join(args.store)})" if args.store else "") + ".")
    return EXIT_OK


def cmd_user_unlock(db: Database, args: argparse.Namespace) -> int:
    from core.domain.users import unlock

    user = unlock(db, _actor(db, args.as_email), args.email)
    print(f"Unlocked {user['email']}: every lock and failure count of the account is cleared.")
    return EXIT_OK


def cmd_user_set_password(db: Database, args: argparse.Namespace) -> int:
    from core.domain.users import reset_password

    password = _password(f"New password for {args.email}: ")
    user = reset_password(db, _actor(db, args.as_email), args.email, password)
    print(f"Set a new password for {user['email']}; the account is unlocked and its earlier sessions have ended.")
    return EXIT_OK


def cmd_rotate_secret(db: Database, args: argparse.Namespace) -> int:
    from core.domain.sessions import rotate_secret

    result = rotate_secret(db, _actor(db, args.as_email))
    print(
        f"New login cookie key made; every session ended ({result['users']} accounts must sign in again)."
        " If .streamlit/secrets.toml sets [auth] cookie_key, that key signs cookies instead: change it there too."
    )
    return EXIT_OK
