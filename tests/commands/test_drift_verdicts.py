"""`cwroles drift`'s sweep (cwroles.stacks.drift) against the emulator over HTTP: the four verdicts, what they
name, failing closed, and the request budget. Stacks are made by the provider's own create (drift_fixtures);
the engine-level equality with `pulumi preview --refresh` is tests/engine/test_drift_engine.py."""

from __future__ import annotations

import json

import pytest

from cwroles.cwsim.testing import running_server
from cwroles.stacks import drift as drift_mod
from cwroles.stacks.drift import Verdict, sweep
from cwroles.stacks.state import Workspace
from drift_fixtures import FakeProject, isolated_project, set_levels, tenant


@pytest.fixture
def sim(tmp_path):
    with running_server(db_path=tmp_path / "cwsim.sqlite") as server:
        yield server


@pytest.fixture
def project(tmp_path, monkeypatch):
    return isolated_project(tmp_path, monkeypatch)


def run(project: FakeProject, stacks=None, **kw):
    ws = Workspace(project.root, environ=project.env)
    names = stacks or ws.stacks()
    return {r.stack: r for r in sweep(ws, names, **kw)}


def test_clean_stacks_in_one_tenant_cost_at_most_three_requests_each(sim, project):
    acme = tenant(sim, "acme")
    for integration in ("mobius", "msp-process", "managed-backup"):
        project.deploy(f"acme-{integration}", acme, integration, sim=sim)
    sim.reset_metrics()
    results = run(project)
    assert {s: r.verdict for s, r in results.items()} == {s: Verdict.CLEAN for s in results}
    assert all(r.summary == "ConnectWise matches the code" and r.findings == [] for r in results.values())
    total = sim.metrics()["total"]
    assert total <= 3 * len(results)  # codebase + one list of roles + one of members for the tenant, one settings page per stack
    assert total == 3 + len(results)
    assert sum(r.requests for r in results.values()) == pytest.approx(total)


def test_a_level_changed_in_the_console_is_drift_with_was_now_and_code(sim, project):
    acme = tenant(sim, "acme")
    project.deploy("acme-msp-process", acme, "msp-process", sim=sim)
    set_levels(sim, "acme", "MSP Process", {"module": "System", "function": "Member Maintenance", "edit": "All"})
    r = run(project)["acme-msp-process"]
    assert r.verdict is Verdict.DRIFT
    [f] = r.findings
    assert (f.kind, f.cause, f.where, f.was, f.now, f.code) == (
        "level", "drift", "System › Member Maintenance › Edit", "None", "All", "None")
    assert "- [ ] Member Maintenance: Edit → **None** (now All)" in r.checklist
    assert r.tenant.company_id == "acme" and r.integration == "msp-process" and r.role_name == "MSP Process"
    assert "checklist" in r.fix


def test_first_up_stopped_at_the_checklist_is_not_converged_until_up_records_it(sim, project):
    acme = tenant(sim, "acme")
    out = project.deploy("acme-mobius", acme, "mobius", sim=sim, converge=False)
    assert out["permissions"] is None  # the provider refused: nothing recorded, as after a failing `up`
    r = run(project)["acme-mobius"]
    assert r.verdict is Verdict.NOT_CONVERGED
    assert {f.cause for f in r.findings} == {"pending"} and all(f.kind == "level" for f in r.findings)
    assert len(r.findings) == r.checklist.count(" → **")  # one finding per cell of the checklist
    for f in r.findings:
        assert f"{f.level.title()} → **{f.code}** (now {f.now})" in r.checklist
    assert "apply the checklist" in r.fix
    from drift_fixtures import apply_plan

    apply_plan(sim, "acme", out["plan"])  # the admin applies it, but nobody ran `pulumi up` since
    r = run(project)["acme-mobius"]
    assert r.verdict is Verdict.NOT_CONVERGED
    [f] = r.findings
    assert f.cause == "pending" and "run `pulumi up`" in f.message


def test_code_changed_since_the_last_up_is_not_converged_and_says_what(sim, project):
    acme = tenant(sim, "acme")
    project.deploy("acme-mobius", acme, "mobius", sim=sim)
    project.set_config("acme-mobius", "cwroles:features", ["custom-menu-entry"])
    r = run(project)["acme-mobius"]
    assert r.verdict is Verdict.NOT_CONVERGED
    wheres = {(f.kind, f.cause, f.where) for f in r.findings}
    assert wheres == {("allow-list", "code", "System › Custom Menu Entry › Customize › Mobius")}
    assert r.fix == "run `pulumi up -s acme-mobius`"


def test_what_only_the_policy_pack_reads_is_no_change(sim, project):
    """RolePermissions' diff counts what it verifies (grid, allow-lists, role, member), as preview does."""
    project.deploy("acme-mobius", tenant(sim, "acme"), "mobius", sim=sim)
    project.set_config("acme-mobius", "cwroles:waivers", [{
        "module": "Companies", "function": "Contacts", "justification": "read by the sync", "approved_by": "CISO",
        "expires": "2030-01-31"}])
    r = run(project)["acme-mobius"]
    assert (r.verdict, r.findings) == (Verdict.CLEAN, [])


