"""A role's declared permissions, parsed in one place.

Grants (module, function, Add/Edit/Delete/Inquire levels, an optional waiver), stack waivers, the
Customize allow-lists, dates and ConnectWise's length limits: the manifest loader, the stack program,
the provider's ``check``, the policy pack and the CLI all parse them here. Parsers never raise for bad
input: they return what they could read plus a list of :class:`~cwroles.problems.Problem` that name
the place (file, line, field or config key) and the fix.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional

from .catalog import LEVEL_NAMES, Catalog, LevelName, load_catalog
from .dates import DATE_FIX, Date, parse_date
from .grid import Grid, Level, Waiver
from .names import UnknownName, join_function, resolve_customize_item, resolve_function, resolve_where, split_function
from .problems import Problem, Where

# ---- ConnectWise's limits (the API refuses longer values) -------------------------------------------
ROLE_NAME_MAX = 30  # security role "Role ID"
ROLE_TYPE_MAX = 30
MEMBER_IDENTIFIER_MAX = 15  # API member "Member ID"
MEMBER_NAME_MAX = 30
EMAIL_MAX = 250
_IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def text_problem(value: Any, what: str, max_len: int, required: bool = True) -> Optional[tuple[str, str]]:
    """(message, fix) when ``value`` is not usable text of at most ``max_len`` characters."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return (f"{what} is required", "set it") if required else None
    if not isinstance(value, str):
        return f"{what} must be text, got {type(value).__name__} {value!r}", "quote it"
    if len(value) > max_len:
        return (f"{what} {value!r} is {len(value)} characters; ConnectWise allows at most {max_len}",
                "shorten it")
    return None


def role_name_problem(value: Any, what: str = "role name") -> Optional[tuple[str, str]]:
    return text_problem(value, what, ROLE_NAME_MAX)


def member_name_problem(value: Any, what: str = "API member name") -> Optional[tuple[str, str]]:
    return text_problem(value, what, MEMBER_NAME_MAX)


def member_identifier_problem(value: Any, what: str = "API member identifier") -> Optional[tuple[str, str]]:
    rule = f"use 1-{MEMBER_IDENTIFIER_MAX} letters, digits, '.', '_' or '-' with no spaces"
    p = text_problem(value, what, MEMBER_IDENTIFIER_MAX)
    if p is None and not _IDENTIFIER_RE.match(value):
        p = f"{what} {value!r} has characters ConnectWise does not take in a member ID", rule
    elif p is not None and isinstance(value, str) and value.strip():
        p = p[0], rule
    return p


def email_problem(value: Any, what: str = "email address") -> Optional[tuple[str, str]]:
    p = text_problem(value, what, EMAIL_MAX, required=False)
    if p is None and value is not None and str(value).strip() and not _EMAIL_RE.match(str(value)):
        p = f"{what} {value!r} is not an email address", "write it like name@example.com"
    return p


# ---- levels ----------------------------------------------------------------------------------------
LEVELS_FIX = "use None, My or All"


def parse_level_name(value: Any) -> LevelName:
    """ "delete", "Delete" → "delete"; raises ValueError."""
    text = str(value).strip().lower()
    if text not in LEVEL_NAMES:
        raise ValueError(f"level {value!r} is not one of {', '.join(LEVEL_NAMES)}")
    return text


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """ "did you mean 'inquire'? " for a near miss (a typo, or the start of a longer name), else ""."""
    choices = [str(c) for c in choices]
    near = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.6)
    if not near:
        near = [c for c in choices if len(str(name)) >= 3 and c.startswith(str(name))][:1]
    return f"did you mean {near[0]!r}? " if near else ""


def unknown_keys(raw: Mapping[str, Any], allowed: Iterable[str], where: Where, what: str = "") -> list[Problem]:
    """One problem per key that is not ``allowed``, at that key's line."""
    allowed = list(allowed)
    lead = f"{what} has unknown key" if what else "unknown key"
    comma = " (a key with no value: in `{…}` a comma ends the value before it, so quote text that holds a comma)"
    return [where.key(str(k)).problem(f"{lead} {str(k)!r}", f"{did_you_mean(str(k), allowed)}allowed: "
                                                            f"{', '.join(allowed)}{comma if raw[k] is None else ''}")
            for k in raw if k not in allowed]


