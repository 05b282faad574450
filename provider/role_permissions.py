"""``RolePermissions``: the permission grid (and Customize allow-lists) a security role must have.

ConnectWise's API can read a role's settings but cannot write them. So this resource reads the
live grid, compares it with the code, and — when they differ — fails with the exact list of
cells to set by hand plus a Markdown checklist. ``pulumi up`` is green only when ConnectWise
matches the code; nothing here pretends to have written a setting.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping, Optional

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult
from pydantic import BaseModel, ConfigDict

from cwroles.catalog import LEVEL_NAMES, Catalog, CatalogError
from cwroles.catalog_extras import catalog_for, parse_extras
from cwroles.grid import (
    Change,
    Grid,
    Level,
    diff_grids,
    drift_lines,
    grid_from_json,
    grid_to_json,
    live_grid,
    render_checklist,
)
from cwroles.permissions import (MEMBER_IDENTIFIER_MAX, ROLE_NAME_MAX, customize_differences, grant_json, grid_of, parse_customize_list,
                                 parse_grant_list)
from cwroles.problems import Where

from ._client import Client
from ._common import (
    TENANT_KEY, BaseProvider, add_problems, check_id, check_name, clean, guarded_settings,
    has_unknown, is_unknown,
)
from . import reads
from ._config import Settings, get_client
from ._errors import ConnectWiseError, NotFound
from ._models import SecurityRoleSetting
from .resources import RolePermissions  # the resource as a program declares it (resources.py)

__all__ = ["RolePermissions", "RolePermissionsProvider", "RoleOutOfSync", "read_live_grid", "DEFAULT_CHECKLIST_DIR",
           "RolePermissionsArgs", "RolePermissionsState", "checklist_path", "remove_checklist"]

DEFAULT_CHECKLIST_DIR = ".cwroles/checklists"
_CARRIED_GRANT_KEYS = ("reason", "source", "feature", "origin")  # metadata kept for the policy pack


# ---- schema: the inputs and the outputs (their names are part of every stack's state) -------------
class RolePermissionsArgs(BaseModel):
    """Inputs. The grid, the allow-lists, the role and where checklists go are what the resource verifies;
    integration, features, waivers, requirement and widening are for the policy pack only."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
    role_id: int
    role_name: Optional[str] = None
    grants: list[dict[str, Any]] = []  # normalised by check: catalog names, every level spelled out
    customize: Optional[dict[str, list[str]]] = None  # "Module › Function" → allow-list items
    integration: Optional[str] = None
    features: Optional[list[str]] = None
    waivers: Optional[list[dict[str, Any]]] = None  # stack config cwroles:waivers
    checklist_dir: Optional[str] = None
    member_identifier: Optional[str] = None  # API member whose view verifies the allow-lists
    requirement: Optional[dict[str, Any]] = None  # a project manifest's requirement (the pack's ceiling)
    widening: Optional[dict[str, Any]] = None  # set by check: cells widened since the last update
    stack: Optional[str] = None  # names the stack's checklist folder (set by the program)
    tenant_catalog: Optional[dict[str, Any]] = None  # the tenant's own catalog entries the grants may name

    VERIFIED: ClassVar[tuple[str, ...]] = ("role_name", "customize", "checklist_dir", "member_identifier", "stack")  # + role_id, grid
    # (tenant_catalog counts through the grid: it adds functions to it)


class RolePermissionsState(RolePermissionsArgs):
    """Outputs: the inputs, and what ConnectWise holds."""

    live: dict[str, dict[str, str]] = {}  # the grid read from ConnectWise (granted cells)
    pending: list[str] = []  # cells still to set by hand
    drift: list[str] = []  # cells changed in ConnectWise since the last read
    customize_status: Optional[str] = None
    tenant: Optional[dict[str, Any]] = None  # the tenant the role lives in: {site, company_id}


_INPUT_KEYS = tuple(RolePermissionsArgs.model_fields)


class RoleOutOfSync(Exception):
    """ConnectWise's role differs from the code; the message lists what to set by hand."""

    def __init__(self, message: str, changes: list[Change], checklist: Path) -> None:
        super().__init__(message)
        self.changes = changes
        self.checklist = checklist


# ---- validation / normalisation (the rules are the core's: cwroles.permissions) ---------------------


