"""Configuration sources, statelessness, by-reference pickling and type tokens."""

from __future__ import annotations

import base64
import logging

import httpx
import pulumi
import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider

from cwroles import emulator_defaults as emu
from cwroles.provider import (
    ApiMemberProvider,
    ConfigurationError,
    RolePermissionsProvider,
    SecurityRoleProvider,
    resolve_settings,
)
from cwroles.provider._config import Tenant

from prov_fakes import BASE, COMPANY, PRIVATE

PROVIDERS = [SecurityRoleProvider, RolePermissionsProvider, ApiMemberProvider]


def test_stack_config_wins_over_environment_and_keys_with_colon_are_used_as_is(monkeypatch):
    cfg = {"connectwise:site": "api-eu.myconnectwise.net", "connectwise:companyId": "stackco",
           "connectwise:maxRetries": "7", "connectwise:codebase": "v2025_1"}
    s = resolve_settings(cfg.get, {"CONNECTWISE_SITE": "http://env", "CONNECTWISE_COMPANY_ID": "envco",
                                   "CONNECTWISE_CLIENT_ID": "cid", "CONNECTWISE_PUBLIC_KEY": "p",
                                   "CONNECTWISE_PRIVATE_KEY": "s", "CONNECTWISE_RETRY_MAX_SECONDS": "5"})
    assert (s.site, s.company_id, s.client_id, s.max_retries, s.retry_max_seconds, s.codebase, s.emulator) == (
        "api-eu.myconnectwise.net", "stackco", "cid", 7, 5.0, "v2025_1", False)
    assert "'s'" not in repr(s) and "public_key" not in repr(s)


def test_the_emulator_only_when_the_stack_chose_it_and_says_so_once(caplog):
    caplog.set_level(logging.INFO, logger="cwroles.provider")
    s = resolve_settings({"connectwise:site": "emulator"}.get, {})
    resolve_settings(environ={"CONNECTWISE_SITE": "Emulator"})
    assert (s.site, s.company_id, s.client_id, s.public_key, s.private_key) == (
        emu.SITE, emu.COMPANY_ID, emu.CLIENT_ID, emu.ADMIN_PUBLIC_KEY, emu.ADMIN_PRIVATE_KEY)
    assert s.emulator and s.tenant.emulator and s.tenant.site == emu.SITE
    assert caplog.text.count("using the bundled emulator") == 1
    assert emu.ADMIN_PRIVATE_KEY not in caplog.text


def test_no_site_anywhere_is_incomplete_never_the_emulator():
    # A stack configured through CONNECTWISE_* and run without them must not fall back to the emulator.
    with pytest.raises(ConfigurationError) as e:
        resolve_settings(environ={})
    msg = str(e.value)
    assert "no ConnectWise tenant is configured" in msg and "connectwise:site / CONNECTWISE_SITE" in msg
    assert "pulumi config set connectwise:site emulator" in msg  # how a stack chooses the emulator
    assert "pulumi config set --secret connectwise:privateKey" in msg


def test_incomplete_or_bad_settings_are_explained():
    with pytest.raises(ConfigurationError, match="connectwise:privateKey / CONNECTWISE_PRIVATE_KEY not set"):
        resolve_settings({"connectwise:site": "x", "connectwise:companyId": "c", "connectwise:clientId": "i",
                          "connectwise:publicKey": "p"}.get, {})
    with pytest.raises(ConfigurationError, match="connectwise:clientId / CONNECTWISE_CLIENT_ID not set"):
        resolve_settings({"connectwise:site": "x", "connectwise:companyId": "c"}.get,
                         {"CONNECTWISE_PUBLIC_KEY": "p", "CONNECTWISE_PRIVATE_KEY": "s"})
    with pytest.raises(ConfigurationError, match="connectwise:maxRetries / CONNECTWISE_MAX_RETRIES must be a number"):
        resolve_settings({"connectwise:site": "emulator", "connectwise:maxRetries": "lots"}.get, {})


