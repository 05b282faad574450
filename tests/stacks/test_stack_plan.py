"""stacks.program: stack config → resource arguments (pure; no Pulumi engine)."""

import json

import pytest

from cwroles.stacks import StackConfigError, build_plan, next_step_text, plan_from_config, read_settings
from cwroles.manifest import load_manifest


def _grants(plan):
    return {(g["module"], g["function"]): (g["add"], g["edit"], g["delete"], g["inquire"]) for g in plan.permissions_args["grants"]}


# ---- config errors ---------------------------------------------------------------------------------
def test_missing_integration_lists_choices_and_the_command():
    with pytest.raises(StackConfigError) as e:
        read_settings({})
    msg = str(e.value)
    assert "cwroles:integration is not set" in msg
    assert "managed-backup, mobius, msp-process" in msg
    assert "pulumi config set cwroles:integration" in msg


def test_unknown_integration_lists_choices():
    with pytest.raises(StackConfigError, match=r"cwroles:integration is 'kaseya'.*choose one of: managed-backup, mobius, msp-process"):
        read_settings({"integration": "kaseya"})


def test_unknown_feature_names_the_integration_and_its_features():
    with pytest.raises(StackConfigError, match=r"cwroles:features: MSP Process has no feature 'invoices'; its features are: configuration-links, invoices-tab, time-entries"):
        plan_from_config({"integration": "msp-process", "features": '["invoices"]'})


def test_feature_on_integration_without_features():
    with pytest.raises(StackConfigError, match=r"MSP360 Managed Backup has no feature 'custom-menu-entry'; its features are: none"):
        plan_from_config({"integration": "managed-backup", "features": "custom-menu-entry"})


def test_unknown_config_key_is_rejected():
    with pytest.raises(StackConfigError, match=r"unknown stack config key\(s\) cwroles:feature;"):
        read_settings({"integration": "mobius", "feature": "x"})


def test_features_accept_json_list_yaml_list_and_comma_text():
    for value in ('["time-entries", "invoices-tab"]', ["time-entries", "invoices-tab"], "time-entries, invoices-tab"):
        assert read_settings({"integration": "msp-process", "features": value}).features == ("time-entries", "invoices-tab")


def test_malformed_feature_list():
    with pytest.raises(StackConfigError, match="cwroles:features: not a valid list"):
        read_settings({"integration": "msp-process", "features": '["time-entries"'})
    with pytest.raises(StackConfigError, match="must list feature names"):
        read_settings({"integration": "msp-process", "features": [1]})


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("apiMemberIdentifier", "Mobius Billing Sync", r"1-15 letters, digits"),
        ("apiMemberIdentifier", "WayTooLongIdentifier", r"1-15 letters"),
        ("roleName", "R" * 31, r"cwroles:roleName: the role name 'R{31}' is 31 characters; ConnectWise allows at most 30"),
        ("apiMemberName", "N" * 31, r"cwroles:apiMemberName: the name 'N{31}' is 31 characters; ConnectWise allows at most 30"),
        ("apiMemberEmail", "not-an-email", r"is not an email address"),
    ],
)
def test_overrides_are_validated(key, value, match):
    with pytest.raises(StackConfigError, match=match):
        plan_from_config({"integration": "mobius", key: value})


# ---- plans ---------------------------------------------------------------------------------------
def test_mobius_default_plan():
    plan = plan_from_config({"integration": "mobius"})
    assert (plan.role_resource, plan.permissions_resource, plan.member_resource) == (
        "mobius-role", "mobius-permissions", "mobius-api-member")
    assert plan.role_args == {"name": "Mobius"}
    assert plan.member_args == {"identifier": "Mobius", "name": "Mobius", "email_address": None}
    p = plan.permissions_args
    assert set(p) == {"grants", "customize", "integration", "features", "waivers", "member_identifier"}
    assert p["integration"] == "mobius" and p["features"] == [] and p["waivers"] == []
    assert p["member_identifier"] == "Mobius"
    grants = _grants(plan)
    assert len(grants) == 16
    assert grants[("Finance", "Invoicing")] == ("None", "All", "All", "All")
    assert grants[("Procurement", "Purchase Orders")] == ("None", "None", "None", "All")
    # catalog spellings go to the provider
    assert p["customize"] == {"System › Table Setup": [
        "General Ledger / Accounting Package", "Invoicing / Billing Status", "Invoicing / Tax Code", "Products / UOM"]}
    waivers = {(g["module"], g["function"]): g.get("waiver") for g in p["grants"]}
    assert {k for k, w in waivers.items() if w} == {
        ("Finance", "Accounting Interface"), ("Finance", "Invoicing"), ("System", "Custom Menu Entry")}
    w = waivers[("Finance", "Invoicing")]
    assert w["approved_by"] == "vendor:Mobius" and w["expires"] == "2027-11-22" and w["justification"]
    json.dumps(p)  # plain data, serialisable as resource inputs


