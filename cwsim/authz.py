"""Authorization of emulated API requests, from the core's permission map (cwroles/data/api-permissions.yaml).

The map says which module › function › level each endpoint needs; the tenant's backend decides whether
the caller's role has it. Every emulated route must be in the map, so the emulator cannot serve an
endpoint the map (and with it the provider's 403 hints) does not know.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Union

from cwroles.api_permissions import ALWAYS, Permission, load_api_permissions

from .errors import Denied
from .responses import members, roles
from .responses.base import ApiError, Ctx, Route

ROUTES: list[Route] = [*roles.ROUTES, *members.ROUTES]
Need = Union[Permission, str]


@lru_cache(maxsize=1)
def load_authz() -> dict[str, dict[str, Need]]:
    """route name (its path template) -> HTTP method -> the Permission it needs, or ``always``."""
    perms = load_api_permissions()
    by_path = {e.path.lower(): e for e in perms.endpoints}
    out: dict[str, dict[str, Need]] = {}
    missing = []
    for r in ROUTES:
        endpoint = by_path.get(r.name.lower())
        for m in r.methods:
            need = endpoint.methods.get(m) if endpoint else None  # type: ignore[call-overload]
            if need is None:
                missing.append(f"{m} {r.name}")
                continue
            out.setdefault(r.name, {})[m] = need
    if missing:
        raise RuntimeError(f"cwroles/data/api-permissions.yaml has no entry for: {', '.join(missing)}")
    return out


def authorize(ctx: Ctx, route: Route, method: str) -> None:
    need = load_authz()[route.name][method]
    if need == ALWAYS:
        return
    if not isinstance(need, Permission):  # `public` never reaches an authenticated route
        raise RuntimeError(f"{method} {route.name}: an authenticated route cannot be {need!r}")
    try:
        ctx.tenant.check_permission(ctx.member, need)
    except Denied as e:
        raise ApiError.of(e) from None


__all__ = ["ROUTES", "authorize", "load_authz"]
