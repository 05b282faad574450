"""What the pack reads from the resources: type tokens, plain props, grants, waivers, "today".

Resource inputs reach a policy wrapped in pulumi_policy's unknown-checking proxies; ``plain``
turns them into ordinary dicts/lists and marks values that are unknown during preview with
:data:`UNKNOWN` instead of raising, so a policy decides per value what an unknown means.
"""

from __future__ import annotations

import datetime as dt
import os
import re
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

from cwroles.catalog import LEVEL_NAMES, CatalogError, load_catalog
from cwroles.grid import Level

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
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text).strip())
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


# ---- functions, levels, grants ------------------------------------------------------------------
def where(module: str, function: str, level: Optional[str] = None) -> str:
    s = f"{module} › {function}"
    return f"{s} › {level.title()}" if level else s


def split_where(text: str) -> tuple[str, str]:
    """ "Module › Function" (also "Module > Function") -> (module, function)."""
    parts = re.split(r"\s*(?:›|>)\s*", str(text).strip(), maxsplit=1)
    if len(parts) != 2 or not all(parts):
        raise CatalogError(f"{text!r} is not 'Module › Function' (e.g. 'System › Table Setup')")
    return parts[0], parts[1]


def resolve(module: str, function: str) -> tuple[str, str]:
    """Catalog spelling of a module function; raises CatalogError with the closest entries."""
    m, f = load_catalog().function(str(module), str(function))
    return m.name, f.name


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


def parse_waiver(data: Any, origin: str) -> WaiverInfo:
    if not isinstance(data, Mapping):
        return WaiverInfo("", "", None, origin, problem=f"waiver is not an object: {data!r}")
    just = str(data.get("justification") or "").strip()
    by = str(data.get("approved_by") or "").strip()
    problems = []
    if not just:
        problems.append("justification is empty")
    if not by:
        problems.append("approved_by is empty")
    expires = None
    raw = data.get("expires")
    if raw in (None, ""):
        problems.append("expires is missing")
    else:
        try:
            expires = parse_day(raw, "expires")
        except PolicyConfigError as e:
            problems.append(str(e))
    return WaiverInfo(just, by, expires, origin, problem="; ".join(problems))


@dataclass
class GrantCell:
    """One granted level (value above None) of one grant as the stack wrote it."""

    module: str  # catalog spelling when resolvable, else as written
    function: str
    level: str  # add/edit/delete/inquire
    value: Level
    resolved: bool
    waiver: Optional[WaiverInfo] = None

    @property
    def where(self) -> str:
        return where(self.module, self.function, self.level)


@dataclass
class ParsedGrants:
    cells: list[GrantCell] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # unknown functions, bad levels


def parse_grants(grants: Any) -> ParsedGrants:
    out = ParsedGrants()
    if grants in (None, ""):
        return out
    if not isinstance(grants, list):
        out.problems.append(f"grants is not a list: {grants!r}")
        return out
    for i, g in enumerate(grants):
        if not isinstance(g, Mapping):
            out.problems.append(f"grant #{i + 1} is not an object: {g!r}")
            continue
        module, function = str(g.get("module", "")), str(g.get("function", ""))
        try:
            module, function = resolve(module, function)
            resolved = True
        except CatalogError as e:
            resolved = False
            out.problems.append(
                f"grant {where(module, function)} names no ConnectWise function the pack knows ({e}); "
                "fix the spelling so the grant can be checked"
            )
        waiver = parse_waiver(g["waiver"], "grant waiver") if g.get("waiver") else None
        for n in LEVEL_NAMES:
            raw = g.get(n)
            try:
                lv = Level.parse(raw)
            except ValueError:
                out.problems.append(f"{where(module, function, n)} = {raw!r} is not a level; use None, My or All")
                lv = Level.ALL  # treat the worst case so it is also checked against the ceiling
            if lv is not Level.NONE:
                out.cells.append(GrantCell(module, function, n, lv, resolved, waiver))
    return out


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


def parse_stack_waivers(waivers: Any) -> tuple[list[StackWaiver], list[str]]:
    out: list[StackWaiver] = []
    problems: list[str] = []
    if waivers in (None, ""):
        return out, problems
    if not isinstance(waivers, list):
        return out, [f"waivers is not a list: {waivers!r}"]
    for w in waivers:
        if not isinstance(w, Mapping):
            problems.append(f"waiver is not an object: {w!r}")
            continue
        module, function = str(w.get("module", "")), str(w.get("function", ""))
        resolved = True
        try:
            module, function = resolve(module, function)
        except CatalogError as e:
            resolved = False
            problems.append(f"stack waiver for {where(module, function)} matches no function ({e})")
        level = w.get("level")
        if level not in (None, ""):
            level = str(level).strip().lower()
            if level not in LEVEL_NAMES:
                problems.append(
                    f"stack waiver for {where(module, function)} has level {w.get('level')!r}; "
                    "use add, edit, delete or inquire (or leave it out for all levels)"
                )
                resolved = False
        else:
            level = None
        info = parse_waiver({k: w.get(k) for k in ("justification", "approved_by", "expires")},
                            "stack config cwroles:waivers")
        out.append(StackWaiver(module, function, level, info, resolved))
    return out, problems
