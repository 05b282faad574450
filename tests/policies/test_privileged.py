"""cwroles-privileged-functions: escalation and secrets need a waiver."""

import pytest

from cwroles.policies.rules import privileged_functions
from .policy_helpers import ROLE_PERMISSIONS, grant, role, run


def priv(grants, config=None, integration="msp-process", **kw):
    return run(privileged_functions, ROLE_PERMISSIONS, role(integration, grants, **kw), config=config)


@pytest.mark.parametrize("where,ok,bad", [
    ("System › Member Maintenance", "I", "E"),
    ("System › My Company", "I", "A"),
    ("System › Table Setup", "I", "E"),
])
def test_inquire_is_fine_beyond_inquire_is_privileged(where, ok, bad):
    assert priv([grant(where, ok)]) == []
    msgs = priv([grant(where, bad, value="My")])
    assert len(msgs) == 1 and msgs[0].startswith(f"{where} › ") and " = My is privileged (" in msgs[0]
    assert "waiver {justification, approved_by, expires: YYYY-MM-DD}" in msgs[0]


@pytest.mark.parametrize("where", ["System › Security", "System › Manage Hosted API", "System › Custom Menu Entry",
                                   "System › Mass Maintenance", "Companies › Configuration – Display Passwords"])
def test_any_level_is_privileged(where, ):
    msgs = priv([grant(where, "I", value="My")])
    assert len(msgs) == 1 and "Inquire = My is privileged" in msgs[0]


def test_security_roles_alias_and_reason():
    msgs = priv([grant("System › Security Roles", "I")])
    assert msgs[0].startswith("System › Security › Inquire = All is privileged (edits security roles")


def test_any_delete_is_privileged():
    msgs = priv([grant("Service Desk › Service Tickets", "DI", value="My")])
    assert len(msgs) == 1 and msgs[0].startswith("Service Desk › Service Tickets › Delete = My is privileged "
                                                 "(Delete removes records for good")


def test_extra_privileged_functions_from_config():
    g = [grant("Finance › Invoicing", "I")]
    assert priv(g) == []
    cfg = {"extraPrivilegedFunctions": ["Finance › Invoicing"]}
    assert len(priv(g, cfg)) == 1
    cfg = {"extraPrivilegedFunctions": [{"function": "Finance > Invoicing", "levels": ["edit"], "reason": "money"}]}
    assert priv(g, cfg) == []
    msgs = priv([grant("Finance › Invoicing", "EI")], cfg)
    assert msgs == [msgs[0]] and "Edit = All is privileged (money)" in msgs[0]


def test_bad_extra_privileged_config_is_one_readable_violation():
    msgs = priv([], {"extraPrivilegedFunctions": ["Finance › Invoicng"]})
    assert len(msgs) == 1 and msgs[0].startswith("policy-pack configuration problem: policy config "
                                                 "extraPrivilegedFunctions: unknown function Finance › 'Invoicng'")
