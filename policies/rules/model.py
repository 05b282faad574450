"""What the pack reads from the resources: type tokens, plain props, grants, waivers, "today".

Resource inputs reach a policy wrapped in pulumi_policy's unknown-checking proxies; ``plain``
turns them into ordinary dicts/lists and marks values that are unknown during preview with
:data:`UNKNOWN` instead of raising, so a policy decides per value what an unknown means.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

from cwroles.catalog import Catalog, load_catalog
from cwroles.dates import parse_date
from cwroles.grid import Level
from cwroles.names import join_function, resolve_function, split_function
from cwroles.permissions import WAIVER_KEYS, parse_grant_list, parse_level_name, parse_waiver
from cwroles.permissions import resolve as resolve_named
from cwroles.problems import Problem, Where

SECURITY_ROLE = "pulumi-python:dynamic/connectwise:SecurityRole"
ROLE_PERMISSIONS = "pulumi-python:dynamic/connectwise:RolePermissions"
API_MEMBER = "pulumi-python:dynamic/connectwise:ApiMember"

TODAY_ENV = "CWROLES_POLICY_TODAY"

_SENTINELS = {
    UNKNOWN_ARCHIVE_VALUE, UNKNOWN_ARRAY_VALUE, UNKNOWN_ASSET_VALUE, UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE, UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE,
}


class _Unknown:
    """A value that is not known until the update runs (preview)."""

    _instance: Optional["_Unknown"] = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown during preview>"

    def __bool__(self) -> bool:
        return False


UNKNOWN = _Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


def plain(value: Any) -> Any:
    """A deep plain copy of ``value`` (proxy or not); unknown values become :data:`UNKNOWN`."""
    if isinstance(value, str):
        return UNKNOWN if value in _SENTINELS else value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k in list(value):
            if k == "__provider":
                continue
            try:
                out[k] = plain(value[k])
            except UnknownValueError:
                out[k] = UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        items = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def require_known(value: Any, prop: str) -> Any:
    """Raise pulumi_policy's UnknownValueError (reported by the SDK as "can't run during preview")."""
    if value is UNKNOWN:
        raise UnknownValueError(UNKNOWN_OBJECT_VALUE, [prop])
    return value


# ---- "today" ------------------------------------------------------------------------------------
class PolicyConfigError(ValueError):
    """A policy-pack config value the pack cannot use (reported as a violation, never a traceback)."""


def parse_day(text: Any, what: str) -> dt.date:
    try:
        return parse_date(text)
    except ValueError:
        raise PolicyConfigError(f"{what} is {text!r}, not a date; write it as YYYY-MM-DD") from None


def today(config: Mapping[str, Any]) -> dt.date:
    """The day waivers are checked against: policy config `today`, else $CWROLES_POLICY_TODAY, else the clock."""
    if config.get("today"):
        return parse_day(config["today"], "policy config 'today'")
    env = os.environ.get(TODAY_ENV, "").strip()
    if env:
        return parse_day(env, f"environment variable {TODAY_ENV}")
    return dt.date.today()


# ---- functions, levels, grants (parsed by the core: cwroles.permissions) --------------------------
def where(module: str, function: str, level: Optional[str] = None) -> str:
    return join_function(module, function, level)


def split_where(text: str) -> tuple[str, str]:
    """ "Module › Function" (also "Module > Function") -> (module, function); raises ValueError."""
    return split_function(text)


def resolve(module: str, function: str) -> tuple[str, str]:
    """Catalog spelling of a module function; raises ValueError with the closest entries."""
    return resolve_function(module, function, load_catalog()).key


@dataclass
class WaiverInfo:
    justification: str
    approved_by: str
    expires: Optional[dt.date]
    origin: str  # "grant" or "stack config cwroles:waivers"
    problem: str = ""  # why the waiver is unusable (incomplete, bad date)

    def valid_on(self, day: dt.date) -> bool:
        return not self.problem and self.expires is not None and day <= self.expires

    def describe(self) -> str:
        exp = self.expires.isoformat() if self.expires else "?"
        return f"“{self.justification}” (approved by {self.approved_by}, expires {exp}; {self.origin})"


