"""Reading a tenant as it is: one role (export), every role and API member (audit), its catalog (catalog diff).

The read side of bringing existing roles under management, through the provider's own client and models.
Every function here only reads (an impersonation token is the one POST, and it changes nothing) and
makes a known number of requests:

* :func:`find_role` 1 · :func:`read_role` 1 (one page of settings) · :func:`role_members` 1;
* :func:`read_customize` 2 (a token for an API member that holds the role, then that member's items:
  ConnectWise has no API that reads a role's Customize lists);
* :func:`read_tenant` ``R + 2`` for ``R`` roles (the role list, the API member list, one settings page
  per role; more only past 1,000 roles or members), plus 1 for ``with_setup_screens``.

Rows the bundled catalog lacks are kept under their live module and function names (the live tenant
is the authority on its own catalog): :attr:`RoleReading.tenant_rows` lists them.
Connection settings come from :func:`command_settings`: a stack's ``connectwise:*`` config, the
``CONNECTWISE_*`` variables, or the bundled emulator, as the stacks resolve them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from functools import lru_cache
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, cast

from cwroles.catalog import LEVEL_NAMES, Catalog, CatalogError, load_catalog
from cwroles.grid import Grid, Level, live_grid

from . import _conditions as C
from . import _config
from ._client import Client, _import_httpx, _tls_for, normalize_site
from ._errors import ConfigurationError, ConnectWiseError, NotFound
from ._models import ApiMember, MySecurityCustomizeItem, SecurityRole, SecurityRoleSetting, SetupScreen

__all__ = [
    "RoleReading", "TenantReading", "RequestCounter", "find_role", "read_role", "role_members", "read_customize",
    "read_tenant", "read_setup_screens", "command_settings", "counting_client", "describe_tenant", "CUSTOMIZE_ITEMS",
]

Progress = Callable[[int, int, str], None]  # (done, total, what)


@dataclass
class RoleReading:
    """A role and its settings rows as ConnectWise returned them."""

    role: SecurityRole
    settings: list[SecurityRoleSetting]

    @property
    def id(self) -> int:
        return int(self.role.id or 0)

    @property
    def name(self) -> str:
        return self.role.name

    def grid(self, catalog: Optional[Catalog] = None) -> Grid:
        """The live grid: catalog spellings where the catalog knows a row, live names where it does not
        (``cwroles.grid.live_grid``; for the bundled catalog with each name looked up once per process)."""
        if catalog is not None and catalog is not load_catalog():
            return live_grid([s.model_dump(by_alias=True) for s in self.settings], catalog)
        grid: Grid = {}
        for s in self.settings:
            key = _bundled_key(s.module_name, s.module_function_name) or (s.module_name, s.module_function_name)
            grid[key] = {n: Level.parse(getattr(s, f"{n}_level")) for n in LEVEL_NAMES}
        return grid

    def tenant_rows(self) -> list[SecurityRoleSetting]:
        """Rows whose module or function the bundled catalog lacks (the tenant's own)."""
        return [s for s in self.settings if _bundled_key(s.module_name, s.module_function_name) is None]


@lru_cache(maxsize=8192)
def _bundled_key(module: str, function: str) -> Optional[tuple[str, str]]:
    """The bundled catalog's (module, function) for a live row's names, or None when it lacks them."""
    try:
        m, f = load_catalog().function(module, function)
    except CatalogError:
        return None
    return m.name, f.name


@dataclass
class TenantReading:
    """Every security role (with its settings) and every API member of a tenant."""

    roles: list[RoleReading] = field(default_factory=list)
    members: list[ApiMember] = field(default_factory=list)
    setup_screens: Optional[list[SetupScreen]] = None
    failures: list[tuple[SecurityRole, ConnectWiseError]] = field(default_factory=list)  # roles that could not be read

    def members_of(self, role_id: int) -> list[ApiMember]:
        return [m for m in self.members if m.security_role is not None and m.security_role.id == role_id]


class RequestCounter:
    """An httpx transport that counts the requests it sends (what a command reports as its cost). httpx is
    imported with the first request, as the provider's client does (``_client._import_httpx``)."""

    def __init__(self, inner: Any = None, site: str = "") -> None:
        self.inner = inner
        self.site = site
        self.count = 0
        self.by_path: dict[str, int] = {}
        self._lock = threading.Lock()  # pages are read from several threads

    def handle_request(self, request: Any) -> Any:
        key = f"{request.method} {request.url.path}"
        with self._lock:
            self.count += 1
            self.by_path[key] = self.by_path.get(key, 0) + 1
            if self.inner is None:  # the transport the client would have made: the same certificate checks
                self.inner = _import_httpx().HTTPTransport(verify=_tls_for(self.site))
        return self.inner.handle_request(request)

    def __enter__(self) -> "RequestCounter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()


def counting_client(settings: _config.Settings, transport: Any = None) -> tuple[Client, RequestCounter]:
    """A client for ``settings`` whose requests are counted."""
    counter = RequestCounter(transport, normalize_site(settings.site))
    client = Client(settings.site, settings.company_id, settings.public_key, settings.private_key, settings.client_id,
                    codebase=settings.codebase, api_version=settings.api_version, retry=settings.retry_policy(),
                    timeout=settings.timeout, transport=cast(Any, counter))  # an httpx transport, duck-typed
    return client, counter


# ---- one role ------------------------------------------------------------------------------------------
def find_role(client: Client, ref: str | int) -> SecurityRole:
    """A role by id (digits) or by name (case-insensitive): one request. Raises NotFound naming the fix."""
    text = str(ref).strip()
    if text.isdigit():
        try:
            return client.get_security_role(int(text))
        except NotFound:
            pass  # a role may be named "123": look it up by name below
    role = client.find_security_role(text)
    if role is None:
        raise NotFound(f"ConnectWise has no security role {text!r} (by id or by name).",
                       hint="check the name in System › Security Roles (the “Role ID” column), or give the role's id; "
                            "`cwroles audit` lists every role with its id.")
    return role


def read_role(client: Client, role: SecurityRole) -> RoleReading:
    """The role's settings: one page (a role has a few hundred rows; a page holds 1,000)."""
    return RoleReading(role, client.list_role_settings(int(role.id or 0)))


def role_members(client: Client, role_id: int) -> list[ApiMember]:
    """The API members that hold the role: one request."""
    rows = client.list_all("/system/apiMembers", conditions=C.eq("securityRole/id", int(role_id)))
    return [ApiMember.model_validate(r) for r in rows]


CUSTOMIZE_ITEMS = "customize items"


def read_customize(client: Client, member_identifier: str) -> list[MySecurityCustomizeItem]:
    """The Customize allow-list items of the role ``member_identifier`` holds: two requests (a short-lived
    token for the member, then the member's own items). Raises ConnectWiseError when ConnectWise refuses."""
    token = client.create_member_token(member_identifier)
    return client.as_member(token).my_customize_items()


def customize_lists(items: list[MySecurityCustomizeItem], catalog: Optional[Catalog] = None
                    ) -> tuple[dict[str, list[str]], list[MySecurityCustomizeItem]]:
    """The items as ``{"Module › Function": [items]}`` in the catalog's spelling (an item the catalog does not
    know keeps ConnectWise's spelling), and the items whose list no catalog function has."""
    catalog = catalog or load_catalog()
    by_identifier = {}
    for m, f in catalog.functions():
        if f.customize is not None and f.customize.identifier and f.customize.identifier not in by_identifier:
            by_identifier[f.customize.identifier] = (m, f)
    lists: dict[str, list[str]] = {}
    unplaced: list[MySecurityCustomizeItem] = []
    for item in items:
        found = by_identifier.get(item.customize_identifier)
        if found is None:
            unplaced.append(item)
            continue
        m, f = found
        try:
            text = catalog.customize_item(f, item.item_identifier)
        except CatalogError:
            text = item.item_identifier.strip()
        key = f"{m.name} › {f.name}"
        if text not in lists.setdefault(key, []):
            lists[key].append(text)
    return lists, unplaced


def read_setup_screens(client: Client) -> list[SetupScreen]:
    return client.list_setup_screens()


# ---- the whole tenant ---------------------------------------------------------------------------------------
def read_tenant(client: Client, progress: Optional[Progress] = None, *, with_setup_screens: bool = False,
                with_members: bool = True, workers: int = 4) -> TenantReading:
    """Every role with its settings, every API member. A role whose settings cannot be read is recorded in
    ``failures`` (the caller fails closed); an error on the lists themselves is raised. ``workers`` settings
    pages are read at a time (the same requests, sooner; 429s are retried by the client)."""
    reading = TenantReading()
    roles = [SecurityRole.model_validate(r) for r in client.list_all("/system/securityroles", order_by="id asc")]
    if with_members:
        reading.members = [ApiMember.model_validate(r) for r in client.list_all("/system/apiMembers",
                                                                                    order_by="id asc")]
    total = len(roles)
    results: dict[int, RoleReading | ConnectWiseError | None] = {}
    if progress is not None and total:
        progress(0, total, roles[0].name)

    def one(role: SecurityRole) -> RoleReading | ConnectWiseError | None:
        try:
            return read_role(client, role)
        except NotFound:
            return None  # deleted while we read: not part of the tenant any more
        except ConnectWiseError as e:
            return e

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="cwroles-read") as pool:
        futures = {pool.submit(one, role): i for i, role in enumerate(roles)}
        for done, future in enumerate(as_completed(futures), start=1):
            i = futures[future]
            results[i] = future.result()
            if progress is not None and done < total:
                progress(done, total, roles[i].name)
    for i, role in enumerate(roles):  # in the tenant's order, whatever order the pages came back in
        got = results.get(i)
        if isinstance(got, RoleReading):
            reading.roles.append(got)
        elif isinstance(got, ConnectWiseError):
            reading.failures.append((role, got))
    if progress is not None:
        progress(total, total, "")
    if with_setup_screens:
        reading.setup_screens = read_setup_screens(client)
    return reading