def test_mobius_custom_menu_entry_feature_adds_only_the_allow_list():
    off = plan_from_config({"integration": "mobius"})
    on = plan_from_config({"integration": "mobius", "features": ["custom-menu-entry"]})
    assert on.permissions_args["grants"] == off.permissions_args["grants"]
    assert on.permissions_args["customize"]["System › Custom Menu Entry"] == ["Mobius"]
    assert on.permissions_args["features"] == ["custom-menu-entry"]


def test_msp_process_features_are_sorted_and_add_their_grants():
    base = _grants(plan_from_config({"integration": "msp-process"}))
    plan = plan_from_config({"integration": "msp-process", "features": ["time-entries", "configuration-links"]})
    assert plan.permissions_args["features"] == ["configuration-links", "time-entries"]
    grants = _grants(plan)
    assert set(grants) - set(base) == {("Companies", "Configurations"), ("Finance", "Agreements"), ("Time & Expense", "Time Entry")}
    assert grants[("Time & Expense", "Time Entry")] == ("All", "All", "None", "All")
    assert ("Service Desk", "Service Ticket - Dependencies") in grants  # vendor typo resolved to catalog name
    assert "Contacts / Departments" in plan.permissions_args["customize"]["System › Table Setup"]
    assert len(plan.permissions_args["customize"]["System › Table Setup"]) == 24


def test_managed_backup_plan_and_overrides():
    plan = plan_from_config({
        "integration": "managed-backup",
        "roleName": "MSP360 Backup",
        "apiMemberIdentifier": "AcmeBackup",
        "apiMemberName": "Acme backup sync",
        "apiMemberEmail": "backup@acme.example",
    })
    assert plan.role_args == {"name": "MSP360 Backup"}
    assert plan.member_args == {"identifier": "AcmeBackup", "name": "Acme backup sync", "email_address": "backup@acme.example"}
    assert plan.permissions_args["member_identifier"] == "AcmeBackup"
    assert "API Members › AcmeBackup › API Keys" in plan.next_step
    assert len(plan.permissions_args["grants"]) == 10
    assert plan.permissions_args["customize"] == {"System › Table Setup": ["Service / Service Board"]}


def test_managed_backup_role_name_defaults_to_api():
    assert plan_from_config({"integration": "managed-backup"}).role_args == {"name": "API"}


def test_next_step_tells_the_admin_where_to_create_the_key():
    text = next_step_text("Mobius", "Mobius")
    assert "System › Members › API Members › Mobius › API Keys" in text
    assert "hand the public and private key to Mobius" in text


# ---- waivers from config -------------------------------------------------------------------------
def _waiver(**kw):
    w = {"module": "Finance", "function": "Invoicing", "level": "delete", "justification": "Board approved",
         "approved_by": "cto@acme.example", "expires": "2027-06-30"}
    w.update(kw)
    return w


def test_config_waiver_is_passed_with_catalog_names():
    plan = plan_from_config({"integration": "mobius", "waivers": json.dumps([_waiver(module="finance module", function="invoicing")])})
    assert plan.permissions_args["waivers"] == [{
        "module": "Finance", "function": "Invoicing", "level": "delete", "justification": "Board approved",
        "approved_by": "cto@acme.example", "expires": "2027-06-30"}]


