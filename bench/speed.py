"""cwroles against a trivial dynamic provider, through the real CLI, in one interleaved run.

Three projects on one emulator: an empty program (the engine floor), the reference provider in
``bench/reference`` (three roles, upstream style), and the repository's program for the mobius stack
(green: its checklist was applied in the console), run as a user's machine runs it (the plan cache and the
provider's remembered verdicts warm) and as a fresh CI runner runs it (``CWROLES_PLAN_CACHE=off``). Each round runs every operation once, as a user
would (`pulumi <op> --stack … --non-interactive`), and starts at a different operation so that no
operation always runs first or after the same neighbour. The result is the ratio of cwroles' time to
the reference's time for the same operation, on the same engine, under the same load.

Nothing is asserted about time; the request counts are checked, because they are the stable part.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from pulumi import automation as auto

from cwroles.cwsim.console_client import apply_checklist
from cwroles.cwsim.testing import basic_auth, running_server
from tests.sandbox import Project, tenant_config

from . import read_path
from ._report import console, section, table

REFERENCE_PROGRAM = Path(__file__).with_name("reference") / "__main__.py"
EMPTY_PROGRAM = 'import pulumi\npulumi.export("nothing", 0)\n'
INTEGRATION = "mobius"
GOAL = 1.15  # issue 13: cwroles ≤ 1.15 × the reference, for preview and for preview --refresh

# (label, project, pulumi arguments, expected requests or None for "not the emulator's business")
OPS: list[tuple[str, str, tuple[str, ...], Optional[int]]] = [
    ("engine floor: preview, empty program", "floor", ("preview",), None),
    ("reference: preview", "reference", ("preview", "--expect-no-changes"), 0),
    ("reference: preview --refresh", "reference", ("preview", "--refresh", "--expect-no-changes"), 3),
    ("cwroles: preview", "cwroles", ("preview", "--expect-no-changes"), 0),
    ("cwroles: preview --refresh", "cwroles", ("preview", "--refresh", "--expect-no-changes"), 4),
    # As on a fresh CI runner: no plan cache, no remembered verdicts (CWROLES_PLAN_CACHE=off).
    ("cwroles, caches off: preview", "cwroles-cold", ("preview", "--expect-no-changes"), 0),
    ("cwroles, caches off: preview --refresh", "cwroles-cold", ("preview", "--refresh", "--expect-no-changes"), 4),
]
REFRESH_OPS: list[tuple[str, str, tuple[str, ...], Optional[int]]] = [
    ("cwroles: refresh --yes (CLI: preview pass + refresh)", "cwroles", ("refresh", "--yes"), 8),
    ("cwroles: refresh --yes --skip-preview", "cwroles", ("refresh", "--yes", "--skip-preview"), 4),
]
PAIRS = [("cwroles: preview", "reference: preview"),
         ("cwroles: preview --refresh", "reference: preview --refresh"),
         ("cwroles, caches off: preview", "reference: preview"),
         ("cwroles, caches off: preview --refresh", "reference: preview --refresh")]


@dataclass
class Timing:
    label: str
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system seconds of the whole process tree
    requests: list[int] = field(default_factory=list)

    @property
    def min(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _cli(project: Project, stack: str, args: tuple[str, ...]) -> tuple[float, float]:
    """Wall time and CPU time of one `pulumi` command. The CPU time covers the CLI, the language host, the
    program and the provider processes (each waits for its children) and hardly moves with other load."""
    cpu0, t0 = _children_cpu(), time.perf_counter()
    out = subprocess.run(["pulumi", *args, "--stack", stack, "--non-interactive"], cwd=project.root,
                         env={**os.environ, **project.env}, capture_output=True, text=True)
    elapsed, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if out.returncode != 0:
        raise RuntimeError(f"`pulumi {' '.join(args)}` in {project.name} failed:\n{out.stdout}\n{out.stderr}")
    return elapsed, cpu


def _setup(sim: Any, tmp: Path) -> dict[str, tuple[Project, str]]:
    floor = Project.create(tmp / "floor", EMPTY_PROGRAM, name="cwfloor", passphrase="cwroles-bench")
    floor.stack("floor").up()

    ref = Project.create(tmp / "reference", REFERENCE_PROGRAM.read_text(), name="cwreference",
                         passphrase="cwroles-bench")
    ref.stack("reference", {
        "reference:api": sim.api_url,
        "reference:clientId": sim.client_id,
        "reference:authorization": auto.ConfigValue(basic_auth(sim.company_id, sim.public_key, sim.private_key),
                                                    secret=True),
    }).up()

    cw = Project.repo_program(tmp / "cwroles", passphrase="cwroles-bench")
    stack = cw.stack(INTEGRATION, {**tenant_config(sim), "cwroles:integration": INTEGRATION})
    try:
        stack.up()
        raise AssertionError("the first cwroles up on a fresh tenant should stop with a checklist")
    except auto.errors.CommandError as e:
        if "does not match the code" not in str(e):
            raise
    [checklist] = (cw.root / ".cwroles" / "checklists").rglob("*.md")  # <stack>/<company>/<role>.md
    apply_checklist(sim.console_api, checklist.stem, checklist.read_text())
    stack.up()
    cold = Project(root=cw.root, name=cw.name, env={**cw.env, "CWROLES_PLAN_CACHE": "off"})
    return {"floor": (floor, "floor"), "reference": (ref, "reference"), "cwroles": (cw, INTEGRATION),
            "cwroles-cold": (cold, INTEGRATION)}


def run(rounds: int = 5, with_refresh: bool = True) -> dict[str, Any]:
    ops = OPS + (REFRESH_OPS if with_refresh else [])
    timings = {label: Timing(label) for label, *_ in ops}
    # As on a user's machine, Python caches compiled modules (pip compiles site-packages at install; the
    # setup below warms the cache of an editable install). Some sandboxes turn that off for every process.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cwroles-speed-") as tmp, running_server() as sim:
        console.print("  speed: setting up the floor, reference and cwroles (mobius) stacks …")
        projects = _setup(sim, Path(tmp))
        for r in range(rounds):
            order = ops[r % len(ops):] + ops[:r % len(ops)]
            console.print(f"  speed: round {r + 1}/{rounds}")
            for label, key, args, _ in order:
                project, stack = projects[key]
                sim.reset_metrics()
                wall, cpu = _cli(project, stack, args)
                timings[label].seconds.append(wall)
                timings[label].cpu.append(cpu)
                timings[label].requests.append(sim.metrics()["total"])
        load_end = os.getloadavg()
        console.print("  speed: the first reads of a fresh provider process …")
        (cw, cw_stack), (ref, ref_stack) = projects["cwroles"], projects["reference"]
        reads = read_path.run((cw, cw.stack(cw_stack)), (ref, ref.stack(ref_stack)), rounds=rounds)

    section(f"Speed: cwroles against a trivial dynamic provider ({rounds} interleaved rounds, real CLI)")
    t = table("Time per operation", "operation", "wall min (s)", "wall median (s)", "CPU median (s)", "requests",
              "expected requests")
    for label, _, _, expected in ops:
        tm = timings[label]
        got = sorted(set(tm.requests))
        t.add_row(label, f"{tm.min:.2f}", f"{tm.median:.2f}", f"{tm.cpu_median:.2f}", "/".join(map(str, got)),
                  "—" if expected is None else str(expected))
    console.print(t)
    t = table(f"Ratios (goal: wall time ≤ {GOAL:.2f}×)", "cwroles / reference", "ratio of mins",
              "ratio of medians", "CPU ratio (medians)", "goal met",
              right=("ratio of mins", "ratio of medians", "CPU ratio (medians)"))
    ratios = {}
    for ours, ref in PAIRS:
        a, b = timings[ours], timings[ref]
        rmin, rmed, rcpu = a.min / b.min, a.median / b.median, a.cpu_median / b.cpu_median
        ratios[ours] = {"min": rmin, "median": rmed, "cpu_median": rcpu}
        t.add_row(f"{ours} / {ref}", f"{rmin:.2f}×", f"{rmed:.2f}×", f"{rcpu:.2f}×",
                  "yes" if max(rmin, rmed) <= GOAL else "no")
    console.print(t)
    read_path.show(reads)
    console.print(f"load average (1, 5, 15 min): start {', '.join(f'{x:.2f}' for x in load_start)}; "
                  f"end {', '.join(f'{x:.2f}' for x in load_end)}")

    wrong = [f"{label}: {sorted(set(timings[label].requests))} requests, expected {expected}"
             for label, _, _, expected in ops
             if expected is not None and set(timings[label].requests) != {expected}]
    if wrong:
        raise AssertionError("request counts changed:\n" + "\n".join(wrong))
    return {"rounds": rounds, "loadavg_start": load_start, "loadavg_end": load_end, "ratios": ratios,
            "first_reads": reads,
            "timings": {label: {"seconds": tm.seconds, "cpu_seconds": tm.cpu, "requests": tm.requests}
                        for label, tm in timings.items()}}
