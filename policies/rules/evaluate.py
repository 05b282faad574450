"""Findings for a RolePermissions resource, by tier.

- mandatory: least privilege (above the vendor's requirement, naming the file that widened the role)
  and privileged grants; waivable;
- advisory by default (a reviewer can make them mandatory in the pack config): broad but
  vendor-documented writes, and a role widened by a change to the vendor requirement.

A finding on granted cells is waivable: a valid waiver (on the grant or in the stack's ``waivers``)
turns it into a *waived* finding that only ``cwroles-waived-grants`` reports (as advisory); an
expired or incomplete waiver leaves it a violation and says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from cwroles.catalog import LEVEL_NAMES
from cwroles.catalog_extras import catalog_for
from cwroles.grid import Level
from cwroles.manifest import Requirement
from cwroles.names import split_function
from cwroles.permissions import parse_customize_list
from cwroles.problems import Where

from .baseline import requirement_for
from .model import GrantCell, WaiverInfo, parse_grants, parse_stack_waivers, require_known, where
from .privileged import PrivilegedRule

WAIVE_HINT = ("add a waiver {justification, approved_by, expires: YYYY-MM-DD} to the grant "
              "or to stack config cwroles:waivers")
BROAD_WRITES_MIN_FUNCTIONS = 3


@dataclass
class Finding:
    message: str
    cell: Optional[GrantCell] = None  # None: not waivable (allow-lists, unknown names, config)
    reason: str = ""  # short reason, used when reporting a waived finding
    status: str = "violation"  # violation | waived | expired | invalid-waiver
    waiver: Optional[WaiverInfo] = None
    waiver_note: str = ""
    cells: list[GrantCell] = field(default_factory=list)  # a finding on several cells: waived when all are

    @property
    def waived(self) -> bool:
        return self.status == "waived"

    def text(self) -> str:
        return f"{self.message} {self.waiver_note}".strip()


@dataclass
class RoleView:
    """The RolePermissions inputs the pack checks, as plain data."""

    role_name: str
    integration: Optional[str]
    features: set[str]
    cells: list[GrantCell]
    grant_problems: list[str]
    customize: dict[tuple[str, str], list[str]]
    customize_problems: list[str]
    waivers: list
    waiver_problems: list[str] = field(default_factory=list)
    requirement: Requirement = field(default_factory=lambda: requirement_for(None, None)[0])
    requirement_why: str = ""  # why the requirement is empty (no integration, unknown one)
    project_manifest: bool = False  # the requirement came with the role (a project's own manifest)
    widening: Optional[Mapping[str, Any]] = None  # cells widened since the last update (None: a new role)

    @property
    def label(self) -> str:
        return f"role “{self.role_name}”" if self.role_name else "this role"


def role_view(props: Mapping[str, Any]) -> RoleView:
    role_name = props.get("role_name")
    role_name = "" if role_name is None else str(role_name)
    integration = require_known(props.get("integration"), "integration")
    features = require_known(props.get("features"), "features") or []
    catalog = catalog_for(require_known(props.get("tenant_catalog"), "tenant_catalog"))  # + the tenant's own entries
    grants = parse_grants(require_known(props.get("grants"), "grants"), catalog)
    customize_raw = require_known(props.get("customize"), "customize") or {}
    customize: dict[tuple[str, str], list[str]] = {}
    cproblems: list[str] = []
    if not isinstance(customize_raw, Mapping):
        cproblems.append(f"customize is not an object: {customize_raw!r}")
        customize_raw = {}
    for key, items in customize_raw.items():
        items = require_known(items, f"customize.{key}")
        fn, canon, problems = parse_customize_list(key, items, Where(path=("customize", str(key))), catalog)
        cproblems += [str(p) for p in problems if p.is_error]
        if fn is not None:
            customize.setdefault(split_function(fn), []).extend(canon)
    waivers, wproblems = parse_stack_waivers(require_known(props.get("waivers"), "waivers"), catalog)
    carried = require_known(props.get("requirement"), "requirement")
    req, why = requirement_for(str(integration) if integration else None, carried)
    widening = props.get("widening")
    return RoleView(role_name, str(integration) if integration else None,
                    {str(f) for f in features} if isinstance(features, list) else set(),
                    grants.cells, grants.problems, customize, cproblems, waivers, wproblems, req, why,
                    project_manifest=isinstance(carried, Mapping) and not req.manifest.startswith("cwroles/data/"),
                    widening=widening if isinstance(widening, Mapping) else None)


def _level(cell: GrantCell) -> str:
    return f"{cell.where} = {cell.value.value}"


def _widen_fix(req: Requirement, origin: Optional[str], thing: str = "it") -> str:
    widen = (f"if {req.title} now asks for {thing}, widen the vendor requirement in {req.manifest} in the same pull "
             f"request (cite the vendor page).")
    if origin:
        return f"It is an MSP addition in {origin}: remove it there, waive it, or, {widen}"
    return f"Remove it, or, {widen}"


def least_privilege(view: RoleView) -> list[Finding]:
    req, empty_why = view.requirement, view.requirement_why
    out: list[Finding] = []
    for p in view.grant_problems:
        out.append(Finding(p))
    unknown_features = sorted(view.features - set(req.features))
    if unknown_features and not empty_why:
        known = ", ".join(sorted(req.features)) or "none"
        out.append(Finding(f"feature(s) {unknown_features} are not features of {req.title} (it has: {known}); "
                           "fix the stack config's features"))
    for cell in view.cells:
        if not cell.resolved:
            continue  # reported as a grant problem above
        if empty_why:
            out.append(Finding(f"{_level(cell)} is not allowed: {view.label} {empty_why}; or waive the grant.", cell,
                               reason="no vendor requirement for this role"))
            continue
        ceiling, gated = req.ceiling(cell.module, cell.function, view.features)
        cap = ceiling[cell.level]  # type: ignore[index]
        if cell.value.rank <= cap.rank:
            continue
        gated_level = gated.level(cell.level) if gated is not None else Level.NONE  # type: ignore[arg-type]
        if gated is not None and cell.value.rank <= gated_level.rank:
            desc = req.features[str(gated.feature)]  # declared: Requirement checks every feature it uses
            msg = (f"{_level(cell)} is only part of {req.title}'s requirement with feature '{gated.feature}' "
                   f"({desc}), which is off for {view.label}. Turn the feature on in the stack config, or remove "
                   "the grant.")
            reason = f"needs feature '{gated.feature}'"
        elif not req.lists(cell.module, cell.function):
            msg = (f"{_level(cell)}: {req.title}'s published requirement does not list "
                   f"{where(cell.module, cell.function)} at all (ceiling: None). {_widen_fix(req, cell.origin)}")
            reason = f"not in {req.title}'s requirement"
        else:
            msg = (f"{_level(cell)} is above {req.title}'s published requirement "
                   f"({cell.level.title()} ceiling: {cap.value}). {_widen_fix(req, cell.origin)}")
            reason = f"above {req.title}'s requirement ({cell.level.title()} ≤ {cap.value})"
        out.append(Finding(msg, cell, reason=reason))
    for p in view.customize_problems:
        out.append(Finding(p))
    for fn, items in view.customize.items():
        allowed, gated_items = req.allowed_items(where(*fn), view.features)
        for item in items:
            if item in allowed:
                continue
            if item in gated_items:
                msg = (f"{where(*fn)} › Customize allows “{item}”, which {req.title} only needs with feature "
                       f"'{gated_items[item]}', and that feature is off for {view.label}. Turn the feature on, "
                       "or remove the item.")
            elif empty_why:
                msg = f"{where(*fn)} › Customize allows “{item}”: {view.label} {empty_why}."
            else:
                msg = (f"{where(*fn)} › Customize allows “{item}”, which is not on {req.title}'s published "
                       f"allow-list. Remove it, or add it to the vendor requirement in {req.manifest} in the same "
                       "pull request.")
            out.append(Finding(msg))
    return out


def privileged(view: RoleView, rules: list[PrivilegedRule]) -> list[Finding]:
    out: list[Finding] = []
    for cell in view.cells:
        hits = [r for r in rules if r.matches(cell)]
        if not hits:
            continue
        reasons = "; ".join(dict.fromkeys(r.reason for r in hits))
        msg = (f"{_level(cell)} is privileged ({reasons}). Grant it only with an explicit, time-limited waiver: "
               f"{WAIVE_HINT}.")
        out.append(Finding(msg, cell, reason=f"privileged: {reasons}"))
    return out


def broad_writes(view: RoleView, rules: list[PrivilegedRule],
                 min_functions: int = BROAD_WRITES_MIN_FUNCTIONS) -> list[Finding]:
    """Writes (Add/Edit/Delete) the vendor documents on many functions of one module, none of them
    privileged: inside the requirement, so least privilege passes, but broad. Advisory by default."""
    req = view.requirement
    if view.requirement_why:
        return []  # no requirement: least privilege already fails every grant
    by_module: dict[str, dict[str, list[GrantCell]]] = {}
    for cell in view.cells:
        if not cell.resolved or cell.level == "inquire" or any(r.matches(cell) for r in rules):
            continue
        ceiling, _ = req.ceiling(cell.module, cell.function, view.features)
        if cell.value.rank > ceiling[cell.level].rank:  # type: ignore[index]
            continue  # above the requirement: least privilege's
        by_module.setdefault(cell.module, {}).setdefault(cell.function, []).append(cell)
    out: list[Finding] = []
    for module, functions in by_module.items():
        if len(functions) < min_functions:
            continue
        desc = ", ".join(f"{fn} ({'/'.join(c.level.title() for c in cs)})" for fn, cs in functions.items())
        cells = [c for cs in functions.values() for c in cs]
        msg = (f"{module}: {view.label} writes on {len(functions)} functions ({desc}), as {req.title}'s requirement "
               f"in {req.manifest} documents. Broad write access: confirm with the vendor that each is needed. "
               f"Advisory unless the pack config makes cwroles-broad-writes mandatory; then accept it with a waiver "
               f"on these grants.")
        out.append(Finding(msg, cells=cells, reason=f"writes on {len(functions)} {module} functions"))
    return out


def _cell_text(c: Mapping[str, Any]) -> str:
    return f"{where(str(c.get('module')), str(c.get('function')), str(c.get('level')))}: {c.get('was')} → {c.get('now')}"


def vendor_requirement(view: RoleView) -> list[Finding]:
    """A role widened by its vendor requirement (the manifest) or by a feature switched on, since the last
    update; a new role from a project's own manifest. MSP additions are least privilege's, naming the stack file."""
    req = view.requirement
    if view.requirement_why:
        return []
    if view.widening is None:
        if not view.project_manifest:
            return []
        n = len({(c.module, c.function) for c in view.cells})
        return [Finding(f"{view.label} is new: its {n} grants come from the vendor requirement in {req.manifest}. "
                        f"Review that file against the vendor page ({req.vendor_page or 'not named'}) in this pull "
                        "request.")]
    added = {str(f) for f in view.widening.get("features_added") or []}
    by_vendor: list[Mapping[str, Any]] = []
    by_feature: dict[str, list[Mapping[str, Any]]] = {}
    for c in view.widening.get("cells") or []:
        if not isinstance(c, Mapping) or c.get("origin") or c.get("level") not in LEVEL_NAMES:
            continue  # an MSP addition: judged by least privilege, which names the stack file
        try:
            now = Level.parse(c.get("now"))
            ceiling, _ = req.ceiling(str(c["module"]), str(c["function"]), view.features)
        except (KeyError, ValueError):
            continue
        level = str(c["level"])
        if now.rank > ceiling[level].rank:  # type: ignore[index]
            continue  # above the requirement: least privilege's
        before, _ = req.ceiling(str(c["module"]), str(c["function"]), view.features - added)
        if now.rank > before[level].rank:  # type: ignore[index]
            feats = sorted(f for f in added if now.rank <= req.ceiling(str(c["module"]), str(c["function"]),
                                                                       (view.features - added) | {f})[0][level].rank)  # type: ignore[index]
            # the ceiling is the highest enabled row: one added feature alone explains the widening
            by_feature.setdefault(", ".join(repr(f) for f in feats), []).append(c)
        else:
            by_vendor.append(c)
    out: list[Finding] = []
    if by_vendor:
        out.append(Finding(f"{view.label} is widened by a change to the vendor requirement in {req.manifest}: "
                           f"{'; '.join(_cell_text(c) for c in by_vendor)}. Check the change against the vendor page "
                           f"({req.vendor_page or 'not named'}) in this pull request."))
    for feats, cells in by_feature.items():
        out.append(Finding(f"{view.label} is widened by feature {feats} switched on in stack config cwroles:features "
                           f"(part of {req.title}'s requirement in {req.manifest}): "
                           f"{'; '.join(_cell_text(c) for c in cells)}."))
    return out


def _candidates(cell: GrantCell, view: RoleView) -> list[WaiverInfo]:
    out = [cell.waiver] if cell.waiver else []
    return out + [sw.waiver for sw in view.waivers if sw.covers(cell)]


def apply_waivers(findings: list[Finding], view: RoleView, day: dt.date) -> list[Finding]:
    for f in findings:
        if f.cells:  # several cells: waived only when a valid waiver covers each
            valid = [[w for w in _candidates(c, view) if w.valid_on(day)] for c in f.cells]
            if all(valid):
                f.status, f.waiver = "waived", max((w for ws in valid for w in ws), key=lambda w: w.expires)
            continue
        if f.cell is None:
            continue
        candidates = _candidates(f.cell, view)
        if not candidates:
            continue
        valid = [w for w in candidates if w.valid_on(day)]
        if valid:
            f.status, f.waiver = "waived", max(valid, key=lambda w: w.expires)
            continue
        expired = [w for w in candidates if not w.problem and w.expires is not None]
        if expired:
            w = max(expired, key=lambda w: w.expires)
            f.status, f.waiver = "expired", w
            f.waiver_note = (f"Its waiver {w.describe()} expired on {w.expires.isoformat()} (today is "
                             f"{day.isoformat()}); review the grant and renew the waiver with a new expiry date, "
                             "or remove the grant.")
        else:
            w = candidates[0]
            f.status, f.waiver = "invalid-waiver", w
            f.waiver_note = f"Its waiver ({w.origin}) cannot be used: {w.problem}."
    return findings
