"""`cwroles audit` against the emulator over HTTP: roles and members made by hand, judged by the policy pack's
rules; the reports, the exit codes, the requests (R + 3), mapping to integrations, failing closed."""

from __future__ import annotations

import json

import pytest
import yaml

from cwroles.cwsim.testing import running_server

from tests.commands.onboarding_helpers import EXTRAS, OWN_FUNCTION, api_requests, cli, make_role, project

RMM = ({"module": "Companies", "function": "Company Maintenance", "inquire": "All"},
       {"module": "Service Desk", "function": "Service Tickets", "add": "All", "edit": "All", "inquire": "All"},
       {"module": "System", "function": "Table Setup", "inquire": "All"})
ACME = """\
integration: acme-rmm
title: Acme RMM
vendor_page: https://example.com/acme
role: {name: Acme RMM}
api_member: {identifier: AcmeRMM, name: Acme RMM}
features:
- {name: cleanup, description: Removes the tickets it opened}
grants:
- {module: Companies, function: Company Maintenance, inquire: All, reason: maps devices, source: page 1}
- {module: Service Desk, function: Service Tickets, add: All, edit: All, inquire: All, reason: tickets, source: page 2}
- {module: Service Desk, function: Service Tickets, delete: All, feature: cleanup, reason: cleanup, source: page 2*}
- {module: System, function: Table Setup, inquire: All, reason: boards, source: page 3}
customize:
- {function: System › Table Setup, items: [Service / Service Board], reason: boards, source: page 3}
"""


@pytest.fixture(scope="module")
def server():
    with running_server(catalog_extras=EXTRAS) as s:
        yield s


@pytest.fixture
def sim(server):
    server.clear_faults()
    server.reset()
    return server


def _audit(sim, root, *args):
    report = root / "audit.json"
    r = cli(sim, "audit", "--dir", root, "--json", report, *args)
    data = json.loads(report.read_text()) if report.exists() else None
    return r, data


def _role(data, name):
    return next(r for r in data["roles"] if r["name"] == name)


def test_a_fresh_tenant_is_clean_the_provisioning_members_role_is_noted(sim, tmp_path):
    r, data = _audit(sim, project(tmp_path))
    assert r.exit_code == 0, r.output
    admin = _role(data, "Admin")
    assert admin["scope"] == "provisioning" and admin["verdict"] == "clean" and data["caller"] == "cwadmin"
    assert admin["findings"] and {f["level"] for f in admin["findings"]} == {"note"}
    assert data["summary"]["exit_code"] == 0


def test_roles_mapped_by_name_are_held_to_the_vendor_requirement_and_vendor_waivers_count(sim, tmp_path):
    make_role(sim, "Mobius", {"module": "Finance", "function": "Invoicing", "edit": "All", "delete": "All", "inquire": "All"},
              {"module": "System", "function": "Member Maintenance", "add": "All", "inquire": "All"}, member="Mobius")
    r, data = _audit(sim, project(tmp_path))
    assert r.exit_code == 2, r.output
    mob = _role(data, "Mobius")
    assert mob["integration"]["name"] == "mobius" and mob["integration"]["mapped_by"] == "role name"
    by = {(f["rule"], f["where"]): f for f in mob["findings"]}
    assert by[("cwroles-least-privilege", "System › Member Maintenance › Add")]["level"] == "error"
    assert by[("cwroles-privileged-functions", "System › Member Maintenance › Add")]["level"] == "error"
    assert by[("cwroles-privileged-functions", "Finance › Invoicing › Delete")]["level"] == "note"  # the vendor's waiver
    assert ("cwroles-least-privilege", "Finance › Invoicing › Delete") not in by  # Mobius asks for it
    [member] = [m for m in data["api_members"] if m["identifier"] == "Mobius"]
    assert member["verdict"] == "findings" and "System › Member Maintenance › Add" in member["findings"][0]["message"]
    assert "System › Member Maintenance › Add = All: above Mobius's requirement" in " ".join(r.output.split())


