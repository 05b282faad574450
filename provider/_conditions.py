"""A small builder for ConnectWise ``conditions`` strings.

Strings are double-quoted with ``\\`` and ``"`` backslash-escaped; field names are checked so a
value can never smuggle in an operator.

    >>> all_of(eq("identifier", 'o"brien'), eq("inactiveFlag", False))
    'identifier = "o\\\\"brien" and inactiveFlag = false'
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Iterable

__all__ = ["quote", "cond", "eq", "ne", "contains", "like", "in_", "all_of", "any_of"]

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")
_OPS = {"=", "!=", "<", "<=", ">", ">=", "contains", "like", "not like", "in", "not in"}


def quote(value: object) -> str:
    """A literal in ConnectWise's conditions syntax."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.datetime):
        v = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return "[" + v.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") + "]"
    if isinstance(value, dt.date):
        return f"[{value.isoformat()}]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _field(name: str) -> str:
    if not _FIELD.match(name):
        raise ValueError(f"invalid condition field {name!r}")
    return name


def cond(field: str, op: str, value: object) -> str:
    if op not in _OPS:
        raise ValueError(f"invalid condition operator {op!r}")
    if op in ("in", "not in"):
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise ValueError("'in' needs a list of values")
        return f"{_field(field)} {op} (" + ", ".join(quote(v) for v in value) + ")"
    return f"{_field(field)} {op} {quote(value)}"


def eq(field: str, value: object) -> str:
    return cond(field, "=", value)


def ne(field: str, value: object) -> str:
    return cond(field, "!=", value)


def contains(field: str, value: str) -> str:
    return cond(field, "contains", value)


def like(field: str, pattern: str) -> str:
    return cond(field, "like", pattern)


def in_(field: str, values: Iterable[object]) -> str:
    return cond(field, "in", list(values))


def _join(word: str, parts: tuple[str, ...]) -> str:
    parts = tuple(p for p in parts if p)
    if not parts:
        raise ValueError("no conditions to combine")
    if len(parts) == 1:
        return parts[0]
    return f" {word} ".join(f"({p})" if (" and " in p or " or " in p) else p for p in parts)


def all_of(*parts: str) -> str:
    return _join("and", parts)


def any_of(*parts: str) -> str:
    return _join("or", parts)
