"""SecurityRole provider methods against a respx-mocked tenant."""

from __future__ import annotations

import json

import httpx
import pytest
from pulumi.runtime import rpc

from cwroles.provider import ObjectExists, SecurityRoleProvider

from prov_fakes import BASE

P = SecurityRoleProvider()


def test_check_rejects_long_names_and_bad_flags():
    r = P.check({}, {"name": "x" * 31, "admin_flag": "yes"})
    reasons = {f.property: f.reason for f in r.failures}
    assert "31 characters" in reasons["name"] and "at most 30" in reasons["name"]
    assert "true or false" in reasons["admin_flag"]
    assert P.check({}, {"name": ""}).failures[0].reason.startswith("security role name")


def test_check_skips_unknown_values_and_defaults_admin_flag():
    r = P.check({}, {"name": rpc.UNKNOWN, "admin_flag": None})
    assert r.failures == [] and r.inputs["admin_flag"] is False


def test_create_posts_once_and_returns_outputs(cw):
    post = cw.post(f"{BASE}/system/securityroles").mock(
        return_value=httpx.Response(201, json={"id": 42, "name": "Integration", "adminFlag": False})
    )
    res = P.create({"name": "Integration", "role_type": None, "admin_flag": False, "__provider": "x"})
    assert res.id == "42"
    assert res.outs == {"role_id": 42, "name": "Integration", "role_type": None, "admin_flag": False, "stack": None,
                        "tenant": {"site": "https://cw.test", "company_id": "acme"}}
    assert json.loads(post.calls[0].request.content) == {"name": "Integration", "adminFlag": False}


def test_create_of_an_existing_name_says_how_to_adopt(cw):
    cw.post(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(400, json={
        "code": "InvalidObject", "message": "invalid", "errors": [{"code": "ObjectExists", "field": "name", "message": "in use"}]}))
    cw.get(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(200, json=[{"id": 8, "name": "Integration"}]))
    with pytest.raises(ObjectExists) as ei:
        P.create({"name": "Integration", "admin_flag": False})
    assert "already exists in ConnectWise (id 8)" in str(ei.value)
    assert 'import_="8"' in str(ei.value)
    adopted = P.create({"name": "Integration", "admin_flag": False, "adopt_existing": True})
    assert adopted.id == "8" and adopted.outs["role_id"] == 8


def test_read_of_deleted_role_returns_empty_id(cw):
    cw.get(f"{BASE}/system/securityroles/42").mock(return_value=httpx.Response(404, json={"code": "NotFound", "message": "x"}))
    r = P.read("42", {"role_id": 42, "name": "Integration", "admin_flag": False})
    assert r.id == "" and r.outs == {}


def test_read_refreshes_outputs_and_import_gets_inputs(cw):
    cw.get(f"{BASE}/system/securityroles/42").mock(
        return_value=httpx.Response(200, json={"id": 42, "name": "Renamed", "adminFlag": True})
    )
    r = P.read("42", {"role_id": 42, "name": "Integration", "admin_flag": False})
    assert r.id == "42" and r.outs["name"] == "Renamed" and r.outs["admin_flag"] is True and r.inputs is None
    imported = P.read("42", {})
    assert imported.inputs == {"name": "Renamed", "role_type": None, "admin_flag": True}


def test_diff_any_change_is_a_replacement():
    olds = {"role_id": 1, "name": "A", "role_type": None, "admin_flag": False}
    assert P.diff("1", olds, {"name": "A", "role_type": None, "admin_flag": False}).changes is False
    renamed = P.diff("1", olds, {"name": "B", "admin_flag": False})
    assert renamed.changes and renamed.replaces == ["name"] and not renamed.delete_before_replace
    flag = P.diff("1", olds, {"name": "A", "admin_flag": True})
    assert flag.replaces == ["admin_flag"] and flag.delete_before_replace  # same name: delete first
    unknown = P.diff("1", olds, {"name": rpc.UNKNOWN, "admin_flag": False})
    assert unknown.replaces == ["name"]


def test_delete_tolerates_already_gone(cw):
    route = cw.delete(f"{BASE}/system/securityroles/42").mock(return_value=httpx.Response(404, json={"code": "NotFound", "message": "x"}))
    P.delete("42", {})
    assert route.call_count == 1
