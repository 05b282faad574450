"""The console: what a human admin does in ConnectWise's UI and the public API cannot do
(set a role's permission grid and Customize allow-lists, create permanent API keys).

No API auth (the emulator is meant to listen on localhost only).
HTML pages live under /console, JSON endpoints for tests and scripts under /console/api.
"""

from __future__ import annotations

import html
import json
from typing import Any, Optional
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from cwroles.catalog import LEVEL_NAMES, CatalogError
from cwroles.grid import Level

from .models import Store

LEVELS = ("None", "My", "All")


class ConsoleError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _err(e: ConsoleError) -> JSONResponse:
    return JSONResponse({"code": "InvalidRequest" if e.status == 400 else "NotFound", "message": e.message,
                         "errors": []}, status_code=e.status)


def _store(request: Request) -> Store:
    return request.app.state.store


def _company(request: Request) -> str:
    store = _store(request)
    c = store.company(request.path_params["cid"])
    if c is None:
        raise ConsoleError(404, f"no company {request.path_params['cid']!r}; POST /_cwsim/companies creates one")
    return c["company_id"]


def _role(store: Store, cid: str, ref: str):
    row = store.role(cid, int(ref)) if ref.isdigit() else None
    if row is None:
        row = store.role_by_name(cid, ref)
    if row is None:
        names = ", ".join(repr(r["name"]) for r in store.roles(cid))
        raise ConsoleError(404, f"no security role {ref!r} in company {cid!r}; roles: {names}")
    return row


def _split_function(text: str) -> tuple[str, str]:
    for sep in ("›", ">", "/"):
        if sep in text:
            m, f = text.split(sep, 1)
            return m.strip(), f.strip()
    raise ConsoleError(400, f"function {text!r} must be 'Module › Function', e.g. 'System › Table Setup'")


def role_json(store: Store, cid: str, row) -> dict:
    cat = store.catalog
    settings = []
    grid = {}
    for s in store.settings(cid, row["id"]):
        m, f = cat.function(s["module"], s["function"])
        levels = {n: s[f"{n}_level"] for n in LEVEL_NAMES}
        settings.append({"id": s["id"], "module": m.name, "function": f.name, **levels,
                         "applicable": list(f.levels),
                         "customize": f.customize.identifier if f.customize else None})
        grid[f"{m.name} › {f.name}"] = levels
    customize: dict[str, dict] = {}
    for m, f in cat.functions():
        if f.customize:
            customize[f"{m.name} › {f.name}"] = {"identifier": f.customize.identifier, "items": f.customize.items,
                                                  "allow": []}
    for c in store.customize(cid, row["id"]):
        key = f"{c['module']} › {c['function']}"
        customize.setdefault(key, {"identifier": None, "items": "", "allow": []})["allow"].append(c["item"])
    members = [m["identifier"] for m in store.members_with_role(cid, row["id"])]
    return {"id": row["id"], "name": row["name"], "roleType": row["role_type"] or None,
            "adminFlag": bool(row["admin_flag"]), "inactiveFlag": bool(row["inactive_flag"]),
            "members": members, "settings": settings, "grid": grid, "customize": customize}


def apply_settings(store: Store, cid: str, role_id: int, items: Any, by: str = "console") -> None:
    """Partial grid update: [{module, function, add?, edit?, delete?, inquire?}]; validates everything first."""
    if not isinstance(items, list):
        raise ConsoleError(400, 'settings must be a list like [{"module": "System", "function": "Table Setup", '
                                '"inquire": "All"}]')
    problems, updates = [], []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"settings[{i}] must be an object")
            continue
        try:
            m, f = store.catalog.function(str(item.get("module", "")), str(item.get("function", "")))
        except CatalogError as e:
            problems.append(str(e))
            continue
        levels = {}
        for n in LEVEL_NAMES:
            if n not in item:
                continue
            try:
                lv = Level.parse(item[n]).value
            except ValueError as e:
                problems.append(f"{m.name} › {f.name} › {n.title()}: {e}")
                continue
            if lv != "None" and n not in f.levels:
                problems.append(f"{m.name} › {f.name}: the {n.title()} level does not apply to this function")
                continue
            levels[n] = lv
        unknown = set(item) - {"module", "function", *LEVEL_NAMES}
        if unknown:
            problems.append(f"{m.name} › {f.name}: unknown key(s) {', '.join(sorted(unknown))}; "
                            "use add, edit, delete, inquire")
        if levels:
            updates.append((m.name, f.name, levels))
    if problems:
        raise ConsoleError(400, "; ".join(problems))
    with store.tx():
        for m, f, levels in updates:
            store.set_levels(cid, role_id, m, f, levels, by)


