"""Names in the author's words resolved to the catalog's, with notices and suggestions.

The one home of "Module › Function" text, of the notice shown when a vendor's spelling is renamed
(an alias, "Time and Expense" → "Time & Expense"), and of the suggestions for a wrong name: a typo
(closest entries), a function placed under the wrong module, a module ConnectWise PSA does not have
("Tickets"), or a status/type list that is a Table Setup table ("Ticket Statuses").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Optional

from pydantic import BaseModel, ConfigDict

from .catalog import (Catalog, CatalogError, Function, Module, close_names, closest_text, data_file, load_catalog,
                      normalize)

SEPARATOR = " › "
_SPLIT = re.compile(r"\s*(?:›|>)\s*")
EXAMPLE = "System › Table Setup"


class UnknownName(ValueError):
    """A name the catalog does not know: ``message`` says what, ``fix`` where it belongs."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(f"{message}; {fix}" if fix else message)
        self.message = message
        self.fix = fix


def split_function(text: object) -> tuple[str, str]:
    """ "Module › Function" (also "Module > Function") → (module, function)."""
    parts = _SPLIT.split(str(text).strip(), maxsplit=1)
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise UnknownName(f"{str(text)!r} is not \"Module › Function\"", f"write it like \"{EXAMPLE}\"")
    return parts[0].strip(), parts[1].strip()


def join_function(module: str, function: str, level: Optional[str] = None) -> str:
    s = f"{module}{SEPARATOR}{function}"
    return f"{s}{SEPARATOR}{level.title()}" if level else s


@dataclass(frozen=True)
class Resolved:
    module: Module
    function: Function
    notices: tuple[tuple[str, str], ...] = ()  # (which name: "module" | "function", notice)

    @property
    def key(self) -> tuple[str, str]:
        return self.module.name, self.function.name

    @property
    def where(self) -> str:
        return join_function(*self.key)


# ---- data: names that are something else ----------------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class NotAModule(_Model):
    name: str
    aliases: list[str] = []
    means: list[str]


class TableList(_Model):
    name: str
    aliases: list[str] = []
    table: str
    note: str = ""


class Misplaced(_Model):
    modules: list[NotAModule]
    lists: list[TableList]


