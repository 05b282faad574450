"""A tenant whose catalog holds more than the bundled one: seeded through running_server, /_cwsim and files;
served by the role settings, /system/setupScreens, mySecurity and the console like any other entry."""

from __future__ import annotations

import json

import httpx
import pytest

from cwroles.catalog import load_catalog
from cwroles.cwsim.testing import running_server

CAT = load_catalog()
N_FUNCTIONS = len(list(CAT.functions()))
N_TABLES = len(CAT.setup_tables)

EXTRAS = {
    "functions": [
        {"module": "Service Desk", "function": "Ticket Dispatch Rules", "identifier": "TicketDispatchRules"},
        {"module": "Knowledge Base", "function": "KB Articles", "levels": ["add", "inquire"]},
        {"module": "Knowledge Base", "function": "KB Reports",
         "customize": {"identifier": None, "items": "report names"}},
    ],
    "setupTables": [{"category": "Service", "table": "Dispatch Queue"}],
    "customMenuEntries": [{"name": "Acme Portal"}],
}


@pytest.fixture(scope="module")
def seeded():
    with running_server(catalog_extras=EXTRAS) as server:
        yield server


@pytest.fixture
def tenant(seeded):
    seeded.reset()
    with seeded.client() as api:
        yield seeded, api


def settings(api, role_id, **params):
    return api.get(f"/system/securityRoles/{role_id}/settings", params={"pageSize": 1000, **params}).json()


def test_settings_rows_include_the_tenants_functions(tenant):
    sim, api = tenant
    role = api.post("/system/securityroles", json={"name": "Extra rows"}).json()
    rows = settings(api, role["id"])
    assert len(rows) == N_FUNCTIONS + 3
    by_key = {(r["moduleName"], r["moduleFunctionName"]): r for r in rows}
    dispatch = by_key[("Service Desk", "Ticket Dispatch Rules")]
    assert dispatch["moduleFunctionIdentifier"] == "TicketDispatchRules" and dispatch["moduleIdentifier"] == "Service"
    assert (dispatch["addLevel"], dispatch["inquireLevel"]) == ("None", "None")
    kb = by_key[("Knowledge Base", "KB Articles")]
    assert kb["moduleIdentifier"] == "KnowledgeBase" and kb["moduleFunctionIdentifier"] == "KBArticles"
    assert by_key[("Knowledge Base", "KB Reports")]["customFlag"] is True
    assert by_key[("Knowledge Base", "KB Reports")]["reportFlag"] is True
    # the role editor's order: the new Service Desk row ends that module; the new module comes last
    keys = list(by_key)
    last_service = max(i for i, (m, _) in enumerate(keys) if m == "Service Desk")
    assert keys[last_service] == ("Service Desk", "Ticket Dispatch Rules")
    assert keys[-2:] == [("Knowledge Base", "KB Articles"), ("Knowledge Base", "KB Reports")]
    assert [r["sortOrder"] for r in rows] == list(range(1, len(rows) + 1))
    assert api.get(f"/system/securityRoles/{role['id']}/settings/count",
                   params={"conditions": "moduleName = 'Knowledge Base'"}).json() == {"count": 2}


def test_admin_roles_get_all_on_the_applicable_levels(tenant):
    sim, api = tenant
    admin = api.get("/system/securityroles", params={"conditions": "name = 'Admin'"}).json()[0]
    kb = settings(api, admin["id"], conditions="moduleFunctionName = 'KB Articles'")[0]
    assert (kb["addLevel"], kb["editLevel"], kb["deleteLevel"], kb["inquireLevel"]) == ("All", "None", "None", "All")


def test_setup_screens_list_the_tenants_tables(tenant):
    sim, api = tenant
    assert api.get("/system/setupScreens/count").json() == {"count": N_TABLES + 1}
    found = api.get("/system/setupScreens", params={"conditions": "name = 'Dispatch Queue'"}).json()
    assert [(s["category"], s["description"]) for s in found] == [("Service", "Service / Dispatch Queue")]
    assert api.get(f"/system/setupScreens/{found[0]['id']}").json() == found[0]


