"""What holds for all three resources: each records its tenant and refuses another one before any
request; `pulumi up` (the ``verify_live`` input) reads ConnectWise in diff, a preview never does;
incomplete settings fail ``check`` (so a preview fails too); a plain-text private key is refused."""

from __future__ import annotations

import json

import httpx
import pulumi
import pytest
from pulumi.runtime import config as runtime_config

from cwroles.grid import parse_checklist
from cwroles.provider import (
    ApiMemberProvider,
    ConfigurationError,
    RoleOutOfSync,
    RolePermissionsProvider,
    SecurityRoleProvider,
)
from cwroles.provider._common import TenantChanged, check_program_config

from prov_fakes import BASE, COMPANY, SITE, settings_rows

ROLES, PERMS, MEMBERS = SecurityRoleProvider(), RolePermissionsProvider(), ApiMemberProvider()
# What the resource classes hand the engine on `pulumi up` (a preview gets the plain providers above).
UP_ROLES, UP_PERMS, UP_MEMBERS = (SecurityRoleProvider(verify_live=True), RolePermissionsProvider(verify_live=True),
                                  ApiMemberProvider(verify_live=True))
HERE = {"site": SITE, "company_id": COMPANY}
ELSEWHERE = {"site": "https://api-na.myconnectwise.net", "company_id": "othermsp"}
GRANTS = [{"module": "Companies", "function": "Company Maintenance", "inquire": "All"}]
LIVE_OK = {("Companies", "Company Maintenance"): {"inquire": "All"}}
ROLE = {"id": 12, "name": "Acme Integration"}


def perms_inputs(**kw):
    base = {"role_id": 12, "role_name": "Acme Integration", "grants": GRANTS, "customize": None, "integration": "acme",
            "features": [], "waivers": None, "checklist_dir": None, "member_identifier": None, "stack": "acme-sync"}
    base.update(kw)
    return PERMS.check({}, base).inputs


def api_calls(cw) -> list[str]:
    return [f"{c.request.method} {c.request.url.path}" for c in cw.calls if "/apis/3.0/" in str(c.request.url)]


def mock_grid(cw, levels):
    cw.get(f"{BASE}/system/securityroles/12").mock(return_value=httpx.Response(200, json=ROLE))
    return cw.get(f"{BASE}/system/securityRoles/12/settings").mock(
        return_value=httpx.Response(200, json=settings_rows(levels)))


# ---- tenant recorded in state, another tenant refused before any request ------------------------


@pytest.mark.parametrize("call", [
    lambda olds: ROLES.diff("12", olds, {"name": "Acme Integration", "admin_flag": False}),
    lambda olds: ROLES.read("12", olds),
    lambda olds: ROLES.delete("12", olds),
    lambda olds: PERMS.diff("12", olds, perms_inputs()),
    lambda olds: PERMS.read("12", olds),
    lambda olds: PERMS.update("12", olds, perms_inputs()),
    lambda olds: PERMS.delete("12", olds),
    lambda olds: MEMBERS.diff("31", olds, {"identifier": "svc", "name": "Svc", "role_id": 12}),
    lambda olds: MEMBERS.read("31", olds),
    lambda olds: MEMBERS.update("31", olds, {"identifier": "svc", "name": "Svc", "role_id": 12}),
    lambda olds: MEMBERS.delete("31", olds),
], ids=["role.diff", "role.read", "role.delete", "perms.diff", "perms.read", "perms.update", "perms.delete",
        "member.diff", "member.read", "member.update", "member.delete"])
def test_another_tenant_stops_every_operation_before_any_request(cw, call):
    olds = {**perms_inputs(), "name": "Acme Integration", "identifier": "svc", "tenant": ELSEWHERE}
    with pytest.raises(TenantChanged) as e:
        call(olds)
    msg = str(e.value)
    assert "company 'othermsp' at https://api-na.myconnectwise.net" in msg  # where the resources live
    assert f"company '{COMPANY}' at {SITE}" in msg  # where the stack points now
    assert "pulumi config set connectwise:site https://api-na.myconnectwise.net" in msg  # how to fix it
    assert "pulumi stack init" in msg
    assert api_calls(cw) == []


