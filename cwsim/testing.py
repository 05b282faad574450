"""Run cwsim in-process for tests: a real uvicorn server on a free 127.0.0.1 port, in a thread.

    from cwroles.cwsim.testing import running_server
    with running_server() as sim:
        client = sim.client()                      # httpx.Client with auth + clientId, base = API root
        client.get("/system/securityroles")
        sim.console_url, sim.metrics(), sim.add_fault(kind="status", status=503, count=1)

    # a tenant whose catalog holds more than the bundled one (see docs/emulator.md, "A tenant's own catalog")
    extras = {"functions": [{"module": "Service Desk", "function": "Ticket Templates"}],
              "setupTables": [{"category": "Service", "table": "Ticket Template"}]}
    with running_server(catalog_extras=extras) as sim:
        ...

``tests/cwsim/conftest.py`` shows the pytest fixtures built on these functions.
"""

from __future__ import annotations

import base64
import contextlib
import ssl
from functools import lru_cache
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Union

import httpx
import uvicorn

from cwroles import emulator_defaults as D

from .app import create_app
from .backend import Backend
from .tenant_catalog import CatalogExtras, extras_json, load_extras

ExtrasSource = Union[CatalogExtras, Mapping[str, Any], str, Path]

API_PREFIX = "/v4_6_release/apis/3.0"


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """One SSL context for every client (building one per httpx.Client costs ~0.1 s)."""
    return ssl.create_default_context()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def basic_auth(company_id: str, public_key: str, private_key: str) -> str:
    raw = f"{company_id}+{public_key}:{private_key}".encode()
    return "Basic " + base64.b64encode(raw).decode()