def apply_customize(store: Store, cid: str, role_id: int, body: Any) -> tuple[str, list[str]]:
    if not isinstance(body, dict):
        raise ConsoleError(400, 'body must be {"function": "System › Table Setup", "allow": [...]}')
    if "module" in body:
        mod, fn = str(body.get("module")), str(body.get("function", ""))
    else:
        mod, fn = _split_function(str(body.get("function", "")))
    try:
        m, f = store.catalog.function(mod, fn)
    except CatalogError as e:
        raise ConsoleError(400, str(e)) from None
    if f.customize is None:
        raise ConsoleError(400, f"{m.name} › {f.name} has no Customize list in ConnectWise")
    allow = body.get("allow", [])
    if not isinstance(allow, list) or not all(isinstance(x, str) for x in allow):
        raise ConsoleError(400, "allow must be a list of item names")
    items, problems = [], []
    for it in allow:
        try:
            canon = store.catalog.customize_item(f, it)
        except CatalogError as e:
            problems.append(str(e))
            continue
        if canon not in items:
            items.append(canon)
    if problems:
        raise ConsoleError(400, f"{m.name} › {f.name}: " + "; ".join(problems))
    store.set_customize(cid, role_id, m.name, f.name, items)
    return f"{m.name} › {f.name}", items


def _member(store: Store, cid: str, ref: str):
    row = store.member(cid, int(ref)) if ref.isdigit() else None
    if row is None:
        row = store.member_by_identifier(cid, ref)
    if row is None:
        raise ConsoleError(404, f"no API member {ref!r} in company {cid!r}")
    return row


def _member_json(store: Store, cid: str, row) -> dict:
    doc = json.loads(row["doc"])
    role = store.role(cid, doc.get("securityRole"))
    return {"id": row["id"], "identifier": row["identifier"], "name": doc.get("name"),
            "inactiveFlag": bool(doc.get("inactiveFlag")),
            "securityRole": {"id": role["id"], "name": role["name"]} if role else None,
            "keys": [{"id": k["id"], "publicKey": k["public_key"], "description": k["description"],
                      "kind": k["kind"], "expiration": k["expires"], "created": k["created"]}
                     for k in store.keys(cid, row["id"])]}


# ---- JSON endpoints ------------------------------------------------------------------------

def _json_endpoint(fn):
    async def wrapper(request: Request) -> Response:
        try:
            return await fn(request)
        except ConsoleError as e:
            return _err(e)
        except ValueError as e:  # bad JSON
            return _err(ConsoleError(400, f"invalid JSON body: {e}"))
    return wrapper


async def _body(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw) if raw.strip() else {}


@_json_endpoint
async def api_companies(request: Request) -> Response:
    return JSONResponse([{"companyId": c["company_id"], "name": c["name"]} for c in _store(request).companies()])


@_json_endpoint
async def api_roles(request: Request) -> Response:
    cid = _company(request)
    return JSONResponse([{"id": r["id"], "name": r["name"], "roleType": r["role_type"] or None,
                          "adminFlag": bool(r["admin_flag"]), "inactiveFlag": bool(r["inactive_flag"])}
                         for r in _store(request).roles(cid)])