def test_no_tenant_configured_names_the_recorded_one(monkeypatch, cw):
    for k in ("SITE", "COMPANY_ID", "CLIENT_ID", "PUBLIC_KEY", "PRIVATE_KEY"):
        monkeypatch.delenv(f"CONNECTWISE_{k}")
    with pytest.raises(TenantChanged) as e:
        PERMS.read("12", {"role_id": 12, "role_name": "R", "grants": GRANTS, "tenant": ELSEWHERE})
    msg = str(e.value)
    assert "company 'othermsp' at https://api-na.myconnectwise.net" in msg
    assert "no usable tenant is configured now" in msg and "CONNECTWISE_*" in msg
    assert api_calls(cw) == []


def test_the_same_tenant_spelled_differently_is_not_a_change(cw):
    mock_grid(cw, LIVE_OK)
    olds = {**PERMS.create(perms_inputs()).outs, "tenant": {"site": "HTTPS://CW.TEST/", "company_id": "ACME"}}
    assert PERMS.read("12", olds).id == "12"


def test_resources_record_their_tenant(cw):
    mock_grid(cw, LIVE_OK)
    cw.post(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(201, json={"id": 12, "name": "R"}))
    assert ROLES.create({"name": "R"}).outs["tenant"] == HERE
    assert PERMS.create(perms_inputs()).outs["tenant"] == HERE


# ---- every `pulumi up` reads ConnectWise; a preview never does ---------------------------------


def test_preview_diff_makes_no_request_and_up_diff_reads_the_grid(cw):
    settings = mock_grid(cw, LIVE_OK)
    outs = PERMS.create(perms_inputs()).outs
    cw.reset()
    # The console changed a level since the last up: a preview (no verify_live) cannot know, and asks nothing.
    settings.mock(return_value=httpx.Response(200, json=settings_rows(
        {**LIVE_OK, ("System", "Member Maintenance"): {"edit": "All"}})))
    assert PERMS.diff("12", outs, perms_inputs()).changes is False
    assert api_calls(cw) == []
    # `pulumi up` (the resource class's provider has verify_live on a real run) reads it and plans the update…
    d = UP_PERMS.diff("12", outs, perms_inputs())
    assert d.changes is True and d.replaces == []
    assert api_calls(cw) == ["GET /v2025_1/apis/3.0/system/securityRoles/12/settings"]
    # …which fails with the checklist, reusing that reading for the grid (only the role's name is asked).
    with pytest.raises(RoleOutOfSync) as e:
        UP_PERMS.update("12", outs, perms_inputs())
    assert "System › Member Maintenance › Edit: set None (now All)" in str(e.value)
    assert api_calls(cw)[1:] == ["GET /v2025_1/apis/3.0/system/securityroles/12"]


def test_up_diff_in_sync_is_no_change_unless_the_outputs_are_stale(cw):
    mock_grid(cw, LIVE_OK)
    outs = PERMS.create(perms_inputs()).outs
    assert UP_PERMS.diff("12", outs, perms_inputs()).changes is False
    # A refresh recorded drift that the admin has since set back: the outputs must say so after this up.
    stale = {**outs, "pending": ["Companies › Company Maintenance › Inquire: set All (now None)"]}
    assert UP_PERMS.diff("12", stale, perms_inputs()).changes is True
    assert UP_PERMS.update("12", stale, perms_inputs()).outs["pending"] == []