def test_console_shows_and_edits_the_tenants_entries(tenant):
    sim, api = tenant
    role = api.post("/system/securityroles", json={"name": "Console extras"}).json()
    out = sim.set_levels(role["id"], {"module": "knowledge base", "function": "kb articles", "inquire": "My"})
    assert out["grid"]["Knowledge Base › KB Articles"]["inquire"] == "My"
    assert settings(api, role["id"], conditions="moduleFunctionName = 'KB Articles'")[0]["inquireLevel"] == "My"
    r = httpx.post(f"{sim.console_api}/roles/{role['id']}/settings",
                   json={"settings": [{"module": "Knowledge Base", "function": "KB Articles", "edit": "All"}]})
    assert r.status_code == 400 and "Edit level does not apply" in r.json()["message"]
    assert sim.set_customize(role["id"], "System › Table Setup", ["service / dispatch queue"])["allow"] == \
        ["Service / Dispatch Queue"]
    assert sim.set_customize(role["id"], "System › Custom Menu Entry", ["Acme Portal"])["allow"] == ["Acme Portal"]
    assert sim.set_customize(role["id"], "Knowledge Base › KB Reports", ["Open articles"])["allow"] == \
        ["Open articles"]
    got = httpx.get(f"{sim.console_api}/roles/{role['id']}").json()
    assert got["customize"]["Knowledge Base › KB Reports"] == {"identifier": None, "items": "report names",
                                                              "allow": ["Open articles"]}
    page = httpx.get(f"{sim.console_url}/roles/{role['id']}").text
    assert "KB Articles" in page and "Ticket Dispatch Rules" in page
    assert "Service / Dispatch Queue" in page and "Acme Portal" in page
    kb = settings(api, role["id"], conditions="moduleFunctionName = 'KB Articles'")[0]
    r = httpx.post(f"{sim.console_url}/roles/{role['id']}", data={f"s{kb['id']}_add": "All"})
    assert "Saved 1 change" in r.text
    assert settings(api, role["id"], conditions="moduleFunctionName = 'KB Articles'")[0]["addLevel"] == "All"


def test_members_see_the_tenants_rows_and_items(tenant):
    sim, api = tenant
    grant = {"module": "Knowledge Base", "function": "KB Articles", "inquire": "All"}
    with sim.client_as("kbbot", "KB bot", grant) as bot:
        sim.set_customize("KB bot", "System › Table Setup", ["Service / Dispatch Queue"])
        mine = bot.get("/system/mySecurity", params={"conditions": "moduleName = 'Knowledge Base'"}).json()
        assert [(r["moduleFunctionName"], r["inquireLevel"]) for r in mine] == [("KB Articles", "All"),
                                                                                ("KB Reports", "None")]
        items = bot.get("/system/mySecurity/customizeItems/").json()
        assert [(i["customizeIdentifier"], i["itemIdentifier"]) for i in items] == \
            [("SystemTableSetup", "Service / Dispatch Queue")]


def test_reset_keeps_the_tenants_catalog(tenant):
    sim, api = tenant
    sim.reset()
    assert api.get("/system/setupScreens/count").json() == {"count": N_TABLES + 1}
    assert [f["function"] for f in sim.catalog_extras()["functions"]] == \
        ["Ticket Dispatch Rules", "KB Articles", "KB Reports"]


def test_admin_api_adds_lists_and_clears_extras(sim, api):
    """/_cwsim/companies/{id}/catalog on a tenant that starts with the bundled catalog."""
    assert sim.catalog_extras() == {"functions": [], "setupTables": [], "customMenuEntries": []}
    role = api.post("/system/securityroles", json={"name": "Before seeding"}).json()
    added = sim.add_catalog_extras({"functions": [{"module": "Procurement Module", "function": "Drop Shipments"},
                                                  {"module": "System", "function": "table setup"}],
                                    "setupTables": [{"category": "company", "table": "country"},
                                                    {"category": "Procurement", "table": "Drop Ship Carriers"}]})
    # names the bundled catalog already has (any spelling) are skipped; modules take their catalog name
    assert added == {"functions": [{"module": "Procurement", "function": "Drop Shipments",
                                    "levels": ["add", "edit", "delete", "inquire"]}],
                     "setupTables": [{"category": "Procurement", "table": "Drop Ship Carriers"}],
                     "customMenuEntries": []}
    assert sim.add_catalog_extras({"functions": [{"module": "Procurement", "function": "Drop Shipments"}]}) == added
    rows = settings(api, role["id"], conditions="moduleFunctionName = 'Drop Shipments'")
    assert [(r["moduleName"], r["inquireLevel"]) for r in rows] == [("Procurement", "None")]  # existing role
    admin = api.get("/system/mySecurity", params={"conditions": "moduleFunctionName = 'Drop Shipments'"}).json()
    assert admin[0]["inquireLevel"] == "All"
    assert "Procurement / Drop Ship Carriers" in httpx.get(f"{sim.console_api}/roles/Admin").json()[
        "customize"]["System › Table Setup"]["allow"]
    sim.set_customize(role["id"], "System › Table Setup", ["Procurement / Drop Ship Carriers", "Company / Country"])
    sim.add_catalog_extras({"functions": [{"module": "Procurement", "function": "Drop Ship Reports",
                                           "customize": {"identifier": "ProcurementReports", "items": "reports"}}]})
    sim.set_customize(role["id"], "Procurement › Drop Ship Reports", ["Late shipments"])

    sim.clear_catalog_extras()
    assert "Procurement › Drop Ship Reports" not in httpx.get(f"{sim.console_api}/roles/{role['id']}").json()[
        "customize"]
    assert settings(api, role["id"], conditions="moduleFunctionName = 'Drop Shipments'") == []
    assert api.get("/system/setupScreens/count").json() == {"count": N_TABLES}
    allow = httpx.get(f"{sim.console_api}/roles/{role['id']}").json()["customize"]["System › Table Setup"]["allow"]
    assert allow == ["Company / Country"]


