"""cwroles/grid.py: levels, desired/live grids, diffs and the admin checklist."""

import datetime as dt

import pytest

from cwroles.catalog import LEVEL_NAMES, load_catalog
from cwroles.grid import (
    Change,
    Grant,
    GrantError,
    Level,
    Waiver,
    desired_grid,
    diff_grids,
    grid_from_json,
    grid_to_json,
    live_grid,
    render_checklist,
)


# ---- Level --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,level", [("All", Level.ALL), (" my ", Level.MY), ("NONE", Level.NONE), (None, Level.NONE)])
def test_level_parse_accepts_case_and_none(text, level):
    assert Level.parse(text) is level


@pytest.mark.parametrize("bad", ["Everyone", "", "1", "Al"])
def test_level_parse_errors_say_what_to_use(bad):
    with pytest.raises(ValueError, match=r"invalid level .*: use None, My or All"):
        Level.parse(bad)


def test_level_rank_orders_levels():
    assert Level.NONE.rank < Level.MY.rank < Level.ALL.rank


def test_grant_rejects_bad_level_and_unknown_field():
    with pytest.raises(ValueError, match="use None, My or All"):
        Grant(module="Companies", function="Contacts", add="Some")
    with pytest.raises(ValueError):
        Grant(module="Companies", function="Contacts", approve="All")


def test_waiver_valid_until_its_expiry_day():
    w = Waiver(justification="x", approved_by="y", expires=dt.date(2027, 1, 1))
    assert w.valid_on(dt.date(2027, 1, 1)) and not w.valid_on(dt.date(2027, 1, 2))


# ---- desired_grid -------------------------------------------------------------------------------------
def test_desired_grid_covers_every_catalog_function():
    cat = load_catalog()
    grid = desired_grid([Grant(module="Companies", function="Contacts", inquire="All")])
    assert set(grid) == {(m.name, f.name) for m, f in cat.functions()}
    assert grid[("Companies", "Contacts")] == {"add": Level.NONE, "edit": Level.NONE, "delete": Level.NONE, "inquire": Level.ALL}
    others = [v for k, v in grid.items() if k != ("Companies", "Contacts")]
    assert all(lv is Level.NONE for cell in others for lv in cell.values())


def test_desired_grid_uses_catalog_spelling_for_aliases():
    grid = desired_grid([Grant(module="Service Desk", function="Service Ticket - Dependancies", add="My")])
    assert grid[("Service Desk", "Service Ticket - Dependencies")]["add"] is Level.MY


def test_desired_grid_reports_all_unknown_and_duplicate_grants_at_once():
    grants = [
        Grant(module="Companies", function="Contactz", inquire="All"),
        Grant(module="Procurement", function="Purchase Orders", inquire="All"),
        Grant(module="Procurement", function="Purchase Orders (Aiso)", inquire="All"),
    ]
    with pytest.raises(GrantError) as e:
        desired_grid(grants)
    msg = str(e.value)
    assert "unknown function Companies › 'Contactz'" in msg
    assert "duplicate grant for Procurement › Purchase Orders" in msg and "merge them into one" in msg


# ---- live_grid / diff_grids --------------------------------------------------------------------------
def _row(module, function, add="None", edit="None", delete="None", inquire="None"):
    return {"moduleName": module, "moduleFunctionName": function, "addLevel": add, "editLevel": edit,
            "deleteLevel": delete, "inquireLevel": inquire}


def _full_live(overrides):
    cat = load_catalog()
    rows = []
    for m, f in cat.functions():
        rows.append(overrides.get((m.name, f.name), _row(m.name, f.name)))
    return rows


def test_diff_is_empty_when_live_matches():
    desired = desired_grid([Grant(module="System", function="Table Setup", inquire="All")])
    live = live_grid(_full_live({("System", "Table Setup"): _row("System", "Table Setup", inquire="All")}))
    assert diff_grids(desired, live) == []


def test_diff_lists_cells_in_role_editor_order_with_live_values():
    desired = desired_grid([
        Grant(module="System", function="Table Setup", inquire="All"),
        Grant(module="Companies", function="Contacts", add="All", inquire="All"),
    ])
    live = live_grid(_full_live({
        ("Companies", "Notes"): _row("Companies", "Notes", delete="All"),  # drift added by hand
        ("Companies", "Contacts"): _row("Companies", "Contacts", inquire="My"),
    }))
    changes = diff_grids(desired, live)
    assert [(c.module, c.function, c.level, c.live, c.desired) for c in changes] == [
        ("Companies", "Contacts", "add", Level.NONE, Level.ALL),
        ("Companies", "Contacts", "inquire", Level.MY, Level.ALL),
        ("Companies", "Notes", "delete", Level.ALL, Level.NONE),
        ("System", "Table Setup", "inquire", Level.NONE, Level.ALL),
    ]
    assert str(changes[1]) == "Companies › Contacts › Inquire: set All (now My)"


def test_diff_missing_live_function_only_when_something_is_wanted():
    desired = desired_grid([Grant(module="System", function="Table Setup", inquire="All")])
    changes = diff_grids(desired, {})  # live role shows no rows at all
    assert [(c.where, c.live) for c in changes] == [("System › Table Setup › Inquire", None)]
    assert str(changes[0]) == "System › Table Setup › Inquire: set All (now missing)"


def test_live_rows_unknown_to_catalog_are_drift_when_granted():
    desired = desired_grid([])
    live = live_grid(_full_live({}) + [_row("Widgets", "Frobnicate", add="All")])
    changes = diff_grids(desired, live)
    assert [(c.module, c.function, c.level) for c in changes] == [("Widgets", "Frobnicate", "add")]


def test_grid_json_round_trip_keeps_only_granted_cells():
    desired = desired_grid([Grant(module="Companies", function="Notes", add="All", inquire="My")])
    data = grid_to_json(desired)
    assert data == {"Companies › Notes": {"add": "All", "inquire": "My"}}
    back = grid_from_json(data)
    assert back[("Companies", "Notes")] == {n: desired[("Companies", "Notes")][n] for n in LEVEL_NAMES}


# ---- render_checklist --------------------------------------------------------------------------------
def test_checklist_groups_by_module_and_lists_customize_moves():
    changes = [
        Change(module="Companies", function="Contacts", level="add", live=Level.NONE, desired=Level.ALL),
        Change(module="Companies", function="Contacts", level="inquire", live=None, desired=Level.ALL),
        Change(module="System", function="Table Setup", level="inquire", live=Level.MY, desired=Level.ALL),
    ]
    text = render_checklist(
        "Mobius", changes,
        {"System › Table Setup": {"allow": ["Products / UOM"], "disallow": ["Service / Service Board"]},
         "System › Custom Menu Entry": {"allow": [], "disallow": []}},
    )
    assert text.startswith("# Security role “Mobius”: changes to make by hand")
    assert "System › Security Roles › **Mobius**" in text
    assert "## Companies" in text and "## System" in text
    assert text.index("## Companies") < text.index("## System")
    assert "- [ ] Contacts: Add → **All** (now None), Inquire → **All** (now missing)" in text
    assert "- [ ] Table Setup: Inquire → **All** (now My)" in text
    assert "## System › Table Setup › Customize" in text
    assert "- [ ] move to “Allow access to these”: Products / UOM" in text
    assert "- [ ] move to “Disallow access to these”: Service / Service Board" in text
    assert "Custom Menu Entry › Customize" not in text  # nothing to move there
    assert "run `pulumi up` again" in text


def test_checklist_without_changes_has_no_module_sections():
    text = render_checklist("API", [])
    assert "## " not in text and "- [ ]" not in text