@_json_endpoint
async def api_role(request: Request) -> Response:
    cid = _company(request)
    store = _store(request)
    return JSONResponse(role_json(store, cid, _role(store, cid, request.path_params["role"])))


@_json_endpoint
async def api_role_settings(request: Request) -> Response:
    cid = _company(request)
    store = _store(request)
    row = _role(store, cid, request.path_params["role"])
    body = await _body(request)
    if not isinstance(body, dict) or "settings" not in body:
        raise ConsoleError(400, 'body must be {"settings": [{"module": ..., "function": ..., "inquire": "All"}]}')
    apply_settings(store, cid, row["id"], body["settings"])
    return JSONResponse(role_json(store, cid, row))


@_json_endpoint
async def api_role_customize(request: Request) -> Response:
    cid = _company(request)
    store = _store(request)
    row = _role(store, cid, request.path_params["role"])
    key, items = apply_customize(store, cid, row["id"], await _body(request))
    return JSONResponse({"function": key, "allow": items})


@_json_endpoint
async def api_members(request: Request) -> Response:
    cid = _company(request)
    store = _store(request)
    return JSONResponse([_member_json(store, cid, m) for m in store.members(cid)])


@_json_endpoint
async def api_member(request: Request) -> Response:
    cid = _company(request)
    store = _store(request)
    return JSONResponse(_member_json(store, cid, _member(store, cid, request.path_params["member"])))


@_json_endpoint
async def api_member_keys(request: Request) -> Response:
    cid = _company(request)
    store = _store(request)
    row = _member(store, cid, request.path_params["member"])
    if request.method == "GET":
        return JSONResponse(_member_json(store, cid, row)["keys"])
    body = await _body(request)
    desc = body.get("description", "") if isinstance(body, dict) else ""
    if not isinstance(desc, str) or len(desc) > 100:
        raise ConsoleError(400, "description must be text of at most 100 characters")
    key = store.new_key(cid, row["id"], desc or "API key")
    return JSONResponse({"id": key["id"], "memberId": row["id"], "memberIdentifier": row["identifier"],
                         "description": desc, "publicKey": key["publicKey"], "privateKey": key["privateKey"]},
                        status_code=201)


@_json_endpoint
async def api_member_key_delete(request: Request) -> Response:
    cid = _company(request)
    store = _store(request)
    row = _member(store, cid, request.path_params["member"])
    kid = int(request.path_params["key_id"])
    if not any(k["id"] == kid for k in store.keys(cid, row["id"])):
        raise ConsoleError(404, f"API member {row['identifier']!r} has no key {kid}")
    store.delete_key(cid, kid)
    return Response(status_code=204)


