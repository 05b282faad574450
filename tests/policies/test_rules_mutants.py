"""The pack's verdicts where a mutation run found behaviour no test checked (issue 16): waivers that must
never be valid, every grant checked (no `continue` turned into `break`), malformed customize input,
`extraPrivilegedFunctions` config errors, a function with a feature-gated and an ungated row, and the
vendor requirement the pack reads (invalid levels, unknown keys, undeclared features)."""

from __future__ import annotations

import datetime as dt

import pytest

from cwroles.grid import Level
from cwroles.manifest import Requirement
from cwroles.policies.rules import evaluate, least_privilege, privileged_functions, waived_grants
from cwroles.policies.rules.model import GrantCell, PolicyConfigError, WaiverInfo
from cwroles.policies.rules.privileged import PrivilegedRule, default_rules, rules_from_config

from .policy_helpers import ROLE_PERMISSIONS, grant, role, run, waiver

TODAY = dt.date(2026, 6, 15)  # conftest pins CWROLES_POLICY_TODAY to this day

# A vendor that asks for Inquire=My on Service Tickets, and with feature "sync" for Inquire=All and Edit=My;
# Company Maintenance only with feature "sync"; a Table Setup allow-list, one table only with "sync".
GATED = Requirement(
    integration="gated", title="Gated Vendor", manifest="integrations/gated.yaml", vendor_page="docs/gated.txt",
    features={"sync": "only when the vendor syncs tickets", "notes": "only when it writes notes"},
    grants=[
        {"module": "Service Desk", "function": "Service Tickets", "levels": {"inquire": "My"}},
        {"module": "Service Desk", "function": "Service Tickets", "levels": {"inquire": "All", "edit": "My"},
         "feature": "sync"},
        {"module": "Service Desk", "function": "Service Tickets", "levels": {"add": "All"}, "feature": "notes"},
        {"module": "Companies", "function": "Company Maintenance", "levels": {"inquire": "All"}, "feature": "sync"},
        {"module": "System", "function": "Table Setup", "levels": {"inquire": "All"}},
    ],
    customize=[
        {"function": "System › Table Setup", "items": ["Service / Service Board"]},
        {"function": "System › Table Setup", "items": ["Company / Company Type"], "feature": "sync"},
    ]).model_dump()


def gated(grants, features=(), **kw):
    return {**role("gated", grants, features=features, **kw), "requirement": GATED}


def lp(props):
    return run(least_privilege, ROLE_PERMISSIONS, props)


def view(props):
    return evaluate.role_view(props)


# ---- waivers: never valid without a justification, an approver and a date -------------------------------------
BLANKS = [{"justification": ""}, {"justification": "   "}, {"justification": None}, {"approved_by": ""},
          {"approved_by": " "}, {"expires": ""}, {"expires": "someday"}, {"expires": "2026-02-30"}]


@pytest.mark.parametrize("change", BLANKS, ids=lambda c: f"{next(iter(c))}={next(iter(c.values()))!r}")
@pytest.mark.parametrize("place", ["grant", "stack"])
def test_an_incomplete_waiver_never_turns_a_violation_into_waived(change, place):
    w = {**waiver(), **change}
    delete = grant("Finance › Invoicing", "EDI")
    props = (role("mobius", [{**delete, "waiver": w}]) if place == "grant"
             else role("mobius", [delete], waivers=[{"module": "Finance", "function": "Invoicing", **w}]))
    [msg] = run(privileged_functions, ROLE_PERMISSIONS, props)
    assert "Delete = All is privileged" in msg and "cannot be used: waiver" in msg
    assert run(waived_grants, ROLE_PERMISSIONS, props) == []
    v = view(props)
    [f] = evaluate.apply_waivers(evaluate.privileged(v, list(default_rules())), v, TODAY)
    assert (f.status, f.waived) == ("invalid-waiver", False)


def test_a_waiver_with_an_unknown_key_is_not_used():
    props = role("mobius", [{**grant("Finance › Invoicing", "EDI"), "waiver": {**waiver(), "approver": "Bob"}}])
    [msg] = run(privileged_functions, ROLE_PERMISSIONS, props)
    assert "cannot be used: waiver has unknown key 'approver'" in msg


