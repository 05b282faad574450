"""A tenant's own catalog: the bundled catalog plus the module functions, Table Setup tables and
Custom Menu Entries this tenant has and the bundled catalog lacks.

Real tenants differ from ``cwroles/data/catalog.yaml`` (it is known to be incomplete), and the live
tenant is the authority on its catalog. An emulated company can be seeded with such extras
(``CatalogExtras``, the body of ``/_cwsim/companies/{id}/catalog``) so that its role settings,
``/system/setupScreens`` and the console hold them like any other entry.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field

from cwroles.catalog import (LEVEL_NAMES, Catalog, CatalogError, Customize, Function, LevelName, MenuEntry, Module,
                             SetupTable, normalize)

from .records import FunctionInfo

TENANT_SOURCE = "tenant"  # the `sources` tag of an entry that only this tenant has


class _Seed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, str_strip_whitespace=True)


class ExtraFunction(_Seed):
    """A module function of the tenant's role editor (an existing module or a new one)."""

    module: str = Field(min_length=1, max_length=50)
    function: str = Field(min_length=1, max_length=100)
    identifier: Optional[str] = Field(None, min_length=1, max_length=50, description="moduleFunctionIdentifier")
    module_identifier: Optional[str] = Field(None, alias="moduleIdentifier", min_length=1, max_length=50)
    levels: list[LevelName] = Field(default_factory=lambda: list(LEVEL_NAMES), min_length=1)
    customize: Optional[Customize] = None


class ExtraSetupTable(_Seed):
    category: str = Field(min_length=1, max_length=50)
    table: str = Field(min_length=1, max_length=100)


class ExtraMenuEntry(_Seed):
    name: str = Field(min_length=1, max_length=100)


class CatalogExtras(_Seed):
    """What a tenant has beyond the bundled catalog (JSON/YAML keys in camelCase)."""

    functions: list[ExtraFunction] = Field(default_factory=list)
    setup_tables: list[ExtraSetupTable] = Field(default_factory=list, alias="setupTables")
    custom_menu_entries: list[ExtraMenuEntry] = Field(default_factory=list, alias="customMenuEntries")

    def is_empty(self) -> bool:
        return not (self.functions or self.setup_tables or self.custom_menu_entries)

    def to_json(self) -> dict:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def load_extras(source: Union[CatalogExtras, Mapping[str, Any], str, Path]) -> CatalogExtras:
    """Catalog extras from a model, a mapping, or a YAML/JSON file."""
    if isinstance(source, CatalogExtras):
        return source
    if isinstance(source, (str, Path)):
        text = Path(source).read_text(encoding="utf-8")
        data = json.loads(text) if str(source).endswith(".json") else yaml.safe_load(text)
        return CatalogExtras.model_validate(data or {})
    return CatalogExtras.model_validate(dict(source))