def test_tenants_compare_by_site_and_company():
    a = resolve_settings({"connectwise:site": "API-NA.myconnectwise.net/", "connectwise:companyId": "Acme",
                          "connectwise:clientId": "c", "connectwise:publicKey": "p", "connectwise:privateKey": "s"}.get,
                         {}).tenant
    assert a.record() == {"site": "https://API-NA.myconnectwise.net", "company_id": "Acme"}
    assert a.same_as(Tenant.from_record({"site": "https://api-na.myconnectwise.net", "company_id": "acme"}))
    assert not a.same_as(Tenant.of("api-eu.myconnectwise.net", "acme"))
    assert not a.same_as(Tenant.of("api-na.myconnectwise.net", "other"))
    assert Tenant.from_record(None) is None and Tenant.from_record({"site": "x"}) is None


def test_configure_feeds_calls_without_touching_the_provider_object(cw, monkeypatch):
    for k in ("SITE", "COMPANY_ID", "CLIENT_ID", "PUBLIC_KEY", "PRIVATE_KEY"):
        monkeypatch.delenv(f"CONNECTWISE_{k}")
    p = SecurityRoleProvider()
    before = serialize_provider(p)
    raw = {"connectwise:site": "https://cw.test", "connectwise:companyId": COMPANY, "connectwise:clientId": "cid",
           "connectwise:publicKey": "pk", "connectwise:privateKey": PRIVATE, "other:thing": "x"}
    p.configure(ConfigureRequest(Config(raw, "proj")))
    assert vars(p) == {}
    assert serialize_provider(p) == before
    route = cw.get(f"{BASE}/system/securityroles/5").mock(return_value=httpx.Response(200, json={"id": 5, "name": "R"}))
    r = p.read("5", {"name": "R"})
    assert r.outs == {"role_id": 5, "name": "R", "role_type": None, "admin_flag": False, "stack": None,
                      "tenant": {"site": "https://cw.test", "company_id": COMPANY}}
    assert route.calls[0].request.headers["clientId"] == "cid"
    assert PRIVATE not in str(r.outs)


@pytest.mark.parametrize("cls", PROVIDERS)
def test_providers_pickle_by_reference(cls):
    blob = serialize_provider(cls())
    raw = base64.b64decode(blob)
    assert len(blob) < 200
    assert cls.__module__.encode() in raw and cls.__name__.encode() in raw
    assert b"co_code" not in raw and b"_create_code" not in raw and b"def " not in raw


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self):
        self.seen: dict[str, tuple[str, dict]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.seen[args.name] = (args.typ, dict(args.inputs))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def test_resource_type_tokens_and_inputs():
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, project="cwroles", stack="test", preview=False)
    from cwroles.provider import ApiMember, RolePermissions, SecurityRole

    @pulumi.runtime.test
    def program():
        role = SecurityRole("role", name="Acme Integration")
        perms = RolePermissions("perms", role_id=role.role_id, role_name="Acme Integration",
                                grants=[{"module": "Companies", "function": "Contacts", "inquire": "All"}])
        member = ApiMember("member", identifier="svc-acme", name="Acme", role_id=role.role_id)
        return pulumi.Output.all(role.urn, perms.urn, member.urn)

    program()
    assert mocks.seen["role"][0] == "pulumi-python:dynamic/connectwise:SecurityRole"
    assert mocks.seen["perms"][0] == "pulumi-python:dynamic/connectwise:RolePermissions"
    assert mocks.seen["member"][0] == "pulumi-python:dynamic/connectwise:ApiMember"
    assert mocks.seen["role"][1]["name"] == "Acme Integration"
    assert mocks.seen["perms"][1]["grants"][0]["function"] == "Contacts"
    for _typ, inputs in mocks.seen.values():
        assert not any("privateKey" in str(k) for k in inputs)