def waiver_info(raw: Any, where_: Where, origin: str) -> WaiverInfo:
    """A waiver for the pack: usable, or kept with the reason it cannot be used."""
    w, problems = parse_waiver(raw, where_)
    if w is not None:
        return WaiverInfo(w.justification, w.approved_by, w.expires, origin)
    data = raw if isinstance(raw, Mapping) else {}
    try:
        expires: Optional[dt.date] = parse_date(data.get("expires"))
    except ValueError:
        expires = None
    return WaiverInfo(str(data.get("justification") or "").strip(), str(data.get("approved_by") or "").strip(),
                      expires, origin, problem="; ".join(p.text() for p in problems))


@dataclass
class GrantCell:
    """One granted level (value above None) of one grant as the stack wrote it."""

    module: str  # catalog spelling when resolvable, else as written
    function: str
    level: str  # add/edit/delete/inquire
    value: Level
    resolved: bool
    waiver: Optional[WaiverInfo] = None
    origin: Optional[str] = None  # the stack config entry that set this grant (cwroles:extraGrants[i])

    @property
    def where(self) -> str:
        return where(self.module, self.function, self.level)


@dataclass
class ParsedGrants:
    cells: list[GrantCell] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # unknown functions, bad levels


def parse_grants(grants: Any, catalog: Optional[Catalog] = None) -> ParsedGrants:
    """Every granted cell; an invalid level is reported and checked as All (the worst case). ``catalog``: the
    bundled one, or with the tenant's own entries (``tenant_catalog``)."""
    out = ParsedGrants()
    if grants in (None, ""):
        return out
    rows, problems = parse_grant_list(grants, Where(path=("grants",)), catalog,
                                      carried=("reason", "source", "feature", "origin"), lenient_levels=True)
    out.problems += [_grant_problem(p) for p in problems if p.is_error and ".waiver" not in (p.field or "")]
    for i, row in enumerate(rows):  # one row per grant
        if row is None:
            continue
        waiver = None
        if row.waiver is not None:
            waiver = WaiverInfo(row.waiver.justification, row.waiver.approved_by, row.waiver.expires, "grant waiver")
        elif row.waiver_problems:
            waiver = waiver_info(grants[i].get("waiver"), row.where.key("waiver"), "grant waiver")
        for n, lv in row.granted().items():
            out.cells.append(GrantCell(row.module, row.function, n, lv, row.resolved, waiver, row.meta.get("origin")))
    return out


def _grant_problem(p: Problem) -> str:
    text = str(p)
    if p.field and p.field.count(".") == 0 and ("unknown" in p.message or "not a security-role function" in p.message
                                                or "not \"Module" in p.message):
        return f"{text} (the pack checks a grant only when it names a ConnectWise function)"
    return text


@dataclass
class StackWaiver:
    module: str
    function: str
    level: Optional[str]
    waiver: WaiverInfo
    resolved: bool

    def covers(self, cell: GrantCell) -> bool:
        return (self.resolved and cell.module == self.module and cell.function == self.function
                and (self.level is None or self.level == cell.level))


def parse_stack_waivers(waivers: Any, catalog: Optional[Catalog] = None) -> tuple[list[StackWaiver], list[str]]:
    """Stack config waivers; one that cannot be used is kept with its reason (so a finding says why).
    ``catalog``: the one the role's grants were read with (the bundled catalog plus the tenant's own
    entries), so a waiver can name a function only the tenant has."""
    out: list[StackWaiver] = []
    problems: list[Problem] = []
    if waivers in (None, ""):
        return out, []
    base = Where(path=("waivers",))
    if not isinstance(waivers, list):
        return out, [str(base.problem(f"must be a list of waivers, got {type(waivers).__name__}", ""))]
    catalog = catalog or load_catalog()
    for i, w in enumerate(waivers):
        here = base.index(i)
        if not isinstance(w, Mapping):
            problems.append(here.problem(f"must be a mapping with module, function, level (optional), justification, "
                                         f"approved_by and expires; got {w!r}"))
            continue
        r = resolve_named(w.get("module", ""), w.get("function", ""), here, catalog, problems)
        level = None
        if w.get("level") not in (None, ""):
            try:
                level = parse_level_name(w["level"])
            except ValueError as e:
                problems.append(here.key("level").problem(str(e), "use add, edit, delete or inquire (or leave it out "
                                                                   "for all levels)"))
                r = None
        info = waiver_info({k: w.get(k) for k in WAIVER_KEYS}, here, "stack config cwroles:waivers")
        module, function = r.key if r else (str(w.get("module", "")), str(w.get("function", "")))
        out.append(StackWaiver(module, function, level, info, r is not None))
    return out, [str(p) for p in problems if p.is_error]
