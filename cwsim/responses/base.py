"""Shared plumbing for the emulated REST API: error bodies, request context, list conventions."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cwroles.api_permissions import path_pattern

from ..backend import Tenant
from ..errors import BackendError, Denied, Invalid, NotFound
from ..conditions import ConditionError, compile_conditions, parse_fields, parse_order_by, project, sort_records
from ..records import Member

API_VERSION = "2025.1"
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000


class ApiError(Exception):
    """An error answered in ConnectWise's ErrorResponseMessage shape."""

    def __init__(self, status: int, code: str, message: str, errors: Optional[list[dict]] = None,
                 headers: Optional[dict[str, str]] = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.errors = errors or []
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.message, self.errors, self.headers)

    @classmethod
    def of(cls, e: BackendError) -> "ApiError":
        """A backend refusal in ConnectWise's words."""
        if isinstance(e, Invalid):
            return cls(400, "InvalidObject", e.message, [x.to_json() for x in e.errors])
        if isinstance(e, NotFound):
            return cls(404, "NotFound", e.message)
        if isinstance(e, Denied):
            return cls(403, "Forbidden", e.message)
        return cls(400, "InvalidObject", e.message)


def verr(code: str, message: str, field: str, resource: str = "") -> dict:
    return {"code": code, "message": message, "resource": resource, "field": field}


def error_response(status: int, code: str, message: str, errors: Optional[list[dict]] = None,
                   headers: Optional[dict[str, str]] = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "errors": errors or []}, status_code=status,
                        headers=headers)


def invalid(message: str, errors: Optional[list[dict]] = None) -> ApiError:
    return ApiError(400, "InvalidObject", message, errors)


def not_found(what: str) -> ApiError:
    return ApiError(404, "NotFound", f"{what} was not found")


@dataclass
class Ctx:
    request: Request
    tenant: Tenant
    member: Member  # the calling member
    params: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)  # lower-cased names
    route: str = ""

    @property
    def company_id(self) -> str:
        return self.tenant.company_id

    @property
    def caller(self) -> str:
        return self.member.identifier

    async def json(self) -> Any:
        raw = await self.request.body()
        if not raw.strip():
            raise invalid("The request body is empty; send a JSON object")
        try:
            return json.loads(raw)
        except ValueError as e:
            raise invalid(f"The request body is not valid JSON: {e}") from None

    async def json_object(self) -> dict:
        body = await self.json()
        if not isinstance(body, dict):
            raise invalid("The request body must be a JSON object")
        return body


Handler = Callable[[Ctx], Awaitable[Response]]


def _int_param(ctx: Ctx, name: str, default: int) -> int:
    raw = ctx.query.get(name.lower())
    if raw is None or raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        raise invalid(f"{name} must be a whole number (got {raw!r})") from None
    if v < 1:
        raise invalid(f"{name} must be 1 or more (got {v})")
    return v


def filtered(ctx: Ctx, records: list[dict]) -> list[dict]:
    try:
        pred = compile_conditions(ctx.query.get("conditions"))
        return [r for r in records if pred(r)]
    except ConditionError as e:
        raise invalid(f"conditions: {e}") from None


def list_response(ctx: Ctx, records: list[dict]) -> JSONResponse:
    """Apply conditions, orderBy, paging (page/pageSize or forward-only pageId) and fields."""
    records = filtered(ctx, records)
    try:
        order = parse_order_by(ctx.query.get("orderby"))
        fields = parse_fields(ctx.query.get("fields"))
        records = sort_records(records, order) if order else records
    except ConditionError as e:
        raise invalid(str(e)) from None
    size = min(_int_param(ctx, "pageSize", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    headers: dict[str, str] = {}
    forward_only = ctx.request.headers.get("pagination-type", "").lower() == "forward-only"
    if forward_only:
        page_id = ctx.query.get("pageid")
        try:
            after = int(page_id) if page_id else 0
        except ValueError:
            raise invalid(f"pageId must be a whole number (got {page_id!r})") from None
        records = sorted((r for r in records if r.get("id", 0) > after), key=lambda r: r.get("id", 0))
        chunk = records[:size]
        if len(records) > size:
            headers["Link"] = f'<{_page_url(ctx, pageId=chunk[-1]["id"], pageSize=size)}>; rel="next"'
    else:
        page = _int_param(ctx, "page", 1)
        total = len(records)
        last = max(1, -(-total // size))
        chunk = records[(page - 1) * size: page * size]
        links = []
        if page > 1:
            links.append(("first", 1))
            links.append(("prev", min(page - 1, last)))
        if page < last:
            links.append(("next", page + 1))
            links.append(("last", last))
        if links:
            headers["Link"] = ", ".join(f'<{_page_url(ctx, page=p, pageSize=size)}>; rel="{rel}"' for rel, p in links)
    body = [project(r, fields) for r in chunk]
    return JSONResponse(body, headers=headers)


def count_response(ctx: Ctx, records: list[dict]) -> JSONResponse:
    return JSONResponse({"count": len(filtered(ctx, records))})


def one_response(ctx: Ctx, record: dict, status: int = 200) -> JSONResponse:
    try:
        fields = parse_fields(ctx.query.get("fields"))
    except ConditionError as e:
        raise invalid(str(e)) from None
    return JSONResponse(project(record, fields), status_code=status)


def _page_url(ctx: Ctx, **overrides: Any) -> str:
    req = ctx.request
    params = [(k, v) for k, v in req.query_params.multi_items() if k.lower() not in {o.lower() for o in overrides}]
    params += [(k, str(v)) for k, v in overrides.items()]
    return f"{req.url.scheme}://{req.url.netloc}{req.url.path}?{urlencode(params)}"


def info(updated: str, by: str, **links: str) -> dict:
    out = {"lastUpdated": updated, "updatedBy": by}
    out.update(links)
    return out


# ---- routing ------------------------------------------------------------------------------

@dataclass
class Route:
    name: str  # the path template, as cwroles/data/api-permissions.yaml lists it
    pattern: re.Pattern
    methods: dict[str, Handler]


def _speaks_connectwise(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapper(ctx: Ctx) -> Response:
        try:
            return await handler(ctx)
        except BackendError as e:
            raise ApiError.of(e) from None
    return wrapper


def route(path: str, **methods: Handler) -> Route:
    """An emulated endpoint: ``path`` is its template in the permission map ({id} digits, {x:str} any)."""
    return Route(path, path_pattern(path), {k.upper(): _speaks_connectwise(v) for k, v in methods.items()})
