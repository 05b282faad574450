"""``cwroles export``: a live role (and its API member) as code that adopts it.

Reads the role, its settings (one page) and the API member that holds it: 3 requests; reading its
Customize allow-lists takes 2 more (a short-lived token for that member, then its items: ConnectWise
has no API that reads a role's lists), skipped with ``--no-customize``. Writes:

* ``integrations/<name>.yaml``: a manifest with the live levels and allow-lists, each marked as exported
  on that date, valid for ``cwroles manifest validate``. Functions and tables the bundled catalog lacks
  are named under ``tenant_catalog:``, as the tenant shows them;
* ``Pulumi.<stack>.yaml``: the stack, with ``cwroles:adopt: {roleId, apiMemberId}``, so its first
  ``pulumi up`` imports the role, its grid and the member instead of creating anything.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import typer
import yaml
from rich.markup import escape

from cwroles.catalog import LEVEL_NAMES, CatalogError, load_catalog
from cwroles.catalog_extras import CatalogExtras, ExtraFunction, ExtraMenuEntry, ExtraSetupTable, catalog_for
from cwroles.grid import Level
from cwroles.manifest import NAME_PATTERN, PROJECT_FOLDER, manifest_names, parse_manifest_text
from cwroles.names import join_function, split_function
from cwroles.permissions import MEMBER_IDENTIFIER_MAX, MEMBER_NAME_MAX
from cwroles.provider import ApiMemberModel, ConnectWiseError, NotFound, SecurityRoleModel
from cwroles.provider import _config
from cwroles.provider.tenant import (RoleReading, customize_lists, find_role, read_customize, read_role,
                                     role_members)

from ._common import console, fail, print_commands
from ._tenant import DIR_HELP, connect, read_failed, status

_NAME_RE = re.compile(NAME_PATTERN)


@dataclass
class Exported:
    """What export read, as plain data (the manifest and stack file are rendered from it)."""

    role: SecurityRoleModel
    reading: RoleReading
    member: Optional[ApiMemberModel]
    customize: Optional[dict[str, list[str]]]  # None: not read
    day: dt.date
    notes: list[str] = field(default_factory=list)  # what the admin should know (shown, and kept in the manifest)


def integration_name(role_name: str) -> str:
    """A manifest name from a role name: "Legacy RMM" → "legacy-rmm" (a built-in's name gets "-custom")."""
    slug = re.sub(r"[^a-z0-9]+", "-", role_name.lower()).strip("-")[:40].strip("-") or "exported-role"
    if not slug[0].isalnum():
        slug = "role-" + slug
    if slug in manifest_names():
        slug = (slug[:33] + "-custom").strip("-")
    return slug


def _identifier_for(role_name: str) -> str:
    ident = re.sub(r"[^A-Za-z0-9._-]+", "", role_name)[:MEMBER_IDENTIFIER_MAX] or "integration"
    return ident if ident[0].isalnum() else "m" + ident[: MEMBER_IDENTIFIER_MAX - 1]


def _mark(day: dt.date, role: SecurityRoleModel) -> tuple[str, str]:
    """(reason, source) that mark a value as exported on ``day``."""
    return (f"Exported: the live level on {day.isoformat()}; replace with why the integration needs it",
            f"exported from ConnectWise on {day.isoformat()} (role {role.name!r}, id {role.id})")


def manifest_document(x: Exported, name: str) -> dict[str, Any]:
    """The manifest (plain data, the core's schema) for what was read."""
    catalog = load_catalog()
    reason, source = _mark(x.day, x.role)
    grid = x.reading.grid()
    order = {(s.module_name, s.module_function_name): (s.sort_order or 0, i) for i, s in enumerate(x.reading.settings)}
    own_rows = {(s.module_name, s.module_function_name) for s in x.reading.tenant_rows()}
    grants: list[dict[str, Any]] = []
    own: list[ExtraFunction] = []

    def position(key: tuple[str, str]) -> tuple[int, int]:
        if key in order:
            return order[key]
        for s in x.reading.settings:  # catalog spelling of a live row
            try:
                m, f = catalog.function(s.module_name, s.module_function_name)
            except CatalogError:
                continue
            if (m.name, f.name) == key:
                return order[(s.module_name, s.module_function_name)]
        return (10**6, 0)

    for key in sorted(grid, key=position):
        levels = {n: lv for n, lv in grid[key].items() if lv is not Level.NONE}
        if not levels:
            continue
        if key in own_rows:
            own.append(ExtraFunction(module=key[0], function=key[1]))
        else:
            _m, f = catalog.function(*key)
            dropped = [n for n in levels if n not in f.levels]
            if dropped:  # the catalog says the level does not exist: keep the manifest valid, say so
                x.notes.append(f"{join_function(*key)}: ConnectWise shows {', '.join(n.title() for n in dropped)} "
                               "although cwroles' catalog says the function has no such level; left out of the "
                               "manifest (send `cwroles catalog diff` to the cwroles maintainers)")
                levels = {n: lv for n, lv in levels.items() if n in f.levels}
                if not levels:
                    continue
        grants.append({"module": key[0], "function": key[1], **{n: levels[n].value for n in LEVEL_NAMES if n in levels},
                       "reason": reason, "source": source})
    tables: list[ExtraSetupTable] = []
    entries: list[ExtraMenuEntry] = []
    customize: list[dict[str, Any]] = []
    extended = catalog_for(CatalogExtras(functions=own).to_json() or None)
    for fn, items in (x.customize or {}).items():
        if not items:
            continue
        _m, f = extended.function(*split_function(fn))
        kept = []
        for item in items:  # an item the catalog lacks is the tenant's own: named under tenant_catalog
            try:
                extended.customize_item(f, item)
            except CatalogError:
                ident = f.customize.identifier if f.customize else None
                category, _, table = item.partition(" / ")
                if ident == "SystemTableSetup" and table.strip():
                    tables.append(ExtraSetupTable(category=category.strip(), table=table.strip()))
                elif ident == "SystemCustomMenuEntry":
                    entries.append(ExtraMenuEntry(name=item))
                else:
                    x.notes.append(f"{fn} › Customize item {item!r} is not one cwroles can name; left out")
                    continue
            kept.append(item)
        if kept:
            customize.append({"function": fn, "items": kept, "reason": reason.replace("level", "allow-list"),
                              "source": source})
    extras = CatalogExtras(functions=own, setup_tables=tables, custom_menu_entries=entries)
    member_ident = x.member.identifier if x.member else _identifier_for(x.role.name)
    member_name = ((x.member.name or x.member.identifier) if x.member else x.role.name)[:MEMBER_NAME_MAX]
    doc: dict[str, Any] = {
        "integration": name,
        "title": x.role.name,
        "vendor_page": f"exported from ConnectWise on {x.day.isoformat()}; replace with the vendor's setup page (URL)",
        "role": {"name": x.role.name},
        "api_member": {"identifier": member_ident, "name": member_name},
        "grants": grants,
    }
    if customize:
        doc["customize"] = customize
    if not extras.is_empty():
        doc["tenant_catalog"] = extras.to_json()
    notes = [f"Exported by `cwroles export` on {x.day.isoformat()} from security role {x.role.name!r} (id {x.role.id})"
             + (f" and API member {x.member.identifier!r} (id {x.member.id})" if x.member else "")
             + ": every grant and list is what ConnectWise had then. Review each against the vendor's page."]
    if x.customize is None:
        notes.append("The Customize allow-lists were not read (see the export's output).")
    doc["notes"] = " ".join(notes + x.notes)
    return doc


def _manifest_text(doc: dict[str, Any], x: Exported) -> str:
    head = (f"# {x.role.name} — exported from ConnectWise PSA on {x.day.isoformat()} by `cwroles export`.\n"
            "# Each grant and allow-list is the live value on that date (reason/source say so): replace each reason with\n"
            "# why the integration needs it, and compare the whole file with the vendor's page. Schema: cwroles/manifest.py.\n")
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


def _stack_keys(x: Exported, name: str) -> dict[str, Any]:
    adopt: dict[str, int] = {"roleId": int(x.role.id or 0)}
    if x.member is not None:
        adopt["apiMemberId"] = int(x.member.id or 0)
    keys: dict[str, Any] = {"cwroles:integration": name, "cwroles:adopt": adopt}
    if x.role.role_type:
        keys["cwroles:roleType"] = x.role.role_type
    return keys


def _write_stack(path: Path, keys: dict[str, Any], settings: _config.Settings, stack: str, name: str) -> tuple[bool, dict]:
    existing: dict[str, Any] = {}
    if path.exists():
        existing = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(existing, dict):
            fail(f"{path} exists but is not a Pulumi stack file; move it away and run again", code=1)
    config: dict[str, Any] = dict(existing.get("config") or {})
    for k in [k for k in config if k.startswith("cwroles:")]:
        del config[k]  # this command's keys replace the old ones; everything else (secrets too) stays
    config.update(keys)
    if settings.emulator:
        word = getattr(_config, "EMULATOR", None)
        if word and not config.get("connectwise:site"):
            config["connectwise:site"] = word
    else:
        for key, value in (("connectwise:site", settings.site), ("connectwise:companyId", settings.company_id),
                           ("connectwise:clientId", settings.client_id)):
            config.setdefault(key, value)
    doc = {k: v for k, v in existing.items() if k != "config"}
    doc["config"] = config
    header = (f"# Stack {stack}: adopts the existing role and API member of integration {name} "
              "(written by `cwroles export`).\n"
              "# cwroles:adopt imports them on the first `pulumi up`; nothing is created. No secrets here.\n")
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return bool(existing), config


def _stack_has_site(path: Path) -> bool:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(doc, dict) and bool((doc.get("config") or {}).get("connectwise:site"))


def export(
    role: str = typer.Option(..., "--role", "-r", help="The security role: its name (UI “Role ID”) or its id"),
    member: Optional[str] = typer.Option(None, "--member", "-m", help="The API member (identifier) that holds it; "
                                                                       "default: the one active API member holding it"),
    integration: Optional[str] = typer.Option(None, "--integration", "-i",
                                              help="The manifest's name (default: from the role name)"),
    stack: Optional[str] = typer.Option(None, "--stack", "-s",
                                        help="The stack to write, Pulumi.<stack>.yaml (default: the integration's "
                                             "name); when it exists with connectwise:* settings, they name the tenant"),
    directory: Path = typer.Option(Path("."), "--dir", help=DIR_HELP),
    no_customize: bool = typer.Option(False, "--no-customize", help="Do not read the Customize allow-lists "
                                                                    "(they cost 2 requests, through the API member)"),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing integrations/<name>.yaml"),
) -> None:
    """Export a live security role, and its API member, as a manifest and a stack file that adopt them.

    The tenant: the stack's connectwise:* settings when its file has them, else the CONNECTWISE_* variables,
    else the bundled emulator. Reads only (3 requests, +2 for the Customize lists).
    """
    name = integration or None
    if name is not None and not _NAME_RE.match(name):
        fail(f"--integration {name!r}: use lower-case letters, digits and '-' (at most 40), e.g. legacy-rmm")
    if name is not None and name in manifest_names():
        fail(f"--integration {name!r} is a built-in integration; choose another name, e.g. {name + '-custom'!r}")
    settings_stack = stack if stack and _stack_has_site(directory / f"Pulumi.{stack}.yaml") else None
    conn = connect(settings_stack, directory)
    status(f"Reading security role {role!r} from {conn.tenant} …")
    notes: list[str] = []
    try:
        live_role = find_role(conn.client, role)
        if live_role.admin_flag:
            fail(f"security role {live_role.name!r} (id {live_role.id}) has adminFlag set: it can do everything in "
                 "ConnectWise PSA, and cwroles does not manage administrator roles for integrations. Give the "
                 "integration a role with only what its vendor asks for (`cwroles manifest new`), move its API member "
                 "to it, then export that role.", code=1)
        reading = read_role(conn.client, live_role)
        holder = _member(conn, live_role, member, notes)
        lists: Optional[dict[str, list[str]]] = None
        if holder is not None and not no_customize:
            try:
                items = read_customize(conn.client, holder.identifier)
                extras = CatalogExtras(functions=[ExtraFunction(module=s.module_name, function=s.module_function_name)
                                                  for s in reading.tenant_rows()])
                lists, unplaced = customize_lists(items, catalog_for(extras.to_json() or None))
                for item in unplaced:
                    notes.append(f"allow-list item {item.item_identifier!r} of list {item.customize_identifier!r} "
                                 "belongs to no function cwroles knows; left out")
            except ConnectWiseError as e:
                notes.append(f"the Customize allow-lists could not be read through {holder.identifier!r} "
                             f"({e.summary}); add them to the manifest by hand (customize:)")
        elif holder is None:
            notes.append("the Customize allow-lists were not read: they can only be read through an active API member "
                         "that holds the role")
    except NotFound as e:
        fail(str(e), code=1)
    except ConnectWiseError as e:
        read_failed(conn, e)
    x = Exported(live_role, reading, holder, lists, dt.date.today(), notes)
    name = name or integration_name(live_role.name)
    stack = stack or name
    doc = manifest_document(x, name)
    text = _manifest_text(doc, x)
    target = directory / PROJECT_FOLDER / f"{name}.yaml"
    checked = parse_manifest_text(text, str(Path(PROJECT_FOLDER) / target.name), path=target)
    if not checked.ok:  # never write a manifest the stack could not use
        fail("the exported manifest would not be valid: " + "; ".join(str(p) for p in checked.errors), code=1)
    if target.exists() and not force:
        fail(f"{target} exists; pass --force to overwrite it, or --integration <another name>", code=1)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    stack_path = directory / f"Pulumi.{stack}.yaml"
    updated, config = _write_stack(stack_path, _stack_keys(x, name), conn.settings, stack, name)
    _report(x, doc, target, stack_path, updated, stack, config, conn.requests)


def _member(conn, live_role: SecurityRoleModel, ident: Optional[str], notes: list[str]) -> Optional[ApiMemberModel]:
    """The API member to adopt with the role (1 request)."""
    if ident:
        found = conn.client.find_api_member(ident)
        if found is None:
            fail(f"ConnectWise has no API member {ident!r}; check the Member ID in System › Members › API Members", code=1)
        held = found.security_role.id if found.security_role else None
        if held != live_role.id:
            has = (found.security_role.name or held) if found.security_role else "no role"
            fail(f"API member {found.identifier!r} holds security role {has!r}, not {live_role.name!r}; export its own "
                 f"role (--role {has!r}) or pass the member that holds {live_role.name!r}", code=1)
        if found.inactive_flag:
            fail(f"API member {found.identifier!r} is inactive; adopting it would reactivate it. Export without --member, "
                 "or reactivate it in ConnectWise first", code=1)
        return found
    holders = role_members(conn.client, int(live_role.id or 0))
    active = [m for m in holders if not m.inactive_flag]
    inactive = [m.identifier for m in holders if m.inactive_flag]
    if len(active) > 1:
        fail(f"security role {live_role.name!r} is held by {len(active)} active API members "
             f"({', '.join(m.identifier for m in active)}); choose the integration's with --member", code=2)
    if inactive:
        notes.append(f"inactive API member(s) {', '.join(inactive)} also hold the role; not adopted (deactivated "
                     "members keep their API keys: revoke them in System › Members › API Members)")
    if not active:
        notes.append("no active API member holds the role: the manifest names a new one, which `pulumi up` creates")
        return None
    return active[0]


def _report(x: Exported, doc: dict, target: Path, stack_path: Path, updated: bool, stack: str, config: dict,
            requests: int) -> None:
    grants = len(doc["grants"])
    lists = sum(len(c["items"]) for c in doc.get("customize", []))
    own = len((doc.get("tenant_catalog") or {}).get("functions", []))
    console.print(f"Wrote [bold]{escape(str(target))}[/]: role {escape(x.role.name)!r} (id {x.role.id}), {grants} "
                  f"grant(s)" + (f", {lists} allow-list item(s)" if lists else "")
                  + (f", {own} function(s) the bundled catalog lacks (under tenant_catalog)" if own else "")
                  + f", exported on {x.day.isoformat()}.", highlight=False, soft_wrap=True)
    member = (f"API member {x.member.identifier!r} (id {x.member.id})" if x.member else "no API member")
    console.print(f"{'Updated' if updated else 'Wrote'} [bold]{escape(str(stack_path))}[/] (stack [bold]{stack}[/]): "
                  f"adopts the role and {escape(member)}.", highlight=False, soft_wrap=True)
    for n in x.notes:
        console.print(f"note: {escape(n)}", highlight=False, soft_wrap=True)
    steps = [f"cwroles manifest validate {Path(PROJECT_FOLDER) / target.name}", f"pulumi stack select --create {stack}"]
    if "connectwise:site" in config and not str(config["connectwise:site"]).startswith("emulator"):
        if "connectwise:publicKey" not in config:
            steps.append(f"pulumi config set --secret connectwise:publicKey <public key> -s {stack}")
        if "connectwise:privateKey" not in config:
            steps.append(f"pulumi config set --secret connectwise:privateKey -s {stack}   # prompts; stored encrypted")
    steps += [f"pulumi preview -s {stack}   # the role, its permissions and the member as imports: nothing to create",
              f"pulumi up -s {stack}        # adopts them; then `pulumi preview` shows no changes"]
    print_commands(steps)
    status(f"{requests} request(s) to ConnectWise.")