def test_a_project_manifest_a_map_and_a_stack_file_map_roles(sim, tmp_path):
    root = project(tmp_path)
    (root / "integrations").mkdir()
    (root / "integrations" / "acme-rmm.yaml").write_text(ACME)
    make_role(sim, "Acme RMM", *RMM, {"module": "Service Desk", "function": "Service Tickets", "delete": "All"},
              member="AcmeRMM")
    make_role(sim, "Old Acme", *RMM, member="OldAcme")
    r, data = _audit(sim, root, "--map", "Old Acme=acme-rmm")
    acme, old = _role(data, "Acme RMM"), _role(data, "Old Acme")
    assert acme["integration"]["mapped_by"] == "role name" and old["integration"]["mapped_by"] == "--map"
    # by name: every feature counts (the most the vendor publishes), so Delete is within the requirement
    assert not [f for f in acme["findings"] if f["rule"] == "cwroles-least-privilege"]
    # a stack that leaves the feature off holds the role to less
    (root / "Pulumi.acme.yaml").write_text(yaml.safe_dump({"config": {"cwroles:integration": "acme-rmm"}}))
    r, data = _audit(sim, root)
    acme = _role(data, "Acme RMM")
    assert acme["integration"]["mapped_by"] == "stack Pulumi.acme.yaml" and acme["integration"]["features"] == []
    assert [f["where"] for f in acme["findings"] if f["rule"] == "cwroles-least-privilege"] == [
        "Service Desk › Service Tickets › Delete"]
    sarif = root / "audit.sarif"
    cli(sim, "audit", "--dir", root, "--sarif", sarif)
    located = [x for x in json.loads(sarif.read_text())["runs"][0]["results"] if "Acme RMM" in x["properties"]["subject"]]
    assert {x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for x in located} == {"Pulumi.acme.yaml"}
    mapfile = root / "map.yaml"
    mapfile.write_text("roles:\n  Old Acme: acme-rmm\n")
    r, data = _audit(sim, root, "--map-file", mapfile)
    assert _role(data, "Old Acme")["integration"]["mapped_by"] == "--map"


def test_unmapped_integration_roles_people_roles_and_inactive_members(sim, tmp_path):
    make_role(sim, "Legacy", *RMM, member="legacy")
    make_role(sim, "Gone", *RMM, member="gonebot", inactive=True)
    make_role(sim, "Technician", {"module": "Service Desk", "function": "Service Tickets", "delete": "All"})
    r, data = _audit(sim, project(tmp_path))
    assert r.exit_code == 2
    legacy, tech = _role(data, "Legacy"), _role(data, "Technician")
    assert [f["rule"] for f in legacy["findings"] if f["level"] == "warning"] == ["cwroles-no-requirement"]
    assert tech["scope"] == "people" and tech["verdict"] == "clean"
    assert {f["level"] for f in tech["findings"]} == {"note"}
    [gone] = [m for m in data["api_members"] if m["identifier"] == "gonebot"]
    assert gone["inactive"] and gone["findings"][0]["rule"] == "cwroles-inactive-member"
    assert "does not list API keys" in gone["findings"][0]["message"]
    r, data = _audit(sim, project(tmp_path / "b"), "--all-roles")
    tech = _role(data, "Technician")
    assert tech["scope"] == "integration" and tech["verdict"] == "findings"


def test_a_function_the_catalog_lacks_is_shown_under_its_live_name(sim, tmp_path):
    make_role(sim, "Dispatch", {"module": "Service Desk", "function": "Ticket Dispatch Rules", "add": "All",
                                "delete": "All"}, member="dispatch")
    root = project(tmp_path)
    r, data = _audit(sim, root, "--map", "Dispatch=mobius")
    assert r.exit_code == 2, r.output
    role = _role(data, "Dispatch")
    assert OWN_FUNCTION in role["tenant_functions"]
    wheres = {f["where"] for f in role["findings"]}
    assert {f"{OWN_FUNCTION} › Add", f"{OWN_FUNCTION} › Delete", OWN_FUNCTION} <= wheres
    assert "Traceback" not in r.output