# ---- waivers ----------------------------------------------------------------------------------------
WAIVER_KEYS = ("justification", "approved_by", "expires")
WAIVER_FIX = "a waiver needs justification, approved_by and expires (YYYY-MM-DD)"


def parse_waiver(raw: Any, where: Where) -> tuple[Optional[Waiver], list[Problem]]:
    """A waiver {justification, approved_by, expires}."""
    if not isinstance(raw, Mapping):
        return None, [where.problem(f"waiver must be a mapping with {', '.join(WAIVER_KEYS)}, got {raw!r}",
                                    WAIVER_FIX)]
    problems = unknown_keys(raw, WAIVER_KEYS, where, "waiver")
    missing = [k for k in WAIVER_KEYS if raw.get(k) is None or not str(raw.get(k)).strip()]
    if missing:
        problems.append(where.problem(f"waiver is missing {', '.join(missing)}", WAIVER_FIX))
    expires = None
    if "expires" not in missing:
        try:
            expires = parse_date(raw["expires"])
        except ValueError:
            problems.append(where.key("expires").problem(f"waiver expires {raw['expires']!r} is not a date", DATE_FIX))
    if problems or expires is None:
        return None, problems
    return Waiver(justification=str(raw["justification"]).strip(), approved_by=str(raw["approved_by"]).strip(),
                  expires=expires), []


def waiver_json(w: Waiver) -> dict[str, str]:
    return {"justification": w.justification, "approved_by": w.approved_by, "expires": w.expires.isoformat()}


# ---- names ------------------------------------------------------------------------------------------
def resolve(module: Any, function: Any, where: Where, catalog: Catalog, problems: list[Problem]):
    """The catalog row, or None with a problem; rename notices go to ``problems`` too."""
    try:
        r = resolve_function(module, function, catalog)
    except UnknownName as e:
        problems.append(where.problem(e.message, e.fix))
        return None
    problems.extend(where.key(kind).notice(n) for kind, n in r.notices)
    return r


def resolve_text(text: Any, where: Where, catalog: Catalog, problems: list[Problem]):
    try:
        r = resolve_where(text, catalog)
    except UnknownName as e:
        problems.append(where.problem(e.message, e.fix))
        return None
    problems.extend(where.notice(n) for _, n in r.notices)
    return r


def _named_row(raw: Mapping[str, Any], keys: Iterable[str], where: Where, catalog: Catalog, what: str,
               problems: list[Problem]) -> Optional[tuple[Any, str, Where]]:
    """The unknown keys, the module and function of a row ({module, function, …}): (resolved row or None,
    "Module › Function" label, location labelled with it), or None when module or function is missing."""
    problems += unknown_keys(raw, keys, where)
    missing = [k for k in ("module", "function") if raw.get(k) is None or not str(raw.get(k)).strip()]
    if missing:
        problems.append(where.problem(f"missing {' and '.join(missing)}", what))
        return None
    r = resolve(raw["module"], raw["function"], where, catalog, problems)
    label = r.where if r else join_function(str(raw["module"]).strip(), str(raw["function"]).strip())
    return r, label, where.labelled(label)


# ---- grants -----------------------------------------------------------------------------------------
GRANT_KEYS = ("module", "function", *LEVEL_NAMES, "waiver")


@dataclass
class GrantRow:
    """One grant as written, resolved to the catalog's spelling."""

    module: str
    function: str
    levels: dict[LevelName, Level]  # every level; the ones not given are None
    given: dict[LevelName, Level]  # only the levels the author wrote
    waiver: Optional[Waiver] = None
    meta: dict[str, Any] = field(default_factory=dict)  # carried keys (reason, source, feature, origin)
    where: Where = field(default_factory=Where)
    waiver_problems: list[Problem] = field(default_factory=list)  # a waiver written but unusable (lenient)
    resolved: bool = True  # False (lenient only): the names are not the catalog's, kept as written

    @property
    def key(self) -> tuple[str, str]:
        return self.module, self.function

    @property
    def label(self) -> str:
        return join_function(self.module, self.function)

    def granted(self) -> dict[LevelName, Level]:
        return {n: lv for n, lv in self.levels.items() if lv is not Level.NONE}


