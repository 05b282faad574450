"""/system/apiMembers and /system/members."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Optional

from starlette.responses import JSONResponse, Response

from ..models import REF_KINDS, iso, now
from .base import (ApiError, Ctx, bool_field, count_response, info, invalid, list_response, not_found,
                   one_response, route, str_field, verr)

RESOURCE = "apiMember"
REQUIRED_REFS = ("securityRole", "structureLevel", "securityLocation", "defaultLocation", "defaultDepartment")
OPTIONAL_DEFAULTED = ("timeZone", "salesDefaultLocation")
MEMBER_FIELDS = (
    "identifier", "name", "emailAddress", "inactiveFlag", "inactiveDate", "timeZone", "securityRole",
    "structureLevel", "securityLocation", "defaultLocation", "defaultDepartment", "salesDefaultLocation",
    "serviceDefaultBoard", "notes", "excludedServiceBoardIds", "blockPriceFlag", "blockCostFlag",
)
READ_ONLY = ("id", "_info")


def _ref_view(ctx: Ctx, field: str, ref_id: Optional[int]) -> Optional[dict]:
    if ref_id is None:
        return None
    if field == "securityRole":
        role = ctx.store.role(ctx.company_id, ref_id)
        return {"id": ref_id, "name": role["name"] if role else None, "_info": {}}
    row = ctx.store.ref(ctx.company_id, ref_id)
    if row is None:
        return {"id": ref_id, "name": None}
    v = {"id": row["id"], "name": row["name"], "_info": {}}
    if row["kind"] == "department":
        v = {"id": row["id"], "identifier": row["identifier"], "name": row["name"], "_info": {}}
    return v


def api_member_view(ctx: Ctx, row) -> dict:
    doc = json.loads(row["doc"])
    out: dict[str, Any] = {"id": row["id"], "identifier": row["identifier"]}
    for f in MEMBER_FIELDS[1:]:
        if f == "securityRole" or f in REF_KINDS:
            out[f] = _ref_view(ctx, f, doc.get(f))
        else:
            out[f] = doc.get(f)
    out["excludedServiceBoardIds"] = out.get("excludedServiceBoardIds") or []
    out["_info"] = info(row["updated"], row["updated_by"])
    return out


def member_view(ctx: Ctx, row) -> dict:
    """The /system/members shape of an API member (licenseClass A)."""
    a = api_member_view(ctx, row)
    return {
        "id": a["id"],
        "identifier": a["identifier"],
        "firstName": a["name"],
        "lastName": None,
        "licenseClass": "A",
        "officeEmail": a["emailAddress"],
        "primaryEmail": a["emailAddress"],
        "defaultEmail": "Office",
        "defaultPhone": "Office",
        "adminFlag": False,
        "inactiveFlag": a["inactiveFlag"],
        "inactiveDate": a["inactiveDate"],
        "securityRole": a["securityRole"],
        "structureLevel": a["structureLevel"],
        "securityLocation": a["securityLocation"],
        "defaultLocation": a["defaultLocation"],
        "defaultDepartment": a["defaultDepartment"],
        "timeZone": a["timeZone"],
        "notes": a["notes"],
        "_info": a["_info"],
    }


def _resolve_ref(ctx: Ctx, field: str, value: Any, errors: list[dict]) -> Optional[int]:
    if value is None:
        return None
    if not isinstance(value, dict) or not any(k in value for k in ("id", "name", "identifier")):
        errors.append(verr("InvalidField", f"{field} must be a reference object like {{\"id\": 1}} or "
                                           f"{{\"name\": \"...\"}}", field, RESOURCE))
        return None
    rid, name, ident = value.get("id"), value.get("name"), value.get("identifier")
    if rid is not None and (not isinstance(rid, int) or isinstance(rid, bool)):
        errors.append(verr("InvalidField", f"{field}/id must be a whole number", field, RESOURCE))
        return None
    if field == "securityRole":
        row = (ctx.store.role(ctx.company_id, rid) if rid is not None
               else ctx.store.role_by_name(ctx.company_id, str(name)) if name is not None else None)
        if row is None:
            what = f"id {rid}" if rid is not None else f"name {name!r}"
            errors.append(verr("InvalidObject", f"securityRole: no security role with {what} exists. "
                                                "List roles with GET /system/securityroles.", field, RESOURCE))
            return None
        return row["id"]
    kind = REF_KINDS[field]
    row = ctx.store.find_ref(ctx.company_id, kind, id=rid,
                             name=name if rid is None else None,
                             identifier=ident if rid is None and name is None else None)
    if row is None:
        what = f"id {rid}" if rid is not None else f"name {name!r}" if name is not None else f"identifier {ident!r}"
        errors.append(verr("InvalidObject", f"{field}: no {kind} with {what} exists. "
                                            "GET /system/apiMembers/default shows valid values.", field, RESOURCE))
        return None
    return row["id"]


def validate_member(ctx: Ctx, body: dict, existing_id: Optional[int] = None) -> tuple[str, dict]:
    """Identifier and stored doc for a create (POST) or full replace (PUT); raises 400."""
    errors: list[dict] = []
    identifier = str_field(body, "identifier", errors, RESOURCE, max_len=15, required=True)
    name = str_field(body, "name", errors, RESOURCE, max_len=30, required=True)
    email = str_field(body, "emailAddress", errors, RESOURCE, max_len=250)
    notes = str_field(body, "notes", errors, RESOURCE)
    doc: dict[str, Any] = {
        "name": name.strip() if name else name,
        "emailAddress": email,
        "notes": notes,
        "inactiveFlag": bool(bool_field(body, "inactiveFlag", errors, RESOURCE, False)),
        "blockPriceFlag": bool(bool_field(body, "blockPriceFlag", errors, RESOURCE, False)),
        "blockCostFlag": bool(bool_field(body, "blockCostFlag", errors, RESOURCE, False)),
    }
    inactive_date = body.get("inactiveDate")
    if inactive_date is not None:
        try:
            dt.datetime.fromisoformat(str(inactive_date).replace("Z", "+00:00"))
        except ValueError:
            errors.append(verr("InvalidField", "inactiveDate must be an ISO 8601 date-time", "inactiveDate", RESOURCE))
    doc["inactiveDate"] = inactive_date
    if doc["inactiveFlag"] and not inactive_date:
        doc["inactiveDate"] = iso(now())
    boards = body.get("excludedServiceBoardIds") or []
    if not isinstance(boards, list) or not all(isinstance(b, int) and not isinstance(b, bool) for b in boards):
        errors.append(verr("InvalidField", "excludedServiceBoardIds must be a list of board ids",
                           "excludedServiceBoardIds", RESOURCE))
        boards = []
    doc["excludedServiceBoardIds"] = boards
    defaults = ctx.store.member_defaults(ctx.company_id)
    for field in (*REQUIRED_REFS, *OPTIONAL_DEFAULTED, "serviceDefaultBoard"):
        value = body.get(field)
        if value is None:
            if field in REQUIRED_REFS:
                errors.append(verr("NullValue", f"{field} may not be null; the ConnectWise API member form requires it "
                                                "(GET /system/apiMembers/default gives tenant defaults).", field, RESOURCE))
            doc[field] = defaults.get(field) if field in OPTIONAL_DEFAULTED else None
            continue
        doc[field] = _resolve_ref(ctx, field, value, errors)
    if identifier and not errors:
        clash = ctx.store.member_by_identifier(ctx.company_id, identifier.strip())
        if clash is not None and clash["id"] != existing_id:
            errors.append(verr("ObjectExists", f"A member with identifier {identifier.strip()!r} already exists.",
                               "identifier", RESOURCE))
    if errors:
        raise invalid("apiMember object is invalid", errors)
    return identifier.strip(), doc


def _api_member(ctx: Ctx):
    row = ctx.store.member(ctx.company_id, int(ctx.params["id"]))
    if row is None:
        raise not_found(f"API Member with id {ctx.params['id']}")
    return row


async def list_api_members(ctx: Ctx) -> Response:
    return list_response(ctx, [api_member_view(ctx, r) for r in ctx.store.members(ctx.company_id)])


async def count_api_members(ctx: Ctx) -> Response:
    return count_response(ctx, [api_member_view(ctx, r) for r in ctx.store.members(ctx.company_id)])


async def default_api_member(ctx: Ctx) -> Response:
    d = ctx.store.member_defaults(ctx.company_id)
    out: dict[str, Any] = {f: None for f in MEMBER_FIELDS}
    out.update({"inactiveFlag": False, "blockPriceFlag": False, "blockCostFlag": False, "excludedServiceBoardIds": []})
    for f, rid in d.items():
        out[f] = _ref_view(ctx, f, rid)
    out["_info"] = {}
    return one_response(ctx, out)


async def get_api_member(ctx: Ctx) -> Response:
    return one_response(ctx, api_member_view(ctx, _api_member(ctx)))


async def create_api_member(ctx: Ctx) -> Response:
    body = await ctx.json_object()
    identifier, doc = validate_member(ctx, body)
    mid = ctx.store.insert_member(ctx.company_id, identifier, doc, ctx.caller)
    return one_response(ctx, api_member_view(ctx, ctx.store.member(ctx.company_id, mid)), status=201)


async def put_api_member(ctx: Ctx) -> Response:
    row = _api_member(ctx)
    body = await ctx.json_object()
    identifier, doc = validate_member(ctx, body, existing_id=row["id"])
    ctx.store.update_member(ctx.company_id, row["id"], identifier, doc, ctx.caller)
    return one_response(ctx, api_member_view(ctx, ctx.store.member(ctx.company_id, row["id"])))


def apply_patch(current: dict, ops: Any) -> dict:
    if not isinstance(ops, list) or not ops:
        raise invalid("PATCH body must be a non-empty JSON array of operations like "
                      '[{"op": "replace", "path": "name", "value": "New name"}]')
    body = dict(current)
    for i, op in enumerate(ops):
        if not isinstance(op, dict):
            raise invalid(f"operation {i + 1} must be an object with op, path and value")
        kind = str(op.get("op", "")).lower()
        path = str(op.get("path", "")).strip().strip("/")
        if kind not in ("add", "replace", "remove"):
            raise invalid(f"operation {i + 1}: op {op.get('op')!r} is not supported; use add, replace or remove",
                          [verr("InvalidField", "unsupported op", "op", RESOURCE)])
        if "value" not in op and kind != "remove":
            raise invalid(f"operation {i + 1}: value is required for {kind}",
                          [verr("NullValue", "value is required", "value", RESOURCE)])
        parts = path.split("/")
        top = next((f for f in (*MEMBER_FIELDS, *READ_ONLY) if f.lower() == parts[0].lower()), None)
        if top is None:
            raise invalid(f"operation {i + 1}: {path!r} is not a field of apiMember",
                          [verr("InvalidField", f"unknown field {path!r}", path, RESOURCE)])
        if top in READ_ONLY:
            raise invalid(f"operation {i + 1}: {top} is read-only",
                          [verr("InvalidField", f"{top} is read-only", top, RESOURCE)])
        value = None if kind == "remove" else op["value"]
        if len(parts) == 1:
            body[top] = value
        elif len(parts) == 2 and (top == "securityRole" or top in REF_KINDS):
            sub = parts[1].lower()
            if sub not in ("id", "name", "identifier"):
                raise invalid(f"operation {i + 1}: {path!r} is not a field of {top}",
                              [verr("InvalidField", f"unknown field {path!r}", path, RESOURCE)])
            body[top] = None if value is None else {sub: value}
        else:
            raise invalid(f"operation {i + 1}: {path!r} is not a field of apiMember",
                          [verr("InvalidField", f"unknown field {path!r}", path, RESOURCE)])
    return body


async def patch_api_member(ctx: Ctx) -> Response:
    row = _api_member(ctx)
    current = api_member_view(ctx, row)
    for f in list(current):
        if isinstance(current[f], dict) and f != "_info":
            current[f] = {"id": current[f]["id"]}
    body = apply_patch(current, await ctx.json())
    identifier, doc = validate_member(ctx, body, existing_id=row["id"])
    ctx.store.update_member(ctx.company_id, row["id"], identifier, doc, ctx.caller)
    return one_response(ctx, api_member_view(ctx, ctx.store.member(ctx.company_id, row["id"])))


# ---- /system/members -------------------------------------------------------------------------

async def list_members(ctx: Ctx) -> Response:
    return list_response(ctx, [member_view(ctx, r) for r in ctx.store.members(ctx.company_id)])


async def count_members(ctx: Ctx) -> Response:
    return count_response(ctx, [member_view(ctx, r) for r in ctx.store.members(ctx.company_id)])


async def get_member(ctx: Ctx) -> Response:
    row = ctx.store.member(ctx.company_id, int(ctx.params["id"]))
    if row is None:
        raise not_found(f"Member with id {ctx.params['id']}")
    return one_response(ctx, member_view(ctx, row))


RESERVED = {"types", "count", "withsso", "calendarsync", "info"}


async def get_member_by_identifier(ctx: Ctx) -> Response:
    ident = ctx.params["identifier"]
    row = None if ident.lower() in RESERVED else ctx.store.member_by_identifier(ctx.company_id, ident)
    if row is None:
        raise not_found(f"Member with identifier {ident!r}")
    return one_response(ctx, member_view(ctx, row))


async def not_emulated(ctx: Ctx) -> Response:
    raise ApiError(501, "NotImplemented",
                   f"{ctx.request.method} {ctx.request.url.path} exists in ConnectWise but cwsim does not emulate it "
                   "(cwsim emulates API members only; use /system/apiMembers).")


async def deactivate_member(ctx: Ctx) -> Response:
    row = ctx.store.member(ctx.company_id, int(ctx.params["id"]))
    if row is None:
        raise not_found(f"Member with id {ctx.params['id']}")
    raw = await ctx.request.body()
    if raw.strip():
        body = await ctx.json()
        if not isinstance(body, dict):
            raise invalid("The MemberDeactivation body must be a JSON object")
        flag = body.get("deleteOpenTimeSheetsFlag")
        if flag is not None and not isinstance(flag, bool):
            raise invalid("deleteOpenTimeSheetsFlag must be true or false",
                          [verr("InvalidField", "must be true or false", "deleteOpenTimeSheetsFlag", "memberDeactivation")])
    if row["id"] == ctx.member["id"]:
        raise invalid(f"Member {row['identifier']!r} cannot deactivate itself; call as another member.",
                      [verr("InvalidObject", "cannot deactivate the calling member", "id", "member")])
    doc = json.loads(row["doc"])
    if doc.get("inactiveFlag"):
        raise invalid(f"Member {row['identifier']!r} is already inactive.",
                      [verr("InvalidObject", "member is already inactive", "inactiveFlag", "member")])
    doc["inactiveFlag"] = True
    doc["inactiveDate"] = iso(now())
    ctx.store.update_member(ctx.company_id, row["id"], row["identifier"], doc, ctx.caller)
    return Response(status_code=204)


async def member_token(ctx: Ctx) -> Response:
    ident = ctx.params["identifier"]
    row = ctx.store.member_by_identifier(ctx.company_id, ident)
    if row is None and ident.isdigit():
        row = ctx.store.member(ctx.company_id, int(ident))
    if row is None:
        raise not_found(f"Member with identifier {ident!r}")
    if json.loads(row["doc"]).get("inactiveFlag"):
        raise invalid(f"Member {row['identifier']!r} is inactive; a token cannot be issued.",
                      [verr("InvalidObject", "member is inactive", "memberIdentifier", "token")])
    tok = ctx.store.new_key(ctx.company_id, row["id"], f"token issued to {ctx.caller}", kind="token",
                            ttl=ctx.store.token_ttl)
    return JSONResponse({"publicKey": tok["publicKey"], "privateKey": tok["privateKey"],
                         "expiration": tok["expiration"]}, status_code=201)


ROUTES = [
    route("apimembers.count", "/system/apimembers/count", GET=count_api_members),
    route("apimembers.default", "/system/apimembers/default", GET=default_api_member),
    route("apimembers", "/system/apimembers", GET=list_api_members, POST=create_api_member),
    route("apimembers.id", "/system/apimembers/{id}", GET=get_api_member, PUT=put_api_member,
          PATCH=patch_api_member),
    route("members.count", "/system/members/count", GET=count_members),
    route("members", "/system/members", GET=list_members, POST=not_emulated),
    route("members.id", "/system/members/{id}", GET=get_member, PUT=not_emulated, PATCH=not_emulated),
    route("members.deactivate", "/system/members/{id}/deactivate", POST=deactivate_member),
    route("members.tokens", "/system/members/{identifier:str}/tokens", POST=member_token),
    route("members.identifier", "/system/members/{identifier:str}", GET=get_member_by_identifier),
]
