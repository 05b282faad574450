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


# ---- grants: strict (manifests, stacks) and lenient (the policy pack) ---------------------------------------
from cwroles.catalog import Catalog, load_catalog  # noqa: E402
from cwroles.permissions import parse_grant, parse_grant_list, parse_waiver  # noqa: E402


def narrowed(levels=("inquire",), function="SLA Dashboard") -> Catalog:
    data = load_catalog().model_dump()
    row = next(f for m in data["modules"] for f in m["functions"] if f["name"] == function)
    row["levels"] = list(levels)
    return Catalog.model_validate(data)


def test_a_level_that_does_not_apply_is_refused_strictly_and_checked_at_its_worst_leniently():
    raw = {"module": "Service Desk", "function": "SLA Dashboard", "add": "All", "edit": "Some", "inquire": "My"}
    row, problems = parse_grant(raw, Where(path=("grants", 0)), narrowed())
    assert row is None and [str(p) for p in problems] == [
        "grants[0].add (Service Desk › SLA Dashboard): the Add level does not apply to Service Desk › SLA Dashboard "
        "(its levels: Inquire); remove add",
        "grants[0].edit (Service Desk › SLA Dashboard): Edit 'Some' is not a level; use None, My or All"]
    row, lenient = parse_grant(raw, Where(path=("grants", 0)), narrowed(), lenient_levels=True)
    assert [str(p) for p in lenient] == [str(p) for p in problems] + [
        "grants[0].edit (Service Desk › SLA Dashboard): the Edit level does not apply to Service Desk › SLA Dashboard "
        "(its levels: Inquire); remove edit"]
    assert row is not None and row.levels == {"add": Level.ALL, "edit": Level.ALL, "delete": Level.NONE,
                                              "inquire": Level.MY}
    none = parse_grant({**raw, "add": None, "edit": None, "inquire": "All"}, Where(), narrowed(()), lenient_levels=True)
    assert "(its levels: none)" in str(none[1][0])
    strict, _ = parse_grant({"module": "Companies", "function": "Contacts", "add": "Some", "inquire": "All"}, Where())
    assert strict is None


def test_an_unknown_function_is_kept_as_written_by_the_pack_and_blank_names_are_missing():
    row, problems = parse_grant({"module": " Companies ", "function": " Nope ", "add": "Some"}, Where(path=("g",)),
                                lenient_levels=True)
    assert (row.module, row.function, row.resolved, row.levels["add"]) == ("Companies", "Nope", False, Level.ALL)
    assert str(problems[-1]) == "g.add (Companies › Nope): Add 'Some' is not a level; use None, My or All"
    assert parse_grant({"module": " Companies ", "function": " Nope "}, Where())[0] is None  # strict
    row, problems = parse_grant({"module": " ", "function": "Contacts"}, Where(path=("g",)))
    assert row is None and [str(p) for p in problems] == [
        "g: missing module; a grant names a module and a function, e.g. module: Finance, function: Invoicing"]


def test_a_grant_list_reads_every_grant_and_is_strict_unless_asked():
    raw = [{"module": "Companies", "function": "Contacts", "add": "Some"}, "skip me",
           {"module": "Companies", "function": "Notes", "inquire": "All"}]
    rows, _ = parse_grant_list(raw, Where(path=("grants",)), skip=lambda g: g == "skip me")
    assert rows[0] is None and rows[1] is None and rows[2].function == "Notes"
    rows, _ = parse_grant_list(raw[:1], Where(path=("grants",)), lenient_levels=True)
    assert rows[0].levels["add"] is Level.ALL
    [p] = parse_grant_list({"a": 1}, Where(path=("grants",)))[1]
    assert str(p) == "grants: must be a list of grants, got dict; write one `- {module: …, function: …, inquire: All}` " \
                     "per grant"


def test_a_waiver_without_an_expiry_says_only_that():
    w, problems = parse_waiver({"justification": "j", "approved_by": "a"}, Where(path=("waiver",)))
    assert w is None and [p.message for p in problems] == ["waiver is missing expires"]


def test_a_stack_waiver_of_a_tenant_s_own_function():
    from cwroles.catalog_extras import catalog_for

    catalog = catalog_for({"functions": [{"module": "Companies", "function": "Acme Sync", "levels": ["inquire"]}]})
    raw = [{"module": "Companies", "function": "Acme Sync", **OK}]
    out, problems = parse_stack_waivers(raw, Where(path=("waivers",)), catalog)
    assert [(w.module, w.function) for w in out] == [("Companies", "Acme Sync")] and problems == []
    assert parse_stack_waivers(raw, Where(path=("waivers",)))[0] == []
