"""State persistence and tenant bootstrap (cwsim/models.py)."""

from __future__ import annotations

from cwroles import emulator_defaults as D
from cwroles.cwsim.models import Store
from cwroles.cwsim.testing import running_server


def test_restart_keeps_roles_members_and_keys(tmp_path):
    db = tmp_path / "tenant.sqlite"
    with running_server(db_path=db) as sim:
        with sim.client() as api:
            role = api.post("/system/securityroles", json={"name": "Persisted"}).json()
        sim.set_levels(role["id"], {"module": "System", "function": "Security", "inquire": "All"})
        member = sim.create_api_member("keeper", role["id"])
        key = sim.create_key(member["id"])
        first_url = sim.url
    with running_server(db_path=db) as sim:
        assert sim.url != first_url or True  # a new port is fine; state lives in the file
        with sim.client(key["publicKey"], key["privateKey"]) as c:
            roles = c.get("/system/securityroles", params={"conditions": "name = 'Persisted'"}).json()
            assert [r["id"] for r in roles] == [role["id"]]
            rows = c.get(f"/system/securityRoles/{role['id']}/settings",
                         params={"conditions": "moduleFunctionName = 'Security'"}).json()
            assert rows[0]["inquireLevel"] == "All"
            assert c.get("/system/mySecurity", params={"pageSize": 1}).json()[0]["member"]["identifier"] == "keeper"
        with sim.client() as admin:
            assert admin.get("/system/apiMembers/count").json() == {"count": 2}


def test_new_tenant_bootstrap(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    row = store.create_company("acme")
    roles = store.roles("acme")
    assert [(r["name"], r["admin_flag"]) for r in roles] == [("Admin", 1)]
    admin = store.member_by_identifier("acme", D.ADMIN_IDENTIFIER)
    assert admin is not None
    assert store.authenticate("acme", row["bootstrap_public"], row["bootstrap_private"])["id"] == admin["id"]
    assert store.authenticate("acme", row["bootstrap_public"], "wrong") is None
    assert store.authenticate("other", row["bootstrap_public"], row["bootstrap_private"]) is None
    kinds = {r["kind"] for r in store.q("SELECT kind FROM refs WHERE company_id='acme'")}
    assert {"structure", "location", "department", "timezone"} <= kinds
    _, created = store.ensure_company("ACME")
    assert created is False
    store.close()