@pytest.mark.parametrize("body,words", [
    ({"functions": [{"module": "", "function": "x"}]}, ["functions.0.module"]),
    ({"functions": [{"module": "M", "function": "F", "levels": ["read"]}]}, ["functions.0.levels.0"]),
    ({"functions": [{"module": "M", "function": "F", "level": ["add"]}]}, ["functions.0.level"]),
    ({"setupTables": [{"category": "Service"}]}, ["setupTables.0.table"]),
    ({"nonsense": []}, ["nonsense"]),
    ([], ["body"]),
])
def test_bad_extras_are_refused_naming_the_field(sim, body, words):
    r = httpx.post(f"{sim.url}/_cwsim/companies/{sim.company_id}/catalog", json=body)
    assert r.status_code == 400
    for w in words:
        assert w in r.json()["message"]
    assert sim.catalog_extras()["functions"] == []


def test_unknown_company_catalog_is_404(sim):
    assert httpx.get(f"{sim.url}/_cwsim/companies/nosuchco/catalog").status_code == 404


def test_new_company_with_its_own_catalog(sim):
    try:
        created = sim.create_company("acmecat", catalog={"functions": [{"module": "Sales", "function": "Bids"}]})
        with sim.client(created["publicKey"], created["privateKey"], company_id="acmecat") as acme:
            roles = acme.get("/system/securityroles").json()
            rows = settings(acme, roles[0]["id"], conditions="moduleFunctionName = 'Bids'")
            assert [(r["moduleName"], r["addLevel"]) for r in rows] == [("Sales", "All")]
        assert sim.catalog_extras("acmecat")["functions"][0]["function"] == "Bids"
        with sim.client() as own:  # other companies keep the bundled catalog
            admin = own.get("/system/securityroles").json()[0]
            assert settings(own, admin["id"], conditions="moduleFunctionName = 'Bids'") == []
        r = httpx.post(f"{sim.url}/_cwsim/companies", json={"companyId": "badcat", "catalog": {"functions": "x"}})
        assert r.status_code == 400 and "functions" in r.json()["message"]
        assert httpx.get(f"{sim.url}/_cwsim/companies/badcat/catalog").status_code == 404
    finally:
        httpx.delete(sim.url + "/_cwsim/companies/acmecat")


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_seed_file_and_restart(tmp_path, suffix):
    seed = tmp_path / f"tenant{suffix}"
    data = {"functions": [{"module": "Time & Expense", "function": "Mileage Claims"}]}
    seed.write_text(json.dumps(data) if suffix == ".json" else
                    "functions:\n  - module: Time & Expense\n    function: Mileage Claims\n")
    db = tmp_path / "tenant.sqlite"
    with running_server(db_path=db, catalog_extras=seed) as sim:
        with sim.client() as api:
            role = api.post("/system/securityroles", json={"name": "Kept"}).json()
        sim.set_levels(role["id"], {"module": "Time & Expense", "function": "Mileage Claims", "inquire": "All"})
    with running_server(db_path=db, catalog_extras=seed) as sim:  # same seed again: nothing doubles
        with sim.client() as api:
            rows = settings(api, role["id"], conditions="moduleFunctionName = 'Mileage Claims'")
            assert [r["inquireLevel"] for r in rows] == ["All"]
        assert len(sim.catalog_extras()["functions"]) == 1
    with running_server(db_path=db) as sim:  # no seed: the tenant keeps its catalog
        assert sim.catalog_extras()["functions"][0]["function"] == "Mileage Claims"
