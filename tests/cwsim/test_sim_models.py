"""State persistence and tenant bootstrap (cwsim/backend.py over cwsim/store.py)."""

from __future__ import annotations

from cwroles import emulator_defaults as D
from cwroles.cwsim.backend import Backend
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
    backend = Backend(tmp_path / "s.sqlite")
    company = backend.create_company("acme")
    acme = backend.tenant("acme")
    assert [(r.name, r.admin) for r in acme.roles()] == [("Admin", True)]
    admin = acme.member_by_identifier(D.ADMIN_IDENTIFIER)
    assert admin is not None
    assert acme.authenticate(company.bootstrap_public, company.bootstrap_private).id == admin.id
    assert acme.authenticate(company.bootstrap_public, "wrong") is None
    other = backend.create_company("other", public_key="otherPublic", private_key="otherPrivate")
    assert backend.tenant("other").authenticate(company.bootstrap_public, company.bootstrap_private) is None
    assert backend.tenant("other").authenticate(other.bootstrap_public, other.bootstrap_private) is not None
    defaults = acme.member_defaults()
    assert all(defaults[f] is not None for f in ("structureLevel", "securityLocation", "defaultDepartment",
                                                 "timeZone"))
    _, created = backend.ensure_company("ACME")
    assert created is False
    backend.close()
