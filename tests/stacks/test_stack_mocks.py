"""The stack program under ``pulumi.runtime.set_mocks``: which resources it declares, with which inputs,
and what it exports. Uses the real ``provider`` package (its resources are dynamic resources, so the mocks
see type tokens like ``pulumi-python:dynamic/connectwise:SecurityRole``)."""

from __future__ import annotations

import json
from unittest import mock

import pulumi
import pytest

from cwroles import emulator_defaults as D
from cwroles.stacks import local_emulator, main

ROLE_T = "pulumi-python:dynamic/connectwise:SecurityRole"
PERMS_T = "pulumi-python:dynamic/connectwise:RolePermissions"
MEMBER_T = "pulumi-python:dynamic/connectwise:ApiMember"


class CwMocks(pulumi.runtime.Mocks):
    def __init__(self, pending: list | None = None):
        self.created: dict[str, tuple[str, dict]] = {}
        self.pending = pending or []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = {k: v for k, v in args.inputs.items() if not k.startswith("__")}
        self.created[args.name] = (args.typ, inputs)
        if args.typ == ROLE_T:
            return "17", {**inputs, "role_id": 17}
        if args.typ == PERMS_T:
            return "17", {**inputs, "live": {}, "pending": self.pending, "customize_status": "in sync"}
        if args.typ == MEMBER_T:
            return "42", {**inputs, "member_id": 42}
        return f"{args.name}-id", inputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


class FakeEmulator:
    """The seam for the embedded default: records what the program asked for, starts nothing."""

    def __init__(self):
        self.calls: list[str] = []

    def ensure_running(self, root, log):
        self.calls.append("ensure_running")

    def check_running(self, root, log):
        self.calls.append("check_running")


