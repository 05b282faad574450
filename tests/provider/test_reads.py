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


def test_marks_of_different_outputs_are_apart_and_key_order_does_not_matter():
    import datetime as dt

    reads.note({"role_id": 12, "pending": ["Finance › Invoicing › Add: set All (now None)"], "on": dt.date(2027, 1, 2)})
    assert not reads.marked({"role_id": 13, "pending": ["Finance › Invoicing › Add: set All (now None)"],
                             "on": dt.date(2027, 1, 2)})
    assert not reads.marked({"role_id": 12, "pending": [], "on": dt.date(2027, 1, 2)})
    assert not reads.marked({"role_id": 12, "pending": ["Finance › Invoicing › Add: set My (now None)"],
                             "on": dt.date(2027, 1, 2)})
    assert reads.marked({"on": dt.date(2027, 1, 2), "pending": ["Finance › Invoicing › Add: set All (now None)"],
                         "role_id": 12})


class Client:
    """Records which record a fetch asked for."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []

    def security_role_record(self, role_id: int) -> dict:
        self.asked.append(("role", role_id))
        return {"id": role_id}

    def api_member_record(self, member_id: int) -> dict:
        self.asked.append(("member", member_id))
        return {"id": member_id}

    def role_settings_records(self, role_id: int) -> list:
        self.asked.append(("settings", role_id))
        return []


def test_each_kind_fetches_its_one_record():
    client = Client()
    assert reads.fetch("security_role", client, "12", {}) == {"id": 12}
    assert reads.fetch("api_member", client, "31", {}) == {"id": 31}
    assert reads.fetch("role_permissions", client, "12", {"grants": []}) == []
    assert reads.fetch("role_permissions", client, "12", {"role_id": 14.0}) == []
    assert client.asked == [("role", 12), ("member", 31), ("settings", 12), ("settings", 14)]
    with pytest.raises(ValueError, match="unknown resource kind 'role'"):
        reads.fetch("role", client, "12", {})


def test_an_object_that_is_gone_is_fetched_as_none():
    from cwroles.provider import NotFound

    class Gone(Client):
        def security_role_record(self, role_id: int) -> dict:
            raise NotFound("gone", method="GET", path=f"/system/securityroles/{role_id}", status=404)

    assert reads.fetch("security_role", Gone(), "12", {}) is None
