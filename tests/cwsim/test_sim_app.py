"""Auth, routing, headers, companyinfo, multi-company and authorization (cwsim/app.py, authz.yaml)."""

from __future__ import annotations

import base64

import httpx
import pytest

from cwroles.cwsim.app import ROUTES, load_authz
from cwroles.cwsim.testing import basic_auth


def test_headers_and_accept(sim, api):
    r = api.get("/system/securityroles", headers={"Accept": "application/vnd.connectwise.com+json; version=2025.1"})
    assert r.status_code == 200 and r.headers["api-current-version"] == "2025.1"
    assert r.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("codebase,status", [("v4_6_release", 200), ("v2025_1", 200), ("V2019_5", 200),
                                             ("v4_6_beta", 404), ("apis", 404)])
def test_codebases(sim, codebase, status):
    r = httpx.get(f"{sim.url}/{codebase}/apis/3.0/system/securityroles/count", headers=sim.headers())
    assert r.status_code == status
    assert set(r.json()) >= ({"count"} if status == 200 else {"code", "message", "errors"})


def test_wrong_keys_401(sim):
    for pub, priv in (("cwsimAdminPublic", "wrong"), ("nope", "cwsimAdminPrivateKey")):
        with sim.client(pub, priv) as c:
            r = c.get("/system/securityroles")
        assert r.status_code == 401
        assert r.json()["code"] == "Unauthorized" and r.json()["errors"] == []


def test_unknown_company_401(sim):
    with sim.client(company_id="nosuchco") as c:
        assert c.get("/system/securityroles").status_code == 401


@pytest.mark.parametrize("auth", ["", "Bearer abc", "Basic !!!notbase64",
                                  "Basic " + base64.b64encode(b"cwroles:nokeys").decode()])
def test_malformed_authorization_401(sim, auth):
    h = sim.headers()
    h["Authorization"] = auth
    r = httpx.get(sim.api_url + "/system/securityroles", headers=h)
    assert r.status_code == 401 and r.json()["code"] == "Unauthorized"


def test_missing_client_id_401(sim):
    h = sim.headers()
    del h["clientId"]
    r = httpx.get(sim.api_url + "/system/securityroles", headers=h)
    assert r.status_code == 401 and "clientId" in r.json()["message"]


def test_company_id_case_insensitive(sim):
    with sim.client(company_id="CWROLES") as c:
        assert c.get("/system/securityroles/count").status_code == 200


def test_companyinfo(sim):
    info = httpx.get(f"{sim.url}/login/companyinfo/{sim.company_id}").json()
    assert info["CompanyID"] == sim.company_id and info["Codebase"] == "v4_6_release/" and info["IsCloud"] is False
    assert {"CompanyName", "VersionCode", "VersionNumber"} <= set(info)
    r = httpx.get(f"{sim.url}/login/companyinfo/nosuchco")
    assert r.status_code == 200 and r.text == "null"


def test_second_company_is_isolated(sim, api):
    try:
        created = sim.create_company("acme2")
        assert created["publicKey"] and created["privateKey"] and created["clientId"]
        with sim.client(created["publicKey"], created["privateKey"], company_id="acme2") as acme:
            assert acme.post("/system/securityroles", json={"name": "AcmeOnly"}).status_code == 201
            assert acme.get("/system/securityroles/count").json() == {"count": 2}
        assert api.get("/system/securityroles/count").json() == {"count": 1}
        assert httpx.post(sim.url + "/_cwsim/companies", json={"companyId": "acme2"}).status_code == 409
    finally:
        httpx.delete(sim.url + "/_cwsim/companies/acme2")


def test_reset_wipes_to_bootstrap(sim, api):
    api.post("/system/securityroles", json={"name": "Gone"})
    sim.reset()
    assert [r["name"] for r in api.get("/system/securityroles").json()] == ["Admin"]


def test_authz_map_covers_every_route():
    data = load_authz()
    for r in ROUTES:
        for m in r.methods:
            assert m in data[r.name]


def test_insufficient_role_is_403(sim):
    with sim.client_as("limited", "Limited") as c:
        r = c.get("/system/securityroles")
        assert r.status_code == 403
        assert r.json()["code"] == "Forbidden" and "System › Security › Inquire" in r.json()["message"]
        assert c.get("/system/mySecurity").status_code == 200  # always allowed
        assert c.get("/system/apiMembers").status_code == 403
        assert "Member Maintenance" in c.get("/system/apiMembers").json()["message"]
        assert c.get("/system/setupScreens").status_code == 403


def test_granted_levels_are_enforced_per_method(sim):
    grants = [{"module": "System", "function": "Security", "inquire": "All"},
              {"module": "System", "function": "Member Maintenance", "inquire": "My"},
              {"module": "System", "function": "Table Setup", "inquire": "All"}]
    with sim.client_as("reader", "Reader", *grants) as c:
        assert c.get("/system/securityroles").status_code == 200
        assert c.get("/system/securityRoles/1/settings").status_code in (200, 404)
        r = c.post("/system/securityroles", json={"name": "Nope"})
        assert r.status_code == 403 and "Security › Add" in r.json()["message"]
        assert c.get("/system/apiMembers").status_code == 200
        assert c.get("/system/setupScreens/count").status_code == 200
        me = c.get("/system/members/reader").json()
        r = c.patch(f"/system/apiMembers/{me['id']}", json=[{"op": "replace", "path": "name", "value": "x"}])
        assert r.status_code == 403 and "Member Maintenance › Edit" in r.json()["message"]
    sim.set_levels("Reader", {"module": "System", "function": "Security", "add": "All", "delete": "All"})
    with sim.client_as("reader2", "Reader2", {"module": "System", "function": "Security", "add": "All"}) as c:
        assert c.post("/system/securityroles", json={"name": "Made"}).status_code == 201


def test_basic_auth_helper_format():
    assert basic_auth("co", "pub", "priv") == "Basic " + base64.b64encode(b"co+pub:priv").decode()