def run_program(config: dict, stack: str = "test", pending: list | None = None, preview: bool = False,
                connectwise: dict | None = None, emulator=None):
    mocks = CwMocks(pending)
    pulumi.runtime.set_all_config(
        {**{f"cwroles:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
         **{f"connectwise:{k}": v for k, v in (connectwise or {}).items()}}
    )
    pulumi.runtime.set_mocks(mocks, project="cwroles", stack=stack, preview=preview)
    exports: dict = {}
    resolved: dict = {}

    @pulumi.runtime.test
    def program():
        with mock.patch.object(pulumi, "export", lambda k, v: exports.__setitem__(k, v)):
            main(emulator=emulator) if emulator is not None else main()
        keys = sorted(exports)
        return pulumi.Output.all(*[exports[k] for k in keys]).apply(lambda vals: resolved.update(zip(keys, vals)))

    program()
    return mocks, resolved


def test_mobius_stack_declares_role_permissions_and_member():
    mocks, out = run_program({"integration": "mobius", "features": ["custom-menu-entry"]}, stack="mobius")
    assert {name: typ for name, (typ, _) in mocks.created.items()} == {
        "mobius-role": ROLE_T, "mobius-permissions": PERMS_T, "mobius-api-member": MEMBER_T}
    role = mocks.created["mobius-role"][1]
    assert role["name"] == "Mobius"
    perms = mocks.created["mobius-permissions"][1]
    assert perms["role_id"] == 17 and perms["role_name"] == "Mobius"
    assert perms["integration"] == "mobius" and perms["features"] == ["custom-menu-entry"]
    assert perms["member_identifier"] == "Mobius"
    assert len(perms["grants"]) == 16
    invoicing = next(g for g in perms["grants"] if g["function"] == "Invoicing")
    assert (invoicing["edit"], invoicing["delete"], invoicing["inquire"]) == ("All", "All", "All")
    assert invoicing["waiver"]["approved_by"] == "vendor:Mobius"
    assert perms["customize"]["System › Custom Menu Entry"] == ["Mobius"]
    member = mocks.created["mobius-api-member"][1]
    assert member["identifier"] == "Mobius" and member["role_id"] == 17 and member["name"] == "Mobius"

    assert out["role_id"] == 17 and out["role_name"] == "Mobius"
    assert out["api_member_identifier"] == "Mobius" and out["api_member_id"] == 42
    assert out["integration"] == "mobius" and out["features"] == ["custom-menu-entry"]
    assert out["pending"] == [] and out["customize_status"] == "in sync"
    assert "System › Members › API Members › Mobius › API Keys" in out["next_step"]


def test_msp_process_with_overrides_and_pending_checklist():
    checklist = ["Companies › Notes › Add: set All (now None)"]
    mocks, out = run_program(
        {"integration": "msp-process", "features": "invoices-tab", "roleName": "Acme MSP Process",
         "apiMemberIdentifier": "AcmeMSPP", "apiMemberEmail": "api@acme.example"},
        stack="acme-msp-process", pending=checklist,
    )
    assert mocks.created["msp-process-role"][1]["name"] == "Acme MSP Process"
    perms = mocks.created["msp-process-permissions"][1]
    assert perms["member_identifier"] == "AcmeMSPP"
    assert len(perms["grants"]) == 19
    assert mocks.created["msp-process-api-member"][1]["email_address"] == "api@acme.example"
    assert out["pending"] == checklist
    assert out["role_name"] == "Acme MSP Process"
    # The next step agrees with `pending`: the grid first, then the key.
    assert out["next_step"].startswith("1 permission setting(s) of the role differ from the code")
    assert "System › Security Roles › Acme MSP Process" in out["next_step"]
    assert "API Members › AcmeMSPP › API Keys" in out["next_step"]


def test_managed_backup_role_is_named_api():
    mocks, out = run_program({"integration": "managed-backup"})
    assert mocks.created["managed-backup-role"][1]["name"] == "API"
    assert mocks.created["managed-backup-permissions"][1]["customize"] == {"System › Table Setup": ["Service / Service Board"]}
    assert out["api_member_identifier"] == "MSP360Backup"


@pytest.mark.parametrize(
    "config,match",
    [
        ({}, r"stack broken: cwroles:integration is not set; choose one of: managed-backup, mobius, msp-process"),
        ({"integration": "mobius", "features": ["invoices-tab"]}, r"Mobius has no feature 'invoices-tab'; its features are: custom-menu-entry"),
    ],
)
def test_config_errors_stop_the_program_cleanly(config, match):
    mocks = CwMocks()
    pulumi.runtime.set_all_config({f"cwroles:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
    pulumi.runtime.set_mocks(mocks, project="cwroles", stack="broken", preview=False)
    with pytest.raises(pulumi.RunError, match=match):
        main()
    assert mocks.created == {}


def test_the_grid_check_waits_for_the_api_member():
    # RolePermissions impersonates the member to read the Customize lists: it must be declared after the
    # member and take the member's identifier *output*, so the first `up` never races the member's creation.
    mocks, _ = run_program({"integration": "msp-process"})
    order = list(mocks.created)
    assert order.index("msp-process-api-member") < order.index("msp-process-permissions")
    assert mocks.created["msp-process-permissions"][1]["member_identifier"] == "MSPProcess"


@pytest.mark.parametrize("connectwise", [None, {"site": "api-na.myconnectwise.net"}, {"site": "emulator"}])
@pytest.mark.parametrize("preview", [True, False])
def test_mock_runs_never_start_a_server(monkeypatch, connectwise, preview):
    """Whatever the config, the program under mocks leaves the default emulator port as it found it."""
    before = local_emulator.listener(D.PORT)

    def no_server(*a, **k):
        raise AssertionError(f"the program started a process under mocks: {a}")

    monkeypatch.setattr(local_emulator.subprocess, "run", no_server)
    monkeypatch.setattr(local_emulator.subprocess, "Popen", no_server)
    try:
        run_program({"integration": "mobius"}, connectwise=connectwise, preview=preview,
                    emulator=FakeEmulator() if connectwise == {"site": "emulator"} else None)
    finally:
        after = local_emulator.listener(D.PORT)
    assert (after is None) == (before is None) and (after is None or after.pid == before.pid)


@pytest.mark.parametrize("preview,expected", [(True, ["check_running"]), (False, ["ensure_running"])])
def test_the_embedded_default_starts_only_on_a_deployment_of_a_stack_that_chose_it(preview, expected):
    fake = FakeEmulator()
    run_program({"integration": "mobius"}, connectwise={"site": "emulator"}, preview=preview, emulator=fake)
    assert fake.calls == expected
    for connectwise in (None, {"site": "api-na.myconnectwise.net"}):
        fake = FakeEmulator()
        run_program({"integration": "mobius"}, connectwise=connectwise, preview=preview, emulator=fake)
        assert fake.calls == []  # no tenant, or a real one: the emulator is none of the program's business


def test_under_mocks_the_plan_is_built_every_time(monkeypatch, own_plan_cache):
    from cwroles.stacks import program

    built = []
    real = program.plan_from_config
    monkeypatch.setattr(program, "plan_from_config", lambda *a, **k: built.append(1) or real(*a, **k))
    for _ in range(2):
        mocks, out = run_program({"integration": "mobius"}, stack="mobius")
        assert out["role_name"] == "Mobius"
    assert len(built) == 2 and not own_plan_cache.exists()
