"""Console JSON endpoints and HTML pages (cwsim/console.py), checked through the API."""

from __future__ import annotations

import httpx


def setting(api, role_id, module, function):
    rows = api.get(f"/system/securityRoles/{role_id}/settings",
                   params={"conditions": f'moduleName = "{module}" and moduleFunctionName = "{function}"'}).json()
    assert len(rows) == 1
    return rows[0]


def test_set_levels_partial_update_with_aliases(sim, api):
    role = api.post("/system/securityroles", json={"name": "Grid"}).json()
    out = sim.set_levels(role["id"], {"module": "System", "function": "Table Setup", "add": "All", "inquire": "All"},
                         {"module": "Companies Module", "function": "company maintenance", "inquire": "My"})
    assert out["grid"]["System › Table Setup"] == {"add": "All", "edit": "None", "delete": "None", "inquire": "All"}
    row = setting(api, role["id"], "System", "Table Setup")
    assert (row["addLevel"], row["editLevel"], row["inquireLevel"]) == ("All", "None", "All")
    assert setting(api, role["id"], "Companies", "Company Maintenance")["inquireLevel"] == "My"
    sim.set_levels(role["id"], {"module": "System", "function": "Table Setup", "edit": "My"})  # others untouched
    row = setting(api, role["id"], "System", "Table Setup")
    assert (row["addLevel"], row["editLevel"], row["inquireLevel"]) == ("All", "My", "All")


def test_set_levels_refusals(sim, api):
    role = api.post("/system/securityroles", json={"name": "Bad"}).json()
    url = f"{sim.console_api}/roles/{role['id']}/settings"
    r = httpx.post(url, json={"settings": [{"module": "System", "function": "Tabel Setup", "inquire": "All"}]})
    assert r.status_code == 400 and "Table Setup" in r.json()["message"]  # names the closest entry
    r = httpx.post(url, json={"settings": [{"module": "System", "function": "Table Setup", "inquire": "Mine"}]})
    assert r.status_code == 400 and "None, My or All" in r.json()["message"]
    r = httpx.post(url, json={"wrong": []})
    assert r.status_code == 400
    assert httpx.post(f"{sim.console_api}/roles/99999/settings", json={"settings": []}).status_code == 404


def test_role_by_name_and_customize(sim, api):
    api.post("/system/securityroles", json={"name": "Cust"})
    got = httpx.get(f"{sim.console_api}/roles/by-name/Cust").json()
    assert got["name"] == "Cust" and len(got["settings"]) == len(got["grid"])
    assert got["customize"]["System › Table Setup"]["allow"] == []
    r = httpx.put(f"{sim.console_api}/roles/by-name/Cust/customize",
                  json={"function": "System › Table Setup", "allow": ["service / service board", "Company/Country"]})
    assert r.status_code == 200
    assert r.json()["allow"] == ["Service / Service Board", "Company / Country"]
    r = httpx.put(f"{sim.console_api}/roles/by-name/Cust/customize",
                  json={"function": "System > Custom Menu Entry", "allow": ["Mobius"]})
    assert r.json() == {"function": "System › Custom Menu Entry", "allow": ["Mobius"]}
    r = httpx.put(f"{sim.console_api}/roles/by-name/Cust/customize",
                  json={"function": "System › Table Setup", "allow": ["Service / No Such Table"]})
    assert r.status_code == 400
    r = httpx.put(f"{sim.console_api}/roles/by-name/Cust/customize",
                  json={"function": "System › Member Maintenance", "allow": []})
    assert r.status_code == 400 and "no Customize" in r.json()["message"]
    # the member bound to this role sees exactly these items through the API
    with sim.client_as("custbot", "CustBot") as c:
        assert c.get("/system/mySecurity/customizeItems/").json() == []
    r = httpx.put(f"{sim.console_api}/roles/by-name/CustBot/customize",
                  json={"function": "System › Table Setup", "allow": ["Service / Service Board"]})
    assert r.status_code == 200
    key = sim.create_key("custbot")
    with sim.client(key["publicKey"], key["privateKey"]) as c:
        items = c.get("/system/mySecurity/customizeItems/").json()
    assert [(i["customizeIdentifier"], i["itemIdentifier"]) for i in items] == \
        [("SystemTableSetup", "Service / Service Board")]


def test_api_keys_permanent_and_hashed(sim, api):
    members = httpx.get(f"{sim.console_api}/apiMembers").json()
    admin = next(m for m in members if m["identifier"] == "cwadmin")
    key = sim.create_key(admin["id"], "ci key")
    assert key["publicKey"] and key["privateKey"]
    with sim.client(key["publicKey"], key["privateKey"]) as c:
        assert c.get("/system/securityroles/count").status_code == 200
    listed = httpx.get(f"{sim.console_api}/apiMembers/{admin['id']}/keys").json()
    assert key["publicKey"] in [k["publicKey"] for k in listed]
    assert all("privateKey" not in k for k in listed)
    import sqlite3
    db = sqlite3.connect(sim.db_path)
    stored = [r[0] for r in db.execute("SELECT private_hash FROM keys")]
    db.close()
    assert key["privateKey"] not in stored
    assert httpx.delete(f"{sim.console_api}/apiMembers/{admin['id']}/keys/{key['id']}").status_code == 204
    with sim.client(key["publicKey"], key["privateKey"]) as c:
        assert c.get("/system/securityroles/count").status_code == 401


def test_html_pages_render(sim, api):
    role = api.post("/system/securityroles", json={"name": "Html<Role>"}).json()
    home = httpx.get(sim.url + "/console")
    assert home.status_code == 200 and sim.company_id in home.text
    company = httpx.get(sim.console_url).text
    assert "Html&lt;Role&gt;" in company and "cwadmin" in company
    page = httpx.get(f"{sim.console_url}/roles/{role['id']}").text
    assert "<select" in page and "Save" in page and "Service / Service Board" in page and "Mobius" in page
    assert httpx.get(f"{sim.console_url}/roles/99999").status_code == 200  # friendly error page
    # form post changes a level, like the browser does
    row = setting(api, role["id"], "System", "Security")
    r = httpx.post(f"{sim.console_url}/roles/{role['id']}", data={f"s{row['id']}_inquire": "All"})
    assert "Saved 1 change" in r.text
    assert setting(api, role["id"], "System", "Security")["inquireLevel"] == "All"


def test_member_page_creates_key_once(sim):
    page = httpx.post(f"{sim.console_url}/apiMembers/cwadmin", data={"description": "from page"})
    assert "Private key" in page.text and "shown only once" in page.text
    again = httpx.get(f"{sim.console_url}/apiMembers/cwadmin").text
    assert "Private key:" not in again and "from page" in again