def _catalog(props: Mapping[str, Any]) -> Catalog:
    """The bundled catalog, plus the tenant's own entries the inputs name (``tenant_catalog``)."""
    raw = props.get("tenant_catalog")
    return catalog_for(None if has_unknown(raw) else raw)


def _grant_rows(grants: Any, catalog: Optional[Catalog] = None):
    return parse_grant_list(grants, Where(path=("grants",)), catalog, carried=_CARRIED_GRANT_KEYS, skip=has_unknown)


def _check_grants(grants: Any, failures: list[CheckFailure], catalog: Optional[Catalog] = None) -> Any:
    if grants is None:
        return []
    if is_unknown(grants):
        return grants
    rows, problems = _grant_rows(grants, catalog)
    add_problems(problems, failures, "grants")
    if not isinstance(grants, list):
        return grants
    return [grant_json(r, meta=_CARRIED_GRANT_KEYS) if r is not None else g for r, g in zip(rows, grants)]


def _check_customize(customize: Any, failures: list[CheckFailure], catalog: Optional[Catalog] = None) -> Any:
    if customize is None or is_unknown(customize):
        return customize
    if not isinstance(customize, dict):
        failures.append(CheckFailure("customize", "customize must map \"Module › Function\" to a list of allow-list items"))
        return customize
    out: dict[str, Any] = {}
    for key, items in customize.items():
        if has_unknown(items):
            out[key] = items
            continue
        fn, canon, problems = parse_customize_list(key, items, Where(path=("customize", str(key))), catalog)
        add_problems(problems, failures, "customize")
        if fn is not None:
            out[fn] = [*out.get(fn, []), *(c for c in canon if c not in out.get(fn, []))]
    return out


def _check_requirement(requirement: Any, failures: list[CheckFailure]) -> None:
    if requirement is None or has_unknown(requirement):
        return
    from cwroles.manifest import Requirement  # a project manifest's: only then load the manifest models

    try:
        Requirement.model_validate(requirement)
    except Exception as e:
        failures.append(CheckFailure("requirement", f"requirement is not a vendor requirement: {str(e).splitlines()[0]}"))


def _granted(grants: Any, catalog: Optional[Catalog] = None) -> tuple[Grid, dict[tuple[str, str], Optional[str]]]:
    """Granted cells of known grants, and each grant's origin (a stack config entry, or None)."""
    rows, _ = _grant_rows(grants if isinstance(grants, list) else [], catalog)
    return ({r.key: r.levels for r in rows if r is not None},
            {r.key: r.meta.get("origin") for r in rows if r is not None})


