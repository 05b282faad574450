"""Each vendor's published role (the hand transcription in tests/vendor_pages.py) passes the pack.

The transcription uses the vendor pages' own spellings (e.g. "Service Ticket - Dependancies",
"Company module", "Purchase Orders (Aiso)") so alias resolution is exercised as well.
"""

import pytest

from cwroles.policies.rules import (least_privilege, privileged_functions, table_setup_allowlist, waived_grants)
from tests import vendor_pages as pages

from .policy_helpers import ROLE_PERMISSIONS, grant, role, run, waiver

VENDORS = {k: (rows, always, per_feature) for k, (_, rows, always, per_feature) in pages.VENDORS.items()}
FEATURES = pages.FEATURES
# Mobius' privileged rows are covered by waivers in its stack (pages ask for Delete / Custom Menu Entry).
MOBIUS_WAIVERS = [
    {"module": "Finance", "function": "Accounting Interface", "level": "delete", **waiver()},
    {"module": "Finance", "function": "Invoicing", "level": "delete", **waiver()},
    {"module": "System", "function": "Custom Menu Entry", **waiver(justification="Mobius menu entry in PSA")},
]


def published(integration, enabled):
    rows, customize, feature_customize = VENDORS[integration]
    grants = [grant(w, lv) for w, lv, feat in rows if feat is None or feat in enabled]
    cz = {k: list(v) for k, v in customize.items()}
    for feat in enabled:
        cz.update(feature_customize.get(feat, {}))
    return role(integration, grants, features=enabled, customize=cz,
                waivers=MOBIUS_WAIVERS if integration == "mobius" else [])


CASES = [(i, []) for i in VENDORS] + [(i, [f]) for i in VENDORS for f in FEATURES[i]] + \
        [(i, FEATURES[i]) for i in VENDORS if len(FEATURES[i]) > 1]


@pytest.mark.parametrize("integration,enabled", CASES, ids=[f"{i}-{'+'.join(f) or 'default'}" for i, f in CASES])
def test_published_role_passes_every_mandatory_policy(integration, enabled):
    props = published(integration, enabled)
    for policy in (least_privilege, privileged_functions, table_setup_allowlist):
        assert run(policy, ROLE_PERMISSIONS, props) == [], policy.name


@pytest.mark.parametrize("integration", [i for i in VENDORS if FEATURES[i]])
def test_feature_rows_fail_while_their_feature_is_off(integration):
    rows = VENDORS[integration][0]
    gated = [(w, lv, f) for w, lv, f in rows if f]
    for w, lv, feat in gated:
        props = published(integration, [])
        props["grants"].append(grant(w, lv))
        msgs = run(least_privilege, ROLE_PERMISSIONS, props)
        assert msgs and all(f"feature '{feat}'" in m for m in msgs), (w, msgs)


def test_mobius_feature_allow_list_fails_while_feature_is_off():
    props = published("mobius", [])
    props["customize"]["System › Custom Menu Entry"] = ["Mobius"]
    msgs = run(least_privilege, ROLE_PERMISSIONS, props)
    assert len(msgs) == 1 and "“Mobius”" in msgs[0] and "custom-menu-entry" in msgs[0]


def test_mobius_without_its_waivers_fails_exactly_on_the_privileged_rows():
    props = published("mobius", [])
    props["waivers"] = []
    msgs = run(privileged_functions, ROLE_PERMISSIONS, props)
    cells = sorted(m.split(" = ")[0] for m in msgs)
    assert cells == sorted([
        "Finance › Accounting Interface › Delete", "Finance › Invoicing › Delete",
        "System › Custom Menu Entry › Add", "System › Custom Menu Entry › Edit",
        "System › Custom Menu Entry › Delete", "System › Custom Menu Entry › Inquire",
    ])
    assert run(least_privilege, ROLE_PERMISSIONS, props) == []  # inside Mobius' baseline, only privileged


def test_mobius_waived_rows_are_listed_as_advisory():
    msgs = run(waived_grants, ROLE_PERMISSIONS, published("mobius", []))
    assert len(msgs) == 6
    assert any(m.startswith("WAIVED Finance › Invoicing › Delete = All") and "Jane Admin" in m for m in msgs)