def parse_grant(raw: Any, where: Where, catalog: Catalog | None = None, *, carried: Iterable[str] = (),
                lenient_levels: bool = False) -> tuple[Optional[GrantRow], list[Problem]]:
    """One grant {module, function, add, edit, delete, inquire, waiver, *carried}.

    With ``lenient_levels`` (the policy pack) an invalid level is reported and read as All, so the
    grant is still checked at its worst case.
    """
    catalog = catalog or load_catalog()
    if not isinstance(raw, Mapping):
        return None, [where.problem(f"must be a mapping with module, function and levels, got {raw!r}",
                                    "write {module: …, function: …, inquire: All}")]
    carried = tuple(carried)
    problems: list[Problem] = []
    named = _named_row(raw, (*GRANT_KEYS, *carried), where, catalog,
                       "a grant names a module and a function, e.g. module: Finance, function: Invoicing", problems)
    if named is None:
        return None, problems
    r, label, here = named
    given: dict[LevelName, Level] = {}
    for n in LEVEL_NAMES:
        if raw.get(n) is None:
            continue
        try:
            lv = Level.parse(raw[n])
        except ValueError:
            problems.append(here.key(n).problem(f"{n.title()} {raw[n]!r} is not a level", LEVELS_FIX))
            if not lenient_levels:
                continue
            lv = Level.ALL
        if r and lv is not Level.NONE and n not in r.function.levels:
            applies = ", ".join(x.title() for x in r.function.levels) or "none"
            problems.append(here.key(n).problem(
                f"the {n.title()} level does not apply to {label} (its levels: {applies})", f"remove {n}"))
            if not lenient_levels:
                continue
        given[n] = lv
    waiver: Optional[Waiver] = None
    wp: list[Problem] = []
    if raw.get("waiver") is not None:
        waiver, wp = parse_waiver(raw["waiver"], here.key("waiver"))
        problems += wp
    if not lenient_levels and (r is None or any(p.is_error for p in problems)):
        return None, problems
    levels = {n: given.get(n, Level.NONE) for n in LEVEL_NAMES}
    meta = {k: raw[k] for k in carried if raw.get(k) is not None}
    module, function = (r.module.name, r.function.name) if r else (str(raw["module"]).strip(), str(raw["function"]).strip())
    return GrantRow(module, function, levels, given, waiver, meta, here, wp, resolved=r is not None), problems


def parse_grant_list(raw: Any, where: Where, catalog: Catalog | None = None, *, carried: Iterable[str] = (),
                     lenient_levels: bool = False, skip: Optional[Callable[[Any], bool]] = None
                     ) -> tuple[list[Optional[GrantRow]], list[Problem]]:
    """A list of grants, one entry per input entry (None where it has errors or ``skip`` says so, e.g.
    a value unknown during preview). A second grant for the same function is a problem."""
    catalog = catalog or load_catalog()
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [where.problem(f"must be a list of grants, got {type(raw).__name__}",
                                  "write one `- {module: …, function: …, inquire: All}` per grant")]
    rows: list[Optional[GrantRow]] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, str], GrantRow] = {}
    for i, g in enumerate(raw):
        if skip is not None and skip(g):
            rows.append(None)
            continue
        row, p = parse_grant(g, where.index(i), catalog, carried=carried, lenient_levels=lenient_levels)
        problems += p
        if row is not None and row.key in seen:
            problems.append(where.index(i).problem(
                f"duplicate grant for {row.label} (also {seen[row.key].where.field})", "merge them into one"))
            row = None
        if row is not None:
            seen[row.key] = row
        rows.append(row)
    return rows, problems


def parse_grants(raw: Any, where: Where, catalog: Catalog | None = None, *, carried: Iterable[str] = (),
                 lenient_levels: bool = False) -> tuple[list[GrantRow], list[Problem]]:
    """A list of grants (the usable ones) and its problems."""
    rows, problems = parse_grant_list(raw, where, catalog, carried=carried, lenient_levels=lenient_levels)
    return [r for r in rows if r is not None], problems


def grid_of(rows: Iterable[GrantRow], catalog: Catalog | None = None) -> Grid:
    """The complete grid (every catalog function, None unless granted) of resolved grants."""
    catalog = catalog or load_catalog()
    grid: Grid = {(m.name, f.name): {n: Level.NONE for n in LEVEL_NAMES} for m, f in catalog.functions()}
    for r in rows:
        grid[r.key] = dict(r.levels)
    return grid


