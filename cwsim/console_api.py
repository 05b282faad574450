"""The console's JSON API (/console/api): the admin's clicks, for tests, demos and scripts."""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .backend import IssuedKey, Tenant
from .errors import BackendError, NotFound
from .console import ConsoleError, backend, find_member, find_role, tenant
from .records import Member, Role


def role_json(t: Tenant, role: Role) -> dict:
    """A role as the console shows it: its grid rows, the grid by "Module › Function", its allow-lists."""
    settings, grid = [], {}
    for row in t.grid(role.id):
        s, f = row.setting, row.info
        levels = s.levels()
        settings.append({"id": s.id, "module": f.module, "function": f.function, **levels,
                         "applicable": list(f.levels), "customize": f.customize_identifier})
        grid[f.key] = levels
    customize = {key: {"identifier": a.info.customize_identifier if a.info else None,
                       "items": a.info.customize_items if a.info else "", "allow": a.allow}
                 for key, a in t.allow_lists(role.id).items()}
    return {"id": role.id, "name": role.name, "roleType": role.role_type, "adminFlag": role.admin,
            "inactiveFlag": role.inactive, "members": [m.identifier for m in t.members_with_role(role.id)],
            "settings": settings, "grid": grid, "customize": customize}


def member_json(t: Tenant, m: Member) -> dict:
    role = t.role(m.security_role) if m.security_role is not None else None
    return {"id": m.id, "identifier": m.identifier, "name": m.name, "inactiveFlag": m.inactive,
            "securityRole": {"id": role.id, "name": role.name} if role else None,
            "keys": [{"id": k.id, "publicKey": k.public_key, "description": k.description, "kind": k.kind,
                      "expiration": k.expires.isoformat() if k.expires else None, "created": k.created}
                     for k in t.keys(m)]}


def issued_key_json(m: Member, issued: IssuedKey) -> dict:
    return {"id": issued.key.id, "memberId": m.id, "memberIdentifier": m.identifier,
            "description": issued.key.description, "publicKey": issued.key.public_key,
            "privateKey": issued.private_key}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": "InvalidRequest" if status == 400 else "NotFound", "message": message,
                         "errors": []}, status_code=status)


def _endpoint(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def wrapper(request: Request) -> Response:
        try:
            return await fn(request)
        except ConsoleError as e:
            return _error(e.status, e.message)
        except BackendError as e:
            return _error(404 if isinstance(e, NotFound) else 400, e.message)
        except ValueError as e:  # bad JSON
            return _error(400, f"invalid JSON body: {e}")
    return wrapper


async def _body(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw) if raw.strip() else {}


@_endpoint
async def companies(request: Request) -> Response:
    return JSONResponse([{"companyId": c.company_id, "name": c.name} for c in backend(request).companies()])


@_endpoint
async def roles(request: Request) -> Response:
    return JSONResponse([{"id": r.id, "name": r.name, "roleType": r.role_type, "adminFlag": r.admin,
                          "inactiveFlag": r.inactive} for r in tenant(request).roles()])


@_endpoint
async def role(request: Request) -> Response:
    t = tenant(request)
    return JSONResponse(role_json(t, find_role(t, request.path_params["role"])))


@_endpoint
async def role_settings(request: Request) -> Response:
    t = tenant(request)
    found = find_role(t, request.path_params["role"])
    body = await _body(request)
    if not isinstance(body, dict) or "settings" not in body:
        raise ConsoleError(400, 'body must be {"settings": [{"module": ..., "function": ..., "inquire": "All"}]}')
    t.set_levels(found, body["settings"])
    return JSONResponse(role_json(t, found))


@_endpoint
async def role_customize(request: Request) -> Response:
    t = tenant(request)
    key, items = t.set_allow_list(find_role(t, request.path_params["role"]), await _body(request))
    return JSONResponse({"function": key, "allow": items})


@_endpoint
async def members(request: Request) -> Response:
    t = tenant(request)
    return JSONResponse([member_json(t, m) for m in t.members()])


@_endpoint
async def member(request: Request) -> Response:
    t = tenant(request)
    return JSONResponse(member_json(t, find_member(t, request.path_params["member"])))


@_endpoint
async def member_keys(request: Request) -> Response:
    t = tenant(request)
    m = find_member(t, request.path_params["member"])
    if request.method == "GET":
        return JSONResponse(member_json(t, m)["keys"])
    body = await _body(request)
    description = body.get("description", "") if isinstance(body, dict) else ""
    return JSONResponse(issued_key_json(m, t.create_key(m, description)), status_code=201)


@_endpoint
async def member_key_delete(request: Request) -> Response:
    t = tenant(request)
    t.delete_key(find_member(t, request.path_params["member"]), int(request.path_params["key_id"]))
    return Response(status_code=204)


def routes() -> list[Route]:
    api = "/console/api/{cid}"
    out = [
        Route("/console/api/companies", companies, methods=["GET"]),
        Route(f"{api}/roles", roles, methods=["GET"]),
        Route(f"{api}/apiMembers", members, methods=["GET"]),
        Route(f"{api}/apiMembers/{{member}}", member, methods=["GET"]),
        Route(f"{api}/apiMembers/{{member}}/keys", member_keys, methods=["GET", "POST"]),
        Route(f"{api}/apiMembers/{{member}}/keys/{{key_id:int}}", member_key_delete, methods=["DELETE"]),
    ]
    for prefix in (f"{api}/roles/by-name/{{role}}", f"{api}/roles/{{role}}"):
        out += [
            Route(prefix, role, methods=["GET"]),
            Route(f"{prefix}/settings", role_settings, methods=["POST"]),
            Route(f"{prefix}/customize", role_customize, methods=["PUT"]),
        ]
    return out
