"""A checklist written by render_checklist reads back as exactly the changes it lists."""

from cwroles.grid import Grant, Level, desired_grid, diff_grids, parse_checklist, render_checklist


def test_checklist_round_trip_cells_and_customize():
    desired = desired_grid([
        Grant(module="System", function="Table Setup", inquire="All"),
        Grant(module="Service Desk", function="Service Tickets", add="All", edit="My"),
    ])
    live = desired_grid([Grant(module="Companies", function="Contacts", delete="All")])
    changes = diff_grids(desired, live)
    md = render_checklist("MSP Process", changes, {
        "System › Table Setup": {"allow": ["Service / Service Board"], "disallow": ["Company / Country"]},
    })
    items = parse_checklist(md)
    cells = [(i.module, i.function, i.level, i.desired) for i in items if i.level]
    assert cells == [(c.module, c.function, c.level, c.desired) for c in changes]
    assert ("Companies", "Contacts", "delete", Level.NONE) in cells
    moves = [(i.customize_function, i.item, i.allow) for i in items if i.item]
    assert moves == [
        ("System › Table Setup", "Service / Service Board", True),
        ("System › Table Setup", "Company / Country", False),
    ]


def test_empty_checklist_has_no_items():
    assert parse_checklist(render_checklist("API", [])) == []
