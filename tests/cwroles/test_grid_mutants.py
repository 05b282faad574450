"""cwroles/grid.py where a mutation run found behaviour no test checked (issue 16): a level that does not
apply to a function, an empty Customize entry before others in the checklist, the exact diff rules, and
waivers that cannot be valid without a justification."""

from __future__ import annotations

import datetime as dt

import pytest

from cwroles.catalog import LEVEL_NAMES, Catalog, load_catalog
from cwroles.grid import (Change, ChecklistItem, Grant, GrantError, Level, Waiver, desired_grid, diff_grids,
                          grid_from_json, grid_to_json, live_grid, parse_checklist, render_checklist)

NONE = {n: Level.NONE for n in LEVEL_NAMES}


def narrowed(levels=("inquire",), function="SLA Dashboard") -> Catalog:
    """Every function of today's catalog has all four levels: narrow one in a copy."""
    data = load_catalog().model_dump()
    row = next(f for m in data["modules"] for f in m["functions"] if f["name"] == function)
    row["levels"] = list(levels)
    return Catalog.model_validate(data)


# ---- Level and Waiver ---------------------------------------------------------------------------------
def test_level_values_ranks_and_parse():
    assert [lv.value for lv in Level] == ["None", "My", "All"]
    assert [lv.rank for lv in Level] == [0, 1, 2]
    assert Level.parse(Level.MY) is Level.MY and Level.parse(None) is Level.NONE and Level.parse(" all ") is Level.ALL
    with pytest.raises(ValueError, match=r"^invalid level 'Some': use None, My or All$"):
        Level.parse("Some")


@pytest.mark.parametrize("field", ["justification", "approved_by"])
@pytest.mark.parametrize("blank", ["", "   "])
def test_a_waiver_needs_a_justification_and_an_approver(field, blank):
    data = {"justification": "vendor syncs invoices", "approved_by": "Jane", "expires": "2027-01-01"}
    with pytest.raises(ValueError, match=f"a waiver needs {field}"):
        Waiver.model_validate({**data, field: blank})
    w = Waiver.model_validate({**data, field: f"  {data[field]} "})
    assert getattr(w, field) == data[field] and w.valid_on(dt.date(2027, 1, 1)) and not w.valid_on(dt.date(2027, 1, 2))


def test_grant_levels_parse_and_default_to_none():
    g = Grant(module="Companies", function="Contacts", add="all", edit=None, inquire=Level.MY)
    assert g.levels() == {"add": Level.ALL, "edit": Level.NONE, "delete": Level.NONE, "inquire": Level.MY}
    assert g.where == "Companies › Contacts"


# ---- desired_grid ---------------------------------------------------------------------------------------
def test_a_level_that_does_not_apply_to_the_function_is_refused():
    catalog = narrowed()
    grants = [Grant(module="Service Desk", function="SLA Dashboard", inquire="All", add="My", delete="All")]
    with pytest.raises(GrantError) as e:
        desired_grid(grants, catalog)
    assert str(e.value) == ("Service Desk › SLA Dashboard: the Add level does not apply to this function; "
                            "Service Desk › SLA Dashboard: the Delete level does not apply to this function")
    ok = [Grant(module="Service Desk", function="SLA Dashboard", inquire="All", add="None")]
    assert desired_grid(ok, catalog)[("Service Desk", "SLA Dashboard")] == {**NONE, "inquire": Level.ALL}


