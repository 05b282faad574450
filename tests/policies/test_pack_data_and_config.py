"""The pack's data files, its policy list, example configs, and the stacks' own plans against it."""

import itertools
import json
from pathlib import Path

import pytest
from pulumi_policy import EnforcementLevel

from cwroles.manifest import load_manifest, manifest_names
from cwroles.policies.rules import POLICIES, least_privilege, privileged_functions, table_setup_allowlist, waived_grants
from cwroles.policies.rules.baseline import builtin_requirement, requirement_for
from cwroles.policies.rules.privileged import default_rules, rules_from_config
from .policy_helpers import ROLE_PERMISSIONS, UNKNOWN_STRING, grant, role, run

PACK = Path(__file__).resolve().parents[2] / "policies"


def test_the_ceiling_is_derived_from_each_manifest_and_there_is_no_second_copy():
    assert not (PACK / "baselines").exists()  # one source of truth: the manifests
    for n in manifest_names():
        req, why = requirement_for(n, None)
        m = load_manifest(n)
        assert why == "" and req == builtin_requirement(n) and req.manifest == f"cwroles/data/integrations/{n}.yaml"
        assert len(req.grants) == len(m.grants) and set(req.features) == {f.name for f in m.features}
        for row, g in zip(req.grants, m.grants):  # every row, feature rows included, at the manifest's levels
            assert row.feature == g.feature
            assert {k: v for k, v in row.levels.items()} == {k: v.value for k, v in g.levels().items() if v.value != "None"}
        assert sum(len(c.items) for c in req.customize) == sum(len(c.items) for c in m.customize)


def test_a_built_in_integration_ignores_a_requirement_input():
    """The installed manifest is the ceiling of a built-in integration: a role cannot bring its own."""
    wide = {"integration": "mobius", "title": "Mobius", "manifest": "integrations/mobius.yaml",
            "grants": [{"module": "Sales", "function": "Opportunity", "levels": {"add": "All"}}]}
    props = {**role("mobius", [grant("Sales › Opportunity", "A")]), "requirement": wide}
    assert len(run(least_privilege, ROLE_PERMISSIONS, props)) == 1


def test_a_malformed_requirement_input_is_an_empty_ceiling_that_says_why():
    props = {**role("acme", [grant("Companies › Contacts", "I")]), "requirement": {"integration": "acme"}}
    [msg] = run(least_privilege, ROLE_PERMISSIONS, props)
    assert "has a requirement input that is not a vendor requirement" in msg


def test_privileged_list_covers_the_required_functions():
    described = {r.describe() for r in default_rules()}
    assert described == {
        "System › Member Maintenance (Add/Edit/Delete)", "System › Security (any level)",
        "System › My Company (Add/Edit/Delete)", "System › Manage Hosted API (any level)",
        "System › Custom Menu Entry (any level)", "System › Mass Maintenance (any level)",
        "System › Table Setup (Add/Edit/Delete)", "Companies › Configuration - Display Passwords (any level)",
        "any function (Delete)"}


def test_policy_names_unique_and_the_advisory_tier():
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names)) == 9 and all(n.startswith("cwroles-") for n in names)
    levels = {p.name: p.enforcement_level for p in POLICIES}
    assert {n for n, lv in levels.items() if lv is not None} == {
        "cwroles-waived-grants", "cwroles-broad-writes", "cwroles-vendor-requirement", "cwroles-pack-errors"}
    assert levels["cwroles-waived-grants"] == EnforcementLevel.ADVISORY
    # errors of every other policy are reported by the mandatory cwroles-pack-errors, which therefore runs last
    assert names[-1] == "cwroles-pack-errors" and levels["cwroles-pack-errors"] == EnforcementLevel.MANDATORY


@pytest.mark.parametrize("name", ["strict.json", "rollout.json"])
def test_example_configs_name_real_policies_and_keep_waivers_advisory(name):
    cfg = json.loads((PACK / "config" / name).read_text(encoding="utf-8"))
    known = {p.name for p in POLICIES} | {"all"}
    assert set(cfg) <= known
    if cfg.get("all") == "mandatory":  # "all" also overrides the waived-grants level: keep waivers advisory
        assert cfg["cwroles-waived-grants"] == "advisory"
    if cfg.get("all") not in (None, "mandatory"):  # an error inside the pack always fails the preview
        assert cfg["cwroles-pack-errors"] == "mandatory"
    for value in cfg.values():
        if isinstance(value, dict) and "extraPrivilegedFunctions" in value:
            assert len(rules_from_config(value)) == len(default_rules()) + len(value["extraPrivilegedFunctions"])


def _stack_plans():
    from cwroles.manifest import load_manifest, manifest_names
    from cwroles.stacks.program import build_plan, read_settings
    for n in manifest_names():
        m = load_manifest(n)
        feats = [f.name for f in m.features]
        for k in range(len(feats) + 1):
            for combo in itertools.combinations(feats, k):
                yield n, combo, build_plan(m, read_settings({"integration": n, "features": list(combo)}))


def test_the_stacks_plans_pass_the_pack():
    """Cross-check with the stack program: what it would declare for each vendor and feature set passes."""
    seen = set()
    for n, combo, plan in _stack_plans():
        seen.add(n)
        props = {**plan.permissions_args, "role_id": UNKNOWN_STRING, "role_name": plan.role_args["name"],
                 "__provider": "x"}
        for p in (least_privilege, privileged_functions, table_setup_allowlist):
            assert run(p, ROLE_PERMISSIONS, props) == [], (n, combo, p.name)
        waived = run(waived_grants, ROLE_PERMISSIONS, props)
        assert (len(waived) > 0) == (n == "mobius"), (n, combo, waived)
    assert seen == {"managed-backup", "mobius", "msp-process"}
