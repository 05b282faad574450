"""ApiMember provider methods against a respx-mocked tenant."""

from __future__ import annotations

import json

import httpx
import pytest
from pulumi.runtime import rpc

from cwroles.provider import ApiMemberProvider, InvalidObject, ObjectExists
from cwroles.provider.api_member import patch_operations

from prov_fakes import BASE

P = ApiMemberProvider()

DEFAULTS = {
    "identifier": "", "timeZone": {"id": 1, "name": "Eastern"}, "structureLevel": {"id": 2, "name": "Corporate"},
    "securityLocation": {"id": 3, "name": "HQ"}, "defaultLocation": {"id": 3, "name": "HQ"},
    "defaultDepartment": {"id": 4, "identifier": "Services", "name": "Services"}, "inactiveFlag": False,
}


def member(**kw):
    base = {"id": 31, "identifier": "svc-acme", "name": "Acme integration", "securityRole": {"id": 12, "name": "Acme"},
            "timeZone": {"id": 1}, "structureLevel": {"id": 2}, "securityLocation": {"id": 3},
            "defaultLocation": {"id": 3}, "defaultDepartment": {"id": 4}, "inactiveFlag": False}
    base.update(kw)
    return base


INPUTS = {"identifier": "svc-acme", "name": "Acme integration", "role_id": 12}


def test_check_limits():
    r = P.check({}, {"identifier": "x" * 16, "name": "n" * 31, "role_id": "abc"})
    reasons = {f.property: f.reason for f in r.failures}
    assert "at most 15" in reasons["identifier"] and "at most 30" in reasons["name"]
    assert "record id" in reasons["role_id"]
    assert P.check({}, {"identifier": "has space", "name": "N", "role_id": 1}).failures[0].property == "identifier"
    ok = P.check({}, {"identifier": "svc", "name": rpc.UNKNOWN, "role_id": rpc.UNKNOWN})
    assert ok.failures == []


def test_create_fills_unset_references_from_defaults(cw):
    d = cw.get(f"{BASE}/system/apiMembers/default").mock(return_value=httpx.Response(200, json=DEFAULTS))
    post = cw.post(f"{BASE}/system/apiMembers").mock(return_value=httpx.Response(201, json=member()))
    res = P.create({**INPUTS, "time_zone_id": 9, "__provider": "x"})
    body = json.loads(post.calls[0].request.content)
    assert body == {"identifier": "svc-acme", "name": "Acme integration", "securityRole": {"id": 12},
                    "timeZone": {"id": 9}, "structureLevel": {"id": 2, "name": "Corporate"},
                    "securityLocation": {"id": 3, "name": "HQ"}, "defaultLocation": {"id": 3, "name": "HQ"},
                    "defaultDepartment": {"id": 4, "identifier": "Services", "name": "Services"}}
    assert d.call_count == 1 and post.call_count == 1
    assert res.id == "31" and res.outs["member_id"] == 31 and res.outs["role_id"] == 12 and res.outs["inactive"] is False


def test_recreating_a_deactivated_identifier_reactivates_it(cw):
    cw.get(f"{BASE}/system/apiMembers/default").mock(return_value=httpx.Response(200, json=DEFAULTS))
    cw.post(f"{BASE}/system/apiMembers").mock(return_value=httpx.Response(400, json={
        "code": "InvalidObject", "message": "x", "errors": [{"code": "ObjectExists", "field": "identifier", "message": "taken"}]}))
    cw.get(f"{BASE}/system/apiMembers").mock(
        return_value=httpx.Response(200, json=[member(inactiveFlag=True, name="Old name", securityRole={"id": 5})]))
    patch = cw.patch(f"{BASE}/system/apiMembers/31").mock(return_value=httpx.Response(200, json=member()))
    res = P.create(dict(INPUTS))
    assert json.loads(patch.calls[0].request.content) == [
        {"op": "replace", "path": "inactiveFlag", "value": False},
        {"op": "replace", "path": "name", "value": "Acme integration"},
        {"op": "replace", "path": "securityRole", "value": {"id": 12}},
    ]
    assert res.id == "31" and res.outs["inactive"] is False


def test_creating_an_active_duplicate_fails_with_import_hint(cw):
    cw.get(f"{BASE}/system/apiMembers/default").mock(return_value=httpx.Response(200, json=DEFAULTS))
    cw.post(f"{BASE}/system/apiMembers").mock(return_value=httpx.Response(400, json={
        "code": "InvalidObject", "message": "x", "errors": [{"code": "ObjectExists", "field": "identifier"}]}))
    cw.get(f"{BASE}/system/apiMembers").mock(return_value=httpx.Response(200, json=[member()]))
    with pytest.raises(ObjectExists, match=r'active API member .svc-acme. already exists.*import_="31"'):
        P.create(dict(INPUTS))


