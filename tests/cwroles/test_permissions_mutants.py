"""cwroles/permissions.py where a mutation run found verdicts no test checked (issue 16): which cells a stack
waiver covers, every stack waiver and allow-list read after a bad one, and the waivers that name nothing granted."""

from __future__ import annotations

import datetime as dt

from cwroles.catalog import LEVEL_NAMES
from cwroles.grid import Level, Waiver
from cwroles.permissions import ScopedWaiver, parse_customize, parse_stack_waivers
from cwroles.problems import Where

W = Waiver(justification="j", approved_by="a", expires=dt.date(2027, 1, 1))
OK = {"justification": "j", "approved_by": "a", "expires": "2027-01-01"}
NONE = {n: Level.NONE for n in LEVEL_NAMES}


def test_a_stack_waiver_covers_its_function_at_its_level_or_at_every_level():
    one = ScopedWaiver("Companies", "Contacts", "add", W)
    every = ScopedWaiver("Companies", "Contacts", None, W)
    key = ("Companies", "Contacts")
    assert one.covers(key, "add") and not one.covers(key, "edit") and not one.covers(("Companies", "Notes"), "add")
    assert every.covers(key, "add") and every.covers(key, "inquire") and not every.covers(("Companies", "Notes"), "add")


def test_every_stack_waiver_is_read_and_one_on_nothing_granted_is_refused():
    granted = {("Companies", "Contacts"): {**NONE, "add": Level.ALL}, ("Companies", "Notes"): dict(NONE)}
    out, problems = parse_stack_waivers([
        {"module": "Companies", "function": "Contacts", "level": "adds", **OK},
        {"module": "Companies", "function": "Notes", **OK},
        {"module": "Companies", "function": "Manage Attachments", **OK},
        {"module": "Companies", "function": "Contacts", "level": "edit", **OK},
        5,
        {"module": "Companies", "function": "Contacts", "level": "Add", **OK},
        {"module": "Companies", "function": "Contacts", "level": "", **OK},
    ], Where(path=("waivers",)), granted=granted)
    assert [(w.module, w.function, w.level, w.waiver, w.where.field) for w in out] == [
        ("Companies", "Contacts", "add", W, "waivers[5]"), ("Companies", "Contacts", None, W, "waivers[6]")]
    assert [str(p) for p in problems] == [
        "waivers[0].level (Companies › Contacts): level 'adds' is not one of add, edit, delete, inquire; use add, edit, delete or inquire, "
        "or leave it out for every level",
        "waivers[1] (Companies › Notes): Companies › Notes is not granted by this stack, so there is nothing to waive; remove the waiver or "
        "enable the feature that grants it",
        "waivers[2] (Companies › Manage Attachments): Companies › Manage Attachments is not granted by this stack, so there is nothing to waive; remove "
        "the waiver or enable the feature that grants it",
        "waivers[3] (Companies › Contacts): Companies › Contacts › Edit is not granted by this stack; nothing to waive; remove the waiver or "
        "name a granted level",
        "waivers[4]: must be a mapping with module, function, level (optional), justification, approved_by and "
        "expires; got 5; write {module: …, function: …, level: delete, justification: …, approved_by: …, expires: "
        "YYYY-MM-DD}",
    ]
    assert parse_stack_waivers(None, Where()) == ([], []) == parse_stack_waivers("", Where())
    [p] = parse_stack_waivers({"a": 1}, Where(path=("waivers",)))[1]
    assert str(p) == ("waivers: must be a list of waivers, got dict; write one `- {module: …, function: …, "
                      "justification: …, approved_by: …, expires: YYYY-MM-DD}` per waiver")


def test_a_stack_waiver_with_an_incomplete_waiver_is_refused():
    out, problems = parse_stack_waivers([{"module": "Companies", "function": "Contacts", **OK, "approved_by": ""}],
                                        Where(path=("waivers",)))
    assert out == [] and [p.field for p in problems] == ["waivers[0]"]


def test_every_allow_list_is_read_after_a_bad_one():
    lists, problems = parse_customize({"Nope › Nothing": ["X"], "System › Table Setup": ["Service / Service Board"]},
                                      Where(path=("customize",)))
    assert lists == {"System › Table Setup": ["Service / Service Board"]}
    assert len(problems) == 1 and problems[0].field == "customize['Nope › Nothing']"
    assert parse_customize("", Where()) == ({}, []) == parse_customize(None, Where())
    [p] = parse_customize(["x"], Where(path=("customize",)))[1]
    assert str(p) == ("customize: must map \"Module › Function\" to a list of allow-list items; e.g. "
                      "{'System › Table Setup': ['Service / Service Board']}")
