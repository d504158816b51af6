"""core.domain.ops.run: the permission is decided before the operation runs (so before it looks at its input), the
ok audit row is written from the ``Change`` the operation returns, and ``audit.write`` takes its values by name."""

from __future__ import annotations

import json

import pytest

from core.base.errors import PermissionDenied, ValidationError
from core.domain import audit
from core.domain.ops import Change, run


def _audit(db):
    with db.reader() as tx:
        return tx.all("SELECT actor, action, entity, entity_id, before, after, outcome FROM audit ORDER BY id")


def _bad_input(tx):
    raise ValidationError.single("name", "The operation looked at its input.")


def test_run__a_refused_actor_is_denied_before_the_operation_runs(shop, staff):
    before = _audit(shop)
    with pytest.raises(PermissionDenied, match="Only the owner can manage stores"):
        run(shop, staff, "store.add", _bad_input, entity="store", entity_id=" S9 ", permission="store.manage")
    assert _audit(shop)[len(before) :] == [(staff.email, "store.manage", "store", "S9", None, None, "denied")]


def test_run__the_refusal_carries_what_was_attempted(shop, staff):
    with pytest.raises(PermissionDenied):
        run(shop, staff, "store.add", _bad_input, entity="store", permission="store.manage", attempted={"name": "x"})
    assert json.loads(_audit(shop)[-1][5]) == {"name": "x"}


def test_run__an_allowed_actor_runs_it_and_gets_one_row_from_its_change(shop, owner):
    before = _audit(shop)

    def body(tx):
        return Change({"n": 1}, entity_id="E1", before={"a": 1}, after={"a": 2})

    assert run(shop, owner, "thing.change", body, entity="thing", permission="store.manage") == {"n": 1}
    new = _audit(shop)[len(before) :]
    assert new == [(owner.email, "thing.change", "thing", "E1", '{"a": 1}', '{"a": 2}', "ok")]


def test_run__a_plain_result_gets_no_row_from_the_runner(shop, owner):
    before = _audit(shop)
    assert run(shop, owner, "thing.look", lambda tx: {"n": 2}, entity="thing") == {"n": 2}
    assert _audit(shop) == before


def test_run__a_repeat_returns_the_changes_result_and_writes_nothing(shop, owner):
    def body(tx):
        return Change({"n": 3}, entity_id="E2", after={"a": 3})

    first = run(shop, owner, "thing.change", body, entity="thing", client_op_id="op-1")
    rows = _audit(shop)
    again = run(shop, owner, "thing.change", body, entity="thing", client_op_id="op-1")
    assert first == {"n": 3} and again == {"n": 3, "replayed": True}
    assert _audit(shop) == rows


def test_audit_write__takes_its_values_by_name_only(db):
    with db.transaction() as tx, pytest.raises(TypeError):
        audit.write(tx, "a@x.test", "thing.change", "thing")  # type: ignore[misc]
