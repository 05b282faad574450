"""Fail closed: an error inside the pack is a mandatory failure, never a pass and never a traceback.

Each policy turns any exception into a readable violation of its own; `cwroles-pack-errors` (mandatory, last)
reports every such error for the resource, so even an error in an advisory policy fails the preview.
The engine runs the policies in POLICIES order for one resource on one thread; ``run_pack`` does the same.
"""

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy
from pulumi_policy.proxy import UnknownValueError

from cwroles.policies.rules import (POLICIES, admin_role, api_member_role, broad_writes, least_privilege, pack,
                                    pack_errors, privileged_functions, table_setup_allowlist, vendor_requirement,
                                    waived_grants)
from cwroles.policies.rules import evaluate, privileged
from cwroles.policies.rules import baseline

from .policy_helpers import (API_MEMBER, ROLE_PERMISSIONS, SECURITY_ROLE, grant, misspelled_builtin_requirement, opts,
                             resource, role, run, run_stack, urn, waiver)

GUARDED = [least_privilege, privileged_functions, table_setup_allowlist, admin_role, api_member_role, waived_grants,
           broad_writes, vendor_requirement]


def run_pack(props, configs=None, name="perms", rtype=ROLE_PERMISSIONS):
    """Every resource policy of the pack on one resource, in the engine's order: [(policy, message)]."""
    out = []
    for policy in POLICIES:
        if not isinstance(policy, ResourceValidationPolicy):
            continue
        config = (configs or {}).get(policy.name) or {}
        args = ResourceValidationArgs(rtype, props, urn(rtype, name), name, opts(), None, config)
        policy.validate(args, lambda msg, u=None, p=policy.name: out.append((p, msg)))
    return out


@pytest.fixture
def misspelled_baseline(monkeypatch):
    """The issue's case: a misspelled function name in the pack's own data (the Mobius manifest, its ceiling)."""
    monkeypatch.setattr(baseline, "builtin_requirement", misspelled_builtin_requirement(baseline.builtin_requirement))


MOBIUS = role("mobius", [grant("Finance › Invoicing", "EDI", waiver=waiver())])


def test_a_misspelled_name_in_the_pack_data_fails_the_resource(misspelled_baseline):
    reported = run_pack(MOBIUS)
    by = {}
    for policy, msg in reported:
        by.setdefault(policy, []).append(msg)
    # every policy that reads the role (and with it the ceiling) says it could not check it, naming the data problem
    readers = ["cwroles-least-privilege", "cwroles-privileged-functions", "cwroles-table-setup-allowlist",
               "cwroles-waived-grants", "cwroles-broad-writes", "cwroles-vendor-requirement"]
    assert list(by) == [*readers, "cwroles-pack-errors"]
    for name in readers:
        [msg] = by[name]
        assert msg.startswith(f"policy-pack error: {name} could not check this resource (ValueError at "), msg
        assert ("cwroles/data/integrations/mobius.yaml:49 grants[4]: unknown function Finance › 'Invoicing Typo'; "
                "closest catalog entries: 'Invoicing'") in msg
        assert "so it is not verified and counts as a failure" in msg and "Traceback" not in msg
    [summary] = by["cwroles-pack-errors"]
    assert summary.startswith("The pack could not check this resource, so it is not verified: "
                              + ", ".join(readers) + " (ValueError at ")
    assert "whatever the failing policy's enforcement level" in summary


@pytest.mark.parametrize("policy, rtype, props", [
    (least_privilege, ROLE_PERMISSIONS, MOBIUS),
    (privileged_functions, ROLE_PERMISSIONS, MOBIUS),
    (waived_grants, ROLE_PERMISSIONS, MOBIUS),
    (table_setup_allowlist, ROLE_PERMISSIONS, role("managed-backup", [grant("System › Table Setup", "I")])),
    (admin_role, SECURITY_ROLE, {"name": "Mobius", "admin_flag": False}),
], ids=lambda v: getattr(v, "name", "")[:40] if isinstance(v, ResourceValidationPolicy) else "")
def test_any_exception_in_a_resource_policy_is_a_readable_violation(monkeypatch, policy, rtype, props):
    def boom(*_a, **_k):
        raise KeyError("grants")

    monkeypatch.setattr(pack, "plain", boom)  # every policy reads its inputs through plain()
    [msg] = run(policy, rtype, props)
    assert msg.startswith(f"policy-pack error: {policy.name} could not check this resource (KeyError at "), msg
    assert msg.endswith(": 'grants'), so it is not verified and counts as a failure. Fix the pack's data "
                        "(the integration's manifest, policies/privileged.yaml) or its configuration; see docs/policies.md.")
    assert "Traceback" not in msg and "/" + "work" not in msg  # no traceback, no machine path


