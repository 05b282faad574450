"""cwroles-least-privilege: grants and allow-lists above the pack's baseline for the integration."""

import pytest
from pulumi_policy.proxy import UnknownValueError

from cwroles.manifest import Requirement
from cwroles.policies.rules import least_privilege
from .policy_helpers import ROLE_PERMISSIONS, UNKNOWN_ARRAY, grant, role, run

TABLES = {"System › Table Setup": ["Service / Service Board"]}


def lp(props, **kw):
    return run(least_privilege, ROLE_PERMISSIONS, props, **kw)


def test_grant_within_baseline_passes_and_my_below_all_passes():
    assert lp(role("managed-backup", [grant("Service Desk › Service Tickets", "AEI")])) == []
    assert lp(role("managed-backup", [grant("Service Desk › Service Tickets", "AEI", value="My")])) == []


def test_level_above_ceiling_names_function_level_and_ceiling():
    msgs = lp(role("managed-backup", [grant("Service Desk › Close Service Tickets", "AEI")]))
    assert msgs == [
        "Service Desk › Close Service Tickets › Add = All is above MSP360 Managed Backup's published requirement "
        "(Add ceiling: None). Remove it, or, if MSP360 Managed Backup now asks for it, widen the vendor requirement in "
        "cwroles/data/integrations/managed-backup.yaml in the same pull request (cite the vendor page)."
    ]


def test_function_the_vendor_does_not_list():
    msgs = lp(role("msp-process", [grant("Sales › Opportunity", "I", value="My")]))
    assert len(msgs) == 1
    assert msgs[0].startswith("Sales › Opportunity › Inquire = My: MSP Process's published requirement does not "
                              "list Sales › Opportunity at all")


MY_VENDOR = Requirement(integration="my-vendor", title="My Vendor", manifest="integrations/my-vendor.yaml", grants=[
    {"module": "Service Desk", "function": "Service Tickets", "levels": {"inquire": "My", "edit": "My"}}]).model_dump()


def my_vendor(grants):
    """A role of a project's own manifest whose vendor asks for My (none of the three pages does)."""
    return {**role("my-vendor", grants), "requirement": MY_VENDOR}


def test_all_where_vendor_asks_my_is_a_violation():
    assert lp(my_vendor([grant("Service Desk › Service Tickets", "EI", value="My")])) == []
    msgs = lp(my_vendor([grant("Service Desk › Service Tickets", "I", value="All")]))
    assert len(msgs) == 1 and "Service Tickets › Inquire = All is above My Vendor's" in msgs[0]
    assert "(Inquire ceiling: My)" in msgs[0]


def test_alias_spelling_resolves_and_violations_use_catalog_names():
    ok = role("msp-process", [grant("Service Desk › Service Ticket - Dependancies", "AEI")])
    assert lp(ok) == []
    bad = role("msp-process", [grant("Service Desk › Service Ticket - Dependancies", "D")])
    msgs = lp(bad)
    assert len(msgs) == 1 and msgs[0].startswith("Service Desk › Service Ticket - Dependencies › Delete = All")


def test_unknown_function_says_so_with_closest_entries():
    msgs = lp(role("msp-process", [grant("Service Desk › Service Tix", "I")]))
    assert len(msgs) == 1
    assert msgs[0].startswith("grants[0]: unknown function Service Desk › 'Service Tix'; closest catalog entries: "
                              "'Service Tickets'")
    assert msgs[0].endswith("(the pack checks a grant only when it names a ConnectWise function)")


def test_invalid_level_is_reported_and_checked_as_all():
    g = grant("Companies › Contacts", "", inquire="Everything")
    msgs = lp(role("managed-backup", [g]))
    assert any("'Everything' is not a level" in m for m in msgs)


def test_feature_conditional_grant_on_and_off():
    g = [grant("Finance › Invoicing", "I")]
    off = lp(role("msp-process", g))
    assert len(off) == 1 and "feature 'invoices-tab'" in off[0] and "is off" in off[0]
    assert lp(role("msp-process", g, features=["invoices-tab"])) == []
    # the feature allows exactly the vendor's row, nothing more
    more = lp(role("msp-process", [grant("Finance › Invoicing", "EI")], features=["invoices-tab"]))
    assert len(more) == 1 and "Finance › Invoicing › Edit = All is above" in more[0]


def test_unknown_feature_name():
    msgs = lp(role("msp-process", [], features=["time-entry"]))
    assert msgs == ["feature(s) ['time-entry'] are not features of MSP Process (it has: configuration-links, "
                    "invoices-tab, time-entries); fix the stack config's features"]


def test_customize_item_beyond_allow_list():
    cz = {"System › Table Setup": ["Service / Service Board", "Company / Country"]}
    msgs = lp(role("managed-backup", [grant("System › Table Setup", "I")], customize=cz))
    assert msgs == ["System › Table Setup › Customize allows “Company / Country”, which is not on MSP360 Managed "
                    "Backup's published allow-list. Remove it, or add it to the vendor requirement in "
                    "cwroles/data/integrations/managed-backup.yaml in the same pull request."]


def test_customize_item_spellings_resolve():
    cz = {"System > Setup Tables": ["Service/ Service Board"]}
    assert lp(role("managed-backup", [grant("System › Table Setup", "I")], customize=cz)) == []


def test_role_without_integration_is_checked_against_an_empty_baseline():
    msgs = lp(role(None, [grant("Companies › Contacts", "I")]))
    assert len(msgs) == 1
    assert msgs[0].startswith("Companies › Contacts › Inquire = All is not allowed: role “Test Role” names no "
                              "integration")
    assert "msp-process" in msgs[0]
    assert lp(role(None, [])) == []


def test_unknown_integration_lists_known_ones():
    msgs = lp(role("halo", [grant("Companies › Contacts", "I")]))
    assert len(msgs) == 1 and "has integration 'halo', which has no manifest the pack can read" in msgs[0]
    assert "managed-backup, mobius, msp-process" in msgs[0]


def test_other_resource_types_are_ignored():
    assert run(least_privilege, "pulumi-python:dynamic/connectwise:SecurityRole", {"name": "x"}) == []


def test_unknown_grants_in_preview_raise_the_sdk_unknown_error():
    props = role("msp-process", [])
    props["grants"] = UNKNOWN_ARRAY
    with pytest.raises(UnknownValueError):
        lp(props)
