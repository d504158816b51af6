"""The ``st.session_state`` keys that more than one file reads or writes: the frame (``app.py`` and
``pages/session.py``), the shared helpers (``pages/ui.py``) and the pages that hand state to one another.

A key that only one page uses (a widget key, a page's own loaded data) is a constant in that page. The names
of streamlit-authenticator's own keys (``AUTH_STATUS_KEY`` ... ``LOGOUT_KEY``) are fixed by that library.
"""

from __future__ import annotations

# streamlit-authenticator's session keys (set on sign-in, cleared on sign-out)
AUTH_STATUS_KEY = "authentication_status"
USERNAME_KEY = "username"
NAME_KEY = "name"
EMAIL_KEY = "email"
ROLES_KEY = "roles"
LOGOUT_KEY = "logout"
AUTH_KEYS = (AUTH_STATUS_KEY, USERNAME_KEY, NAME_KEY, EMAIL_KEY, ROLES_KEY)

# the frame's session: the validated actor, when its session began, and the login cookie still to be sent
ACTOR_KEY = "actor"
SIGNED_IN_AT_KEY = "_signed_in_at"
COOKIE_ACTION_KEY = "_cookie_action"
COOKIE_SEQ_KEY = "_cookie_seq"
COOKIE_TOKEN_KEY = "_cookie_token"
SIGN_IN_ERROR_KEY = "_sign_in_error"
SIGN_IN_EMAIL_KEY = "sign_in_email"
SIGN_IN_PASSWORD_KEY = "sign_in_password"

# ui.flash: the messages waiting to be shown once, a list of (kind, message)
FLASH_KEY = "_flash"

# per-form operation ids and the last success (ui.op_id, ui.op_id_for): prefixes, the form's key follows
OP_ID_PREFIX = "_op_id:"
LAST_OK_PREFIX = "_last_ok:"

# the Inventory page's filter and store, which the dashboard sets before switching there
INVENTORY_ONLY_KEY = "inventory_only"
INVENTORY_STORE_KEY = "inventory_store"
