"""Severity tiers: privileged and above-requirement grants are mandatory; broad but vendor-documented writes
and a widened vendor requirement are advisory (a pack config can make them mandatory); the report groups
findings by tier. A project's own manifest is judged as strictly as the built-in ones."""

from __future__ import annotations

import json

from cwroles.manifest import Requirement
from cwroles.policies import report
from cwroles.policies.rules import broad_writes, least_privilege, privileged_functions, vendor_requirement

from .policy_helpers import ROLE_PERMISSIONS, grant, role, run, urn, waiver

MSP_WRITES = [grant("Companies › Contacts", "AEI"), grant("Companies › Notes", "AEI"),
              grant("Companies › Manage Attachments", "AI")]
ACME = Requirement(integration="acme-rmm", title="Acme RMM", manifest="integrations/acme-rmm.yaml",
                   vendor_page="docs/acme.txt", features={"ticket-sync": "only if Acme opens tickets"}, grants=[
                       {"module": "Companies", "function": "Company Maintenance", "levels": {"inquire": "All"}},
                       {"module": "Service Desk", "function": "Service Tickets", "levels": {"inquire": "All"}},
                       {"module": "Service Desk", "function": "Service Tickets", "levels": {"add": "All", "edit": "All"},
                        "feature": "ticket-sync"},
                   ]).model_dump()


def acme(grants, features=(), widening=None, **kw):
    return {**role("acme-rmm", grants, features=features, **kw), "requirement": ACME, "widening": widening}


# ---- broad writes ---------------------------------------------------------------------------------------
def test_broad_vendor_documented_writes_are_reported_by_module():
    [msg] = run(broad_writes, ROLE_PERMISSIONS, role("msp-process", MSP_WRITES))
    assert msg.startswith("Companies: role “Test Role” writes on 3 functions (Contacts (Add/Edit), Notes (Add/Edit), "
                          "Manage Attachments (Add)), as MSP Process's requirement in "
                          "cwroles/data/integrations/msp-process.yaml documents.")
    assert run(least_privilege, ROLE_PERMISSIONS, role("msp-process", MSP_WRITES)) == []  # inside the requirement


def test_broad_writes_threshold_is_configurable_and_waivers_accept_it():
    props = role("msp-process", MSP_WRITES[:2])
    assert run(broad_writes, ROLE_PERMISSIONS, props) == []
    assert len(run(broad_writes, ROLE_PERMISSIONS, props, config={"minFunctions": 2})) == 1
    waived = [{**g, "waiver": waiver()} for g in MSP_WRITES]
    assert run(broad_writes, ROLE_PERMISSIONS, role("msp-process", waived)) == []
    partly = [{**MSP_WRITES[0], "waiver": waiver()}, *MSP_WRITES[1:]]
    assert len(run(broad_writes, ROLE_PERMISSIONS, role("msp-process", partly))) == 1


def test_privileged_and_above_requirement_writes_are_not_broad_writes_but_mandatory():
    grants = [grant("Companies › Contacts", "AEI"), grant("Companies › Notes", "AEDI"),
              grant("Companies › Team Members", "AI")]  # Delete: privileged; Team Members Add: above the requirement
    assert run(broad_writes, ROLE_PERMISSIONS, role("msp-process", grants)) == []
    assert len(run(privileged_functions, ROLE_PERMISSIONS, role("msp-process", grants))) == 1
    assert len(run(least_privilege, ROLE_PERMISSIONS, role("msp-process", grants))) == 2  # Notes Delete, Team Add


# ---- a project's own manifest ----------------------------------------------------------------------------
def test_a_project_manifest_is_the_ceiling_and_names_its_file():
    assert run(least_privilege, ROLE_PERMISSIONS, acme([grant("Companies › Company Maintenance", "I")])) == []
    [msg] = run(least_privilege, ROLE_PERMISSIONS, acme([grant("Service Desk › Service Tickets", "AI")]))
    assert "is only part of Acme RMM's requirement with feature 'ticket-sync'" in msg
    assert run(least_privilege, ROLE_PERMISSIONS, acme([grant("Service Desk › Service Tickets", "AI")],
                                                       features=["ticket-sync"])) == []
    extra = {**grant("Companies › Company Maintenance", "EI"), "origin": "Pulumi.acme.yaml › cwroles:extraGrants[0]"}
    [msg] = run(least_privilege, ROLE_PERMISSIONS, acme([extra]))
    assert msg == ("Companies › Company Maintenance › Edit = All is above Acme RMM's published requirement (Edit "
                   "ceiling: None). It is an MSP addition in Pulumi.acme.yaml › cwroles:extraGrants[0]: remove it "
                   "there, waive it, or, if Acme RMM now asks for it, widen the vendor requirement in "
                   "integrations/acme-rmm.yaml in the same pull request (cite the vendor page).")


