"""The cwroles policies (no PolicyPack here: that is created in policies/__main__.py only)."""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

from pulumi_policy import (EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs,
                           ResourceValidationPolicy, Severity, StackValidationArgs, StackValidationPolicy)

from . import evaluate
from .model import (API_MEMBER, ROLE_PERMISSIONS, SECURITY_ROLE, UNKNOWN, PolicyConfigError, plain, require_known,
                    today)
from .privileged import rules_from_config

PACK_NAME = "cwroles"
DOCS = "docs/policies.md"

TODAY_SCHEMA = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}$",
    "description": "Day waivers are checked against (YYYY-MM-DD); default: $CWROLES_POLICY_TODAY, else today.",
}
EXTRA_PRIVILEGED_SCHEMA = {
    "type": "array",
    "description": "More privileged functions: 'Module › Function' (every level) or "
                   "{function, levels: [add|edit|delete|inquire], reason}.",
    "items": {
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "properties": {
                    "function": {"type": "string"},
                    "levels": {"type": "array", "items": {"type": "string", "enum": ["add", "edit", "delete", "inquire"]}},
                    "reason": {"type": "string"},
                },
                "required": ["function"],
                "additionalProperties": False,
            },
        ]
    },
}
DEFAULT_ADMIN_PATTERN = r"\b(sys)?admin(istrator)?s?\b"


def _config(args: Any) -> Mapping[str, Any]:
    return plain(args.get_config() or {})


def _role_view(args: ResourceValidationArgs) -> evaluate.RoleView | None:
    if args.resource_type != ROLE_PERMISSIONS:
        return None
    return evaluate.role_view(plain(args.props))


