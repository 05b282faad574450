"""The reports of ``cwroles audit``: the terminal tables, Markdown (a PR comment or ticket), JSON (schema
``cwroles-audit`` version 1, documented in docs/onboarding.md) and SARIF 2.1.0.

Everything a role, a member or a finding says is escaped for the format it lands in. Written apart from
``cwroles drift``'s writers so the two can be merged into one module later.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Optional

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cwroles import __version__

if TYPE_CHECKING:  # pragma: no cover
    from .audit import Audit, Finding, MemberAudit, RoleAudit

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
MARKDOWN_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters
_STYLE = {"clean": "green", "findings": "bold red", "error": "bold magenta"}
_ICON = {"clean": "✅", "findings": "❌", "error": "⚠️"}
_LEVEL_STYLE = {"error": "red", "warning": "yellow", "note": "dim"}
_SCOPE = {"integration": "integration", "people": "people only", "provisioning": "cwroles' own"}


def _members(role: "RoleAudit") -> str:
    names = [m.identifier + (" (inactive)" if m.inactive_flag else "") for m in role.members]
    return ", ".join(names) or "—"


def _integration(role: "RoleAudit") -> str:
    if role.mapping is None:
        return "—"
    return f"{role.mapping.integration} (by {role.mapping.by})"


def _summary(role: "RoleAudit") -> str:
    if role.unread:
        return f"not read: {role.unread}"
    c = role.counts()
    parts = [f"{c['error']} error(s)" if c["error"] else "", f"{c['warning']} warning(s)" if c["warning"] else "",
             f"{c['note']} note(s)" if c["note"] else ""]
    text = ", ".join(p for p in parts if p) or "nothing to report"
    return f"{role.granted} granted cell(s); {text}"


def summary_line(a: "Audit") -> str:
    roles = {k: sum(1 for r in a.roles if r.verdict == k) for k in ("clean", "findings", "error")}
    members = sum(1 for m in a.members if m.verdict == "findings")
    f = a.findings()
    errors = sum(1 for x in f if x.level == "error")
    warnings = sum(1 for x in f if x.level == "warning")
    text = (f"{len(a.roles)} role(s): {roles['findings']} with findings, {roles['clean']} clean"
            + (f", {roles['error']} not read" if roles["error"] else "")
            + f"; {len(a.members)} API member(s): {members} with findings; {errors} error(s), {warnings} warning(s)")
    return text


# ---- terminal --------------------------------------------------------------------------------------------------
def print_table(a: "Audit", console: Console, max_items: int = 15) -> None:
    t = Table(title=f"Security roles — {a.tenant}", title_justify="left")
    for col, kw in (("Id", {"justify": "right"}), ("Role", {"overflow": "fold"}), ("API members", {"overflow": "fold"}),
                    ("Used by", {}), ("Integration", {"overflow": "fold"}), ("Verdict", {"no_wrap": True}),
                    ("Summary", {"overflow": "fold"})):
        t.add_column(col, **kw)
    for r in a.roles:
        t.add_row(str(r.id), r.name, _members(r), _SCOPE.get(r.scope, r.scope), _integration(r),
                  Text(r.verdict, style=_STYLE[r.verdict]), _summary(r))
    console.print(t)
    if a.members:
        m = Table(title="API members", title_justify="left")
        for col in ("Id", "Member", "Role", "Active", "Verdict", "Findings"):
            m.add_column(col, overflow="fold")
        for x in a.members:
            role = x.member.security_role
            m.add_row(str(x.member.id), x.member.identifier, (role.name or str(role.id)) if role else "—",
                      "no" if x.member.inactive_flag else "yes", Text(x.verdict, style=_STYLE[x.verdict]),
                      "; ".join(f.message for f in x.findings if f.level != "note") or "—")
        console.print(m)
    for r in a.roles:
        shown = [f for f in r.findings if f.level != "note" or r.scope == "integration"]
        if not shown:
            continue
        head = Text(f"{r.name}", style="bold")
        head.append(f" (id {r.id}, {_SCOPE.get(r.scope, r.scope)}): ")
        head.append(r.verdict, style=_STYLE[r.verdict])
        console.print(head, soft_wrap=True)
        for f in shown[:max_items]:
            line = Text("  • ")
            line.append(f"[{f.level}]", style=_LEVEL_STYLE[f.level])
            line.append(f" {f.message}")
            console.print(line, soft_wrap=True)
        if len(shown) > max_items:
            console.print(Text(f"  … and {len(shown) - max_items} more (see the Markdown or JSON report)"), soft_wrap=True)
    for x in a.members:
        notes = [f for f in x.findings if f.level == "note"]
        for f in notes:
            console.print(Text(f"note: {f.message}", style="dim"), soft_wrap=True)
    console.print(summary_line(a), highlight=False, soft_wrap=True)


# ---- Markdown --------------------------------------------------------------------------------------------------
def _md(text: Any) -> str:
    s = str(text if text is not None else "—")
    for ch in "\\`*_[]<>|":
        s = s.replace(ch, "\\" + ch)
    return s.replace("\r", " ").replace("\n", " ")


def markdown(a: "Audit") -> str:
    worst = "error" if a.errors else ("findings" if a.exit_code == 2 else "clean")
    lines = [f"## {_ICON[worst]} cwroles audit — {_md(a.tenant)}", "",
             f"**{_md(summary_line(a))}** · {a.generated.isoformat()}", "",
             "| | Id | Role | API members | Used by | Integration | Summary |", "|---|---|---|---|---|---|---|"]
    for r in a.roles:
        lines.append(f"| {_ICON[r.verdict]} | {r.id} | {_md(r.name)} | {_md(_members(r))} | {_md(_SCOPE.get(r.scope))} | "
                     f"{_md(_integration(r))} | {_md(_summary(r))} |")
    if a.members:
        lines += ["", "| | Id | API member | Role | Active | Findings |", "|---|---|---|---|---|---|"]
        for x in a.members:
            role = x.member.security_role
            lines.append(f"| {_ICON[x.verdict]} | {x.member.id} | {_md(x.member.identifier)} | "
                         f"{_md((role.name or role.id) if role else '—')} | {'no' if x.member.inactive_flag else 'yes'} | "
                         f"{_md('; '.join(f.message for f in x.findings) or '—')} |")
    body: list[str] = []
    for r in a.roles:
        if not r.findings:
            continue
        body += ["", f"### {_ICON[r.verdict]} {_md(r.name)} (id {r.id})", ""]
        if r.scope != "integration":  # a role for people (or cwroles' own): what it grants, in one line
            body.append(f"{len(r.findings)} note(s): not an integration role ({_md(_SCOPE.get(r.scope, r.scope))}); "
                        "every cell is in the JSON report.")
            continue
        body += ["| Level | Rule | Where | Finding |", "|---|---|---|---|"]
        body += [f"| {f.level} | `{f.rule}` | {_md(f.where)} | {_md(f.message)} |" for f in r.findings]
    text = "\n".join(lines)
    if body:
        rest = "\n".join(["", "", "<details><summary>Findings per role</summary>", *body, "", "</details>"])
        if len(text) + len(rest) > MARKDOWN_LIMIT:
            rest = "\n\n_The findings are too long for a comment: see the JSON or SARIF report._"
        text += rest
    return text + "\n"


# ---- JSON ------------------------------------------------------------------------------------------------------
def _role_json(r: "RoleAudit") -> dict[str, Any]:
    return {
        "id": r.id, "name": r.name, "admin_flag": r.admin_flag, "scope": r.scope, "verdict": r.verdict,
        "api_members": [{"id": m.id, "identifier": m.identifier, "inactive": bool(m.inactive_flag)} for m in r.members],
        "integration": ({"name": r.mapping.integration, "manifest": r.mapping.manifest.path, "mapped_by": r.mapping.by,
                         "features": sorted(r.mapping.features) if r.mapping.features is not None else None}
                        if r.mapping else None),
        "granted_cells": r.granted,
        "tenant_functions": r.tenant_functions,
        "customize": r.customize,
        "unread": r.unread,
        "findings": [f.to_json() for f in r.findings],
    }


def _member_json(x: "MemberAudit") -> dict[str, Any]:
    role = x.member.security_role
    return {"id": x.member.id, "identifier": x.member.identifier, "name": x.member.name,
            "inactive": bool(x.member.inactive_flag), "role": {"id": role.id, "name": role.name} if role else None,
            "verdict": x.verdict, "findings": [f.to_json() for f in x.findings]}


def document(a: "Audit") -> dict[str, Any]:
    from .audit import RULES, SCHEMA

    f = a.findings()
    return {
        "schema": SCHEMA, "version": 1, "generated": a.generated.isoformat(),
        "tool": {"name": "cwroles audit", "version": __version__},
        "tenant": a.tenant, "caller": a.caller, "customize_read": a.customize_read,
        "summary": {"roles": len(a.roles), "roles_with_findings": sum(1 for r in a.roles if r.verdict == "findings"),
                    "roles_not_read": len(a.errors), "api_members": len(a.members),
                    "api_members_with_findings": sum(1 for m in a.members if m.verdict == "findings"),
                    "errors": sum(1 for x in f if x.level == "error"),
                    "warnings": sum(1 for x in f if x.level == "warning"),
                    "notes": sum(1 for x in f if x.level == "note"),
                    "requests": a.requests, "exit_code": a.exit_code},
        "rules": RULES,
        "roles": [_role_json(r) for r in a.roles],
        "api_members": [_member_json(m) for m in a.members],
    }


def json_text(a: "Audit") -> str:
    return json.dumps(document(a), indent=2, ensure_ascii=False) + "\n"


# ---- SARIF -----------------------------------------------------------------------------------------------------
def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _file(role: Optional["RoleAudit"]) -> Optional[str]:
    """The project file behind a role's mapping: its stack file, or its own manifest (not a built-in one)."""
    if role is None or role.mapping is None:
        return None
    if role.mapping.by.startswith("stack "):
        return role.mapping.by.removeprefix("stack ")
    return None if role.mapping.manifest.builtin else role.mapping.manifest.path