def test_waiver_info_is_valid_only_when_complete_and_unexpired():
    ok = WaiverInfo("why", "Jane", TODAY, "grant waiver")
    assert ok.valid_on(TODAY) and not ok.valid_on(TODAY + dt.timedelta(days=1))
    assert not WaiverInfo("why", "Jane", TODAY, "grant waiver", problem="waiver is missing justification").valid_on(TODAY)
    assert not WaiverInfo("why", "Jane", None, "grant waiver").valid_on(TODAY)
    assert ok.describe() == "“why” (approved by Jane, expires 2026-06-15; grant waiver)"
    assert WaiverInfo("why", "Jane", None, "x").describe() == "“why” (approved by Jane, expires ?; x)"


def test_an_expired_waiver_is_named_and_the_latest_expiry_wins():
    delete = grant("Finance › Invoicing", "EDI", waiver=waiver("2026-01-31"))
    props = role("mobius", [delete], waivers=[
        {"module": "Finance", "function": "Invoicing", **waiver("2026-03-01", justification="later")},
        {"module": "Finance", "function": "Invoicing", **waiver("2026-02-01", justification="earlier")}])
    v = view(props)
    [f] = evaluate.apply_waivers(evaluate.privileged(v, list(default_rules())), v, TODAY)
    assert f.status == "expired" and f.waiver.justification == "later"
    assert "expired on 2026-03-01 (today is 2026-06-15)" in f.text()


def test_a_valid_waiver_wins_over_an_invalid_or_expired_one_and_the_latest_valid_is_shown():
    delete = grant("Finance › Invoicing", "EDI", waiver={**waiver(), "justification": ""})
    props = role("mobius", [delete], waivers=[
        {"module": "Finance", "function": "Invoicing", **waiver("2026-01-01", justification="old")},
        {"module": "Finance", "function": "Invoicing", **waiver("2027-01-01", justification="mid")},
        {"module": "Finance", "function": "Invoicing", **waiver("2028-01-01", justification="late")},
        {"module": "Finance", "function": "Invoicing", **waiver("2026-12-01", justification="early")}])
    v = view(props)
    [f] = evaluate.apply_waivers(evaluate.privileged(v, list(default_rules())), v, TODAY)
    assert f.status == "waived" and f.waiver.justification == "late" and f.waiver_note == ""


def test_the_first_unusable_waiver_explains_when_none_is_usable():
    delete = grant("Finance › Invoicing", "EDI", waiver={**waiver(), "approved_by": ""})
    props = role("mobius", [delete], waivers=[{"module": "Finance", "function": "Invoicing", **waiver(),
                                               "justification": " "}])
    v = view(props)
    [f] = evaluate.apply_waivers(evaluate.privileged(v, list(default_rules())), v, TODAY)
    assert f.status == "invalid-waiver" and f.waiver.origin == "grant waiver"
    assert f.text().endswith("Its waiver (grant waiver) cannot be used: waiver is missing approved_by; a waiver needs "
                             "justification, approved_by and expires (YYYY-MM-DD).")


def test_each_finding_is_judged_after_a_waived_one():
    """apply_waivers goes on after a waived finding, a finding without a cell and one without any waiver."""
    props = role("mobius", [grant("Finance › Invoicing", "EDI", waiver=waiver()), grant("Companies › Contacts", "DI"),
                            grant("Service Desk › Service Tickets", "DI", waiver=waiver("2026-01-01"))])
    v = view(props)
    findings = [evaluate.Finding("no cell")] + evaluate.privileged(v, list(default_rules()))
    out = evaluate.apply_waivers(findings, v, TODAY)
    assert [f.status for f in out] == ["violation", "waived", "violation", "expired"]


