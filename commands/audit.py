"""``cwroles audit``: every security role and API member of a tenant, judged by the policy pack's rules.

Read-only. The rules are the pack's own (``cwroles.policies.rules``): privileged functions and any Delete
(``privileged.yaml``), administrator roles, System › Table Setup without an allow-list, grants above the
vendor's published requirement (an integration's manifest), API members on roles that grant more than
their integration needs; plus what only a live tenant shows: inactive API members still bound to a role.

A role is an *integration role* when an API member holds it or it maps to an integration (built-in, the
project's own manifest, a stack file, or ``--map``); those are judged. Roles only people use (Admin,
Technician …) are listed with what they grant as notes, unless ``--all-roles``.

Requests: the role list, the API member list, the caller's identity, and one settings page per role:
``R + 3`` for ``R`` roles (+1 codebase discovery). ``--customize`` also reads the allow-lists of each
integration role through an active API member holding it (2 requests per such role).
Exit 0: clean; 2: findings; 1: the tenant could not be read (completely).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

import typer
import yaml

from cwroles.catalog import LEVEL_NAMES
from cwroles.catalog_extras import CatalogExtras, ExtraFunction, catalog_for
from cwroles.grid import Level
from cwroles.manifest import Integrations, Manifest, Requirement, find_project_root
from cwroles.names import join_function
from cwroles.policies.rules import evaluate
from cwroles.policies.rules.model import GrantCell, WaiverInfo, parse_stack_waivers
from cwroles.policies.rules.pack import DEFAULT_ADMIN_PATTERN
from cwroles.policies.rules.privileged import PrivilegedRule, default_rules
from cwroles.provider import ApiMemberModel, ConnectWiseError
from cwroles.provider.tenant import RoleReading, TenantReading, customize_lists, read_customize, read_tenant

from . import _audit_reports as reports
from ._reports import write_text
from ._common import console, err, fail
from ._tenant import DIR_HELP, STACK_HELP, Connection, connect, read_failed, status

TABLE_SETUP = ("System", "Table Setup")
SCHEMA = "cwroles-audit"
RULES = {
    "cwroles-admin-role": "An integration's security role must not be an administrator role (adminFlag, or named "
                          "like one).",
    "cwroles-privileged-functions": "Grants that let an integration escalate or reach secrets (policies/privileged.yaml) "
                                    "and any Delete need a vendor requirement with a waiver.",
    "cwroles-least-privilege": "An integration's role may not exceed the vendor's published requirement (its manifest).",
    "cwroles-table-setup-allowlist": "System › Table Setup needs a Customize allow-list of setup tables.",
    "cwroles-no-requirement": "An API member's role maps to no integration, so nothing says what it needs.",
    "cwroles-api-member-role": "An API member must hold a role that grants no more than its integration needs.",
    "cwroles-inactive-member": "A deactivated API member still bound to a role keeps its API keys (ConnectWise's API "
                               "does not list them).",
    "cwroles-tenant-function": "A settings row whose function cwroles' bundled catalog lacks (shown under its live name).",
    "cwroles-unread": "A role whose settings could not be read: not judged.",
}
LEVELS = ("error", "warning", "note")  # error and warning are findings (exit 2); notes are shown, not counted


@dataclass
class Finding:
    rule: str
    level: str  # error | warning | note
    where: str  # "Module › Function › Level", or what the finding concerns
    message: str
    module: Optional[str] = None
    function: Optional[str] = None
    verb: Optional[str] = None  # add | edit | delete | inquire
    value: Optional[str] = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "level": self.level, "where": self.where, "message": self.message}
        if self.module:
            out.update(module=self.module, function=self.function, level_name=self.verb, value=self.value)
        return out


@dataclass
class RoleMapping:
    """Which integration a role maps to, and how that was decided."""

    integration: str
    manifest: Manifest
    by: str  # "--map", "stack Pulumi.x.yaml", "role name"
    features: Optional[set[str]] = None  # None: every feature (the most the vendor publishes)
    waivers: list = field(default_factory=list)  # stack waivers (policies.rules.model.StackWaiver)


@dataclass
class RoleAudit:
    id: int
    name: str
    admin_flag: bool
    members: list[ApiMemberModel]
    mapping: Optional[RoleMapping]
    scope: str  # "integration" | "people" | "provisioning"
    granted: int = 0
    tenant_functions: list[str] = field(default_factory=list)
    customize: Optional[dict[str, list[str]]] = None  # None: not read
    findings: list[Finding] = field(default_factory=list)
    unread: Optional[str] = None

    @property
    def verdict(self) -> str:
        if self.unread:
            return "error"
        if any(f.level in ("error", "warning") for f in self.findings):
            return "findings"
        return "clean"

    def counts(self) -> dict[str, int]:
        return {lv: sum(1 for f in self.findings if f.level == lv) for lv in LEVELS}


@dataclass
class MemberAudit:
    member: ApiMemberModel
    role: Optional[RoleAudit]
    findings: list[Finding] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return "findings" if any(f.level in ("error", "warning") for f in self.findings) else "clean"


@dataclass
class Audit:
    tenant: str
    roles: list[RoleAudit]
    members: list[MemberAudit]
    caller: Optional[str]
    requests: int
    customize_read: bool
    generated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).replace(microsecond=0))

    @property
    def errors(self) -> list[RoleAudit]:
        return [r for r in self.roles if r.unread]

    def findings(self) -> list[Finding]:
        return [f for r in self.roles for f in r.findings] + [f for m in self.members for f in m.findings]

    @property
    def exit_code(self) -> int:
        if self.errors:
            return 1
        return 2 if any(f.level in ("error", "warning") for f in self.findings()) else 0


# ---- mapping roles to integrations ---------------------------------------------------------------------------
def _norm(name: str) -> str:
    return " ".join(str(name).split()).casefold()


def _map_options(values: list[str], map_file: Optional[Path]) -> dict[str, str]:
    out: dict[str, str] = {}
    if map_file is not None:
        try:
            doc = yaml.safe_load(map_file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            fail(f"--map-file {map_file}: cannot read it ({e})")
        roles = doc.get("roles", doc) if isinstance(doc, dict) else None
        if not isinstance(roles, dict) or not all(isinstance(v, str) for v in roles.values()):
            fail(f"--map-file {map_file}: write one `Role name: integration` per line (under `roles:` or at the top)")
        out.update({_norm(str(k)): v.strip() for k, v in roles.items()})
    for v in values:
        role, sep, integration = v.rpartition("=")
        if not sep or not role.strip() or not integration.strip():
            fail(f"--map {v!r}: write ROLE=INTEGRATION, e.g. --map 'Legacy RMM=legacy-rmm'")
        out[_norm(role)] = integration.strip()
    return out


def _stack_roles(root: Optional[Path], integrations: Integrations) -> dict[str, RoleMapping]:
    """Role name → the integration a stack file of the project declares for it (with its features and waivers)."""
    out: dict[str, RoleMapping] = {}
    if root is None:
        return out
    for path in sorted(root.glob("Pulumi.*.yaml")):
        try:
            config = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("config") or {}
        except (OSError, yaml.YAMLError, AttributeError):
            continue
        integration, manifest = config.get("cwroles:integration"), config.get("cwroles:manifest")
        found = (integrations.by_path(str(manifest)) if manifest else
                 integrations.get(str(integration)) if integration else None)
        if found is None or found.manifest is None or not found.ok:
            continue
        name = config.get("cwroles:roleName") or found.manifest.role.name
        features = config.get("cwroles:features") or []
        feats = {str(f).strip() for f in (features if isinstance(features, list) else str(features).split(","))
                 if str(f).strip()}
        waivers, _ = parse_stack_waivers(config.get("cwroles:waivers") if isinstance(config.get("cwroles:waivers"), list)
                                         else None)
        out.setdefault(_norm(str(name)), RoleMapping(found.manifest.integration, found.manifest, f"stack {path.name}",
                                                  feats | found.manifest.default_features(), waivers))
    return out


def map_roles(names: Iterable[str], integrations: Integrations, explicit: dict[str, str],
              stacks: dict[str, RoleMapping]) -> dict[str, Optional[RoleMapping]]:
    by_role: dict[str, list[Manifest]] = {}
    for f in integrations.files:
        if f.ok and f.manifest is not None:
            by_role.setdefault(_norm(f.manifest.role.name), []).append(f.manifest)
    out: dict[str, Optional[RoleMapping]] = {}
    for name in names:
        key = _norm(name)
        if key in explicit:
            found = integrations.get(explicit[key])
            if found is None or found.manifest is None or not found.ok:
                fail(f"--map {name}={explicit[key]}: cwroles knows no integration {explicit[key]!r}; choose one of: "
                     f"{', '.join(integrations.names())}", code=2)
            out[name] = RoleMapping(found.manifest.integration, found.manifest, "--map")
        elif key in stacks:
            out[name] = stacks[key]
        elif len(by_role.get(key, [])) == 1:
            m = by_role[key][0]
            out[name] = RoleMapping(m.integration, m, "role name")
        else:
            out[name] = None
    unknown = [k for k in explicit if k not in {_norm(n) for n in names}]
    if unknown:
        fail(f"--map names role(s) the tenant does not have: {', '.join(unknown)}", code=2)
    return out


# ---- judging ---------------------------------------------------------------------------------------------------
def _cells(reading: RoleReading, catalog=None) -> list[GrantCell]:
    """Every granted cell; names in the catalog's spelling (the mapped manifest's, with its tenant_catalog)."""
    out = []
    for (module, function), levels in reading.grid(catalog).items():
        for n in LEVEL_NAMES:
            lv = levels[n]
            if lv is not Level.NONE:
                out.append(GrantCell(module, function, n, lv, resolved=True))
    return out


def _vendor_waivers(cells: list[GrantCell], mapping: RoleMapping, enabled: set[str]) -> None:
    """A vendor's waiver (on its manifest grant) covers a live cell only up to what the vendor asked for."""
    catalog = mapping.manifest.catalog()
    merged = {m.key: m for m in mapping.manifest.merged(enabled, catalog)}
    for c in cells:
        m = merged.get((c.module, c.function))
        if m is None or c.value.rank > m.levels[c.level].rank:  # type: ignore[index]
            continue
        w = m.waiver or next((w for n, w in m.scoped_waivers if n == c.level), None)
        if w is not None:
            c.waiver = WaiverInfo(w.justification, w.approved_by, w.expires, f"vendor waiver in {mapping.manifest.path}")


