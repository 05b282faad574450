"""Benchmarks through the real Pulumi engine (pinned CLI, Automation API) against the emulator.

1. One scenario on a temporary project (program: SecurityRole + RolePermissions + ApiMember), repeated
   ``runs`` times on a fresh tenant: the emulator's request counter is reset before and read after each
   operation, and each operation's wall time is taken.
2. The repository's own program (``__main__.py`` → ``stacks.main``) for the three vendor stacks:
   first `pulumi up` (fails with the checklist), the checklist applied in the console, second `up`
   (green); wall time, requests and the size of each stack's state file.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pulumi import automation as auto

from cwroles.cwsim import console_client
from cwroles.cwsim.testing import running_server

from tests.sandbox import Project, tenant_config
from ._report import breakdown, console, endpoints, fmt_s, section, spread, table

PROGRAM = """
import json
import pulumi
from cwroles.provider import ApiMember, RolePermissions, SecurityRole

t = pulumi.Config("bench")
role = SecurityRole("role", name=t.require("roleName"))
roles = {"main": role}
if t.get("otherRoleName"):
    roles["other"] = SecurityRole("other-role", name=t.get("otherRoleName"))
perms = RolePermissions("perms", role_id=role.role_id, role_name=role.name,
                        grants=json.loads(t.get("grants") or "[]"),
                        customize=json.loads(t.get("customize") or "{}"),
                        member_identifier=t.get("memberIdentifier"))
member = ApiMember("member", identifier=t.require("memberIdentifier"), name=t.require("memberIdentifier"),
                   role_id=roles[t.get("memberRole") or "main"].role_id)