def test_up_reactivates_and_repairs_an_api_member_changed_in_the_console(cw):
    inputs = {"identifier": "svc", "name": "Svc", "role_id": 12}
    live = {"id": 31, "identifier": "svc", "name": "Svc", "securityRole": {"id": 99}, "inactiveFlag": True}
    cw.get(f"{BASE}/system/apiMembers/31").mock(return_value=httpx.Response(200, json=live))
    patch = cw.patch(f"{BASE}/system/apiMembers/31").mock(return_value=httpx.Response(200, json={
        **live, "securityRole": {"id": 12}, "inactiveFlag": False}))
    olds = {**inputs, "member_id": 31, "inactive": False, "tenant": HERE}
    assert MEMBERS.diff("31", olds, inputs).changes is False and api_calls(cw) == []  # preview: as last recorded
    assert UP_MEMBERS.diff("31", olds, inputs).changes is True
    out = UP_MEMBERS.update("31", olds, inputs).outs
    assert json.loads(patch.calls[0].request.content) == [
        {"op": "replace", "path": "inactiveFlag", "value": False},
        {"op": "replace", "path": "securityRole", "value": {"id": 12}}]
    assert out["role_id"] == 12 and out["inactive"] is False


def test_up_recreates_a_deleted_role_and_stops_on_a_renamed_one(cw):
    olds = {"role_id": 12, "name": "Acme Integration", "role_type": None, "admin_flag": False, "tenant": HERE,
            "stack": "s"}
    news = {"name": "Acme Integration", "admin_flag": False, "stack": "s"}
    route = cw.get(f"{BASE}/system/securityroles/12")
    route.mock(return_value=httpx.Response(200, json={"id": 12, "name": "Acme Integration", "adminFlag": False}))
    assert UP_ROLES.diff("12", olds, news).changes is False
    route.mock(return_value=httpx.Response(404, json={"code": "NotFound", "message": "gone"}))
    assert ROLES.diff("12", olds, news).changes is False  # a preview asks nothing
    d = UP_ROLES.diff("12", olds, news)
    assert d.changes and d.replaces == ["name"] and d.delete_before_replace
    route.mock(return_value=httpx.Response(200, json={"id": 12, "name": "Renamed by hand", "adminFlag": False}))
    with pytest.raises(ConfigurationError, match="security role id 12 was changed in ConnectWise: name is 'Renamed by hand'"):
        UP_ROLES.diff("12", olds, news)


# ---- one checklist per stack and tenant; its count and lines agree with the message --------------


def test_checklists_are_per_stack_and_tenant_and_removed_on_delete(cw, tmp_path, monkeypatch):
    mock_grid(cw, {})
    paths = []
    for company in (COMPANY, "othermsp"):
        monkeypatch.setenv("CONNECTWISE_COMPANY_ID", company)
        if company != COMPANY:
            cw.get(f"{SITE}/login/companyinfo/{company}").mock(
                return_value=httpx.Response(200, json={"Codebase": "v2025_1/"}))
        from cwroles.provider import _config
        _config.reset()
        with pytest.raises(RoleOutOfSync) as e:
            PERMS.create(perms_inputs(stack=f"{company}-mobius", role_name="Mobius"))
        paths.append(e.value.checklist)
        assert f"Tenant: company '{company}' at {SITE} · stack `{company}-mobius`" in e.value.checklist.read_text()
    assert paths[0] != paths[1] and all(p.exists() for p in paths)
    assert paths[0] == tmp_path / ".cwroles" / "checklists" / f"{COMPANY}-mobius" / COMPANY / "Mobius.md"
    # The second tenant's resources are destroyed: only its checklist goes.
    PERMS.delete("12", {**perms_inputs(stack="othermsp-mobius", role_name="Mobius"), "tenant": {
        "site": SITE, "company_id": "othermsp"}})
    assert paths[0].exists() and not paths[1].exists()
    assert not (tmp_path / ".cwroles" / "checklists" / "othermsp-mobius").exists()


def test_a_deleted_role_takes_its_checklist_with_it(cw, tmp_path):
    mock_grid(cw, {})
    with pytest.raises(RoleOutOfSync) as e:  # first up: the grid fails before RolePermissions is in state
        PERMS.create(perms_inputs())
    cw.delete(f"{BASE}/system/securityroles/12").mock(return_value=httpx.Response(204))
    ROLES.delete("12", {"name": "Acme Integration", "stack": "acme-sync", "tenant": HERE})
    assert not e.value.checklist.exists()