def test_a_destroyed_stack_is_not_converged(sim, project):
    project.stack_file("acme-mobius", {**tenant(sim, "acme"), "cwroles:integration": "mobius"})
    project.write_state("acme-mobius", [])
    sim.reset_metrics()
    r = run(project)["acme-mobius"]
    assert r.verdict is Verdict.NOT_CONVERGED
    assert "no resources" in r.findings[0].message
    assert sim.metrics()["total"] == 0  # nothing deployed: nothing to read (preview reads nothing either)


def test_member_deactivated_and_role_deleted_in_connectwise_are_drift(sim, project):
    acme = tenant(sim, "acme")
    a = project.deploy("acme-mobius", acme, "mobius", sim=sim)
    b = project.deploy("acme-managed-backup", acme, "managed-backup", sim=sim)
    with sim.client(acme["connectwise:publicKey"], acme["connectwise:privateKey"], "acme") as c:
        c.post(f"/system/members/{a['member']['member_id']}/deactivate", json={}).raise_for_status()
        # move the member off its role, then delete the role (ConnectWise refuses deleting a role in use)
        other = c.post("/system/securityroles", json={"name": "Parking"}).raise_for_status().json()
        c.patch(f"/system/apiMembers/{b['member']['member_id']}",
                json=[{"op": "replace", "path": "securityRole", "value": {"id": other["id"]}}]).raise_for_status()
        c.delete(f"/system/securityroles/{b['role']['role_id']}").raise_for_status()
    results = run(project)
    r = results["acme-mobius"]
    assert r.verdict is Verdict.DRIFT
    assert [(f.kind, f.where, f.was, f.now) for f in r.findings] == [
        ("api-member", "API member 'Mobius' › inactive", "active", "inactive")]
    r = results["acme-managed-backup"]
    assert r.verdict is Verdict.DRIFT
    kinds = {(f.kind, f.now) for f in r.findings}
    assert ("role", "deleted") in kinds
    assert "creates what was deleted" in r.fix


def test_refresh_recorded_the_drift_it_is_still_drift(sim, project):
    """After `pulumi refresh`, the state holds the drifted grid; the recorded drift lines keep it drift."""
    acme = tenant(sim, "acme")
    project.deploy("acme-msp-process", acme, "msp-process", sim=sim)
    set_levels(sim, "acme", "MSP Process", {"module": "System", "function": "Member Maintenance", "edit": "All"})
    resources = project.resources("acme-msp-process")
    perms = next(r for r in resources if r["type"].endswith("RolePermissions"))
    perms["outputs"]["live"]["System › Member Maintenance"] = {"edit": "All", "inquire": "All"}
    perms["outputs"]["pending"] = ["System › Member Maintenance › Edit: set None (now All)"]
    perms["outputs"]["drift"] = ["System › Member Maintenance › Edit: now All (was None)"]
    project.write_state("acme-msp-process", resources)
    [f] = run(project)["acme-msp-process"].findings
    assert (f.cause, f.was, f.now) == ("drift", "None", "All")


def test_wrong_tenant_is_an_error_and_reads_nothing(sim, project):
    acme = tenant(sim, "acme")
    project.deploy("acme-mobius", acme, "mobius", sim=sim)
    resources = project.resources("acme-mobius")
    for r in resources:  # the state records the tenant each resource lives in (as the provider does)
        r["outputs"]["tenant"] = {"site": sim.url, "company_id": "globex"}
    project.write_state("acme-mobius", resources)
    sim.reset_metrics()
    r = run(project)["acme-mobius"]
    assert r.verdict is Verdict.ERROR
    assert "wrong tenant" in r.summary and "'globex'" in r.summary and "'acme'" in r.summary
    assert "point the stack back" in r.fix
    assert sim.metrics()["total"] == 0


@pytest.mark.parametrize("case", ["unreachable", "401", "403"])
def test_tenant_errors_are_errors_with_the_fix_never_clean(sim, project, case):
    home = {"connectwise:site": sim.url, "connectwise:companyId": sim.company_id, "connectwise:clientId": sim.client_id,
            "connectwise:publicKey": sim.public_key, "connectwise:privateKey": sim.private_key,
            "connectwise:maxRetries": "0"}
    if case != "unreachable":
        project.deploy("home-mobius", home, "mobius", sim=sim)
    cfg = {**home, "cwroles:integration": "mobius"}
    if case == "unreachable":  # the tenant the stack lives in stops answering
        with running_server(db_path=project.root / "gone.sqlite") as gone:
            home = {**home, "connectwise:site": gone.url}
            project.deploy("home-mobius", home, "mobius", sim=gone)
        cfg = {**home, "cwroles:integration": "mobius"}
        expect, fix = "unreachable", "connectwise:site"
    elif case == "401":
        cfg["connectwise:privateKey"] = "not-the-key"
        expect, fix = "(401)", "connectwise:privateKey"
    else:  # a provisioning member whose role lacks System › Security
        sim.client_as("NoSecurity", "No Security",
                      {"module": "System", "function": "Member Maintenance", "inquire": "All"}).close()
        keys = sim.create_key("NoSecurity")
        cfg["connectwise:publicKey"], cfg["connectwise:privateKey"] = keys["publicKey"], keys["privateKey"]
        expect, fix = "(403)", "System › Security"
    project.stack_file("home-mobius", cfg)
    r = run(project)["home-mobius"]
    assert r.verdict is Verdict.ERROR, r
    assert expect in r.summary, r.summary
    assert fix in r.fix, r.fix