def test_a_finding_on_several_cells_is_waived_only_when_each_cell_has_a_valid_waiver():
    cells = [GrantCell("Companies", "Contacts", "add", Level.ALL, True, WaiverInfo("a", "b", TODAY, "grant waiver")),
             GrantCell("Companies", "Notes", "add", Level.ALL, True, None)]
    v = view(role("msp-process", []))
    [f] = evaluate.apply_waivers([evaluate.Finding("m", cells=cells)], v, TODAY)
    assert f.status == "violation"
    cells[1].waiver = WaiverInfo("c", "d", TODAY + dt.timedelta(days=9), "grant waiver")
    [f] = evaluate.apply_waivers([evaluate.Finding("m", cells=cells)], v, TODAY)
    assert f.status == "waived" and f.waiver.justification == "c"  # the latest expiry
    cells[1].waiver = WaiverInfo("c", "d", TODAY - dt.timedelta(days=1), "grant waiver")
    [f] = evaluate.apply_waivers([evaluate.Finding("m", cells=cells)], v, TODAY)
    assert f.status == "violation"


# ---- every grant is checked -------------------------------------------------------------------------------
def test_without_a_requirement_every_granted_cell_is_reported():
    props = role("no-such-vendor", [grant("Companies › Contacts", "I"), grant("Finance › Invoicing", "AI"),
                                    grant("Service Desk › Service Tickets", "E")])
    msgs = lp(props)
    assert len(msgs) == 4
    for cell in ("Companies › Contacts › Inquire", "Finance › Invoicing › Add", "Finance › Invoicing › Inquire",
                 "Service Desk › Service Tickets › Edit"):
        assert sum(m.startswith(f"{cell} = All is not allowed: role “Test Role” has integration 'no-such-vendor'")
                   for m in msgs) == 1


def test_grants_after_an_unknown_name_and_after_a_passing_grant_are_still_checked():
    msgs = lp(gated([grant("Service Desk › Service Tickets", "I", value="My"), grant("Nope › Nothing", "I"),
                     grant("Finance › Invoicing", "I"), grant("Companies › Contacts", "E", value="My")]))
    assert len(msgs) == 3
    assert msgs[0].startswith("grants[1]: unknown module 'Nope'")
    assert msgs[1].startswith("Finance › Invoicing › Inquire = All: Gated Vendor's published requirement does not list")
    assert msgs[2].startswith("Companies › Contacts › Edit = My: Gated Vendor's published requirement does not list")


def test_privileged_checks_every_cell_after_one_that_is_not_privileged():
    msgs = run(privileged_functions, ROLE_PERMISSIONS, role("msp-process", [
        grant("Companies › Contacts", "I"), grant("System › Member Maintenance", "E"), grant("Finance › Invoicing", "I"),
        grant("Companies › Notes", "D")]))
    assert [m.split(" = ")[0] for m in msgs] == ["System › Member Maintenance › Edit", "Companies › Notes › Delete"]


def test_a_cell_privileged_by_two_rules_names_both_reasons_once():
    rules = [*default_rules(), PrivilegedRule("Companies", "Notes", frozenset({"delete"}), "notes are evidence", "x"),
             PrivilegedRule("Companies", "Notes", frozenset({"delete"}), "notes are evidence", "y")]
    [f] = evaluate.privileged(view(role("msp-process", [grant("Companies › Notes", "D")])), rules)
    assert "(Delete removes records for good (any function); notes are evidence)" in f.message
    assert f.reason == "privileged: Delete removes records for good (any function); notes are evidence"


# ---- a function with a feature-gated and an ungated row ------------------------------------------------------
@pytest.mark.parametrize("cell,features,expect", [
    ("I=My", (), None),
    ("I=All", (), "feature"),  # above the ungated My, exactly the gated All
    ("E=My", (), "feature"),  # no ungated Edit, exactly the gated My
    ("E=All", (), "above:None"),  # above the gated My too: not a matter of the feature
    ("I=All", ("sync",), None),
    ("E=My", ("sync",), None),
    ("E=All", ("sync",), "above:My"),
    ("A=All", ("sync",), "feature:notes"),  # a second gated row, for another feature
    ("A=All", ("sync", "notes"), None),
    ("D=My", ("sync", "notes"), "above:None"),
])
def test_ungated_and_feature_gated_rows_of_one_function(cell, features, expect):
    letter, value = cell.split("=")
    msgs = lp(gated([grant("Service Desk › Service Tickets", letter, value=value)], features=features))
    level = {"A": "Add", "E": "Edit", "D": "Delete", "I": "Inquire"}[letter]
    if expect is None:
        assert msgs == []
        return
    [msg] = msgs
    prefix = f"Service Desk › Service Tickets › {level} = {value}"
    if expect.startswith("feature"):
        feature = expect.partition(":")[2] or "sync"
        desc = GATED["features"][feature]
        assert msg == (f"{prefix} is only part of Gated Vendor's requirement with feature '{feature}' ({desc}), which "
                       "is off for role “Test Role”. Turn the feature on in the stack config, or remove the grant.")
    else:
        ceiling = expect.partition(":")[2]
        assert msg.startswith(f"{prefix} is above Gated Vendor's published requirement ({level} ceiling: {ceiling}).")


