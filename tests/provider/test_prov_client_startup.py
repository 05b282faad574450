"""What the client costs a provider process at start-up, and that the savings change nothing it does:
the CA bundle is loaded only for https:// sites (a plain http:// site still fails closed if anything tried
TLS through it); httpx is imported with the first client, without its command line (click, rich, pygments),
which still works when called."""

from __future__ import annotations

import ssl
import subprocess
import sys

import pytest

from cwroles.cwsim.testing import running_server
from cwroles.provider import Client


@pytest.fixture
def ca_loads(monkeypatch):
    """Every CA bundle loaded into an SSL context while the test runs."""
    calls: list[tuple] = []
    real = ssl.SSLContext.load_verify_locations

    def spy(self, *args, **kwargs):
        calls.append((args, kwargs))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", spy)
    return calls


def _client(site: str) -> Client:
    return Client(site, "cwroles", "pub", "priv", "client-id", codebase="v4_6_release")


def test_http_site_loads_no_ca_bundle_and_still_talks(ca_loads, tmp_path):
    with running_server(db_path=tmp_path / "t.sqlite") as sim:
        with sim.client() as admin:
            role = admin.post("/system/securityroles", json={"name": "TLS Check"}).json()
        ca_loads.clear()  # the test's own admin client may load one; only the provider's client counts
        with Client(sim.url, sim.company_id, sim.public_key, sim.private_key, sim.client_id) as c:
            assert c.get_security_role(role["id"]).name == "TLS Check"
    assert ca_loads == []


def test_https_site_verifies_certificates(ca_loads):
    with _client("https://api-na.myconnectwise.net"):
        pass
    assert ca_loads, "an https:// site must load the trusted CA bundle"


def test_http_site_context_would_refuse_any_tls_peer():
    with _client("http://127.0.0.1:9") as c:
        ctx = c._http._transport._pool._ssl_context
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] == 0  # trusts nothing: a TLS handshake could only fail


def _fresh_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_no_http_library_until_the_first_client_and_never_its_command_line():
    out = _fresh_python(
        "import sys\n"
        "from cwroles.provider import SecurityRole, RolePermissions, ApiMember, Client\n"
        "print('httpx' in sys.modules)\n"
        "Client('http://127.0.0.1:9', 'acme', 'pk', 'sk', 'cid', codebase='v4_6_release')\n"
        "print('httpx' in sys.modules, any(m in sys.modules for m in ('click', 'rich', 'pygments')))\n")
    assert out.splitlines() == ["False", "True False"]


def test_httpx_command_line_still_runs_after_the_light_import():
    out = _fresh_python(
        "from cwroles.provider import Client\n"
        "Client('http://127.0.0.1:9', 'acme', 'pk', 'sk', 'cid', codebase='v4_6_release')\n"
        "import httpx, httpx._main\n"
        "print(httpx._main.__file__.endswith('_main.py'), callable(httpx.main))\n"
        "try:\n"
        "    httpx.main(['--help'])\n"
        "except SystemExit as e:\n"
        "    print('exit', e.code)\n")
    assert out.splitlines()[0] == "True True"
    assert "Usage" in out and out.splitlines()[-1] == "exit 0"