def test_table_setup_allow_lists_with_customize(sim, tmp_path):
    make_role(sim, "Open", *RMM, allow=[], member="openbot")
    make_role(sim, "Closed", *RMM, allow=["Service / Service Board"], member="closedbot")
    root = project(tmp_path)
    r, data = _audit(sim, root)
    assert all(f["level"] == "note" for f in _role(data, "Open")["findings"]
               if f["rule"] == "cwroles-table-setup-allowlist")
    r, data = _audit(sim, root, "--customize")
    rule = "cwroles-table-setup-allowlist"
    assert [f["level"] for f in _role(data, "Open")["findings"] if f["rule"] == rule] == ["error"]
    assert not [f for f in _role(data, "Closed")["findings"] if f["rule"] == rule]
    assert _role(data, "Closed")["customize"] == {"System › Table Setup": ["Service / Service Board"]}


def test_requests_are_one_settings_page_per_role_plus_three(sim, tmp_path):
    for i in range(12):
        make_role(sim, f"Role {i}", *RMM)
    sim.reset_metrics()
    r, data = _audit(sim, project(tmp_path))
    roles = len(data["roles"])
    assert roles == 13 and api_requests(sim) == roles + 3 == data["summary"]["requests"]
    assert sim.metrics()["byEndpoint"]["GET /system/securityroles/{id}/settings"] == roles
    assert "reading role 1/13" in r.output and "read 13 role(s)" in r.output  # progress while reading


def test_a_role_that_cannot_be_read_fails_closed(sim, tmp_path):
    role, _ = make_role(sim, "Locked", *RMM, member="locked")
    sim.add_fault(kind="status", status=403, path=f"^/system/securityRoles/{role['id']}/settings$")
    r, data = _audit(sim, project(tmp_path))
    assert r.exit_code == 1, r.output
    locked = _role(data, "Locked")
    assert locked["verdict"] == "error" and locked["unread"] and data["summary"]["roles_not_read"] == 1


def test_markdown_and_sarif(sim, tmp_path):
    make_role(sim, "Legacy|RMM", *RMM, {"module": "System", "function": "Security", "add": "All"}, member="legacy")
    root = project(tmp_path)
    md, sarif = root / "out" / "audit.md", root / "out" / "audit.sarif"
    r = cli(sim, "audit", "--dir", root, "--markdown", md, "--sarif", sarif)
    assert r.exit_code == 2
    text = md.read_text()
    assert text.startswith("## ❌ cwroles audit") and "Legacy\\|RMM" in text and "| Id | Role |" in text
    assert "note(s): not an integration role (cwroles' own)" in text and "### ✅ Admin (id " in text  # one line
    assert "Display Passwords" not in text
    doc = json.loads(sarif.read_text())
    assert doc["version"] == "2.1.0"
    results = doc["runs"][0]["results"]
    rules = {x["id"] for x in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert {x["ruleId"] for x in results} <= rules
    assert not [x for x in results if "Admin" in x["properties"]["subject"]]  # a role for people: no result
    hit = [x for x in results if x["properties"]["where"] == "System › Security › Add" and "Legacy" in x["properties"]["subject"]]
    assert hit and hit[0]["level"] == "error" and len({x["partialFingerprints"]["cwroles/v1"] for x in results}) == len(
        {(x["ruleId"], x["properties"]["subject"], x["properties"]["where"]) for x in results})


def test_bad_map_options(sim, tmp_path):
    r = cli(sim, "audit", "--dir", project(tmp_path), "--map", "Admin=nope")
    assert r.exit_code == 2 and "knows no integration 'nope'" in r.output
    r = cli(sim, "audit", "--dir", project(tmp_path), "--map", "no-equals-sign")
    assert r.exit_code == 2 and "write ROLE=INTEGRATION" in r.output
