"""The pack and a tenant's own catalog entries (RolePermissions ``tenant_catalog``, from a manifest's
``tenant_catalog:``): a grant on a function the bundled catalog lacks is judged like any other, never reported
as an unknown name; without the entry it still is (typos stay caught)."""

from cwroles.manifest import Requirement
from cwroles.policies.rules import least_privilege, privileged_functions

from .policy_helpers import ROLE_PERMISSIONS, grant, role, run

OWN = {"functions": [{"module": "Service Desk", "function": "Ticket Dispatch Rules"}]}
REQ = Requirement(integration="dispatch", title="Dispatch", manifest="integrations/dispatch.yaml", grants=[
    {"module": "Service Desk", "function": "Ticket Dispatch Rules", "levels": {"add": "All"}}]).model_dump()


def props(grants, tenant_catalog=OWN):
    p = {**role("dispatch", grants), "requirement": REQ}
    if tenant_catalog is not None:
        p["tenant_catalog"] = tenant_catalog
    return p


def test_a_tenant_function_within_the_requirement_passes_and_above_it_is_named():
    assert run(least_privilege, ROLE_PERMISSIONS, props([grant("Service Desk › Ticket Dispatch Rules", "A")])) == []
    msgs = run(least_privilege, ROLE_PERMISSIONS, props([grant("Service Desk › Ticket Dispatch Rules", "AI")]))
    assert len(msgs) == 1 and msgs[0].startswith("Service Desk › Ticket Dispatch Rules › Inquire = All is above "
                                                 "Dispatch's published requirement")
    deletes = run(privileged_functions, ROLE_PERMISSIONS, props([grant("Service Desk › Ticket Dispatch Rules", "AD")]))
    assert len(deletes) == 1 and "Ticket Dispatch Rules › Delete = All is privileged" in deletes[0]


def test_without_the_tenant_catalog_the_name_is_unknown():
    msgs = run(least_privilege, ROLE_PERMISSIONS, props([grant("Service Desk › Ticket Dispatch Rules", "A")], None))
    assert len(msgs) == 1 and "unknown function Service Desk › 'Ticket Dispatch Rules'" in msgs[0]


def test_a_stack_waiver_can_name_a_tenant_s_own_function():
    waiver = {"module": "Service Desk", "function": "Ticket Dispatch Rules", "level": "inquire",
              "justification": "the vendor reads rules back", "approved_by": "ops", "expires": "2099-12-31"}
    p = {**props([grant("Service Desk › Ticket Dispatch Rules", "AI")]), "waivers": [waiver]}
    # the waiver is read with the same catalog as the grants (it was reported as an unknown name and never applied)
    assert run(least_privilege, ROLE_PERMISSIONS, p) == []
