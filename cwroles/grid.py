"""Permission levels, grants and grids, and the checklist that tells an admin what to set.

A *grant* is what code asks for on one module function (Add/Edit/Delete/Inquire levels).
A *grid* is a role's complete set of levels: every catalog function, ``None`` unless granted,
so a level someone added by hand shows up as drift.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from typing import Iterable, Mapping, Optional

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from .catalog import LEVEL_NAMES, Catalog, CatalogError, LevelName, load_catalog
from .dates import Date
from .names import UnknownName, join_function, resolve_function, split_function


class Level(str, Enum):
    NONE = "None"
    MY = "My"
    ALL = "All"

    @property
    def rank(self) -> int:
        return {"None": 0, "My": 1, "All": 2}[self.value]

    @classmethod
    def parse(cls, value: object) -> "Level":
        if isinstance(value, Level):
            return value
        text = str(value).strip().lower()  # None reads as "none"
        for lv in cls:
            if lv.value.lower() == text:
                return lv
        raise ValueError(f"invalid level {value!r}: use None, My or All")


class Waiver(BaseModel):
    """Why a grant above policy is accepted, by whom, until when."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    justification: str
    approved_by: str
    expires: Date

    @field_validator("justification", "approved_by")
    @classmethod
    def _text(cls, v: str, info: ValidationInfo) -> str:
        if not v.strip():  # a waiver nobody justified or approved accepts nothing
            raise ValueError(f"a waiver needs {info.field_name}")
        return v.strip()

    def valid_on(self, day: dt.date) -> bool:
        return day <= self.expires