def grant_json(row: GrantRow, waiver: Optional[Waiver] = None, meta: Iterable[str] = ()) -> dict[str, Any]:
    """A grant as resource input: catalog names, every level spelled out."""
    out: dict[str, Any] = {"module": row.module, "function": row.function,
                           **{n: row.levels[n].value for n in LEVEL_NAMES}}
    w = waiver if waiver is not None else row.waiver
    if w is not None:
        out["waiver"] = waiver_json(w)
    for k in meta:
        if row.meta.get(k) is not None:
            out[k] = row.meta[k]
    return out


def max_levels(a: Mapping[LevelName, Level], b: Mapping[LevelName, Level]) -> dict[LevelName, Level]:
    """Per verb, the higher of two levels (a feature raising a base grant)."""
    return {n: a[n] if a[n].rank >= b[n].rank else b[n] for n in LEVEL_NAMES}


# ---- stack waivers ---------------------------------------------------------------------------------
STACK_WAIVER_KEYS = ("module", "function", "level", *WAIVER_KEYS)


@dataclass
class ScopedWaiver:
    """A waiver for one function (one level of it, or all): stack config ``waivers``."""

    module: str
    function: str
    level: Optional[LevelName]
    waiver: Waiver
    where: Where = field(default_factory=Where)

    def covers(self, key: tuple[str, str], level: str) -> bool:
        return (self.module, self.function) == key and (self.level is None or self.level == level)

    def to_json(self) -> dict[str, str]:
        out = {"module": self.module, "function": self.function}
        if self.level:
            out["level"] = self.level
        return {**out, **waiver_json(self.waiver)}


def parse_stack_waiver(raw: Any, where: Where, catalog: Catalog | None = None,
                       granted: Optional[Grid] = None) -> tuple[Optional[ScopedWaiver], list[Problem]]:
    """{module, function, level?, justification, approved_by, expires}; with ``granted``, the waiver
    must name something the stack grants."""
    catalog = catalog or load_catalog()
    if not isinstance(raw, Mapping):
        return None, [where.problem(
            f"must be a mapping with module, function, level (optional), justification, approved_by and expires; "
            f"got {raw!r}", "write {module: …, function: …, level: delete, justification: …, approved_by: …, "
                            "expires: YYYY-MM-DD}")]
    problems: list[Problem] = []
    named = _named_row(raw, STACK_WAIVER_KEYS, where, catalog, "a waiver names the module and function it accepts",
                       problems)
    if named is None:
        return None, problems
    r, _, here = named
    level: Optional[LevelName] = None
    if raw.get("level") not in (None, ""):
        try:
            level = parse_level_name(raw["level"])
        except ValueError as e:
            problems.append(here.key("level").problem(str(e), "use add, edit, delete or inquire, or leave it out "
                                                              "for every level"))
    waiver, wp = parse_waiver({k: raw.get(k) for k in WAIVER_KEYS}, here)
    problems += wp
    if r is None or waiver is None or any(p.is_error for p in problems):
        return None, problems
    if granted is not None:
        cell = granted.get(r.key)
        if cell is None or all(lv is Level.NONE for lv in cell.values()):
            problems.append(here.problem(f"{r.where} is not granted by this stack, so there is nothing to waive",
                                         "remove the waiver or enable the feature that grants it"))
            return None, problems
        if level is not None and cell[level] is Level.NONE:
            problems.append(here.problem(f"{join_function(r.key[0], r.key[1], level)} is not granted by this stack; nothing to waive",
                                         "remove the waiver or name a granted level"))
            return None, problems
    return ScopedWaiver(r.module.name, r.function.name, level, waiver, here), problems


def parse_stack_waivers(raw: Any, where: Where, catalog: Catalog | None = None,
                        granted: Optional[Grid] = None) -> tuple[list[ScopedWaiver], list[Problem]]:
    if raw in (None, ""):
        return [], []
    if not isinstance(raw, list):
        return [], [where.problem(f"must be a list of waivers, got {type(raw).__name__}",
                                  "write one `- {module: …, function: …, justification: …, approved_by: …, "
                                  "expires: YYYY-MM-DD}` per waiver")]
    out: list[ScopedWaiver] = []
    problems: list[Problem] = []
    for i, w in enumerate(raw):
        sw, p = parse_stack_waiver(w, where.index(i), catalog, granted)
        problems += p
        if sw is not None:
            out.append(sw)
    return out, problems