pulumi.export("pending", perms.pending)
pulumi.export("role_id", role.role_id)
"""

EMPTY_PROGRAM = """
import pulumi
pulumi.export("nothing", 0)
"""

GRANTS = [
    {"module": "Service Desk", "function": "Service Tickets", "add": "All", "edit": "All", "inquire": "All"},
    {"module": "System", "function": "Table Setup", "inquire": "All"},
]
CUSTOMIZE = {"System › Table Setup": ["Service / Service Board"]}
ROLE, OTHER, MEMBER = "Bench Sync", "Bench Other", "BenchSync"
VENDOR_STACKS = ("msp-process", "mobius", "managed-backup")


@dataclass
class Op:
    name: str
    what: str
    requests: list[Counter] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    outcome: str = ""

    @property
    def counts_stable(self) -> bool:
        return all(r == self.requests[0] for r in self.requests)


class Scenario:
    """The ordered engine operations of one run; ``ops`` accumulates over runs."""

    def __init__(self) -> None:
        self.ops: dict[str, Op] = {}

    def measure(self, sim, name: str, what: str, fn: Callable[[], Any], expect_failure: str | None = None) -> Any:
        op = self.ops.setdefault(name, Op(name, what))
        sim.reset_metrics()
        t0 = time.perf_counter()
        try:
            result = fn()
        except auto.errors.CommandError as e:
            if expect_failure is None or expect_failure not in str(e):
                raise
            result, op.outcome = None, "failed as expected (checklist)"
        else:
            if expect_failure is not None:
                raise AssertionError(f"{name}: expected a failure mentioning {expect_failure!r}")
            op.outcome = op.outcome or "ok"
        op.seconds.append(time.perf_counter() - t0)
        op.requests.append(endpoints(sim.metrics()))
        return result


def run_scenario(scenario: Scenario, sim, workdir: Path, repeats: int) -> None:
    sim.reset()
    project = Project.create(workdir / "scenario", PROGRAM, name="cwbench", passphrase="cwroles-bench")
    cfg = {**tenant_config(sim), "bench:roleName": ROLE, "bench:grants": GRANTS, "bench:customize": CUSTOMIZE,
           "bench:memberIdentifier": MEMBER}
    stack = project.stack("bench", cfg)
    m = scenario.measure
    # RolePermissions and ApiMember both wait only for the role, so the engine runs them in parallel: when the
    # member exists by the time the grid is checked, the Customize check impersonates it (+3 requests).
    m(sim, "up: create (checklist)", "role + member created, grid differs → fails with checklist",
      lambda: stack.up(), expect_failure="does not match the code")
    sim.set_levels(ROLE, *GRANTS)  # the admin applies the checklist in the console (not counted: /console)
    sim.set_customize(ROLE, "System › Table Setup", CUSTOMIZE["System › Table Setup"])
    m(sim, "up: green", "grid verified incl. Customize (impersonation) → RolePermissions created",
      lambda: stack.up())
    for _ in range(repeats):  # read-only: cheap to repeat for a median
        m(sim, "preview (no-op)", "nothing changed", lambda: stack.preview(expect_no_changes=True))
        m(sim, "preview --refresh", "reads 3 resources, no changes",
          lambda: stack.preview(refresh=True, expect_no_changes=True))
        m(sim, "refresh", "reads 3 resources", lambda: stack.refresh())
    stack.set_config("bench:otherRoleName", auto.ConfigValue(OTHER))
    m(sim, "up: add a role", "one SecurityRole created", lambda: stack.up())
    stack.set_config("bench:memberRole", auto.ConfigValue("other"))
    m(sim, "up: member role change", "ApiMember updated in place (PATCH)", lambda: stack.up())
    m(sim, "destroy", "member deactivated, 2 roles deleted, grid: no call", lambda: stack.destroy())


def engine_floor(workdir: Path) -> float:
    """`pulumi preview` of a program with no resources: the engine + language host start-up cost."""
    project = Project.create(workdir / "empty", EMPTY_PROGRAM, name="cwempty", passphrase="cwroles-bench")
    stack = project.stack("empty")
    t0 = time.perf_counter()
    stack.preview()
    return time.perf_counter() - t0


# ---- the repository's program, three vendor stacks ---------------------------------------------------------


def apply_checklist(sim, path: Path) -> tuple[int, int]:
    """What the admin does in System › Security Roles: set the listed cells and allow-lists (both moves)."""
    done = console_client.apply_checklist(sim.console_api, path.stem, path.read_text())
    return done.levels, done.moves


@dataclass
class VendorRun:
    stack: str
    first_s: float
    first_requests: Counter
    cells: int
    items: int
    second_s: float
    second_requests: Counter
    state_bytes: int = 0
    resources: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


def run_vendor_stacks(sim, workdir: Path) -> list[VendorRun]:
    sim.reset()
    project = Project.repo_program(workdir / "vendor", passphrase="cwroles-bench")
    out: list[VendorRun] = []
    for name in VENDOR_STACKS:
        stack = project.stack(name, {**tenant_config(sim), "cwroles:integration": name})
        sim.reset_metrics()
        t0 = time.perf_counter()
        try:
            stack.up()
            raise AssertionError(f"{name}: the first up should fail with a checklist on a fresh tenant")
        except auto.errors.CommandError as e:
            if "does not match the code" not in str(e):
                raise
        first_s, first_req = time.perf_counter() - t0, endpoints(sim.metrics())
        [checklist] = [p for p in (project.root / ".cwroles" / "checklists").rglob("*.md")]
        cells, items = apply_checklist(sim, checklist)
        sim.reset_metrics()
        t0 = time.perf_counter()
        stack.up()
        out.append(VendorRun(name, first_s, first_req, cells, items, time.perf_counter() - t0,
                             endpoints(sim.metrics())))
    for run in out:
        state = project.root / ".state" / ".pulumi" / "stacks" / "cwroles" / f"{run.stack}.json"
        run.state_bytes = state.stat().st_size
        entries = json.loads(state.read_text())["checkpoint"]["latest"]["resources"]
        run.resources = len(entries)
        for r in entries:
            run.by_type[r["type"]] = run.by_type.get(r["type"], 0) + len(json.dumps(r, ensure_ascii=False).encode())
    return out


# ---- entry point ---------------------------------------------------------------------------------------------


def run(runs: int = 1, repeats: int = 3) -> dict[str, Any]:
    results: dict[str, Any] = {}
    scenario = Scenario()
    floors: list[float] = []
    with tempfile.TemporaryDirectory(prefix="cwroles-bench-") as tmp, running_server() as sim:
        for i in range(runs):
            console.print(f"  engine scenario run {i + 1}/{runs} …")
            run_scenario(scenario, sim, Path(tmp) / f"run{i}", repeats)
        for i in range(repeats):
            floors.append(engine_floor(Path(tmp) / f"floor{i}"))
        console.print("  vendor stacks (repository program) …")
        vendor = run_vendor_stacks(sim, Path(tmp))

    section("1. HTTP requests per engine operation (emulator counter; includes 1 codebase discovery per provider process)")
    t = table("Requests per operation", "operation", "what happens", "requests", "by method + path",
              caption=f"{runs} scenario run(s) on a fresh tenant, read-only operations {repeats}× each; "
                      "counts identical across repetitions: "
                      f"{'yes' if all(o.counts_stable for o in scenario.ops.values()) else 'NO'}")
    for op in scenario.ops.values():
        first = op.requests[0]
        t.add_row(op.name, op.what, str(sum(first.values())), breakdown(first))
    console.print(t)

    section("2a. Wall time of engine operations (Automation API → pinned CLI → dynamic provider → emulator)")
    t = table("Wall time", "operation", "median (s)", "min–max (s)", "n")
    for op in scenario.ops.values():
        t.add_row(op.name, fmt_s(op.seconds), spread(op.seconds), str(len(op.seconds)))
    t.add_row("preview, empty program (engine floor)", fmt_s(floors), spread(floors), str(len(floors)))
    console.print(t)

    section("2b. `pulumi up` of the repository program, three vendor stacks (cwroles:integration)")
    t = table("Vendor stacks (one run each)", "stack", "resources", "1st up (s)", "1st up requests",
              "checklist cells / Customize items", "2nd up (s)", "2nd up requests", "state file bytes")
    for v in vendor:
        t.add_row(v.stack, str(v.resources), f"{v.first_s:.2f}", str(sum(v.first_requests.values())),
                  f"{v.cells} / {v.items}", f"{v.second_s:.2f}", str(sum(v.second_requests.values())),
                  str(v.state_bytes))
    t.add_row("total", str(sum(v.resources for v in vendor)), f"{sum(v.first_s for v in vendor):.2f}",
              str(sum(sum(v.first_requests.values()) for v in vendor)), "",
              f"{sum(v.second_s for v in vendor):.2f}", str(sum(sum(v.second_requests.values()) for v in vendor)),
              str(sum(v.state_bytes for v in vendor)))
    console.print(t)
    t = table("Vendor stacks: requests by method + path", "stack", "1st up (checklist)", "2nd up (green)")
    for v in vendor:
        t.add_row(v.stack, breakdown(v.first_requests), breakdown(v.second_requests))
    console.print(t)
    types = [k.rsplit(":", 1)[-1] for k in vendor[0].by_type]
    t = table("State file bytes by resource type (JSON of each resource entry)", "stack", *types, right=tuple(types))
    for v in vendor:
        t.add_row(v.stack, *[str(v.by_type.get(k, 0)) for k in vendor[0].by_type])
    console.print(t)

    results["engine_ops"] = {o.name: {"requests": sum(o.requests[0].values()), "byEndpoint": dict(o.requests[0]),
                                      "seconds": o.seconds, "stable": o.counts_stable}
                             for o in scenario.ops.values()}
    results["engine_floor_seconds"] = floors
    results["vendor_stacks"] = [
        {"stack": v.stack, "first_up_s": v.first_s, "first_up_requests": sum(v.first_requests.values()),
         "first_up_byEndpoint": dict(v.first_requests), "cells": v.cells, "items": v.items,
         "second_up_s": v.second_s, "second_up_requests": sum(v.second_requests.values()),
         "second_up_byEndpoint": dict(v.second_requests), "state_bytes": v.state_bytes, "resources": v.resources,
         "state_bytes_by_type": v.by_type}
        for v in vendor]
    return results