def test_config_waiver_without_level_covers_the_function():
    w = _waiver()
    del w["level"]
    plan = plan_from_config({"integration": "mobius", "waivers": [w]})
    assert "level" not in plan.permissions_args["waivers"][0]


@pytest.mark.parametrize(
    "waiver,match",
    [
        (_waiver(function="Invoyce"), r"waivers\[0\]: unknown function Finance › 'Invoyce'"),
        (_waiver(level="approve"), r"level 'approve' is not one of add, edit, delete, inquire"),
        (_waiver(level="add"), r"Finance › Invoicing › Add is not granted by this stack"),
        (_waiver(function="Agreements"), r"Finance › Agreements is not granted by this stack"),
        (_waiver(expires="next year"), r"waivers\[0\]\.expires \(Finance › Invoicing\): waiver expires 'next year' is not a date"),
        (_waiver(justification=""), r"missing justification"),
        (_waiver(ticket="CHG-1"), r"cwroles:waivers\[0\]\.ticket: unknown key 'ticket'"),
        ("Finance › Invoicing", r"waivers\[0\]: must be a mapping"),
    ],
)
def test_bad_config_waivers_are_clear_errors(waiver, match):
    with pytest.raises(StackConfigError, match=match):
        plan_from_config({"integration": "mobius", "waivers": [waiver]})


def test_build_plan_accepts_a_manifest_directly():
    m = load_manifest("msp-process")
    plan = build_plan(m, read_settings({"integration": "msp-process", "features": "invoices-tab"}))
    assert ("Finance", "Invoicing") in _grants(plan)
    assert plan.title == "MSP Process"


# ---- dates as the Pulumi CLI hands them over; errors located in the stack file ------------------------
@pytest.mark.parametrize("expires", ["2027-06-30", "2027-06-30 00:00:00 +0000 UTC", "2027-06-30T00:00:00Z"])
def test_waiver_dates_quoted_or_not(expires):
    """`expires: 2027-06-30` unquoted in a stack file reaches the program as "2027-06-30 00:00:00 +0000 UTC"."""
    w = _waiver(expires=expires)
    plan = plan_from_config({"integration": "mobius", "waivers": [w],
                             "extraGrants": [{"module": "Procurement", "function": "Products", "delete": "All",
                                              "waiver": {**{k: w[k] for k in ("justification", "approved_by")},
                                                         "expires": expires}}]})
    assert plan.permissions_args["waivers"][0]["expires"] == "2027-06-30"
    products = next(g for g in plan.permissions_args["grants"] if g["function"] == "Products")
    assert products["waiver"]["expires"] == "2027-06-30"


def test_config_errors_name_the_stack_file_and_line(tmp_path):
    from cwroles.stacks.program import ConfigSource

    (tmp_path / "Pulumi.acme.yaml").write_text(
        "config:\n  cwroles:integration: mobius\n  cwroles:waivers:\n  - module: Finance\n    function: Invoicing\n"
        "    level: delete\n    justification: j\n    approved_by: a\n    expires: next year\n")
    source = ConfigSource.of_stack("acme", tmp_path)
    with pytest.raises(StackConfigError) as e:
        plan_from_config({"integration": "mobius", "waivers": [_waiver(expires="next year")]}, source=source)
    assert str(e.value) == ("Pulumi.acme.yaml:9 cwroles:waivers[0].expires (Finance › Invoicing): waiver expires "
                            "'next year' is not a date; write it as YYYY-MM-DD, e.g. 2027-11-22")
    assert e.value.problems[0].line == 9 and e.value.problems[0].file == "Pulumi.acme.yaml"


def test_every_config_problem_is_reported_at_once():
    with pytest.raises(StackConfigError) as e:
        plan_from_config({"integration": "mobius", "roleName": "R" * 31,
                          "extraGrants": [{"module": "Sytem", "function": "Security", "add": "All"},
                                          {"module": "Finance", "function": "Invoicing", "add": "Full"}]})
    assert [p.field for p in e.value.problems] == ["cwroles:extraGrants[0]", "cwroles:extraGrants[1].add",
                                                   "cwroles:roleName"]