def identifier_for(name: str) -> str:
    """An identifier in the catalog's style ("Ticket Templates" -> "TicketTemplates")."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    return "".join(w if w.isupper() else w[:1].upper() + w[1:] for w in words) or "Custom"


def _is_report(f: Function) -> bool:
    return bool(f.customize and (f.customize.identifier or "").endswith("Reports")) or "report" in f.name.lower()


class TenantCatalog:
    """The catalog one tenant serves: bundled entries first, in the role editor's order, then its extras."""

    def __init__(self, bundled: Catalog, extras: Optional[CatalogExtras] = None):
        self.bundled = bundled
        self.extras, self.catalog = merge(bundled, extras or CatalogExtras())
        bundled_keys = {(m.name, f.name) for m, f in bundled.functions()}
        self._infos: dict[tuple[str, str], FunctionInfo] = {}
        for order, (m, f) in enumerate(self.catalog.functions(), start=1):
            self._infos[(m.name, f.name)] = FunctionInfo(
                module=m.name, function=f.name, module_identifier=m.identifier, function_identifier=f.identifier,
                levels=tuple(f.levels), customize_identifier=f.customize.identifier if f.customize else None,
                customize_items=f.customize.items if f.customize else None, order=order, report=_is_report(f),
                bundled=(m.name, f.name) in bundled_keys)

    def functions(self) -> list[FunctionInfo]:
        """Every function in the order the role editor shows them."""
        return list(self._infos.values())

    def info(self, module: str, function: str) -> FunctionInfo:
        """Facts about a stored row (exact names). A row neither catalog knows is still served as it is."""
        found = self._infos.get((module, function))
        if found is not None:
            return found
        return FunctionInfo(module=module, function=function, module_identifier=identifier_for(module),
                            function_identifier=identifier_for(function), levels=LEVEL_NAMES,
                            customize_identifier=None, customize_items=None, order=len(self._infos) + 1,
                            report=False, bundled=False)

    def resolve(self, module: str, function: str) -> FunctionInfo:
        """A function by the names people type (aliases, case, "Companies Module"); CatalogError if unknown."""
        m, f = self.catalog.function(module, function)
        return self._infos[(m.name, f.name)]

    @property
    def setup_tables(self) -> list[SetupTable]:
        return self.catalog.setup_tables

    @property
    def custom_menu_entries(self) -> list[MenuEntry]:
        return self.catalog.custom_menu_entries

    def customize_item(self, info: FunctionInfo, item: str) -> str:
        """Canonical spelling of an allow-list item of ``info``'s Customize list; CatalogError if unknown."""
        if info.customize_items is None:
            raise CatalogError(f"{info.key} has no Customize list")
        if info.customize_identifier == "SystemTableSetup":
            return self.catalog.setup_table(item).name
        if info.customize_identifier == "SystemCustomMenuEntry":
            return self.catalog.menu_entry(item).name
        return item.strip()

    def choices(self, info: FunctionInfo) -> Optional[list[str]]:
        """Every item a closed Customize list offers (None: free text)."""
        if info.customize_identifier == "SystemTableSetup":
            return [t.name for t in self.setup_tables]
        if info.customize_identifier == "SystemCustomMenuEntry":
            return [e.name for e in self.custom_menu_entries]
        return None


def merge(bundled: Catalog, extras: CatalogExtras) -> tuple[CatalogExtras, Catalog]:
    """(the extras the tenant really adds, canonically named; the merged catalog).

    An extra the catalog already holds (same name or alias, any spelling) is dropped, so seeding the
    same extras twice changes nothing.
    """
    modules = list(bundled.modules)
    kept_functions: list[ExtraFunction] = []
    for x in extras.functions:
        index = next((i for i, m in enumerate(modules)
                      if normalize(x.module) in {normalize(n) for n in [m.name, *m.aliases]}), None)
        if index is None:
            modules.append(Module(name=x.module, identifier=x.module_identifier or identifier_for(x.module),
                                  functions=[]))
            index = len(modules) - 1
        module = modules[index]
        if any(normalize(x.function) in {normalize(n) for n in [f.name, *f.aliases]} for f in module.functions):
            continue
        fn = Function(name=x.function, identifier=x.identifier or identifier_for(x.function), levels=x.levels,
                      customize=x.customize, sources=[TENANT_SOURCE])
        modules[index] = module.model_copy(update={"functions": [*module.functions, fn]})
        kept_functions.append(x.model_copy(update={"module": module.name}))
    tables = list(bundled.setup_tables)
    kept_tables: list[ExtraSetupTable] = []
    for t in extras.setup_tables:
        new = SetupTable(category=t.category, table=t.table, sources=[TENANT_SOURCE])
        if any(normalize(new.name) == normalize(old.name) for old in tables):
            continue
        tables.append(new)
        kept_tables.append(t)
    entries = list(bundled.custom_menu_entries)
    kept_entries: list[ExtraMenuEntry] = []
    for e in extras.custom_menu_entries:
        if any(normalize(e.name) == normalize(old.name) for old in entries):
            continue
        entries.append(MenuEntry(name=e.name, sources=[TENANT_SOURCE]))
        kept_entries.append(e)
    merged = bundled.model_copy(update={"modules": modules, "setup_tables": tables, "custom_menu_entries": entries})
    kept = CatalogExtras(functions=kept_functions, setup_tables=kept_tables, custom_menu_entries=kept_entries)
    return kept, merged


__all__ = ["CatalogExtras", "ExtraFunction", "ExtraMenuEntry", "ExtraSetupTable", "TenantCatalog", "identifier_for",
           "load_extras"]
