"""Drift across every stack of a project: the verdict ``pulumi preview --refresh --expect-no-changes``
would give, without starting the engine and without changing anything.

Per stack (``sweep``):

1. the stack's state and config (``stacks.state``), and the plan the stack program would declare from
   that config (``stacks.program.plan_from_config``);
2. the live tenant, through the provider's client: per tenant one list of the stacks' roles and one of
   their API members (by id), per stack one page of role settings;
3. what a refresh then a preview decide: the live role, member and grid replace the recorded outputs,
   and the code is compared with them as each resource's provider does (``check`` normalises the
   inputs, the comparison mirrors ``diff``).

Each stack ends in one verdict: ``clean``; ``drift`` (something was changed in ConnectWise since the
last ``up`` or refresh recorded it); ``not_converged`` (a checklist is still pending, the code changed
since the last ``up``, or nothing is deployed); ``error`` (the state, the config or the tenant could
not be read, or the stack's resources live in another tenant). An error is never reported as clean
or as drift.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any, Callable, Mapping, Optional

import httpx

from cwroles.catalog import LEVEL_NAMES, CatalogError, load_catalog
from cwroles.catalog_extras import catalog_for
from cwroles.grid import Change as GridChange
from cwroles.grid import Grid, Level, diff_grids, grid_from_json, live_grid, parse_drift_line, render_checklist
from cwroles.provider import (
    ApiMemberModel,
    ApiMemberProvider,
    Client,
    ConfigurationError,
    ConnectWiseError,
    Forbidden,
    NotFound,
    RolePermissionsProvider,
    SecurityRoleModel,
    SecurityRoleProvider,
    Settings,
    TransportError,
    Unauthorized,
    conditions,
    resolve_settings,
)
from cwroles.permissions import customize_differences, grid_of, parse_grant_list
from cwroles.problems import Where
from cwroles.provider.api_member import FIELDS as MEMBER_FIELDS
from cwroles.provider.api_member import ApiMemberState
from cwroles.provider.role_permissions import RolePermissionsArgs
from cwroles.provider.security_role import SecurityRoleArgs, SecurityRoleState

from .program import ConfigSource, Plan, StackConfigError, plan_from_config
from .state import StackConfig, StackState, StateError, Workspace

__all__ = [
    "Verdict", "Finding", "Tenant", "StackResult", "Prepared", "LiveObjects", "sweep", "prepare", "evaluate",
    "ROLE_TYPE", "PERMISSIONS_TYPE", "MEMBER_TYPE",
]

ROLE_TYPE = "pulumi-python:dynamic/connectwise:SecurityRole"
PERMISSIONS_TYPE = "pulumi-python:dynamic/connectwise:RolePermissions"
MEMBER_TYPE = "pulumi-python:dynamic/connectwise:ApiMember"
OURS = (ROLE_TYPE, PERMISSIONS_TYPE, MEMBER_TYPE)
_ENGINE_TYPES = ("pulumi:pulumi:Stack",)
_MEMBER_OPTIONAL = {k for k in MEMBER_FIELDS if k not in ("name", "role_id")}


class Verdict(str, Enum):
    CLEAN = "clean"
    DRIFT = "drift"
    NOT_CONVERGED = "not_converged"
    ERROR = "error"

    @property
    def label(self) -> str:
        return {"clean": "clean", "drift": "drift", "not_converged": "not converged", "error": "error"}[self.value]


@dataclass(frozen=True)
class Finding:
    """One thing that differs. ``cause``: ``drift`` (changed in ConnectWise since it was last recorded),
    ``pending`` (a checklist not applied yet), ``code`` (the code changed since the last ``up``)."""

    kind: str  # level | allow-list | role | api-member | resource | config
    cause: str  # drift | pending | code
    where: str  # "Finance › Invoicing › Inquire", "security role 'Mobius' › admin_flag", …
    message: str
    was: Optional[str] = None  # as last recorded (state)
    now: Optional[str] = None  # in ConnectWise now (or in the code now, for cause "code")
    code: Optional[str] = None  # what the code asks for
    module: Optional[str] = None
    function: Optional[str] = None
    level: Optional[str] = None

    def to_json(self) -> dict[str, Any]:
        out = {"kind": self.kind, "cause": self.cause, "where": self.where, "was": self.was, "now": self.now,
               "code": self.code, "message": self.message}
        if self.module is not None:
            out.update(module=self.module, function=self.function, level=self.level)
        return out


@dataclass(frozen=True)
class Tenant:
    site: str
    company_id: str
    emulator: bool = False

    @property
    def label(self) -> str:
        host = self.site.split("://", 1)[-1]
        return f"{self.company_id} at {host}" + (" (emulator)" if self.emulator else "")

    @property
    def slug(self) -> str:
        host = self.site.split("://", 1)[-1].rstrip("/")
        raw = f"{self.company_id}@{host}"
        return "".join(ch if ch.isalnum() or ch in "@.-_" else "_" for ch in raw)

    def same_as(self, other: "Tenant") -> bool:
        return _site_key(self.site) == _site_key(other.site) and self.company_id.lower() == other.company_id.lower()

    def to_json(self) -> dict[str, Any]:
        return {"site": self.site, "company_id": self.company_id, "emulator": self.emulator, "label": self.label}


def _site_key(site: str) -> str:
    s = site.strip()
    if "://" not in s:
        s = "https://" + s
    scheme, _, rest = s.rstrip("/").partition("://")
    host, _, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}/{path}"


def _tenant_of(settings: Settings) -> Tenant:
    site = settings.site.strip().rstrip("/")
    if "://" not in site:
        site = "https://" + site
    return Tenant(site, settings.company_id.strip(), bool(settings.emulator))


@dataclass
class StackResult:
    stack: str
    verdict: Verdict
    summary: str
    fix: str = ""
    integration: Optional[str] = None
    title: Optional[str] = None
    tenant: Optional[Tenant] = None
    role_name: Optional[str] = None
    role_id: Optional[int] = None
    member_identifier: Optional[str] = None
    member_id: Optional[int] = None
    findings: list[Finding] = field(default_factory=list)
    checklist: Optional[str] = None  # Markdown that restores the code's levels for this stack's role
    config_file: Optional[str] = None
    seconds: float = 0.0
    requests: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "verdict": self.verdict.value,
            "summary": self.summary,
            "fix": self.fix,
            "integration": self.integration,
            "tenant": self.tenant.to_json() if self.tenant else None,
            "role": {"name": self.role_name, "id": self.role_id} if self.role_name or self.role_id else None,
            "api_member": ({"identifier": self.member_identifier, "id": self.member_id}
                           if self.member_identifier or self.member_id else None),
            "changes": [f.to_json() for f in self.findings],
            "requests": round(self.requests, 2),
            "seconds": round(self.seconds, 3),
        }


# ---- phase 1: state, config, plan, settings (no request) ---------------------------------------------


@dataclass
class Prepared:
    stack: str
    state: StackState
    config: StackConfig
    plan: Plan
    settings: Settings
    tenant: Tenant

    @property
    def role(self):
        return self.state.by_name(ROLE_TYPE, self.plan.role_resource)

    @property
    def permissions(self):
        return self.state.by_name(PERMISSIONS_TYPE, self.plan.permissions_resource)

    @property
    def member(self):
        return self.state.by_name(MEMBER_TYPE, self.plan.member_resource)

    @property
    def role_id(self) -> Optional[int]:
        r = self.role
        if r is None:
            return None
        v = r.outputs.get("role_id", r.id)
        return _int(v)

    @property
    def member_id(self) -> Optional[int]:
        m = self.member
        return _int(m.outputs.get("member_id", m.id)) if m is not None else None


def _int(v: Any) -> Optional[int]:
    try:
        return int(float(v)) if v is not None and v != "" else None
    except (TypeError, ValueError):
        return None


def _error(stack: str, message: str, fix: str, **kw: Any) -> StackResult:
    return StackResult(stack=stack, verdict=Verdict.ERROR, summary=message, fix=fix, **kw)


def _connectwise_error(stack: str, e: ConnectWiseError, **kw: Any) -> StackResult:
    if isinstance(e, TransportError):
        what = "ConnectWise is unreachable: "
    elif isinstance(e, Unauthorized):
        what = "ConnectWise refused the keys (401): "
    elif isinstance(e, Forbidden):
        what = "ConnectWise denied a read (403): "
    else:
        what = ""
    detail = e.summary
    if e.method or e.path:
        detail += f" (request: {e.method} {e.path}" + (f" → HTTP {e.status}" if e.status else "") + ")"
    return _error(stack, what + detail, e.hint or "run `pulumi preview --refresh` on the stack for the engine's view.",
                  **kw)


def _recorded_tenants(state: StackState) -> list[Tenant]:
    out = []
    for r in state.resources:
        rec = r.outputs.get("tenant") if r.type in OURS else None
        if isinstance(rec, Mapping) and rec.get("site") and rec.get("company_id"):
            out.append(Tenant(str(rec["site"]), str(rec["company_id"]), bool(rec.get("emulator"))))
    return out


def prepare(ws: Workspace, stack: str, environ: Mapping[str, str]) -> Prepared | StackResult:
    """What the program would declare and which tenant it talks to, or the error that stops the stack."""
    where = f"Pulumi.{stack.rsplit('/', 1)[-1]}.yaml"
    try:
        state = ws.state(stack)
        config = ws.config(stack, state)
        where = config.where
        raw = config.namespace("cwroles")
    except StateError as e:
        return _error(stack, e.message, e.fix, config_file=where)
    try:
        plan = plan_from_config(raw, root=ws.root, source=ConfigSource.of_stack(stack.rsplit("/", 1)[-1], ws.config_dir))
    except StackConfigError as e:
        said = str(e) if where in str(e) else f"{where}: {e}"  # the program's messages name the file and line
        return _error(stack, said, f"fix the stack config in {where}; `pulumi preview` fails the same way.",
                      config_file=where)
    kw = dict(integration=plan.integration, title=plan.title, role_name=plan.role_args.get("name"),
              member_identifier=plan.member_args.get("identifier"), config_file=where)
    foreign = sorted({r.type for r in state.resources
                      if r.type not in OURS and r.type not in _ENGINE_TYPES and not r.type.startswith("pulumi:providers:")})
    if foreign:
        return _error(stack, f"the stack holds resources cwroles drift cannot judge: {', '.join(foreign)}.",
                      f"check it with `pulumi preview --refresh --expect-no-changes -s {stack}`.", **kw)

    if not config.is_secret("connectwise:privateKey") and config.get("connectwise:privateKey") not in (None, ""):
        return _error(stack, f"{where}: connectwise:privateKey is stored in plain text (the engine would copy it into "
                      "the state unencrypted; the stack program refuses it).",
                      f"store it encrypted: `pulumi config set --secret connectwise:privateKey <private key> -s {stack}`, "
                      "or remove it and export CONNECTWISE_PRIVATE_KEY; if the file was committed, create a new key "
                      "for the API member and revoke this one.", **kw)

    def config_get(key: str) -> Any:
        return config.get(key)

    try:
        settings = resolve_settings(config_get, environ)
    except StateError as e:
        return _error(stack, e.message, e.fix, **kw)
    except ConfigurationError as e:
        return _error(stack, f"{where}: {e.summary}", e.hint or "set the stack's connectwise:* config.", **kw)
    tenant = _tenant_of(settings)
    for recorded in _recorded_tenants(state):
        if not recorded.same_as(tenant):
            return _error(
                stack,
                f"wrong tenant: the stack's resources live in ConnectWise company {recorded.company_id!r} at "
                f"{recorded.site}, but the stack is now configured for company {tenant.company_id!r} at {tenant.site}. "
                "Nothing was read from either tenant.",
                f"point the stack back at its tenant (connectwise:site / connectwise:companyId in {where}, or the "
                "CONNECTWISE_* variables it was created with); to manage another tenant, use another stack.",
                tenant=recorded, **kw)
    return Prepared(stack, state, config, plan, settings, tenant)


# ---- phase 2 and 3: the live tenant -----------------------------------------------------------------


class _CountingTransport(httpx.BaseTransport):
    """Counts requests per thread (a stack's own reads) and in total."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.local = threading.local()
        self.lock = threading.Lock()
        self.total = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.local.count = getattr(self.local, "count", 0) + 1
        with self.lock:
            self.total += 1
        return self.inner.handle_request(request)

    def take(self) -> int:
        n = getattr(self.local, "count", 0)
        self.local.count = 0
        return n

    def close(self) -> None:
        self.inner.close()


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()  # one for the sweep: building one per client costs ~0.1 s


@dataclass
class LiveObjects:
    """What one tenant returned for a group of stacks."""

    client: Optional[Client] = None
    transport: Optional[_CountingTransport] = None
    roles: dict[int, SecurityRoleModel] = field(default_factory=dict)
    members: dict[int, ApiMemberModel] = field(default_factory=dict)
    error: Optional[ConnectWiseError] = None
    requests: int = 0


def _client(settings: Settings) -> tuple[Client, _CountingTransport]:
    transport = _CountingTransport(httpx.HTTPTransport(verify=_ssl_context(), retries=0))
    client = Client(settings.site, settings.company_id, settings.public_key, settings.private_key, settings.client_id,
                    codebase=settings.codebase, api_version=settings.api_version, retry=settings.retry_policy(),
                    timeout=settings.timeout, transport=transport)
    return client, transport


def read_tenant(settings: Settings, group: list[Prepared]) -> LiveObjects:
    """The group's roles and members: one list request each (ids in one condition), after codebase discovery."""
    live = LiveObjects()
    try:
        live.client, live.transport = _client(settings)
        role_ids = sorted({i for p in group if (i := p.role_id) is not None})
        member_ids = sorted({i for p in group if (i := p.member_id) is not None})
        if role_ids:
            rows = live.client.list_all("/system/securityroles", conditions=conditions.in_("id", role_ids))
            for row in rows:
                role = SecurityRoleModel.model_validate(row)
                if role.id is not None:
                    live.roles[int(role.id)] = role
        if member_ids:
            rows = live.client.list_all("/system/apiMembers", conditions=conditions.in_("id", member_ids))
            for row in rows:
                member = ApiMemberModel.model_validate(row)
                if member.id is not None:
                    live.members[int(member.id)] = member
    except ConnectWiseError as e:
        live.error = e
    except Exception as e:  # fail closed: an answer cwroles cannot read makes the tenant's stacks errors
        live.error = ConnectWiseError(f"ConnectWise answered something cwroles cannot read ({type(e).__name__}: "
                                      f"{str(e).splitlines()[0] if str(e) else ''}).",
                                      hint="run `pulumi preview --refresh` on one of the stacks, and report the answer.")
    finally:
        live.requests = live.transport.take() if live.transport else 0
    return live


def _read_grid(client: Client, role_id: int) -> Optional[Grid]:
    try:
        rows = client.list_role_settings(role_id)
    except NotFound:
        return None  # deleted between the two reads
    return live_grid([r.model_dump(by_alias=True) for r in rows], _lookups())  # type: ignore[arg-type]


def _read_customize(client: Client, identifier: str) -> list[Any]:
    token = client.create_member_token(identifier)
    return client.as_member(token).my_customize_items()


# ---- the comparison: a refresh, then a preview -----------------------------------------------------


class _Lookups:
    """The bundled catalog with its name lookups remembered: every stack asks the same few hundred names
    (each live settings row, each grant), and one lookup normalises every name of the catalog."""

    def __init__(self) -> None:
        self._catalog = load_catalog()
        self._functions = list(self._catalog.functions())
        self._memo: dict[tuple[str, ...], Any] = {}

    def _remember(self, key: tuple[str, ...], compute: Callable[[], Any]) -> Any:
        hit = self._memo.get(key)
        if hit is None:
            try:
                hit = compute()
            except CatalogError as e:
                hit = e
            self._memo[key] = hit
        if isinstance(hit, CatalogError):
            raise CatalogError(str(hit))
        return hit

    def function(self, module: str, function: str):
        return self._remember(("f", module, function), lambda: self._catalog.function(module, function))

    def customize_item(self, function, item: str) -> str:
        return self._remember(("c", function.name, item), lambda: self._catalog.customize_item(function, item))

    def functions(self):
        return iter(self._functions)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._catalog, name)


