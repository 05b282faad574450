"""The pack's parsing of waivers and grants, its requirement lookup and its fail-closed error texts, pinned
exactly: each of these decides a verdict or is what the admin reads instead of one (issue 16)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from cwroles.grid import Level
from cwroles.policies.rules import evaluate
from cwroles.policies.rules.baseline import empty_requirement, requirement_for
from cwroles.policies.rules.model import (UNKNOWN, GrantCell, StackWaiver, WaiverInfo, is_unknown, parse_grants,
                                          parse_stack_waivers, today, waiver_info)
from cwroles.policies.rules.pack import _Failures, _guard, error_cause
from cwroles.problems import Where

STACK = "stack config cwroles:waivers"
NEEDS = "a waiver needs justification, approved_by and expires (YYYY-MM-DD)"
TENANT = ("if your ConnectWise has it (the bundled catalog is incomplete), declare it under tenant_catalog: "
          "(`cwroles catalog diff` prints what your tenant has beyond the bundled catalog)")
OK = {"justification": "j", "approved_by": "a", "expires": "2027-01-01"}


def info(justification="j", approved_by="a", expires=dt.date(2027, 1, 1), origin=STACK, problem=""):
    return WaiverInfo(justification, approved_by, expires, origin, problem)


# ---- stack waivers ----------------------------------------------------------------------------------------------
def test_stack_waivers_that_are_not_a_list_or_empty():
    assert parse_stack_waivers(None) == ([], []) == parse_stack_waivers("")
    assert parse_stack_waivers({"a": 1}) == ([], ["waivers: must be a list of waivers, got dict"])


def test_every_stack_waiver_is_read_and_an_unusable_one_says_why():
    ws, problems = parse_stack_waivers([
        5,
        {"module": "Companies", **OK},
        {"function": "Contacts", **OK},
        {"module": "Companies", "function": "Contactz", **OK},
        {"module": "Companies", "function": "Contacts", "level": "adds", **OK},
        {"module": "companies", "function": "contacts", "level": "Add", **OK, "justification": " j "},
        {"module": "Companies", "function": "Notes", **OK, "justification": ""},
        {"module": "Companies", "function": "Notes", **OK, "level": ""},
    ])
    assert ws[0] == StackWaiver("Companies", "", None, info(), False)
    ws = ws[1:]
    assert problems.pop(1) == f"waivers[1]: unknown function Companies › ''; no catalog entry is close; {TENANT}"
    assert ws == [
        StackWaiver("", "Contacts", None, info(), False),
        StackWaiver("Companies", "Contactz", None, info(), False),
        StackWaiver("Companies", "Contacts", None, info(), False),
        StackWaiver("Companies", "Contacts", "add", info(), True),
        StackWaiver("Companies", "Notes", None, info(justification="", problem=f"waiver is missing justification; {NEEDS}"),
                    True),
        StackWaiver("Companies", "Notes", None, info(), True),
    ]
    assert problems == [
        "waivers[0]: must be a mapping with module, function, level (optional), justification, approved_by and "
        "expires; got 5",
        "waivers[2]: unknown module '': ConnectWise PSA has no such module; 'Contacts' is Companies › Contacts: "
        "write module 'Companies'",
        f"waivers[3]: unknown function Companies › 'Contactz'; closest catalog entries: 'Contacts', 'Import Contacts'; "
        f"{TENANT}",
        "waivers[4].level: level 'adds' is not one of add, edit, delete, inquire; use add, edit, delete or inquire "
        "(or leave it out for all levels)",
    ]
    cell = GrantCell("Companies", "Contacts", "add", Level.ALL, True)
    assert [w.covers(cell) for w in ws] == [False, False, False, True, False, False]
    assert not ws[3].covers(GrantCell("Companies", "Contacts", "edit", Level.ALL, True))


def test_waiver_info_keeps_what_it_can_read_of_an_unusable_waiver():
    where = Where(path=("grants", 0, "waiver"))
    assert waiver_info({**OK, "justification": " j "}, where, "grant waiver") == info(origin="grant waiver")
    assert waiver_info({**OK, "approved_by": " "}, where, "o") == info(
        approved_by="", origin="o", problem=f"waiver is missing approved_by; {NEEDS}")
    assert waiver_info({**OK, "expires": "soon"}, where, "o") == info(
        expires=None, origin="o", problem="waiver expires 'soon' is not a date; write it as YYYY-MM-DD, e.g. 2027-11-22")
    assert waiver_info("nope", where, "o") == info(
        "", "", None, "o", "waiver must be a mapping with justification, approved_by, expires, got 'nope'; " + NEEDS)
    assert waiver_info({**OK, "justification": "", "expires": "soon"}, where, "o").problem == (
        f"waiver is missing justification; {NEEDS}; waiver expires 'soon' is not a date; write it as YYYY-MM-DD, e.g. "
        "2027-11-22")
    two = waiver_info({"expires": "2027-01-01"}, where, "o")
    assert two.problem == f"waiver is missing justification, approved_by; {NEEDS}"
    assert (two.justification, two.approved_by, two.expires) == ("", "", dt.date(2027, 1, 1))


def test_waiver_describe_and_validity():
    assert info().describe() == "“j” (approved by a, expires 2027-01-01; stack config cwroles:waivers)"
    assert info(expires=None, problem="x").describe() == "“j” (approved by a, expires ?; stack config cwroles:waivers)"
    assert info().valid_on(dt.date(2027, 1, 1)) and not info().valid_on(dt.date(2027, 1, 2))
    assert not info(problem="x").valid_on(dt.date(2026, 1, 1)) and not info(expires=None).valid_on(dt.date(2026, 1, 1))


# ---- grants ---------------------------------------------------------------------------------------------------
def test_grants_keep_their_metadata_and_a_bad_waiver_stays_on_the_cell():
    grants = [
        "Companies › Contacts",  # not a grant at all: reported, and the grants after it still count
        {"module": "Nope", "function": "X", "inquire": "All"},
        {"module": "Companies", "function": "Contacts", "inquire": "All", "reason": "r", "source": "s",
         "feature": "f", "origin": "cwroles:extraGrants[0]"},
        {"module": "Companies", "function": "Notes", "add": "My", "waiver": {**OK, "approved_by": ""}},
        {"module": "Companies", "function": "Company Maintenance", "edit": "Some"},
    ]
    grants.append({"module": "Companies", "function": "Manage Attachments", "add": "All", "colour": "red"})
    parsed = parse_grants(grants)
    assert parsed.problems == [
        "grants[0]: must be a mapping with module, function and levels, got 'Companies › Contacts'; write {module: …, "
        "function: …, inquire: All}",
        f"grants[1]: unknown module 'Nope'; no catalog entry is close; {TENANT} (the pack checks "
        "a grant only when it names a ConnectWise function)",
        "grants[4].edit (Companies › Company Maintenance): Edit 'Some' is not a level; use None, My or All",
        "grants[5].colour: unknown key 'colour'; allowed: module, function, add, edit, delete, inquire, waiver, reason, "
        "source, feature, origin",  # a problem of one key: no word about names
    ]
    by_where = {c.where: c for c in parsed.cells}
    assert by_where["Companies › Contacts › Inquire"].origin == "cwroles:extraGrants[0]"
    note = by_where["Companies › Notes › Add"].waiver
    assert note == info(approved_by="", origin="grant waiver", problem=f"waiver is missing approved_by; {NEEDS}")
    assert by_where["Companies › Company Maintenance › Edit"].value is Level.ALL  # checked as the worst case
    assert by_where["Companies › Contacts › Inquire"].waiver is None
    assert by_where["Companies › Manage Attachments › Add"].resolved
    assert parse_grants(None) == parse_grants("") == parse_grants([])
    assert parse_grants("").problems == [] and parse_grants("").cells == []
    [table_list] = parse_grants([{"module": "System", "function": "Service Board", "inquire": "All"}]).problems
    assert table_list.startswith("grants[0]: System › 'Service Board' is not a security-role function but a Table ")
    assert table_list.endswith(" (the pack checks a grant only when it names a ConnectWise function)")


def test_a_grant_of_a_tenant_s_own_function_resolves_in_the_tenant_catalog():
    from cwroles.catalog_extras import catalog_for

    catalog = catalog_for({"functions": [{"module": "Companies", "function": "Acme Sync", "levels": ["inquire"]}]})
    grants = [{"module": "Companies", "function": "Acme Sync", "inquire": "All"}]
    assert parse_grants(grants, catalog).problems == []
    assert parse_grants(grants).problems != []


# ---- the requirement the pack holds a role to ---------------------------------------------------------------------
BUILT_IN = "managed-backup, mobius, msp-process"


@pytest.mark.parametrize("integration,carried,expect", [
    (None, None, ("", "names no integration, so the pack checks it against an empty requirement; set integration to "
                      f"one of: {BUILT_IN}, or to a manifest of your project")),
    ("acme", None, ("acme", f"has integration 'acme', which has no manifest the pack can read (built-in: {BUILT_IN}; "
                            "a project's own manifest reaches the pack through the stack program), so the pack checks "
                            "it against an empty requirement")),
    ("acme", {"integration": 5}, ("acme", "has a requirement input that is not a vendor requirement (3 validation "
                                          "errors for Requirement), so the pack checks it against an empty "
                                          "requirement; let the stack program derive it from the manifest")),
    (None, {"integration": 5}, ("", "has a requirement input that is not a vendor requirement (3 validation errors "
                                    "for Requirement), so the pack checks it against an empty requirement; let the "
                                    "stack program derive it from the manifest")),
    ("x", empty_requirement("y").model_dump(), ("x", "has a requirement for 'y', not for its integration 'x', so the "
                                                     "pack checks it against an empty requirement")),
])
def test_requirement_for_says_why_it_is_empty(integration, carried, expect):
    req, why = requirement_for(integration, carried)
    assert (req.integration, why) == expect
    assert req == empty_requirement(expect[0])
    assert (req.title, req.manifest, req.grants, req.customize) == ("an empty requirement", "", [], [])


def test_a_carried_requirement_is_used_and_a_built_in_one_wins():
    carried = empty_requirement("acme").model_copy(update={"title": "Acme"}).model_dump()
    assert requirement_for("acme", carried) == (empty_requirement("acme").model_copy(update={"title": "Acme"}), "")
    assert requirement_for(None, carried)[0].title == "Acme"
    req, why = requirement_for("mobius", carried)
    assert why == "" and req.manifest == "cwroles/data/integrations/mobius.yaml"


# ---- "today" and unknown values ---------------------------------------------------------------------------------
def test_today_from_config_then_environment_then_clock(monkeypatch):
    from cwroles.policies.rules.model import PolicyConfigError

    monkeypatch.setenv("CWROLES_POLICY_TODAY", " 2026-03-04 ")
    assert today({"today": "2026-01-02"}) == dt.date(2026, 1, 2)
    assert today({}) == dt.date(2026, 3, 4)
    with pytest.raises(PolicyConfigError, match=r"^policy config 'today' is 'soon', not a date; write it as YYYY-MM-DD$"):
        today({"today": "soon"})
    monkeypatch.setenv("CWROLES_POLICY_TODAY", "  ")
    assert today({}) == dt.date.today()
    monkeypatch.delenv("CWROLES_POLICY_TODAY")
    assert today({}) == dt.date.today()


def test_unknown_is_false_and_says_so():
    assert is_unknown(UNKNOWN) and not is_unknown(None) and not UNKNOWN
    assert repr(UNKNOWN) == "<unknown during preview>"


# ---- fail closed: what a policy reports when it raises ----------------------------------------------------------
@pytest.mark.parametrize("filename,origin", [
    ("/srv/app/policies/rules/x.py", "policies/rules/x.py:1"),
    ("/srv/app/cwroles/grid.py", "cwroles/grid.py:1"),
    ("/srv/app/commands/audit.py", "commands/audit.py:1"),
    ("/srv/app/provider/_client.py", "provider/_client.py:1"),
    ("/srv/app/stacks/drift.py", "stacks/drift.py:1"),
    ("C:\\app\\stacks\\drift.py", "stacks/drift.py:1"),
    ("/srv/policies/app/policies/rules/x.py", "policies/rules/x.py:1"),  # the innermost folder of that name
    ("/srv/other/x.py", r"policies/test_rules_exact\.py:\d+"),  # not ours: the test's own frame is the innermost
])
def test_error_cause_names_the_innermost_cwroles_frame(filename, origin):
    try:
        exec(compile("raise ValueError('boom')", filename, "exec"))
    except ValueError as e:
        cause = error_cause(e)
    assert re.fullmatch(f"ValueError at {origin}: boom", cause)


def test_error_cause_of_an_error_without_a_message():
    try:
        raise KeyError("")
    except KeyError as e:
        assert re.fullmatch(r"KeyError at policies/test_rules_exact\.py:\d+: ''", error_cause(e))
    assert error_cause(RuntimeError()) == "RuntimeError: (no message)"  # never raised: no frame to name
    assert error_cause(ValueError(" boom ")) == "ValueError: boom"


def test_guard_reports_and_records_the_error_of_the_resource_it_checked():
    from cwroles.policies.rules import pack

    def check(args, report):
        raise RuntimeError(f"broken {args.urn}")

    guarded = _guard("cwroles-test")(check)
    assert (guarded.__name__, guarded.__wrapped__, guarded.policy_name) == ("check", check, "cwroles-test")
    reported: list[str] = []
    args = type("Args", (), {"urn": "urn:a"})()
    guarded(args, reported.append)
    [msg] = reported
    assert msg.startswith("policy-pack error: cwroles-test could not check this resource (RuntimeError at ")
    assert "broken urn:a), so it is not verified and counts as a failure." in msg
    [(policy, cause)] = pack._failures.take("urn:a")
    assert policy == "cwroles-test" and cause.startswith("RuntimeError at ") and cause.endswith(": broken urn:a")
    calls = []
    _guard("cwroles-test")(lambda a, r: calls.append((a, r)))(args, reported.append)
    assert calls == [(args, reported.append)] and len(reported) == 1


def test_failures_belong_to_one_resource():
    f = _Failures()
    f.record(None, "p", "c")
    assert f.take(None) == [("p", "c")] and f.take(None) == []
    f.record("a", "p", "c1")
    f.record("a", "q", "c2")
    assert f.take("b") == [] and f.take("a") == []  # taking another resource's clears them
    f.record("a", "p", "c1")
    f.record("b", "q", "c2")
    assert f.take("b") == [("q", "c2")]


# ---- the pack's other policies, exactly -----------------------------------------------------------------------
def test_admin_flag_given_as_text_is_an_admin_role():
    from cwroles.policies.rules import admin_role

    from .policy_helpers import SECURITY_ROLE, run

    for flag, reported in ((True, 1), ("True", 1), ("true", 1), ("false", 0), (False, 0), (None, 0), (1, 0)):
        msgs = run(admin_role, SECURITY_ROLE, {"name": "Acme", "admin_flag": flag})
        assert len(msgs) == reported, flag
    assert run(admin_role, SECURITY_ROLE, {"name": "Acme", "admin_flag": "TRUE"}) == [
        "Security role “Acme” has admin_flag set: an API member with it can do everything in ConnectWise PSA. "
        "Integrations get a role with only the vendor's grants; remove admin_flag."]


def test_table_setup_without_an_allow_list_names_each_granted_level():
    from cwroles.policies.rules import table_setup_allowlist

    from .policy_helpers import ROLE_PERMISSIONS, grant, role, run

    assert run(table_setup_allowlist, ROLE_PERMISSIONS, role("msp-process", [grant("System › Table Setup", "AI")])) == [
        "System › Table Setup (Add = All, Inquire = All) has no Customize allow-list, so role “Test Role” can reach "
        "every setup table of the tenant. List the tables the vendor asks for under customize['System › Table Setup'] "
        "(e.g. 'Service / Service Board')."]


def test_pack_errors_groups_the_failed_policies_by_cause():
    from cwroles.policies.rules import pack

    from .policy_helpers import ROLE_PERMISSIONS, run, urn

    here = urn(ROLE_PERMISSIONS, "r")
    for policy, cause in (("p1", "c1"), ("p2", "c1"), ("p3", "c2")):
        pack._failures.record(here, policy, cause)
    [msg] = run(pack.pack_errors, ROLE_PERMISSIONS, {})
    assert msg.startswith("The pack could not check this resource, so it is not verified: p1, p2 (c1); p3 (c2). An "
                          "error inside the pack is a failure whatever the failing policy's enforcement level;")
    assert run(pack.pack_errors, ROLE_PERMISSIONS, {}) == []


def test_every_api_member_is_checked_and_a_blank_role_id_is_no_role():
    from cwroles.policies.rules import api_member_role

    from .policy_helpers import API_MEMBER, SECURITY_ROLE, UNKNOWN_STRING, resource, run_stack

    role_ = resource(SECURITY_ROLE, "role", {"id": "", "name": "", "role_id": "17"})
    ok = resource(API_MEMBER, "ok", {"identifier": "ok", "role_id": "17"})
    blank = resource(API_MEMBER, "blank", {"identifier": "blank", "role_id": ""})
    other = resource("pulumi:pulumi:StackReference", "other", {})
    via = resource(API_MEMBER, "via", {"identifier": "via", "role_id": "9"}, pdeps={"role_id": [other, other]})
    bound = resource(API_MEMBER, "bound", {"identifier": "bound", "role_id": UNKNOWN_STRING}, pdeps={"role_id": [role_]})
    after = resource(API_MEMBER, "after", {"identifier": "after", "role_id": UNKNOWN_STRING}, deps=[role_])
    out = run_stack(api_member_role, [role_, bound, after, ok, blank, via])
    assert [m.split(": ")[1].split(". Create")[0] for m, _ in out] == [
        "it has no role_id",
        "its role_id comes from pulumi:pulumi:StackReference “other”, pulumi:pulumi:StackReference “other”, not from "
        "a SecurityRole of this stack"]
    assert [u for _, u in out] == [blank.urn, via.urn]


def test_vendor_requirement_widening_skips_what_it_cannot_read_and_msp_additions():
    from cwroles.policies.rules import vendor_requirement

    from .policy_helpers import ROLE_PERMISSIONS, grant, run
    from .test_tiers import acme

    vendor = {"module": "Companies", "function": "Company Maintenance", "level": "inquire", "was": "My", "now": "All"}
    widening = {"cells": [5, {**vendor, "origin": "cwroles:extraGrants[0]"}, {**vendor, "level": "nope"},
                          {"level": "inquire", "now": "All"}, {**vendor, "now": "Some"}, {**vendor, "level": "edit"}, vendor,
                          {**vendor, "function": "Contacts"}],
                "features_added": []}
    [msg] = run(vendor_requirement, ROLE_PERMISSIONS, acme([grant("Companies › Company Maintenance", "I")],
                                                           widening=widening))
    assert msg == ("role “Test Role” is widened by a change to the vendor requirement in integrations/acme-rmm.yaml: "
                   "Companies › Company Maintenance › Inquire: My → All. Check the change against the vendor page "
                   "(docs/acme.txt) in this pull request.")


def test_broad_writes_counts_cells_after_skipped_ones_and_uses_the_enabled_features():
    from .test_tiers import ACME, acme

    props = acme([grant_("Companies › Company Maintenance", "E"), grant_("Service Desk › Service Tickets", "AEI")],
                 features=["ticket-sync"])
    v = evaluate.role_view(props)
    [f] = evaluate.broad_writes(v, [], min_functions=1)
    assert f.message.startswith("Service Desk: role “Test Role” writes on 1 functions (Service Tickets (Add/Edit)), as "
                                "Acme RMM's requirement in integrations/acme-rmm.yaml documents.")
    assert f.reason == "writes on 1 Service Desk functions" and [c.level for c in f.cells] == ["add", "edit"]
    v = evaluate.role_view({**props, "features": []})
    assert evaluate.broad_writes(v, [], min_functions=1) == []  # without the feature: above, least privilege's
    assert ACME["integration"] == "acme-rmm"


def grant_(where, levels):
    from .policy_helpers import grant

    return grant(where, levels)


def test_guard_of_a_stack_policy_records_the_error_without_a_resource():
    from cwroles.policies.rules import pack

    def check(args, report):
        raise RuntimeError("broken")

    reported: list[str] = []
    _guard("cwroles-test")(check)(object(), reported.append)
    assert len(reported) == 1 and [p for p, _ in pack._failures.take(None)] == ["cwroles-test"]


UNKNOWN_TEXT = "<unknown during preview>"


def test_a_role_without_an_id_matches_no_member():
    from cwroles.policies.rules import api_member_role

    from .policy_helpers import API_MEMBER, SECURITY_ROLE, resource, run_stack

    out = run_stack(api_member_role, [resource(SECURITY_ROLE, "role", {"id": None, "name": UNKNOWN_TEXT}),
                                      resource(API_MEMBER, "m", {"identifier": "m", "role_id": "None"})])
    assert [m.split(": ")[1].split(". Create")[0] for m, _ in out] == [
        "its role_id 'None' is not a SecurityRole managed in this stack"]


def test_an_expired_waiver_note_is_exact():
    from cwroles.policies.rules.privileged import default_rules

    from .policy_helpers import grant, role, waiver

    v = evaluate.role_view(role("msp-process", [grant("Companies › Notes", "D", waiver=waiver(expires="2026-01-01"))]))
    [f] = evaluate.apply_waivers(evaluate.privileged(v, list(default_rules())), v, dt.date(2026, 6, 15))
    assert (f.status, f.waiver_note) == ("expired", (
        "Its waiver “vendor needs it to sync invoices” (approved by Jane Admin, expires 2026-01-01; grant waiver) "
        "expired on 2026-01-01 (today is 2026-06-15); review the grant and renew the waiver with a new expiry date, "
        "or remove the grant."))
    assert f.text() == f"{f.message} {f.waiver_note}"


def test_without_a_requirement_a_finding_is_on_its_cell_and_says_why():
    from .policy_helpers import grant, role

    v = evaluate.role_view(role(None, [grant("Companies › Contacts", "I")], role_name=""))
    assert v.label == "this role"
    [f] = evaluate.least_privilege(v)
    assert f.cell is v.cells[0] and f.reason == "no vendor requirement for this role"
    assert f.message.startswith("Companies › Contacts › Inquire = All is not allowed: this role names no integration")


def test_a_widening_by_either_of_two_features_names_both():
    from cwroles.manifest import Requirement
    from cwroles.policies.rules import vendor_requirement

    from .policy_helpers import ROLE_PERMISSIONS, grant, role, run

    req = Requirement(integration="two", title="Two", manifest="integrations/two.yaml", features={"a": "A", "b": "B"},
                      grants=[{"module": "Companies", "function": "Contacts", "levels": {"inquire": "All"}, "feature": f}
                              for f in ("a", "b")]).model_dump()
    widening = {"cells": [{"module": "Companies", "function": "Contacts", "level": "inquire", "was": "None",
                           "now": "All"}], "features_added": ["a", "b"]}
    props = {**role("two", [grant("Companies › Contacts", "I")], features=["a", "b"]), "requirement": req,
             "widening": widening}
    assert run(vendor_requirement, ROLE_PERMISSIONS, props) == [
        "role “Test Role” is widened by feature 'a', 'b' switched on in stack config cwroles:features (part of Two's "
        "requirement in integrations/two.yaml): Companies › Contacts › Inquire: None → All."]


def test_a_gated_row_before_the_ungated_one_of_a_function():
    from cwroles.manifest import Requirement

    req = Requirement(integration="x", title="X", manifest="m", features={"f": "F"}, grants=[
        {"module": "Companies", "function": "Contacts", "levels": {"edit": "All"}, "feature": "f"},
        {"module": "Companies", "function": "Notes", "levels": {"inquire": "All"}},
        {"module": "Companies", "function": "Contacts", "levels": {"inquire": "My"}}])
    ceiling, gated = req.ceiling("Companies", "Contacts", set())
    assert ceiling == {"add": Level.NONE, "edit": Level.NONE, "delete": Level.NONE, "inquire": Level.MY}
    assert gated is req.grants[0]
    with pytest.raises(ValueError, match=r"features used but not declared: \['g'\]"):
        Requirement(integration="x", title="X", manifest="m", grants=[
            {"module": "Companies", "function": "Contacts", "levels": {"edit": "All"}, "feature": "g"}])


def test_role_view_reads_what_the_policies_need_and_ignores_what_it_cannot_read():
    from .policy_helpers import grant, role

    v = evaluate.role_view({**role("msp-process", [grant("Companies › Contacts", "I")]), "role_name": None,
                            "features": "sync", "widening": ["not", "a", "mapping"]})
    assert (v.integration, v.features, v.widening, v.label, v.project_manifest) == ("msp-process", set(), None,
                                                                                   "this role", False)
    assert evaluate.role_view(role(None, [])).integration is None
    carried = {**role("acme", []), "requirement": empty_requirement("acme").model_copy(
        update={"manifest": "integrations/acme.yaml"}).model_dump()}
    assert evaluate.role_view(carried).project_manifest
    builtin = {**role("mobius", []), "requirement": requirement_for("mobius", None)[0].model_dump()}
    assert not evaluate.role_view(builtin).project_manifest  # the built-in manifest, carried along
    v = evaluate.role_view(role("msp-process", [], customize={"Nope › Nothing": ["X"], "Companies › Nada": ["Y"]}))
    assert v.customize_problems == [
        f"customize['Nope › Nothing']: unknown module 'Nope'; no catalog entry is close; {TENANT}",
        f"customize['Companies › Nada']: unknown function Companies › 'Nada'; no catalog entry is close; {TENANT}"]


def test_each_finding_after_one_without_a_waiver_is_judged():
    from cwroles.policies.rules.privileged import default_rules

    from .policy_helpers import grant, role, waiver

    v = evaluate.role_view(role("msp-process", [grant("Companies › Notes", "D"),
                                                grant("Companies › Contacts", "D", waiver=waiver())]))
    findings = evaluate.apply_waivers(evaluate.privileged(v, list(default_rules())), v, dt.date(2026, 6, 15))
    assert [(f.cell.function, f.status) for f in findings] == [("Notes", "violation"), ("Contacts", "waived")]


def test_broad_writes_judges_every_module():
    from .policy_helpers import grant, role

    # Contacts › Inquire (not a write) comes before the Notes and Manage Attachments writes
    v = evaluate.role_view(role("msp-process", [grant("Companies › Contacts", "AEI"), grant("Companies › Notes", "AEI"),
                                                grant("Companies › Manage Attachments", "AI")]))
    [f] = evaluate.broad_writes(v, [], min_functions=3)
    assert f.reason == "writes on 3 Companies functions"
    assert evaluate.broad_writes(v, [], min_functions=4) == []


def test_plain_copies_proxies_and_marks_what_they_cannot_give():
    from collections.abc import Mapping, Sequence

    from pulumi_policy.proxy import UNKNOWN_OBJECT_VALUE, UnknownValueError

    from cwroles.policies.rules.model import plain

    class Proxy(Mapping):
        def __init__(self, data):
            self.data = data

        def __getitem__(self, k):
            if k == "secret":
                raise UnknownValueError(UNKNOWN_OBJECT_VALUE, [k])
            return self.data[k]

        def __iter__(self):
            return iter(self.data)

        def __len__(self):
            return len(self.data)

    class Items(Sequence):
        def __getitem__(self, i):
            if i == 1:
                raise UnknownValueError(UNKNOWN_OBJECT_VALUE, [str(i)])
            return ["a", "b"][i]

        def __len__(self):
            return 2

    got = plain(Proxy({"__provider": "blob", "a": (1, "04da6b54-80e4-46f7-96ec-b56ff0331ba9"), "secret": 1,
                       "items": Items(), "raw": b"ab"}))
    assert got == {"a": [1, UNKNOWN], "secret": UNKNOWN, "items": ["a", UNKNOWN], "raw": b"ab"}