def _finding(rule: str, level: str, f: evaluate.Finding, text: str) -> Finding:
    cell = f.cell
    if cell is None:
        return Finding(rule, level, "allow-list" if "Customize" in f.message else "role", f.message)
    note = f" ({f.waiver_note})" if f.waiver_note else ""
    return Finding(rule, level, cell.where, f"{cell.where} = {cell.value.value}: {text}{note}", cell.module,
                   cell.function, cell.level, cell.value.value)


def judge_role(reading: RoleReading, members: list[ApiMemberModel], mapping: Optional[RoleMapping], scope: str,
               rules: list[PrivilegedRule], day: dt.date, admin_rx: re.Pattern[str],
               customize: Optional[dict[str, list[str]]] = None) -> RoleAudit:
    audit = RoleAudit(reading.id, reading.name, bool(reading.role.admin_flag), members, mapping, scope,
                      customize=customize)
    cells = _cells(reading, mapping.manifest.catalog() if mapping else None)
    audit.granted = len(cells)
    own = reading.tenant_rows()
    audit.tenant_functions = [join_function(s.module_name, s.module_function_name) for s in own]
    judged = scope == "integration"
    level = "error" if judged else "note"
    why_note = {"people": " (no API member holds this role: not an integration role)",
                "provisioning": " (the role of the API member whose keys this audit uses: cwroles needs these rights)",
                }.get(scope, "")
    enabled: set[str] = set()
    if mapping is not None:  # a stack's features, else every feature: the most the vendor publishes
        enabled = mapping.features if mapping.features is not None else {f.name for f in mapping.manifest.features}
    if mapping is not None:
        _vendor_waivers(cells, mapping, enabled)
    req: Requirement = mapping.manifest.requirement() if mapping else evaluate.requirement_for(None, None)[0]
    lists = {tuple(k.split(" › ", 1)): v for k, v in (customize or {}).items()}
    view = evaluate.RoleView(reading.name, mapping.integration if mapping else None, enabled, cells, [], lists,  # type: ignore[arg-type]
                             [], mapping.waivers if mapping else [], requirement=req,
                             requirement_why="" if mapping else "maps to no integration")
    # administrator roles
    if reading.role.admin_flag or admin_rx.search(reading.name):
        what = ("has adminFlag set: an API member with it can do everything in ConnectWise PSA"
                if reading.role.admin_flag else "is named like an administrator role")
        audit.findings.append(Finding("cwroles-admin-role", level, "role", f"Security role “{reading.name}” {what}."
                                      f"{why_note}"))
    # above the vendor's requirement
    if mapping is not None:
        for f in evaluate.apply_waivers(evaluate.least_privilege(view), view, day):
            lv = "note" if f.waived else level
            text = f"{f.reason}" + (" — waived" if f.waived else "")
            audit.findings.append(_finding("cwroles-least-privilege", lv, f, text or "above the requirement"))
    elif judged and cells:
        audit.findings.append(Finding(
            "cwroles-no-requirement", "warning", "role",
            f"Role “{reading.name}” grants {len(cells)} cell(s) to API member(s) "
            f"{', '.join(m.identifier for m in members) or '—'} but maps to no integration, so nothing says what they "
            "need. Map it (--map 'ROLE=INTEGRATION', or a stack file) or bring it under management "
            f"(`cwroles export --role {reading.name!r}`)."))
    # privileged functions and Delete
    for f in evaluate.apply_waivers(evaluate.privileged(view, rules), view, day):
        lv = "note" if f.waived else level
        text = f.reason + (" — waived" if f.waived else "") + why_note
        audit.findings.append(_finding("cwroles-privileged-functions", lv, f, text))
    # Table Setup without an allow-list
    table = [c for c in cells if (c.module, c.function) == TABLE_SETUP]
    if table:
        levels = ", ".join(f"{c.level.title()} = {c.value.value}" for c in table)
        items = (customize or {}).get(join_function(*TABLE_SETUP))
        if customize is None:
            if judged:
                audit.findings.append(Finding(
                    "cwroles-table-setup-allowlist", "note", join_function(*TABLE_SETUP),
                    f"System › Table Setup ({levels}) is granted; its Customize allow-list was not read (run the audit "
                    "with --customize: ConnectWise reads it only through an API member holding the role)."))
        elif not items:
            audit.findings.append(Finding(
                "cwroles-table-setup-allowlist", level, join_function(*TABLE_SETUP),
                f"System › Table Setup ({levels}) has no Customize allow-list, so the role reaches every setup table of "
                f"the tenant.{why_note}"))
    for name in audit.tenant_functions:
        granted = [c for c in cells if join_function(c.module, c.function) == name]
        if granted:
            audit.findings.append(Finding(
                "cwroles-tenant-function", "note", name,
                f"{name} ({', '.join(f'{c.level.title()} = {c.value.value}' for c in granted)}) is a function cwroles' "
                "bundled catalog lacks; shown under its live name (`cwroles catalog diff` lists every such entry)."))
    return audit


