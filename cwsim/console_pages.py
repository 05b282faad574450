"""The console's HTML pages (/console): the role grid with a select per level, Customize allow-lists,
and API keys shown once, as a person clicks them in ConnectWise."""

from __future__ import annotations

import html
from typing import Any, Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from cwroles.catalog import LEVEL_NAMES

from .errors import BackendError
from .console import ConsoleError, backend, find_member, find_role, tenant
from .console_api import member_json, role_json

LEVELS = ("None", "My", "All")

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


def _page(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def wrapper(request: Request) -> Response:
        try:
            return await fn(request)
        except (ConsoleError, BackendError) as ex:
            return page("Error", f"<p class='err'>{e(ex.message)}</p>")
    return wrapper


@_page
async def home(request: Request) -> Response:
    rows = "".join(f"<li><a href='/console/{quote(c.company_id)}'>{e(c.company_id)}</a> — {e(c.name)}</li>"
                   for c in backend(request).companies())
    return page("Companies", f"<ul id='companies'>{rows}</ul>")


@_page
async def company_page(request: Request) -> Response:
    t = tenant(request)
    cid = t.company_id
    roles = "".join(
        f"<tr><td><a href='/console/{quote(cid)}/roles/{r.id}'>{e(r.name)}</a></td><td>{r.id}</td>"
        f"<td>{'yes' if r.admin else ''}</td></tr>" for r in t.roles())
    members = "".join(
        f"<tr><td><a href='/console/{quote(cid)}/apiMembers/{m.id}'>{e(m.identifier)}</a></td>"
        f"<td>{e(m.name)}</td></tr>" for m in t.members())
    body = (f"<h2>Security roles</h2><table id='roles'><tr><th>Role ID</th><th>id</th><th>Admin</th></tr>{roles}</table>"
            f"<h2>API members</h2><table id='members'><tr><th>Member ID</th><th>Name</th></tr>{members}</table>")
    return page(f"Company {cid}", body)


def _select(name: str, current: str, enabled: bool) -> str:
    if not enabled:
        return "<span title='not applicable'>—</span>"
    opts = "".join(f"<option value='{lv}'{' selected' if lv == current else ''}>{lv}</option>" for lv in LEVELS)
    return f"<select name='{name}' id='{name}' aria-label='{name}'>{opts}</select>"


@_page
async def role_page(request: Request) -> Response:
    t = tenant(request)
    cid = t.company_id
    role = find_role(t, request.path_params["role"])
    flash = ""
    if request.method == "POST":
        form = await request.form()
        changes = []
        for row in t.grid(role.id):
            s = row.setting
            levels = {n: form[f"s{s.id}_{n}"] for n in LEVEL_NAMES
                      if f"s{s.id}_{n}" in form and form[f"s{s.id}_{n}"] != s.level(n)}
            if levels:
                changes.append({"module": s.module, "function": s.function, **levels})
        try:
            t.set_levels(role, changes)
            flash = f"<p class='flash' id='flash'>Saved {len(changes)} change(s).</p>"
        except BackendError as ex:
            flash = f"<p class='err' id='flash'>{e(ex.message)}</p>"
    data = role_json(t, role)
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
    for key, a in t.allow_lists(role.id).items():
        allowed = set(a.allow)
        choices = t.catalog.choices(a.info) if a.info else None
        if choices is not None:
            inner = "".join(f"<label><input type='checkbox' name='allow' value='{e(ch)}'"
                            f"{' checked' if ch in allowed else ''}> {e(ch)}</label><br>" for ch in choices)
        else:
            inner = (f"<textarea name='allow_text' rows='3' cols='50' placeholder='one item per line'>"
                     f"{e(chr(10).join(a.allow))}</textarea><br>")
        items = a.info.customize_items if a.info else ""
        cust.append(f"<fieldset><legend>{e(key)} — Customize ({e(items)})</legend>"
                    f"<form method='post' action='/console/{quote(cid)}/roles/{role.id}/customize'>"
                    f"<input type='hidden' name='function' value='{e(key)}'>{inner}"
                    f"<button type='submit'>Save allow-list</button></form></fieldset>")
    members = ", ".join(e(m) for m in data["members"]) or "none"
    body = (f"{flash}<p>id {role.id} · adminFlag {role.admin} · members: {members}</p>"
            f"<h2>Permissions</h2>{grid}<h2>Customize allow-lists</h2>{''.join(cust)}")
    return page(f"Security role {role.name}", body)


@_page
async def role_customize_post(request: Request) -> Response:
    t = tenant(request)
    role = find_role(t, request.path_params["role"])
    form = await request.form()
    allow = list(form.getlist("allow"))
    if "allow_text" in form:
        allow += [x.strip() for x in str(form["allow_text"]).splitlines() if x.strip()]
    t.set_allow_list(role, {"function": form.get("function", ""), "allow": allow})
    return RedirectResponse(f"/console/{quote(t.company_id)}/roles/{role.id}", status_code=303)


@_page
async def member_page(request: Request) -> Response:
    t = tenant(request)
    m = find_member(t, request.path_params["member"])
    shown = ""
    if request.method == "POST":
        form = await request.form()
        issued = t.create_key(m, str(form.get("description", "")))
        shown = (f"<div class='key' id='new-key'>Public key: <code id='public-key'>{e(issued.key.public_key)}</code>"
                 f"<br>Private key: <code id='private-key'>{e(issued.private_key)}</code><br>"
                 "Copy the private key now: it is shown only once.</div>")
    data = member_json(t, m)
    keys = "".join(f"<tr><td>{e(k['publicKey'])}</td><td>{e(k['description'])}</td><td>{e(k['kind'])}</td>"
                   f"<td>{e(k['expiration'])}</td></tr>" for k in data["keys"])
    role = data["securityRole"]
    body = (f"{shown}<p>Name: {e(data['name'])} · Role: {e(role['name'] if role else None)} · "
            f"inactive: {data['inactiveFlag']}</p><h2>API keys</h2><table><tr><th>Public key</th><th>Description</th>"
            f"<th>Kind</th><th>Expires</th></tr>{keys}</table>"
            "<form method='post'><input name='description' placeholder='description'>"
            "<button type='submit' id='create-key'>Create API key</button></form>")
    return page(f"API member {m.identifier}", body)


def routes() -> list[Route]:
    return [
        Route("/console", home, methods=["GET"]),
        Route("/console/", home, methods=["GET"]),
        Route("/console/{cid}", company_page, methods=["GET"]),
        Route("/console/{cid}/roles/{role}", role_page, methods=["GET", "POST"]),
        Route("/console/{cid}/roles/{role}/customize", role_customize_post, methods=["POST"]),
        Route("/console/{cid}/apiMembers/{member}", member_page, methods=["GET", "POST"]),
    ]