def test_a_function_only_a_feature_grants_is_explained_by_that_feature_and_reasons_differ():
    v = view(gated([grant("Companies › Company Maintenance", "I"), grant("Service Desk › Service Tickets", "E",
                                                                         value="All"),
                    grant("Finance › Invoicing", "I")]))
    reasons = [f.reason for f in evaluate.least_privilege(v)]
    assert reasons == ["needs feature 'sync'", "above Gated Vendor's requirement (Edit ≤ None)",
                       "not in Gated Vendor's requirement"]


def test_requirement_ceiling_merges_rows_and_keeps_the_first_gated_row():
    req = Requirement.model_validate(GATED)
    ceiling, gated_row = req.ceiling("Service Desk", "Service Tickets", set())
    assert ceiling == {"add": Level.NONE, "edit": Level.NONE, "delete": Level.NONE, "inquire": Level.MY}
    assert gated_row.feature == "sync"
    ceiling, gated_row = req.ceiling("Service Desk", "Service Tickets", {"sync"})
    assert ceiling["inquire"] is Level.ALL and ceiling["edit"] is Level.MY and gated_row.feature == "notes"
    ceiling, gated_row = req.ceiling("Service Desk", "Service Tickets", {"sync", "notes"})
    assert ceiling["add"] is Level.ALL and gated_row is None
    assert req.ceiling("Finance", "Invoicing", {"sync"}) == ({n: Level.NONE for n in ceiling}, None)
    assert req.lists("Companies", "Company Maintenance") and not req.lists("Finance", "Invoicing")
    assert req.allowed_items("System › Table Setup", set()) == ({"Service / Service Board"},
                                                               {"Company / Company Type": "sync"})
    assert req.allowed_items("System › Table Setup", {"sync"}) == ({"Service / Service Board",
                                                                    "Company / Company Type"}, {})
    assert req.allowed_items("System › Custom Menu Entry", {"sync"}) == (set(), {})


# ---- customize: malformed input never passes -------------------------------------------------------------------
TABLE_SETUP = grant("System › Table Setup", "I")


@pytest.mark.parametrize("customize,says", [
    ("System › Table Setup", "customize is not an object"),
    (["System › Table Setup"], "customize is not an object"),
    ({"System › Table Setup": [""]}, "must be a list of names"),
    ({"System › Table Setup": [None]}, "must be a list of names"),
    ({"System › Table Setup": 5}, "must be a list of names"),
    ({"System › Table Setup": {"Service / Service Board": True}}, "must be a list of names"),
    ({"System › Table Setup": ["Service / No Such Table"]}, "unknown Table Setup table"),
    ({"Finance › Invoicing": ["Service / Service Board"]}, "has no Customize list"),
    ({"Nope › Nothing": ["Service / Service Board"]}, "unknown module 'Nope'"),
    ({"Table Setup": ["Service / Service Board"]}, "is not \"Module › Function\""),
])
def test_malformed_customize_is_a_least_privilege_violation(customize, says):
    msgs = lp(gated([TABLE_SETUP], customize=customize))
    assert msgs and any(says in m for m in msgs), msgs


