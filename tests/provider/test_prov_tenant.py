"""Reading a tenant as it is (provider/tenant.py) and the live tenant as the authority on its catalog, against
the emulator over HTTP: a settings row whose function the bundled catalog lacks never breaks read, check,
the checklist or adoption; RolePermissions carries it under its live name (tenant_catalog)."""

from __future__ import annotations

import pytest

from cwroles.catalog_extras import catalog_for
from cwroles.cwsim.testing import running_server
from cwroles.grid import diff_grids, render_checklist
from cwroles.provider import ApiMemberProvider, NotFound, ObjectExists, RoleOutOfSync, RolePermissionsProvider, _config
from cwroles.provider import tenant as T

from tests.commands.onboarding_helpers import EXTRAS, OWN_FUNCTION, OWN_TABLE, make_role

OWN = {"module": "Service Desk", "function": "Ticket Dispatch Rules", "add": "All", "inquire": "All"}
CONTACTS = {"module": "Companies", "function": "Contacts", "inquire": "All"}
TENANT_CATALOG = {"functions": [{"module": "Service Desk", "function": "Ticket Dispatch Rules"}]}


@pytest.fixture(scope="module")
def server():
    with running_server(catalog_extras=EXTRAS) as s:
        yield s


@pytest.fixture
def sim(server, monkeypatch):
    server.clear_faults()
    server.reset()
    for key, value in (("SITE", server.url), ("COMPANY_ID", server.company_id), ("CLIENT_ID", server.client_id),
                       ("PUBLIC_KEY", server.public_key), ("PRIVATE_KEY", server.private_key),
                       ("CODEBASE", "v4_6_release")):
        monkeypatch.setenv(f"CONNECTWISE_{key}", value)
    _config.reset()
    return server


def client():
    c, counter = T.counting_client(_config.current_settings())
    return c, counter


def test_read_tenant_is_one_settings_page_per_role_plus_two(sim):
    for i in range(5):
        make_role(sim, f"R{i}", CONTACTS, member=f"bot{i}" if i % 2 else None)
    c, counter = client()
    seen = []
    reading = T.read_tenant(c, lambda done, total, name: seen.append((done, total)))
    assert len(reading.roles) == 6 and len(reading.members) == 3 and not reading.failures
    assert counter.count == 6 + 2
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)
    assert [m.identifier for m in reading.members_of(reading.roles[2].id)] == ["bot1"]


def test_find_role_by_id_by_name_and_a_role_named_like_a_number(sim):
    role, _ = make_role(sim, "Legacy RMM", CONTACTS)
    numeric, _ = make_role(sim, "4242", CONTACTS)
    c, _ = client()
    assert T.find_role(c, str(role["id"])).name == "Legacy RMM"
    assert T.find_role(c, "legacy rmm").id == role["id"]
    assert T.find_role(c, "4242").id == numeric["id"]
    with pytest.raises(NotFound, match="no security role 'Nope'.*`cwroles audit` lists every role"):
        T.find_role(c, "Nope")


def test_rows_the_catalog_lacks_keep_their_live_names(sim):
    role, member = make_role(sim, "Dispatch", OWN, {"module": "System", "function": "Table Setup", "inquire": "All"},
                             allow=["Service / Service Board", OWN_TABLE], member="dispatch")
    c, _ = client()
    reading = T.read_role(c, T.find_role(c, "Dispatch"))
    assert [f"{s.module_name} › {s.module_function_name}" for s in reading.tenant_rows()] == [
        OWN_FUNCTION, "Knowledge Base › KB Articles"]
    assert reading.grid()[("Service Desk", "Ticket Dispatch Rules")]["add"].value == "All"
    lists, unplaced = T.customize_lists(T.read_customize(c, "dispatch"))
    assert lists == {"System › Table Setup": ["Service / Service Board", OWN_TABLE]} and not unplaced


def test_a_granted_function_the_catalog_lacks_never_breaks_read_and_is_named_in_the_checklist(sim):
    role, _ = make_role(sim, "Dispatch", OWN, CONTACTS)
    p = RolePermissionsProvider()
    props = {"role_id": role["id"], "role_name": "Dispatch", "grants": [CONTACTS]}
    r = p.read(str(role["id"]), props)  # refresh
    assert r.outs["live"][OWN_FUNCTION] == {"add": "All", "inquire": "All"}
    assert f"{OWN_FUNCTION} › Add: set None (now All)" in r.outs["pending"]
    with pytest.raises(RoleOutOfSync) as e:
        p.create(p.check({}, props).inputs)
    assert f"{OWN_FUNCTION} › Add: set None (now All)" in str(e.value)
    text = e.value.checklist.read_text()
    assert "## Service Desk" in text and "- [ ] Ticket Dispatch Rules: Add → **None** (now All)" in text


