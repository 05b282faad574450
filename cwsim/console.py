"""The console: what a human admin does in ConnectWise's UI and the public API cannot do
(set a role's permission grid and Customize allow-lists, create permanent API keys).

No API auth (the emulator is meant to listen on localhost only). The JSON API for tests and scripts
lives in ``console_api.py`` under /console/api, the HTML pages in ``console_pages.py`` under /console.
Both call the tenant's backend; this module holds what they share and their routes.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from .backend import Backend, Tenant
from .records import Member, Role


class ConsoleError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def backend(request: Request) -> Backend:
    return request.app.state.backend


def tenant(request: Request) -> Tenant:
    b = backend(request)
    c = b.company(request.path_params["cid"])
    if c is None:
        raise ConsoleError(404, f"no company {request.path_params['cid']!r}; POST /_cwsim/companies creates one")
    return b.tenant(c)


def find_role(t: Tenant, ref: str) -> Role:
    found = t.find_role(ref)
    if found is None:
        names = ", ".join(repr(r.name) for r in t.roles())
        raise ConsoleError(404, f"no security role {ref!r} in company {t.company_id!r}; roles: {names}")
    return found


def find_member(t: Tenant, ref: str) -> Member:
    found = t.find_member(ref)
    if found is None:
        raise ConsoleError(404, f"no API member {ref!r} in company {t.company_id!r}")
    return found


def routes() -> list[Route]:
    from . import console_api, console_pages

    return [*console_api.routes(), *console_pages.routes()]