class Grant(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    module: str
    function: str
    add: Level = Level.NONE
    edit: Level = Level.NONE
    delete: Level = Level.NONE
    inquire: Level = Level.NONE
    waiver: Optional[Waiver] = None

    @field_validator("add", "edit", "delete", "inquire", mode="before")
    @classmethod
    def _level(cls, v: object) -> Level:
        return Level.parse(v)

    def levels(self) -> dict[LevelName, Level]:
        return {n: getattr(self, n) for n in LEVEL_NAMES}

    @property
    def where(self) -> str:
        return join_function(self.module, self.function)


FunctionKey = tuple[str, str]  # (module name, function name), catalog spelling
Grid = dict[FunctionKey, dict[LevelName, Level]]


class GrantError(ValueError):
    pass


def _none_levels() -> dict[LevelName, Level]:
    return {n: Level.NONE for n in LEVEL_NAMES}


def desired_grid(grants: Iterable[Grant], catalog: Catalog | None = None) -> Grid:
    """The complete grid the code asks for; unknown or duplicate grants raise GrantError."""
    catalog = catalog or load_catalog()
    grid: Grid = {(m.name, f.name): _none_levels() for m, f in catalog.functions()}
    seen: dict[FunctionKey, str] = {}
    problems: list[str] = []
    for g in grants:
        try:
            r = resolve_function(g.module, g.function, catalog)
        except UnknownName as e:
            problems.append(str(e))
            continue
        m, f = r.module, r.function
        key = r.key
        if key in seen:
            problems.append(
                f"duplicate grant for {m.name} › {f.name} (as {seen[key]!r} and {g.where!r}); merge them into one"
            )
            continue
        seen[key] = g.where
        for n, lv in g.levels().items():
            if lv is not Level.NONE and n not in f.levels:
                problems.append(f"{m.name} › {f.name}: the {n.title()} level does not apply to this function")
            grid[key][n] = lv
    if problems:
        raise GrantError("; ".join(problems))
    return grid


def live_grid(rows: Iterable[Mapping], catalog: Catalog | None = None) -> Grid:
    """A grid from ``/system/securityRoles/{id}/settings`` rows (API field names).

    Rows whose names the catalog does not know are kept under their live names, so that a
    grant on them is still seen as drift.
    """
    catalog = catalog or load_catalog()
    grid: Grid = {}
    for r in rows:
        try:
            m, f = catalog.function(r["moduleName"], r["moduleFunctionName"])
            key = (m.name, f.name)
        except CatalogError:
            key = (r["moduleName"], r["moduleFunctionName"])
        grid[key] = {n: Level.parse(r.get(f"{n}Level")) for n in LEVEL_NAMES}
    return grid


class Change(BaseModel):
    """One cell an admin must set in System › Security Roles."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    module: str
    function: str
    level: LevelName
    live: Optional[Level]  # None: the function is missing from the live role
    desired: Level

    @property
    def where(self) -> str:
        return join_function(self.module, self.function, self.level)

    def __str__(self) -> str:
        was = self.live.value if self.live is not None else "missing"
        return f"{self.where}: set {self.desired.value} (now {was})"


def diff_grids(desired: Grid, live: Grid, catalog: Catalog | None = None) -> list[Change]:
    """Cells where live differs from desired, in the role editor's order."""
    catalog = catalog or load_catalog()
    order = {(m.name, f.name): i for i, (m, f) in enumerate(catalog.functions())}
    keys = sorted(set(desired) | set(live), key=lambda k: (order.get(k, len(order)), k))
    changes: list[Change] = []
    for key in keys:
        want = desired.get(key, _none_levels())
        have = live.get(key)
        for n in LEVEL_NAMES:
            now = have[n] if have is not None else None
            if now != want[n] and not (now is None and want[n] is Level.NONE):
                changes.append(Change(module=key[0], function=key[1], level=n, live=now, desired=want[n]))
    return changes


def grid_to_json(grid: Grid) -> dict[str, dict[str, str]]:
    """Stable, state-friendly form: {"Module › Function": {"add": "All", ...}} (non-None only)."""
    out: dict[str, dict[str, str]] = {}
    for (m, f), levels in sorted(grid.items()):
        granted: dict[str, str] = {n: lv.value for n, lv in levels.items() if lv is not Level.NONE}
        if granted:
            out[join_function(m, f)] = granted
    return out


def grid_from_json(data: Mapping[str, Mapping[str, str]]) -> Grid:
    grid: Grid = {}
    for where, levels in data.items():
        m, f = split_function(where)
        cell = _none_levels()
        for n, v in levels.items():
            cell[n] = Level.parse(v)  # type: ignore[index]
        grid[(m, f)] = cell
    return grid


def drift_lines(before: Grid, after: Grid) -> list[str]:
    """Cells that changed from ``before`` to ``after``, one line each ("M › F › Level: now X (was Y)"), in
    ``after``'s order (functions only ``before`` has last). The provider records them; cwroles drift reads
    them back with :func:`parse_drift_line`."""
    keys = [k for k in after if k in before] + [k for k in after if k not in before] + [k for k in before if k not in after]
    out = []
    for k in keys:
        b = before.get(k) or _none_levels()
        a = after.get(k) or _none_levels()
        for n in LEVEL_NAMES:
            if a[n] != b[n]:
                out.append(f"{join_function(k[0], k[1], n)}: now {a[n].value} (was {b[n].value})")
    return out


def parse_drift_line(line: str) -> tuple[tuple[str, str, LevelName], str]:
    """((module, function, level), the level it was) of a :func:`drift_lines` line; ValueError if it is not one."""
    m = _DRIFT_LINE.fullmatch(line)  # the last " › Level: now": a tenant's function may hold that text too
    if m is None:
        raise ValueError(f"not a drift line: {line!r}")
    module, function = split_function(m["cell"])
    return (module, function, m["level"].lower()), m["was"]  # type: ignore[return-value]


_DRIFT_LINE = re.compile(r"(?P<cell>.+) › (?P<level>Add|Edit|Delete|Inquire): now (?:None|My|All) "
                         r"\(was (?P<was>None|My|All)\)")


def render_checklist(
    role_name: str,
    changes: list[Change],
    customize: Mapping[str, Mapping[str, list[str]]] | None = None,
) -> str:
    """Markdown the admin follows in System › Security Roles › ``role_name``.

    ``customize`` maps a function ("System › Table Setup") to {"allow": [...], "disallow": [...]}.
    """
    lines = [f"# Security role “{role_name}”: changes to make by hand", "",
             "ConnectWise's API cannot write a role's permission settings. In ConnectWise PSA open",
             f"System › Security Roles › **{role_name}**, expand each module and set:", ""]
    by_module: dict[str, dict[str, list[Change]]] = {}  # one section per module, in the order given
    for c in changes:
        by_module.setdefault(c.module, {}).setdefault(c.function, []).append(c)
    for m, functions in by_module.items():
        lines += ["", f"## {m}", ""]
        for f, cs in functions.items():
            cells = ", ".join(
                f"{c.level.title()} → **{c.desired.value}** (now {c.live.value if c.live else 'missing'})" for c in cs
            )
            lines.append(f"- [ ] {f}: {cells}")
    for fn, lists in (customize or {}).items():
        allow, disallow = lists.get("allow", []), lists.get("disallow", [])
        if not (allow or disallow):
            continue
        lines += ["", f"## {fn} › Customize", ""]
        lines += [f"- [ ] move to “Allow access to these”: {i}" for i in allow]
        lines += [f"- [ ] move to “Disallow access to these”: {i}" for i in disallow]
    lines += ["", "Save the role, then run `pulumi up` again: it turns green when ConnectWise matches the code.", ""]
    return "\n".join(lines)


class ChecklistItem(BaseModel):
    """One line of a checklist written by :func:`render_checklist`, read back (demo, tooling)."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    module: str
    function: str
    level: Optional[LevelName] = None  # a grid cell …
    desired: Optional[Level] = None
    customize_function: Optional[str] = None  # … or a Customize allow-list move
    item: Optional[str] = None
    allow: Optional[bool] = None


def parse_checklist(markdown: str) -> list[ChecklistItem]:
    """The changes listed in a checklist rendered by :func:`render_checklist`, in order."""
    items: list[ChecklistItem] = []
    module: Optional[str] = None
    customize: Optional[str] = None
    cell = re.compile(r"(Add|Edit|Delete|Inquire) → \*\*(None|My|All)\*\*")
    for line in markdown.splitlines():
        if line.startswith("## "):
            head = line[3:].strip()
            if head.endswith(" › Customize"):
                customize, module = head[: -len(" › Customize")], None
            else:
                module, customize = head, None
        elif line.startswith("- [ ] ") and module is not None:
            function, _, cells = line[6:].rpartition(": ")  # a tenant's function may be "Reports: Custom"
            for lv, want in cell.findall(cells):
                items.append(ChecklistItem(module=module, function=function, level=lv.lower(), desired=Level(want)))
        elif line.startswith("- [ ] move to ") and customize is not None:
            m, f = split_function(customize)
            allow = "“Allow" in line
            items.append(ChecklistItem(module=m, function=f, customize_function=customize,
                                       item=line.split("”: ", 1)[1], allow=allow))
    return items
