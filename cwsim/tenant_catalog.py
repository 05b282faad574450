"""A tenant's own catalog: the bundled catalog plus the module functions, Table Setup tables and
Custom Menu Entries this tenant has and the bundled catalog lacks.

Real tenants differ from ``cwroles/data/catalog.yaml`` (it is known to be incomplete), and the live
tenant is the authority on its catalog. An emulated company can be seeded with such extras (the core's
``CatalogExtras``, the body of ``/_cwsim/companies/{id}/catalog``) so that its role settings,
``/system/setupScreens`` and the console hold them like any other entry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import yaml

from cwroles.catalog import LEVEL_NAMES, Catalog, CatalogError, Function, MenuEntry, SetupTable
from cwroles.catalog_extras import CatalogExtras, identifier_for, merge

from .records import FunctionInfo


def extras_json(extras: CatalogExtras) -> dict[str, Any]:
    """The emulator's form of a company's extras (``/_cwsim/companies/{id}/catalog``): camelCase keys, as
    ConnectWise names things, every list present."""
    return {
        "functions": [{"module": f.module, "function": f.function, "levels": list(f.levels),
                       **({"identifier": f.identifier} if f.identifier else {}),
                       **({"moduleIdentifier": f.module_identifier} if f.module_identifier else {}),
                       **({"customize": f.customize.model_dump(mode="json", by_alias=True, exclude_none=True)} if f.customize else {})}
                      for f in extras.functions],
        "setupTables": [{"category": t.category, "table": t.table} for t in extras.setup_tables],
        "customMenuEntries": [{"name": e.name} for e in extras.custom_menu_entries],
    }


def load_extras(source: Union[CatalogExtras, Mapping[str, Any], str, Path]) -> CatalogExtras:
    """Catalog extras from a model, a mapping, or a YAML/JSON file."""
    if isinstance(source, CatalogExtras):
        return source
    if isinstance(source, (str, Path)):
        text = Path(source).read_text(encoding="utf-8")
        data = json.loads(text) if str(source).endswith(".json") else yaml.safe_load(text)
        return CatalogExtras.model_validate(data or {})
    return CatalogExtras.model_validate(dict(source))


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


__all__ = ["CatalogExtras", "TenantCatalog", "extras_json", "load_extras"]
