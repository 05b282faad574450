"""The typed model of each resource drives check, diff, import and outputs; state property names stay.

RolePermissions' check records what widened since the last update (for the policy pack) and its diff
counts only what the resource verifies, so pack-only inputs never plan a change in ConnectWise.
"""

from __future__ import annotations

import pytest

from cwroles.provider import ApiMemberProvider, RolePermissionsProvider, SecurityRoleProvider
from cwroles.provider._models import ApiMember as MemberModel
from cwroles.provider._models import SecurityRole as RoleModel
from cwroles.provider.api_member import FIELDS, ApiMemberArgs, ApiMemberState
from cwroles.provider.role_permissions import RolePermissionsArgs, RolePermissionsState
from cwroles.provider.security_role import SecurityRoleArgs, SecurityRoleState

P = RolePermissionsProvider()
BASE = {"role_id": 12, "role_name": "Acme", "customize": None, "integration": "acme", "features": [], "waivers": None,
        "checklist_dir": None, "member_identifier": None}
INQUIRE = [{"module": "Companies", "function": "Contacts", "inquire": "All"}]
EDIT = [{"module": "Companies", "function": "Contacts", "edit": "All", "inquire": "All"}]


# ---- state compatibility: the property names existing stacks hold ---------------------------------------
def test_property_names_are_the_ones_in_existing_state():
    # The names existing stacks hold, plus the tenant each resource lives in (and, for the two that write
    # checklists, the stack that names their folder).
    assert set(SecurityRoleState.model_fields) == {"role_id", "name", "role_type", "admin_flag", "tenant", "stack"}
    assert set(ApiMemberState.model_fields) == {
        "member_id", "identifier", "name", "role_id", "email_address", "notes", "time_zone_id", "structure_level_id",
        "security_location_id", "default_location_id", "default_department_id", "inactive", "tenant"}
    assert set(RolePermissionsState.model_fields) == {
        "role_id", "role_name", "grants", "customize", "integration", "features", "waivers", "checklist_dir",
        "member_identifier", "requirement", "widening", "live", "pending", "drift", "customize_status", "tenant",
        "stack", "tenant_catalog"}
    assert FIELDS["role_id"] == ("securityRole", True) and FIELDS["email_address"] == ("emailAddress", False)


def test_outputs_and_import_inputs_come_from_the_model():
    role = SecurityRoleState.from_api(RoleModel(id=4, name="Acme", role_type="", admin_flag=None))
    assert role.outputs() == {"role_id": 4, "name": "Acme", "role_type": None, "admin_flag": False, "tenant": None,
                              "stack": None}
    assert role.inputs() == {"name": "Acme", "role_type": None, "admin_flag": False}
    member = ApiMemberState.from_api(MemberModel.model_validate(
        {"id": 31, "identifier": "svc", "name": "Svc", "securityRole": {"id": 4}, "timeZone": {"id": 1},
         "inactiveFlag": True}))
    assert member.outputs()["role_id"] == 4 and member.outputs()["inactive"] is True
    assert set(member.inputs()) == set(ApiMemberArgs.model_fields)


def test_security_role_diff_compares_the_model_form():
    p = SecurityRoleProvider()
    old = {"role_id": 4, "name": "Acme", "role_type": None, "admin_flag": False}
    assert p.diff("4", old, {"name": "Acme", "role_type": "", "admin_flag": None}).changes is False
    assert p.diff("4", old, {"name": "Acme 2", "role_type": None, "admin_flag": False}).replaces == ["name"]
    assert set(SecurityRoleArgs.model_fields) == {"name", "role_type", "admin_flag"}


def test_api_member_identifier_rule_is_the_cores():
    failures = ApiMemberProvider().check({}, {"identifier": "svc/acme", "name": "N", "role_id": 1}).failures
    assert [f.property for f in failures] == ["identifier"] and "1-15 letters, digits" in failures[0].reason


# ---- RolePermissions: widening ------------------------------------------------------------------------
def test_a_new_role_has_no_widening():
    assert P.check({}, {**BASE, "grants": INQUIRE}).inputs["widening"] is None