def test_any_exception_in_the_stack_policy_is_a_readable_violation(monkeypatch):
    def boom(*_a, **_k):
        raise RuntimeError("engine sent something new")

    monkeypatch.setattr(pack, "plain", boom)
    member = resource(API_MEMBER, "m", {"identifier": "Mobius", "role_id": 7})
    [(msg, where)] = run_stack(api_member_role, [member])
    assert where is None
    assert msg.startswith("policy-pack error: cwroles-api-member-role could not check this resource (RuntimeError")
    assert "engine sent something new" in msg


def test_an_error_in_a_rule_not_reading_inputs_is_caught_too(monkeypatch):
    def boom(view, rules):
        raise AttributeError("'NoneType' object has no attribute 'module'")

    monkeypatch.setattr(evaluate, "privileged", boom)
    reported = run_pack(MOBIUS)
    assert {p for p, _ in reported} == {"cwroles-privileged-functions", "cwroles-waived-grants",
                                        "cwroles-pack-errors"}
    [summary] = [m for p, m in reported if p == "cwroles-pack-errors"]
    assert "cwroles-privileged-functions, cwroles-waived-grants (AttributeError at " in summary


def test_an_advisory_policys_config_error_is_mandatory_through_pack_errors():
    """cwroles-waived-grants is advisory: its own bad config must still fail the resource."""
    configs = {"cwroles-waived-grants": {"extraPrivilegedFunctions": ["Finance › Invoicng"]}}
    reported = run_pack(MOBIUS, configs)
    assert [p for p, _ in reported] == ["cwroles-waived-grants", "cwroles-pack-errors"]
    assert reported[0][1].startswith("policy-pack configuration problem: policy config extraPrivilegedFunctions: "
                                     "unknown function Finance › 'Invoicng'")
    assert reported[1][1].startswith("The pack could not check this resource, so it is not verified: "
                                     "cwroles-waived-grants (configuration problem: policy config "
                                     "extraPrivilegedFunctions: unknown function Finance › 'Invoicng'")
    assert pack_errors.enforcement_level == EnforcementLevel.MANDATORY


def test_misspelled_privileged_list_fails_closed(monkeypatch):
    def broken():
        return (privileged._rule("System › Member Maintenence", "policies/privileged.yaml"),)

    monkeypatch.setattr(privileged, "default_rules", broken)
    reported = run_pack(MOBIUS)
    assert {p for p, _ in reported} == {"cwroles-privileged-functions", "cwroles-waived-grants", "cwroles-broad-writes",
                                        "cwroles-pack-errors"}
    for policy, msg in reported:
        assert "policies/privileged.yaml: unknown function System › 'Member Maintenence'" in msg, (policy, msg)


def test_errors_are_reported_for_their_resource_only(misspelled_baseline):
    assert [p for p, _ in run_pack(MOBIUS, name="a")][-1] == "cwroles-pack-errors"
    assert run_pack(role("managed-backup", []), name="b") == []  # another resource starts clean
    # an error recorded for a resource whose pack-errors check never ran (disabled) does not leak into the next
    run(least_privilege, ROLE_PERMISSIONS, MOBIUS, name="c")
    assert run(pack_errors, ROLE_PERMISSIONS, role("managed-backup", []), name="d") == []


def test_clean_resource_reports_nothing_from_pack_errors():
    assert run_pack(role("managed-backup", [grant("Service Desk › Service Tickets", "AEI")])) == []


def test_unknown_values_still_mean_cant_run_during_preview():
    """UnknownValueError is the SDK's signal for preview-time unknowns: not a pack error."""
    props = role("mobius", [])
    props["grants"] = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    for policy in (least_privilege, privileged_functions, waived_grants):
        with pytest.raises(UnknownValueError):
            run(policy, ROLE_PERMISSIONS, props)
    assert run(pack_errors, ROLE_PERMISSIONS, props) == []


def test_every_policy_but_pack_errors_is_guarded_under_its_own_name():
    for policy in GUARDED:
        fn = policy._ResourceValidationPolicy__validate if isinstance(policy, ResourceValidationPolicy) \
            else policy._StackValidationPolicy__validate
        assert fn.policy_name == policy.name
    assert [p.name for p in POLICIES] == [p.name for p in GUARDED] + ["cwroles-pack-errors"]