@lru_cache(maxsize=1)
def misplaced() -> Misplaced:
    import yaml  # here: most processes never ask

    text = data_file("names.yaml").read_text(encoding="utf-8")
    return Misplaced.model_validate(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


# ---- renames --------------------------------------------------------------------------------------
def _trivial(name: str) -> str:
    """A spelling with case, spacing, dash style and a trailing "module" folded: not worth a notice."""
    s = name.strip().lower().replace("\u2013", "-").replace("\u2014", "-")
    s = re.sub(r"\s*([/-])\s*", r"\1", re.sub(r"\s+", " ", s))
    return re.sub(r" module$", "", s)


def rename_notice(kind: str, written: str, canonical: str) -> Optional[str]:
    """A notice when ``written`` is another spelling of ``canonical`` (beyond case, spaces and "module")."""
    if _trivial(written) == _trivial(canonical):
        return None
    return f"{kind} {written.strip()!r} is {canonical!r} in ConnectWise PSA (renamed from the vendor's spelling)"


# ---- suggestions ----------------------------------------------------------------------------------
def _names(*names: str) -> set[str]:
    return {normalize(n) for n in names}


def _singular(text: str) -> str:
    words = []
    for w in normalize(text).split(" "):
        if len(w) > 4 and w.endswith("ies"):
            w = w[:-3] + "y"
        elif len(w) > 4 and w.endswith(("ses", "xes")):
            w = w[:-2]
        elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us")):
            w = w[:-1]
        words.append(w)
    return " ".join(words)


def table_for_list(name: str, catalog: Catalog, known_only: bool = False) -> Optional[tuple[str, str]]:
    """(Table Setup table, note) when ``name`` is a status/type list kept in Table Setup: a list
    recorded in data/names.yaml or (unless ``known_only``) a table's own name."""
    key, single = normalize(name), _singular(name)
    for entry in misplaced().lists:
        if key in _names(entry.name, *entry.aliases) or single in {_singular(n) for n in (entry.name, *entry.aliases)}:
            return catalog.setup_table(entry.table).name, entry.note
    if known_only:
        return None
    for t in catalog.setup_tables:
        tables = (t.table, *t.aliases)
        full = (t.name, *(f"{t.category} {a}" for a in t.aliases))
        if single in {_singular(n) for n in tables} or single in {_singular(n.replace("/", " ")) for n in full}:
            return t.name, ""
    return None


def _list_fix(table: str, note: str) -> str:
    why = f" ({note})" if note else ""
    return (f"grant System › Table Setup (Inquire) and allow “{table}” in customize “System › Table Setup”{why}")


def _module_hint(module: str) -> Optional[list[str]]:
    key = normalize(module)
    for entry in misplaced().modules:
        if key in _names(entry.name, *entry.aliases):
            return entry.means
    return None


def _function_elsewhere(function: str, catalog: Catalog, not_in: Optional[Module] = None) -> list[tuple[Module, Function]]:
    key = normalize(function)
    return [(m, f) for m, f in catalog.functions() if m is not not_in and key in _names(f.name, *f.aliases)]


def _unknown_module(module: str, function: str, catalog: Catalog) -> UnknownName:
    modules = [m.name for m in catalog.modules]
    what = f"unknown module {module!r}"
    typo = close_names(module, modules, 0.8)
    if typo and not table_for_list(function, catalog, known_only=True):
        return UnknownName(what, closest_text(module, modules))
    elsewhere = _function_elsewhere(function, catalog)
    if elsewhere:
        places = " or ".join(join_function(m.name, f.name) for m, f in elsewhere)
        return UnknownName(f"{what}: ConnectWise PSA has no such module",
                           f"{function!r} is {places}: write module {elsewhere[0][0].name!r}")
    listed = table_for_list(function, catalog)
    if listed:
        return UnknownName(f"{what}: {function!r} is not a security-role function but a Table Setup list",
                           _list_fix(*listed))
    hint = _module_hint(module)
    if hint:
        return UnknownName(f"{what}: ConnectWise PSA has no such module",
                           "use " + " or ".join(hint) + f" (or another function of {', '.join(sorted({h.split(SEPARATOR)[0] for h in hint}))})")
    return UnknownName(what, closest_text(module, modules))


def _unknown_function(m: Module, function: str, catalog: Catalog) -> UnknownName:
    what = f"unknown function {m.name} › {function!r}"
    known = table_for_list(function, catalog, known_only=True)
    if known:
        return UnknownName(f"{m.name} › {function!r} is not a security-role function but a Table Setup list",
                           _list_fix(*known))
    names = [f.name for f in m.functions]
    typo = close_names(function, names, 0.8)
    elsewhere = _function_elsewhere(function, catalog, not_in=m)
    if elsewhere and not typo:
        places = ", ".join(join_function(om.name, f.name) for om, f in elsewhere)
        return UnknownName(f"{what} (it exists as {places})", f"write module {elsewhere[0][0].name!r}")
    if not typo:
        listed = table_for_list(function, catalog)
        if listed:
            return UnknownName(f"{m.name} › {function!r} is not a security-role function but a Table Setup list",
                               _list_fix(*listed))
    return UnknownName(what, closest_text(function, names))


# ---- resolution -----------------------------------------------------------------------------------
_MEMO: dict[tuple, Any] = {}  # answers for the bundled catalog (its lookups normalise every name each time)


def _memoized(key: tuple, bundled: bool, compute: Callable[[], Any]) -> Any:
    """``compute()``, remembered for the bundled catalog; an :class:`UnknownName` is remembered and raised again."""
    hit = _MEMO.get(key) if bundled else None
    if hit is None:
        try:
            hit = compute()
        except UnknownName as e:
            hit = e
        if bundled and len(_MEMO) < 8192:
            _MEMO[key] = hit
    if isinstance(hit, UnknownName):
        raise UnknownName(hit.message, hit.fix)
    return hit


def resolve_function(module: object, function: object, catalog: Catalog | None = None) -> Resolved:
    """The catalog row for a (module, function) as an author wrote them; raises :class:`UnknownName`."""
    bundled = catalog is None or catalog is load_catalog()
    return _memoized(("function", str(module), str(function)), bundled,
                     lambda: _resolve(module, function, catalog or load_catalog()))


def _resolve(module: object, function: object, catalog: Catalog) -> Resolved:
    module, function = str(module).strip(), str(function).strip()
    try:
        m = catalog.module(module)
    except CatalogError:
        raise _unknown_module(module, function, catalog) from None
    try:
        _, f = catalog.function(m.name, function)
    except CatalogError:
        raise _unknown_function(m, function, catalog) from None
    notices = [(kind, n) for kind, n in (("module", rename_notice("module", module, m.name)),
                                         ("function", rename_notice("function", function, f.name))) if n]
    return Resolved(m, f, tuple(notices))


def resolve_where(text: object, catalog: Catalog | None = None) -> Resolved:
    """A "Module › Function" text resolved through the catalog; raises :class:`UnknownName`."""
    return resolve_function(*split_function(text), catalog=catalog)


def functions_with_customize(catalog: Catalog | None = None) -> list[str]:
    catalog = catalog or load_catalog()
    return [join_function(m.name, f.name) for m, f in catalog.functions() if f.customize]


def resolve_customize_item(function: Function, item: object, catalog: Catalog | None = None) -> tuple[str, Optional[str]]:
    """(canonical item, rename notice) for an item of ``function``'s Customize list; raises :class:`UnknownName`."""
    bundled = catalog is None or catalog is load_catalog()
    return _memoized(("item", function.identifier, str(item)), bundled,
                     lambda: _resolve_item(function, item, catalog or load_catalog()))


def _resolve_item(function: Function, item: object, catalog: Catalog) -> tuple[str, Optional[str]]:
    text = str(item).strip()
    if function.customize is None:
        raise UnknownName(f"{function.name} has no Customize list",
                          "functions with one: " + ", ".join(functions_with_customize(catalog)))
    try:
        canon = catalog.customize_item(function, text)
    except CatalogError as e:
        if function.customize.identifier == "SystemTableSetup":
            raise _unknown_table(text, catalog) from None
        raise UnknownName(str(e), "use an entry ConnectWise PSA shows in that Customize list") from None
    kind = "Table Setup table" if function.customize.identifier == "SystemTableSetup" else "Customize item"
    return canon, rename_notice(kind, text, canon)


def _unknown_table(item: str, catalog: Catalog) -> UnknownName:
    what = f"unknown Table Setup table {item!r}"
    tables = [t.name for t in catalog.setup_tables]
    if "/" not in item:
        bare = [t.name for t in catalog.setup_tables
                if _singular(item) in {_singular(n) for n in (t.table, *t.aliases)}]
        if bare:
            return UnknownName(f"{what}: a table is named \"Category / Table\"", f"write {bare[0]!r}")
    typo = close_names(item, tables, 0.8)
    listed = table_for_list(item.split("/")[-1], catalog, known_only=bool(typo))
    if listed:
        return UnknownName(f"{what}: that list is kept in the Table Setup table “{listed[0]}”",
                           f"allow {listed[0]!r}" + (f" ({listed[1]})" if listed[1] else ""))
    return UnknownName(what, closest_text(item, tables))


__all__ = ["SEPARATOR", "UnknownName", "Resolved", "split_function", "join_function", "resolve_function",
           "resolve_where", "resolve_customize_item", "rename_notice", "table_for_list", "functions_with_customize",
           "closest_text", "misplaced"]