def test_message_count_lines_and_file_agree_when_customize_is_not_verifiable(cw):
    mock_grid(cw, {})
    cw.get(f"{BASE}/system/apiMembers").mock(return_value=httpx.Response(200, json=[]))  # member not there
    custom = {"System › Table Setup": ["Service / Service Board", "Company / Company Type"]}
    grants = GRANTS + [{"module": "System", "function": "Table Setup", "inquire": "All"}]
    with pytest.raises(RoleOutOfSync) as e:
        PERMS.create(perms_inputs(grants=grants, customize=custom, member_identifier="svc"))
    msg = str(e.value)
    lines = [ln for ln in msg.splitlines() if ln.startswith("  - ")]
    items = parse_checklist(e.value.checklist.read_text())
    assert f"{len(items)} settings differ" in msg and len(lines) == len(items) == 4
    assert "  - System › Table Setup › Customize: allow 'Company / Company Type' (could not be checked: API member" in msg


# ---- incomplete or unsafe settings --------------------------------------------------------------


@pytest.mark.parametrize("provider,news", [
    (ROLES, {"name": "R"}),
    (PERMS, {"role_id": 12, "role_name": "R", "grants": []}),
    (MEMBERS, {"identifier": "svc", "name": "Svc", "role_id": 12}),
])
def test_check_fails_on_incomplete_settings_so_a_preview_fails_too(monkeypatch, provider, news):
    monkeypatch.delenv("CONNECTWISE_CLIENT_ID")
    with pytest.raises(ConfigurationError, match="connectwise:clientId / CONNECTWISE_CLIENT_ID not set"):
        provider.check({}, news)


def test_a_plain_text_private_key_is_refused_with_the_command_that_fixes_it(monkeypatch):
    monkeypatch.setattr(pulumi, "get_stack", lambda: "acme-mobius")
    runtime_config.set_all_config({"connectwise:privateKey": "plainSECRET"}, [])
    try:
        with pytest.raises(pulumi.RunError) as e:
            check_program_config()
        assert "pulumi config set --secret connectwise:privateKey <private key> -s acme-mobius" in str(e.value)
        assert "plainSECRET" not in str(e.value)
        runtime_config.set_all_config({"connectwise:privateKey": "plainSECRET"}, ["connectwise:privateKey"])
        check_program_config()  # stored as a secret: fine
    finally:
        runtime_config.set_all_config({}, [])


def test_the_verify_flag_travels_in_the_pickled_provider_only():
    from pulumi.dynamic.dynamic import serialize_provider

    assert vars(RolePermissionsProvider()) == {}
    assert serialize_provider(RolePermissionsProvider()) != serialize_provider(UP_PERMS)
    assert len(serialize_provider(UP_PERMS)) < 200


def test_the_diff_that_shows_a_refresh_reads_nothing_even_with_the_up_provider(cw):
    # After each Read the engine calls Diff(refreshed outputs, inputs in state): the state holds the provider
    # recorded by the last `up`, so this diff must not read ConnectWise a second time.
    mock_grid(cw, LIVE_OK)
    outs = PERMS.create(perms_inputs()).outs
    cw.reset()
    refreshed = UP_PERMS.read("12", outs).outs
    engine_view = {k: v for k, v in refreshed.items() if v is not None}  # the engine drops nulls, numbers → float
    engine_view["role_id"] = float(engine_view["role_id"])
    assert UP_PERMS.diff("12", engine_view, perms_inputs()).changes is False
    assert api_calls(cw) == ["GET /v2025_1/apis/3.0/system/securityRoles/12/settings"]  # the read only
    UP_PERMS.diff("12", engine_view, perms_inputs())  # the next diff (e.g. `up --refresh`) verifies again
    assert len(api_calls(cw)) == 2
