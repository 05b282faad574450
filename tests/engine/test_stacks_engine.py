"""The three vendor stacks under the real engine against the emulator.

For each: the first `pulumi up` fails with exactly the vendor's grants as the checklist (compared with
the hand transcription in tests/vendor_pages.py — not read from the manifests);
after the admin applies it in the console, `up` is green and `preview --refresh --expect-no-changes`
passes; switching a feature on adds exactly its grants.
"""

from __future__ import annotations

import json

import pytest
from pulumi import automation as auto

from cwroles.grid import parse_checklist
from cwroles.cwsim.console_client import apply_checklist

from tests import vendor_pages as pages

from .conftest import tenant_config
from .harness import REPO, Project, outputs

pytestmark = pytest.mark.engine

A, E, D, I = "add", "edit", "delete", "inquire"


def _cells(integration: str, features=frozenset()) -> set[tuple[str, str, str, str]]:
    return {(m, f, lv, "All") for (m, f), levels in pages.granted_levels(pages.rows_for(integration, features)).items()
            for lv in levels}


def _items(integration: str, features=frozenset()) -> set[tuple[str, str]]:
    return {(fn, pages.canonical_item(fn, i)) for fn, items in pages.allow_lists(integration, features).items()
            for i in items}


def _checklist(project: Project, role: str, stack: str) -> tuple[set, set]:
    items = parse_checklist(project.checklist(role, stack).read_text())
    cells = {(i.module, i.function, i.level, i.desired.value) for i in items if i.level}
    moves = {(i.customize_function, i.item) for i in items if i.item and i.allow}
    return cells, moves


def _stack(sim, make_project, integration: str, features: list[str] | None = None):
    project = make_project((REPO / "__main__.py").read_text(), name=f"cw-{integration}")
    config = {**tenant_config(sim), "cwroles:integration": integration}
    if features:
        config["cwroles:features"] = json.dumps(features)
    return project, project.stack(integration, config)


@pytest.mark.parametrize("integration", list(pages.VENDORS))
def test_vendor_stack_checklist_console_green(sim, make_project, integration):
    role = pages.VENDORS[integration][0]
    project, stack = _stack(sim, make_project, integration)

    with pytest.raises(auto.errors.CommandError):
        stack.up()
    got_cells, got_moves = _checklist(project, role, integration)
    assert got_cells == _cells(integration)  # exactly the page's grants, features off
    assert got_moves == _items(integration)

    applied = apply_checklist(sim.console_api, role, project.checklist(role, integration).read_text())
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
    apply_checklist(sim.console_api, "MSP Process", project.checklist("MSP Process", "msp-process").read_text())
    stack.up()

    stack.set_config("cwroles:features", auto.ConfigValue(json.dumps(["invoices-tab", "time-entries"])))
    with pytest.raises(auto.errors.CommandError):
        stack.up()
    cells, moves = _checklist(project, "MSP Process", "msp-process")
    assert cells == _cells("msp-process", {"invoices-tab", "time-entries"}) - _cells("msp-process")
    assert cells == {("Finance", "Invoicing", I, "All"), ("Finance", "Agreements", I, "All"),
                     ("Time & Expense", "Time Entry", A, "All"), ("Time & Expense", "Time Entry", E, "All"),
                     ("Time & Expense", "Time Entry", I, "All")}
    assert moves == set()


def test_mobius_custom_menu_entry_feature_adds_its_allow_list(sim, make_project):
    project, stack = _stack(sim, make_project, "mobius")
    with pytest.raises(auto.errors.CommandError):
        stack.up()
    _, moves = _checklist(project, "Mobius", "mobius")
    assert ("System › Custom Menu Entry", "Mobius") not in moves
    apply_checklist(sim.console_api, "Mobius", project.checklist("Mobius", "mobius").read_text())
    stack.up()

    stack.set_config("cwroles:features", auto.ConfigValue(json.dumps(["custom-menu-entry"])))
    with pytest.raises(auto.errors.CommandError):
        stack.up()
    cells, moves = _checklist(project, "Mobius", "mobius")
    assert cells == set()  # no grant changes: the grant was already required
    assert moves == {("System › Custom Menu Entry", "Mobius")}