def judge_member(m: ApiMemberModel, role: Optional[RoleAudit]) -> MemberAudit:
    out = MemberAudit(m, role)
    ident = m.identifier
    if m.security_role is None:
        out.findings.append(Finding("cwroles-api-member-role", "note", ident, f"API member {ident!r} holds no role."))
        return out
    if m.inactive_flag:
        out.findings.append(Finding(
            "cwroles-inactive-member", "note", ident,
            f"API member {ident!r} is deactivated but still bound to role “{m.security_role.name}”. ConnectWise's API "
            "does not list API keys, so whether it still holds some cannot be read: delete them in System › Members › "
            f"API Members › {ident} › API Keys, or reactivating it brings them back."))
        return out
    if role is None:
        return out
    if role.mapping is None and any(f.rule == "cwroles-no-requirement" for f in role.findings):
        out.findings.append(Finding("cwroles-no-requirement", "note", ident,
                                    f"API member {ident!r} holds role “{role.name}”, which maps to no integration "
                                    "(see the role)."))
    above = [f for f in role.findings if f.rule == "cwroles-least-privilege" and f.level != "note"]
    admin = [f for f in role.findings if f.rule == "cwroles-admin-role" and f.level != "note"]
    if admin and role.admin_flag:
        out.findings.append(Finding("cwroles-api-member-role", "error", ident,
                                    f"API member {ident!r} holds the administrator role “{role.name}” (adminFlag): it "
                                    "can do everything in ConnectWise PSA. Give it a role with only its vendor's grants."))
    if above and role.mapping is not None:
        cells = ", ".join(f.where for f in above[:6]) + (f" and {len(above) - 6} more" if len(above) > 6 else "")
        out.findings.append(Finding("cwroles-api-member-role", "error", ident,
                                    f"API member {ident!r} holds role “{role.name}”, which grants {len(above)} cell(s) "
                                    f"above {role.mapping.manifest.title}'s requirement: {cells}."))
    return out


