"""Findings for a RolePermissions resource: least privilege, privileged grants, waivers.

A finding on a granted cell is waivable: a valid waiver (on the grant or in the stack's
``waivers``) turns it into a *waived* finding that only ``cwroles-waived-grants`` reports (as
advisory); an expired or incomplete waiver leaves it a violation and says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from cwroles.catalog import CatalogError, load_catalog

from .baseline import Baseline, baseline_names, empty_baseline, load_baseline
from .model import (GrantCell, WaiverInfo, parse_grants, parse_stack_waivers, require_known, resolve,
                    split_where, where)
from .privileged import PrivilegedRule

WAIVE_HINT = ("add a waiver {justification, approved_by, expires: YYYY-MM-DD} to the grant "
              "or to stack config cwroles:waivers")


@dataclass
class Finding:
    kind: str  # "least-privilege" | "privileged"
    message: str
    cell: Optional[GrantCell] = None  # None: not waivable (allow-lists, unknown names, config)
    reason: str = ""  # short reason, used when reporting a waived finding
    status: str = "violation"  # violation | waived | expired | invalid-waiver
    waiver: Optional[WaiverInfo] = None
    waiver_note: str = ""

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

    @property
    def label(self) -> str:
        return f"role “{self.role_name}”" if self.role_name else "this role"


def role_view(props: Mapping[str, Any]) -> RoleView:
    role_name = props.get("role_name")
    role_name = "" if role_name is None else str(role_name)
    integration = require_known(props.get("integration"), "integration")
    features = require_known(props.get("features"), "features") or []
    grants = parse_grants(require_known(props.get("grants"), "grants"))
    customize_raw = require_known(props.get("customize"), "customize") or {}
    customize: dict[tuple[str, str], list[str]] = {}
    cproblems: list[str] = []
    catalog = load_catalog()
    if not isinstance(customize_raw, Mapping):
        cproblems.append(f"customize is not an object: {customize_raw!r}")
        customize_raw = {}
    for key, items in customize_raw.items():
        try:
            fn = resolve(*split_where(key))
        except CatalogError as e:
            cproblems.append(f"customize key {key!r}: {e}")
            continue
        items = require_known(items, f"customize.{key}")
        if not isinstance(items, list):
            cproblems.append(f"customize[{key!r}] is not a list of names: {items!r}")
            continue
        _, f = catalog.function(*fn)
        canon = []
        for item in items:
            try:
                canon.append(catalog.customize_item(f, str(item)))
            except CatalogError as e:
                cproblems.append(f"{where(*fn)} › Customize: {e}")
                canon.append(str(item))
        customize.setdefault(fn, []).extend(canon)
    waivers, wproblems = parse_stack_waivers(require_known(props.get("waivers"), "waivers"))
    return RoleView(role_name, str(integration) if integration else None,
                    {str(f) for f in features} if isinstance(features, list) else set(),
                    grants.cells, grants.problems, customize, cproblems, waivers, wproblems)


def _level(cell: GrantCell) -> str:
    return f"{cell.where} = {cell.value.value}"


def baseline_for(view: RoleView) -> tuple[Baseline, str]:
    """The baseline and, when there is none for the role's integration, why it is empty."""
    known = ", ".join(baseline_names())
    if not view.integration:
        return empty_baseline(""), (f"{view.label} names no integration, so the pack checks it against an empty "
                                    f"baseline; set integration to one of: {known}")
    b = load_baseline(view.integration)
    if b is None:
        return empty_baseline(view.integration), (
            f"integration {view.integration!r} has no baseline in policies/baselines (known: {known}), so the pack "
            "checks the role against an empty baseline")
    return b, ""


def least_privilege(view: RoleView) -> list[Finding]:
    base, empty_why = baseline_for(view)
    out: list[Finding] = []
    for p in view.grant_problems:
        out.append(Finding("least-privilege", p))
    unknown_features = sorted(view.features - set(base.features))
    if unknown_features and not empty_why:
        known = ", ".join(sorted(base.features)) or "none"
        out.append(Finding("least-privilege",
                           f"feature(s) {unknown_features} are not features of {base.title} (it has: {known}); "
                           "fix the stack config's features"))
    fix = (f"Remove it, or, if {base.title} now asks for it, widen {base.path} in the same pull request "
           f"(cite the vendor page).")
    for cell in view.cells:
        if not cell.resolved:
            continue  # reported as a grant problem above
        if empty_why:
            out.append(Finding("least-privilege", f"{_level(cell)} is not allowed: {empty_why}, or waive the grant.",
                               cell, reason="no baseline for this role"))
            continue
        ceiling, gated = base.ceiling(cell.module, cell.function, view.features)
        cap = ceiling[cell.level]
        if cell.value.rank <= cap.rank:
            continue
        if gated is not None and cell.value.rank <= gated.levels[cell.level].rank:
            desc = base.features.get(gated.feature, "")
            msg = (f"{_level(cell)} is only part of {base.title}'s requirement with feature '{gated.feature}' "
                   f"({desc}), which is off for {view.label}. Turn the feature on in the stack config, or remove "
                   "the grant.")
            reason = f"needs feature '{gated.feature}'"
        elif not any((bf.module, bf.function) == (cell.module, cell.function) for bf in base.functions):
            msg = (f"{_level(cell)}: {base.title}'s published requirement does not list "
                   f"{where(cell.module, cell.function)} at all (ceiling: None). {fix}")
            reason = f"not in {base.title}'s requirement"
        else:
            msg = (f"{_level(cell)} is above {base.title}'s published requirement "
                   f"({cell.level.title()} ceiling: {cap.value}). {fix}")
            reason = f"above {base.title}'s requirement ({cell.level.title()} ≤ {cap.value})"
        out.append(Finding("least-privilege", msg, cell, reason=reason))
    for p in view.customize_problems:
        out.append(Finding("least-privilege", p))
    for fn, items in view.customize.items():
        allowed, gated_items = base.allowed_items(fn, view.features)
        for item in items:
            if item in allowed:
                continue
            if item in gated_items:
                msg = (f"{where(*fn)} › Customize allows “{item}”, which {base.title} only needs with feature "
                       f"'{gated_items[item]}', and that feature is off for {view.label}. Turn the feature on, "
                       "or remove the item.")
            elif empty_why:
                msg = f"{where(*fn)} › Customize allows “{item}”: {empty_why}."
            else:
                msg = (f"{where(*fn)} › Customize allows “{item}”, which is not on {base.title}'s published "
                       f"allow-list. Remove it, or add it to {base.path} in the same pull request.")
            out.append(Finding("least-privilege", msg))
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
        out.append(Finding("privileged", msg, cell, reason=f"privileged: {reasons}"))
    return out


def apply_waivers(findings: list[Finding], view: RoleView, day: dt.date) -> list[Finding]:
    for f in findings:
        if f.cell is None:
            continue
        candidates = [f.cell.waiver] if f.cell.waiver else []
        candidates += [sw.waiver for sw in view.waivers if sw.covers(f.cell)]
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