def test_good_customize_items_after_a_bad_one_are_still_checked():
    customize = {"System › Table Setup": ["Service / Service Board", "Company / Company Type", "Company / Country"]}
    msgs = lp(gated([TABLE_SETUP], customize=customize))
    assert len(msgs) == 2
    assert msgs[0].startswith("System › Table Setup › Customize allows “Company / Company Type”, which Gated Vendor "
                              "only needs with feature 'sync'")
    assert msgs[1].startswith("System › Table Setup › Customize allows “Company / Country”, which is not on "
                              "Gated Vendor's published allow-list.")
    assert lp(gated([TABLE_SETUP], features=["sync"], customize={"System › Table Setup": [
        "Service / Service Board", "company/company type"]})) == []


def test_customize_lists_of_one_function_merge_in_catalog_spelling():
    v = view(gated([TABLE_SETUP], customize={"System › Table Setup": ["service / service board"],
                                             "System > Table Setup": ["Company / Company Type"]}))
    assert v.customize == {("System", "Table Setup"): ["Service / Service Board", "Company / Company Type"]}
    assert v.customize_problems == []


def test_customize_items_with_no_requirement_are_each_reported():
    msgs = lp(role(None, [], customize={"System › Table Setup": ["Service / Service Board", "Company / Company Type"]}))
    assert msgs == [f"System › Table Setup › Customize allows “{t}”: role “Test Role” names no integration, so the pack "
                    "checks it against an empty requirement; set integration to one of: "
                    f"{', '.join(__import__('cwroles.manifest', fromlist=['x']).manifest_names())}, or to a manifest of "
                    "your project." for t in ("Service / Service Board", "Company / Company Type")]


# ---- extraPrivilegedFunctions: a config error is an error, never a rule that never matches ----------------------
@pytest.mark.parametrize("entry,says", [
    ("Finance › Invoicng", "unknown function Finance › 'Invoicng'"),
    ("Invoicing", "is not \"Module › Function\""),
    ({"function": ""}, "is not a function name or {function, levels, reason}"),
    ({"levels": ["add"]}, "is not a function name or {function, levels, reason}"),
    (5, "is not a function name or {function, levels, reason}"),
    ({"function": "Finance › Invoicing", "levels": ["Everything"]}, "levels ['Everything'] for Finance › Invoicing"),
    ({"function": "Finance › Invoicing", "levels": "delete"}, "levels 'delete' for Finance › Invoicing is not a list"),
    ({"function": "Finance › Invoicing", "levels": []}, "levels [] for Finance › Invoicing is not a list"),
    ({"function": "Finance › Invoicing", "level": ["add"]}, "unknown key(s) ['level']"),
    ({"function": "Finance › Invoicing", "reasons": "x"}, "unknown key(s) ['reasons']"),
])
def test_a_bad_extra_privileged_entry_is_a_configuration_error(entry, says):
    with pytest.raises(PolicyConfigError, match="policy config extraPrivilegedFunctions: ") as e:
        rules_from_config({"extraPrivilegedFunctions": [entry]})
    assert says in str(e.value)
    [msg] = run(privileged_functions, ROLE_PERMISSIONS, role("mobius", [grant("Finance › Invoicing", "I")]),
                config={"extraPrivilegedFunctions": ["Companies › Contacts", entry]})
    assert msg.startswith("policy-pack configuration problem: policy config extraPrivilegedFunctions: ")


@pytest.mark.parametrize("value", ["Finance › Invoicing", {"function": "Finance › Invoicing"}, 5])
def test_extra_privileged_functions_that_is_not_a_list_is_a_configuration_error(value):
    with pytest.raises(PolicyConfigError, match=r"^policy config extraPrivilegedFunctions: .* is not a list of functions"):
        rules_from_config({"extraPrivilegedFunctions": value})


