"""Privileged functions (``policies/privileged.yaml``) plus config ``extraPrivilegedFunctions``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping, Optional

import yaml

from cwroles.catalog import LEVEL_NAMES
from cwroles.permissions import parse_level_name

from .model import GrantCell, PolicyConfigError, resolve, split_where

_ENTRY_KEYS = ("function", "levels", "reason")
ORIGIN = "policies/privileged.yaml"


@dataclass(frozen=True)
class PrivilegedRule:
    module: Optional[str]  # None: any function
    function: Optional[str]
    levels: frozenset[str]
    reason: str
    origin: str

    def matches(self, cell: GrantCell) -> bool:
        if cell.level not in self.levels:
            return False
        return self.module is None or (cell.module, cell.function) == (self.module, self.function)

    def describe(self) -> str:
        what = "any function" if self.module is None else f"{self.module} › {self.function}"
        lv = ("any level" if self.levels == frozenset(LEVEL_NAMES)
              else "/".join(n.title() for n in LEVEL_NAMES if n in self.levels))
        return f"{what} ({lv})"


def _rule(entry: Any, origin: str) -> PrivilegedRule:
    if isinstance(entry, str):
        entry = {"function": entry}
    if not isinstance(entry, Mapping) or not entry.get("function"):
        raise PolicyConfigError(f"{origin}: {entry!r} is not a function name or {{function, levels, reason}}")
    unknown = sorted(str(k) for k in entry if k not in _ENTRY_KEYS)
    if unknown:  # a misspelt "levels" or "reason" would quietly change the rule
        raise PolicyConfigError(f"{origin}: unknown key(s) {unknown} in {entry!r}; use function, levels, reason")
    try:
        module, function = resolve(*split_where(entry["function"]))
    except ValueError as e:
        raise PolicyConfigError(f"{origin}: {e}") from None
    levels = entry.get("levels")
    if levels is None:
        levels = list(LEVEL_NAMES)
    if not isinstance(levels, list) or not levels:
        raise PolicyConfigError(f"{origin}: levels {levels!r} for {module} › {function} is not a list of add, edit, "
                                "delete, inquire (leave it out for every level)")
    parsed = []
    for lv in levels:
        try:
            parsed.append(parse_level_name(lv))
        except ValueError:
            raise PolicyConfigError(f"{origin}: levels {levels} for {module} › {function}; use add, edit, delete, "
                                    "inquire") from None
    return PrivilegedRule(module, function, frozenset(parsed), str(entry.get("reason") or "listed as privileged"),
                          origin)


@lru_cache(maxsize=1)
def default_rules() -> tuple[PrivilegedRule, ...]:
    data = yaml.safe_load(resources.files("cwroles.policies").joinpath("privileged.yaml").read_bytes())
    rules = [_rule(e, ORIGIN) for e in data.get("privileged") or []]
    if data.get("any_delete"):
        rules.append(PrivilegedRule(None, None, frozenset({"delete"}), str(data["any_delete"]["reason"]), ORIGIN))
    return tuple(rules)


def rules_from_config(config: Mapping[str, Any]) -> list[PrivilegedRule]:
    extra = config.get("extraPrivilegedFunctions")
    if extra is None:
        extra = []
    if not isinstance(extra, list):  # a lone string would be read one character at a time
        raise PolicyConfigError(f"policy config extraPrivilegedFunctions: {extra!r} is not a list of functions "
                                "(\"Module › Function\" or {function, levels, reason})")
    return [*default_rules(), *(_rule(e, "policy config extraPrivilegedFunctions") for e in extra)]