def test_check_records_the_cells_widened_since_the_last_update():
    olds = P.check({}, {**BASE, "grants": INQUIRE}).inputs
    news = P.check(olds, {**BASE, "grants": EDIT + [{"module": "Finance", "function": "Invoicing", "add": "My",
                                                      "origin": "Pulumi.acme.yaml › cwroles:extraGrants[0]"}],
                          "features": ["ticket-sync"]}).inputs
    assert news["widening"] == {
        "cells": [{"module": "Companies", "function": "Contacts", "level": "edit", "was": "None", "now": "All"},
                  {"module": "Finance", "function": "Invoicing", "level": "add", "was": "None", "now": "My",
                   "origin": "Pulumi.acme.yaml › cwroles:extraGrants[0]"}],
        "features_added": ["ticket-sync"]}
    narrowed = P.check(news, {**BASE, "grants": INQUIRE, "features": ["ticket-sync"]}).inputs
    assert narrowed["widening"] == {"cells": [], "features_added": []}


# ---- RolePermissions: diff -----------------------------------------------------------------------------
def _outs(grants, **kw):
    return {**P.check({}, {**BASE, "grants": grants, **kw}).inputs, "live": {"Companies › Contacts": {"inquire": "All"}},
            "pending": [], "drift": [], "customize_status": "ok"}


@pytest.mark.parametrize("change", [
    {"waivers": [{"module": "Companies", "function": "Contacts", "justification": "j", "approved_by": "a",
                  "expires": "2027-01-01"}]},
    {"integration": "other", "features": ["x"]},
    {"requirement": {"integration": "acme", "title": "Acme", "manifest": "integrations/acme.yaml"}},
    {"grants": [{**INQUIRE[0], "reason": "now documented", "source": "page › 1", "origin": "Pulumi.s.yaml"}]},
    {"grants": [{"module": "company module", "function": "contacts", "inquire": "all"}]},
])
def test_inputs_that_change_nothing_in_connectwise_plan_no_update(change):
    olds = _outs(INQUIRE)
    news = P.check(olds, {**BASE, "grants": INQUIRE, **change}).inputs
    assert P.diff("12", olds, news).changes is False


@pytest.mark.parametrize("change", [
    {"grants": EDIT},
    {"customize": {"System › Table Setup": ["Service / Service Board"]}},
    {"role_name": "Acme 2"},
    {"member_identifier": "svc"},
    {"checklist_dir": "elsewhere"},
])
def test_what_the_resource_verifies_plans_an_update(change):
    olds = _outs(INQUIRE)
    assert P.diff("12", olds, P.check(olds, {**BASE, "grants": INQUIRE, **change}).inputs).changes is True


def test_customize_order_does_not_matter():
    a = {"System › Table Setup": ["Service / Service Board", "Products / UOM"]}
    olds = _outs(INQUIRE, customize=a)
    news = P.check(olds, {**BASE, "grants": INQUIRE, "customize": {"System › Table Setup": a["System › Table Setup"][::-1]}})
    assert P.diff("12", olds, news.inputs).changes is False


def test_a_requirement_that_is_not_one_fails_check():
    failures = P.check({}, {**BASE, "grants": INQUIRE, "requirement": {"title": "x"}}).failures
    assert [f.property for f in failures] == ["requirement"]
    assert failures[0].reason.startswith("requirement is not a vendor requirement")
    assert set(RolePermissionsArgs.model_fields) >= {"requirement", "widening"}


def test_state_written_before_requirement_and_widening_existed_plans_no_change():
    """Existing stacks' state has no requirement/widening keys and grants without origin: same code, no update."""
    olds = {k: v for k, v in _outs(INQUIRE).items() if k not in ("requirement", "widening")}
    news = P.check({k: v for k, v in olds.items() if k not in ("live", "pending", "drift", "customize_status")},
                   {**BASE, "grants": INQUIRE}).inputs
    assert news["widening"] == {"cells": [], "features_added": []}
    assert P.diff("12", olds, news).changes is False
