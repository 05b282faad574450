"""The core's one model of a role's declared permissions: names, dates, limits, grants, waivers, lists.

Every consumer (manifest loader, stack program, provider check, policy pack, CLI) parses through these
functions; a problem is data with a location and a fix, never an exception.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cwroles.grid import Level, Waiver
from cwroles.names import UnknownName, resolve_customize_item, resolve_function, split_function
from cwroles.permissions import (grid_of, max_levels, member_identifier_problem, parse_customize, parse_date,
                                 parse_grant, parse_grants, parse_stack_waivers, parse_waiver, role_name_problem)
from cwroles.catalog import load_catalog
from cwroles.problems import LineIndex, Where


# ---- dates: one parser, quoted or not ------------------------------------------------------------------
@pytest.mark.parametrize("value", [
    "2027-06-30", " 2027-06-30 ", dt.date(2027, 6, 30), dt.datetime(2027, 6, 30, 12, 0),
    "2027-06-30T00:00:00Z", "2027-06-30T23:00:00-05:00",
    "2027-06-30 00:00:00 +0000 UTC",  # the Pulumi CLI's rendering of an unquoted YAML date in a stack file
    "2027-06-30 23:00:00 -0500 -0500",
])
def test_one_date_parser_takes_every_form_a_date_arrives_in(value):
    assert parse_date(value) == dt.date(2027, 6, 30)


@pytest.mark.parametrize("value", ["soon", "2027-13-01", "30.06.2027", 20270630, True, None, "2027-06-30 and more"])
def test_date_parser_refuses_anything_else(value):
    with pytest.raises(ValueError, match="is not a date; write it as YYYY-MM-DD"):
        parse_date(value)


def test_waiver_models_use_the_same_parser():
    assert Waiver(justification="j", approved_by="a", expires="2027-06-30 00:00:00 +0000 UTC").expires == dt.date(2027, 6, 30)
    w, problems = parse_waiver({"justification": "j", "approved_by": "a", "expires": "2027-06-30 00:00:00 +0000 UTC"},
                               Where())
    assert problems == [] and w.expires == dt.date(2027, 6, 30)


# ---- names -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("System › Table Setup", ("System", "Table Setup")),
    ("System>Table Setup", ("System", "Table Setup")),
    ("  Companies ›  Company/Contact Group Maintenance ", ("Companies", "Company/Contact Group Maintenance")),
])
def test_module_function_text_is_split_in_one_place(text, expected):
    assert split_function(text) == expected


@pytest.mark.parametrize("text", ["Table Setup", "System ›", "› Table Setup", ""])
def test_text_without_module_and_function_says_how_to_write_it(text):
    with pytest.raises(UnknownName, match='is not "Module › Function"; write it like "System › Table Setup"'):
        split_function(text)


@pytest.mark.parametrize("module,function,message,fix", [
    ("Tickets", "Service Tickets", "unknown module 'Tickets': ConnectWise PSA has no such module",
     "'Service Tickets' is Service Desk › Service Tickets: write module 'Service Desk'"),
    ("Tickets", "Ticket Entry", "unknown module 'Tickets': ConnectWise PSA has no such module",
     "use Service Desk › Service Tickets or Project › Project Tickets"),
    ("Service Desk", "Ticket Statuses", "Service Desk › 'Ticket Statuses' is not a security-role function but a Table Setup list",
     "grant System › Table Setup (Inquire) and allow “Service / Service Board” in customize “System › Table Setup”"),
    ("Companies", "Company Statuses", "not a security-role function but a Table Setup list", "“Company / Company Status”"),
    ("Companies", "Configuration Types", "not a security-role function but a Table Setup list", "“Company / Configuration”"),
    ("Service Desk", "Contacts", "unknown function Service Desk › 'Contacts' (it exists as Companies › Contacts)",
     "write module 'Companies'"),
    ("System", "Member Maintanance", "unknown function System › 'Member Maintanance'",
     "closest catalog entries: 'Member Maintenance'"),
    ("Sytem", "Security", "unknown module 'Sytem'", "closest catalog entries: 'System'"),
])
def test_wrong_names_point_to_the_right_place(module, function, message, fix):
    with pytest.raises(UnknownName) as e:
        resolve_function(module, function)
    assert message in e.value.message and fix in e.value.fix, str(e.value)


def test_every_rename_of_a_vendor_spelling_is_a_notice_naming_both():
    r = resolve_function("Time and Expense", "Time Entry")
    assert r.key == ("Time & Expense", "Time Entry")
    assert r.notices == (("module", "module 'Time and Expense' is 'Time & Expense' in ConnectWise PSA "
                                    "(renamed from the vendor's spelling)"),)
    assert resolve_function("Service Desk", "Service Ticket - Dependancies").notices[0][1].startswith(
        "function 'Service Ticket - Dependancies' is 'Service Ticket - Dependencies'")
    assert resolve_function("Procurement", "Purchase Orders (Aiso)").notices  # an alias is a rename too
    # case, spaces and a trailing "module" are not renames
    assert resolve_function("  finance module", "invoicing").notices == ()


def test_table_setup_items_resolve_with_notices_and_suggestions():
    _, ts = load_catalog().function("System", "Table Setup")
    assert resolve_customize_item(ts, "Contacts / Department") == (
        "Contacts / Departments",
        "Table Setup table 'Contacts / Department' is 'Contacts / Departments' in ConnectWise PSA "
        "(renamed from the vendor's spelling)")
    assert resolve_customize_item(ts, "invoicing / tax code") == ("Invoicing / Tax Code", None)
    with pytest.raises(UnknownName, match=r"a table is named \"Category / Table\"; write 'Service / Service Board'"):
        resolve_customize_item(ts, "Service Boards")
    with pytest.raises(UnknownName, match=r"that list is kept in the Table Setup table “Service / Service Board”"):
        resolve_customize_item(ts, "Ticket Statuses")


def test_names_data_never_shadows_a_real_module_or_function():
    from cwroles.catalog import normalize
    from cwroles.names import misplaced

    cat = load_catalog()
    modules = {normalize(n) for m in cat.modules for n in (m.name, *m.aliases)}
    for entry in misplaced().modules:
        assert not {normalize(n) for n in (entry.name, *entry.aliases)} & modules, entry.name
        for where in entry.means:
            resolve_function(*split_function(where))  # points to real rows
    for entry in misplaced().lists:
        cat.setup_table(entry.table)


# ---- limits ----------------------------------------------------------------------------------------------
def test_limits_live_in_one_place():
    assert role_name_problem("R" * 30) is None
    assert role_name_problem("R" * 31) == (f"role name '{'R' * 31}' is 31 characters; ConnectWise allows at most 30",
                                           "shorten it")
    assert member_identifier_problem("Acme.Sync_1-a") is None
    msg, fix = member_identifier_problem("Acme Sync")
    assert "has characters ConnectWise does not take" in msg and "1-15 letters, digits" in fix
    assert "at most 15" in member_identifier_problem("A" * 16)[0]


# ---- grants, waivers, lists -----------------------------------------------------------------------------
def test_grant_parse_reports_every_problem_with_its_field():
    row, problems = parse_grant({"module": "Finance", "function": "Invoicing", "add": "Full", "edit": "All",
                                 "waiver": {"justification": "j", "expires": "soon"}}, Where("f.yaml", ("grants", 2)))
    assert row is None
    assert [str(p) for p in problems] == [
        "f.yaml grants[2].add (Finance › Invoicing): Add 'Full' is not a level; use None, My or All",
        "f.yaml grants[2].waiver (Finance › Invoicing): waiver is missing approved_by; a waiver needs justification, "
        "approved_by and expires (YYYY-MM-DD)",
        "f.yaml grants[2].waiver.expires (Finance › Invoicing): waiver expires 'soon' is not a date; write it as "
        "YYYY-MM-DD, e.g. 2027-11-22",
    ]


def test_lenient_grant_parse_keeps_the_worst_case_for_the_policy_pack():
    row, problems = parse_grant({"module": "Finance", "function": "Invoicing", "add": "Full"}, Where(),
                                lenient_levels=True)
    assert row.levels["add"] is Level.ALL and problems


def test_grants_list_duplicates_and_grid():
    rows, problems = parse_grants([{"module": "Companies", "function": "Contacts", "inquire": "All"},
                                   {"module": "company module", "function": "contacts", "add": "All"}],
                                  Where(path=("grants",)))
    assert [str(p) for p in problems if p.is_error] == [
        "grants[1]: duplicate grant for Companies › Contacts (also grants[0]); merge them into one"]
    grid = grid_of(rows)
    assert grid[("Companies", "Contacts")]["inquire"] is Level.ALL and grid[("Finance", "Invoicing")]["add"] is Level.NONE


def test_feature_raise_is_the_maximum_per_verb():
    base = {"add": Level.NONE, "edit": Level.MY, "delete": Level.NONE, "inquire": Level.ALL}
    raised = {"add": Level.NONE, "edit": Level.ALL, "delete": Level.NONE, "inquire": Level.MY}
    assert max_levels(base, raised) == {"add": Level.NONE, "edit": Level.ALL, "delete": Level.NONE, "inquire": Level.ALL}


def test_stack_waivers_must_name_a_granted_cell():
    grid = grid_of(parse_grants([{"module": "Finance", "function": "Invoicing", "delete": "All"}], Where())[0])
    waivers, problems = parse_stack_waivers(
        [{"module": "Finance", "function": "Invoicing", "level": "Delete", "justification": "j", "approved_by": "a",
          "expires": "2027-06-30 00:00:00 +0000 UTC"},
         {"module": "Finance", "function": "Invoicing", "level": "add", "justification": "j", "approved_by": "a",
          "expires": "2027-06-30"}],
        Where(prefix="cwroles:", path=("waivers",)), granted=grid)
    assert [w.to_json() for w in waivers] == [{"module": "Finance", "function": "Invoicing", "level": "delete",
                                               "justification": "j", "approved_by": "a", "expires": "2027-06-30"}]
    assert [str(p) for p in problems] == [
        "cwroles:waivers[1] (Finance › Invoicing): Finance › Invoicing › Add is not granted by this stack; nothing to "
        "waive; remove the waiver or name a granted level"]


def test_customize_lists_merge_per_function_in_catalog_spelling():
    lists, problems = parse_customize({"System › Table Setup": ["service/service board"],
                                       "System > Setup Tables": ["Service / Service Board", "Products / UOM"]}, Where())
    assert lists == {"System › Table Setup": ["Service / Service Board", "Products / UOM"]}
    assert [p.severity for p in problems] == ["notice"]  # "Setup Tables" is ConnectWise's "Table Setup"


# ---- locations ------------------------------------------------------------------------------------------
def test_line_index_points_at_keys_and_items():
    text = "a: 1\nlist:\n- x: 1\n  y: 2\n- z\n\"cwroles:k\": [1, 2]\n"
    idx = LineIndex.from_yaml(text)
    assert idx.line(("list", 0, "y")) == 4 and idx.line(("list", 1)) == 5 and idx.line(("a",)) == 1
    assert idx.line(("list", 7, "nope")) == 2  # the closest known parent
    w = Where("Pulumi.s.yaml", ("k", 1), "cwroles:", idx)
    assert w.field == "cwroles:k[1]" and w.line == 6
    assert Where(path=("customize", "System › Table Setup", 0)).field == "customize['System › Table Setup'][0]"
