"""Contract tests over HTTP for /system/securityroles, settings, mySecurity and setupScreens."""

from __future__ import annotations

import re

import pytest

from cwroles.catalog import load_catalog

CAT = load_catalog()
N_FUNCTIONS = len(list(CAT.functions()))
ERROR_KEYS = {"code", "message", "errors"}


def role(api, name, **kw):
    r = api.post("/system/securityroles", json={"name": name, **kw})
    assert r.status_code == 201, r.text
    return r.json()


def test_bootstrap_admin_role(api):
    roles = api.get("/system/securityroles").json()
    assert [(r["name"], r["adminFlag"]) for r in roles] == [("Admin", True)]
    assert api.get("/system/securityroles/count").json() == {"count": 1}
    rows = api.get(f"/system/securityRoles/{roles[0]['id']}/settings", params={"pageSize": 1000}).json()
    assert len(rows) == N_FUNCTIONS
    assert {r["inquireLevel"] for r in rows} == {"All"}


def test_create_role_shape_and_settings_rows(api):
    created = role(api, "Integration", roleType="API")
    assert set(created) == {"id", "name", "roleType", "adminFlag", "inactiveFlag", "_info"}
    assert created["name"] == "Integration" and created["adminFlag"] is False and created["roleType"] == "API"
    got = api.get(f"/system/securityroles/{created['id']}").json()
    assert got["name"] == "Integration"
    rows = api.get(f"/system/securityRoles/{created['id']}/settings", params={"pageSize": 1000}).json()
    expected = [(m.name, f.name, f.identifier, f.customize is not None) for m, f in CAT.functions()]
    assert [(r["moduleName"], r["moduleFunctionName"], r["moduleFunctionIdentifier"], r["customFlag"])
            for r in rows] == expected
    assert [r["sortOrder"] for r in rows] == list(range(1, N_FUNCTIONS + 1))
    assert {(r["addLevel"], r["editLevel"], r["deleteLevel"], r["inquireLevel"]) for r in rows} == {("None",) * 4}
    fields = {"id", "addLevel", "editLevel", "deleteLevel", "inquireLevel", "moduleFunctionName",
              "moduleFunctionDescription", "moduleFunctionIdentifier", "moduleName", "moduleDescription",
              "moduleIdentifier", "myAllFlag", "reportFlag", "restrictFlag", "customFlag", "sortOrder", "_info"}
    assert set(rows[0]) == fields
    one = api.get(f"/system/securityRoles/{created['id']}/settings/{rows[5]['id']}").json()
    assert one == rows[5]
    count = api.get(f"/system/securityRoles/{created['id']}/settings/count",
                    params={"conditions": "moduleName = 'System'"}).json()["count"]
    assert count == len([1 for m, _ in CAT.functions() if m.name == "System"])


def test_admin_flag_role_gets_all(api):
    created = role(api, "Second Admin", adminFlag=True)
    rows = api.get(f"/system/securityRoles/{created['id']}/settings", params={"pageSize": 1000}).json()
    assert {r["addLevel"] for r in rows} == {"All"}


def test_path_is_case_insensitive(api):
    assert api.get("/system/securityRoles").status_code == 200
    assert api.get("/SYSTEM/SecurityRoles/count").json() == {"count": 1}


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_no_put_or_patch_on_role(api, method):
    r = api.request(method, "/system/securityroles/1", json={"name": "x"})
    assert r.status_code == 405
    assert set(r.json()) == ERROR_KEYS and r.json()["code"] == "MethodNotAllowed"
    assert "GET" in r.headers["allow"] and "PUT" not in r.headers["allow"]


@pytest.mark.parametrize("method,path", [
    ("POST", "/system/securityRoles/1/settings"),
    ("PUT", "/system/securityRoles/1/settings/1"),
    ("PATCH", "/system/securityRoles/1/settings/1"),
    ("DELETE", "/system/securityRoles/1/settings/1"),
    ("DELETE", "/system/securityroles"),
    ("PUT", "/system/setupScreens/1"),
    ("POST", "/system/mySecurity"),
])
def test_writes_to_read_only_routes_are_405(api, method, path):
    r = api.request(method, path, json=[{"op": "replace", "path": "inquireLevel", "value": "All"}])
    assert r.status_code == 405, r.text
    assert r.json()["code"] == "MethodNotAllowed"