def test_every_problem_is_reported_and_good_grants_after_a_bad_one_still_count():
    grants = [Grant(module="Nope", function="Nothing", inquire="All"),
              Grant(module="Companies", function="Contacts", inquire="All"),
              Grant(module="companies", function="contacts", add="All"),
              Grant(module="Companies", function="Notes", edit="My"),
              Grant(module="Companies", function="Nothing", add="All")]  # after the duplicate: still reported
    with pytest.raises(GrantError) as e:
        desired_grid(grants)
    parts = str(e.value).split("; ")
    assert "; unknown function Companies › 'Nothing'; closest catalog entries: 'Notes'; if your ConnectWise has it" \
        in str(e.value)
    assert parts[0].startswith("unknown module 'Nope'")
    assert any(p.startswith("duplicate grant for Companies › Contacts (as 'Companies › Contacts' and "
                            "'companies › contacts')") for p in parts)
    grid = desired_grid(grants[1:2] + grants[3:4])
    assert grid[("Companies", "Notes")] == {**NONE, "edit": Level.MY}
    assert grid[("Companies", "Contacts")] == {**NONE, "inquire": Level.ALL}


# ---- live_grid and diff_grids -------------------------------------------------------------------------------
def test_live_grid_reads_api_rows_in_catalog_spelling_and_keeps_unknown_names():
    grid = live_grid([
        {"moduleName": "companies", "moduleFunctionName": "contacts", "addLevel": "All", "inquireLevel": "My"},
        {"moduleName": "Custom", "moduleFunctionName": "Thing", "editLevel": "All"},
    ])
    assert grid == {("Companies", "Contacts"): {**NONE, "add": Level.ALL, "inquire": Level.MY},
                    ("Custom", "Thing"): {**NONE, "edit": Level.ALL}}


def test_diff_names_each_differing_cell_in_role_editor_order():
    desired = desired_grid([Grant(module="System", function="Table Setup", inquire="All"),
                            Grant(module="Companies", function="Contacts", add="My", inquire="All")])
    live = {**desired_grid([]), ("Companies", "Contacts"): {**NONE, "add": Level.ALL, "inquire": Level.ALL},
            ("Custom", "Thing"): {**NONE, "edit": Level.MY}, ("Aaa", "First"): {**NONE, "add": Level.ALL}}
    del live[("System", "Table Setup")]
    changes = diff_grids(desired, live)
    assert [(c.module, c.function, c.level, c.live, c.desired) for c in changes] == [
        ("Companies", "Contacts", "add", Level.ALL, Level.MY),
        ("System", "Table Setup", "inquire", None, Level.ALL),
        ("Aaa", "First", "add", Level.ALL, Level.NONE),  # unknown to the catalog: after it, by name
        ("Custom", "Thing", "edit", Level.MY, Level.NONE),
    ]
    assert str(changes[1]) == "System › Table Setup › Inquire: set All (now missing)"
    assert str(changes[0]) == "Companies › Contacts › Add: set My (now All)"
    assert changes[0].where == "Companies › Contacts › Add"


def test_grid_json_keeps_granted_cells_sorted_and_reads_back_complete():
    grid = {("Companies", "Notes"): {**NONE, "add": Level.ALL}, ("Companies", "Contacts"): {**NONE},
            ("Agreements", "Agreements"): {**NONE, "inquire": Level.MY}}
    data = grid_to_json(grid)
    assert list(data) == ["Agreements › Agreements", "Companies › Notes"]
    assert data["Companies › Notes"] == {"add": "All"}
    assert grid_from_json({"Companies > Notes": {"add": "all"}}) == {("Companies", "Notes"): {**NONE, "add": Level.ALL}}


# ---- the checklist ---------------------------------------------------------------------------------------
def test_an_empty_customize_entry_hides_no_later_customize_section():
    customize = {"System › Custom Menu Entry": {"allow": [], "disallow": []},
                 "System › Table Setup": {"allow": ["Company / Country"]},
                 "Companies › Configurations": {},
                 "Service Desk › Service Tickets": {"disallow": ["Service / Service Board"]}}
    text = render_checklist("Role", [], customize)
    assert "Custom Menu Entry › Customize" not in text and "Configurations › Customize" not in text
    assert "## System › Table Setup › Customize" in text
    assert "## Service Desk › Service Tickets › Customize" in text
    items = parse_checklist(text)
    assert [(i.customize_function, i.item, i.allow) for i in items] == [
        ("System › Table Setup", "Company / Country", True),
        ("Service Desk › Service Tickets", "Service / Service Board", False)]


