"""``cwroles catalog diff``: how a live tenant's module functions and Table Setup tables differ from the
bundled catalog, in both directions, with no company data in it (so it can be sent back to cwroles).

Read-only: the role list, one role's settings (every role has one row per function) and the setup-screen
list: 3 requests. The part "only in the tenant" is written in the shape of a manifest's ``tenant_catalog:``
(and of the emulator's catalog extras), so it can be pasted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import typer
import yaml

from cwroles import __version__
from cwroles.catalog import Catalog, CatalogError, load_catalog, normalize
from cwroles.catalog_extras import CatalogExtras, ExtraFunction, ExtraSetupTable
from cwroles.names import join_function
from cwroles.provider import ConnectWiseError, SecurityRoleModel, SecurityRoleSetting, SetupScreen
from cwroles.provider.tenant import read_role, read_setup_screens

from ._common import console, fail, group
from ._tenant import DIR_HELP, STACK_HELP, connect, read_failed, status

app = group("The bundled catalog of module functions and Table Setup tables, against a live tenant.")

SCHEMA = "cwroles-catalog-diff"


@dataclass
class CatalogDiff:
    """The difference, in catalog names only."""

    only_in_tenant: CatalogExtras
    tenant_modules: list[str]  # modules the catalog lacks (their functions are in only_in_tenant)
    only_in_catalog_functions: list[tuple[str, str]]
    only_in_catalog_modules: list[str]
    only_in_catalog_tables: list[str]
    customize_differs: list[tuple[str, str, bool]] = field(default_factory=list)  # (module, function, tenant has a link)
    functions_read: int = 0
    tables_read: int = 0

    @property
    def empty(self) -> bool:
        return (self.only_in_tenant.is_empty() and not self.only_in_catalog_functions
                and not self.only_in_catalog_tables and not self.customize_differs)

    def document(self, api_version: str) -> dict[str, Any]:
        tenant = self.only_in_tenant.to_json()
        return {
            "schema": SCHEMA, "version": 1, "cwroles": __version__, "api_version": api_version,
            "date": dt.date.today().isoformat(),
            "compared": {"functions": self.functions_read, "setup_tables": self.tables_read},
            "tenant_modules": self.tenant_modules,  # modules the catalog lacks (their functions are listed below)
            "only_in_tenant": tenant,
            "only_in_catalog": {
                "modules": self.only_in_catalog_modules,
                "functions": [{"module": m, "function": f} for m, f in self.only_in_catalog_functions],
                "setup_tables": self.only_in_catalog_tables,
            },
            "customize_link_differs": [{"module": m, "function": f, "tenant_has_link": has}
                                       for m, f, has in self.customize_differs],
        }


def compare(settings: list[SecurityRoleSetting], screens: list[SetupScreen], catalog: Optional[Catalog] = None) -> CatalogDiff:
    """The difference between a tenant (one role's settings rows, its setup screens) and the catalog."""
    catalog = catalog or load_catalog()
    seen: set[tuple[str, str]] = set()
    functions: list[ExtraFunction] = []
    new_modules: list[str] = []
    customize: list[tuple[str, str, bool]] = []
    for row in sorted(settings, key=lambda r: (r.sort_order or 0)):
        try:
            m, f = catalog.function(row.module_name, row.module_function_name)
        except CatalogError:
            try:
                catalog.module(row.module_name)
            except CatalogError:
                if row.module_name not in new_modules:
                    new_modules.append(row.module_name)
            if not any(normalize(x.module) == normalize(row.module_name)
                       and normalize(x.function) == normalize(row.module_function_name) for x in functions):
                functions.append(ExtraFunction(module=row.module_name, function=row.module_function_name))
            continue
        seen.add((m.name, f.name))
        if row.custom_flag is not None and bool(row.custom_flag) != (f.customize is not None):
            customize.append((m.name, f.name, bool(row.custom_flag)))
    tenant_modules = {normalize(r.module_name) for r in settings}
    missing_modules = [m.name for m in catalog.modules
                       if not {normalize(n) for n in (m.name, *m.aliases)} & tenant_modules]
    missing = [(m.name, f.name) for m, f in catalog.functions()
               if (m.name, f.name) not in seen and m.name not in missing_modules]
    tables: list[ExtraSetupTable] = []
    matched: set[str] = set()
    for s in screens:
        name = f"{s.category} / {s.name}" if s.category else s.name
        try:
            matched.add(catalog.setup_table(name).name)
        except CatalogError:
            if s.category and not any(normalize(t.name) == normalize(name) for t in tables):
                tables.append(ExtraSetupTable(category=s.category, table=s.name))
    missing_tables = [t.name for t in catalog.setup_tables if t.name not in matched] if screens else []
    return CatalogDiff(CatalogExtras(functions=functions, setup_tables=tables), new_modules,
                       missing, missing_modules, missing_tables,
                       customize, functions_read=len(settings), tables_read=len(screens))


def _pick_role(roles: list[SecurityRoleModel]) -> Optional[SecurityRoleModel]:
    """The role whose settings are read: every role has one row per function; the first by id will do."""
    return min(roles, key=lambda r: r.id or 0) if roles else None


@app.command("diff")
def diff(
    stack: Optional[str] = typer.Option(None, "--stack", "-s", help=STACK_HELP),
    directory: Path = typer.Option(Path("."), "--dir", help=DIR_HELP),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Also write the difference to this YAML file "
                                                                       "(to attach to an issue for cwroles)"),
) -> None:
    """Print how the tenant's module functions and Table Setup tables differ from cwroles' bundled catalog.

    Read-only (3 requests). Only catalog names are printed: no company, role, member or record data, so
    the output can be sent to the cwroles maintainers as it is (see docs/onboarding.md).
    Exit 0: no difference; 2: differences; 1: the tenant could not be read.
    """
    conn = connect(stack, directory)
    status(f"Reading the catalog of {conn.tenant} …")
    try:
        roles = [SecurityRoleModel.model_validate(r) for r in conn.client.list_all("/system/securityroles",
                                                                                    fields="id,name")]
        role = _pick_role(roles)
        if role is None:
            fail("the tenant has no security role, so its module functions cannot be read (ConnectWise lists them "
                 "only as a role's settings)", code=1)
        rows = read_role(conn.client, role).settings
        screens = read_setup_screens(conn.client)
    except ConnectWiseError as e:
        read_failed(conn, e)
    result = compare(rows, screens)
    doc = result.document(conn.settings.api_version)
    _print(result)
    text = ("# Written by `cwroles catalog diff`: catalog names only (no company data). Send it to the cwroles\n"
            "# maintainers (docs/onboarding.md). `only_in_tenant` has the shape of a manifest's `tenant_catalog:`.\n"
            + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    console.print()
    console.print(text, markup=False, highlight=False, soft_wrap=True)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        status(f"Wrote {output}.")
    status(f"{conn.requests} request(s) to ConnectWise.")
    raise typer.Exit(0 if result.empty else 2)


def _print(d: CatalogDiff) -> None:
    head = (f"Compared {d.functions_read} module functions and {d.tables_read} Table Setup tables of the tenant with "
            f"cwroles' bundled catalog.")
    console.print(head, highlight=False)
    if d.empty:
        console.print("No difference.", highlight=False)
        return
    tenant = d.only_in_tenant
    if not tenant.is_empty():
        console.print("\n[bold]Only in the tenant[/] (cwroles' catalog lacks them; cwroles shows them under these names):",
                      highlight=False)
        for m in d.tenant_modules:
            console.print(f"  module    {m}", markup=False, highlight=False)
        for f in tenant.functions:
            console.print(f"  function  {join_function(f.module, f.function)}", markup=False, highlight=False)
        for t in tenant.setup_tables:
            console.print(f"  table     {t.name}", markup=False, highlight=False)
    if d.only_in_catalog_modules or d.only_in_catalog_functions or d.only_in_catalog_tables:
        console.print("\n[bold]Only in cwroles' catalog[/] (the tenant does not show them):", highlight=False)
        for m in d.only_in_catalog_modules:
            console.print(f"  module    {m} (and its functions)", markup=False, highlight=False)
        for m, f in d.only_in_catalog_functions:
            console.print(f"  function  {join_function(m, f)}", markup=False, highlight=False)
        for t in d.only_in_catalog_tables:
            console.print(f"  table     {t}", markup=False, highlight=False)
    if d.customize_differs:
        console.print("\n[bold]Customize link differs[/]:", highlight=False)
        for m, f, has in d.customize_differs:
            where = "the tenant has one, the catalog none" if has else "the catalog has one, the tenant none"
            console.print(f"  {join_function(m, f)}: {where}", markup=False, highlight=False)
