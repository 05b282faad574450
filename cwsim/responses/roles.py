"""/system/securityroles, /system/securityRoles/{parentId}/settings, /system/mySecurity, /system/setupScreens."""

from __future__ import annotations

import json

from starlette.responses import Response

from .base import (ApiError, Ctx, bool_field, count_response, info, invalid, list_response, not_found,
                   one_response, route, str_field, verr)

RESOURCE = "securityRole"


def role_view(ctx: Ctx, row) -> dict:
    base = str(ctx.request.base_url).rstrip("/")
    prefix = ctx.request.url.path.lower().split("/system/")[0]
    return {
        "id": row["id"],
        "name": row["name"],
        "roleType": row["role_type"] or None,
        "adminFlag": bool(row["admin_flag"]),
        "inactiveFlag": bool(row["inactive_flag"]),
        "_info": info(row["updated"], row["updated_by"],
                      settings_href=f"{base}{prefix}/system/securityRoles/{row['id']}/settings"),
    }


def role_info_view(ctx: Ctx, row) -> dict:
    v = role_view(ctx, row)
    return {k: v[k] for k in ("id", "name", "roleType", "inactiveFlag", "_info")}


def setting_view(ctx: Ctx, row) -> dict:
    cat = ctx.store.catalog
    m, f = cat.function(row["module"], row["function"])
    report = bool(f.customize and (f.customize.identifier or "").endswith("Reports")) or "report" in f.name.lower()
    return {
        "id": row["id"],
        "addLevel": row["add_level"],
        "editLevel": row["edit_level"],
        "deleteLevel": row["delete_level"],
        "inquireLevel": row["inquire_level"],
        "moduleFunctionName": f.name,
        "moduleFunctionDescription": f.name,
        "moduleFunctionIdentifier": f.identifier,
        "moduleName": m.name,
        "moduleDescription": m.name,
        "moduleIdentifier": m.identifier,
        "myAllFlag": True,
        "reportFlag": report,
        "restrictFlag": False,
        "customFlag": f.customize is not None,
        "sortOrder": row["sort_order"],
        "_info": info(row["updated"], row["updated_by"]),
    }


def _role(ctx: Ctx, key: str = "id"):
    row = ctx.store.role(ctx.company_id, int(ctx.params[key]))
    if row is None:
        raise not_found(f"Security Role with id {ctx.params[key]}")
    return row


async def list_roles(ctx: Ctx) -> Response:
    return list_response(ctx, [role_view(ctx, r) for r in ctx.store.roles(ctx.company_id)])


async def count_roles(ctx: Ctx) -> Response:
    return count_response(ctx, [role_view(ctx, r) for r in ctx.store.roles(ctx.company_id)])


async def list_role_info(ctx: Ctx) -> Response:
    return list_response(ctx, [role_info_view(ctx, r) for r in ctx.store.roles(ctx.company_id)])


async def count_role_info(ctx: Ctx) -> Response:
    return count_response(ctx, [role_info_view(ctx, r) for r in ctx.store.roles(ctx.company_id)])


async def get_role(ctx: Ctx) -> Response:
    return one_response(ctx, role_view(ctx, _role(ctx)))


async def get_role_info(ctx: Ctx) -> Response:
    return one_response(ctx, role_info_view(ctx, _role(ctx)))


async def create_role(ctx: Ctx) -> Response:
    body = await ctx.json_object()
    errors: list[dict] = []
    name = str_field(body, "name", errors, RESOURCE, max_len=30, required=True)
    role_type = str_field(body, "roleType", errors, RESOURCE, max_len=30)
    admin = bool_field(body, "adminFlag", errors, RESOURCE, False)
    inactive = bool_field(body, "inactiveFlag", errors, RESOURCE, False)
    if name and not errors and ctx.store.role_by_name(ctx.company_id, name.strip()):
        errors.append(verr("ObjectExists", f"A security role named {name.strip()!r} already exists.", "name", RESOURCE))
    if errors:
        raise invalid("securityRole object is invalid", errors)
    rid = ctx.store.insert_role(ctx.company_id, name.strip(), role_type, bool(admin), bool(inactive), ctx.caller)
    return one_response(ctx, role_view(ctx, ctx.store.role(ctx.company_id, rid)), status=201)


async def delete_role(ctx: Ctx) -> Response:
    row = _role(ctx)
    # Only active members block the delete (choice documented in docs/emulator.md): a deactivated API
    # member keeps its role reference but can no longer use it.
    users = [m for m in ctx.store.members_with_role(ctx.company_id, row["id"])
             if not json.loads(m["doc"]).get("inactiveFlag")]
    if users:
        names = ", ".join(m["identifier"] for m in users)
        msg = (f"Security role {row['name']!r} is still assigned to {len(users)} member(s): {names}. "
               "Assign them another role (PATCH /system/apiMembers/{id} securityRole) before deleting it.")
        raise invalid(msg, [verr("ObjectInUse", msg, "id", RESOURCE)])
    ctx.store.delete_role(ctx.company_id, row["id"])
    return Response(status_code=204)


