"""The cwroles policies (no PolicyPack here: that is created in policies/__main__.py only)."""

from __future__ import annotations

import re
import threading
import traceback
from typing import Any, Callable, Mapping, Optional

from pulumi_policy import (EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs,
                           ResourceValidationPolicy, Severity, StackValidationArgs, StackValidationPolicy)
from pulumi_policy.proxy import UnknownValueError

from . import evaluate
from .model import (API_MEMBER, ROLE_PERMISSIONS, SECURITY_ROLE, UNKNOWN, PolicyConfigError, plain, today)
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


class _Failures(threading.local):
    """Errors raised by the pack's policies while checking the current resource (one Analyze call runs every
    policy for one resource on one thread; `cwroles-pack-errors` runs last and reports them as mandatory)."""

    def __init__(self) -> None:
        self.urn: Optional[str] = None
        self.errors: list[tuple[str, str]] = []  # (policy name, cause)

    def record(self, urn: Optional[str], policy: str, cause: str) -> None:
        if urn != self.urn:
            self.urn, self.errors = urn, []
        self.errors.append((policy, cause))

    def take(self, urn: Optional[str]) -> list[tuple[str, str]]:
        errors = self.errors if urn == self.urn else []
        self.urn, self.errors = None, []
        return errors


_failures = _Failures()


def _origin(exc: BaseException) -> str:
    """Where the innermost frame of cwroles that raised is, as 'policies/rules/baseline.py:139'."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        parts = frame.filename.replace("\\", "/").split("/")
        for top in ("policies", "cwroles", "commands", "provider", "stacks"):
            if top in parts:
                i = len(parts) - 1 - parts[::-1].index(top)
                where = "/".join(parts[i:]) + f":{frame.lineno}"
                break
    return where


def error_cause(exc: Exception) -> str:
    """The error in a few words: 'ValueError at policies/rules/baseline.py:138: … is invalid: …'."""
    text = str(exc).strip() or "(no message)"
    if isinstance(exc, PolicyConfigError):
        return f"configuration problem: {text}"
    origin = _origin(exc)
    return f"{type(exc).__name__}{f' at {origin}' if origin else ''}: {text}"


def error_message(policy: str, exc: Exception) -> str:
    """What a policy reports instead of raising: the check did not run, which is a failure, never a pass."""
    if isinstance(exc, PolicyConfigError):
        return f"policy-pack configuration problem: {exc}. See {DOCS}."
    return (f"policy-pack error: {policy} could not check this resource ({error_cause(exc)}), so it is not verified "
            "and counts as a failure. Fix the pack's data (the integration's manifest, policies/privileged.yaml) or its "
            f"configuration; see {DOCS}.")


_PASS_THROUGH: tuple[type[BaseException], ...] = (UnknownValueError,)
try:  # the SDK's "not applicable" signal is a private class; let it through when it exists
    from pulumi_policy.policy import _NotApplicableError  # type: ignore[attr-defined]
    _PASS_THROUGH += (_NotApplicableError,)
except ImportError:  # pragma: no cover - older or newer SDKs
    pass


def _guard(name: str):
    """Fail closed: any error inside a policy becomes a readable violation of that policy (never a traceback
    in the engine, never a silent pass) and is recorded for the mandatory `cwroles-pack-errors`."""

    def wrap(fn: Callable[[Any, ReportViolation], None]):
        def validate(args: Any, report: ReportViolation) -> None:
            try:
                fn(args, report)
            except _PASS_THROUGH:
                raise  # unknown values in preview: the SDK reports "can't run policy during preview"
            except Exception as e:
                report(error_message(name, e))
                _failures.record(getattr(args, "urn", None), name, error_cause(e))

        validate.__name__ = fn.__name__
        validate.__wrapped__ = fn  # type: ignore[attr-defined]
        validate.policy_name = name  # type: ignore[attr-defined]
        return validate

    return wrap


# ---- cwroles-least-privilege ------------------------------------------------------------------
@_guard("cwroles-least-privilege")
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
@_guard("cwroles-privileged-functions")
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
@_guard("cwroles-waived-grants")
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


@_guard("cwroles-broad-writes")
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
@_guard("cwroles-vendor-requirement")
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
@_guard("cwroles-table-setup-allowlist")
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
@_guard("cwroles-admin-role")
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


@_guard("cwroles-api-member-role")
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


# ---- cwroles-pack-errors (mandatory, runs last) ----------------------------------------------
PACK_ERRORS = "cwroles-pack-errors"


def _pack_errors(args: ResourceValidationArgs, report: ReportViolation) -> None:
    errors = _failures.take(args.urn)
    if not errors:
        return
    by_cause: dict[str, list[str]] = {}
    for policy, cause in errors:
        by_cause.setdefault(cause, []).append(policy)
    failed = "; ".join(f"{', '.join(policies)} ({cause})" for cause, policies in by_cause.items())
    report(f"The pack could not check this resource, so it is not verified: {failed}. An error inside the pack is "
           "a failure whatever the failing policy's enforcement level; fix the pack's data (the integration's manifest, "
           f"policies/privileged.yaml) or its configuration named above, then preview again (see {DOCS}).")


pack_errors = ResourceValidationPolicy(
    name=PACK_ERRORS,
    description="Every policy of the pack ran to completion on this resource (an error is a failure, never a pass).",
    validate=_pack_errors,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation_steps="Fix the pack's data or configuration named in the message, then preview again.",
)


# Order matters: the engine runs the policies in this order for each resource, and cwroles-pack-errors must
# come after every policy whose errors it reports.
POLICIES = [least_privilege, privileged_functions, table_setup_allowlist, admin_role, api_member_role, waived_grants,
            broad_writes, vendor_requirement, pack_errors]
