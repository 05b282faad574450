"""Import under the real engine, one test per resource type (each resource's typed model gives read's
inputs): a security role, its permission grid and an API member made by hand in ConnectWise are adopted
with `import_`, then managed (a no-change preview, and destroy removes them)."""

from __future__ import annotations

import json

import pytest

from .conftest import tenant_config
from .harness import outputs, resources

pytestmark = pytest.mark.engine

PROGRAM = """
import json
import pulumi
from cwroles.provider import ApiMember, RolePermissions, SecurityRole

t = pulumi.Config("test")
role = SecurityRole("role", name=t.require("roleName"), opts=pulumi.ResourceOptions(import_=t.require("roleId")))
perms = RolePermissions("perms", role_id=role.role_id, role_name=role.name, grants=json.loads(t.require("grants")),
                        opts=pulumi.ResourceOptions(import_=t.require("roleId")))
member = ApiMember("member", identifier=t.require("identifier"), name=t.require("memberName"), role_id=role.role_id,
                   opts=pulumi.ResourceOptions(import_=t.require("memberId")))
pulumi.export("pending", perms.pending)
pulumi.export("member_id", member.member_id)
pulumi.export("member_role", member.role_id)
"""
GRANTS = [{"module": "Companies", "function": "Company Maintenance", "inquire": "All"},
          {"module": "Service Desk", "function": "Service Tickets", "add": "All", "edit": "All", "inquire": "All"}]
PERMS = "pulumi-python:dynamic/connectwise:RolePermissions"
MEMBER = "pulumi-python:dynamic/connectwise:ApiMember"


def _made_by_hand(sim) -> tuple[dict, dict]:
    with sim.client() as c:
        role = c.post("/system/securityroles", json={"name": "Legacy RMM"}).raise_for_status().json()
    sim.set_levels("Legacy RMM", *GRANTS)
    member = sim.create_api_member("LegacyRMM", role["id"], name="Legacy RMM")
    return role, member


def test_import_role_permissions_and_api_member(sim, make_project):
    role, member = _made_by_hand(sim)
    project = make_project(PROGRAM)
    config = {**tenant_config(sim), "test:roleName": "Legacy RMM", "test:roleId": str(role["id"]),
              "test:grants": json.dumps(GRANTS), "test:identifier": "LegacyRMM", "test:memberName": "Legacy RMM",
              "test:memberId": str(member["id"])}
    stack = project.stack("t", config)
    up = stack.up()
    assert up.summary.resource_changes.get("import") == 3, up.summary.resource_changes
    out = outputs(stack)
    assert out["pending"] == [] and out["member_id"] == member["id"] and out["member_role"] == role["id"]
    [perms] = resources(stack, PERMS)
    assert perms["id"] == str(role["id"])
    assert perms["outputs"]["live"] == {"Companies › Company Maintenance": {"inquire": "All"},
                                        "Service Desk › Service Tickets": {"add": "All", "edit": "All", "inquire": "All"}}
    [m] = resources(stack, MEMBER)
    assert m["id"] == str(member["id"]) and m["outputs"]["identifier"] == "LegacyRMM"
    stack.preview(expect_no_changes=True)  # adopted as declared
    stack.destroy()
    with sim.client() as c:
        assert c.get(f"/system/apiMembers/{member['id']}").json()["inactiveFlag"] is True
        assert c.get("/system/securityroles", params={"conditions": 'name="Legacy RMM"'}).json() == []


def test_import_with_a_grid_that_differs_from_the_code_is_not_green(sim, make_project):
    """Adopting a role whose live grid has more than the code: never green, the checklist says what to remove."""
    from pulumi import automation as auto

    role, member = _made_by_hand(sim)
    project = make_project(PROGRAM)
    config = {**tenant_config(sim), "test:roleName": "Legacy RMM", "test:roleId": str(role["id"]),
              "test:grants": json.dumps(GRANTS[:1]), "test:identifier": "LegacyRMM", "test:memberName": "Legacy RMM",
              "test:memberId": str(member["id"])}
    stack = project.stack("t", config)
    with pytest.raises(auto.errors.CommandError) as e:
        stack.up()
    text = str(e.value)
    assert "Traceback" not in text
    assert "Service Desk › Service Tickets › Add: set None (now All)" in text, text
