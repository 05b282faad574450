"""The module/function catalog (System > Security Roles) and the Table Setup tables.

Data lives in ``data/catalog.yaml``; this module is its schema and lookup. Lookups accept the
spellings vendors actually use (aliases, en dashes, "Company module", case) and, when nothing
matches, say which catalog entries come closest.

``data/catalog.json`` is the same data compiled for loading speed (every operation loads the catalog
in up to three processes): ``load_catalog`` uses it only when its recorded SHA-256 matches the YAML,
and parses the YAML (libyaml) otherwise. ``python -m cwroles.catalog`` rewrites it; a test checks it.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, ClassVar, Iterator, Literal, Mapping, Optional

from pydantic import BaseModel, ConfigDict, Field

LevelName = Literal["add", "edit", "delete", "inquire"]
LEVEL_NAMES: tuple[LevelName, ...] = ("add", "edit", "delete", "inquire")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Model):
    id: str
    title: str
    address_or_repo_path: str
    date_if_known: Optional[str] = None


class Customize(_Model):
    """The allow-list behind a function's Customize link."""

    identifier: Optional[str]  # MySecurityCustomizeItem.customizeIdentifier, e.g. SystemTableSetup
    items: str  # what the list holds, in words


class Function(_Model):
    name: str
    identifier: str
    aliases: list[str] = []
    levels: list[LevelName] = list(LEVEL_NAMES)
    customize: Optional[Customize] = None
    sources: list[str]
    notes: str = ""


class Module(_Model):
    name: str
    identifier: str
    aliases: list[str] = []
    expected_count: Optional[int] = None
    functions: list[Function]
    missing: Optional[str] = None


class SetupTable(_Model):
    category: str
    table: str
    aliases: list[str] = []
    sources: list[str]
    notes: str = ""

    @property
    def name(self) -> str:
        return f"{self.category} / {self.table}"


class MenuEntry(_Model):
    name: str
    sources: list[str]
    notes: str = ""


class CatalogError(ValueError):
    """A name that is not in the catalog; the message names the closest entries."""


@lru_cache(maxsize=4096)  # hot: the emulator folds every settings row's names on every request
def normalize(name: str) -> str:
    """Fold the spelling differences seen across vendor pages."""
    s = name.strip().lower().replace("\u2013", "-").replace("\u2014", "-")
    s = re.sub(r"\s*-\s*", " - ", s)
    s = re.sub(r"\s*/\s*", " / ", s)
    s = re.sub(r"\s+", " ", s)
    s = re.sub(r" module$", "", s)
    return s.replace(" and ", " & ")


class Catalog(_Model):
    schema_version: int
    about: str = ""
    sources: list[Source]
    modules: list[Module]
    setup_tables: list[SetupTable]
    custom_menu_entries: list[MenuEntry] = Field(default_factory=list)

    # ---- lookups -------------------------------------------------------------------------
    def functions(self) -> Iterator[tuple[Module, Function]]:
        """Every function in the order the role editor shows them."""
        for m in self.modules:
            for f in m.functions:
                yield m, f

    _INDEXES: ClassVar[tuple[str, ...]] = ("_module_index", "_function_index")

    def model_copy(self, *, update: Optional[Mapping[str, Any]] = None, deep: bool = False) -> "Catalog":
        """A copy whose lookups see the copy's entries (a copy would otherwise keep the indexes it was made from)."""
        copy = super().model_copy(update=update, deep=deep)
        for name in self._INDEXES:
            copy.__dict__.pop(name, None)
        return copy

    @cached_property
    def _module_index(self) -> dict[str, Module]:
        return {normalize(n): m for m in reversed(self.modules) for n in [m.name, *m.aliases]}

    @cached_property
    def _function_index(self) -> dict[tuple[str, str], Function]:
        return {(m.identifier, normalize(n)): f
                for m in self.modules for f in reversed(m.functions) for n in [f.name, *f.aliases]}

    def module(self, name: str) -> Module:
        m = self._module_index.get(normalize(name))
        if m is not None:
            return m
        raise CatalogError(
            f"unknown module {name!r}; {closest_text(name, [m.name for m in self.modules])}"
        )

    def function(self, module: str, function: str) -> tuple[Module, Function]:
        m = self.module(module)
        key = normalize(function)
        f = self._function_index.get((m.identifier, key))
        if f is not None:
            return m, f
        names = [f.name for f in m.functions]
        elsewhere = [
            f"{om.name} › {f.name}"
            for om, f in self.functions()
            if om is not m and key in {normalize(n) for n in [f.name, *f.aliases]}
        ]
        hint = f" (it exists as {', '.join(elsewhere)})" if elsewhere else ""
        raise CatalogError(
            f"unknown function {m.name} › {function!r}{hint}; {closest_text(function, names)}"
        )

    def setup_table(self, name: str) -> SetupTable:
        """A Table Setup table by "Category / Table"."""
        key = normalize(name)
        for t in self.setup_tables:
            names = [t.name, *(f"{t.category} / {a}" for a in t.aliases)]
            if key in {normalize(n) for n in names}:
                return t
        raise CatalogError(
            f"unknown Table Setup table {name!r}; {closest_text(name, [t.name for t in self.setup_tables])}"
        )

    def menu_entry(self, name: str) -> MenuEntry:
        for e in self.custom_menu_entries:
            if normalize(e.name) == normalize(name):
                return e
        raise CatalogError(f"unknown Custom Menu Entry {name!r}")

    def customize_item(self, function: Function, item: str) -> str:
        """Canonical spelling of an allow-list item of ``function``'s Customize list."""
        ident = function.customize.identifier if function.customize else None
        if ident == "SystemTableSetup":
            return self.setup_table(item).name
        if ident == "SystemCustomMenuEntry":
            return self.menu_entry(item).name
        if function.customize is None:
            raise CatalogError(f"{function.name} has no Customize list")
        return item.strip()


