"""The ConnectWise REST API's permission map: which module › function › level each endpoint needs.

Data lives in ``data/api-permissions.yaml``; this module is its schema and lookup. The provider
words its 403 hints from it and the emulator authorizes with it, so the two cannot disagree.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, field_validator

from .catalog import CatalogError, LevelName, data_file, load_catalog

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
ALWAYS = "always"  # any authenticated member
PUBLIC = "public"  # no authentication at all

_PARAM = re.compile(r"\{(\w+)(:str)?\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Permission(_Model):
    """A cell of the role grid that a request needs (met by My or All)."""

    module: str
    function: str
    level: LevelName

    def __str__(self) -> str:
        return f"{self.module} › {self.function} › {self.level.title()}"


Requirement = Union[Permission, Literal["always", "public"]]


class Endpoint(_Model):
    path: str
    does: str
    methods: dict[Method, Requirement]

    @field_validator("path")
    @classmethod
    def _template(cls, v: str) -> str:
        if not v.startswith("/") or v != v.strip() or "//" in v:
            raise ValueError(f"path {v!r} must start with '/' and have no empty segment")
        leftover = _PARAM.sub("", v)
        if "{" in leftover or "}" in leftover:
            raise ValueError(f"path {v!r}: parameters are {{name}} (a whole number) or {{name:str}}")
        return v

    @property
    def pattern(self) -> re.Pattern[str]:
        return path_pattern(self.path)

    def matches(self, path: str) -> bool:
        return self.pattern.match(path.split("?", 1)[0]) is not None

    @property
    def specificity(self) -> tuple[int, int]:
        """Literal segments beat whole-number parameters, which beat any-segment parameters."""
        params = _PARAM.findall(self.path)
        return (-sum(1 for _, s in params if s), -len(params))


class ApiPermissions(_Model):
    schema_version: Literal[1]
    endpoints: list[Endpoint]

    def endpoint(self, path: str) -> Optional[Endpoint]:
        """The most specific endpoint whose template matches ``path`` (an API path, no query)."""
        found = [e for e in self.endpoints if e.matches(path)]
        return max(found, key=lambda e: e.specificity) if found else None

    def requirement(self, method: str, path: str) -> Optional[Requirement]:
        e = self.endpoint(path)
        return e.methods.get(method.upper()) if e else None  # type: ignore[call-overload]

    def permission(self, method: str, path: str) -> Optional[Permission]:
        """The grid cell ``method path`` needs, or None (no such endpoint, or no permission needed)."""
        need = self.requirement(method, path)
        return need if isinstance(need, Permission) else None


@lru_cache(maxsize=None)
def path_pattern(template: str) -> re.Pattern[str]:
    """A case-insensitive regex for a path template; a trailing slash is optional."""
    out, pos = [], 0
    for m in _PARAM.finditer(template):
        out.append(re.escape(template[pos:m.start()]))
        out.append(f"(?P<{m.group(1)}>[^/]+)" if m.group(2) else f"(?P<{m.group(1)}>\\d+)")
        pos = m.end()
    out.append(re.escape(template[pos:].rstrip("/")))
    return re.compile("^" + "".join(out) + "/?$", re.IGNORECASE)


class ApiPermissionsError(ValueError):
    """The permission map is inconsistent (a name the catalog lacks, a path listed twice)."""


def parse_api_permissions(data: object) -> ApiPermissions:
    perms = ApiPermissions.model_validate(data)
    catalog = load_catalog()
    problems: list[str] = []
    seen: set[str] = set()
    for e in perms.endpoints:
        if e.path.lower() in seen:
            problems.append(f"{e.path} is listed twice")
        seen.add(e.path.lower())
        for method, need in e.methods.items():
            if not isinstance(need, Permission):
                continue
            try:
                m, f = catalog.function(need.module, need.function)
            except CatalogError as err:
                problems.append(f"{method} {e.path}: {err}")
                continue
            if (m.name, f.name) != (need.module, need.function):
                problems.append(f"{method} {e.path}: write {m.name} › {f.name} as the catalog spells it")
            elif need.level not in f.levels:
                problems.append(f"{method} {e.path}: {m.name} › {f.name} has no {need.level.title()} level")
    if problems:
        raise ApiPermissionsError("cwroles/data/api-permissions.yaml: " + "; ".join(problems))
    return perms


@lru_cache(maxsize=1)
def load_api_permissions() -> ApiPermissions:
    import yaml  # here: the provider reads the table only to explain a refusal

    text = data_file("api-permissions.yaml").read_text(encoding="utf-8")
    return parse_api_permissions(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


__all__ = ["ALWAYS", "PUBLIC", "ApiPermissions", "ApiPermissionsError", "Endpoint", "Method", "Permission",
           "Requirement", "load_api_permissions", "parse_api_permissions", "path_pattern"]