def test_extra_privileged_entries_match_the_cells_they_name():
    rules = rules_from_config({"extraPrivilegedFunctions": [
        "finance > invoicing", {"function": "Companies › Contacts", "levels": ["Edit", "add"]}]})
    extra = rules[len(default_rules()):]
    assert [(r.module, r.function, sorted(r.levels), r.reason, r.origin) for r in extra] == [
        ("Finance", "Invoicing", ["add", "delete", "edit", "inquire"], "listed as privileged",
         "policy config extraPrivilegedFunctions"),
        ("Companies", "Contacts", ["add", "edit"], "listed as privileged", "policy config extraPrivilegedFunctions")]
    assert extra[0].describe() == "Finance › Invoicing (any level)"
    assert extra[1].describe() == "Companies › Contacts (Add/Edit)"
    msgs = run(privileged_functions, ROLE_PERMISSIONS, role("mobius", [
        grant("Finance › Invoicing", "I"), grant("Companies › Contacts", "AI")]),
        config={"extraPrivilegedFunctions": ["Finance › Invoicing", {"function": "Companies › Contacts",
                                                                     "levels": ["add"], "reason": "people data"}]})
    assert [m.split(" is privileged ")[0] for m in msgs] == ["Finance › Invoicing › Inquire = All",
                                                             "Companies › Contacts › Add = All"]
    assert "(people data)" in msgs[1]
    assert rules_from_config({}) == list(default_rules()) == rules_from_config({"extraPrivilegedFunctions": None})


def test_the_built_in_privileged_rules():
    rules = default_rules()
    any_delete = [r for r in rules if r.module is None]
    assert len(any_delete) == 1 and any_delete[0].levels == {"delete"}
    assert any_delete[0].describe() == "any function (Delete)"
    assert any_delete[0].reason == "Delete removes records for good (any function)"
    assert any_delete[0].origin == "policies/privileged.yaml"
    cell = GrantCell("Service Desk", "Service Tickets", "delete", Level.MY, True)
    assert any_delete[0].matches(cell) and not any_delete[0].matches(
        GrantCell("Service Desk", "Service Tickets", "edit", Level.ALL, True))
    member = next(r for r in rules if (r.module, r.function) == ("System", "Member Maintenance"))
    assert member.levels == {"add", "edit", "delete"} and member.origin == "policies/privileged.yaml"
    assert member.matches(GrantCell("System", "Member Maintenance", "edit", Level.MY, True))
    assert not member.matches(GrantCell("System", "Member Maintenance", "inquire", Level.ALL, True))
    assert not member.matches(GrantCell("System", "Table Setup", "edit", Level.ALL, True))


# ---- the vendor requirement the pack reads -----------------------------------------------------------------
def _req(**change):
    data = {**GATED, **change}
    return {**role("gated", [grant("Service Desk › Service Tickets", "I", value="My")]), "requirement": data}


@pytest.mark.parametrize("change,says", [
    ({"grants": [{"module": "Service Desk", "function": "Service Tickets", "levels": {"inquire": "Everything"}}]},
     "not a vendor requirement"),
    ({"grants": [{"module": "Service Desk", "function": "Service Tickets", "levels": {"inquier": "My"}}]},
     "not a vendor requirement"),
    ({"grants": [{"module": "Service Desk", "function": "Service Tickets", "levels": {"inquire": "My"},
                  "feature": "undeclared"}]}, "not a vendor requirement"),
    ({"customize": [{"function": "System › Table Setup", "items": [], "feature": "undeclared"}]},
     "not a vendor requirement"),
    ({"ceiling": "everything"}, "not a vendor requirement"),
    ({"integration": "another"}, "has a requirement for 'another', not for its integration 'gated'"),
])
def test_a_requirement_input_the_pack_cannot_trust_fails_every_grant(change, says):
    [msg] = lp(_req(**change))
    assert msg.startswith("Service Desk › Service Tickets › Inquire = My is not allowed: role “Test Role” ")
    assert says in msg


@pytest.mark.parametrize("change", [
    {"grants": [{"module": "Service Desk", "function": "Service Tickets", "levels": {"inquire": "Everything"}}]},
    {"grants": [{"module": "Service Desk", "function": "Service Tickets", "levels": {"inquire": "My"},
                 "feature": "undeclared"}]},
    {"customize": [{"function": "System › Table Setup", "items": ["Service / Service Board"], "feature": "nope"}]},
])
def test_requirement_model_refuses_invalid_levels_and_undeclared_features(change):
    with pytest.raises(ValueError):
        Requirement.model_validate({**GATED, **change})
