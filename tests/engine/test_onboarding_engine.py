"""Bringing existing roles under management, under the real engine (issue 11): a role and API member made
by hand in the emulator's console (not by cwroles), on a tenant whose catalog has a function and a Table
Setup table the bundled catalog lacks.

`cwroles export` → the repository's stack program adopts them (`cwroles:adopt`, ids) → the first preview
shows imports only, `up` creates nothing, the next preview shows no change → the role is widened by hand
→ `cwroles audit` names the widened cells. Also: adoption by natural key (`cwroles:adopt: true`) and
`pulumi import` from the CLI (`--generate-code=false`) for each resource type.
"""

from __future__ import annotations

import json

import pytest
import yaml
from pulumi import automation as auto
from typer.testing import CliRunner

from cwroles.commands import app

from .conftest import tenant_config
from .harness import Project, outputs, resources

pytestmark = pytest.mark.engine

EXTRAS = {"functions": [{"module": "Service Desk", "function": "Ticket Dispatch Rules"}],
          "setupTables": [{"category": "Service", "table": "Dispatch Queue"}]}
GRANTS = [{"module": "Companies", "function": "Company Maintenance", "inquire": "All"},
          {"module": "Service Desk", "function": "Service Tickets", "add": "All", "edit": "All", "inquire": "All"},
          {"module": "Service Desk", "function": "Ticket Dispatch Rules", "add": "All", "inquire": "All"},  # tenant's own
          {"module": "System", "function": "Table Setup", "inquire": "All"}]
TABLES = ["Service / Service Board", "Service / Dispatch Queue"]  # the second is the tenant's own
ROLE, MEMBER, NAME = "Legacy RMM", "LegacyRMM", "legacy-rmm"
TYPES = {"role": "pulumi-python:dynamic/connectwise:SecurityRole",
         "perms": "pulumi-python:dynamic/connectwise:RolePermissions",
         "member": "pulumi-python:dynamic/connectwise:ApiMember"}


@pytest.fixture
def sim(tmp_path):
    from cwroles.cwsim.testing import running_server

    with running_server(db_path=tmp_path / "cwsim.sqlite", catalog_extras=EXTRAS) as server:
        yield server


def made_by_hand(sim) -> tuple[dict, dict]:
    """What an admin clicked together years ago: the console and the REST API as the admin, not cwroles."""
    with sim.client() as c:
        role = c.post("/system/securityroles", json={"name": ROLE}).raise_for_status().json()
    sim.set_levels(ROLE, *GRANTS)
    sim.set_customize(role["id"], "System › Table Setup", TABLES)
    member = sim.create_api_member(MEMBER, role["id"], name="Legacy RMM")
    return role, member


def tenant_env(sim) -> dict[str, str]:
    return {"CONNECTWISE_SITE": sim.url, "CONNECTWISE_COMPANY_ID": sim.company_id,
            "CONNECTWISE_CLIENT_ID": sim.client_id, "CONNECTWISE_PUBLIC_KEY": sim.public_key,
            "CONNECTWISE_PRIVATE_KEY": sim.private_key, "COLUMNS": "250"}


def cwroles(sim, *args: str):
    return CliRunner().invoke(app, list(args), env=tenant_env(sim))


def counts(sim) -> tuple[int, int]:
    with sim.client() as c:
        return (c.get("/system/securityroles/count").json()["count"], c.get("/system/apiMembers/count").json()["count"])


def connectwise_changes(summary: dict) -> dict:
    """The change summary without the stack itself (a new stack always 'creates' pulumi:pulumi:Stack)."""
    out = dict(summary)
    if out.get("create"):
        out["create"] -= 1
    return {k: v for k, v in out.items() if v and k != "same"}