def run_audit(conn: Connection, root: Optional[Path], explicit: dict[str, str], *, all_roles: bool = False,
              read_lists: bool = False, day: Optional[dt.date] = None, progress=None) -> Audit:
    reading: TenantReading = read_tenant(conn.client, progress)
    caller = _caller(conn)
    integrations = Integrations.discover(root)
    mappings = map_roles([r.name for r in reading.roles] + [r.name for r, _ in reading.failures], integrations,
                         explicit, _stack_roles(root, integrations))
    rules = list(default_rules())
    admin_rx = re.compile(DEFAULT_ADMIN_PATTERN, re.IGNORECASE)
    day = day or dt.date.today()
    audits: list[RoleAudit] = []
    for r in reading.roles:
        members = reading.members_of(r.id)
        mapping = mappings.get(r.name)
        holders = [m for m in members if not m.inactive_flag]
        if caller and holders and all(m.identifier.casefold() == caller.casefold() for m in holders) and mapping is None:
            scope = "provisioning"
        elif all_roles or members or mapping is not None:
            scope = "integration"
        else:
            scope = "people"
        lists = None
        if read_lists and scope == "integration" and holders:
            lists = _read_lists(conn, r, holders[0].identifier)
        audits.append(judge_role(r, members, mapping, scope, rules, day, admin_rx, lists))
    for role, e in reading.failures:
        audits.append(RoleAudit(int(role.id or 0), role.name, bool(role.admin_flag), reading.members_of(int(role.id or 0)),
                                mappings.get(role.name), "integration", unread=e.summary,
                                findings=[Finding("cwroles-unread", "error", "role",
                                                  f"the settings of role “{role.name}” could not be read: {e.summary}")]))
    by_id = {a.id: a for a in audits}
    members = [judge_member(m, by_id.get(m.security_role.id) if m.security_role else None) for m in reading.members]
    return Audit(conn.tenant, sorted(audits, key=lambda a: a.id), members, caller, conn.requests, read_lists)