def sarif(a: "Audit") -> dict[str, Any]:
    from .audit import RULES

    rule_ids = list(RULES)
    results: list[dict[str, Any]] = []

    def add(subject: str, kind: str, f: "Finding", uri: Optional[str] = None) -> None:
        logical = [{"name": f.where, "fullyQualifiedName": f"{subject}::{f.where}", "kind": "resource"}]
        location: dict[str, Any] = {"logicalLocations": logical}
        if uri:  # the project's file that states the role's requirement (code scanning shows it there)
            location["physicalLocation"] = {"artifactLocation": {"uri": uri}, "region": {"startLine": 1}}
        results.append({
            "ruleId": f.rule, "ruleIndex": rule_ids.index(f.rule), "level": f.level,
            "message": {"text": f"{subject}: {f.message}"},
            "partialFingerprints": {"cwroles/v1": _fingerprint(a.tenant, kind, subject, f.rule, f.where)},
            "locations": [location],
            "properties": {"tenant": a.tenant, "subject": subject, "kind": kind, "where": f.where},
        })

    for r in a.roles:
        for f in r.findings:
            if f.level == "note" and r.scope != "integration":
                continue  # what a role for people grants is not a finding (the JSON report has it)
            add(f"security role {r.name} (id {r.id})", "role", f, _file(r))
    for m in a.members:
        for f in m.findings:
            add(f"API member {m.member.identifier} (id {m.member.id})", "api-member", f, _file(m.role))
    rules = [{"id": r, "name": r.replace("cwroles-", ""), "shortDescription": {"text": d}, "fullDescription": {"text": d},
              "defaultConfiguration": {"level": "note" if r in ("cwroles-inactive-member", "cwroles-tenant-function")
                                       else "warning" if r == "cwroles-no-requirement" else "error"},
              "helpUri": "https://github.com/cwroles/cwroles/blob/main/docs/onboarding.md"} for r, d in RULES.items()]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "cwroles", "version": __version__,
                            "informationUri": "https://github.com/cwroles/cwroles", "rules": rules}},
        "automationDetails": {"id": f"cwroles-audit/{a.generated.date().isoformat()}"},
        "results": results,
    }]}


def sarif_text(a: "Audit") -> str:
    return json.dumps(sarif(a), indent=2, ensure_ascii=False) + "\n"