# ---- settings ------------------------------------------------------------------------------

async def list_settings(ctx: Ctx) -> Response:
    role = _role(ctx, "parentId")
    return list_response(ctx, [setting_view(ctx, r) for r in ctx.store.settings(ctx.company_id, role["id"])])


async def count_settings(ctx: Ctx) -> Response:
    role = _role(ctx, "parentId")
    return count_response(ctx, [setting_view(ctx, r) for r in ctx.store.settings(ctx.company_id, role["id"])])


async def get_setting(ctx: Ctx) -> Response:
    role = _role(ctx, "parentId")
    row = ctx.store.setting(ctx.company_id, role["id"], int(ctx.params["id"]))
    if row is None:
        raise not_found(f"Security Role Setting with id {ctx.params['id']} of role {role['id']}")
    return one_response(ctx, setting_view(ctx, row))


# ---- mySecurity ----------------------------------------------------------------------------

def _my_rows(ctx: Ctx) -> list[dict]:
    doc = json.loads(ctx.member["doc"])
    member_ref = {"id": ctx.member["id"], "identifier": ctx.member["identifier"], "name": doc.get("name")}
    out = []
    for r in ctx.store.settings(ctx.company_id, doc.get("securityRole")):
        v = setting_view(ctx, r)
        v["member"] = member_ref
        out.append(v)
    return out


async def my_security(ctx: Ctx) -> Response:
    return list_response(ctx, _my_rows(ctx))


async def my_security_count(ctx: Ctx) -> Response:
    return count_response(ctx, _my_rows(ctx))


async def my_customize_items(ctx: Ctx) -> Response:
    doc = json.loads(ctx.member["doc"])
    out = []
    for r in ctx.store.customize(ctx.company_id, doc.get("securityRole")):
        _, f = ctx.store.catalog.function(r["module"], r["function"])
        out.append({"id": r["id"], "customizeIdentifier": f.customize.identifier if f.customize else None,
                    "itemIdentifier": r["item"]})
    return list_response(ctx, out)


# ---- setupScreens --------------------------------------------------------------------------

def setup_screens(ctx: Ctx) -> list[dict]:
    return [
        {"id": i, "category": t.category, "name": t.table, "description": t.name,
         "moduleDescription": "System", "moduleIdentifier": "System", "moduleName": "System",
         "_info": {}}
        for i, t in enumerate(ctx.store.catalog.setup_tables, start=1)
    ]


async def list_setup_screens(ctx: Ctx) -> Response:
    return list_response(ctx, setup_screens(ctx))


async def count_setup_screens(ctx: Ctx) -> Response:
    return count_response(ctx, setup_screens(ctx))


async def get_setup_screen(ctx: Ctx) -> Response:
    i = int(ctx.params["id"])
    rows = setup_screens(ctx)
    if not 1 <= i <= len(rows):
        raise not_found(f"Setup Screen with id {i}")
    return one_response(ctx, rows[i - 1])


ROUTES = [
    route("securityroles.count", "/system/securityroles/count", GET=count_roles),
    route("securityroles.info.count", "/system/securityroles/info/count", GET=count_role_info),
    route("securityroles.info", "/system/securityroles/info", GET=list_role_info),
    route("securityroles", "/system/securityroles", GET=list_roles, POST=create_role),
    route("securityroles.id.info", "/system/securityroles/{id}/info", GET=get_role_info),
    route("securityroles.id", "/system/securityroles/{id}", GET=get_role, DELETE=delete_role),
    route("settings.count", "/system/securityroles/{parentId}/settings/count", GET=count_settings),
    route("settings", "/system/securityroles/{parentId}/settings", GET=list_settings),
    route("settings.id", "/system/securityroles/{parentId}/settings/{id}", GET=get_setting),
    route("mysecurity.customizeitems", "/system/mysecurity/customizeitems", GET=my_customize_items),
    route("mysecurity.count", "/system/mysecurity/count", GET=my_security_count),
    route("mysecurity", "/system/mysecurity", GET=my_security),
    route("setupscreens.count", "/system/setupscreens/count", GET=count_setup_screens),
    route("setupscreens", "/system/setupscreens", GET=list_setup_screens),
    route("setupscreens.id", "/system/setupscreens/{id}", GET=get_setup_screen),
]

__all__ = ["ROUTES", "ApiError"]
