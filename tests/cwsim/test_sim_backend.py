"""The backend's rules on typed records, without HTTP (cwsim/backend.py)."""

from __future__ import annotations

import pytest

from cwroles.api_permissions import Permission
from cwroles.cwsim.backend import Backend, split_function
from cwroles.cwsim.errors import Denied, Exists, Invalid
from cwroles.cwsim.records import Member, Role
from cwroles.cwsim.tenant_catalog import CatalogExtras


@pytest.fixture
def backend(tmp_path):
    b = Backend(tmp_path / "tenant.sqlite")
    b.create_company("acme")
    yield b
    b.close()


def member_body(t, identifier: str, role: Role) -> dict:
    body = {f: {"id": rid} for f, rid in t.member_defaults().items() if rid is not None}
    return {**body, "identifier": identifier, "name": identifier, "securityRole": {"id": role.id}}


def test_records_are_typed(backend):
    t = backend.tenant("ACME")
    assert t.company_id == "acme"
    admin = t.roles()[0]
    assert isinstance(admin, Role) and admin.admin is True and admin.role_type is None
    me = t.member_by_identifier("cwadmin")
    assert isinstance(me, Member) and me.security_role == admin.id and me.inactive is False
    assert set(me.refs) >= {"structureLevel", "defaultDepartment", "timeZone"}


def test_company_rules(backend):
    with pytest.raises(Exists):
        backend.create_company("ACME")
    with pytest.raises(Invalid, match="letters, digits"):
        backend.create_company("no spaces")


def test_create_role_lists_every_problem_in_field_order(backend):
    t = backend.tenant("acme")
    with pytest.raises(Invalid) as ei:
        t.create_role({"name": "x" * 31, "roleType": "y" * 31, "adminFlag": "yes"}, by="test")
    assert [(e.field, e.code) for e in ei.value.errors] == [("name", "MaxLength"), ("roleType", "MaxLength"),
                                                            ("adminFlag", "InvalidField")]
    t.create_role({"name": " Bots "}, by="test")
    with pytest.raises(Invalid) as ei:
        t.create_role({"name": "BOTS"}, by="test")
    assert ei.value.errors[0].code == "ObjectExists"


def test_set_levels_is_all_or_nothing(backend):
    t = backend.tenant("acme")
    role = t.create_role({"name": "Grid"}, by="test")
    with pytest.raises(Invalid) as ei:
        t.set_levels(role, [{"module": "System", "function": "Security", "inquire": "All"},
                            {"module": "System", "function": "Security", "add": "Mine"}])
    assert "None, My or All" in ei.value.message
    assert t.level(role.id, "System", "Security", "inquire") == "None"
    t.set_levels(role, [{"module": "system", "function": "security", "inquire": "All"}])
    assert t.level(role.id, "System", "Security", "inquire") == "All"


def test_role_in_use_only_by_active_members(backend):
    t = backend.tenant("acme")
    role = t.create_role({"name": "Used"}, by="test")
    bot = t.create_member(member_body(t, "bot", role), by="test")
    with pytest.raises(Invalid) as ei:
        t.delete_role(role)
    assert ei.value.errors[0].code == "ObjectInUse" and "bot" in ei.value.message
    t.deactivate_member(bot, t.member_by_identifier("cwadmin"))
    t.delete_role(role)
    assert t.role(role.id) is None


def test_permission_check(backend):
    t = backend.tenant("acme")
    need = Permission(module="System", function="Security", level="inquire")
    t.check_permission(t.member_by_identifier("cwadmin"), need)  # adminFlag passes
    role = t.create_role({"name": "Reader"}, by="test")
    bot = t.create_member(member_body(t, "reader", role), by="test")
    with pytest.raises(Denied, match=r"needs System › Security › Inquire at My or All \(now None\)"):
        t.check_permission(bot, need)
    t.set_levels(role, [{"module": "System", "function": "Security", "inquire": "My"}])
    t.check_permission(bot, need)


def test_keys_tokens_and_authentication(backend):
    t = backend.tenant("acme")
    me = t.member_by_identifier("cwadmin")
    issued = t.create_key(me, "ci")
    assert t.authenticate(issued.key.public_key, issued.private_key).id == me.id
    assert all(issued.private_key not in k.private_hash for k in t.keys(me))
    with pytest.raises(Invalid):
        t.create_key(me, "d" * 101)
    role = t.create_role({"name": "Tokened"}, by="test")
    bot = t.create_member(member_body(t, "tok", role), by="test")
    token = t.issue_token("tok", me)
    assert token.key.kind == "token" and token.expiration()
    assert t.authenticate(token.key.public_key, token.private_key).id == bot.id
    t.delete_key(me, issued.key.id)
    assert t.authenticate(issued.key.public_key, issued.private_key) is None


def test_rows_no_catalog_knows_are_still_served(backend):
    """The live tenant is the authority: a stored row outside every catalog is served, never an error."""
    t = backend.tenant("acme")
    role = t.create_role({"name": "Odd rows"}, by="test")
    levels = {"add": "None", "edit": "None", "delete": "None", "inquire": "All"}
    backend.store.insert_settings("acme", role.id, [("Legacy Module", "Old Screen", levels, 999)], "now", "test")
    rows = t.grid(role.id)
    odd = rows[-1]
    assert (odd.info.module, odd.info.function, odd.info.bundled) == ("Legacy Module", "Old Screen", False)
    assert odd.info.function_identifier == "OldScreen" and odd.setting.inquire == "All"


def test_extras_persist_per_company_and_survive_reset(backend, tmp_path):
    backend.create_company("other")
    backend.tenant("acme").add_catalog_extras(CatalogExtras.model_validate(
        {"functions": [{"module": "Service Desk", "function": "Dispatch Rules"}]}))
    backend.reset_company("acme")
    path = backend.path
    backend.close()
    again = Backend(path)
    try:
        acme, other = again.tenant("acme"), again.tenant("other")
        assert [f.function for f in acme.catalog.extras.functions] == ["Dispatch Rules"]
        assert any(r.info.function == "Dispatch Rules" for r in acme.grid(acme.roles()[0].id))
        assert other.catalog.extras.is_empty()
        assert not any(r.info.function == "Dispatch Rules" for r in other.grid(other.roles()[0].id))
        again.delete_company("acme")
        again.create_company("acme")
        assert again.tenant("acme").catalog.extras.is_empty()
    finally:
        again.close()


def test_module_function_text_splits_on_the_arrow_only():
    """"/" belongs to names ("Company/Contact Group Maintenance"), so it never separates module and function."""
    assert split_function("Companies › Company/Contact Group Maintenance") == \
        ("Companies", "Company/Contact Group Maintenance")
    assert split_function("System > Table Setup") == ("System", "Table Setup")
    with pytest.raises(Invalid, match="must be 'Module › Function'"):
        split_function("System/Table Setup")