@lru_cache(maxsize=1)
def _lookups() -> _Lookups:
    return _Lookups()



def _checked(provider: Any, olds: Mapping[str, Any], news: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The inputs as the provider's ``check`` normalises them (olds: the recorded inputs)."""
    result = provider.check(dict(olds), {k: v for k, v in news.items() if v is not None})
    failures = [f"{f.property}: {f.reason}" for f in (result.failures or [])]
    return dict(result.inputs or {}), failures


_permissions_checked: dict[str, tuple[dict[str, Any], list[str]]] = {}


def _checked_permissions(olds: Mapping[str, Any], news: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``RolePermissionsProvider.check`` once per distinct grid and allow-lists: stacks of one integration
    share them, and the check is the costly part of judging a stack. Only the role differs between them."""
    per_role = {k: news.get(k) for k in ("role_id", "role_name", "stack") if k in news}
    shared = {k: v for k, v in news.items() if k not in per_role}
    key = json.dumps(shared, sort_keys=True, default=str)
    if key not in _permissions_checked:
        inputs, failures = _checked(RolePermissionsProvider(), olds, {**shared, "role_id": 1, "role_name": "role"})
        _permissions_checked[key] = ({k: v for k, v in inputs.items() if k not in per_role}, failures)
    inputs, failures = _permissions_checked[key]
    return {**inputs, **per_role, "role_id": _int(per_role.get("role_id"))}, list(failures)


def _text(v: Any) -> Optional[str]:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _same_member(key: str, a: Any, b: Any) -> bool:
    if MEMBER_FIELDS[key][1] and a is not None and b is not None:
        return _int(a) == _int(b)
    return a == b


_GRANT_KEYS = {"module", "function", *LEVEL_NAMES, "waiver"}


def _desired(grants: Any, tenant_catalog: Any = None) -> Grid:
    """The complete grid a list of grant inputs asks for, as the provider reads it (extra keys are metadata;
    ``tenant_catalog``: the tenant's own functions the grants may name)."""
    grants = list(grants or [])
    catalog = catalog_for(tenant_catalog)
    carried = sorted({k for g in grants if isinstance(g, Mapping) for k in g} - _GRANT_KEYS)
    rows, problems = parse_grant_list(grants, Where(path=("grants",)), catalog, carried=carried)
    errors = [p for p in problems if p.is_error]
    if errors:
        raise ValueError("; ".join(str(p) for p in errors))
    return grid_of((r for r in rows if r is not None), catalog)


def _level(grid: Optional[Grid], key: tuple[str, str], level: str) -> Optional[str]:
    if grid is None:
        return None
    cell = grid.get(key)
    return cell[level].value if cell is not None else Level.NONE.value  # type: ignore[index]


def _recorded_drift(outputs: Mapping[str, Any]) -> dict[tuple[str, str, str], str]:
    """Cells a refresh recorded as changed in ConnectWise ("M › F › Level: now X (was Y)") → Y."""
    out = {}
    for line in outputs.get("drift") or []:
        try:
            cell, was = parse_drift_line(str(line))
        except ValueError:  # e.g. an UnknownName: a line in another form says nothing about a cell
            continue
        out[cell] = was
    return out


def _customize_findings(plan_customize: Mapping[str, list[str]], items: list[Any], cause: str) -> tuple[list[Finding], dict]:
    findings: list[Finding] = []
    lists = customize_differences(plan_customize, ((i.customize_identifier, i.item_identifier) for i in items),
                                  _lookups())
    for key, diff in lists.items():
        missing, extra = diff["allow"], diff["disallow"]
        for item in missing:
            findings.append(Finding("allow-list", cause, f"{key} › Customize › {item}", f"{key} › Customize: {item!r} is "
                                    "not allowed in ConnectWise; the code allows it", was="allowed", now="not allowed",
                                    code="allowed"))
        for item in extra:
            findings.append(Finding("allow-list", cause, f"{key} › Customize › {item}", f"{key} › Customize: {item!r} is "
                                    "allowed in ConnectWise; the code does not allow it", was="not allowed",
                                    now="allowed", code="not allowed"))
    return findings, lists


def evaluate(p: Prepared, live: LiveObjects, grid: Optional[Grid], customize_items: Optional[list[Any]] = None) -> StackResult:
    """The verdict for one stack, given what ConnectWise returned (pure: no request)."""
    plan, stack = p.plan, p.stack
    R, P, M = p.role, p.permissions, p.member
    findings: list[Finding] = []
    role_name = plan.role_args.get("name")
    base = dict(integration=plan.integration, title=plan.title, tenant=p.tenant, role_name=role_name,
                member_identifier=plan.member_args.get("identifier"), config_file=p.config.where,
                role_id=p.role_id, member_id=p.member_id)

    declared = {(ROLE_TYPE, plan.role_resource), (PERMISSIONS_TYPE, plan.permissions_resource),
                (MEMBER_TYPE, plan.member_resource)}
    for r in p.state.resources:
        if r.type in OURS and (r.type, r.name) not in declared:
            findings.append(Finding("resource", "code", f"{r.type.rsplit(':', 1)[-1]} {r.name}",
                                    f"{r.name} is in the stack but the code no longer declares it: `pulumi up` deletes it",
                                    was="in the stack", now="not in the code"))
    if R is None and P is None and M is None:
        findings.append(Finding("resource", "code", "stack", "the stack has no resources (never deployed, or "
                                "destroyed): `pulumi up` creates the role, its permissions and the API member"))
        return _conclude(p, findings, None, None, base)

    # -- SecurityRole: read (refresh), then diff as SecurityRoleProvider does --
    role = live.roles.get(p.role_id) if p.role_id is not None else None
    role_replaced = R is None
    if R is None:
        findings.append(Finding("resource", "code", f"security role {role_name!r}",
                                f"the security role {role_name!r} is not in the stack: `pulumi up` creates it",
                                now="not deployed", code="present"))
    elif role is None:
        role_replaced = True
        findings.append(Finding("role", "drift", f"security role {R.outputs.get('name')!r} (id {p.role_id})",
                                f"the security role {R.outputs.get('name')!r} (id {p.role_id}) was deleted in ConnectWise",
                                was="exists", now="deleted", code="exists"))
    else:
        news, failures = _checked(SecurityRoleProvider(), R.inputs, dict(plan.role_args))
        if failures:
            return _error(stack, "the code does not pass the provider's checks: " + "; ".join(failures),
                          f"fix the stack config in {p.config.where}.", **base)
        new_f = SecurityRoleArgs.diffable(news)
        now_f = SecurityRoleArgs.diffable(SecurityRoleState.from_api(role).outputs())  # what a refresh records
        was_f = SecurityRoleArgs.diffable(dict(R.outputs))
        in_f = SecurityRoleArgs.diffable(dict(R.inputs))
        for k in new_f:
            new, now, was = new_f[k], now_f[k], was_f[k]
            if new != now:
                role_replaced = True
                cause = "code" if now == was and new != in_f[k] else "drift"
                where = f"security role id {p.role_id} › {k}"
                findings.append(Finding("role", cause, where,
                                        f"{where}: {now!r} in ConnectWise, the code says {new!r}"
                                        + (" (changed in ConnectWise)" if cause == "drift" else " (the code changed)"),
                                        was=_text(was), now=_text(now), code=_text(new)))

    # -- ApiMember --
    member = live.members.get(p.member_id) if p.member_id is not None else None
    ident = plan.member_args.get("identifier")
    if M is None:
        findings.append(Finding("resource", "code", f"API member {ident!r}",
                                f"the API member {ident!r} is not in the stack: `pulumi up` creates it",
                                now="not deployed", code="present"))
    elif member is None:
        findings.append(Finding("api-member", "drift", f"API member {M.outputs.get('identifier')!r} (id {p.member_id})",
                                f"the API member {M.outputs.get('identifier')!r} (id {p.member_id}) no longer exists "
                                "in ConnectWise", was="exists", now="deleted", code="exists"))
    else:
        news_in = {**plan.member_args, "role_id": p.role_id if not role_replaced else None}
        news, failures = _checked(ApiMemberProvider(), M.inputs, news_in)
        if failures and not role_replaced:
            return _error(stack, "the code does not pass the provider's checks: " + "; ".join(failures),
                          f"fix the stack config in {p.config.where}.", **base)
        outs = ApiMemberState.from_api(member).outputs()  # what a refresh records
        label = f"API member {outs['identifier']!r}"
        if news.get("identifier") != outs["identifier"]:
            cause = "code" if news.get("identifier") != M.inputs.get("identifier") else "drift"
            findings.append(Finding("api-member", cause, f"{label} › identifier",
                                    f"{label}: the code's identifier is {news.get('identifier')!r}",
                                    was=_text(M.outputs.get("identifier")), now=outs["identifier"],
                                    code=_text(news.get("identifier"))))
        for key in MEMBER_FIELDS:
            if key == "role_id" and role_replaced:
                continue  # follows the role, reported above
            new = news.get(key)
            if new is None and key in _MEMBER_OPTIONAL:
                continue
            if not _same_member(key, new, outs[key]):
                code_changed = not _same_member(key, new, M.inputs.get(key))
                live_changed = not _same_member(key, outs[key], M.outputs.get(key))
                cause = "drift" if live_changed or not code_changed else "code"
                findings.append(Finding("api-member", cause, f"{label} › {key}",
                                        f"{label}: {key} is {_text(outs[key])!r} in ConnectWise, the code says {_text(new)!r}",
                                        was=_text(M.outputs.get(key)), now=_text(outs[key]), code=_text(new)))
        if outs["inactive"]:
            findings.append(Finding("api-member", "drift", f"{label} › inactive",
                                    f"{label} was deactivated in ConnectWise: `pulumi up` reactivates it",
                                    was="active", now="inactive", code="active"))

    # -- RolePermissions --
    checklist_changes: list[GridChange] = []
    lists: dict = {}
    if grid is not None:
        try:
            desired_new = _desired(plan.permissions_args.get("grants"), plan.permissions_args.get("tenant_catalog"))
        except (CatalogError, ValueError) as e:
            return _error(stack, f"the code's grants are invalid: {e}", f"fix the stack config in {p.config.where}.", **base)
        checklist_changes = diff_grids(desired_new, grid, _lookups())  # type: ignore[arg-type]
        recorded_live = grid_from_json(P.outputs.get("live") or {}) if P is not None and "live" in P.outputs else None
        recorded_drift = _recorded_drift(P.outputs) if P is not None else {}
        old_desired: Optional[Grid] = None
        news: dict[str, Any] = {}
        if P is not None:
            news_in = {**plan.permissions_args, "role_id": p.role_id, "role_name": role.name if role else role_name}
            if "stack" in RolePermissionsArgs.model_fields:  # the resource class adds the stack's name
                news_in["stack"] = stack.rsplit("/", 1)[-1]
            news, failures = _checked_permissions(P.inputs, news_in)
            if failures:
                return _error(stack, "the code does not pass the provider's checks: " + "; ".join(failures),
                              f"fix the stack config in {p.config.where}.", **base)
            try:
                old_desired = _desired(P.outputs.get("grants", P.inputs.get("grants")),
                                       P.outputs.get("tenant_catalog", P.inputs.get("tenant_catalog")))
            except (CatalogError, ValueError):
                old_desired = None
        for c in checklist_changes:
            key = (c.module, c.function)
            now = c.live.value if c.live is not None else None
            rec = _level(recorded_live, key, c.level)
            code_changed = old_desired is not None and _level(old_desired, key, c.level) != c.desired.value
            if P is None:
                cause, was = "pending", None
            elif recorded_live is not None and rec != (now or Level.NONE.value):
                cause, was = "drift", rec
            elif (c.module, c.function, c.level) in recorded_drift:
                cause, was = "drift", recorded_drift[(c.module, c.function, c.level)]
            elif code_changed:
                cause, was = "code", _level(old_desired, key, c.level)
            else:
                cause, was = "pending", rec
            text = {"drift": f"{c.where}: {now or 'missing'} in ConnectWise (was {was}); the code says {c.desired.value}",
                    "pending": f"{c.where}: still {now or 'missing'} in ConnectWise; the code says {c.desired.value} "
                               "(checklist not applied)",
                    "code": f"{c.where}: the code now says {c.desired.value} (was {was}); ConnectWise has {now or 'missing'}"}[cause]
            findings.append(Finding("level", cause, c.where, text, was=was, now=now or "missing", code=c.desired.value,
                                    module=c.module, function=c.function, level=c.level))
        if P is not None:
            findings += _code_changes(P, news, old_desired, desired_new,
                                      {(c.module, c.function, c.level) for c in checklist_changes}, role_replaced)
            if p.role_id is not None and _int(P.outputs.get("role_id", P.inputs.get("role_id"))) != p.role_id:
                findings.append(Finding("resource", "code", f"permissions of {role_name!r}",
                                        "the permissions resource points at another role id: `pulumi up` replaces it",
                                        was=_text(P.outputs.get("role_id")), now=_text(p.role_id)))
        elif not checklist_changes and not role_replaced:
            findings.append(Finding("resource", "pending", f"permissions of {role_name!r}",
                                    "ConnectWise now matches the code, but the last `pulumi up` stopped at the checklist: "
                                    "run `pulumi up` to record it", was="checklist pending", now="matches the code"))
        if customize_items is not None:
            more, lists = _customize_findings(plan.permissions_args.get("customize") or {}, customize_items,
                                              "pending" if P is None else "drift")
            findings += more
    elif P is not None and not role_replaced:
        findings.append(Finding("resource", "drift", f"permissions of {role_name!r}",
                                "the role's settings could not be found in ConnectWise", now="missing"))
    if grid is not None and (checklist_changes or lists):
        checklist = render_checklist(role.name if role else role_name, checklist_changes, lists)
    else:
        checklist = None
    return _conclude(p, findings, checklist, role, base)


def _verified_form(key: str, value: Any) -> Any:
    """A verified input as the provider's diff compares it: allow-lists as sets per function, "" as None."""
    if key == "customize":
        return {k: sorted(v) for k, v in (value or {}).items() if v} if isinstance(value, dict) else value
    return value or None


def _code_changes(P, news: Mapping[str, Any], old_desired: Optional[Grid], new_desired: Grid,
                  reported: set[tuple[str, str, str]], role_replaced: bool) -> list[Finding]:
    """What the permissions resource's diff counts as changed since the last ``up``: the grid, and the inputs it
    verifies (RolePermissionsArgs.VERIFIED). Inputs only the policy pack reads (integration, features, waivers …)
    change nothing in ConnectWise, and preview shows no change for them either."""
    out: list[Finding] = []
    olds = {**P.inputs, **P.outputs}
    if old_desired is not None and old_desired != new_desired:
        for fkey in sorted(set(new_desired) | set(old_desired)):
            for lv in LEVEL_NAMES:
                a, b = _level(old_desired, fkey, lv), _level(new_desired, fkey, lv)
                if a != b and (fkey[0], fkey[1], lv) not in reported:
                    where = f"{fkey[0]} › {fkey[1]} › {lv.title()}"
                    out.append(Finding("level", "code", where, f"{where}: the code now says {b} (the last `pulumi up` "
                                       f"had {a}); ConnectWise already has {b}: `pulumi up` records it",
                                       was=a, now=b, code=b, module=fkey[0], function=fkey[1], level=lv))
    for key in getattr(RolePermissionsArgs, "VERIFIED", ("role_name", "customize", "checklist_dir", "member_identifier")):
        new, old = _verified_form(key, news.get(key)), _verified_form(key, olds.get(key))
        if new == old or (key == "role_name" and role_replaced) or (key == "stack" and old is None):
            continue  # a stack state does not record yet (an import, older state) is no change, as in the diff
        if key == "customize":
            for fn in sorted(set(new or {}) | set(old or {})):
                a, b = (old or {}).get(fn) or [], (new or {}).get(fn) or []
                for item in [x for x in b if x not in a]:
                    out.append(Finding("allow-list", "code", f"{fn} › Customize › {item}",
                                       f"{fn} › Customize: the code now allows {item!r}", was="not allowed",
                                       now="allowed", code="allowed"))
                for item in [x for x in a if x not in b]:
                    out.append(Finding("allow-list", "code", f"{fn} › Customize › {item}",
                                       f"{fn} › Customize: the code no longer allows {item!r}", was="allowed",
                                       now="not allowed", code="not allowed"))
        else:
            out.append(Finding("config", "code", key, f"{key} changed since the last `pulumi up`",
                               was=_short(old), now=_short(new), code=_short(new)))
    return out


def _short(v: Any) -> Optional[str]:
    if v is None:
        return None
    if isinstance(v, (list, dict)):
        text = json.dumps(v, ensure_ascii=False, sort_keys=True)
        return text if len(text) <= 120 else text[:117] + "…"
    return _text(v)


def _conclude(p: Prepared, findings: list[Finding], checklist: Optional[str], role: Any, base: dict) -> StackResult:
    stack = p.stack
    causes = {f.cause for f in findings}
    if not findings:
        return StackResult(stack=stack, verdict=Verdict.CLEAN, summary="ConnectWise matches the code", checklist=None, **base)
    n_drift = sum(f.cause == "drift" for f in findings)
    n_pending = sum(f.cause == "pending" for f in findings)
    n_code = sum(f.cause == "code" for f in findings)
    up = f"`pulumi up -s {stack}`"
    if "drift" in causes:
        verdict = Verdict.DRIFT
        summary = f"{n_drift} change{'s' if n_drift != 1 else ''} made in ConnectWise"
        gone = [f for f in findings if f.now == "deleted"]
        if gone:
            fix = f"{up} creates what was deleted; then apply the checklist it writes, and run `pulumi up` again"
        elif checklist:
            fix = ("restore the code's levels in ConnectWise (the tenant's drift checklist), or if the change is "
                   f"wanted, put it in the code and run {up}")
        else:
            fix = f"{up} sets it back (API members are writable), or put the change in the code"
    else:
        verdict = Verdict.NOT_CONVERGED
        pending_cells = sum(f.cause == "pending" and f.kind in ("level", "allow-list") for f in findings)
        parts = []
        if pending_cells:
            parts.append(f"{pending_cells} setting{'s' if pending_cells != 1 else ''} of the last checklist not applied")
        elif n_pending:
            parts.append("the checklist was applied, but `pulumi up` has not run since")
        if any(f.where == "stack" for f in findings):
            parts.append("nothing deployed")
        elif n_code:
            parts.append("the code changed since the last `pulumi up`")
        summary = "; ".join(parts)
        fix = (f"apply the checklist in ConnectWise, then run {up}" if pending_cells else f"run {up}")
    if n_drift and (n_pending or n_code):
        summary += f" (and {n_pending + n_code} not converged)"
    return StackResult(stack=stack, verdict=verdict, summary=summary, fix=fix, findings=findings, checklist=checklist,
                       **base)


# ---- the sweep ---------------------------------------------------------------------------------------


def sweep(ws: Workspace, stacks: list[str], *, parallel: int = 8, customize: bool = False,
          environ: Mapping[str, str] | None = None,
          on_result: Optional[Callable[[StackResult], None]] = None) -> list[StackResult]:
    """Every stack's verdict, in ``stacks`` order; ``on_result`` is called as each one is known."""
    env = ws.environ if environ is None else environ
    t0: dict[str, float] = {}
    results: dict[str, StackResult] = {}
    lock = threading.Lock()

    def done(r: StackResult) -> None:
        r.seconds = time.perf_counter() - t0.get(r.stack, time.perf_counter())
        with lock:
            results[r.stack] = r
        if on_result is not None:
            on_result(r)

    def phase1(stack: str) -> Prepared | StackResult:
        t0[stack] = time.perf_counter()
        try:
            return prepare(ws, stack, env)
        except Exception as e:  # fail closed: never "clean" because something unexpected happened
            return _error(stack, f"cwroles could not judge this stack ({type(e).__name__}: {e}).",
                          f"check it with `pulumi preview --refresh --expect-no-changes -s {stack}` and report the error.")

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="drift") as pool:
        prepared: list[Prepared] = []
        for out in pool.map(phase1, stacks):
            if isinstance(out, StackResult):
                done(out)
            else:
                prepared.append(out)
        groups: dict[Settings, list[Prepared]] = {}
        for prep in prepared:
            groups.setdefault(prep.settings, []).append(prep)
        lives = dict(zip(groups, pool.map(lambda kv: read_tenant(kv[0], kv[1]), groups.items())))

        def phase3(prep: Prepared) -> None:
            live = lives[prep.settings]
            share = live.requests / len(groups[prep.settings])
            try:
                if live.error is not None:
                    r = _connectwise_error(prep.stack, live.error, integration=prep.plan.integration,
                                           tenant=prep.tenant, config_file=prep.config.where)
                else:
                    grid = None
                    items = None
                    role = live.roles.get(prep.role_id) if prep.role_id is not None else None
                    if role is not None and live.client is not None:
                        grid = _read_grid(live.client, int(role.id))  # type: ignore[arg-type]
                        member = live.members.get(prep.member_id) if prep.member_id is not None else None
                        if (customize and grid is not None and member is not None and not member.inactive_flag
                                and member.security_role is not None and member.security_role.id == role.id
                                and prep.plan.permissions_args.get("customize")):
                            items = _read_customize(live.client, member.identifier)
                    r = evaluate(prep, live, grid, items)
            except ConnectWiseError as e:
                r = _connectwise_error(prep.stack, e, integration=prep.plan.integration, tenant=prep.tenant,
                                       config_file=prep.config.where)
            except Exception as e:  # fail closed
                r = _error(prep.stack, f"cwroles could not judge this stack ({type(e).__name__}: {e}).",
                           f"check it with `pulumi preview --refresh --expect-no-changes -s {prep.stack}`.",
                           integration=prep.plan.integration, tenant=prep.tenant)
            own = live.transport.take() if live.transport is not None else 0
            r.requests = own + share
            done(r)

        list(pool.map(phase3, prepared))
        for live in lives.values():
            if live.client is not None:
                live.client.close()
    return [results[s] for s in stacks]
