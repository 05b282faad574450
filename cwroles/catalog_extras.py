"""A tenant's own catalog entries: module functions, Table Setup tables and Custom Menu Entries that a live
ConnectWise tenant has and the bundled catalog (``data/catalog.yaml``) lacks.

The live tenant is the authority on its own catalog, and the bundled one is known to be incomplete. A
manifest (``tenant_catalog:``) or a ``RolePermissions`` (``tenant_catalog``) may name such entries; their
grants and allow-lists are then parsed against :func:`extend` (the bundled catalog plus these entries),
so the core's usual checks (names, levels, duplicates) still hold for everything else.
``cwroles catalog diff`` prints a tenant's entries in this shape, ready to paste.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Mapping, Optional

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from .catalog import (LEVEL_NAMES, Catalog, CatalogError, Customize, Function, LevelName, MenuEntry, Module,
                      SetupTable, load_catalog, normalize)
from .problems import Problem, Where

TENANT_SOURCE = "tenant"  # the `sources` tag of an entry only the tenant has


class _Extra(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, str_strip_whitespace=True, defer_build=True)


class ExtraFunction(_Extra):
    """A module function of the tenant's role editor (in a module the catalog has, or a new one)."""

    module: str = Field(min_length=1, max_length=50, description="The module, as ConnectWise shows it")
    function: str = Field(min_length=1, max_length=100, description="The function, as ConnectWise shows it")
    levels: list[LevelName] = Field(default_factory=lambda: list(LEVEL_NAMES), min_length=1,
                                    description="The levels it has (default: all four)")
    identifier: Optional[str] = Field(None, min_length=1, max_length=50,
                                      description="Its moduleFunctionIdentifier (default: made from the name)")
    module_identifier: Optional[str] = Field(
        None, min_length=1, max_length=50, validation_alias=AliasChoices("module_identifier", "moduleIdentifier"),
        description="A new module's identifier (default: made from the name)")
    customize: Optional[Customize] = Field(None, description="Its Customize list, if it has one")


class ExtraSetupTable(_Extra):
    category: str = Field(min_length=1, max_length=50)
    table: str = Field(min_length=1, max_length=100)

    @property
    def name(self) -> str:
        return f"{self.category} / {self.table}"


class ExtraMenuEntry(_Extra):
    name: str = Field(min_length=1, max_length=100)


class CatalogExtras(_Extra):
    """What a tenant has beyond the bundled catalog (snake_case keys; the emulator's camelCase also works)."""

    functions: list[ExtraFunction] = Field(default_factory=list)
    setup_tables: list[ExtraSetupTable] = Field(default_factory=list,
                                                validation_alias=AliasChoices("setup_tables", "setupTables"))
    custom_menu_entries: list[ExtraMenuEntry] = Field(
        default_factory=list, validation_alias=AliasChoices("custom_menu_entries", "customMenuEntries"))

    def is_empty(self) -> bool:
        return not (self.functions or self.setup_tables or self.custom_menu_entries)

    def to_json(self) -> dict[str, Any]:
        """The manifest form: only the lists that hold something, levels only when not all four."""
        out: dict[str, Any] = {}
        if self.functions:
            out["functions"] = [{"module": f.module, "function": f.function,
                                 **({"levels": list(f.levels)} if list(f.levels) != list(LEVEL_NAMES) else {}),
                                 **f.model_dump(mode="json", include={"identifier", "module_identifier", "customize"},
                                                exclude_none=True)}
                                for f in self.functions]
        if self.setup_tables:
            out["setup_tables"] = [{"category": t.category, "table": t.table} for t in self.setup_tables]
        if self.custom_menu_entries:
            out["custom_menu_entries"] = [{"name": e.name} for e in self.custom_menu_entries]
        return out

    def key(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)