def _guard(fn: Callable[[ResourceValidationArgs, ReportViolation], None]):
    """Config mistakes become one readable violation instead of a traceback in the engine."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        try:
            fn(args, report)
        except PolicyConfigError as e:
            report(f"policy-pack configuration problem: {e}. See {DOCS}.")

    validate.__name__ = fn.__name__
    return validate


# ---- cwroles-least-privilege ------------------------------------------------------------------
@_guard
def _least_privilege(args: ResourceValidationArgs, report: ReportViolation) -> None:
    view = _role_view(args)
    if view is None:
        return
    day = today(_config(args))
    findings = evaluate.apply_waivers(evaluate.least_privilege(view), view, day)
    for p in view.waiver_problems:
        report(f"stack config cwroles:waivers: {p}")
    for f in findings:
        if not f.waived:
            report(f.text())


least_privilege = ResourceValidationPolicy(
    name="cwroles-least-privilege",
    description="An integration's role may not exceed the vendor's published requirement "
                "(the integration's manifest).",
    validate=_least_privilege,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(properties={"today": TODAY_SCHEMA}),
    remediation_steps="Remove the grant, turn on the vendor feature it belongs to, or widen the vendor requirement "
                      "(the manifest) with the vendor page as evidence in the same pull request.",
)


# ---- cwroles-privileged-functions -------------------------------------------------------------
@_guard
def _privileged(args: ResourceValidationArgs, report: ReportViolation) -> None:
    view = _role_view(args)
    if view is None:
        return
    config = _config(args)
    findings = evaluate.apply_waivers(evaluate.privileged(view, rules_from_config(config)), view, today(config))
    for f in findings:
        if not f.waived:
            report(f.text())


privileged_functions = ResourceValidationPolicy(
    name="cwroles-privileged-functions",
    description="Grants that let an integration escalate or reach secrets (policies/privileged.yaml, any Delete) "
                "need an explicit, unexpired waiver.",
    validate=_privileged,
    severity=Severity.CRITICAL,
    config_schema=PolicyConfigSchema(properties={"today": TODAY_SCHEMA,
                                                 "extraPrivilegedFunctions": EXTRA_PRIVILEGED_SCHEMA}),
    remediation_steps="Remove the grant, or add a waiver {justification, approved_by, expires} to the grant or to "
                      "stack config cwroles:waivers.",
)


# ---- cwroles-waived-grants (advisory) ---------------------------------------------------------
@_guard
def _waived(args: ResourceValidationArgs, report: ReportViolation) -> None:
    view = _role_view(args)
    if view is None:
        return
    config = _config(args)
    findings = evaluate.least_privilege(view) + evaluate.privileged(view, rules_from_config(config))
    findings = evaluate.apply_waivers(findings, view, today(config))
    by_cell: dict[str, list[evaluate.Finding]] = {}
    for f in findings:
        if f.waived and f.cell is not None:
            by_cell.setdefault(f"{f.cell.where} = {f.cell.value.value}", []).append(f)
    for cell, fs in by_cell.items():
        reasons = "; ".join(dict.fromkeys(f.reason for f in fs))
        report(f"WAIVED {cell} ({reasons}): {fs[0].waiver.describe()}.")


waived_grants = ResourceValidationPolicy(
    name="cwroles-waived-grants",
    description="Grants above policy that a valid waiver accepts (listed for the reviewer).",
    validate=_waived,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    config_schema=PolicyConfigSchema(properties={"today": TODAY_SCHEMA,
                                                 "extraPrivilegedFunctions": EXTRA_PRIVILEGED_SCHEMA}),
)


# ---- cwroles-broad-writes (advisory tier; mandatory per pack config) ---------------------------
MIN_FUNCTIONS_SCHEMA = {
    "type": "integer", "minimum": 2, "default": evaluate.BROAD_WRITES_MIN_FUNCTIONS,
    "description": "Writes on at least this many functions of one module are broad.",
}


@_guard
def _broad_writes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    view = _role_view(args)
    if view is None:
        return
    config = _config(args)
    findings = evaluate.broad_writes(view, rules_from_config(config),
                                     int(config.get("minFunctions") or evaluate.BROAD_WRITES_MIN_FUNCTIONS))
    for f in evaluate.apply_waivers(findings, view, today(config)):
        if not f.waived:
            report(f.text())


broad_writes = ResourceValidationPolicy(
    name="cwroles-broad-writes",
    description="Writes the vendor documents on many functions of one module (none privileged): broad access "
                "for the reviewer to confirm. Advisory unless the pack config makes it mandatory.",
    validate=_broad_writes,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    config_schema=PolicyConfigSchema(properties={"today": TODAY_SCHEMA, "minFunctions": MIN_FUNCTIONS_SCHEMA,
                                                 "extraPrivilegedFunctions": EXTRA_PRIVILEGED_SCHEMA}),
    remediation_steps="Confirm each write with the vendor; narrow the manifest, or waive the grants when the "
                      "policy is mandatory.",
)


# ---- cwroles-vendor-requirement (advisory tier) -------------------------------------------------
@_guard
def _vendor_requirement(args: ResourceValidationArgs, report: ReportViolation) -> None:
    view = _role_view(args)
    if view is None:
        return
    for f in evaluate.vendor_requirement(view):
        report(f.text())


vendor_requirement = ResourceValidationPolicy(
    name="cwroles-vendor-requirement",
    description="The role is widened by its vendor requirement (the integration's manifest) or by a feature "
                "switched on: listed for the reviewer, naming the file.",
    validate=_vendor_requirement,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    remediation_steps="Check the manifest change against the vendor page in the same pull request.",
)


# ---- cwroles-table-setup-allowlist ------------------------------------------------------------
def _table_setup(args: ResourceValidationArgs, report: ReportViolation) -> None:
    view = _role_view(args)
    if view is None:
        return
    granted = [c for c in view.cells if (c.module, c.function) == ("System", "Table Setup")]
    if not granted:
        return
    items = view.customize.get(("System", "Table Setup")) or []
    if items:
        return
    levels = ", ".join(f"{c.level.title()} = {c.value.value}" for c in granted)
    report(f"System › Table Setup ({levels}) has no Customize allow-list, so {view.label} can reach every setup "
           "table of the tenant. List the tables the vendor asks for under customize['System › Table Setup'] "
           "(e.g. 'Service / Service Board').")


table_setup_allowlist = ResourceValidationPolicy(
    name="cwroles-table-setup-allowlist",
    description="System › Table Setup needs a Customize allow-list of setup tables.",
    validate=_table_setup,
    severity=Severity.MEDIUM,
)


# ---- cwroles-admin-role -----------------------------------------------------------------------
@_guard
def _admin_role(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SECURITY_ROLE:
        return
    props = plain(args.props)
    config = _config(args)
    pattern = config.get("adminNamePattern") or DEFAULT_ADMIN_PATTERN
    try:
        rx = re.compile(pattern, re.IGNORECASE)
    except re.error as e:
        raise PolicyConfigError(f"adminNamePattern {pattern!r} is not a regular expression ({e})") from None
    name = props.get("name")
    flag = props.get("admin_flag")
    if flag is True or (isinstance(flag, str) and flag.lower() == "true"):
        report(f"Security role “{name}” has admin_flag set: an API member with it can do everything in "
               "ConnectWise PSA. Integrations get a role with only the vendor's grants; remove admin_flag.")
    if isinstance(name, str) and rx.search(name):
        report(f"Security role “{name}” is named like an administrator role. Integrations must not use or "
               "imitate the Admin role; name the role after the integration (e.g. “MSP Process”).")


admin_role = ResourceValidationPolicy(
    name="cwroles-admin-role",
    description="No administrator security roles for integrations.",
    validate=_admin_role,
    severity=Severity.CRITICAL,
    config_schema=PolicyConfigSchema(properties={"adminNamePattern": {
        "type": "string", "description": "Case-insensitive regex for administrator-like role names.",
        "default": DEFAULT_ADMIN_PATTERN}}),
)


# ---- cwroles-api-member-role (stack) ----------------------------------------------------------
_ROLE_KEYS = ("id", "role_id", "security_role_id", "name")


def _member_role(args: StackValidationArgs, report: ReportViolation) -> None:
    roles = [r for r in args.resources if r.resource_type == SECURITY_ROLE]
    role_urns = {r.urn for r in roles}
    role_values: set[str] = set()
    for r in roles:
        props = plain(r.props)
        for k in _ROLE_KEYS:
            v = props.get(k)
            if v is not None and v is not UNKNOWN and v != "":
                role_values.add(str(v))
    for m in args.resources:
        if m.resource_type != API_MEMBER:
            continue
        props = plain(m.props)
        member = props.get("identifier") or m.name
        role_id = props.get("role_id")
        pdeps = (m.property_dependencies or {}).get("role_id")
        if pdeps and any(d.urn in role_urns for d in pdeps):
            continue
        if role_id is not None and role_id is not UNKNOWN and str(role_id) in role_values:
            continue
        if not pdeps and role_id is UNKNOWN and any(d.urn in role_urns for d in (m.dependencies or [])):
            continue  # the engine gave no per-property dependencies; the member depends on a role of this stack
        if pdeps:
            via = ", ".join(f"{d.resource_type} “{d.name}”" for d in pdeps)
            source = f"its role_id comes from {via}, not from a SecurityRole of this stack"
        elif role_id is None or role_id == "":
            source = "it has no role_id"
        elif role_id is UNKNOWN:
            source = "its role_id is not the output of a SecurityRole of this stack"
        else:
            source = f"its role_id {role_id!r} is not a SecurityRole managed in this stack"
        report(f"API member “{member}” is bound to a role this stack does not manage: {source}. Create the "
               "integration's SecurityRole in the same stack and pass its role_id output to the ApiMember, so "
               "the role's grants are reviewed together with the member.", m.urn)


api_member_role = StackValidationPolicy(
    name="cwroles-api-member-role",
    description="An API member must be bound to a SecurityRole managed in the same stack.",
    validate=_member_role,
    severity=Severity.HIGH,
)


POLICIES = [least_privilege, privileged_functions, table_setup_allowlist, admin_role, api_member_role, waived_grants,
            broad_writes, vendor_requirement]
