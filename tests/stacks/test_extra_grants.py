"""stacks.program: `cwroles:extraGrants` / `cwroles:extraCustomize`, what an MSP adds on top of the vendor
manifest (pure; no Pulumi engine). The policy pack is the gate for what these widen (cross-checked at the end)."""

import json

import pytest

from cwroles.stacks import StackConfigError, plan_from_config, read_settings


def _grants(plan):
    return {(g["module"], g["function"]): (g["add"], g["edit"], g["delete"], g["inquire"])
            for g in plan.permissions_args["grants"]}


def _plan(integration, grants=None, customize=None, **raw):
    cfg = {"integration": integration, **raw}
    if grants is not None:
        cfg["extraGrants"] = json.dumps(grants)  # what pulumi.Config.get returns for a YAML list
    if customize is not None:
        cfg["extraCustomize"] = json.dumps(customize)
    return plan_from_config(cfg)


VENDOR_WAIVER = "vendor:Mobius"
MSP_WAIVER = {"justification": "Mobius re-creates draft invoices (CHG-77)", "approved_by": "cfo@acme.example",
              "expires": "2027-01-31"}


# ---- merging -------------------------------------------------------------------------------------
def test_new_function_is_appended_with_omitted_levels_none():
    base = _grants(_plan("managed-backup"))
    plan = _plan("managed-backup", [{"module": "System", "function": "Member Maintenance", "edit": "All"}])
    grants = _grants(plan)
    assert set(grants) - set(base) == {("System", "Member Maintenance")}
    assert grants[("System", "Member Maintenance")] == ("None", "All", "None", "None")
    assert list(grants)[-1] == ("System", "Member Maintenance")  # appended after the manifest's grants
    assert {k: v for k, v in grants.items() if k in base} == base  # nothing else changes


def test_same_function_given_levels_replace_the_manifests_others_stay():
    assert _grants(_plan("managed-backup"))[("Service Desk", "Service Tickets")] == ("All", "All", "None", "All")
    plan = _plan("managed-backup", [{"module": "Service Desk", "function": "Service Tickets", "delete": "All",
                                     "inquire": "My"}])
    grants = _grants(plan)
    assert grants[("Service Desk", "Service Tickets")] == ("All", "All", "All", "My")
    assert len(grants) == 10  # replaced in place, not appended


def test_vendor_spellings_resolve_to_catalog_names():
    plan = _plan("mobius", [{"module": "finance module", "function": "invoicing", "add": "all"},
                            {"module": "Companies", "function": "Configuration – Display Passwords", "inquire": "All"}])
    grants = _grants(plan)
    assert grants[("Finance", "Invoicing")] == ("All", "All", "All", "All")
    assert grants[("Companies", "Configuration - Display Passwords")] == ("None", "None", "None", "All")


def test_yaml_list_and_json_text_are_the_same():
    g = [{"module": "Procurement", "function": "Products", "delete": "All"}]
    assert _grants(plan_from_config({"integration": "mobius", "extraGrants": g})) == _grants(_plan("mobius", g))


def test_extra_customize_is_merged_in_catalog_spelling_without_duplicates():
    plan = _plan("managed-backup", customize={"System › Table Setup": ["company / country", "Service / Service Board"]})
    assert plan.permissions_args["customize"] == {"System › Table Setup": ["Service / Service Board", "Company / Country"]}


def test_extra_customize_can_open_a_new_allow_list():
    plan = _plan("mobius", customize={"System›Custom Menu Entry": ["Mobius"]})
    assert plan.permissions_args["customize"]["System › Custom Menu Entry"] == ["Mobius"]


# ---- waivers ------------------------------------------------------------------------------------
def test_widening_a_vendor_waived_grant_keeps_the_vendor_waiver_only_for_the_vendors_levels():
    """Mobius' vendor waiver on Finance › Invoicing must not waive an Add = All the MSP adds."""
    plan = _plan("mobius", [{"module": "Finance", "function": "Invoicing", "add": "All"}])
    inv = next(g for g in plan.permissions_args["grants"] if g["function"] == "Invoicing")
    assert "waiver" not in inv
    moved = plan.permissions_args["waivers"]
    assert [(w["module"], w["function"], w["level"]) for w in moved] == [
        ("Finance", "Invoicing", "edit"), ("Finance", "Invoicing", "delete"), ("Finance", "Invoicing", "inquire")]
    assert {w["approved_by"] for w in moved} == {VENDOR_WAIVER} and {w["expires"] for w in moved} == {"2027-11-22"}
    # the other vendor-waived grants keep their grant waivers
    acc = next(g for g in plan.permissions_args["grants"] if g["function"] == "Accounting Interface")
    assert acc["waiver"]["approved_by"] == VENDOR_WAIVER


