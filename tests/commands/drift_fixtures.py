"""A Pulumi project as the engine leaves it, made without the engine, for `cwroles drift` tests.

``FakeProject`` writes what `pulumi up` of the stack program writes: ``Pulumi.yaml``, ``Pulumi.<stack>.yaml``
(the private key as a passphrase-encrypted secret, one shared ``encryptionsalt``) and the file backend's
checkpoint. The resources are created in the emulator by the provider's own ``create`` (configured for the
stack's tenant), so the recorded inputs and outputs are the provider's, not a transcription. The engine-level
proof that the sweep agrees with `pulumi preview --refresh` is tests/engine/test_drift_engine.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Optional

import yaml
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cwroles.provider import ApiMemberProvider, RoleOutOfSync, RolePermissionsProvider, SecurityRoleProvider, _config
from cwroles.stacks import plan_from_config
from cwroles.stacks.drift import MEMBER_TYPE, PERMISSIONS_TYPE, ROLE_TYPE

PASSPHRASE = "drift-test-passphrase"
PROJECT = "cwroles"
_SALTS: dict[tuple[str, bytes], tuple[str, bytes]] = {}


def encrypt(key: bytes, plaintext: str) -> str:
    nonce = os.urandom(12)
    return "v1:" + base64.b64encode(nonce).decode() + ":" + base64.b64encode(AESGCM(key).encrypt(nonce, plaintext.encode(), None)).decode()


def salt_state(passphrase: str, salt: bytes) -> tuple[str, bytes]:
    """An ``encryptionsalt`` line's value and its key, as `pulumi stack init` makes them (one per session and
    salt: the sweep then derives its key once per session too)."""
    if (passphrase, salt) not in _SALTS:
        key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, 1_000_000, 32)
        _SALTS[(passphrase, salt)] = (f"v1:{base64.b64encode(salt).decode()}:{encrypt(key, 'pulumi')}", key)
    return _SALTS[(passphrase, salt)]


def tenant(sim, company_id: str) -> dict[str, str]:
    """A company of the emulator and its admin keys, as connectwise:* config."""
    c = sim.create_company(company_id)
    return {"connectwise:site": sim.url, "connectwise:companyId": company_id, "connectwise:clientId": c["clientId"],
            "connectwise:publicKey": c["publicKey"], "connectwise:privateKey": c["privateKey"],
            "connectwise:maxRetries": "0"}


def _no_nulls(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}  # the engine drops null properties


class FakeProject:
    def __init__(self, root: Path, passphrase: str = PASSPHRASE, salt: bytes = b"\x01" * 8) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        (root / "Pulumi.yaml").write_text(f"name: {PROJECT}\nruntime: python\n")
        self.backend = root / ".state"
        (self.backend / ".pulumi" / "stacks" / PROJECT).mkdir(parents=True, exist_ok=True)
        (self.backend / ".pulumi" / "meta.yaml").write_text("version: 1\n")
        self.salt, self.key = salt_state(passphrase, salt)
        self.passphrase = passphrase

    @property
    def env(self) -> dict[str, str]:
        return {"PULUMI_BACKEND_URL": f"file://{self.backend}", "PULUMI_CONFIG_PASSPHRASE": self.passphrase,
                "PULUMI_HOME": str(self.root / ".home")}

    def checkpoint_path(self, stack: str) -> Path:
        return self.backend / ".pulumi" / "stacks" / PROJECT / f"{stack}.json"

    # -- stack files --
    def stack_file(self, stack: str, config: dict[str, Any], secret_keys: tuple[str, ...] = ("connectwise:privateKey",),
                   salt: Optional[str] = None) -> Path:
        cfg: dict[str, Any] = {}
        for k, v in config.items():
            cfg[k] = {"secure": encrypt(self.key, v)} if k in secret_keys and v is not None else v
        doc = {"encryptionsalt": salt or self.salt, "config": cfg}
        path = self.root / f"Pulumi.{stack}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
        return path

    def config_of(self, stack: str) -> dict[str, Any]:
        doc = yaml.safe_load((self.root / f"Pulumi.{stack}.yaml").read_text())
        return doc["config"]

    def set_config(self, stack: str, key: str, value: Any) -> None:
        path = self.root / f"Pulumi.{stack}.yaml"
        doc = yaml.safe_load(path.read_text())
        if value is None:
            doc["config"].pop(key, None)
        else:
            doc["config"][key] = value
        path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))

    # -- state --
    def write_state(self, stack: str, resources: list[dict[str, Any]]) -> None:
        urn_stack = f"urn:pulumi:{stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{stack}"
        doc = {"version": 3, "checkpoint": {"stack": f"organization/{PROJECT}/{stack}", "latest": {
            "manifest": {"time": "2026-01-01T00:00:00Z", "magic": "x", "version": "v3.259.0"},
            "secrets_providers": {"type": "passphrase", "state": {"salt": self.salt}},
            "resources": [{"urn": urn_stack, "custom": False, "type": "pulumi:pulumi:Stack", "outputs": {}}, *resources]}}}
        self.checkpoint_path(stack).write_text(json.dumps(doc))

    def resources(self, stack: str) -> list[dict[str, Any]]:
        doc = json.loads(self.checkpoint_path(stack).read_text())
        return doc["checkpoint"]["latest"]["resources"][1:]

    def deploy(self, stack: str, tenant_cfg: dict[str, str], integration: str, sim=None,
               converge: bool = True, **cwroles_cfg: Any) -> dict[str, Any]:
        """What `pulumi up` (then the checklist applied, then `pulumi up` again) leaves; returns the resources'
        outputs by type. ``converge=False``: the first `up`, which stops at the checklist."""
        config = {**tenant_cfg, "cwroles:integration": integration, **{f"cwroles:{k}": v for k, v in cwroles_cfg.items()}}
        self.stack_file(stack, config)
        raw = {"integration": integration, **cwroles_cfg}
        plan = plan_from_config(raw)
        _config.reset()
        _config.configure(lambda k: tenant_cfg.get(k))
        try:
            role_p, perms_p, member_p = SecurityRoleProvider(), RolePermissionsProvider(), ApiMemberProvider()
            role_in = role_p.check({}, {**plan.role_args, "adopt_existing": False, "stack": stack}).inputs
            role = role_p.create(role_in)
            member_in = member_p.check({}, _no_nulls({**plan.member_args, "role_id": role.outs["role_id"]})).inputs
            member = member_p.create(member_in)
            perms_in = perms_p.check({}, _no_nulls({**plan.permissions_args, "role_id": role.outs["role_id"],
                                                    "role_name": role.outs["name"], "stack": stack,
                                                    "member_identifier": member.outs["identifier"]})).inputs
            if converge and sim is not None:
                apply_plan(sim, tenant_cfg["connectwise:companyId"], plan)
            resources = [self._res(stack, ROLE_TYPE, plan.role_resource, role.id, role_in, role.outs),
                         self._res(stack, MEMBER_TYPE, plan.member_resource, member.id, member_in, member.outs)]
            out = {"role": role.outs, "member": member.outs, "permissions": None, "plan": plan}
            try:
                perms = perms_p.create(perms_in)
            except RoleOutOfSync:
                perms = None
            if perms is not None:
                resources.append(self._res(stack, PERMISSIONS_TYPE, plan.permissions_resource, perms.id, perms_in, perms.outs))
                out["permissions"] = perms.outs
        finally:
            _config.reset()
        self.write_state(stack, resources)
        return out

    @staticmethod
    def _res(stack: str, type_: str, name: str, id_: str, inputs: dict, outs: dict) -> dict[str, Any]:
        return {"urn": f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}", "custom": True, "id": str(id_), "type": type_,
                "inputs": _no_nulls(dict(inputs)), "outputs": _no_nulls(dict(outs))}


def isolated_project(tmp_path: Path, monkeypatch: Any, export_env: bool = False) -> FakeProject:
    """A fake project in ``tmp_path``, run from there with no CONNECTWISE_* variable of the machine's;
    ``export_env``: its Pulumi variables exported too, as a shell in the project would have them."""
    monkeypatch.chdir(tmp_path)
    for k in ("SITE", "COMPANY_ID", "CLIENT_ID", "PUBLIC_KEY", "PRIVATE_KEY", "CODEBASE"):
        monkeypatch.delenv(f"CONNECTWISE_{k}", raising=False)
    p = FakeProject(tmp_path / "proj")
    if export_env:
        for k, v in p.env.items():
            monkeypatch.setenv(k, v)
    return p


def apply_plan(sim, company_id: str, plan) -> None:
    """The admin applies the code's levels and allow-lists in the console (what the checklist asks)."""
    role = plan.role_args["name"]
    cells = [{k: v for k, v in g.items() if k in ("module", "function", "add", "edit", "delete", "inquire")}
             for g in plan.permissions_args["grants"]]
    with sim.admin() as c:
        c.post(f"/console/api/{company_id}/roles/{role}/settings", json={"settings": cells}).raise_for_status()
        for fn, allow in plan.permissions_args["customize"].items():
            c.put(f"/console/api/{company_id}/roles/{role}/customize", json={"function": fn, "allow": allow}).raise_for_status()


def set_levels(sim, company_id: str, role: str, *cells: dict[str, str]) -> None:
    with sim.admin() as c:
        c.post(f"/console/api/{company_id}/roles/{role}/settings", json={"settings": list(cells)}).raise_for_status()