def test_one_unreadable_stack_does_not_stop_the_others(sim, project):
    acme = tenant(sim, "acme")
    project.deploy("acme-mobius", acme, "mobius", sim=sim)
    project.stack_file("broken", {**acme, "cwroles:integration": "mobius"})
    project.checkpoint_path("broken").write_text("{not json")
    results = run(project)
    assert results["acme-mobius"].verdict is Verdict.CLEAN
    assert results["broken"].verdict is Verdict.ERROR
    assert "not valid JSON" in results["broken"].summary and ".pulumi/backups" in results["broken"].fix


def test_config_problems_are_errors(sim, project):
    acme = tenant(sim, "acme")
    project.deploy("plain", acme, "mobius", sim=sim)
    project.set_config("plain", "connectwise:privateKey", acme["connectwise:privateKey"])  # not a secret
    project.deploy("badfeature", acme, "managed-backup", sim=sim)
    project.set_config("badfeature", "cwroles:features", ["nope"])
    results = run(project)
    assert results["plain"].verdict is Verdict.ERROR
    assert "plain text" in results["plain"].summary and "--secret" in results["plain"].fix
    assert acme["connectwise:privateKey"] not in json.dumps(results["plain"].to_json())
    assert results["badfeature"].verdict is Verdict.ERROR and "has no feature 'nope'" in results["badfeature"].summary


def test_no_passphrase_is_an_error_for_stacks_with_secrets(sim, project):
    project.deploy("acme-mobius", tenant(sim, "acme"), "mobius", sim=sim)
    ws = Workspace(project.root, environ={"PULUMI_BACKEND_URL": project.env["PULUMI_BACKEND_URL"]})
    [r] = sweep(ws, ["acme-mobius"])
    assert r.verdict is Verdict.ERROR
    assert "PULUMI_CONFIG_PASSPHRASE" in r.fix


def test_resources_cwroles_cannot_judge_make_an_error(sim, project):
    project.deploy("acme-mobius", tenant(sim, "acme"), "mobius", sim=sim)
    resources = project.resources("acme-mobius") + [
        {"urn": "urn:pulumi:acme-mobius::cwroles::aws:s3/bucket:Bucket::b", "custom": True, "id": "b",
         "type": "aws:s3/bucket:Bucket", "inputs": {}, "outputs": {}}]
    project.write_state("acme-mobius", resources)
    r = run(project)["acme-mobius"]
    assert r.verdict is Verdict.ERROR and "aws:s3/bucket:Bucket" in r.summary


def test_an_unexpected_failure_is_an_error_never_clean(sim, project, monkeypatch):
    project.deploy("acme-mobius", tenant(sim, "acme"), "mobius", sim=sim)

    def boom(*a, **k):
        raise RuntimeError("kaput")

    monkeypatch.setattr(drift_mod, "evaluate", boom)
    r = run(project)["acme-mobius"]
    assert r.verdict is Verdict.ERROR and "kaput" in r.summary


def test_customize_option_reads_the_allow_lists(sim, project):
    acme = tenant(sim, "acme")
    project.deploy("acme-managed-backup", acme, "managed-backup", sim=sim)
    plan = __import__("cwroles.stacks", fromlist=["plan_from_config"]).plan_from_config({"integration": "managed-backup"})
    [(fn, items)] = plan.permissions_args["customize"].items()
    with sim.admin() as c:  # someone removed one allow-list entry in the console
        c.put("/console/api/acme/roles/API/customize", json={"function": fn, "allow": items[1:]}).raise_for_status()
    assert run(project)["acme-managed-backup"].verdict is Verdict.CLEAN  # the grid matches; preview sees no more
    sim.reset_metrics()
    r = run(project, customize=True)["acme-managed-backup"]
    assert r.verdict is Verdict.DRIFT
    [f] = r.findings
    assert (f.kind, f.where, f.was, f.now) == ("allow-list", f"{fn} › Customize › {items[0]}", "allowed", "not allowed")
    assert f"move to “Allow access to these”: {items[0]}" in r.checklist
    assert sim.metrics()["total"] == 3 + 1 + 2  # + token and allow-list read