# ---- Customize allow-lists ---------------------------------------------------------------------------
def parse_customize_list(function: Any, items: Any, where: Where, catalog: Catalog | None = None
                         ) -> tuple[Optional[str], list[str], list[Problem]]:
    """("Module › Function" in catalog spelling, canonical items without duplicates, problems)."""
    catalog = catalog or load_catalog()
    problems: list[Problem] = []
    r = resolve_text(function, where, catalog, problems)
    if r is None:
        return None, [], problems
    if r.function.customize is None:
        from .names import functions_with_customize

        problems.append(where.problem(f"{r.where} has no Customize list in ConnectWise PSA",
                                      "functions with one: " + ", ".join(functions_with_customize(catalog))))
        return None, [], problems
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        problems.append(where.problem(f"must be a list of names, got {items!r}",
                                      "e.g. ['Service / Service Board']"))
        return None, [], problems
    canon: list[str] = []
    for i, item in enumerate(items):
        here = where.index(i)
        try:
            c, notice = resolve_customize_item(r.function, item, catalog)
        except UnknownName as e:
            problems.append(here.labelled(f"{r.where} › Customize").problem(e.message, e.fix))
            continue
        if notice:
            problems.append(here.notice(notice))
        if c not in canon:
            canon.append(c)
    return r.where, canon, problems


def parse_customize(raw: Any, where: Where, catalog: Catalog | None = None) -> tuple[dict[str, list[str]], list[Problem]]:
    """{"Module › Function": [items]} with catalog spellings; lists for the same function merge."""
    catalog = catalog or load_catalog()
    if raw in (None, ""):
        return {}, []
    if not isinstance(raw, Mapping):
        return {}, [where.problem("must map \"Module › Function\" to a list of allow-list items",
                                  "e.g. {'System › Table Setup': ['Service / Service Board']}")]
    out: dict[str, list[str]] = {}
    problems: list[Problem] = []
    for key, items in raw.items():
        fn, canon, p = parse_customize_list(key, items, where.key(str(key)), catalog)
        problems += p
        if fn is not None:
            merged = out.setdefault(fn, [])
            merged += [c for c in canon if c not in merged]
    return out, problems


__all__ = [
    "ROLE_NAME_MAX", "ROLE_TYPE_MAX", "MEMBER_IDENTIFIER_MAX", "MEMBER_NAME_MAX", "EMAIL_MAX",
    "text_problem", "did_you_mean", "role_name_problem", "member_name_problem", "member_identifier_problem", "email_problem",
    "parse_date", "Date", "DATE_FIX", "parse_level_name", "LEVELS_FIX", "unknown_keys",
    "WAIVER_KEYS", "parse_waiver", "waiver_json", "GRANT_KEYS", "GrantRow", "parse_grant", "parse_grants",
    "parse_grant_list", "grid_of", "grant_json", "max_levels", "ScopedWaiver", "STACK_WAIVER_KEYS", "parse_stack_waiver",
    "parse_stack_waivers", "parse_customize_list", "parse_customize",
]


def customize_differences(wanted: Mapping[str, Iterable[str]], live: Iterable[tuple[Any, str]],
                          catalog: Catalog | None = None) -> dict[str, dict[str, list[str]]]:
    """What differs between the code's Customize allow-lists (``"Module › Function" -> items``) and the live
    ones (``(customize identifier, item identifier)`` pairs, as ConnectWise lists them):
    ``key -> {"allow": [items to allow], "disallow": [items to disallow]}``, only for lists that differ.
    Items compare by the catalog's canonical name where it knows one, else case- and space-insensitively."""
    from .catalog import CatalogError, normalize

    cat = catalog or load_catalog()
    live_pairs = list(live)
    differences: dict[str, dict[str, list[str]]] = {}
    for key, items in wanted.items():
        _m, f = cat.function(*split_function(key))
        cid = f.customize.identifier if f.customize else None

        def canon(item: str, f: Any = f) -> str:
            try:
                return normalize(cat.customize_item(f, item))
            except CatalogError:
                return normalize(item)

        have = {canon(i): i for c, i in live_pairs if c == cid}
        want = {canon(i): i for i in items}
        allow = [v for k, v in want.items() if k not in have]
        disallow = [v for k, v in have.items() if k not in want]
        if allow or disallow:
            differences[key] = {"allow": allow, "disallow": disallow}
    return differences