def test_export_adopt_then_no_op_preview_then_audit_names_the_widened_cells(sim, tmp_path):
    role, member = made_by_hand(sim)
    project = Project.repo_program(tmp_path / "project")

    r = cwroles(sim, "export", "--role", ROLE, "--dir", str(project.root))
    assert r.exit_code == 0, r.output
    manifest = project.root / "integrations" / f"{NAME}.yaml"
    doc = yaml.safe_load(manifest.read_text())
    assert doc["tenant_catalog"] == {"functions": [{"module": "Service Desk", "function": "Ticket Dispatch Rules"}],
                                     "setup_tables": [{"category": "Service", "table": "Dispatch Queue"}]}
    v = cwroles(sim, "manifest", "validate", "--dir", str(project.root))
    assert v.exit_code == 0, v.output
    stack_file = yaml.safe_load((project.root / f"Pulumi.{NAME}.yaml").read_text())["config"]
    assert stack_file["cwroles:adopt"] == {"roleId": role["id"], "apiMemberId": member["id"]}

    before = counts(sim)
    stack = project.stack(NAME, tenant_config(sim))
    preview = stack.preview()
    assert connectwise_changes(preview.change_summary) == {"import": 3}, preview.stdout
    up = stack.up()
    done = connectwise_changes(up.summary.resource_changes)
    # `up` imports the three and creates nothing; it may update what it records (the verified lists, the stack)
    assert done["import"] == 3 and not set(done) - {"import", "update"}, up.stdout
    assert counts(sim) == before  # nothing was created in ConnectWise
    assert outputs(stack)["pending"] == [] and outputs(stack)["role_id"] == role["id"]
    [perms] = resources(stack, TYPES["perms"])
    assert perms["outputs"]["live"]["Service Desk › Ticket Dispatch Rules"] == {"add": "All", "inquire": "All"}
    assert sorted(perms["outputs"]["customize"]["System › Table Setup"]) == sorted(TABLES)
    stack.preview(expect_no_changes=True)
    cli = project.cli("preview", "--expect-no-changes", stack=NAME)
    assert cli.returncode == 0, cli.stdout + cli.stderr

    # Someone widens the role by hand; the audit names exactly what is above the exported requirement.
    sim.set_levels(ROLE, {"module": "Companies", "function": "Company Maintenance", "delete": "All"},
                   {"module": "System", "function": "Member Maintenance", "add": "All", "inquire": "All"})
    report = tmp_path / "audit.json"
    # the tenant named by the stack's own settings (read with `pulumi config`), not by CONNECTWISE_*
    a = CliRunner().invoke(app, ["audit", "--stack", NAME, "--dir", str(project.root), "--json", str(report)],
                           env={**project.env, "COLUMNS": "250"})
    assert a.exit_code == 2, a.output
    data = json.loads(report.read_text())
    [audited] = [x for x in data["roles"] if x["name"] == ROLE]
    assert audited["integration"]["name"] == NAME and audited["verdict"] == "findings"
    above = {f["where"] for f in audited["findings"] if f["rule"] == "cwroles-least-privilege"}
    assert above == {"Companies › Company Maintenance › Delete", "System › Member Maintenance › Add",
                     "System › Member Maintenance › Inquire"}
    assert "System › Member Maintenance › Add = All" in a.output
    [m] = [x for x in data["api_members"] if x["identifier"] == MEMBER]
    assert m["verdict"] == "findings" and "3 cell(s) above Legacy RMM's requirement" in m["findings"][0]["message"]


def test_adopt_by_name_takes_over_instead_of_failing(sim, tmp_path):
    made_by_hand(sim)
    project = Project.repo_program(tmp_path / "project")
    assert cwroles(sim, "export", "--role", ROLE, "--dir", str(project.root)).exit_code == 0
    path = project.root / f"Pulumi.{NAME}.yaml"
    doc = yaml.safe_load(path.read_text())
    del doc["config"]["cwroles:adopt"]
    path.write_text(yaml.safe_dump(doc))
    stack = project.stack(NAME, tenant_config(sim))
    with pytest.raises(auto.errors.CommandError) as e:  # without adoption: the role exists
        stack.up()
    assert "already exists" in str(e.value) and "cwroles:adopt: true" in str(e.value)
    stack.set_config("cwroles:adopt", auto.ConfigValue("true"))
    before = counts(sim)
    stack.up()
    assert counts(sim) == before and outputs(stack)["pending"] == []
    stack.preview(expect_no_changes=True)


def test_pulumi_import_from_the_cli_needs_generate_code_false(sim, tmp_path):
    role, member = made_by_hand(sim)
    project = Project.repo_program(tmp_path / "project")
    assert cwroles(sim, "export", "--role", ROLE, "--dir", str(project.root)).exit_code == 0
    path = project.root / f"Pulumi.{NAME}.yaml"
    doc = yaml.safe_load(path.read_text())
    del doc["config"]["cwroles:adopt"]  # adopted with `pulumi import` instead
    path.write_text(yaml.safe_dump(doc))
    project.stack(NAME, tenant_config(sim))

    plain = project.cli("import", TYPES["role"], f"{NAME}-role", str(role["id"]), "--yes", stack=NAME)
    assert plain.returncode == 1 and "GetSchema is not implemented by the dynamic provider" in plain.stderr
    project.cli("state", "delete", f"urn:pulumi:{NAME}::cwroles::{TYPES['role']}::{NAME}-role", "--yes", "--force",
                stack=NAME, check=True)
    for kind, name, record in (("role", f"{NAME}-role", role["id"]), ("perms", f"{NAME}-permissions", role["id"]),
                               ("member", f"{NAME}-api-member", member["id"])):
        r = project.cli("import", TYPES[kind], name, str(record), "--generate-code=false", "--protect=false", "--yes",
                        stack=NAME)
        assert r.returncode == 0, r.stdout + r.stderr
    cli = project.cli("preview", "--expect-no-changes", stack=NAME)
    assert cli.returncode == 0, cli.stdout + cli.stderr