# ---- connection settings for commands ---------------------------------------------------------------------
def _stack_config(stack: str, directory: Path) -> dict[str, Any]:
    """A stack's ``connectwise:*`` config, secrets decrypted, read with the Pulumi CLI (``pulumi config``)."""
    exe = shutil.which("pulumi")
    if exe is None:
        raise ConfigurationError(f"cannot read the settings of stack {stack!r}: the `pulumi` command is not on PATH.",
                                 hint="run `make setup` (it links pulumi into ~/.local/bin), or export the "
                                      "CONNECTWISE_* variables instead of --stack.")
    proc = subprocess.run([exe, "config", "--json", "--show-secrets", "--stack", stack, "--non-interactive"],
                          cwd=directory, capture_output=True, text=True, env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"})
    if proc.returncode != 0:
        why = (proc.stderr or proc.stdout).strip().splitlines()
        raise ConfigurationError(f"cannot read the settings of stack {stack!r}: {why[-1] if why else 'pulumi config failed'}",
                                 hint="check the stack name (`pulumi stack ls`), the backend (PULUMI_BACKEND_URL) and "
                                      "the passphrase (PULUMI_CONFIG_PASSPHRASE).")
    try:
        doc = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        raise ConfigurationError(f"`pulumi config --json` for stack {stack!r} did not answer JSON.") from None
    return {k: (v.get("value") if isinstance(v, Mapping) else v) for k, v in doc.items() if k.startswith("connectwise:")}


def command_settings(stack: Optional[str] = None, directory: Path = Path("."),
                     environ: Optional[Mapping[str, str]] = None) -> _config.Settings:
    """The tenant a command reads, resolved as the stacks resolve theirs (``resolve_settings``): the stack's
    ``connectwise:*`` config when ``stack`` is given, then the ``CONNECTWISE_*`` variables; with no site
    anywhere, the bundled emulator."""
    env = os.environ if environ is None else environ
    config = _stack_config(stack, directory) if stack else {}
    if not (config.get("connectwise:site") or env.get("CONNECTWISE_SITE")):
        word = getattr(_config, "EMULATOR", None)  # where the stacks need the emulator named, name it
        if word:
            config["connectwise:site"] = word
    return _config.resolve_settings(lambda k: config.get(k), env)


def describe_tenant(settings: _config.Settings) -> str:
    where = f"company {settings.company_id!r} at {settings.site}"
    return f"{where} (the bundled emulator)" if settings.emulator else where