def test_duplicate_name_is_object_exists(api):
    role(api, "Dup")
    r = api.post("/system/securityroles", json={"name": "dup"})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "InvalidObject"
    assert body["errors"][0]["code"] == "ObjectExists" and body["errors"][0]["field"] == "name"


@pytest.mark.parametrize("body,field,code", [
    ({"name": "x" * 31}, "name", "MaxLength"),
    ({"name": "ok", "roleType": "y" * 31}, "roleType", "MaxLength"),
    ({}, "name", "NullValue"),
    ({"name": ""}, "name", "NullValue"),
    ({"name": 5}, "name", "InvalidField"),
    ({"name": "ok", "adminFlag": "yes"}, "adminFlag", "InvalidField"),
])
def test_role_validation(api, body, field, code):
    r = api.post("/system/securityroles", json=body)
    assert r.status_code == 400
    assert (r.json()["errors"][0]["field"], r.json()["errors"][0]["code"]) == (field, code)


def test_name_of_exactly_30_is_fine(api):
    assert api.post("/system/securityroles", json={"name": "x" * 30}).status_code == 201


def test_bad_bodies(api):
    r = api.post("/system/securityroles", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "InvalidObject"
    assert api.post("/system/securityroles", json=["x"]).status_code == 400


def test_delete_role(api):
    created = role(api, "Temp")
    r = api.delete(f"/system/securityroles/{created['id']}")
    assert r.status_code == 204 and r.content == b""
    assert api.get(f"/system/securityroles/{created['id']}").status_code == 404
    assert api.get(f"/system/securityRoles/{created['id']}/settings").status_code == 404
    assert api.delete(f"/system/securityroles/{created['id']}").status_code == 404


def test_delete_role_in_use_names_members(sim, api):
    created = role(api, "Used")
    sim.create_api_member("bot1", created["id"])
    r = api.delete(f"/system/securityroles/{created['id']}")
    assert r.status_code == 400
    assert "bot1" in r.json()["message"] and r.json()["errors"][0]["code"] == "ObjectInUse"
    assert api.get(f"/system/securityroles/{created['id']}").status_code == 200


def test_pagination_with_link_headers(api):
    for i in range(7):
        role(api, f"R{i}")
    r = api.get("/system/securityroles", params={"pageSize": 3, "orderBy": "id asc"})
    assert len(r.json()) == 3
    links = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', r.headers["link"]))
    assert set(links) == {"next", "last"} and "page=2" in links["next"] and "page=3" in links["last"]
    seen = [x["id"] for x in r.json()]
    url = links["next"]
    while url:
        r = api.get(url)
        seen += [x["id"] for x in r.json()]
        links = dict((rel, u) for u, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', r.headers.get("link", "")))
        assert "first" in links and "prev" in links
        url = links.get("next")
    assert len(seen) == 8 and seen == sorted(seen)
    assert api.get("/system/securityroles", params={"pageSize": 3, "page": 9}).json() == []
    assert api.get("/system/securityroles").headers.get("link") is None  # one page
    assert api.get("/system/securityroles", params={"page": 0}).status_code == 400
    assert api.get("/system/securityroles", params={"pageSize": "abc"}).status_code == 400
    # pageSize above 1000 is capped, not refused
    assert api.get("/system/securityroles", params={"pageSize": 5000}).status_code == 200


def test_forward_only_pagination(api):
    for i in range(4):
        role(api, f"F{i}")
    h = {"pagination-type": "forward-only"}
    r = api.get("/system/securityroles", params={"pageSize": 2}, headers=h)
    first = [x["id"] for x in r.json()]
    assert 'rel="next"' in r.headers["link"] and f"pageId={first[-1]}" in r.headers["link"]
    nxt = re.search(r"<([^>]+)>", r.headers["link"]).group(1)
    assert [x["id"] for x in api.get(nxt, headers=h).json()][0] > first[-1]


def test_conditions_order_and_fields(api):
    role(api, "Zeta", roleType="API")
    role(api, "Alpha", roleType="API")
    r = api.get("/system/securityroles", params={"conditions": 'roleType = "API" and name like "%a"',
                                                  "orderBy": "name desc", "fields": "id,name"})
    assert [x["name"] for x in r.json()] == ["Zeta", "Alpha"]
    assert set(r.json()[0]) == {"id", "name"}
    assert api.get("/system/securityroles/count", params={"conditions": "adminFlag = true"}).json() == {"count": 1}
    admin_id = api.get("/system/securityroles", params={"conditions": "adminFlag = true"}).json()[0]["id"]
    one = api.get(f"/system/securityroles/{admin_id}", params={"fields": "name"}).json()
    assert one == {"name": "Admin"}


@pytest.mark.parametrize("params", [
    {"conditions": "name = "},
    {"conditions": "name = 'x' and (id = 1"},
    {"conditions": "nosuchfield = 1"},
    {"orderBy": "name upward"},
    {"orderBy": "nosuch asc"},
])
def test_bad_query_is_400_never_500(api, params):
    r = api.get("/system/securityroles", params=params)
    assert r.status_code == 400
    assert set(r.json()) == ERROR_KEYS and r.json()["message"]


def test_role_info_endpoints(api):
    created = role(api, "Info")
    lst = api.get("/system/securityroles/info").json()
    assert set(lst[0]) == {"id", "name", "roleType", "inactiveFlag", "_info"}
    assert api.get(f"/system/securityroles/{created['id']}/info").json()["name"] == "Info"
    assert api.get("/system/securityroles/info/count").json() == {"count": 2}


def test_unknown_role_and_resource_404(api):
    assert api.get("/system/securityroles/9999").json()["code"] == "NotFound"
    assert api.get("/system/securityroles/9999").status_code == 404
    assert api.get("/system/securityModules").status_code == 404
    assert api.get("/system/securityRoles/1/settings/999999").status_code == 404


def test_my_security_and_customize_items(sim, api):
    rows = api.get("/system/mySecurity", params={"pageSize": 1000}).json()
    assert len(rows) == N_FUNCTIONS and rows[0]["member"]["identifier"] == "cwadmin"
    assert api.get("/system/mySecurity/count").json() == {"count": N_FUNCTIONS}
    items = api.get("/system/mySecurity/customizeItems/", params={"pageSize": 1000}).json()
    table = [i["itemIdentifier"] for i in items if i["customizeIdentifier"] == "SystemTableSetup"]
    assert table == [t.name for t in CAT.setup_tables]
    assert set(items[0]) == {"id", "customizeIdentifier", "itemIdentifier"}
    menu = [i["itemIdentifier"] for i in items if i["customizeIdentifier"] == "SystemCustomMenuEntry"]
    assert menu == [e.name for e in CAT.custom_menu_entries]


def test_setup_screens(api):
    rows = api.get("/system/setupScreens", params={"pageSize": 1000}).json()
    assert [f"{r['category']} / {r['name']}" for r in rows] == [t.name for t in CAT.setup_tables]
    assert set(rows[0]) == {"id", "category", "name", "description", "moduleDescription", "moduleIdentifier",
                            "moduleName", "_info"}
    assert api.get("/system/setupScreens/count").json() == {"count": len(CAT.setup_tables)}
    assert api.get(f"/system/setupScreens/{rows[2]['id']}").json() == rows[2]
    sb = api.get("/system/setupScreens", params={"conditions": "category = 'Service' and name = 'Service Board'"})
    assert [r["name"] for r in sb.json()] == ["Service Board"]


def test_deactivated_member_no_longer_blocks_role_delete(sim, api):
    created = role(api, "Retired")
    member = sim.create_api_member("bot2", created["id"])
    assert api.delete(f"/system/securityroles/{created['id']}").status_code == 400
    assert api.post(f"/system/members/{member['id']}/deactivate", json={}).status_code == 204
    assert api.delete(f"/system/securityroles/{created['id']}").status_code == 204
