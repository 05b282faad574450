"""Contract tests over HTTP for /system/apiMembers and /system/members."""

from __future__ import annotations

import time

import pytest


def new_role(api, name="Bots"):
    return api.post("/system/securityroles", json={"name": name}).json()


def template(api, identifier="bot", role_id=None, **kw):
    body = api.get("/system/apiMembers/default").json()
    body.update(identifier=identifier, name=f"{identifier} member", securityRole={"id": role_id}, **kw)
    return body


def test_default_template_has_reference_records(api):
    d = api.get("/system/apiMembers/default").json()
    assert d["structureLevel"]["name"] == "Corporate"
    for f in ("securityLocation", "defaultLocation", "defaultDepartment", "timeZone", "salesDefaultLocation"):
        assert d[f] and isinstance(d[f]["id"], int), f
    assert d["identifier"] is None and d["securityRole"] is None


def test_create_get_list_count(api):
    role = new_role(api)
    r = api.post("/system/apiMembers", json=template(api, "bot1", role["id"], emailAddress="bot@example.com"))
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["identifier"] == "bot1" and m["securityRole"] == {"id": role["id"], "name": "Bots", "_info": {}}
    expected = {"id", "identifier", "name", "emailAddress", "inactiveFlag", "inactiveDate", "timeZone", "securityRole",
                "structureLevel", "securityLocation", "defaultLocation", "defaultDepartment", "salesDefaultLocation",
                "serviceDefaultBoard", "notes", "excludedServiceBoardIds", "blockPriceFlag", "blockCostFlag", "_info"}
    assert set(m) == expected
    assert api.get(f"/system/apiMembers/{m['id']}").json() == m
    assert api.get("/system/apiMembers/count").json() == {"count": 2}
    found = api.get("/system/apiMembers", params={"conditions": "securityRole/name = 'Bots'"}).json()
    assert [x["identifier"] for x in found] == ["bot1"]


def test_create_by_role_name_reference(api):
    new_role(api, "Named")
    body = template(api, "bot2")
    body["securityRole"] = {"name": "Named"}
    assert api.post("/system/apiMembers", json=body).json()["securityRole"]["name"] == "Named"


def test_required_fields_listed(api):
    r = api.post("/system/apiMembers", json={"identifier": "x"})
    assert r.status_code == 400
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"name", "securityRole", "structureLevel", "securityLocation", "defaultLocation",
            "defaultDepartment"} <= fields


def test_unknown_role_and_reference(api):
    r = api.post("/system/apiMembers", json=template(api, "bot3", 99999))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "securityRole"
    role = new_role(api)
    body = template(api, "bot3", role["id"])
    body["defaultLocation"] = {"id": 99999}
    r = api.post("/system/apiMembers", json=body)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "defaultLocation"


def test_identifier_unique_and_length(api):
    role = new_role(api)
    assert api.post("/system/apiMembers", json=template(api, "dupe", role["id"])).status_code == 201
    r = api.post("/system/apiMembers", json=template(api, "DUPE", role["id"]))
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "ObjectExists"
    assert r.json()["errors"][0]["field"] == "identifier"
    r = api.post("/system/apiMembers", json=template(api, "x" * 16, role["id"]))
    assert r.json()["errors"][0] == {"code": "MaxLength", "message": r.json()["errors"][0]["message"],
                                     "resource": "apiMember", "field": "identifier"}
    body = template(api, "okname", role["id"])
    body["name"] = "n" * 31
    assert api.post("/system/apiMembers", json=body).json()["errors"][0]["field"] == "name"


def test_put_replaces(api):
    role = new_role(api)
    m = api.post("/system/apiMembers", json=template(api, "bot4", role["id"], notes="hello")).json()
    body = template(api, "bot4", role["id"])  # notes omitted -> unset
    body["name"] = "Renamed"
    r = api.put(f"/system/apiMembers/{m['id']}", json=body)
    assert r.status_code == 200 and r.json()["name"] == "Renamed" and r.json()["notes"] is None
    r = api.put(f"/system/apiMembers/{m['id']}", json={"identifier": "bot4"})
    assert r.status_code == 400


