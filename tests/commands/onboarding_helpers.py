"""Shared by the tests of export, audit and catalog diff: a tenant whose roles and API members are made by hand
(the emulator's console and the admin's REST calls, never cwroles), and the CLI pointed at it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from typer.testing import CliRunner

from cwroles.commands import app
from cwroles.cwsim.testing import SimServer

# A function and a Table Setup table the bundled catalog lacks (docs/emulator.md, "A tenant's own catalog").
EXTRAS = {"functions": [{"module": "Service Desk", "function": "Ticket Dispatch Rules"},
                        {"module": "Knowledge Base", "function": "KB Articles", "levels": ["add", "inquire"]}],
          "setupTables": [{"category": "Service", "table": "Dispatch Queue"}]}
OWN_FUNCTION = "Service Desk › Ticket Dispatch Rules"
OWN_TABLE = "Service / Dispatch Queue"


def env(sim: SimServer, codebase: bool = True) -> dict[str, str]:
    out = {"CONNECTWISE_SITE": sim.url, "CONNECTWISE_COMPANY_ID": sim.company_id, "CONNECTWISE_CLIENT_ID": sim.client_id,
           "CONNECTWISE_PUBLIC_KEY": sim.public_key, "CONNECTWISE_PRIVATE_KEY": sim.private_key, "COLUMNS": "250",
           "CONNECTWISE_MAX_RETRIES": "0"}
    if codebase:
        out["CONNECTWISE_CODEBASE"] = "v4_6_release"  # no discovery request: the counts are the command's own
    return out


def cli(sim: SimServer, *args: str, **kw: Any):
    return CliRunner().invoke(app, [str(a) for a in args], env={**env(sim, **kw)})


def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text("name: acme\nruntime: python\n")
    return root


def make_role(sim: SimServer, name: str, *grants: dict, allow: Optional[list[str]] = None,
              member: Optional[str] = None, inactive: bool = False, role_type: Optional[str] = None,
              admin: bool = False) -> tuple[dict, Optional[dict]]:
    """A role (and an API member holding it) as an admin clicks them."""
    body: dict[str, Any] = {"name": name, "adminFlag": admin}
    if role_type:
        body["roleType"] = role_type
    with sim.client() as c:
        role = c.post("/system/securityroles", json=body).raise_for_status().json()
    if grants:
        sim.set_levels(role["id"], *grants)
    if allow is not None:
        sim.set_customize(role["id"], "System › Table Setup", allow)
    m = None
    if member:
        m = sim.create_api_member(member, role["id"], name=f"{name} member"[:30])
        if inactive:
            with sim.client() as c:
                c.post(f"/system/members/{m['id']}/deactivate", json={}).raise_for_status()
    return role, m


def api_requests(sim: SimServer) -> int:
    return sim.metrics()["total"]
