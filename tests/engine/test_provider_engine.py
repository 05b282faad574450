"""The provider under the real engine, against the emulator over HTTP.

Create → checklist → the admin applies it in the console → green → no-op preview; drift in the
console → `preview --refresh --expect-no-changes` fails naming the function; out-of-band delete →
refresh plans a create; rename → replace; API member role change → in-place update; destroy →
role deleted, member deactivated; import of an existing role by id; no private key in state/output.
"""

from __future__ import annotations

import json

import pytest
from pulumi import automation as auto

from .conftest import tenant_config
from .harness import outputs, resources

pytestmark = pytest.mark.engine

PROGRAM = """
import json
import pulumi
from cwroles.provider import ApiMember, RolePermissions, SecurityRole

t = pulumi.Config("test")
import_id = t.get("importRoleId")
role = SecurityRole("role", name=t.require("roleName"),
                    opts=pulumi.ResourceOptions(import_=import_id) if import_id else None)
roles = {"main": role}
if t.get("otherRoleName"):
    roles["other"] = SecurityRole("other-role", name=t.get("otherRoleName"))
if t.get_bool("withPermissions") is not False:
    perms = RolePermissions("perms", role_id=role.role_id, role_name=role.name,
                            grants=json.loads(t.get("grants") or "[]"),
                            customize=json.loads(t.get("customize") or "{}"),
                            member_identifier=t.get("memberIdentifier"))
    pulumi.export("pending", perms.pending)
if t.get("memberIdentifier"):
    member = ApiMember("member", identifier=t.get("memberIdentifier"), name=t.get("memberIdentifier"),
                       role_id=roles[t.get("memberRole") or "main"].role_id)
    pulumi.export("member_id", member.member_id)
pulumi.export("role_id", role.role_id)
"""

GRANTS = [
    {"module": "Service Desk", "function": "Service Tickets", "add": "All", "edit": "All", "inquire": "All"},
    {"module": "System", "function": "Table Setup", "inquire": "All"},
]
CUSTOMIZE = {"System › Table Setup": ["Service / Service Board"]}
ROLE_TYPE = "pulumi-python:dynamic/connectwise:SecurityRole"
PERMS_TYPE = "pulumi-python:dynamic/connectwise:RolePermissions"


def _config(sim, **test) -> dict:
    cfg = tenant_config(sim)
    for k, v in test.items():
        cfg[f"test:{k}"] = json.dumps(v) if isinstance(v, (list, dict)) else v
    return cfg


def _role(sim, name: str) -> dict | None:
    with sim.client() as c:
        found = c.get("/system/securityroles", params={"conditions": f'name="{name}"'}).json()
    return found[0] if found else None


def _member(sim, identifier: str) -> dict:
    with sim.client() as c:
        return c.get("/system/apiMembers", params={"conditions": f'identifier="{identifier}"'}).json()[0]


def _apply(sim, role: str) -> None:
    sim.set_levels(role, *GRANTS)
    sim.set_customize(role, "System › Table Setup", ["Service / Service Board"])


def test_checklist_then_console_then_green_then_drift(sim, make_project):
    project = make_project(PROGRAM)
    stack = project.stack("t", _config(sim, roleName="Acme Sync", grants=GRANTS, customize=CUSTOMIZE,
                                       memberIdentifier="AcmeSync"))
    with pytest.raises(auto.errors.CommandError) as failed:
        stack.up()
    text = str(failed.value)
    assert "Service Desk › Service Tickets › Add: set All (now None)" in text
    assert "System › Table Setup › Inquire: set All (now None)" in text
    assert "Companies ›" not in text  # nothing else differs on a fresh role
    checklist = project.checklist("Acme Sync", stack="t")
    assert "- [ ] Service Tickets: Add → **All** (now None)" in checklist.read_text()
    role = _role(sim, "Acme Sync")
    assert role is not None  # the role itself was created…
    assert _member(sim, "AcmeSync")["securityRole"]["id"] == role["id"]  # …and the API member bound to it

    _apply(sim, "Acme Sync")  # the admin, in the UI
    up = stack.up()
    assert up.summary.result == "succeeded"
    assert outputs(stack)["pending"] == []
    assert stack.preview(expect_no_changes=True).change_summary.get("same") == 4
    stack.preview(refresh=True, expect_no_changes=True)  # raises if anything drifted

    # Someone widens the role by hand.
    sim.set_levels("Acme Sync", {"module": "System", "function": "Member Maintenance", "edit": "All"})
    result = project.cli("preview", "--refresh", "--expect-no-changes", "--diff", stack="t")
    assert result.returncode != 0
    assert "System › Member Maintenance › Edit" in result.stdout
    with pytest.raises(auto.errors.CommandError) as failed:
        stack.up(refresh=True)
    assert "System › Member Maintenance › Edit: set None (now All)" in str(failed.value)