def test_tenant_catalog_lets_the_code_grant_it_and_keeps_typo_checks(sim):
    role, _ = make_role(sim, "Dispatch", OWN, CONTACTS)
    p = RolePermissionsProvider()
    news = {"role_id": role["id"], "role_name": "Dispatch", "grants": [CONTACTS, OWN]}
    failures = p.check({}, news).failures
    assert failures and "Ticket Dispatch Rules" in failures[0].reason  # unknown without the tenant's catalog
    checked = p.check({}, {**news, "tenant_catalog": TENANT_CATALOG})
    assert not checked.failures
    outs = p.create(checked.inputs).outs  # green: ConnectWise matches the code
    assert outs["pending"] == [] and outs["live"][OWN_FUNCTION] == {"add": "All", "inquire": "All"}
    typo = p.check({}, {**news, "grants": [CONTACTS, {**OWN, "function": "Ticket Dispatch Rule"}],
                        "tenant_catalog": TENANT_CATALOG}).failures
    assert typo and "closest catalog entries: 'Ticket Dispatch Rules'" in typo[0].reason
    bad = p.check({}, {**news, "tenant_catalog": {"functions": [{"module": "Service Desk"}]}}).failures
    assert bad and bad[0].property == "tenant_catalog"
    assert p.diff(str(role["id"]), outs, checked.inputs).changes is False


def test_import_reads_the_lists_through_the_one_member_holding_the_role(sim):
    role, _ = make_role(sim, "Dispatch", OWN, {"module": "System", "function": "Table Setup", "inquire": "All"},
                        allow=[OWN_TABLE], member="dispatch")
    r = RolePermissionsProvider().read(str(role["id"]), {})
    assert r.inputs["member_identifier"] == "dispatch"
    assert r.inputs["customize"] == {"System › Table Setup": [OWN_TABLE]}
    assert r.inputs["tenant_catalog"] == TENANT_CATALOG
    assert "read as 'dispatch' when adopted" in r.outs["customize_status"]
    sim.create_api_member("second", role["id"])  # two members: which one the code uses is not known
    r = RolePermissionsProvider().read(str(role["id"]), {})
    assert r.inputs["member_identifier"] is None and r.inputs["customize"] is None
    live = catalog_for(r.inputs["tenant_catalog"])
    assert live.function("Service Desk", "Ticket Dispatch Rules")


def test_an_api_member_is_adopted_by_identifier_only_when_asked(sim):
    role, member = make_role(sim, "Legacy", CONTACTS, member="legacy")
    other, _ = make_role(sim, "Other", CONTACTS)
    p = ApiMemberProvider()
    props = {"identifier": "legacy", "name": "Legacy RMM", "role_id": role["id"]}
    with pytest.raises(ObjectExists, match="cwroles:adopt: true"):
        p.create(props)
    created = p.create({**props, "role_id": other["id"], "adopt_existing": True})
    assert created.id == str(member["id"])  # taken over, not created
    assert created.outs["name"] == "Legacy RMM" and created.outs["role_id"] == other["id"]  # patched to the code
    with sim.client() as c:
        assert c.get("/system/apiMembers/count").json()["count"] == 2


def test_command_settings_default_to_the_emulator_and_follow_the_environment(sim, monkeypatch):
    from cwroles import emulator_defaults

    s = T.command_settings(environ={})
    assert s.emulator and s.site == emulator_defaults.SITE
    s = T.command_settings(environ={"CONNECTWISE_SITE": sim.url, "CONNECTWISE_COMPANY_ID": "acme",
                                    "CONNECTWISE_CLIENT_ID": "c", "CONNECTWISE_PUBLIC_KEY": "p",
                                    "CONNECTWISE_PRIVATE_KEY": "k"})
    assert not s.emulator and s.company_id == "acme" and "company 'acme'" in T.describe_tenant(s)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(Exception, match="the `pulumi` command is not on PATH"):
        T.command_settings("acme-rmm", environ={})


def test_checklist_renders_a_new_module_under_its_live_name():
    grid_live = {("Knowledge Base", "KB Articles"): {"add": _lv("All"), "edit": _lv("None"), "delete": _lv("None"),
                                                     "inquire": _lv("All")}}
    changes = diff_grids({}, grid_live)
    text = render_checklist("Dispatch", changes)
    assert "## Knowledge Base" in text and "- [ ] KB Articles: Add → **None** (now All), Inquire → **None** (now All)" in text


def _lv(v):
    from cwroles.grid import Level

    return Level(v)


def test_an_imported_grid_without_a_recorded_stack_plans_no_update_on_a_preview(sim):
    """An import (or state older than recorded stacks) has no `stack`; the preview shows the import alone."""
    role, _ = make_role(sim, "Dispatch", CONTACTS)
    p = RolePermissionsProvider()
    imported = p.read(str(role["id"]), {})
    news = p.check({}, {**imported.inputs, "stack": "acme-dispatch"}).inputs
    assert imported.outs.get("stack") is None
    assert p.diff(str(role["id"]), imported.outs, news).changes is False
    assert p.diff(str(role["id"]), {**imported.outs, "stack": "other"}, news).changes is True  # a renamed stack