def identifier_for(name: str) -> str:
    """An identifier in the catalog's style ("Ticket Templates" -> "TicketTemplates")."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    return "".join(w[:1].upper() + w[1:] for w in words) or "Tenant"


def merge(bundled: Catalog, extras: CatalogExtras) -> tuple[CatalogExtras, Catalog]:
    """(the extras the tenant really adds, named as the catalog names their module; the merged catalog).

    An extra the catalog already holds (same name or alias, any spelling) is dropped: the catalog's entry
    wins, and adding the same extras twice changes nothing.
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
        fn = Function(name=x.function, identifier=x.identifier or identifier_for(x.function), levels=list(x.levels),
                      customize=x.customize, sources=[TENANT_SOURCE])
        modules[index] = module.model_copy(update={"functions": [*module.functions, fn]})
        kept_functions.append(x.model_copy(update={"module": module.name}))
    tables = list(bundled.setup_tables)
    kept_tables: list[ExtraSetupTable] = []
    for t in extras.setup_tables:
        if not any(normalize(t.name) == normalize(old.name) for old in tables):
            tables.append(SetupTable(category=t.category, table=t.table, sources=[TENANT_SOURCE]))
            kept_tables.append(t)
    entries = list(bundled.custom_menu_entries)
    kept_entries: list[ExtraMenuEntry] = []
    for e in extras.custom_menu_entries:
        if not any(normalize(e.name) == normalize(old.name) for old in entries):
            entries.append(MenuEntry(name=e.name, sources=[TENANT_SOURCE]))
            kept_entries.append(e)
    # A new model (not a copy): nothing cached on the bundled catalog carries over.
    merged = Catalog.model_validate({
        **bundled.model_dump(exclude={"modules", "setup_tables", "custom_menu_entries"}),
        "modules": [m.model_dump() for m in modules], "setup_tables": [t.model_dump() for t in tables],
        "custom_menu_entries": [e.model_dump() for e in entries]})
    kept = CatalogExtras(functions=kept_functions, setup_tables=kept_tables, custom_menu_entries=kept_entries)
    return kept, merged


def _build(bundled: Catalog, extras: CatalogExtras) -> Catalog:
    return merge(bundled, extras)[1]


@lru_cache(maxsize=32)
def _extended(key: str) -> Catalog:
    return _build(load_catalog(), CatalogExtras.model_validate(json.loads(key)))


def extend(extras: Optional[CatalogExtras], catalog: Optional[Catalog] = None) -> Catalog:
    """The catalog with the tenant's entries added (the bundled catalog itself when there are none)."""
    base = catalog or load_catalog()
    if extras is None or extras.is_empty():
        return base
    if base is load_catalog():
        return _extended(extras.key())
    if _holds(base, extras):
        return base  # already extended (a caller passing the catalog it was given)
    return _build(base, extras)


def _holds(catalog: Catalog, extras: CatalogExtras) -> bool:
    try:
        for f in extras.functions:
            catalog.function(f.module, f.function)
        for t in extras.setup_tables:
            catalog.setup_table(t.name)
        for e in extras.custom_menu_entries:
            catalog.menu_entry(e.name)
    except CatalogError:
        return False
    return True


def parse_extras(raw: Any, where: Where) -> tuple[Optional[CatalogExtras], list[Problem]]:
    """``tenant_catalog`` as written (a manifest key, a resource input); problems name the field."""
    if raw in (None, "", {}):
        return None, []
    if not isinstance(raw, Mapping):
        return None, [where.problem("must be a mapping of functions, setup_tables and custom_menu_entries",
                                    "paste the block `cwroles catalog diff` prints")]
    try:
        return CatalogExtras.model_validate(dict(raw)), []
    except ValidationError as e:
        problems = []
        for err in e.errors():
            w = where
            for part in err["loc"]:
                w = w.index(part) if isinstance(part, int) else w.key(str(part))
            problems.append(w.problem(err["msg"], "write each function as {module: …, function: …}, each table as "
                                                  "{category: …, table: …}, each entry as {name: …}"))
        return None, problems


def extras_of(raw: Any) -> Optional[CatalogExtras]:
    """``tenant_catalog`` when it is usable, else None (its problems are reported where it is checked)."""
    extras, problems = parse_extras(raw, Where())
    return None if problems else extras


def catalog_for(raw: Any) -> Catalog:
    """The catalog a document with this ``tenant_catalog`` value is parsed against."""
    return extend(extras_of(raw))


__all__ = ["CatalogExtras", "ExtraFunction", "ExtraSetupTable", "ExtraMenuEntry", "extend", "merge", "identifier_for",
           "parse_extras", "extras_of", "catalog_for", "TENANT_SOURCE"]
