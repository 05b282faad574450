"""`cwroles:adopt` in the stack program: by natural key (`true`) or by id (`{roleId, apiMemberId}`, what
`cwroles export` writes), its errors, and a manifest's `tenant_catalog` reaching RolePermissions."""

from __future__ import annotations

import json

import pulumi
import pytest

from cwroles.manifest import Integrations
from cwroles.problems import LineIndex
from cwroles.stacks import main
from cwroles.stacks.program import Adopt, ConfigSource, StackConfigError, build_plan, manifest_for, read_settings

from tests.stacks.test_stack_mocks import MEMBER_T, PERMS_T, ROLE_T

OWN = """\
integration: dispatch
title: Dispatch
vendor_page: exported
role: {name: Dispatch}
api_member: {identifier: dispatch, name: Dispatch}
grants:
- {module: Service Desk, function: Ticket Dispatch Rules, add: All, reason: r, source: s}
customize:
- {function: System › Table Setup, items: [Service / Dispatch Queue], reason: r, source: s}
tenant_catalog:
  functions: [{module: Service Desk, function: Ticket Dispatch Rules}]
  setup_tables: [{category: Service, table: Dispatch Queue}]
"""


@pytest.mark.parametrize("value, adopt", [
    (True, Adopt(by_key=True)), ("true", Adopt(by_key=True)), (False, None), ("false", None),
    ({"roleId": 12, "apiMemberId": "34"}, Adopt(role_id=12, member_id=34)), ('{"roleId": 12}', Adopt(role_id=12)),
])
def test_adopt_values(value, adopt):
    assert read_settings({"integration": "mobius", "adopt": value}).adopt == adopt


@pytest.mark.parametrize("value, text", [
    ("yes", "'yes' is neither true/false nor a mapping of ids"),
    ({"role": 12}, "cwroles:adopt.role: unknown key 'role'; allowed: roleId, apiMemberId"),
    ({"roleId": "twelve"}, "cwroles:adopt.roleId: must be a ConnectWise record id (a positive whole number), got 'twelve'"),
    ({"roleId": 0}, "got 0"),
    ({}, "names no id"),
    ([12], "must be true, false or a mapping of ids"),
])
def test_bad_adopt_values_name_the_key_and_the_fix(value, text):
    text_file = "config:\n  cwroles:integration: mobius\n  cwroles:adopt: x\n"
    source = ConfigSource("Pulumi.acme.yaml", LineIndex.from_yaml(text_file))
    with pytest.raises(StackConfigError) as e:
        read_settings({"integration": "mobius", "adopt": value}, source=source)
    assert text in str(e.value) and "Pulumi.acme.yaml:3" in str(e.value)


class Mocks(pulumi.runtime.Mocks):
    def __init__(self):
        self.created: dict[str, tuple[str, dict, str]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = {k: v for k, v in args.inputs.items() if not k.startswith("__")}
        self.created[args.name] = (args.typ, inputs, args.resource_id)
        rid = args.resource_id or "17"
        if args.typ == ROLE_T:
            return rid, {**inputs, "role_id": int(rid)}
        if args.typ == PERMS_T:
            return rid, {**inputs, "live": {}, "pending": [], "customize_status": "ok"}
        return rid, {**inputs, "member_id": int(rid)}

    def call(self, args):
        return {}


def _run(config: dict) -> Mocks:
    mocks = Mocks()
    pulumi.runtime.set_all_config({f"cwroles:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
    pulumi.runtime.set_mocks(mocks, project="cwroles", stack="adopt", preview=False)

    @pulumi.runtime.test
    def program():
        main()
        return pulumi.Output.from_input(None)

    program()
    return mocks


def test_ids_import_the_role_its_grid_and_the_member():
    m = _run({"integration": "mobius", "adopt": {"roleId": 12, "apiMemberId": 34}, "roleType": "API"})
    assert m.created["mobius-role"][2] == "12" and m.created["mobius-permissions"][2] == "12"
    assert m.created["mobius-api-member"][2] == "34"
    assert m.created["mobius-role"][1]["role_type"] == "API"
    assert not m.created["mobius-role"][1]["adopt_existing"]


def test_true_adopts_by_name_and_identifier_at_create():
    m = _run({"integration": "mobius", "adopt": True})
    assert {name: rid for name, (_t, _i, rid) in m.created.items()} == {
        "mobius-role": "", "mobius-permissions": "", "mobius-api-member": ""}
    assert m.created["mobius-role"][1]["adopt_existing"] is True
    assert m.created["mobius-api-member"][1]["adopt_existing"] is True
    plain = _run({"integration": "mobius"})
    assert "adopt_existing" not in plain.created["mobius-api-member"][1]  # existing stacks: inputs unchanged
    assert {t for t, _i, _r in plain.created.values()} == {ROLE_T, PERMS_T, MEMBER_T}


def test_a_manifests_tenant_catalog_reaches_role_permissions(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: x\nruntime: python\n")
    (tmp_path / "integrations").mkdir()
    (tmp_path / "integrations" / "dispatch.yaml").write_text(OWN)
    integrations = Integrations.discover(tmp_path)
    assert integrations.get("dispatch").ok, [str(p) for p in integrations.get("dispatch").problems]
    settings = read_settings({"integration": "dispatch"}, integrations)
    plan = build_plan(manifest_for(settings, integrations), settings)
    assert plan.permissions_args["tenant_catalog"] == {
        "functions": [{"module": "Service Desk", "function": "Ticket Dispatch Rules"}],
        "setup_tables": [{"category": "Service", "table": "Dispatch Queue"}]}
    assert plan.permissions_args["customize"] == {"System › Table Setup": ["Service / Dispatch Queue"]}
    assert [g["function"] for g in plan.permissions_args["grants"]] == ["Ticket Dispatch Rules"]
    assert plan.permissions_args["requirement"]["grants"][0]["function"] == "Ticket Dispatch Rules"
