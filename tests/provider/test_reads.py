"""provider.reads: when a read is a refresh, and the marks a read leaves for the diff that follows it."""

from __future__ import annotations

import pytest

from cwroles.provider import reads


@pytest.fixture(autouse=True)
def no_marks(monkeypatch):
    monkeypatch.setattr(reads, "_marks", {})


@pytest.mark.parametrize("kind, props, refresh", [
    ("security_role", {"name": "Mobius"}, True),
    ("security_role", {"name": ""}, False),
    ("security_role", {}, False),
    ("api_member", {"identifier": "svc"}, True),
    ("api_member", {"name": "N"}, False),
    ("role_permissions", {"grants": []}, True),  # an empty grid is a grid: everything None
    ("role_permissions", {"role_id": 12}, False),
])
def test_a_refresh_is_the_read_of_a_resource_with_its_inputs_in_state(kind, props, refresh):
    assert reads.is_refresh(kind, props) is refresh


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown resource kind 'role'"):
        reads.is_refresh("role", {})


def test_a_grids_role_is_its_role_id_output_or_its_id():
    assert reads.role_id_of("12", {"role_id": 13.0}) == 13 and reads.role_id_of("12", {}) == 12


def test_a_mark_is_taken_once_by_outputs_equal_as_the_engine_hands_them_back():
    outs = {"role_id": 12, "name": "Mobius", "role_type": None, "__provider": "x"}
    assert not reads.pending()
    assert reads.note(outs) is outs
    back = {"role_id": 12.0, "name": "Mobius", "__provider": "y"}  # numbers as floats, nulls dropped
    assert reads.pending() and reads.marked(back)
    assert reads.take(back) and not reads.take(back)
    assert not reads.pending() and not reads.marked(outs)


def test_two_reads_of_the_same_outputs_leave_two_marks():
    outs = {"role_id": 12}
    reads.note(outs)
    reads.note(outs)
    assert reads.take(outs) and reads.marked(outs) and reads.take(outs) and not reads.marked(outs)