@dataclass
class SimServer:
    url: str
    company_id: str
    db_path: str
    client_id: str = D.CLIENT_ID
    public_key: str = D.ADMIN_PUBLIC_KEY
    private_key: str = D.ADMIN_PRIVATE_KEY
    app: Any = field(default=None, repr=False)

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    @property
    def console_url(self) -> str:
        return f"{self.url}/console/{self.company_id}"

    @property
    def console_api(self) -> str:
        return f"{self.url}/console/api/{self.company_id}"

    def headers(self, public_key: Optional[str] = None, private_key: Optional[str] = None,
                company_id: Optional[str] = None) -> dict[str, str]:
        return {
            "Authorization": basic_auth(company_id or self.company_id, public_key or self.public_key,
                                        private_key or self.private_key),
            "clientId": self.client_id,
            "Accept": "application/vnd.connectwise.com+json; version=2025.1",
        }

    def client(self, public_key: Optional[str] = None, private_key: Optional[str] = None,
               company_id: Optional[str] = None, **kw: Any) -> httpx.Client:
        """An httpx client rooted at the API prefix, authenticated as the bootstrap admin (or given keys)."""
        kw.setdefault("verify", _ssl_context())
        return httpx.Client(base_url=self.api_url, headers=self.headers(public_key, private_key, company_id),
                            timeout=kw.pop("timeout", 10), **kw)

    def admin(self) -> httpx.Client:
        """A client rooted at the server (for /_cwsim and /console), no API auth."""
        return httpx.Client(base_url=self.url, timeout=10, verify=_ssl_context())

    # ---- admin helpers ----
    def _admin(self, method: str, path: str, **kw: Any) -> httpx.Response:
        with self.admin() as c:
            r = c.request(method, path, **kw)
        if r.is_error:
            raise AssertionError(f"cwsim {method} {path} -> {r.status_code}: {r.text}")
        return r

    def metrics(self) -> dict:
        return self._admin("GET", "/_cwsim/requests").json()

    def reset_metrics(self) -> None:
        self._admin("DELETE", "/_cwsim/requests")

    def reset(self, company_id: Optional[str] = None) -> None:
        """Wipe a company back to its bootstrap state, clear faults and metrics."""
        self._admin("POST", "/_cwsim/reset", json={"companyId": company_id or self.company_id})
        self.reset_metrics()

    def add_fault(self, **rule: Any) -> dict:
        return self._admin("POST", "/_cwsim/faults", json=rule).json()

    def clear_faults(self) -> None:
        self._admin("DELETE", "/_cwsim/faults")

    def set_token_ttl(self, seconds: float) -> None:
        self._admin("POST", "/_cwsim/config", json={"tokenTtlSeconds": seconds})

    def create_company(self, company_id: str, **kw: Any) -> dict:
        """POST /_cwsim/companies; ``catalog=`` takes catalog extras (the same shape as ``add_catalog_extras``)."""
        return self._admin("POST", "/_cwsim/companies", json={"companyId": company_id, **kw}).json()

    # ---- the tenant's own catalog ----
    def catalog_extras(self, company_id: Optional[str] = None) -> dict:
        """What the company's catalog holds beyond the bundled one."""
        return self._admin("GET", f"/_cwsim/companies/{company_id or self.company_id}/catalog").json()

    def add_catalog_extras(self, extras: ExtrasSource, company_id: Optional[str] = None) -> dict:
        """Give the company module functions, Table Setup tables or Custom Menu Entries the bundled catalog
        lacks (a mapping, a ``CatalogExtras`` or a YAML/JSON file); entries it already has are skipped."""
        body = extras_json(load_extras(extras))
        return self._admin("POST", f"/_cwsim/companies/{company_id or self.company_id}/catalog", json=body).json()

    def clear_catalog_extras(self, company_id: Optional[str] = None) -> None:
        self._admin("DELETE", f"/_cwsim/companies/{company_id or self.company_id}/catalog")

    # ---- console helpers ----
    def set_levels(self, role: int | str, *settings: dict) -> dict:
        """POST /console/api/{company}/roles/{role}/settings with grant-like dicts."""
        return self._admin("POST", f"/console/api/{self.company_id}/roles/{role}/settings",
                           json={"settings": list(settings)}).json()

    def set_customize(self, role: int | str, function: str, allow: list[str]) -> dict:
        return self._admin("PUT", f"/console/api/{self.company_id}/roles/{role}/customize",
                           json={"function": function, "allow": allow}).json()

    def create_key(self, member: int | str, description: str = "test key") -> dict:
        return self._admin("POST", f"/console/api/{self.company_id}/apiMembers/{member}/keys",
                           json={"description": description}).json()


    # ---- scenario helpers ----
    def create_api_member(self, identifier: str, role: int | str, name: Optional[str] = None) -> dict:
        """POST /system/apiMembers as the admin, reference fields from /system/apiMembers/default."""
        with self.client() as c:
            body = c.get("/system/apiMembers/default").raise_for_status().json()
            body.update(identifier=identifier, name=name or identifier,
                        securityRole={"id": role} if isinstance(role, int) else {"name": role})
            return c.post("/system/apiMembers", json=body).raise_for_status().json()

    def client_as(self, identifier: str, role_name: str, *grants: dict) -> httpx.Client:
        """A client authenticated as a new API member bound to a new role with ``grants``.

        ``grants`` are console settings dicts, e.g. {"module": "System", "function": "Security", "inquire": "All"}.
        """
        with self.client() as c:
            role = c.post("/system/securityroles", json={"name": role_name}).raise_for_status().json()
        if grants:
            self.set_levels(role["id"], *grants)
        member = self.create_api_member(identifier, role["id"])
        key = self.create_key(member["id"])
        return self.client(key["publicKey"], key["privateKey"])


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # running in a thread
        pass


@contextlib.contextmanager
def running_server(db_path: str | Path | None = None, company_id: str = D.COMPANY_ID,
                   port: Optional[int] = None, catalog_extras: Optional[ExtrasSource] = None) -> Iterator[SimServer]:
    """Start cwsim on 127.0.0.1 in a background thread; stop it on exit.

    ``db_path=None`` uses a fresh temporary SQLite file (deleted afterwards). ``catalog_extras`` seeds
    the company with module functions, Table Setup tables or Custom Menu Entries the bundled catalog
    lacks (a mapping, a ``CatalogExtras`` or a YAML/JSON file); they survive ``sim.reset()``.
    """
    extras = load_extras(catalog_extras) if catalog_extras is not None else None
    tmp = None
    if db_path is None:
        tmp = tempfile.TemporaryDirectory(prefix="cwsim-")
        db_path = Path(tmp.name) / "tenant.sqlite"
    backend = Backend(str(db_path))
    backend.ensure_company(company_id)
    if extras is not None:
        backend.tenant(company_id).add_catalog_extras(extras)
    app = create_app(str(db_path), default_company=company_id, backend=backend)
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                            http="h11", loop="asyncio")
    server = _Server(config)
    thread = threading.Thread(target=server.run, name=f"cwsim:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"cwsim did not start on 127.0.0.1:{port}")
        time.sleep(0.01)
    sim = SimServer(url=f"http://127.0.0.1:{port}", company_id=company_id, db_path=str(db_path), app=app)
    try:
        yield sim
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        backend.close()
        if tmp is not None:
            tmp.cleanup()
