"""The three vendor stacks under the real engine against the emulator.

For each: the first `pulumi up` fails with exactly the vendor's grants as the checklist (compared with
the transcription below, written from shared/vendor-docs by hand — not read from the manifests);
after the admin applies it in the console, `up` is green and `preview --refresh --expect-no-changes`
passes; switching a feature on adds exactly its grants.
"""

from __future__ import annotations

import json

import pytest
from pulumi import automation as auto

from cwroles.catalog import load_catalog
from cwroles.grid import parse_checklist
from cwsim.console_client import apply_checklist

from .conftest import tenant_config
from .harness import REPO, Project, outputs

pytestmark = pytest.mark.engine

A, E, D, I = "add", "edit", "delete", "inquire"

# Transcribed from the vendor pages: (module, function) -> levels set to All.
MSP_PROCESS = {
    ("Companies", "Company Maintenance"): {I},
    ("Companies", "Company/Contact Group Maintenance"): {I},
    ("Companies", "Contacts"): {A, E, I},
    ("Companies", "CRM/Sales Activities"): {I},
    ("Companies", "Manage Attachments"): {A, I},
    ("Companies", "Notes"): {A, E, I},
    ("Companies", "Team Members"): {I},
    ("Project", "Project Tickets"): {I},
    ("Service Desk", "Close Service Tickets"): {A, E, I},
    ("Service Desk", "Resource Scheduling"): {A, I},
    ("Service Desk", "Service Ticket - Dependancies"): {A, E, I},
    ("Service Desk", "Service Tickets - Finance"): {I},
    ("Service Desk", "Service Tickets"): {A, E, I},
    ("Service Desk", "SLA Dashboard"): {I},
    ("Service Desk", "Ticket Templates"): {I},
    ("System", "Member Maintenance"): {I},
    ("System", "My Company"): {I},
    ("System", "Table Setup"): {I},
}
MSP_PROCESS_TABLES = [
    "Activities / Activity Status-CRM", "Activities / Activity Type", "Company / Company Status",
    "Company / Company Type", "Company / Configuration", "Company / Configuration Status", "Company / Team Role",
    "Contacts / Communication Type", "Contacts / Contact Relationship", "Contacts / Contact Type",
    "Contacts / Department", "General / Auto Sync", "Scheduling / Location", "Scheduling / Reminder Time",
    "Scheduling / Schedule Type", "Scheduling / Schedule Status", "Service / Priority", "Service / Service Board",
    "Service / Severity", "Service / Source", "Service / Ticket Description Links", "Service / Ticket Templates",
    "Time / Work Role", "Time / Work Type",
]
MOBIUS = {
    ("Companies", "Company Maintenance"): {I},
    ("Companies", "Contacts"): {I},
    ("Companies", "Manage Attachments"): {I},
    ("Finance", "Accounting Interface"): {A, E, D, I},
    ("Finance", "Invoicing"): {E, D, I},
    ("Procurement", "Product Catalog"): {I},
    ("Procurement", "Products"): {I},
    ("Procurement", "Purchase Orders"): {I},
    ("Project", "Project Tickets"): {I},
    ("Service Desk", "Service Tickets"): {I},
    ("System", "API Reports"): {I},
    ("System", "Custom Menu Entry"): {A, E, D, I},
    ("System", "Member Maintenance"): {I},
    ("System", "Table Setup"): {I},
    ("Time & Expense", "Expense Report Entry"): {I},
    ("Time & Expense", "Time Entry"): {I},
}
MOBIUS_TABLES = ["General Ledger / Accounting Package", "Invoicing / Billing Status", "Invoicing / Tax code",
                 "Products / UOM"]
MANAGED_BACKUP = {
    ("System", "Table Setup"): {I},
    ("Companies", "Company Maintenance"): {I},
    ("Companies", "Contacts"): {I},
    ("Service Desk", "Close Service Tickets"): {I, E},
    ("Service Desk", "Service Tickets"): {I, E, A},
    ("Finance", "Agreements"): {I, E, A},
    ("Finance", "Company Finance"): {I, E, A},
    ("Procurement", "Product Catalog"): {I},
    ("Procurement", "Products"): {I},
    ("Procurement", "Product Billable Option"): {I, E, A},
}
VENDORS = {
    "msp-process": ("MSP Process", MSP_PROCESS, {"System › Table Setup": MSP_PROCESS_TABLES}),
    "mobius": ("Mobius", MOBIUS, {"System › Table Setup": MOBIUS_TABLES}),
    "managed-backup": ("API", MANAGED_BACKUP, {"System › Table Setup": ["Service / Service Board"]}),
}