def test_role_change_patches_only_the_role_in_place(cw):
    olds = {**INPUTS, "member_id": 31, "inactive": False, "time_zone_id": 1, "email_address": None}
    news = {**INPUTS, "role_id": 13}
    d = P.diff("31", olds, news)
    assert d.changes is True and d.replaces == []
    patch = cw.patch(f"{BASE}/system/apiMembers/31").mock(
        return_value=httpx.Response(200, json=member(securityRole={"id": 13})))
    res = P.update("31", olds, news)
    assert json.loads(patch.calls[0].request.content) == [{"op": "replace", "path": "securityRole", "value": {"id": 13}}]
    assert res.outs["role_id"] == 13


def test_unset_optional_inputs_are_not_managed():
    olds = {**INPUTS, "time_zone_id": 1, "email_address": "a@b.c", "inactive": False}
    assert P.diff("31", olds, dict(INPUTS)).changes is False
    assert patch_operations(olds, {**INPUTS, "email_address": "x@y.z"}) == [
        {"op": "replace", "path": "emailAddress", "value": "x@y.z"}]


def test_identifier_change_is_a_replacement_and_deactivated_member_plans_update():
    olds = {**INPUTS, "inactive": False}
    assert P.diff("31", olds, {**INPUTS, "identifier": "svc-new"}).replaces == ["identifier"]
    assert P.diff("31", {**olds, "inactive": True}, dict(INPUTS)).changes is True


def test_update_reactivates_a_member_deactivated_outside_pulumi(cw):
    patch = cw.patch(f"{BASE}/system/apiMembers/31").mock(return_value=httpx.Response(200, json=member()))
    P.update("31", {**INPUTS, "inactive": True}, dict(INPUTS))
    assert json.loads(patch.calls[0].request.content) == [{"op": "replace", "path": "inactiveFlag", "value": False}]


def test_delete_deactivates(cw):
    deact = cw.post(f"{BASE}/system/members/31/deactivate").mock(return_value=httpx.Response(200, json={}))
    P.delete("31", {**INPUTS, "member_id": 31})
    assert deact.call_count == 1
    assert not any(c.request.method == "DELETE" for c in cw.calls)


def test_delete_of_an_already_inactive_member_is_fine(cw):
    deact = cw.post(f"{BASE}/system/members/31/deactivate").mock(
        return_value=httpx.Response(400, json={"code": "InvalidObject", "message": "already inactive"}))
    check = cw.get(f"{BASE}/system/apiMembers/31").mock(return_value=httpx.Response(200, json=member(inactiveFlag=True)))
    assert P.delete("31", {}) is None  # refused because it is already inactive: the state we want, no error
    assert deact.call_count == 1 and check.call_count == 1  # it looked before accepting the refusal
    assert not any(c.request.method == "DELETE" for c in cw.calls)


def test_delete_refused_for_a_member_still_active_fails(cw):
    cw.post(f"{BASE}/system/members/31/deactivate").mock(
        return_value=httpx.Response(400, json={"code": "InvalidObject", "message": "cannot deactivate"}))
    cw.get(f"{BASE}/system/apiMembers/31").mock(return_value=httpx.Response(200, json=member(inactiveFlag=False)))
    with pytest.raises(InvalidObject, match="cannot deactivate"):
        P.delete("31", {})


def test_delete_of_a_member_gone_from_connectwise_is_fine(cw):
    deact = cw.post(f"{BASE}/system/members/31/deactivate").mock(
        return_value=httpx.Response(404, json={"code": "NotFound", "message": "no such member"}))
    assert P.delete("31", {}) is None
    assert deact.call_count == 1


def test_read_reports_inactive_and_missing(cw):
    cw.get(f"{BASE}/system/apiMembers/31").mock(return_value=httpx.Response(200, json=member(inactiveFlag=True)))
    r = P.read("31", {**INPUTS})
    assert r.outs["inactive"] is True and r.inputs is None
    cw.get(f"{BASE}/system/apiMembers/32").mock(return_value=httpx.Response(404, json={"code": "NotFound", "message": "x"}))
    assert P.read("32", dict(INPUTS)).id == ""