def _widening(olds: Mapping[str, Any], news: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """Cells the new grants raise above the last update's, and features switched on since; None for a new
    role (no previous inputs). The policy pack says which file widened the role."""
    if not olds or "grants" not in olds or has_unknown(news.get("grants")) or has_unknown(news.get("features")):
        return None
    before, _ = _granted(olds.get("grants"), _catalog(olds))
    after, origins = _granted(news.get("grants"), _catalog(news))
    cells = []
    for key, levels in after.items():
        was = before.get(key) or {n: Level.NONE for n in LEVEL_NAMES}
        for n in LEVEL_NAMES:
            if levels[n].rank > was[n].rank:
                cell: dict[str, Any] = {"module": key[0], "function": key[1], "level": n, "was": was[n].value, "now": levels[n].value}
                if origins.get(key):
                    cell["origin"] = origins[key]
                cells.append(cell)
    old_features, new_features = olds.get("features"), news.get("features")
    old_features = old_features if isinstance(old_features, list) else []
    new_features = new_features if isinstance(new_features, list) else []
    return {"cells": cells, "features_added": sorted(set(new_features) - set(old_features))}


# ---- grids ---------------------------------------------------------------------------------


def _desired(props: Mapping[str, Any]) -> Grid:
    catalog = _catalog(props)
    rows, _ = _grant_rows(props.get("grants") or [], catalog)
    return grid_of((r for r in rows if r is not None), catalog)


def _full(grid: Grid, catalog: Catalog) -> Grid:
    """``grid`` with every catalog function present (None where absent)."""
    out: Grid = {(m.name, f.name): {n: Level.NONE for n in LEVEL_NAMES} for m, f in catalog.functions()}
    out.update(grid)
    return out


def _live(settings: Iterable[SecurityRoleSetting]) -> Grid:
    """The live grid of a role's settings rows (validated: a malformed row is an error, never a level)."""
    return live_grid([s.model_dump(by_alias=True) for s in settings])


def read_live_grid(client: Client, role_id: int):
    """The role and its live grid: one request for the role, one page of settings."""
    role = client.get_security_role(role_id)
    return role, _live(client.list_role_settings(role_id))


def _adopted(client: Client, role_id: int, role_name: str, live: Grid) -> dict[str, Any]:
    """The inputs that describe a role being adopted (an import): its live grid as grants (functions the bundled
    catalog lacks named in ``tenant_catalog``) and, read through the one active API member holding the role,
    its Customize lists and that member (3 requests; skipped when no single member can be impersonated)."""
    grants = _grants_from_grid(live)
    own = [{"module": g["module"], "function": g["function"]} for g in grants if _tenant_only(g["module"], g["function"])]
    out: dict[str, Any] = {"role_id": role_id, "role_name": role_name, "grants": grants,
                           "tenant_catalog": {"functions": own} if own else None}
    from .tenant import customize_lists, read_customize, role_members  # adoption only: keep the import light

    try:
        holders = [m for m in role_members(client, role_id) if not m.inactive_flag]
        if len(holders) == 1:
            items = read_customize(client, holders[0].identifier)
            lists, _unplaced = customize_lists(items, catalog_for(out["tenant_catalog"]))
            out.update(customize=lists, member_identifier=holders[0].identifier,
                       customize_status=f"read as {holders[0].identifier!r} when adopted: the code's lists are ConnectWise's")
    except ConnectWiseError:
        pass  # not readable: the first `pulumi up` verifies the lists through the code's member
    return out


def _tenant_only(module: str, function: str) -> bool:
    try:
        catalog_for(None).function(module, function)
    except CatalogError:
        return True
    return False


def _grants_from_grid(grid: Grid) -> list[dict[str, Any]]:
    return [
        {"module": m, "function": f, **{n: lv.value for n, lv in cell.items()}}
        for (m, f), cell in sorted(grid.items())
        if any(lv is not Level.NONE for lv in cell.values())
    ]


# ---- Customize verification ----------------------------------------------------------------


def _verify_customize(client: Client, role_id: int, props: Mapping[str, Any]) -> tuple[str, Optional[dict[str, dict[str, list[str]]]]]:
    """(status, discrepancies). Discrepancies are None when the lists could not be read."""
    customize: dict[str, list[str]] = props.get("customize") or {}
    if not customize:
        return "nothing to verify (no customize lists in code)", {}
    ident = props.get("member_identifier")
    if not ident:
        return (
            "not verifiable: no member_identifier given (ConnectWise has no API to read a role's Customize "
            "lists; they can only be checked by impersonating an API member that holds the role)",
            None,
        )
    try:
        member = client.find_api_member(ident)
    except ConnectWiseError as e:
        return f"not verifiable: could not look up API member {ident!r} ({e.summary})", None
    if member is None:
        return f"not verifiable: API member {ident!r} does not exist (yet)", None
    if member.inactive_flag:
        return f"not verifiable: API member {ident!r} is inactive", None
    if member.security_role is None or member.security_role.id != role_id:
        has = member.security_role.name or member.security_role.id if member.security_role else "none"
        return f"not verifiable: API member {ident!r} has security role {has!r}, not this role (id {role_id})", None
    try:
        token = client.create_member_token(ident)
        items = client.as_member(token).my_customize_items()
    except ConnectWiseError as e:
        return f"not verifiable: ConnectWise refused to impersonate {ident!r} (HTTP {e.status}: {e.summary})", None
    discrepancies = customize_differences(customize, ((i.customize_identifier, i.item_identifier) for i in items),
                                          _catalog(props))
    if discrepancies:
        return f"verified as {ident!r}: differs from the code (see checklist)", discrepancies
    return f"verified as {ident!r}: matches the code", {}


# ---- checklists -----------------------------------------------------------------------------


def _safe(name: str, fallback: str) -> str:
    return re.sub(r"[^\w.\- ]+", "_", str(name)).strip() or fallback


def _checklist_base(checklist_dir: Optional[str]) -> Path:
    base = Path(checklist_dir or DEFAULT_CHECKLIST_DIR)
    return base if base.is_absolute() else Path.cwd() / base


def checklist_path(checklist_dir: Optional[str], stack: Optional[str], company_id: Optional[str], role_name: str) -> Path:
    """``<checklist_dir>/<stack>/<company id>/<role name>.md``: per stack and tenant, so two tenants (or two
    stacks) with a role of the same name never share a file."""
    parts = [_safe(x, "_") for x in (stack, company_id) if x]
    return _checklist_base(checklist_dir).joinpath(*parts, f"{_safe(role_name, 'role')}.md")


def remove_checklist(checklist_dir: Optional[str], stack: Optional[str], company_id: Optional[str], role_name: str) -> None:
    """Delete a role's checklist and the folders it leaves empty (up to the checklists folder itself)."""
    path = checklist_path(checklist_dir, stack, company_id, role_name)
    path.unlink(missing_ok=True)
    base = _checklist_base(checklist_dir)
    d = path.parent
    while True:
        try:
            d.rmdir()  # only when empty
        except OSError:
            break
        if d == base or base not in d.parents:
            break
        d = d.parent


# ---- what ConnectWise has, compared with the code ----------------------------------------------


@dataclass
class _Observed:
    """One reading of a role in ConnectWise, compared with the code. ``items`` are the checklist's
    items, one line each, in the checklist's order: the message, its count and the file agree."""

    live: Grid
    changes: list[Change]
    status: str
    discrepancies: Optional[dict[str, dict[str, list[str]]]]  # None: the Customize lists were not verifiable
    lists: dict[str, dict[str, list[str]]]  # the Customize part of the checklist
    items: list[str]

    @property
    def in_sync(self) -> bool:
        return not self.changes and not self.discrepancies


def _observe(client: Client, props: Mapping[str, Any]) -> _Observed:
    """The live grid (one page of settings: a deleted role answers 404) and the Customize lists."""
    role_id = int(props["role_id"])
    live = _live(client.list_role_settings(role_id))
    changes = diff_grids(_desired(props), live)
    status, discrepancies = _verify_customize(client, role_id, props)
    if discrepancies is None and changes:  # unverifiable: still tell the admin what the lists must hold
        lists = {k: {"allow": list(v)} for k, v in (props.get("customize") or {}).items() if v}
        why = status.removeprefix("not verifiable: ")
        custom_lines = [f"  - {fn} › Customize: allow {i!r} (could not be checked: {why})"
                        for fn, d in lists.items() for i in d["allow"]]
    else:
        lists = discrepancies or {}
        custom_lines = []
        for fn, d in lists.items():
            custom_lines += [f"  - {fn} › Customize: allow {i!r} (missing)" for i in d.get("allow", [])]
            custom_lines += [f"  - {fn} › Customize: disallow {i!r} (allowed in ConnectWise, not in code)"
                             for i in d.get("disallow", [])]
    items = [f"  - {c}" for c in changes] + custom_lines
    return _Observed(live, changes, status, discrepancies, lists, items)


def _deleted_role(props: Mapping[str, Any], e: NotFound) -> NotFound:
    role_id = int(props["role_id"])
    return NotFound(
        f"security role id {role_id} ({props.get('role_name')!r}) does not exist in ConnectWise.",
        method=e.method, path=e.path, status=404, code=e.code, cw_message=e.cw_message, errors=e.errors,
        hint="it was deleted outside Pulumi: run `pulumi refresh` so the SecurityRole is recreated, then `pulumi up`.",
    )


# Diff (on `pulumi up`) reads ConnectWise; the update that follows in the same provider process reuses
# that reading instead of asking again.
_OBSERVED_TTL = 120.0
_observed_lock = threading.Lock()
_observed: dict[str, tuple[float, _Observed]] = {}


def _observation_key(props: Mapping[str, Any]) -> str:
    keys = ("role_id", "role_name", "grants", "customize", "member_identifier", "tenant_catalog", TENANT_KEY)
    return json.dumps({k: props.get(k) for k in keys}, sort_keys=True, default=str)


# ---- the provider --------------------------------------------------------------------------


def _same_form(key: str, value: Any) -> Any:
    """A verified input in the form diff compares: allow-lists as sets per function, "" as None."""
    if key == "customize":  # no lists and an empty mapping are the same
        return {k: sorted(v) for k, v in (value or {}).items() if v} if isinstance(value, dict) or value is None else value
    return value or None


class RolePermissionsProvider(BaseProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        inputs = dict(news)
        check_id(news, "role_id", "role_id (the SecurityRole's role_id)", failures, required=True)
        check_name(news, "role_name", "role_name (UI \u201cRole ID\u201d)", ROLE_NAME_MAX, failures)
        check_name(news, "member_identifier", "member_identifier", MEMBER_IDENTIFIER_MAX, failures, required=False)
        catalog = None
        if not has_unknown(news.get("tenant_catalog")):
            _extras, problems = parse_extras(news.get("tenant_catalog"), Where(path=("tenant_catalog",)))
            add_problems(problems, failures, "tenant_catalog")
            catalog = _catalog(news) if not problems else None
        inputs["grants"] = _check_grants(news.get("grants"), failures, catalog)
        inputs["customize"] = _check_customize(news.get("customize"), failures, catalog)
        feats = news.get("features")
        if feats is not None and not is_unknown(feats) and not isinstance(feats, list):
            failures.append(CheckFailure("features", "features must be a list of feature names"))
        _check_requirement(news.get("requirement"), failures)
        inputs["widening"] = None if failures else _widening(olds, inputs)
        if not is_unknown(news.get("role_id")) and news.get("role_id") is not None and not failures:
            inputs["role_id"] = int(news["role_id"])
        self.check_settings(olds)
        return CheckResult(inputs, failures)

    # -- create / update: verify, never write --
    def _observe_now(self, client: Client, props: dict[str, Any]) -> _Observed:
        try:
            return _observe(client, props)
        except NotFound as e:
            raise _deleted_role(props, e) from None

    def _reconcile(self, props: dict[str, Any], observed: Optional[_Observed] = None) -> dict[str, Any]:
        props = {k: props.get(k) for k in _INPUT_KEYS}
        role_id = props["role_id"] = int(props["role_id"])  # the engine hands numbers over as floats
        settings = self.settings()
        client = get_client(settings)
        tenant = settings.tenant
        obs = observed or self._observe_now(client, props)
        path = checklist_path(props.get("checklist_dir"), props.get("stack"), tenant.company_id, str(props["role_name"]))
        if not obs.in_sync:
            try:  # the role as ConnectWise names it: that is what the admin looks for
                role_name = client.get_security_role(role_id).name or str(props.get("role_name"))
            except NotFound as e:
                raise _deleted_role(props, e) from None
            text = render_checklist(role_name, obs.changes, obs.lists)
            head, _, rest = text.partition("\n")
            where = (f"Tenant: {tenant.describe()}" + (f" · stack `{props['stack']}`" if props.get("stack") else "")
                     + f" · role id {role_id} · {len(obs.items)} item{'s' if len(obs.items) != 1 else ''}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{head}\n\n{where}\n{rest}", encoding="utf-8")
            n = len(obs.items)
            note = "" if obs.discrepancies is not None else f"\nCustomize lists: {obs.status}."
            raise RoleOutOfSync(
                f"Security role {role_name!r} (id {role_id}) in ConnectWise {tenant.describe()} does not match the "
                f"code: {n} setting{'s differ' if n != 1 else ' differs'}. ConnectWise's API cannot write role "
                f"permissions, so set them by hand in System › Security Roles › {role_name}, then run `pulumi up` "
                "again:\n" + "\n".join(obs.items) + f"{note}\nChecklist: {path}",
                obs.changes,
                path,
            )
        remove_checklist(props.get("checklist_dir"), props.get("stack"), tenant.company_id, str(props["role_name"]))
        return {**props, "live": grid_to_json(obs.live), "pending": [], "drift": [], "customize_status": obs.status,
                TENANT_KEY: tenant.record()}

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._reconcile(props)
        return CreateResult(str(outs["role_id"]), outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        guarded_settings(olds)
        observed = None
        key = _observation_key({**news, "role_id": int(news["role_id"]), TENANT_KEY: self.settings().tenant.record()})
        with _observed_lock:
            hit = _observed.pop(key, None)
        if hit is not None and time.monotonic() - hit[0] < _OBSERVED_TTL:
            observed = hit[1]
        return UpdateResult(self._reconcile(news, observed))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        props = clean(props)
        settings = guarded_settings(props)
        client = get_client(settings)
        if reads.is_refresh("role_permissions", props):
            return self.read_fetched(id_, props, settings, reads.fetch("role_permissions", client, id_, props))
        # adopting: describe what ConnectWise has as the inputs (the name comes from the role)
        role_id = reads.role_id_of(id_, props)
        try:
            role, live = read_live_grid(client, role_id)
        except NotFound:
            return ReadResult("", {})
        props = {**{k: None for k in _INPUT_KEYS}, **_adopted(client, role_id, role.name, live)}
        return self._read_result(role_id, props, settings, live, imported=True)

    def read_fetched(self, id_: str, props: dict[str, Any], settings: Settings, records: Any) -> ReadResult:
        """A refresh's read, from the role's settings rows as ConnectWise answered them (``reads.fetch``; None:
        the role is gone, a deleted role answers 404)."""
        if records is None:
            return ReadResult("", {})
        live = _live(SecurityRoleSetting.model_validate(r) for r in records)
        return self._read_result(reads.role_id_of(id_, props), clean(props), settings, live, imported=False)

    def _read_result(self, role_id: int, props: dict[str, Any], settings: Settings, live: Grid,
                     imported: bool) -> ReadResult:
        before = grid_from_json(props.get("live") or {}) if "live" in props else live
        pending = [str(c) for c in diff_grids(_desired(props), live)]
        outs = {
            **props,
            "role_id": role_id,
            "live": grid_to_json(live),
            "pending": pending,
            "drift": drift_lines(before, live),  # cells ConnectWise changed since the last read
            # A refresh makes no impersonation calls: the Customize verdict stays the last `pulumi up`'s.
            "customize_status": props.get("customize_status") or "not checked by refresh",
            TENANT_KEY: settings.tenant.record(),
        }
        inputs = {k: props.get(k) for k in _INPUT_KEYS} if imported else None
        return ReadResult(str(role_id), self.noted_read(outs), inputs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        settings = guarded_settings(olds)  # a changed tenant stops here, before any request
        verify = self.should_verify(olds)
        new_role: Any = news.get("role_id")
        if is_unknown(new_role) or (olds.get("role_id") is not None and int(new_role) != int(olds["role_id"])):
            return DiffResult(changes=True, replaces=["role_id"])
        # Only what the resource verifies counts: the grid (not how grants are spelled or annotated), the
        # allow-lists, the role name, the checklist folder and the verifying member. Pack-only inputs
        # (integration, features, waivers, requirement, widening) change no setting in ConnectWise.
        # A recorded stack of None (an import, or state from before stacks were recorded) is no change in
        # ConnectWise: the next `up` records it (below) without planning an update on a preview.
        changed = [k for k in RolePermissionsArgs.VERIFIED
                   if has_unknown(news.get(k)) or (_same_form(k, news.get(k)) != _same_form(k, olds.get(k))
                                                   and not (k == "stack" and olds.get(k) is None))]
        if changed or has_unknown(news.get("grants")) or grid_to_json(_desired(news)) != grid_to_json(_desired(olds)):
            return DiffResult(changes=True, replaces=[])
        if not verify:
            # Preview (or the diff that shows a refresh): no request. Does ConnectWise (as last read) still match the code?
            live = _full(grid_from_json(olds.get("live") or {}), _catalog(news))
            if diff_grids(_desired(news), live) or olds.get("pending"):
                return DiffResult(changes=True, replaces=[])
            return DiffResult(changes=False, replaces=[])
        # `pulumi up`: read ConnectWise now. Out of sync → an update, which fails with the checklist;
        # in sync but the recorded outputs are stale → an update that records what is true now.
        props: dict[str, Any] = {**{k: news.get(k) for k in _INPUT_KEYS}, "role_id": int(new_role)}
        obs = self._observe_now(get_client(settings), props)
        with _observed_lock:
            _observed[_observation_key({**props, TENANT_KEY: settings.tenant.record()})] = (time.monotonic(), obs)
        if not obs.in_sync:
            return DiffResult(changes=True, replaces=[])
        # ConnectWise matches: a checklist left by an earlier failed `up` is done.
        remove_checklist(props.get("checklist_dir"), props.get("stack"), settings.tenant.company_id,
                         str(props.get("role_name")))
        fresh: dict[str, Any] = {"live": grid_to_json(obs.live), "pending": [], "drift": [], "customize_status": obs.status,
                 TENANT_KEY: settings.tenant.record(), "stack": props.get("stack")}
        return DiffResult(changes=any(olds.get(k) != v for k, v in fresh.items()), replaces=[])

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        # Nothing to undo in ConnectWise: the API cannot write settings, and deleting the SecurityRole
        # removes them. Its checklist goes, as it would only mislead now.
        settings = guarded_settings(props)
        if props.get("role_name"):
            remove_checklist(props.get("checklist_dir"), props.get("stack"), settings.tenant.company_id,
                             str(props["role_name"]))