def test_checklist_lines_are_exact():
    changes = [Change(module="Companies", function="Contacts", level="add", live=Level.NONE, desired=Level.ALL),
               Change(module="System", function="Table Setup", level="inquire", live=Level.ALL, desired=Level.NONE),
               Change(module="Companies", function="Notes", level="edit", live=None, desired=Level.MY)]
    # one section per module (the admin expands each module once), in the order the modules come
    text = render_checklist("Mobius", changes, {"System › Table Setup": {"allow": ["A / B"], "disallow": ["C / D"]}})
    assert text.splitlines() == [
        "# Security role “Mobius”: changes to make by hand", "",
        "ConnectWise's API cannot write a role's permission settings. In ConnectWise PSA open",
        "System › Security Roles › **Mobius**, expand each module and set:", "",
        "", "## Companies", "",
        "- [ ] Contacts: Add → **All** (now None)",
        "- [ ] Notes: Edit → **My** (now missing)",
        "", "## System", "",
        "- [ ] Table Setup: Inquire → **None** (now All)",
        "", "## System › Table Setup › Customize", "",
        "- [ ] move to “Allow access to these”: A / B",
        "- [ ] move to “Disallow access to these”: C / D",
        "", "Save the role, then run `pulumi up` again: it turns green when ConnectWise matches the code."]


def test_parse_checklist_reads_cells_and_moves_and_ignores_other_lines():
    md = "\n".join([
        "- [ ] Contacts: Add → **All** (now None)",  # before any module heading: not a cell
        "- [ ] move to “Allow access to these”: Y",  # before any Customize heading: not a move
        "## Companies", "- [ ] Contacts: Add → **All** (now None), Inquire → **My** (now All)",
        "- not a task", "## System › Table Setup › Customize",
        "- [ ] Table Setup: Inquire → **All** (now None)",  # under a Customize heading: not a cell
        "- [ ] move to “Allow access to these”: Company / Country",
        "- [ ] move to “Disallow access to these”: Company / State",
        "## System", "- [ ] move to “Allow access to these”: X",  # a move outside a Customize section
        "- [ ] Member Maintenance: Edit → **None** (now All)"])
    assert parse_checklist(md) == [
        ChecklistItem(module="Companies", function="Contacts", level="add", desired=Level.ALL),
        ChecklistItem(module="Companies", function="Contacts", level="inquire", desired=Level.MY),
        ChecklistItem(module="System", function="Table Setup", customize_function="System › Table Setup",
                      item="Company / Country", allow=True),
        ChecklistItem(module="System", function="Table Setup", customize_function="System › Table Setup",
                      item="Company / State", allow=False),
        ChecklistItem(module="System", function="Member Maintenance", level="edit", desired=Level.NONE)]


def test_a_checklist_of_a_tenant_s_own_names_reads_back_as_written():
    """A live tenant's catalog may name a function "Reports: Custom" or "Tables › Extra", and an allow-list item
    may hold the separator the checklist uses: the admin's console reads the same changes back."""
    changes = [Change(module="Custom", function="Reports: Custom", level="add", live=Level.NONE, desired=Level.ALL)]
    customize = {"System › Tables › Extra": {"allow": ["Board “Help”: Desk"], "disallow": ["a”: b”: c"]}}
    items = parse_checklist(render_checklist("Role", changes, customize))
    assert items == [
        ChecklistItem(module="Custom", function="Reports: Custom", level="add", desired=Level.ALL),
        ChecklistItem(module="System", function="Tables › Extra", customize_function="System › Tables › Extra",
                      item="Board “Help”: Desk", allow=True),
        ChecklistItem(module="System", function="Tables › Extra", customize_function="System › Tables › Extra",
                      item="a”: b”: c", allow=False)]
