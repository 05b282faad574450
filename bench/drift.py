"""`cwroles drift` over 60 stacks (20 tenants × 3 integrations, one emulator holding 20 companies), next to
`pulumi preview --refresh --expect-no-changes` of the same stacks one by one.

    python -m bench.drift [--tenants 20] [--sample 3] [--repeats 3]      (also part of `python -m bench`)

The 60 stacks are seeded as `pulumi up` leaves them, without running `up` 120 times (≈ 30 min here): for
each stack the provider's own ``create`` makes the role and the API member in the emulator, the admin's
console sets the code's levels, the provider's ``create`` of RolePermissions verifies them, and the
checkpoint is written in the engine's format (default provider, URNs, the private key encrypted with the
stack's passphrase key). Every stack file shares one ``encryptionsalt``, as ``cwroles stack-config`` writes
them. The sweep is the installed ``cwroles drift`` console script. The baseline runs the real engine on
``--sample`` of the same stacks and extrapolates to 60 (it says so); the runs are interleaved (sweep,
preview, sweep, …) and the sweep's median is taken. Nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

from cwroles.cwsim.testing import running_server
from cwroles.stacks import plan_from_config
from tests.sandbox import Project

from ._report import console, section, table

INTEGRATIONS = ("mobius", "msp-process", "managed-backup")
PASSPHRASE = "cwroles-bench"
PROJECT = "cwroles"
CWROLES = str(Path(sys.prefix) / "bin" / "cwroles")
_SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
_MANIFEST = {"time": "2026-01-01T00:00:00Z", "version": "v3.259.0",
             "magic": hashlib.sha256(b"v3.259.0").hexdigest()}


def _encrypt(key: bytes, text: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    return f"v1:{base64.b64encode(nonce).decode()}:{base64.b64encode(AESGCM(key).encrypt(nonce, text.encode(), None)).decode()}"


class Seeder:
    """Stacks of the repository program in the state `pulumi up` (checklist applied, `up` again) leaves them."""

    def __init__(self, project: Project, sim) -> None:
        self.project, self.sim = project, sim
        salt = os.urandom(8)
        t0 = time.perf_counter()
        self.key = hashlib.pbkdf2_hmac("sha256", PASSPHRASE.encode(), salt, 1_000_000, 32)
        self.derivation_s = time.perf_counter() - t0
        self.salt = f"v1:{base64.b64encode(salt).decode()}:{_encrypt(self.key, 'pulumi')}"
        self.state_dir = project.root / ".state" / ".pulumi" / "stacks" / PROJECT
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (project.root / ".state" / ".pulumi" / "meta.yaml").write_text("version: 1\n")

    def stack(self, stack: str, company: dict[str, Any], integration: str) -> None:
        from cwroles.provider import ApiMemberProvider, RolePermissionsProvider, SecurityRoleProvider, _config

        cfg = {"connectwise:site": self.sim.url, "connectwise:companyId": company["companyId"],
               "connectwise:clientId": company["clientId"], "connectwise:publicKey": company["publicKey"],
               "connectwise:privateKey": company["privateKey"], "connectwise:maxRetries": "1",
               "cwroles:integration": integration}
        doc = {"encryptionsalt": self.salt, "config": {
            **{k: v for k, v in cfg.items() if k != "connectwise:privateKey"},
            "connectwise:privateKey": {"secure": _encrypt(self.key, cfg["connectwise:privateKey"])}}}
        (self.project.root / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        plan = plan_from_config({"integration": integration})
        _config.reset()
        _config.configure(cfg.get)
        try:
            rp, mp, pp = SecurityRoleProvider(), ApiMemberProvider(), RolePermissionsProvider()
            role_in = rp.check({}, {**plan.role_args, "adopt_existing": False, "stack": stack}).inputs
            role = rp.create(role_in)
            member_in = mp.check({}, {k: v for k, v in {**plan.member_args, "role_id": role.outs["role_id"]}.items()
                                      if v is not None}).inputs
            member = mp.create(member_in)
            self._apply(company["companyId"], plan)
            perms_in = pp.check({}, {**{k: v for k, v in plan.permissions_args.items() if v is not None},
                                     "role_id": role.outs["role_id"], "role_name": role.outs["name"], "stack": stack,
                                     "member_identifier": member.outs["identifier"]}).inputs
            perms = pp.create(perms_in)
        finally:
            _config.reset()
        stack_urn = f"urn:pulumi:{stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{stack}"
        provider_id = str(uuid.uuid4())
        provider_urn = f"urn:pulumi:{stack}::{PROJECT}::pulumi:providers:pulumi-python::default"
        secret = {**_SECRET_SIG, "ciphertext": _encrypt(self.key, json.dumps(cfg["connectwise:privateKey"]))}
        provider_props = {**{k: v for k, v in cfg.items() if k != "connectwise:privateKey"}, "connectwise:privateKey": secret}

        from pulumi.dynamic.dynamic import serialize_provider

        def res(type_: str, name: str, id_: Any, inputs: dict, outs: dict, deps: list[str], provider) -> dict[str, Any]:
            pickled = {"__provider": serialize_provider(provider)}  # what the dynamic provider host unpickles
            clean = lambda d: {k: v for k, v in {**d, **pickled}.items() if v is not None}
            return {"urn": f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}", "custom": True, "id": str(id_),
                    "type": type_, "inputs": clean(inputs), "outputs": clean(outs), "parent": stack_urn,
                    "dependencies": deps, "provider": f"{provider_urn}::{provider_id}"}

        role_t = "pulumi-python:dynamic/connectwise:SecurityRole"
        role_urn = f"urn:pulumi:{stack}::{PROJECT}::{role_t}::{plan.role_resource}"
        resources = [
            {"urn": stack_urn, "custom": False, "type": "pulumi:pulumi:Stack", "outputs": {
                "integration": integration, "role_id": role.outs["role_id"], "pending": []}},
            {"urn": provider_urn, "custom": True, "id": provider_id, "type": "pulumi:providers:pulumi-python",
             "inputs": provider_props, "outputs": provider_props},
            res(role_t, plan.role_resource, role.id, role_in, role.outs, [], rp),
            res("pulumi-python:dynamic/connectwise:ApiMember", plan.member_resource, member.id, member_in, member.outs,
                [role_urn], mp),
            res("pulumi-python:dynamic/connectwise:RolePermissions", plan.permissions_resource, perms.id, perms_in,
                perms.outs, [role_urn], pp),
        ]
        checkpoint = {"version": 3, "checkpoint": {"stack": f"organization/{PROJECT}/{stack}", "latest": {
            "manifest": _MANIFEST, "secrets_providers": {"type": "passphrase", "state": {"salt": self.salt}},
            "resources": resources}}}
        (self.state_dir / f"{stack}.json").write_text(json.dumps(checkpoint))

    def _apply(self, company_id: str, plan) -> None:
        cells = [{k: v for k, v in g.items() if k in ("module", "function", "add", "edit", "delete", "inquire")}
                 for g in plan.permissions_args["grants"]]
        role = plan.role_args["name"]
        with self.sim.admin() as c:
            c.post(f"/console/api/{company_id}/roles/{role}/settings", json={"settings": cells}).raise_for_status()
            for fn, allow in plan.permissions_args["customize"].items():
                c.put(f"/console/api/{company_id}/roles/{role}/customize",
                      json={"function": fn, "allow": allow}).raise_for_status()


def _sweep(project: Project, sim, out: Path) -> tuple[float, int, dict]:
    sim.reset_metrics()
    t0 = time.perf_counter()
    r = subprocess.run([CWROLES, "drift", "--all", "--quiet", "--json", str(out)], cwd=project.root,
                       env={**os.environ, **project.env}, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if not out.exists():
        raise RuntimeError(f"cwroles drift failed (exit {r.returncode}): {r.stderr[-800:]}")
    return wall, sim.metrics()["total"], json.loads(out.read_text())


def _preview(project: Project, sim, stack: str) -> tuple[float, int, int]:
    sim.reset_metrics()
    t0 = time.perf_counter()
    r = project.cli("preview", "--refresh", "--expect-no-changes", stack=stack)
    return time.perf_counter() - t0, sim.metrics()["total"], r.returncode


def run(tenants: int = 20, sample: int = 3, repeats: int = 3) -> dict[str, Any]:
    n = tenants * len(INTEGRATIONS)
    results: dict[str, Any] = {"stacks": n, "tenants": tenants, "sample": sample, "loadavg_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="cwroles-bench-drift-") as tmp, running_server() as sim:
        project = Project.repo_program(Path(tmp) / "proj", passphrase=PASSPHRASE)
        console.print(f"  seeding {n} stacks ({tenants} companies × {len(INTEGRATIONS)} integrations) …")
        t0 = time.perf_counter()
        seeder = Seeder(project, sim)
        names = []
        for t in range(1, tenants + 1):
            company = sim.create_company(f"t{t:02d}")
            for integration in INTEGRATIONS:
                name = f"t{t:02d}-{integration}"
                seeder.stack(name, company, integration)
                names.append(name)
        results["seed_seconds"] = time.perf_counter() - t0
        results["key_derivation_seconds"] = seeder.derivation_s
        picks = [names[i * len(names) // max(1, sample)] for i in range(sample)]
        sweeps: list[tuple[float, int]] = []
        previews: list[tuple[str, float, int, int]] = []
        verdicts: dict[str, int] = {}
        for i in range(max(repeats, sample)):
            wall, requests, doc = _sweep(project, sim, Path(tmp) / f"drift{i}.json")
            sweeps.append((wall, requests))
            verdicts = {k: v for k, v in doc["summary"].items() if k not in ("stacks", "exit_code")}
            if i < len(picks):
                console.print(f"  sweep {i + 1}: {wall:.2f} s; preview --refresh {picks[i]} …")
                previews.append((picks[i], *_preview(project, sim, picks[i])))
        results["loadavg_end"] = os.getloadavg()

    sweep_wall = statistics.median(w for w, _ in sweeps)
    sweep_req = statistics.median(r for _, r in sweeps)
    prev_wall = statistics.mean(w for _, w, _, _ in previews) if previews else float("nan")
    prev_req = statistics.mean(r for _, _, r, _ in previews) if previews else float("nan")
    section(f"3. Drift over {n} stacks: `cwroles drift --all` vs `pulumi preview --refresh` one by one")
    t = table(f"{n} stacks ({tenants} tenants × 3 integrations, one emulator), this machine "
              f"(nproc {os.cpu_count()}, load {results['loadavg_start'][0]:.1f} → {results['loadavg_end'][0]:.1f})",
              "method", "wall (s)", "requests", "requests per stack", "s per stack",
              caption=(f"sweep: median of {len(sweeps)} runs of the installed `cwroles drift --all` (verdicts: "
                       f"{', '.join(f'{k} {v}' for k, v in verdicts.items() if v)}); preview: the real engine on "
                       f"{len(previews)} of the same stacks ({', '.join(p[0] for p in previews)}, exit codes "
                       f"{', '.join(str(p[3]) for p in previews)}), timed one by one and extrapolated ×{n}. "
                       f"Key derivation (PBKDF2, once per distinct encryptionsalt): {results['key_derivation_seconds']:.2f} s."))
    t.add_row("cwroles drift --all", f"{sweep_wall:.2f}", f"{sweep_req:.0f}", f"{sweep_req / n:.2f}", f"{sweep_wall / n:.3f}")
    t.add_row(f"pulumi preview --refresh × {n} (extrapolated)", f"{prev_wall * n:.0f}", f"{prev_req * n:.0f}",
              f"{prev_req:.2f}", f"{prev_wall:.2f}")
    ratio = prev_wall * n / sweep_wall if sweep_wall else float("nan")
    t.add_row("ratio", f"{ratio:.0f}×", "", f"{prev_req / (sweep_req / n):.1f}×" if sweep_req else "", "")
    console.print(t)
    results.update(sweep_seconds=[w for w, _ in sweeps], sweep_requests=[r for _, r in sweeps], verdicts=verdicts,
                   preview=[{"stack": s, "seconds": w, "requests": r, "exit": rc} for s, w, r, rc in previews],
                   preview_extrapolated_seconds=prev_wall * n, ratio=ratio)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.drift", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tenants", type=int, default=20, help="companies in the emulator (3 stacks each; default 20)")
    ap.add_argument("--sample", type=int, default=3, help="stacks previewed with the real engine (default 3)")
    ap.add_argument("--repeats", type=int, default=3, help="sweeps for the median (default 3)")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the raw numbers as JSON")
    args = ap.parse_args(argv)
    results = run(args.tenants, args.sample, args.repeats)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
