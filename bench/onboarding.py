"""Requests and time of bringing a tenant under management (issue 11): ``cwroles export`` of one role and
``cwroles audit`` of tenants of growing size, counted by the emulator's request counter (in-process over
real HTTP; no Pulumi engine). Targets: export ≤ 3 requests for a role, its grid and its member; audit
≤ R + a constant for R roles (one settings page per role, never one request per row)."""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cwroles.commands import app
from cwroles.cwsim.testing import running_server

from ._report import breakdown, console, endpoints, section, table

GRANTS = ({"module": "Companies", "function": "Company Maintenance", "inquire": "All"},
          {"module": "Service Desk", "function": "Service Tickets", "add": "All", "edit": "All", "inquire": "All"},
          {"module": "System", "function": "Table Setup", "inquire": "All"})
EXTRAS = {"functions": [{"module": "Service Desk", "function": "Ticket Dispatch Rules"}]}
SIZES = (2, 10, 50, 200)  # roles in the tenant, the bootstrap Admin role included


def _env(sim: Any, codebase: bool) -> dict[str, str]:
    env = {"CONNECTWISE_SITE": sim.url, "CONNECTWISE_COMPANY_ID": sim.company_id, "CONNECTWISE_CLIENT_ID": sim.client_id,
           "CONNECTWISE_PUBLIC_KEY": sim.public_key, "CONNECTWISE_PRIVATE_KEY": sim.private_key, "COLUMNS": "200"}
    if codebase:
        env["CONNECTWISE_CODEBASE"] = "v4_6_release"
    return env


def _run(sim: Any, args: list[str], codebase: bool = True) -> tuple[int, float, Counter]:
    sim.reset_metrics()
    t0 = time.perf_counter()
    r = CliRunner().invoke(app, args, env=_env(sim, codebase))
    seconds = time.perf_counter() - t0
    if r.exit_code not in (0, 2):
        raise RuntimeError(f"cwroles {' '.join(args)} failed ({r.exit_code}): {r.output[-500:]}")
    c = endpoints(sim.metrics())
    return sum(c.values()), seconds, c


def _roles(sim: Any, n: int, start: int) -> None:
    with sim.client() as c:
        for i in range(start, n):
            role = c.post("/system/securityroles", json={"name": f"Integration {i:03d}"}).raise_for_status().json()
            sim.set_levels(role["id"], *GRANTS)
            if i % 3 == 0:
                sim.create_api_member(f"bot{i:03d}", role["id"])
            if i == 0:
                sim.set_customize(role["id"], "System › Table Setup", ["Service / Service Board"])


def run() -> dict[str, Any]:
    results: dict[str, Any] = {"export": [], "audit": []}
    with tempfile.TemporaryDirectory(prefix="cwroles-bench-onboarding-") as tmp, \
            running_server(catalog_extras=EXTRAS) as sim:
        console.print("  export and audit against the in-process emulator …")
        _roles(sim, 1, 0)
        for label, extra, codebase in (("role + grid + member", ["--no-customize"], True),
                                       ("… + Customize lists (through the member)", [], True),
                                       ("… + codebase discovery (connectwise:codebase unset)", [], False)):
            root = Path(tmp) / f"export-{len(results['export'])}"
            root.mkdir()
            n, s, c = _run(sim, ["export", "--role", "Integration 000", "--dir", str(root), *extra], codebase)
            results["export"].append({"what": label, "requests": n, "seconds": s, "byEndpoint": dict(c)})
        made = 1  # Integration 000 (+ Admin)
        for size in SIZES:
            _roles(sim, size - 1, made)
            made = max(made, size - 1)
            n, s, c = _run(sim, ["audit", "--dir", tmp])
            roles = c.get("GET /system/securityroles/{id}/settings", 0)  # one page per role: R
            results["audit"].append({"roles": roles, "requests": n, "seconds": s, "byEndpoint": dict(c)})

    section("11. Bringing a tenant under management: requests of export and audit (in-process emulator)")
    t = table("cwroles export --role (one role)", "what", "requests", "time (s)", "by method + path")
    for r in results["export"]:
        t.add_row(r["what"], str(r["requests"]), f"{r['seconds']:.2f}", breakdown(Counter(r["byEndpoint"])))
    console.print(t)
    t = table("cwroles audit (whole tenant)", "roles (R)", "requests", "R + 3", "time (s)", "settings pages",
              right=("roles (R)", "R + 3", "settings pages"))
    for r in results["audit"]:
        pages = r["byEndpoint"].get("GET /system/securityroles/{id}/settings", 0)
        t.add_row(str(r["roles"]), str(r["requests"]), str(r["roles"] + 3), f"{r['seconds']:.2f}", str(pages))
    console.print(t)
    console.print("  Export: 3 requests for the role, its grid and its API member; reading the Customize lists costs 2 "
                  "more (a token for the member, then its items: ConnectWise has no per-role read); +1 codebase "
                  "discovery unless connectwise:codebase is set. Audit: the role list, the API member list, the "
                  "caller's identity and one settings page per role.")
    return results
