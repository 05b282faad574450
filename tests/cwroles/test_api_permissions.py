"""The API permission map (cwroles/data/api-permissions.yaml): schema, consistency with the catalog, lookup."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cwroles.api_permissions import (ApiPermissionsError, Permission, load_api_permissions, parse_api_permissions,
                                     path_pattern)
from cwroles.catalog import load_catalog


def _map(*endpoints: dict) -> dict:
    return {"schema_version": 1, "endpoints": list(endpoints)}


def test_every_permission_is_a_catalog_cell():
    cat = load_catalog()
    perms = load_api_permissions()
    assert perms.endpoints
    for e in perms.endpoints:
        for method, need in e.methods.items():
            if isinstance(need, Permission):
                m, f = cat.function(need.module, need.function)
                assert (m.name, f.name) == (need.module, need.function), e.path
                assert need.level in f.levels, f"{method} {e.path}"


@pytest.mark.parametrize("method,path,expected", [
    ("GET", "/system/securityroles", "System › Security › Inquire"),
    ("POST", "/system/securityroles", "System › Security › Add"),
    ("DELETE", "/system/securityroles/12", "System › Security › Delete"),
    ("GET", "/system/securityRoles/12/settings", "System › Security › Inquire"),
    ("GET", "/SYSTEM/SECURITYROLES/12/settings/3/", "System › Security › Inquire"),
    ("GET", "/system/setupScreens?pageSize=1000", "System › Table Setup › Inquire"),
    ("POST", "/system/apiMembers", "System › Member Maintenance › Add"),
    ("PATCH", "/system/apiMembers/31", "System › Member Maintenance › Edit"),
    ("POST", "/system/members/31/deactivate", "System › Member Maintenance › Edit"),
    ("POST", "/system/members/svc-acme/tokens", "System › Member Maintenance › Add"),
    ("GET", "/system/members/count", "System › Member Maintenance › Inquire"),
    ("GET", "/system/members/svc-acme", "System › Member Maintenance › Inquire"),
])
def test_permission_lookup(method, path, expected):
    assert str(load_api_permissions().permission(method, path)) == expected


def test_most_specific_template_wins():
    perms = load_api_permissions()
    assert perms.endpoint("/system/members/count").path == "/system/members/count"
    assert perms.endpoint("/system/members/42").path == "/system/members/{id}"
    assert perms.endpoint("/system/members/svc").path == "/system/members/{memberIdentifier:str}"
    assert perms.endpoint("/system/apiMembers/default").path == "/system/apiMembers/default"


def test_requests_that_need_no_role_permission():
    perms = load_api_permissions()
    assert perms.requirement("GET", "/system/mySecurity/customizeItems/") == "always"
    assert perms.requirement("GET", "/login/companyinfo/acme") == "public"
    assert perms.permission("GET", "/system/mySecurity") is None
    assert perms.permission("GET", "/system/nosuch") is None
    assert perms.endpoint("/system/nosuch") is None
    assert perms.permission("PUT", "/system/securityroles/1") is None  # no such method in the API


def test_path_templates():
    rx = path_pattern("/system/securityRoles/{parentId}/settings/{id}")
    assert rx.match("/system/securityroles/5/settings/7").groupdict() == {"parentId": "5", "id": "7"}
    assert rx.match("/system/securityroles/x/settings/7") is None  # {name} is a whole number
    assert path_pattern("/system/members/{memberIdentifier:str}/tokens").match("/system/members/a.b-c/tokens")
    assert path_pattern("/system/mySecurity/customizeItems").match("/system/mysecurity/customizeitems/")


@pytest.mark.parametrize("entry,words", [
    ({"path": "/system/x", "does": "x", "methods": {"GET": {"module": "System", "function": "Tabel Setup",
                                                            "level": "inquire"}}},
     ["GET /system/x", "Table Setup"]),
    ({"path": "/system/x", "does": "x", "methods": {"GET": {"module": "system", "function": "table setup",
                                                            "level": "inquire"}}},
     ["as the catalog spells it", "System › Table Setup"]),
])
def test_names_outside_the_catalog_are_refused(entry, words):
    with pytest.raises(ApiPermissionsError) as ei:
        parse_api_permissions(_map(entry))
    for w in words:
        assert w in str(ei.value)


def test_duplicate_paths_are_refused():
    e = {"path": "/system/x", "does": "x", "methods": {"GET": "always"}}
    with pytest.raises(ApiPermissionsError, match="listed twice"):
        parse_api_permissions(_map(e, {**e, "path": "/SYSTEM/X"}))


@pytest.mark.parametrize("entry", [
    {"path": "system/x", "does": "x", "methods": {"GET": "always"}},
    {"path": "/system/{id/x", "does": "x", "methods": {"GET": "always"}},
    {"path": "/system/x", "does": "x", "methods": {"FETCH": "always"}},
    {"path": "/system/x", "does": "x", "methods": {"GET": "sometimes"}},
    {"path": "/system/x", "does": "x", "methods": {"GET": {"module": "System", "function": "Security",
                                                           "level": "read"}}},
    {"path": "/system/x", "methods": {"GET": "always"}},
])
def test_schema_violations_are_refused(entry):
    with pytest.raises(ValidationError):
        parse_api_permissions(_map(entry))
