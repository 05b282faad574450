"""/_cwsim admin endpoints (no auth; the emulator listens on localhost): companies, their own catalog
extras, reset, request metrics, fault rules and emulator settings."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Optional

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cwroles import emulator_defaults as D

from .backend import Backend
from .errors import Exists, Invalid
from .records import Company
from .tenant_catalog import CatalogExtras, extras_json


def _err(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": "InvalidRequest", "message": message, "errors": []}, status_code=status)


async def _body(request: Request) -> dict:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def _backend(request: Request) -> Backend:
    return request.app.state.backend


def company_json(request: Request, c: Company, private_key: bool = True) -> dict:
    base = f"{request.url.scheme}://{request.url.netloc}"
    out = {
        "companyId": c.company_id,
        "name": c.name,
        "clientId": c.client_id,
        "adminIdentifier": D.ADMIN_IDENTIFIER,
        "publicKey": c.bootstrap_public,
        "apiUrl": f"{base}/{D.CODEBASE}apis/3.0",
        "consoleUrl": f"{base}/console/{c.company_id}",
    }
    if private_key:
        out["privateKey"] = c.bootstrap_private
    return out


def parse_extras(data: Any) -> CatalogExtras:
    """A catalog-extras body; ValueError naming each bad field."""
    try:
        return CatalogExtras.model_validate(data if data is not None else {})
    except ValidationError as e:
        where = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in e.errors())
        raise ValueError(f"catalog extras: {where}") from None


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "defaultCompany": request.app.state.default_company})


async def list_companies(request: Request) -> Response:
    return JSONResponse([company_json(request, c, private_key=False) for c in _backend(request).companies()])


async def create_company(request: Request) -> Response:
    try:
        body = await _body(request)
    except ValueError as e:
        return _err(400, f"invalid JSON body: {e}")
    cid = body.get("companyId")
    if not isinstance(cid, str) or not cid.strip():
        return _err(400, "companyId is required, e.g. {\"companyId\": \"acme\"}")
    kw = {k: body[k2] for k, k2 in (("name", "name"), ("public_key", "publicKey"), ("private_key", "privateKey"),
                                       ("client_id", "clientId")) if body.get(k2)}
    try:
        extras: Optional[CatalogExtras] = parse_extras(body["catalog"]) if "catalog" in body else None
        c = _backend(request).create_company(cid.strip(), catalog=extras, **kw)
    except Exists:
        return _err(409, f"company {cid!r} already exists; POST /_cwsim/reset {{\"companyId\": \"{cid}\"}} to wipe it")
    except (Invalid, ValueError) as e:
        return _err(400, str(e))
    return JSONResponse(company_json(request, c), status_code=201)


async def delete_company(request: Request) -> Response:
    backend = _backend(request)
    cid = request.path_params["company_id"]
    if backend.company(cid) is None:
        return _err(404, f"no company {cid!r}")
    backend.delete_company(cid)
    return Response(status_code=204)


async def company_catalog(request: Request) -> Response:
    """The company's catalog extras: GET lists them, POST adds (entries it has already are skipped),
    DELETE goes back to the bundled catalog."""
    backend = _backend(request)
    cid = request.path_params["company_id"]
    if backend.company(cid) is None:
        return _err(404, f"no company {cid!r}")
    tenant = backend.tenant(cid)
    if request.method == "POST":
        try:
            tenant.add_catalog_extras(parse_extras(await _body(request)))
        except ValueError as e:
            return _err(400, str(e))
    elif request.method == "DELETE":
        tenant.clear_catalog_extras()
        return Response(status_code=204)
    return JSONResponse(extras_json(tenant.catalog.extras))


async def reset(request: Request) -> Response:
    backend = _backend(request)
    try:
        body = await _body(request)
    except ValueError as e:
        return _err(400, f"invalid JSON body: {e}")
    cid = body.get("companyId") or request.app.state.default_company
    c = backend.company(cid)
    if c is None:
        return _err(404, f"no company {cid!r}")
    backend.reset_company(c.company_id)
    if body.get("faults", True):
        request.app.state.faults.clear()
    return JSONResponse(company_json(request, c))


async def requests_metrics(request: Request) -> Response:
    faults = request.app.state.faults
    if request.method == "DELETE":
        faults.reset_metrics()
        return Response(status_code=204)
    return JSONResponse(faults.metrics())


async def faults_collection(request: Request) -> Response:
    faults = request.app.state.faults
    if request.method == "GET":
        return JSONResponse([r.to_json() for r in faults.rules])
    if request.method == "DELETE":
        faults.clear()
        return Response(status_code=204)
    try:
        body = json.loads(await request.body() or b"null")
        items = body if isinstance(body, list) else [body]
        rules = [faults.add(item) for item in items]
    except ValueError as e:
        return _err(400, f"invalid fault rule: {e}")
    out = [r.to_json() for r in rules]
    return JSONResponse(out if isinstance(body, list) else out[0], status_code=201)


async def fault_item(request: Request) -> Response:
    if request.app.state.faults.remove(int(request.path_params["rule_id"])):
        return Response(status_code=204)
    return _err(404, "no such fault rule")


async def config(request: Request) -> Response:
    backend = _backend(request)
    if request.method == "POST":
        try:
            body = await _body(request)
            if "tokenTtlSeconds" in body:
                ttl = float(body["tokenTtlSeconds"])
                if ttl <= 0:
                    raise ValueError("tokenTtlSeconds must be more than 0")
                backend.token_ttl = dt.timedelta(seconds=ttl)
        except (ValueError, TypeError) as e:
            return _err(400, str(e))
    return JSONResponse({"tokenTtlSeconds": backend.token_ttl.total_seconds()})


def routes() -> list[Route]:
    return [
        Route("/_cwsim/health", health, methods=["GET"]),
        Route("/_cwsim/companies", list_companies, methods=["GET"]),
        Route("/_cwsim/companies", create_company, methods=["POST"]),
        Route("/_cwsim/companies/{company_id}", delete_company, methods=["DELETE"]),
        Route("/_cwsim/companies/{company_id}/catalog", company_catalog, methods=["GET", "POST", "DELETE"]),
        Route("/_cwsim/reset", reset, methods=["POST"]),
        Route("/_cwsim/requests", requests_metrics, methods=["GET", "DELETE"]),
        Route("/_cwsim/faults", faults_collection, methods=["GET", "POST", "DELETE"]),
        Route("/_cwsim/faults/{rule_id:int}", fault_item, methods=["DELETE"]),
        Route("/_cwsim/config", config, methods=["GET", "POST"]),
    ]