def test_restating_the_vendors_levels_keeps_the_grant_waiver():
    plan = _plan("mobius", [{"module": "Finance", "function": "Invoicing", "edit": "All", "delete": "All"}])
    inv = next(g for g in plan.permissions_args["grants"] if g["function"] == "Invoicing")
    assert inv["waiver"]["approved_by"] == VENDOR_WAIVER and plan.permissions_args["waivers"] == []


def test_lowering_a_level_drops_the_vendor_waiver_for_it():
    plan = _plan("mobius", [{"module": "Finance", "function": "Invoicing", "delete": "None"}])
    assert _grants(plan)[("Finance", "Invoicing")] == ("None", "All", "None", "All")
    assert [w["level"] for w in plan.permissions_args["waivers"]] == ["edit", "inquire"]


def test_waiver_on_an_extra_grant_covers_the_grant():
    plan = _plan("mobius", [{"module": "Finance", "function": "Invoicing", "add": "All", "waiver": MSP_WAIVER}])
    inv = next(g for g in plan.permissions_args["grants"] if g["function"] == "Invoicing")
    assert inv["waiver"] == MSP_WAIVER
    assert len(plan.permissions_args["waivers"]) == 3  # the vendor's, still scoped to its levels


def test_config_waiver_may_name_a_level_granted_only_by_extra_grants():
    w = {"module": "Procurement", "function": "Products", "level": "delete", **MSP_WAIVER}
    plan = _plan("mobius", [{"module": "Procurement", "function": "Products", "delete": "All"}], waivers=[w])
    assert plan.permissions_args["waivers"] == [w]


# ---- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "grant,match",
    [
        ({"module": "System", "function": "Member Maintanance", "edit": "All"},
         r"cwroles:extraGrants\[0\]: unknown function System › 'Member Maintanance'; closest catalog entries: "
         r"'Member Maintenance'"),
        ({"module": "Companies", "function": "Display Passwords", "inquire": "All"},
         r"closest catalog entries: 'Configuration - Display Passwords'"),
        ({"module": "Sytem", "function": "Security", "inquire": "All"}, r"unknown module 'Sytem'; closest catalog entries: 'System'"),
        ({"module": "Finance", "function": "Invoicing", "add": "Full"},
         r"cwroles:extraGrants\[0\]\.add \(Finance › Invoicing\): Add 'Full' is not a level; use None, My or All"),
        ({"module": "Finance", "function": "Invoicing"}, r"\(Finance › Invoicing\): names no level"),
        ({"module": "Finance", "function": "Invoicing", "add": "All", "approve": "All"},
         r"cwroles:extraGrants\[0\]\.approve: unknown key 'approve'; allowed: module, function, add, edit, delete, inquire, "
         r"waiver"),
        ({"module": "Finance", "function": "Invoicing", "inqure": "All"},
         r"unknown key 'inqure'; did you mean 'inquire'\? allowed: module, function"),
        ({"function": "Invoicing", "add": "All"}, r"missing module"),
        ({"module": "Sales", "function": "Opportunity", "add": "None"}, r"every level is None and the vendor manifest"),
        ({"module": "Finance", "function": "Invoicing", "add": "All", "waiver": {"justification": "x", "expires": "2027-01-01"}},
         r"\(Finance › Invoicing\): waiver is missing approved_by"),
        ({"module": "Finance", "function": "Invoicing", "add": "All", "waiver": {**MSP_WAIVER, "expires": "soon"}},
         r"waiver\.expires \(Finance › Invoicing\): waiver expires 'soon' is not a date; write it as YYYY-MM-DD"),
        ("Finance › Invoicing", r"cwroles:extraGrants\[0\]: must be a mapping with module, function"),
    ],
)
def test_bad_extra_grants_are_clear_errors(grant, match):
    with pytest.raises(StackConfigError, match=match):
        _plan("mobius", [grant])


def test_level_that_does_not_apply_to_the_function_is_rejected():
    """Every function of today's catalog has all four levels, so narrow one in a copy of the catalog."""
    from cwroles.catalog import Catalog, load_catalog
    from cwroles.manifest import load_manifest
    from cwroles.stacks import build_plan

    data = load_catalog().model_dump()
    sla = next(f for m in data["modules"] for f in m["functions"] if f["name"] == "SLA Dashboard")
    sla["levels"] = ["inquire"]
    catalog = Catalog.model_validate(data)
    settings = read_settings({"integration": "mobius", "extraGrants": [
        {"module": "Service Desk", "function": "SLA Dashboard", "inquire": "All", "add": "All"}]})
    with pytest.raises(StackConfigError, match=r"the Add level does not apply to Service Desk › SLA Dashboard \(its levels: Inquire\)"):
        build_plan(load_manifest("mobius"), settings, catalog)
    ok = read_settings({"integration": "mobius", "extraGrants": [
        {"module": "Service Desk", "function": "SLA Dashboard", "inquire": "All", "add": "None"}]})
    assert _grants(build_plan(load_manifest("mobius"), ok, catalog))[("Service Desk", "SLA Dashboard")] == (
        "None", "None", "None", "All")