# ---- HTML pages --------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
th{background:#eef}.mod{background:#f6f6f6;font-weight:bold}.flash{background:#dfd;padding:.5rem}
.err{background:#fdd;padding:.5rem}.key{font-family:monospace;background:#ffd;padding:.5rem}
fieldset{margin:.6rem 0}
"""


def page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)} · cwsim"
                        f"</title><style>{CSS}</style></head><body><p><a href='/console'>cwsim console</a></p>"
                        f"<h1>{html.escape(title)}</h1>{body}</body></html>")


def e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _html(fn):
    async def wrapper(request: Request) -> Response:
        try:
            return await fn(request)
        except ConsoleError as ex:
            return page("Error", f"<p class='err'>{e(ex.message)}</p>")
    return wrapper


@_html
async def home(request: Request) -> Response:
    rows = "".join(f"<li><a href='/console/{quote(c['company_id'])}'>{e(c['company_id'])}</a> — {e(c['name'])}</li>"
                   for c in _store(request).companies())
    return page("Companies", f"<ul id='companies'>{rows}</ul>")


@_html
async def company_page(request: Request) -> Response:
    cid = _company(request)
    store = _store(request)
    roles = "".join(
        f"<tr><td><a href='/console/{quote(cid)}/roles/{r['id']}'>{e(r['name'])}</a></td><td>{r['id']}</td>"
        f"<td>{'yes' if r['admin_flag'] else ''}</td></tr>" for r in store.roles(cid))
    members = "".join(
        f"<tr><td><a href='/console/{quote(cid)}/apiMembers/{m['id']}'>{e(m['identifier'])}</a></td>"
        f"<td>{e(json.loads(m['doc']).get('name'))}</td></tr>" for m in store.members(cid))
    body = (f"<h2>Security roles</h2><table id='roles'><tr><th>Role ID</th><th>id</th><th>Admin</th></tr>{roles}</table>"
            f"<h2>API members</h2><table id='members'><tr><th>Member ID</th><th>Name</th></tr>{members}</table>")
    return page(f"Company {cid}", body)


def _select(name: str, current: str, enabled: bool) -> str:
    if not enabled:
        return "<span title='not applicable'>—</span>"
    opts = "".join(f"<option value='{lv}'{' selected' if lv == current else ''}>{lv}</option>" for lv in LEVELS)
    return f"<select name='{name}' id='{name}' aria-label='{name}'>{opts}</select>"


@_html
async def role_page(request: Request) -> Response:
    cid = _company(request)
    store = _store(request)
    row = _role(store, cid, request.path_params["role"])
    flash = ""
    if request.method == "POST":
        form = await request.form()
        items = []
        for s in store.settings(cid, row["id"]):
            levels = {n: form[f"s{s['id']}_{n}"] for n in LEVEL_NAMES
                      if f"s{s['id']}_{n}" in form and form[f"s{s['id']}_{n}"] != s[f"{n}_level"]}
            if levels:
                items.append({"module": s["module"], "function": s["function"], **levels})
        try:
            apply_settings(store, cid, row["id"], items)
            flash = f"<p class='flash' id='flash'>Saved {len(items)} change(s).</p>"
        except ConsoleError as ex:
            flash = f"<p class='err' id='flash'>{e(ex.message)}</p>"
    data = role_json(store, cid, row)
    trs, module = [], None
    for s in data["settings"]:
        if s["module"] != module:
            module = s["module"]
            trs.append(f"<tr class='mod'><td colspan='5'>{e(module)}</td></tr>")
        sid = s["id"]
        cells = "".join(f"<td>{_select(f's{sid}_{n}', s[n], n in s['applicable'])}</td>" for n in LEVEL_NAMES)
        trs.append(f"<tr data-function='{e(s['module'])} › {e(s['function'])}'><td>{e(s['function'])}</td>{cells}</tr>")
    grid = ("<form method='post' id='grid'><table><tr><th>Function</th><th>Add</th><th>Edit</th><th>Delete</th>"
            f"<th>Inquire</th></tr>{''.join(trs)}</table><button type='submit' id='save'>Save</button></form>")
    cust = []
    cat = store.catalog
    for key, c in data["customize"].items():
        allowed = set(c["allow"])
        if c["identifier"] == "SystemTableSetup":
            choices = [t.name for t in cat.setup_tables]
        elif c["identifier"] == "SystemCustomMenuEntry":
            choices = [m.name for m in cat.custom_menu_entries]
        else:
            choices = None
        if choices is not None:
            inner = "".join(f"<label><input type='checkbox' name='allow' value='{e(ch)}'"
                            f"{' checked' if ch in allowed else ''}> {e(ch)}</label><br>" for ch in choices)
        else:
            inner = (f"<textarea name='allow_text' rows='3' cols='50' placeholder='one item per line'>"
                     f"{e(chr(10).join(c['allow']))}</textarea><br>")
        cust.append(f"<fieldset><legend>{e(key)} — Customize ({e(c['items'])})</legend>"
                    f"<form method='post' action='/console/{quote(cid)}/roles/{row['id']}/customize'>"
                    f"<input type='hidden' name='function' value='{e(key)}'>{inner}"
                    f"<button type='submit'>Save allow-list</button></form></fieldset>")
    members = ", ".join(e(m) for m in data["members"]) or "none"
    body = (f"{flash}<p>id {row['id']} · adminFlag {bool(row['admin_flag'])} · members: {members}</p>"
            f"<h2>Permissions</h2>{grid}<h2>Customize allow-lists</h2>{''.join(cust)}")
    return page(f"Security role {row['name']}", body)


@_html
async def role_customize_post(request: Request) -> Response:
    cid = _company(request)
    store = _store(request)
    row = _role(store, cid, request.path_params["role"])
    form = await request.form()
    allow = list(form.getlist("allow"))
    if "allow_text" in form:
        allow += [x.strip() for x in str(form["allow_text"]).splitlines() if x.strip()]
    apply_customize(store, cid, row["id"], {"function": form.get("function", ""), "allow": allow})
    return RedirectResponse(f"/console/{quote(cid)}/roles/{row['id']}", status_code=303)


@_html
async def member_page(request: Request) -> Response:
    cid = _company(request)
    store = _store(request)
    row = _member(store, cid, request.path_params["member"])
    shown = ""
    if request.method == "POST":
        form = await request.form()
        key = store.new_key(cid, row["id"], str(form.get("description", "")) or "API key")
        shown = (f"<div class='key' id='new-key'>Public key: <code id='public-key'>{e(key['publicKey'])}</code><br>"
                 f"Private key: <code id='private-key'>{e(key['privateKey'])}</code><br>"
                 "Copy the private key now: it is shown only once.</div>")
    data = _member_json(store, cid, row)
    keys = "".join(f"<tr><td>{e(k['publicKey'])}</td><td>{e(k['description'])}</td><td>{e(k['kind'])}</td>"
                   f"<td>{e(k['expiration'])}</td></tr>" for k in data["keys"])
    role = data["securityRole"]
    body = (f"{shown}<p>Name: {e(data['name'])} · Role: {e(role['name'] if role else None)} · "
            f"inactive: {data['inactiveFlag']}</p><h2>API keys</h2><table><tr><th>Public key</th><th>Description</th>"
            f"<th>Kind</th><th>Expires</th></tr>{keys}</table>"
            "<form method='post'><input name='description' placeholder='description'>"
            "<button type='submit' id='create-key'>Create API key</button></form>")
    return page(f"API member {row['identifier']}", body)


def routes() -> list[Route]:
    api = "/console/api/{cid}"
    out = [
        Route("/console/api/companies", api_companies, methods=["GET"]),
        Route(f"{api}/roles", api_roles, methods=["GET"]),
        Route(f"{api}/apiMembers", api_members, methods=["GET"]),
        Route(f"{api}/apiMembers/{{member}}", api_member, methods=["GET"]),
        Route(f"{api}/apiMembers/{{member}}/keys", api_member_keys, methods=["GET", "POST"]),
        Route(f"{api}/apiMembers/{{member}}/keys/{{key_id:int}}", api_member_key_delete, methods=["DELETE"]),
    ]
    for prefix in (f"{api}/roles/by-name/{{role}}", f"{api}/roles/{{role}}"):
        out += [
            Route(prefix, api_role, methods=["GET"]),
            Route(f"{prefix}/settings", api_role_settings, methods=["POST"]),
            Route(f"{prefix}/customize", api_role_customize, methods=["PUT"]),
        ]
    out += [
        Route("/console", home, methods=["GET"]),
        Route("/console/", home, methods=["GET"]),
        Route("/console/{cid}", company_page, methods=["GET"]),
        Route("/console/{cid}/roles/{role}", role_page, methods=["GET", "POST"]),
        Route("/console/{cid}/roles/{role}/customize", role_customize_post, methods=["POST"]),
        Route("/console/{cid}/apiMembers/{member}", member_page, methods=["GET", "POST"]),
    ]
    return out
