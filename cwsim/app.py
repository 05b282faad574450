"""ASGI app factory: the emulated ConnectWise REST API, /login/companyinfo, the console and /_cwsim admin."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import re
import uuid
from typing import Callable, Optional

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as SRoute

from cwroles import emulator_defaults as D
from cwroles.catalog import CatalogError

from .authz import ROUTES, authorize, load_authz
from .backend import Backend, Tenant
from .faults import FaultMiddleware, Faults
from .records import Member
from .responses.base import API_VERSION, ApiError, Ctx, Route, error_response

log = logging.getLogger("cwsim")

CODEBASE_RE = re.compile(r"^v\d+_\d+(_release)?$", re.IGNORECASE)


def _headers() -> dict[str, str]:
    return {"api-current-version": API_VERSION, "x-cw-request-id": str(uuid.uuid4()), "x-server-name": "cwsim"}


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "Unauthorized", message)


def authenticate(request: Request, backend: Backend) -> tuple[Tenant, Member]:
    """(tenant, calling member) for a ConnectWise Basic-auth request, or raise 401."""
    if not request.headers.get("clientid", "").strip():
        raise _unauthorized("The clientId header is required. Register a clientId at developer.connectwise.com "
                            "and send it as 'clientId: <guid>' on every request.")
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        raise _unauthorized("Missing or non-Basic Authorization header; send "
                            "Basic base64(companyId+publicKey:privateKey).")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized("The Authorization header is not valid base64.") from None
    user, sep, private = decoded.partition(":")
    company_id, plus, public = user.partition("+")
    if not sep or not plus or not company_id or not public or not private:
        raise _unauthorized("Credentials must be companyId+publicKey:privateKey.")
    company = backend.company(company_id)
    if company is None:
        raise _unauthorized(f"Unknown company {company_id!r} or invalid API keys.")
    tenant = backend.tenant(company)
    member = tenant.authenticate(public, private)
    if member is None:
        raise _unauthorized(f"Invalid, expired or inactive API keys for company {company_id!r}.")
    return tenant, member


def match(rest: str) -> Optional[tuple[Route, dict]]:
    for r in ROUTES:
        m = r.pattern.match(rest)
        if m:
            return r, m.groupdict()
    return None


async def api(request: Request) -> Response:
    backend: Backend = request.app.state.backend
    codebase = request.path_params["codebase"]
    rest = "/" + request.path_params.get("rest", "")
    try:
        if not CODEBASE_RE.match(codebase):
            raise ApiError(404, "NotFound", f"Unknown codebase {codebase!r}; use v4_6_release or the one "
                                            "GET /login/companyinfo/{companyId} returns.")
        tenant, member = authenticate(request, backend)
        found = match(rest)
        if found is None:
            raise ApiError(404, "NotFound", f"No such resource: {rest}. cwsim emulates /system/securityroles, "
                                            "/system/apiMembers, /system/members, /system/mySecurity and "
                                            "/system/setupScreens.")
        route, params = found
        method = request.method.upper()
        if method not in route.methods:
            allow = ", ".join(sorted(route.methods))
            raise ApiError(405, "MethodNotAllowed",
                           f"{method} is not supported on {rest} (ConnectWise allows {allow} here).",
                           headers={"Allow": allow})
        ctx = Ctx(request=request, tenant=tenant, member=member, params=params,
                  query={k.lower(): v for k, v in request.query_params.items()}, route=route.name)
        authorize(ctx, route, method)
        resp = await route.methods[method](ctx)
    except ApiError as e:
        resp = e.response()
    except CatalogError as e:
        resp = error_response(400, "InvalidObject", str(e))
    except ClientDisconnect:
        resp = client_gone(request)
    except Exception as e:  # never a traceback to the client
        log.exception("cwsim internal error")
        resp = error_response(500, "ServerError", f"cwsim internal error: {type(e).__name__}: {e}")
    for k, v in _headers().items():
        resp.headers.setdefault(k, v)
    return resp


async def company_info(request: Request) -> Response:
    backend: Backend = request.app.state.backend
    c = backend.company(request.path_params["company_id"])
    if c is None:
        return Response("null", media_type="application/json")
    return JSONResponse({
        "CompanyName": c.name,
        "Codebase": D.CODEBASE,
        "VersionCode": "v" + API_VERSION,
        "VersionNumber": "v4.6.2025.1",
        "CompanyID": c.company_id,
        "IsCloud": False,
        "SiteUrl": f"{request.url.hostname}:{request.url.port}" if request.url.port else request.url.hostname,
    })


CLIENT_CLOSED = 499  # "client closed request" (nginx's code): the client went away before cwsim could read it


def client_gone(request: Request) -> Response:
    """The client gave up (e.g. its timeout during a latency fault) before cwsim read the request body: nothing
    was done, nobody is listening. Counted in the metrics as 499, logged without a traceback."""
    log.info("client went away before cwsim read its request: %s %s (nothing done)", request.method, request.url.path)
    return Response(status_code=CLIENT_CLOSED)


async def _client_disconnected(request: Request, exc: Exception) -> Response:
    return client_gone(request)


def admin_index(admin_routes: list) -> Callable:
    """GET /_cwsim/ (the startup banner's admin link): what the admin endpoints are, from the routes themselves."""
    methods: dict[str, set[str]] = {}
    for r in admin_routes:
        methods.setdefault(r.path, set()).update(m for m in (r.methods or ()) if m != "HEAD")
    endpoints = [{"path": path, "methods": sorted(ms)} for path, ms in methods.items()]

    async def index(request: Request) -> Response:
        base = f"{request.url.scheme}://{request.url.netloc}"
        company = request.app.state.default_company
        return JSONResponse({
            "cwsim": "ConnectWise PSA REST API emulator: admin endpoints (no auth; keep cwsim on localhost)",
            "api": f"{base}/{D.CODEBASE}apis/3.0",
            "console": f"{base}/console/{company}",
            "endpoints": endpoints,
            "docs": "docs/emulator.md",
        })

    return index


async def not_found(request: Request, exc: Exception) -> Response:
    return error_response(404, "NotFound", f"No such path: {request.url.path}")


def create_app(db_path: str = D.DB_PATH, default_company: Optional[str] = None, backend: Optional[Backend] = None):
    """The ASGI app (fault middleware around Starlette). ``default_company`` is created if missing."""
    from . import admin, console

    backend = backend or Backend(db_path)
    load_authz()
    if default_company:
        backend.ensure_company(default_company)
    faults = Faults()
    admin_routes = admin.routes()
    index = admin_index(admin_routes)
    inner = Starlette(
        routes=[
            SRoute("/login/companyinfo/{company_id}", company_info, methods=["GET"]),
            SRoute("/{codebase}/apis/3.0/{rest:path}", api,
                   methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
            SRoute("/_cwsim/", index, methods=["GET"]),
            SRoute("/_cwsim", index, methods=["GET"]),
            *admin_routes,
            *console.routes(),
        ],
        exception_handlers={404: not_found, ClientDisconnect: _client_disconnected},
    )
    inner.state.backend = backend
    inner.state.faults = faults
    inner.state.default_company = default_company or D.COMPANY_ID
    app = FaultMiddleware(inner, faults)
    app.backend = backend  # type: ignore[attr-defined]
    app.faults = faults  # type: ignore[attr-defined]
    app.inner = inner  # type: ignore[attr-defined]
    return app


__all__ = ["create_app", "dt"]
