"""/system/securityroles, /system/securityRoles/{parentId}/settings, /system/mySecurity, /system/setupScreens.

Handlers parse the request, call the tenant's backend and render records in ConnectWise's shapes.
"""

from __future__ import annotations

from starlette.responses import Response

from ..records import GridRow, Role
from .base import Ctx, count_response, info, list_response, not_found, one_response, route


def role_view(ctx: Ctx, role: Role) -> dict:
    base = str(ctx.request.base_url).rstrip("/")
    prefix = ctx.request.url.path.lower().split("/system/")[0]
    return {
        "id": role.id,
        "name": role.name,
        "roleType": role.role_type,
        "adminFlag": role.admin,
        "inactiveFlag": role.inactive,
        "_info": info(role.updated, role.updated_by,
                      settings_href=f"{base}{prefix}/system/securityRoles/{role.id}/settings"),
    }


def role_info_view(ctx: Ctx, role: Role) -> dict:
    v = role_view(ctx, role)
    return {k: v[k] for k in ("id", "name", "roleType", "inactiveFlag", "_info")}


def setting_view(row: GridRow) -> dict:
    s, f = row.setting, row.info
    return {
        "id": s.id,
        "addLevel": s.add,
        "editLevel": s.edit,
        "deleteLevel": s.delete,
        "inquireLevel": s.inquire,
        "moduleFunctionName": f.function,
        "moduleFunctionDescription": f.function,
        "moduleFunctionIdentifier": f.function_identifier,
        "moduleName": f.module,
        "moduleDescription": f.module,
        "moduleIdentifier": f.module_identifier,
        "myAllFlag": True,
        "reportFlag": f.report,
        "restrictFlag": False,
        "customFlag": f.customize_items is not None,
        "sortOrder": f.order,
        "_info": info(s.updated, s.updated_by),
    }


def _role(ctx: Ctx, key: str = "id") -> Role:
    role = ctx.tenant.role(int(ctx.params[key]))
    if role is None:
        raise not_found(f"Security Role with id {ctx.params[key]}")
    return role


def _roles(ctx: Ctx) -> list[dict]:
    return [role_view(ctx, r) for r in ctx.tenant.roles()]


def _role_infos(ctx: Ctx) -> list[dict]:
    return [role_info_view(ctx, r) for r in ctx.tenant.roles()]


async def list_roles(ctx: Ctx) -> Response:
    return list_response(ctx, _roles(ctx))


async def count_roles(ctx: Ctx) -> Response:
    return count_response(ctx, _roles(ctx))


async def list_role_info(ctx: Ctx) -> Response:
    return list_response(ctx, _role_infos(ctx))


async def count_role_info(ctx: Ctx) -> Response:
    return count_response(ctx, _role_infos(ctx))


async def get_role(ctx: Ctx) -> Response:
    return one_response(ctx, role_view(ctx, _role(ctx)))


async def get_role_info(ctx: Ctx) -> Response:
    return one_response(ctx, role_info_view(ctx, _role(ctx)))


async def create_role(ctx: Ctx) -> Response:
    role = ctx.tenant.create_role(await ctx.json_object(), ctx.caller)
    return one_response(ctx, role_view(ctx, role), status=201)


async def delete_role(ctx: Ctx) -> Response:
    ctx.tenant.delete_role(_role(ctx))
    return Response(status_code=204)


# ---- settings ------------------------------------------------------------------------------

def _settings(ctx: Ctx) -> list[dict]:
    return [setting_view(r) for r in ctx.tenant.grid(_role(ctx, "parentId").id)]


async def list_settings(ctx: Ctx) -> Response:
    return list_response(ctx, _settings(ctx))


async def count_settings(ctx: Ctx) -> Response:
    return count_response(ctx, _settings(ctx))


async def get_setting(ctx: Ctx) -> Response:
    role = _role(ctx, "parentId")
    row = ctx.tenant.grid_row(role.id, int(ctx.params["id"]))
    if row is None:
        raise not_found(f"Security Role Setting with id {ctx.params['id']} of role {role.id}")
    return one_response(ctx, setting_view(row))


# ---- mySecurity ----------------------------------------------------------------------------

def _my_rows(ctx: Ctx) -> list[dict]:
    me = ctx.member
    member_ref = {"id": me.id, "identifier": me.identifier, "name": me.name}
    return [{**setting_view(r), "member": member_ref} for r in ctx.tenant.grid(me.security_role)]


async def my_security(ctx: Ctx) -> Response:
    return list_response(ctx, _my_rows(ctx))


async def my_security_count(ctx: Ctx) -> Response:
    return count_response(ctx, _my_rows(ctx))


async def my_customize_items(ctx: Ctx) -> Response:
    return list_response(ctx, [{"id": a.id, "customizeIdentifier": f.customize_identifier, "itemIdentifier": a.item}
                               for a, f in ctx.tenant.allowed_items(ctx.member.security_role)])


# ---- setupScreens --------------------------------------------------------------------------

def setup_screens(ctx: Ctx) -> list[dict]:
    return [
        {"id": i, "category": t.category, "name": t.table, "description": t.name,
         "moduleDescription": "System", "moduleIdentifier": "System", "moduleName": "System",
         "_info": {}}
        for i, t in enumerate(ctx.tenant.catalog.setup_tables, start=1)
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
    route("/system/securityroles/count", GET=count_roles),
    route("/system/securityroles/info/count", GET=count_role_info),
    route("/system/securityroles/info", GET=list_role_info),
    route("/system/securityroles", GET=list_roles, POST=create_role),
    route("/system/securityroles/{id}/info", GET=get_role_info),
    route("/system/securityroles/{id}", GET=get_role, DELETE=delete_role),
    route("/system/securityRoles/{parentId}/settings/count", GET=count_settings),
    route("/system/securityRoles/{parentId}/settings", GET=list_settings),
    route("/system/securityRoles/{parentId}/settings/{id}", GET=get_setting),
    route("/system/mySecurity/customizeItems", GET=my_customize_items),
    route("/system/mySecurity/count", GET=my_security_count),
    route("/system/mySecurity", GET=my_security),
    route("/system/setupScreens/count", GET=count_setup_screens),
    route("/system/setupScreens", GET=list_setup_screens),
    route("/system/setupScreens/{id}", GET=get_setup_screen),
]

__all__ = ["ROUTES"]