def test_patch_ops(api):
    r1, r2 = new_role(api, "One"), new_role(api, "Two")
    m = api.post("/system/apiMembers", json=template(api, "bot5", r1["id"])).json()
    r = api.patch(f"/system/apiMembers/{m['id']}", json=[
        {"op": "replace", "path": "securityRole", "value": {"id": r2["id"]}},
        {"op": "replace", "path": "name", "value": "Patched"},
        {"op": "add", "path": "notes", "value": "n"},
    ])
    assert r.status_code == 200, r.text
    assert r.json()["securityRole"]["name"] == "Two" and r.json()["name"] == "Patched" and r.json()["notes"] == "n"
    r = api.patch(f"/system/apiMembers/{m['id']}", json=[{"op": "replace", "path": "securityRole",
                                                          "value": {"name": "One"}},
                                                         {"op": "remove", "path": "notes"}])
    assert r.json()["securityRole"]["name"] == "One" and r.json()["notes"] is None
    r = api.patch(f"/system/apiMembers/{m['id']}", json=[{"op": "replace", "path": "securityRole/id",
                                                          "value": r2["id"]}])
    assert r.json()["securityRole"]["id"] == r2["id"]


@pytest.mark.parametrize("ops,status", [
    ([{"op": "move", "path": "name", "value": "x"}], 400),
    ([{"op": "replace", "path": "nosuch", "value": 1}], 400),
    ([{"op": "replace", "path": "id", "value": 5}], 400),
    ([{"op": "remove", "path": "securityRole"}], 400),
    ([{"op": "replace", "path": "securityRole", "value": {"id": 99999}}], 400),
    ({"op": "replace"}, 400),
    ([], 400),
])
def test_patch_refusals(api, ops, status):
    role = new_role(api)
    m = api.post("/system/apiMembers", json=template(api, "bot6", role["id"])).json()
    r = api.patch(f"/system/apiMembers/{m['id']}", json=ops)
    assert r.status_code == status and r.json()["code"] == "InvalidObject"


def test_no_delete_for_members(api):
    role = new_role(api)
    m = api.post("/system/apiMembers", json=template(api, "bot7", role["id"])).json()
    for path in (f"/system/apiMembers/{m['id']}", f"/system/members/{m['id']}", "/system/members/bot7"):
        r = api.delete(path)
        assert r.status_code == 405, path
        assert r.json()["code"] == "MethodNotAllowed"


def test_member_views(api):
    role = new_role(api)
    m = api.post("/system/apiMembers", json=template(api, "bot8", role["id"])).json()
    by_id = api.get(f"/system/members/{m['id']}").json()
    by_ident = api.get("/system/members/bot8").json()
    assert by_id == by_ident and by_id["licenseClass"] == "A" and by_id["identifier"] == "bot8"
    assert api.get("/system/members/nobody").status_code == 404
    assert api.get("/system/members/count").json() == {"count": 2}


def test_deactivate(sim, api):
    role = new_role(api)
    m = api.post("/system/apiMembers", json=template(api, "bot9", role["id"])).json()
    key = sim.create_key(m["id"])
    with sim.client(key["publicKey"], key["privateKey"]) as bot:
        assert bot.get("/system/mySecurity").status_code == 200
        r = api.post(f"/system/members/{m['id']}/deactivate", json={"deleteOpenTimeSheetsFlag": True})
        assert r.status_code == 204
        after = api.get(f"/system/apiMembers/{m['id']}").json()
        assert after["inactiveFlag"] is True and after["inactiveDate"]
        assert bot.get("/system/mySecurity").status_code == 401  # inactive members cannot call
    assert api.post(f"/system/members/{m['id']}/deactivate").status_code == 400  # already inactive
    me = api.get("/system/members/cwadmin").json()
    assert api.post(f"/system/members/{me['id']}/deactivate").status_code == 400  # not yourself


def test_impersonation_token_works_and_expires(sim, api):
    sim.client_as("looker", "Lookers").close()  # a member "looker" whose role has no grants
    sim.set_token_ttl(1)
    r = api.post("/system/members/looker/tokens", headers={"x-cw-usertype": "member"},
                 json={"memberIdentifier": "looker"})
    assert r.status_code == 201
    tok = r.json()
    assert set(tok) == {"publicKey", "privateKey", "expiration"} and tok["expiration"].endswith("Z")
    with sim.client(tok["publicKey"], tok["privateKey"]) as as_looker:
        me = as_looker.get("/system/mySecurity", params={"pageSize": 1}).json()
        assert me[0]["member"]["identifier"] == "looker"
        assert as_looker.get("/system/securityroles").status_code == 403  # the looker's role has no grants
        time.sleep(1.1)
        r = as_looker.get("/system/mySecurity")
        assert r.status_code == 401 and r.json()["code"] == "Unauthorized"
    assert api.post("/system/members/nobody/tokens").status_code == 404
