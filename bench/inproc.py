"""In-process benchmarks (seconds, no Pulumi engine): the emulator runs in a thread over real HTTP.

* requests per provider method: the dynamic providers' methods called directly, counted by the
  emulator's request counter;
* emulator throughput for the requests the provider makes most;
* ``provider.Client`` under injected faults: success rate and requests per successful call;
* sizes: the catalog, the pickled ``__provider`` per resource type.
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from pulumi.dynamic.dynamic import serialize_provider

from cwroles import catalog as catalog_module
from cwroles.catalog import load_catalog
from cwroles.cwsim.testing import running_server
from cwroles.provider import (ApiMemberProvider, Client, ConnectWiseError, RetryPolicy, RoleOutOfSync,
                      RolePermissionsProvider, SecurityRoleProvider)
from cwroles.provider import _config

from ._report import breakdown, console, endpoints, section, table

CODEBASE = "v4_6_release/"
GRANTS = [
    {"module": "Service Desk", "function": "Service Tickets", "add": "All", "edit": "All", "inquire": "All"},
    {"module": "System", "function": "Table Setup", "inquire": "All"},
]
CUSTOMIZE = {"System › Table Setup": ["Service / Service Board"]}


def _client(sim, retry: RetryPolicy | None = None, codebase: str | None = CODEBASE) -> Client:
    return Client(sim.url, sim.company_id, sim.public_key, sim.private_key, sim.client_id, codebase=codebase,
                  retry=retry or RetryPolicy(max_retries=0))


# ---- 1. requests per provider method ------------------------------------------------------------------------


def per_method(sim, workdir: Path) -> list[dict[str, Any]]:
    """Each provider method once, in a realistic order, on a fresh tenant."""
    sim.reset()
    _config.reset()
    _config.configure({"connectwise:site": sim.url, "connectwise:companyId": sim.company_id,
                       "connectwise:clientId": sim.client_id, "connectwise:publicKey": sim.public_key,
                       "connectwise:privateKey": sim.private_key, "connectwise:codebase": CODEBASE,
                       "connectwise:maxRetries": "0"}.get)
    rows: list[dict[str, Any]] = []

    def count(resource: str, method: str, note: str, fn: Callable[[], Any], expect: type | None = None) -> Any:
        sim.reset_metrics()
        try:
            out = fn()
        except Exception as e:
            if expect is None or not isinstance(e, expect):
                raise
            out = None
        c = endpoints(sim.metrics())
        rows.append({"resource": resource, "method": method, "note": note, "requests": sum(c.values()),
                     "byEndpoint": dict(c)})
        return out

    # connection: the one request every provider process makes before its first call
    with _client(sim, codebase=None) as c:
        count("(provider process)", "codebase discovery", "first request of a process; none with connectwise:codebase",
              lambda: c.codebase)

    sr, rp, am = SecurityRoleProvider(), RolePermissionsProvider(), ApiMemberProvider()
    role_in = sr.check({}, {"name": "Bench Role"}).inputs
    count("SecurityRole", "check", "", lambda: sr.check({}, {"name": "Bench Role"}))
    role = count("SecurityRole", "create", "", lambda: sr.create(role_in))
    count("SecurityRole", "read", "refresh", lambda: sr.read(role.id, role.outs))
    count("SecurityRole", "diff", "", lambda: sr.diff(role.id, role.outs, role_in))
    rid = int(role.id)

    perms_in = {"role_id": rid, "role_name": "Bench Role", "grants": GRANTS, "customize": CUSTOMIZE,
                "member_identifier": "BenchBot", "checklist_dir": str(workdir / "checklists")}
    perms_in = rp.check({}, perms_in).inputs
    count("RolePermissions", "check", "catalog validation only", lambda: rp.check({}, perms_in))
    count("RolePermissions", "create", "grid differs, member missing → checklist (customize not verifiable)",
          lambda: rp.create(perms_in), expect=RoleOutOfSync)

    member_in = am.check({}, {"identifier": "BenchBot", "name": "BenchBot", "role_id": rid}).inputs
    member = count("ApiMember", "create", "references from /default", lambda: am.create(member_in))
    count("ApiMember", "read", "refresh", lambda: am.read(member.id, member.outs))

    sim.set_levels("Bench Role", *GRANTS)
    count("RolePermissions", "update", "grid matches, Customize missing → checklist (impersonated read)",
          lambda: rp.update(str(rid), perms_in, perms_in), expect=RoleOutOfSync)
    sim.set_customize("Bench Role", "System › Table Setup", CUSTOMIZE["System › Table Setup"])
    perms = count("RolePermissions", "create", "grid + Customize match → green", lambda: rp.create(perms_in))
    no_cust = {**perms_in, "customize": None, "member_identifier": None}
    count("RolePermissions", "update", "no customize in code → grid only", lambda: rp.update(str(rid), perms_in, no_cust))
    read = count("RolePermissions", "read", "refresh: one role GET + one settings page", lambda: rp.read(perms.id, perms.outs))
    count("RolePermissions", "diff", "compares with the last read", lambda: rp.diff(perms.id, read.outs, perms_in))

    other = sr.create(sr.check({}, {"name": "Bench Other"}).inputs)
    new_member_in = {**member_in, "role_id": int(other.id)}
    count("ApiMember", "diff", "", lambda: am.diff(member.id, member.outs, new_member_in))
    count("ApiMember", "update", "role change: one PATCH", lambda: am.update(member.id, member.outs, new_member_in))
    count("ApiMember", "delete", "= deactivate", lambda: am.delete(member.id, member.outs))
    count("RolePermissions", "delete", "no API call (grid goes with the role)", lambda: rp.delete(perms.id, perms.outs))
    count("SecurityRole", "delete", "", lambda: sr.delete(role.id, role.outs))
    sr.delete(other.id, other.outs)
    _config.reset()

    settings_rows = len(read.outs["live"]) if read else 0
    rows.append({"grid_rows": settings_rows})
    return rows


def grid_read_shape(sim) -> dict[str, Any]:
    """How many settings rows one grid read returns, and in how many requests."""
    with _client(sim) as c:
        role = c.create_security_role(f"Grid {uuid.uuid4().hex[:8]}")
        sim.reset_metrics()
        rows = c.list_role_settings(int(role.id))
        m = endpoints(sim.metrics())
        c.delete_security_role(int(role.id))
    return {"rows": len(rows), "requests": sum(m.values()), "byEndpoint": dict(m)}


# ---- 2. throughput -------------------------------------------------------------------------------------------


def _rate(fn: Callable[[int], Any], seconds: float, minimum: int = 20) -> tuple[int, float]:
    n, t0 = 0, time.perf_counter()
    while True:
        fn(n)
        n += 1
        el = time.perf_counter() - t0
        if el >= seconds and n >= minimum:
            return n, el


def throughput(sim, seconds: float) -> list[dict[str, Any]]:
    sim.reset()
    out: list[dict[str, Any]] = []
    with sim.client() as api, _client(sim) as client:
        role = api.post("/system/securityroles", json={"name": "Throughput"}).raise_for_status().json()
        rid = role["id"]
        for i in range(20):  # something to filter
            api.post("/system/securityroles", json={"name": f"Filler {i}"}).raise_for_status()
        rows = len(api.get(f"/system/securityroles/{rid}/settings", params={"pageSize": 1000}).json())

        def record(what: str, fn: Callable[[int], Any], note: str) -> None:
            n, el = _rate(fn, seconds)
            out.append({"what": what, "n": n, "seconds": el, "rps": n / el, "ms": 1000 * el / n, "note": note})

        def settings(_i: int) -> None:
            r = api.get(f"/system/securityroles/{rid}/settings", params={"pageSize": 1000})
            assert r.status_code == 200 and len(r.json()) == rows

        def listing(_i: int) -> None:
            r = api.get("/system/securityroles", params={"conditions": 'name like "Fill%" and adminFlag = false',
                                                          "pageSize": 1000})
            assert r.status_code == 200 and len(r.json()) == 20

        run = uuid.uuid4().hex[:6]

        def post(i: int) -> None:
            r = api.post("/system/securityroles", json={"name": f"T{run}-{i}"})
            assert r.status_code == 201, r.text

        def typed(_i: int) -> None:
            assert len(client.list_role_settings(rid)) == rows

        record(f"GET /system/securityroles/{{id}}/settings?pageSize=1000 ({rows} rows)", settings, "raw httpx, keep-alive")
        record("GET /system/securityroles?conditions=name like … and adminFlag = false (20 of 22 rows)", listing,
               "raw httpx")
        record("POST /system/securityroles (creates the role + its settings rows)", post, "raw httpx, unique names")
        record("provider.Client.list_role_settings (same GET + pydantic parsing)", typed, "the provider's path")
    return out


# ---- 3. retries under faults ---------------------------------------------------------------------------------

FAST = dict(base_delay=0.01, max_delay=0.05, max_total=10.0)


def _faulty(sim, label: str, rules: list[dict], calls: int, op: str, retries: int = 4,
            note: str = "") -> dict[str, Any]:
    sim.reset()
    with _client(sim) as setup:
        rid = setup.create_security_role("Faulty").id
    for r in rules:
        sim.add_fault(**r)
    sim.reset_metrics()
    ok = failed = 0
    errors: Counter = Counter()
    t0 = time.perf_counter()
    with _client(sim, RetryPolicy(max_retries=retries, **FAST)) as c:
        for i in range(calls):
            try:
                if op == "get":
                    c.get_security_role(int(rid))
                elif op == "create":
                    c.create_security_role(f"Faulty {i}")
                ok += 1
            except ConnectWiseError as e:
                failed += 1
                errors[type(e).__name__] += 1
    el = time.perf_counter() - t0
    m = sim.metrics()
    sim.clear_faults()
    extra = ""
    if op == "create":
        with sim.client() as api:
            names = [r["name"] for r in api.get("/system/securityroles", params={"pageSize": 1000}).json()]
        dup = len(names) - len(set(n.lower() for n in names))
        made = sum(1 for n in names if n.startswith("Faulty "))
        extra = f"roles created {made} for {ok} successes, duplicates {dup}"
    return {"case": label, "calls": calls, "ok": ok, "failed": failed, "success": ok / calls,
            "requests": m["total"], "per_success": m["total"] / ok if ok else float("inf"),
            "byStatus": m["byStatus"], "injected": m["faultsInjected"], "seconds": el,
            "errors": dict(errors), "note": note, "extra": extra}


def retries(sim, calls: int) -> list[dict[str, Any]]:
    role_path = r"^/system/securityroles/\d+$"
    cases = [
        _faulty(sim, "none (baseline)", [], calls, "get"),
        _faulty(sim, "20% 503 on GET role", [{"kind": "status", "status": 503, "probability": 0.2, "seed": 7,
                                               "retry_after": 0, "path": role_path}], calls, "get",
                note="503 carries Retry-After: 0 here (see the 1 s row)"),
        _faulty(sim, "50% 503 on GET role", [{"kind": "status", "status": 503, "probability": 0.5, "seed": 7,
                                               "retry_after": 0, "path": role_path}], calls, "get",
                note="P(5 failures in a row) = 3.1%"),
        _faulty(sim, "20% 429, Retry-After: 0", [{"kind": "status", "status": 429, "probability": 0.2, "seed": 5,
                                                  "retry_after": 0, "path": role_path}], calls, "get"),
        _faulty(sim, "10% dropped connections on GET", [{"kind": "drop", "probability": 0.1, "seed": 3,
                                                         "path": role_path}], calls, "get"),
        _faulty(sim, "20% 503 on POST role (create)", [{"kind": "status", "status": 503, "probability": 0.2,
                                                       "seed": 7, "retry_after": 0,
                                                       "path": r"^/system/securityroles$", "method": "POST"}],
                max(20, calls // 4), "create"),
        _faulty(sim, "2× 429 Retry-After: 1", [{"kind": "status", "status": 429, "count": 2,
                                                 "retry_after": 1, "path": role_path}], 10, "get",
                note="Retry-After honoured: ≈2 s waited, not the 10 ms backoff"),
        _faulty(sim, "2× 503 Retry-After: 1 (emulator default)", [{"kind": "status", "status": 503, "count": 2,
                                                                    "path": role_path}], 10, "get",
                note="a 503's Retry-After is honoured too"),
    ]
    return cases


# ---- 4. sizes -------------------------------------------------------------------------------------------------


def sizes() -> dict[str, Any]:
    cat = load_catalog()
    functions = list(cat.functions())
    levels = sum(len(f.levels) for _m, f in functions)
    customize = sum(1 for _m, f in functions if f.customize)
    yaml_path = Path(catalog_module.__file__).parent / "data" / "catalog.yaml"
    providers = {cls.__name__.removesuffix("Provider"): len(serialize_provider(cls()))
                 for cls in (SecurityRoleProvider, RolePermissionsProvider, ApiMemberProvider)}
    return {"modules": len(cat.modules), "functions": len(functions), "applicable_levels": levels,
            "customizable_functions": customize, "setup_tables": len(cat.setup_tables),
            "custom_menu_entries": len(cat.custom_menu_entries), "catalog_yaml_bytes": yaml_path.stat().st_size,
            "provider_pickle_bytes": providers}


# ---- entry point ---------------------------------------------------------------------------------------------


def run(seconds: float = 1.5, fault_calls: int = 200) -> dict[str, Any]:
    logging.getLogger("cwroles.provider").setLevel(logging.ERROR)  # retry warnings would flood the tables
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cwroles-bench-") as tmp, running_server() as sim:
        console.print("  provider methods, throughput, faults (in-process emulator) …")
        methods = per_method(sim, Path(tmp))
        grid = grid_read_shape(sim)
        tp = throughput(sim, seconds)
        fr = retries(sim, fault_calls)
    sz = sizes()

    section("1b. HTTP requests per provider method (methods called directly, codebase configured)")
    rows = [r for r in methods if "resource" in r]
    t = table("Requests per resource method", "resource", "method", "when", "requests", "by method + path")
    for r in rows:
        t.add_row(r["resource"], r["method"], r["note"], str(r["requests"]), breakdown(Counter(r["byEndpoint"])))
    console.print(t)
    console.print(f"  Reading one role's grid: [bold]{grid['requests']}[/] request(s) for {grid['rows']} settings rows "
                  f"({breakdown(Counter(grid['byEndpoint'])).replace(chr(10), ', ')}); "
                  f"RolePermissions.read = 1 role GET + that page.")

    section("3a. Emulator throughput, in-process over real HTTP (client and server share this process)")
    t = table("Throughput", "request", "n", "requests/s", "ms/request", "note")
    for r in tp:
        t.add_row(r["what"], str(r["n"]), f"{r['rps']:.0f}", f"{r['ms']:.1f}", r["note"])
    console.print(t)

    section("3b. provider.Client under injected faults (max_retries=4, backoff 10–50 ms)")
    t = table("Retries", "fault rule", "calls", "success %", "requests", "requests / success", "time (s)",
              "HTTP statuses seen", "note")
    for r in fr:
        statuses = ", ".join(f"{k}: {v}" for k, v in r["byStatus"].items())
        note = "; ".join(x for x in (r["note"], r["extra"] if r["extra"] != r["note"] else "",
                                      f"errors {r['errors']}" if r["errors"] else "") if x)
        t.add_row(r["case"], str(r["calls"]), f"{100 * r['success']:.1f}", str(r["requests"]),
                  f"{r['per_success']:.3f}", f"{r['seconds']:.2f}", statuses, note)
    console.print(t)

    section("4. Sizes")
    t = table("Catalog and pickled providers", "item", "count")
    t.add_row("catalog modules", str(sz["modules"]))
    t.add_row("catalog functions (settings rows per role)", str(sz["functions"]))
    t.add_row("level cells that apply (Add/Edit/Delete/Inquire)", str(sz["applicable_levels"]))
    t.add_row("functions with a Customize list", str(sz["customizable_functions"]))
    t.add_row("Table Setup tables", str(sz["setup_tables"]))
    t.add_row("Custom Menu Entries", str(sz["custom_menu_entries"]))
    t.add_row("catalog.yaml bytes", str(sz["catalog_yaml_bytes"]))
    for name, n in sz["provider_pickle_bytes"].items():
        t.add_row(f"__provider bytes, {name}", str(n))
    console.print(t)

    results.update(per_method=rows, grid_read=grid, throughput=tp, retries=fr, sizes=sz)
    return results
