"""The client loads the CA bundle only for https:// sites (loading it costs 25-50 ms in every provider
process); a plain http:// site still fails closed if anything ever tried TLS through it."""

from __future__ import annotations

import ssl

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
