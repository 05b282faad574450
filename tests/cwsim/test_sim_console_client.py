"""apply_checklist plays the admin: every cell and allow-list move of a checklist lands in the role."""

import httpx

from cwroles.grid import Grant, desired_grid, diff_grids, render_checklist
from cwroles.cwsim.console_client import apply_checklist


def test_apply_checklist_sets_levels_and_allow_lists(sim, api):
    role = api.post("/system/securityroles", json={"name": "Checklist Role"}).json()
    desired = desired_grid([Grant(module="Service Desk", function="Service Tickets", add="All", inquire="My"),
                            Grant(module="System", function="Table Setup", inquire="All")])
    live = desired_grid([])
    md = render_checklist("Checklist Role", diff_grids(desired, live),
                          {"System › Table Setup": {"allow": ["Service / Service Board", "Company / Country"]}})
    done = apply_checklist(sim.console_api, "Checklist Role", md)
    assert (done.levels, done.moves) == (3, 2)

    rows = api.get(f"/system/securityRoles/{role['id']}/settings", params={"pageSize": 1000}).json()
    by_name = {(r["moduleName"], r["moduleFunctionName"]): r for r in rows}
    tickets = by_name[("Service Desk", "Service Tickets")]
    assert (tickets["addLevel"], tickets["inquireLevel"], tickets["editLevel"]) == ("All", "My", "None")
    assert by_name[("System", "Table Setup")]["inquireLevel"] == "All"
    allow = httpx.get(f"{sim.console_api}/roles/{role['id']}").json()["customize"]["System › Table Setup"]["allow"]
    assert sorted(allow) == ["Company / Country", "Service / Service Board"]

    # A second checklist that takes one entry away again.
    md2 = render_checklist("Checklist Role", [], {"System › Table Setup": {"disallow": ["Company / Country"]}})
    assert apply_checklist(sim.console_api, role["id"], md2).moves == 1
    allow = httpx.get(f"{sim.console_api}/roles/{role['id']}").json()["customize"]["System › Table Setup"]["allow"]
    assert allow == ["Service / Service Board"]


def test_bench_plays_the_admin_with_the_same_applier(sim, api, tmp_path):
    """bench/engine.py applies checklists through apply_checklist: a "disallow" move takes one entry away and
    leaves the others (its former copy rewrote the list from the "allow" moves alone)."""
    from bench.engine import apply_checklist as bench_apply

    role = api.post("/system/securityroles", json={"name": "Bench Role"}).json()
    sim.set_customize(role["id"], "System › Table Setup", ["Service / Service Board", "Company / Country"])
    checklist = tmp_path / "Bench Role.md"
    checklist.write_text(render_checklist("Bench Role", [], {"System › Table Setup": {"disallow": ["Company / Country"]}}))
    assert bench_apply(sim, checklist) == (0, 1)
    allow = httpx.get(f"{sim.console_api}/roles/{role['id']}").json()["customize"]["System › Table Setup"]["allow"]
    assert allow == ["Service / Service Board"]
