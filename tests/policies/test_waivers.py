"""Waivers: on a grant or in stack config; valid -> advisory only, expired -> mandatory again."""

import pytest

from cwroles.policies.rules import least_privilege, privileged_functions, waived_grants
from .policy_helpers import ROLE_PERMISSIONS, grant, role, run, waiver

DELETE_INVOICES = grant("Finance › Invoicing", "EDI")


def mobius(grants, waivers=None):
    return role("mobius", grants, waivers=waivers, role_name="Mobius")


def check(props, config=None):
    return {p.name: run(p, ROLE_PERMISSIONS, props, config=config)
            for p in (least_privilege, privileged_functions, waived_grants)}


def test_unwaived_delete_fails_even_inside_the_baseline():
    r = check(mobius([DELETE_INVOICES]))
    assert r["cwroles-least-privilege"] == []
    assert len(r["cwroles-privileged-functions"]) == 1
    assert r["cwroles-waived-grants"] == []


def test_grant_waiver_valid_moves_the_finding_to_the_advisory_policy():
    r = check(mobius([{**DELETE_INVOICES, "waiver": waiver("2026-12-31")}]))
    assert r["cwroles-privileged-functions"] == []
    assert r["cwroles-waived-grants"] == [
        "WAIVED Finance › Invoicing › Delete = All (privileged: Delete removes records for good (any function)): "
        "“vendor needs it to sync invoices” (approved by Jane Admin, expires 2026-12-31; grant waiver)."
    ]


@pytest.mark.parametrize("expires,expired", [("2026-06-15", False), ("2026-06-14", True)])
def test_waiver_expiry_boundary(expires, expired):  # today is 2026-06-15 (conftest)
    r = check(mobius([{**DELETE_INVOICES, "waiver": waiver(expires)}]))
    if expired:
        assert len(r["cwroles-privileged-functions"]) == 1
        msg = r["cwroles-privileged-functions"][0]
        assert "expired on 2026-06-14 (today is 2026-06-15)" in msg and "renew the waiver" in msg
        assert r["cwroles-waived-grants"] == []
    else:
        assert r["cwroles-privileged-functions"] == []
        assert len(r["cwroles-waived-grants"]) == 1


def test_stack_waiver_with_level_covers_only_that_level():
    w = [{"module": "Finance", "function": "Invoicing", "level": "delete", **waiver()}]
    r = check(mobius([DELETE_INVOICES], w))
    assert r["cwroles-privileged-functions"] == []
    assert r["cwroles-waived-grants"][0].endswith("; stack config cwroles:waivers).")
    w = [{"module": "Finance", "function": "Invoicing", "level": "edit", **waiver()}]
    assert len(check(mobius([DELETE_INVOICES], w))["cwroles-privileged-functions"]) == 1


def test_stack_waiver_without_level_covers_every_level_and_accepts_aliases():
    w = [{"module": "System", "function": "Custom Menu Entry", **waiver()}]
    r = check(mobius([grant("System › Custom Menu Entry", "AEDI")], w))
    assert r["cwroles-privileged-functions"] == [] and len(r["cwroles-waived-grants"]) == 4
    w = [{"module": "Service Desk", "function": "Service Ticket - Dependancies", "level": "delete", **waiver()}]
    props = role("msp-process", [grant("Service Desk › Service Ticket - Dependencies", "D")], waivers=w)
    r = check(props)
    assert r["cwroles-least-privilege"] == [] and r["cwroles-privileged-functions"] == []
    assert r["cwroles-waived-grants"] == [
        "WAIVED Service Desk › Service Ticket - Dependencies › Delete = All (above MSP Process's requirement "
        "(Delete ≤ None); privileged: Delete removes records for good (any function)): “vendor needs it to sync "
        "invoices” (approved by Jane Admin, expires 2099-12-31; stack config cwroles:waivers)."
    ]


def test_waiver_also_accepts_a_grant_above_the_baseline():
    g = {**grant("Sales › Opportunity", "I"), "waiver": waiver()}
    r = check(role("msp-process", [g]))
    assert r["cwroles-least-privilege"] == []
    assert "not in MSP Process's requirement" in r["cwroles-waived-grants"][0]


def test_incomplete_waiver_is_not_accepted():
    g = {**DELETE_INVOICES, "waiver": {"justification": "needed", "approved_by": "", "expires": "2099-01-01"}}
    msgs = check(mobius([g]))["cwroles-privileged-functions"]
    assert len(msgs) == 1 and "cannot be used: waiver is missing approved_by" in msgs[0]
    g = {**DELETE_INVOICES, "waiver": {"justification": "x", "approved_by": "y", "expires": "next year"}}
    assert "not a date" in check(mobius([g]))["cwroles-privileged-functions"][0]


def test_later_valid_waiver_wins_over_an_expired_one():
    w = [{"module": "Finance", "function": "Invoicing", **waiver("2099-01-01")}]
    r = check(mobius([{**DELETE_INVOICES, "waiver": waiver("2020-01-01")}], w))
    assert r["cwroles-privileged-functions"] == [] and "2099-01-01" in r["cwroles-waived-grants"][0]


def test_today_from_config_overrides_env(monkeypatch):
    props = mobius([{**DELETE_INVOICES, "waiver": waiver("2026-12-31")}])
    assert run(privileged_functions, ROLE_PERMISSIONS, props, config={"today": "2027-01-01"})
    assert run(privileged_functions, ROLE_PERMISSIONS, props, config={"today": "2026-12-31"}) == []
    monkeypatch.setenv("CWROLES_POLICY_TODAY", "2027-01-01")
    assert "expired on 2026-12-31" in run(privileged_functions, ROLE_PERMISSIONS, props)[0]


def test_bad_today_is_a_readable_configuration_problem(monkeypatch):
    monkeypatch.setenv("CWROLES_POLICY_TODAY", "tomorrow")
    msgs = run(privileged_functions, ROLE_PERMISSIONS, mobius([]))
    assert msgs == ["policy-pack configuration problem: environment variable CWROLES_POLICY_TODAY is 'tomorrow', "
                    "not a date; write it as YYYY-MM-DD. See docs/policies.md."]


def test_stack_waiver_for_unknown_function_is_reported():
    w = [{"module": "Finance", "function": "Invoicng", **waiver()}]
    msgs = run(least_privilege, ROLE_PERMISSIONS, mobius([], w))
    assert len(msgs) == 1 and msgs[0].startswith("stack config cwroles:waivers: waivers[0]: unknown function "
                                                 "Finance › 'Invoicng'; closest catalog entries: 'Invoicing'")