def test_out_of_band_delete_rename_member_role_change_destroy(sim, make_project):
    project = make_project(PROGRAM)
    stack = project.stack("t", _config(sim, roleName="Role A", otherRoleName="Role B", memberIdentifier="Bot"))
    stack.up()
    a, b = _role(sim, "Role A"), _role(sim, "Role B")
    assert _member(sim, "Bot")["securityRole"]["id"] == a["id"]

    # API member moves to the other role: an in-place update, not a replacement.
    stack.set_config("test:memberRole", auto.ConfigValue("other"))
    assert stack.preview().change_summary.get("update") == 1
    up = stack.up()
    assert up.summary.resource_changes.get("update") == 1 and "replace" not in up.summary.resource_changes
    assert _member(sim, "Bot")["securityRole"]["id"] == b["id"]
    assert _member(sim, "Bot")["id"] == outputs(stack)["member_id"]

    # Rename the main role: no update exists in the API, so it is replaced.
    stack.set_config("test:roleName", auto.ConfigValue("Role A2"))
    preview = stack.preview()
    assert preview.change_summary.get("replace") == 2  # the role, and the grid that belongs to it
    assert "connectwise:SecurityRole role create replacement [diff: ~name]" in preview.stdout
    up = stack.up()
    assert up.summary.resource_changes.get("replace") == 2
    assert _role(sim, "Role A") is None and _role(sim, "Role A2") is not None

    # The role deleted out of band: refresh notices, the next preview plans a create.
    with sim.client() as c:
        c.delete(f"/system/securityroles/{_role(sim, 'Role A2')['id']}").raise_for_status()
    preview = stack.preview(refresh=True)
    assert preview.change_summary.get("create", 0) >= 1
    stack.up(refresh=True)
    assert _role(sim, "Role A2") is not None

    # Destroy: roles deleted, API member deactivated (there is no DELETE for members).
    stack.destroy()
    assert _role(sim, "Role A2") is None and _role(sim, "Role B") is None
    assert _member(sim, "Bot")["inactiveFlag"] is True


def test_import_existing_role_by_id(sim, make_project):
    with sim.client() as c:
        existing = c.post("/system/securityroles", json={"name": "Legacy Sync"}).raise_for_status().json()
    project = make_project(PROGRAM)
    stack = project.stack("t", _config(sim, roleName="Legacy Sync", importRoleId=str(existing["id"]),
                                       withPermissions="false"))
    up = stack.up()
    assert up.summary.resource_changes.get("import") == 1
    [role] = resources(stack, ROLE_TYPE)
    assert role["id"] == str(existing["id"])
    with sim.client() as c:
        assert c.get("/system/securityroles/count").json()["count"] == 2  # Admin + the adopted one; no duplicate
    stack.preview(expect_no_changes=True)  # adopted as declared: nothing to change
    stack.destroy()  # and it is now managed: destroy deletes it
    assert _role(sim, "Legacy Sync") is None


def test_private_key_never_in_state_or_output(sim, make_project):
    with sim.client() as c:
        admin = c.get("/system/apiMembers", params={"conditions": 'identifier="cwadmin"'}).json()[0]
    key = sim.create_key(admin["id"], "cwroles test")
    private = key["privateKey"]
    project = make_project(PROGRAM)
    cfg = tenant_config(sim, private_key=private)
    cfg["connectwise:publicKey"] = key["publicKey"]
    cfg.update({"test:roleName": "Secret Test", "test:grants": "[]", "test:memberIdentifier": "SecretBot"})
    stack = project.stack("t", cfg)
    seen: list[str] = []
    stack.up(on_output=seen.append)
    seen.append(stack.preview(refresh=True, on_output=seen.append).stdout)
    # A failing operation's message must not leak it either.
    sim.set_levels("Secret Test", {"module": "Companies", "function": "Contacts", "inquire": "All"})
    with pytest.raises(auto.errors.CommandError) as failed:
        stack.up(refresh=True, on_output=seen.append)
    seen.append(str(failed.value))
    assert "Companies › Contacts › Inquire: set None (now All)" in seen[-1]
    state_files = [p for p in (project.root / ".state").rglob("*") if p.is_file()]
    assert state_files, "the file backend holds the stack's state"
    for text in seen + [p.read_text(errors="replace") for p in state_files]:
        assert private not in text
    exported = project.cli("stack", "export", stack="t", check=True).stdout  # as `pulumi stack export` shows it
    assert private not in exported
    # Decrypted, the key is only in the engine's own record of the stack config (the default provider's
    # inputs, stored encrypted); none of cwroles' resources holds it in its inputs or outputs.
    decrypted = stack.export_stack().deployment["resources"]
    holders = [r["type"] for r in decrypted if private in json.dumps(r)]
    assert set(holders) <= {"pulumi:providers:pulumi-python"}