# The bundled catalog is incomplete and the live tenant is the authority on its own: a name it lacks may
# still be right, so every "unknown" says how to declare it.
TENANT_CATALOG_FIX = ("if your ConnectWise has it (the bundled catalog is incomplete), declare it under tenant_catalog: "
                      "(`cwroles catalog diff` prints what your tenant has beyond the bundled catalog)")


def close_names(name: str, candidates: list[str], cutoff: float) -> list[str]:
    """Up to three of ``candidates`` that look like ``name`` (case, spacing and punctuation aside)."""
    by_norm = {normalize(c): c for c in candidates}
    return [by_norm[n] for n in difflib.get_close_matches(normalize(name), list(by_norm), n=3, cutoff=cutoff)]


def closest_text(name: str, candidates: list[str]) -> str:
    near = close_names(name, candidates, 0.5)
    found = "closest catalog entries: " + ", ".join(repr(n) for n in near) if near else "no catalog entry is close"
    return f"{found}; {TENANT_CATALOG_FIX}"


class CompiledCatalog(_Model):
    """Schema of ``data/catalog.json``: the catalog as parsed from ``data/catalog.yaml``, and that file's hash."""

    source: Literal["catalog.yaml"] = "catalog.yaml"
    sha256: str
    catalog: Catalog


DATA = Path(__file__).with_name("data")  # the package's data files (installed as files, never zipped)


def data_file(name: str) -> Path:
    """``cwroles/data/<name>``. A plain path: importlib.resources costs its first caller ~20 ms, and the
    provider process reads the catalog on every operation."""
    return DATA / name


def _data(name: str) -> Path:
    return data_file(name)  # the seam load_catalog reads through (tests point it at a copy)



def _parse_yaml(text: str) -> Catalog:
    import yaml  # only when the compiled form is stale: libyaml when available

    return Catalog.model_validate(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


def compile_catalog() -> str:
    """The JSON text ``data/catalog.json`` must hold for the current ``data/catalog.yaml``."""
    raw = data_file("catalog.yaml").read_bytes()
    compiled = CompiledCatalog(sha256=hashlib.sha256(raw).hexdigest(), catalog=_parse_yaml(raw.decode("utf-8")))
    return compiled.model_dump_json(indent=1, exclude_defaults=True) + "\n"


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    raw = _data("catalog.yaml").read_bytes()
    try:
        compiled = CompiledCatalog.model_validate_json(_data("catalog.json").read_bytes())
    except (OSError, ValueError):
        compiled = None
    if compiled is not None and compiled.sha256 == hashlib.sha256(raw).hexdigest():
        return compiled.catalog
    return _parse_yaml(raw.decode("utf-8"))


if __name__ == "__main__":  # python -m cwroles.catalog: rewrite data/catalog.json after editing catalog.yaml
    import pathlib

    target = pathlib.Path(__file__).with_name("data") / "catalog.json"
    target.write_text(compile_catalog(), encoding="utf-8")
    print(f"wrote {target}")