def _caller(conn: Connection) -> Optional[str]:
    """The API member whose keys this audit uses (one row of /system/mySecurity), or None."""
    try:
        rows = conn.client.get_json("/system/mySecurity", params={"pageSize": 1})
    except ConnectWiseError:
        return None
    if isinstance(rows, list) and rows and isinstance(rows[0], Mapping):
        member = rows[0].get("member") or {}
        return member.get("identifier") if isinstance(member, Mapping) else None
    return None


def _read_lists(conn: Connection, reading: RoleReading, identifier: str) -> Optional[dict[str, list[str]]]:
    try:
        items = read_customize(conn.client, identifier)
    except ConnectWiseError:
        return None
    own = CatalogExtras(functions=[ExtraFunction(module=s.module_name, function=s.module_function_name)
                                   for s in reading.tenant_rows()])
    lists, _ = customize_lists(items, catalog_for(own.to_json() or None))
    return lists


# ---- the command ---------------------------------------------------------------------------------------------------
def audit(
    stack: Optional[str] = typer.Option(None, "--stack", "-s", help=STACK_HELP),
    directory: Path = typer.Option(Path("."), "--dir", help=DIR_HELP),
    map_: Optional[list[str]] = typer.Option(None, "--map", help="Map a role to an integration: 'ROLE=INTEGRATION' "
                                                                 "(repeatable); built-in or the project's own"),
    map_file: Optional[Path] = typer.Option(None, "--map-file", help="YAML file of `Role name: integration` lines"),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="Also write the report as Markdown (PR comment, ticket)"),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Also write the report as JSON (schema cwroles-audit v1)"),
    sarif: Optional[Path] = typer.Option(None, "--sarif", help="Also write the findings as SARIF 2.1.0"),
    all_roles: bool = typer.Option(False, "--all-roles", help="Judge every role, also those no API member holds"),
    customize: bool = typer.Option(False, "--customize", help="Also read each integration role's allow-lists through "
                                                              "an API member holding it (2 requests per role)"),
) -> None:
    """Audit every security role and API member of a tenant by the policy pack's rules (read-only).

    Exit 0: clean; 2: findings; 1: the tenant could not be read.
    """
    root = find_project_root(directory) or directory.resolve()
    explicit = _map_options(list(map_ or []), map_file)  # role names may hold commas: one --map per role
    conn = connect(stack, directory)
    status(f"Auditing {conn.tenant} …")
    try:
        result = run_audit(conn, root, explicit, all_roles=all_roles, read_lists=customize, progress=_progress())
    except ConnectWiseError as e:
        read_failed(conn, e)
    result.requests = conn.requests
    reports.print_table(result, console)
    written = []
    for path, render in ((markdown, reports.markdown), (json_path, reports.json_text), (sarif, reports.sarif_text)):
        if path is not None:
            write_text(path, render(result))
            written.append(str(path))
    if written:
        status("Wrote " + ", ".join(written) + ".")
    status(f"{result.requests} request(s) to ConnectWise for {len(result.roles)} role(s).")
    raise typer.Exit(result.exit_code)


def _progress():
    """Progress on stderr: a line per tenth of the roles (every role on a terminal)."""
    tty = err.is_terminal
    shown: set[int] = set()

    def show(done: int, total: int, name: str) -> None:
        if total == 0:
            return
        step = done * 10 // total
        if done == total:
            err.print(f"  read {total} role(s)", highlight=False)
        elif tty or (step not in shown):
            shown.add(step)
            err.print(f"  reading role {done + 1}/{total}: {name}", highlight=False, markup=False,
                      end="\r" if tty else "\n")

    return show


__all__ = ["audit", "run_audit", "judge_role", "judge_member", "map_roles", "Audit", "RoleAudit", "MemberAudit",
           "Finding", "RULES", "SCHEMA"]