def test_duplicate_extra_grant_is_rejected():
    with pytest.raises(StackConfigError, match=r"extraGrants\[1\] \(Finance › Invoicing\): .* already in cwroles:extraGrants\[0\]"):
        _plan("mobius", [{"module": "Finance", "function": "Invoicing", "add": "All"},
                         {"module": "finance", "function": "invoicing", "add": "My"}])


@pytest.mark.parametrize(
    "customize,match",
    [
        ({"System › Table Setup": ["Company / Countries"]},
         r"extraCustomize\['System › Table Setup'\]\[0\] \(System › Table Setup › Customize\): unknown Table Setup table "
         r"'Company / Countries'; closest catalog entries: 'Company / Country'"),
        ({"Table Setup": ["Company / Country"]}, r"'Table Setup' is not \"Module › Function\"; write it like \"System › Table Setup\""),
        ({"System › Table Setpu": ["Company / Country"]}, r"unknown function System › 'Table Setpu'; closest catalog entries: 'Table Setup'"),
        ({"Finance › Invoicing": ["x"]}, r"Finance › Invoicing has no Customize list"),
        ({"System › Table Setup": [1]}, r"must be a list of names"),
    ],
)
def test_bad_extra_customize_is_a_clear_error(customize, match):
    with pytest.raises(StackConfigError, match=match):
        _plan("managed-backup", customize=customize)


def test_extra_config_shapes_are_checked_when_read():
    with pytest.raises(StackConfigError, match="cwroles:extraCustomize: must be a mapping, got list"):
        read_settings({"integration": "mobius", "extraCustomize": '["Company / Country"]'})
    with pytest.raises(StackConfigError, match="cwroles:extraCustomize: not a valid mapping"):
        read_settings({"integration": "mobius", "extraCustomize": "{oops"})
    with pytest.raises(StackConfigError, match="cwroles:extraGrants: not a valid list"):
        read_settings({"integration": "mobius", "extraGrants": '[{"module": '})


# ---- the policy pack sees what extraGrants widen -------------------------------------------------
def _pack(plan):
    from cwroles.policies.rules.model import ROLE_PERMISSIONS
    from cwroles.policies.rules.pack import least_privilege, privileged_functions, waived_grants
    from tests.policies.policy_helpers import UNKNOWN_STRING, run

    props = {**plan.permissions_args, "role_id": UNKNOWN_STRING, "role_name": plan.role_args["name"]}
    config = {"today": "2026-06-15"}
    return {p.name: run(p, ROLE_PERMISSIONS, props, config) for p in (least_privilege, privileged_functions, waived_grants)}


def test_pack_flags_an_add_widened_on_a_vendor_waived_grant_naming_the_stack_file():
    from cwroles.stacks.program import ConfigSource

    cfg = {"integration": "mobius", "extraGrants": [{"module": "Finance", "function": "Invoicing", "add": "All"}]}
    out = _pack(plan_from_config(cfg, source=ConfigSource("Pulumi.acme-mobius.yaml")))
    assert out["cwroles-least-privilege"] == [
        "Finance › Invoicing › Add = All is above Mobius's published requirement (Add ceiling: None). It is an MSP "
        "addition in Pulumi.acme-mobius.yaml › cwroles:extraGrants[0]: remove it there, waive it, or, if Mobius now "
        "asks for it, widen the vendor requirement in cwroles/data/integrations/mobius.yaml in the same pull request "
        "(cite the vendor page)."]
    assert out["cwroles-privileged-functions"] == []  # Delete stays waived by the vendor, level-scoped
    assert any(m.startswith("WAIVED Finance › Invoicing › Delete = All") for m in out["cwroles-waived-grants"])
    assert not any("Invoicing › Add" in m for m in out["cwroles-waived-grants"])


def test_pack_accepts_the_msp_waiver_on_the_widened_grant():
    out = _pack(_plan("mobius", [{"module": "Finance", "function": "Invoicing", "add": "All", "waiver": MSP_WAIVER}]))
    assert out["cwroles-least-privilege"] == [] and out["cwroles-privileged-functions"] == []
    assert any(m.startswith("WAIVED Finance › Invoicing › Add = All") and "cfo@acme.example" in m
               for m in out["cwroles-waived-grants"])