def _canon_cells(rows: dict) -> set[tuple[str, str, str, str]]:
    catalog = load_catalog()
    out = set()
    for (module, function), levels in rows.items():
        m, f = catalog.function(module, function)
        out |= {(m.name, f.name, lv, "All") for lv in levels}
    return out


def _canon_items(lists: dict[str, list[str]]) -> set[tuple[str, str]]:
    catalog = load_catalog()
    out = set()
    for fn, items in lists.items():
        for item in items:
            out.add((fn, catalog.setup_table(item).name if fn.endswith("Table Setup") else item))
    return out


def _checklist(project: Project, role: str) -> tuple[set, set]:
    items = parse_checklist((project.root / ".cwroles" / "checklists" / f"{role}.md").read_text())
    cells = {(i.module, i.function, i.level, i.desired.value) for i in items if i.level}
    moves = {(i.customize_function, i.item) for i in items if i.item and i.allow}
    return cells, moves


def _stack(sim, make_project, integration: str, features: list[str] | None = None):
    project = make_project((REPO / "__main__.py").read_text(), name=f"cw-{integration}")
    config = {**tenant_config(sim), "cwroles:integration": integration}
    if features:
        config["cwroles:features"] = json.dumps(features)
    return project, project.stack(integration, config)


@pytest.mark.parametrize("integration", list(VENDORS))
def test_vendor_stack_checklist_console_green(sim, make_project, integration):
    role, cells, lists = VENDORS[integration]
    project, stack = _stack(sim, make_project, integration)

    with pytest.raises(auto.errors.CommandError):
        stack.up()
    got_cells, got_moves = _checklist(project, role)
    assert got_cells == _canon_cells(cells)
    assert got_moves == _canon_items(lists)

    applied = apply_checklist(sim.console_api, role, (project.root / ".cwroles" / "checklists" / f"{role}.md").read_text())
    assert applied.levels == len(got_cells)
    up = stack.up()
    assert up.summary.result == "succeeded"
    out = outputs(stack)
    assert out["role_name"] == role and out["pending"] == []
    assert "API Keys" in out["next_step"]
    stack.preview(refresh=True, expect_no_changes=True)


def test_features_add_exactly_their_grants(sim, make_project):
    # MSP Process: green without features, then switch on invoices-tab and time-entries.
    project, stack = _stack(sim, make_project, "msp-process")
    with pytest.raises(auto.errors.CommandError):
        stack.up()
    apply_checklist(sim.console_api, "MSP Process",
                    (project.root / ".cwroles" / "checklists" / "MSP Process.md").read_text())
    stack.up()

    stack.set_config("cwroles:features", auto.ConfigValue(json.dumps(["invoices-tab", "time-entries"])))
    with pytest.raises(auto.errors.CommandError):
        stack.up()
    cells, moves = _checklist(project, "MSP Process")
    assert cells == _canon_cells({
        ("Finance", "Invoicing"): {I},  # ** Invoices tab
        ("Finance", "Agreements"): {I},  # *** time entries
        ("Time and Expense", "Time Entry"): {A, E, I},  # *** time entries
    })
    assert moves == set()


def test_mobius_custom_menu_entry_feature_adds_its_allow_list(sim, make_project):
    project, stack = _stack(sim, make_project, "mobius")
    with pytest.raises(auto.errors.CommandError):
        stack.up()
    _, moves = _checklist(project, "Mobius")
    assert ("System › Custom Menu Entry", "Mobius") not in moves
    apply_checklist(sim.console_api, "Mobius", (project.root / ".cwroles" / "checklists" / "Mobius.md").read_text())
    stack.up()

    stack.set_config("cwroles:features", auto.ConfigValue(json.dumps(["custom-menu-entry"])))
    with pytest.raises(auto.errors.CommandError):
        stack.up()
    cells, moves = _checklist(project, "Mobius")
    assert cells == set()  # no grant changes: the grant was already required
    assert moves == {("System › Custom Menu Entry", "Mobius")}
