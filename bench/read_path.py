"""The first reads of a fresh provider process: what `preview --refresh` pays on top of the reference.

A refresh starts a provider process that imports Pulumi (the reference's does too) and then reads every
resource. cwroles' first read also loads what a read needs (pydantic, httpx, the catalog and the models);
the reference parses its three responses with the standard library. Each measurement is a fresh Python
that imports what the provider host imports before it serves, and then reads the stack's three resources
as the engine asks for them (three threads at once, each read followed by its refresh diff). The reference's
process makes its three GETs with urllib, also in three threads. Interleaved rounds; one more cwroles run
with ``-X importtime`` splits the imports by package.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from typing import Any

from pulumi import automation as auto

from ._report import console, table

# What the provider host (pulumi.dynamic's server, run by cwroles.provider._dynamic_host) has imported
# when the engine's first call arrives.
_HOST_IMPORTS = ("import dill, grpc, pulumi, pulumi.dynamic, pulumi.runtime._serialization, "
                 "pulumi.runtime.proto.provider_pb2_grpc, cwroles.provider._dynamic_host\n"
                 "import json, sys\n"
                 "given = json.loads(sys.stdin.read())\n")
_MEASURE = """
import json, resource, sys, threading, time
def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
before = sorted(sys.modules)
t0, c0 = time.perf_counter(), _cpu()
threads = [threading.Thread(target=read, args=(r,)) for r in given["resources"]]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"wall": time.perf_counter() - t0, "cpu": _cpu() - c0, "errors": errors, "before": before}))
"""
CWROLES_CHILD = _HOST_IMPORTS + """
from cwroles.provider.resources import DeferredProvider
errors = []
def read(r):
    try:
        p = DeferredProvider(r["kind"])
        got = p.read(r["id"], dict(r["outputs"]))
        if got.id != r["id"]:
            errors.append(f"{r['kind']}: read gave id {got.id!r}")
        p.diff(got.id, got.outs, dict(r["inputs"]))
    except Exception as e:
        errors.append(f"{r['kind']}: {e}")
class _Request:
    def __init__(self, config): self.config = config
DeferredProvider("security_role").configure(_Request(given["config"]))
""" + _MEASURE
REFERENCE_CHILD = _HOST_IMPORTS + """
import urllib.request
errors = []
def read(r):
    try:
        req = urllib.request.Request(f"{r['api']}/system/securityroles/{r['id']}",
                                     headers={"Authorization": r["auth"], "clientId": r["client_id"]})
        with urllib.request.urlopen(req, timeout=30) as resp:
            if str(json.loads(resp.read())["id"]) != r["id"]:
                errors.append("wrong role")
    except Exception as e:
        errors.append(str(e))
""" + _MEASURE

# Top-level packages, grouped the way the docs discuss them.
GROUPS = {"pydantic": ("pydantic", "pydantic_core", "annotated_types", "typing_inspection"),
          "httpx": ("httpx", "httpcore", "h11", "anyio", "sniffio", "idna", "certifi"),
          "cwroles": ("cwroles",)}
OTHER = "standard library and other"


def _resources(stack: auto.Stack, kinds: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for r in stack.export_stack().deployment["resources"]:
        kind = kinds.get(r["type"].rsplit(":", 1)[-1])
        if kind:
            out.append({"kind": kind, "id": r["id"], "outputs": r.get("outputs", {}), "inputs": r.get("inputs", {})})
    return out


def _child(code: str, given: Any, cwd: Any, env: dict[str, str], importtime: bool = False) -> dict[str, Any]:
    """Run one measurement in the project directory, as the engine starts a provider (``python -c``, so the
    working directory comes first on sys.path); ``given`` (settings with the key, resources) goes on stdin."""
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", code]
    out = subprocess.run(cmd, input=json.dumps(given), cwd=cwd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"read-path measurement failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["errors"]:
        raise RuntimeError(f"read-path measurement: {result['errors']}")
    if importtime:
        result["importtime"] = out.stderr
    return result


def _imports_by_group(importtime: str, before: set[str]) -> dict[str, float]:
    """Self time (ms) of the modules the reads imported, by group; -X importtime adds its own overhead."""
    sums = dict.fromkeys((*GROUPS, OTHER), 0.0)
    for m in re.finditer(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", importtime):
        name = m.group(2)
        if name in before:
            continue
        top = name.split(".")[0]
        group = next((g for g, tops in GROUPS.items() if top in tops), OTHER)
        sums[group] += int(m.group(1)) / 1000
    return sums


def run(cw: tuple[Any, auto.Stack], ref: tuple[Any, auto.Stack], rounds: int) -> dict[str, Any]:
    """``cw``/``ref``: (project, stack) of the green mobius stack and of the reference stack."""
    (cw_project, cw_stack), (ref_project, ref_stack) = cw, ref
    config = {k: v.value for k, v in cw_stack.get_all_config().items() if k.startswith("connectwise:")}
    cw_resources = _resources(cw_stack, {"SecurityRole": "security_role", "ApiMember": "api_member",
                                         "RolePermissions": "role_permissions"})
    ref_config = {k: v.value for k, v in ref_stack.get_all_config().items()}
    ref_resources = [{"api": ref_config["reference:api"], "auth": ref_config["reference:authorization"],
                      "client_id": ref_config["reference:clientId"], "id": r["id"]}
                     for r in ref_stack.export_stack().deployment["resources"] if r["type"].endswith("dynamic:Resource")]
    env = {**os.environ, **cw_project.env}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    runs: dict[str, list[dict[str, Any]]] = {"cwroles": [], "reference": []}
    for r in range(rounds):
        order = ["cwroles", "reference"] if r % 2 == 0 else ["reference", "cwroles"]
        for who in order:
            if who == "cwroles":
                runs[who].append(_child(CWROLES_CHILD, {"config": config, "resources": cw_resources}, cw_project.root, env))
            else:
                runs[who].append(_child(REFERENCE_CHILD, {"resources": ref_resources}, ref_project.root, env))
    traced = _child(CWROLES_CHILD, {"config": config, "resources": cw_resources}, cw_project.root, env,
                    importtime=True)
    groups = _imports_by_group(traced["importtime"], set(traced["before"]))

    med = {who: {k: statistics.median(x[k] for x in xs) for k in ("wall", "cpu")} for who, xs in runs.items()}
    return {"rounds": rounds, "medians": med, "imports_ms": groups,
            "runs": {who: [{k: x[k] for k in ("wall", "cpu")} for x in xs] for who, xs in runs.items()}}


def show(result: dict[str, Any]) -> None:
    med, groups = result["medians"], result["imports_ms"]
    t = table(f"First reads of a fresh provider process ({result['rounds']} interleaved rounds; 3 resources in 3 "
              "threads, each cwroles read followed by its refresh diff)", "process", "wall median (ms)",
              "CPU median (ms)")
    for who in ("reference", "cwroles"):
        t.add_row(who, f"{1000 * med[who]['wall']:.0f}", f"{1000 * med[who]['cpu']:.0f}")
    t.add_row("cwroles − reference", f"{1000 * (med['cwroles']['wall'] - med['reference']['wall']):.0f}",
              f"{1000 * (med['cwroles']['cpu'] - med['reference']['cpu']):.0f}")
    console.print(t)
    t = table("What cwroles' first reads import, by package (-X importtime self times of one run; the tool adds "
              "its own overhead)", "package", "ms")
    for group in (*GROUPS, OTHER):
        t.add_row(group, f"{groups.get(group, 0.0):.0f}")
    t.add_row("total", f"{sum(groups.values()):.0f}")
    console.print(t)
