"""Drift lines: what the provider records about a changed cell, and how cwroles drift reads it back."""

import pytest

from cwroles.grid import Level, drift_lines, parse_drift_line


def test_a_drift_line_reads_back_as_the_cell_and_the_level_it_was():
    before = {("Service Desk", "Service Tickets"): {"add": Level.NONE, "edit": Level.NONE, "delete": Level.NONE,
                                                    "inquire": Level.ALL}}
    after = {("Service Desk", "Service Tickets"): {"add": Level.NONE, "edit": Level.NONE, "delete": Level.ALL,
                                                   "inquire": Level.MY}}
    lines = drift_lines(before, after)
    assert lines == ["Service Desk › Service Tickets › Delete: now All (was None)",
                     "Service Desk › Service Tickets › Inquire: now My (was All)"]
    assert [parse_drift_line(x) for x in lines] == [(("Service Desk", "Service Tickets", "delete"), "None"),
                                                     (("Service Desk", "Service Tickets", "inquire"), "All")]
    for bad in ("Service Desk › Service Tickets: now All (was None)", "checked at 10:00", "A › B › Purge: now All (was None)"):
        with pytest.raises(ValueError):
            parse_drift_line(bad)


def test_a_tenant_s_own_names_read_back_whole():
    """A live tenant may name a function anything, e.g. "Reports: now (was old)"."""
    none = {n: Level.NONE for n in ("add", "edit", "delete", "inquire")}
    key = ("Custom", "Reports: now (was old)")
    [line] = drift_lines({key: dict(none)}, {key: {**none, "edit": Level.MY}})
    assert parse_drift_line(line) == (("Custom", "Reports: now (was old)", "edit"), "None")
    for bad in ("A › B › Edit: now All (was None) extra", "A › B › Edit: now All", "A › B › Edit: now Some (was None)"):
        with pytest.raises(ValueError, match=r"^not a drift line: "):
            parse_drift_line(bad)
