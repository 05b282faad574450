"""/system/apiMembers and /system/members.

Handlers parse the request, call the tenant's backend and render records in ConnectWise's shapes.
"""

from __future__ import annotations

from typing import Any, Optional

from starlette.responses import JSONResponse, Response

from ..backend import MEMBER_FIELDS
from ..records import REF_KINDS, Member
from .base import ApiError, Ctx, count_response, info, invalid, list_response, not_found, one_response, route, verr


def _ref_view(ctx: Ctx, field: str, ref_id: Optional[int]) -> Optional[dict]:
    if ref_id is None:
        return None
    if field == "securityRole":
        role = ctx.tenant.role(ref_id)
        return {"id": ref_id, "name": role.name if role else None, "_info": {}}
    ref = ctx.tenant.ref(ref_id)
    if ref is None:
        return {"id": ref_id, "name": None}
    if ref.kind == "department":
        return {"id": ref.id, "identifier": ref.identifier, "name": ref.name, "_info": {}}
    return {"id": ref.id, "name": ref.name, "_info": {}}


def api_member_view(ctx: Ctx, m: Member) -> dict:
    plain = {"name": m.name, "emailAddress": m.email, "inactiveFlag": m.inactive, "inactiveDate": m.inactive_date,
             "notes": m.notes, "excludedServiceBoardIds": list(m.excluded_boards), "blockPriceFlag": m.block_price,
             "blockCostFlag": m.block_cost}
    out: dict[str, Any] = {"id": m.id, "identifier": m.identifier}
    for f in MEMBER_FIELDS[1:]:
        out[f] = _ref_view(ctx, f, m.ref(f)) if f == "securityRole" or f in REF_KINDS else plain[f]
    out["_info"] = info(m.updated, m.updated_by)
    return out


def member_view(ctx: Ctx, m: Member) -> dict:
    """The /system/members shape of an API member (licenseClass A)."""
    a = api_member_view(ctx, m)
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


def _api_member(ctx: Ctx, what: str = "API Member") -> Member:
    m = ctx.tenant.member(int(ctx.params["id"]))
    if m is None:
        raise not_found(f"{what} with id {ctx.params['id']}")
    return m


def _api_members(ctx: Ctx) -> list[dict]:
    return [api_member_view(ctx, m) for m in ctx.tenant.members()]


def _members(ctx: Ctx) -> list[dict]:
    return [member_view(ctx, m) for m in ctx.tenant.members()]


async def list_api_members(ctx: Ctx) -> Response:
    return list_response(ctx, _api_members(ctx))


async def count_api_members(ctx: Ctx) -> Response:
    return count_response(ctx, _api_members(ctx))


async def default_api_member(ctx: Ctx) -> Response:
    out: dict[str, Any] = {f: None for f in MEMBER_FIELDS}
    out.update({"inactiveFlag": False, "blockPriceFlag": False, "blockCostFlag": False, "excludedServiceBoardIds": []})
    for f, rid in ctx.tenant.member_defaults().items():
        out[f] = _ref_view(ctx, f, rid)
    out["_info"] = {}
    return one_response(ctx, out)


async def get_api_member(ctx: Ctx) -> Response:
    return one_response(ctx, api_member_view(ctx, _api_member(ctx)))


async def create_api_member(ctx: Ctx) -> Response:
    created = ctx.tenant.create_member(await ctx.json_object(), ctx.caller)
    return one_response(ctx, api_member_view(ctx, created), status=201)


async def put_api_member(ctx: Ctx) -> Response:
    m = _api_member(ctx)
    return one_response(ctx, api_member_view(ctx, ctx.tenant.replace_member(m, await ctx.json_object(), ctx.caller)))


async def patch_api_member(ctx: Ctx) -> Response:
    m = _api_member(ctx)
    return one_response(ctx, api_member_view(ctx, ctx.tenant.patch_member(m, await ctx.json(), ctx.caller)))


# ---- /system/members -------------------------------------------------------------------------

async def list_members(ctx: Ctx) -> Response:
    return list_response(ctx, _members(ctx))


async def count_members(ctx: Ctx) -> Response:
    return count_response(ctx, _members(ctx))


async def get_member(ctx: Ctx) -> Response:
    return one_response(ctx, member_view(ctx, _api_member(ctx, "Member")))


RESERVED = {"types", "count", "withsso", "calendarsync", "info"}


async def get_member_by_identifier(ctx: Ctx) -> Response:
    ident = ctx.params["memberIdentifier"]
    m = None if ident.lower() in RESERVED else ctx.tenant.member_by_identifier(ident)
    if m is None:
        raise not_found(f"Member with identifier {ident!r}")
    return one_response(ctx, member_view(ctx, m))


async def not_emulated(ctx: Ctx) -> Response:
    raise ApiError(501, "NotImplemented",
                   f"{ctx.request.method} {ctx.request.url.path} exists in ConnectWise but cwsim does not emulate it "
                   "(cwsim emulates API members only; use /system/apiMembers).")


async def deactivate_member(ctx: Ctx) -> Response:
    m = _api_member(ctx, "Member")
    raw = await ctx.request.body()
    if raw.strip():
        body = await ctx.json()
        if not isinstance(body, dict):
            raise invalid("The MemberDeactivation body must be a JSON object")
        flag = body.get("deleteOpenTimeSheetsFlag")
        if flag is not None and not isinstance(flag, bool):
            raise invalid("deleteOpenTimeSheetsFlag must be true or false",
                          [verr("InvalidField", "must be true or false", "deleteOpenTimeSheetsFlag",
                                "memberDeactivation")])
    ctx.tenant.deactivate_member(m, ctx.member)
    return Response(status_code=204)


async def member_token(ctx: Ctx) -> Response:
    issued = ctx.tenant.issue_token(ctx.params["memberIdentifier"], ctx.member)
    return JSONResponse({"publicKey": issued.key.public_key, "privateKey": issued.private_key,
                         "expiration": issued.expiration()}, status_code=201)


ROUTES = [
    route("/system/apiMembers/count", GET=count_api_members),
    route("/system/apiMembers/default", GET=default_api_member),
    route("/system/apiMembers", GET=list_api_members, POST=create_api_member),
    route("/system/apiMembers/{id}", GET=get_api_member, PUT=put_api_member, PATCH=patch_api_member),
    route("/system/members/count", GET=count_members),
    route("/system/members", GET=list_members, POST=not_emulated),
    route("/system/members/{id}", GET=get_member, PUT=not_emulated, PATCH=not_emulated),
    route("/system/members/{id}/deactivate", POST=deactivate_member),
    route("/system/members/{memberIdentifier:str}/tokens", POST=member_token),
    route("/system/members/{memberIdentifier:str}", GET=get_member_by_identifier),
]