# ---- the vendor requirement changed --------------------------------------------------------------------
def test_a_new_role_from_a_project_manifest_is_listed_for_review():
    [msg] = run(vendor_requirement, ROLE_PERMISSIONS, acme([grant("Companies › Company Maintenance", "I")]))
    assert msg == ("role “Test Role” is new: its 1 grants come from the vendor requirement in "
                   "integrations/acme-rmm.yaml. Review that file against the vendor page (docs/acme.txt) in this "
                   "pull request.")
    assert run(vendor_requirement, ROLE_PERMISSIONS, role("mobius", [])) == []  # built-in: reviewed upstream


def test_widening_by_the_manifest_and_by_a_feature_and_by_the_stack_are_told_apart():
    widening = {"cells": [
        {"module": "Companies", "function": "Company Maintenance", "level": "inquire", "was": "None", "now": "All"},
        {"module": "Service Desk", "function": "Service Tickets", "level": "add", "was": "None", "now": "All"},
        {"module": "Finance", "function": "Invoicing", "level": "add", "was": "None", "now": "All",
         "origin": "Pulumi.acme.yaml › cwroles:extraGrants[0]"},
    ], "features_added": ["ticket-sync"]}
    grants = [grant("Companies › Company Maintenance", "I"), grant("Service Desk › Service Tickets", "AI"),
              {**grant("Finance › Invoicing", "A"), "origin": "Pulumi.acme.yaml › cwroles:extraGrants[0]"}]
    msgs = run(vendor_requirement, ROLE_PERMISSIONS, acme(grants, features=["ticket-sync"], widening=widening))
    assert msgs == [
        "role “Test Role” is widened by a change to the vendor requirement in integrations/acme-rmm.yaml: "
        "Companies › Company Maintenance › Inquire: None → All. Check the change against the vendor page "
        "(docs/acme.txt) in this pull request.",
        "role “Test Role” is widened by feature 'ticket-sync' switched on in stack config cwroles:features (part of "
        "Acme RMM's requirement in integrations/acme-rmm.yaml): Service Desk › Service Tickets › Add: None → All."]
    # the MSP addition is least privilege's, mandatory, naming the stack file
    [lp] = run(least_privilege, ROLE_PERMISSIONS, acme(grants, features=["ticket-sync"], widening=widening))
    assert "It is an MSP addition in Pulumi.acme.yaml › cwroles:extraGrants[0]" in lp
    assert run(vendor_requirement, ROLE_PERMISSIONS, acme(grants, widening={"cells": [], "features_added": []})) == []


# ---- the report groups findings by tier ------------------------------------------------------------------
def _event(policy, level, detail, name="acme-rmm-permissions"):
    return json.dumps({"policyEvent": {"resourceUrn": urn(ROLE_PERMISSIONS, name), "message": f"desc\n{detail}",
                                       "policyName": policy, "policyPackName": "cwroles", "enforcementLevel": level}})


def test_report_groups_findings_by_tier():
    log = "\n".join([
        _event("cwroles-broad-writes", "advisory", "Companies: role writes on 3 functions"),
        _event("cwroles-least-privilege", "mandatory", "Finance › Invoicing › Add = All is above …"),
        _event("cwroles-vendor-requirement", "advisory", "role is widened by a change to the vendor requirement"),
        _event("cwroles-admin-role", "mandatory", "Security role “Admin”", name="acme-rmm-role"),
    ])
    md = report.markdown(report.parse(log))
    mandatory, advisory = md.index("### ❌ Mandatory: block this pull request"), md.index("### ⚠️ Advisory")
    assert mandatory < advisory
    assert md.index("`cwroles-least-privilege`") < advisory and md.index("`cwroles-admin-role`") < advisory
    assert md.index("`cwroles-broad-writes`") > advisory and md.index("`cwroles-vendor-requirement`") > advisory
    # a resource with findings in both tiers appears in each, with that tier's count
    assert "#### `RolePermissions acme-rmm-permissions` — ❌ 1 mandatory" in md
    assert "#### `RolePermissions acme-rmm-permissions` — ⚠️ 2 advisory" in md
