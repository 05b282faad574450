"""cwroles-table-setup-allowlist and cwroles-admin-role."""

import pytest

from cwroles.policies.rules import admin_role, table_setup_allowlist
from .policy_helpers import ROLE_PERMISSIONS, SECURITY_ROLE, UNKNOWN_STRING, grant, role, run

TS = [grant("System › Table Setup", "I")]


@pytest.mark.parametrize("customize", [None, {}, {"System › Table Setup": []}])
def test_table_setup_without_allow_list(customize):
    msgs = run(table_setup_allowlist, ROLE_PERMISSIONS, role("managed-backup", TS, customize=customize))
    assert msgs == ["System › Table Setup (Inquire = All) has no Customize allow-list, so role “Test Role” can reach "
                    "every setup table of the tenant. List the tables the vendor asks for under "
                    "customize['System › Table Setup'] (e.g. 'Service / Service Board')."]


def test_table_setup_with_allow_list_or_without_grant_passes():
    cz = {"System › Table setup": ["Service / Service Board"]}
    assert run(table_setup_allowlist, ROLE_PERMISSIONS, role("managed-backup", TS, customize=cz)) == []
    assert run(table_setup_allowlist, ROLE_PERMISSIONS, role("managed-backup", [grant("Companies › Contacts", "I")])) == []
    # a My-level grant needs the list too
    msgs = run(table_setup_allowlist, ROLE_PERMISSIONS, role("managed-backup", [grant("System › Setup Tables", "I", "My")]))
    assert len(msgs) == 1 and "(Inquire = My)" in msgs[0]


def sr(name, admin_flag=False):
    return {"__provider": "x", "name": name, "role_type": "Custom", "admin_flag": admin_flag}


def test_admin_flag_is_a_violation():
    msgs = run(admin_role, SECURITY_ROLE, sr("MSP Process", True))
    assert msgs == ["Security role “MSP Process” has admin_flag set: an API member with it can do everything in "
                    "ConnectWise PSA. Integrations get a role with only the vendor's grants; remove admin_flag."]


@pytest.mark.parametrize("name", ["Admin", "administrator", "Mobius Admin", "SysAdmin", "API Admins"])
def test_admin_like_names(name):
    msgs = run(admin_role, SECURITY_ROLE, sr(name))
    assert len(msgs) == 1 and f"“{name}” is named like an administrator role" in msgs[0]


@pytest.mark.parametrize("name", ["MSP Process", "Mobius", "API", "Badminton Sync", "Administration Feed"])
def test_ordinary_names_pass(name):
    assert run(admin_role, SECURITY_ROLE, sr(name)) == []


def test_admin_pattern_from_config_and_bad_pattern():
    assert run(admin_role, SECURITY_ROLE, sr("Root"), config={"adminNamePattern": "^root$"})
    msgs = run(admin_role, SECURITY_ROLE, sr("x"), config={"adminNamePattern": "(("})
    assert len(msgs) == 1 and msgs[0].startswith("policy-pack configuration problem: adminNamePattern '((' is not")


def test_unknown_name_in_preview_does_not_crash():
    assert run(admin_role, SECURITY_ROLE, sr(UNKNOWN_STRING)) == []
