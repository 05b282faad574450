"""Fault injection and request metrics (cwsim/faults.py) over real HTTP."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from cwroles.cwsim.faults import normalize_path


def test_metrics_count_by_normalized_path(sim, api):
    sim.reset_metrics()
    api.get("/system/securityroles")
    api.get("/system/securityRoles/1/settings")
    api.get("/system/securityroles/2")
    api.get("/system/securityroles/3")
    m = sim.metrics()
    assert m["total"] == 4
    assert m["byEndpoint"]["GET /system/securityroles/{id}"] == 2
    assert m["byEndpoint"]["GET /system/securityroles/{id}/settings"] == 1
    sim.reset_metrics()
    assert sim.metrics()["total"] == 0


def test_next_n_requests_fail_with_5xx(sim, api):
    sim.add_fault(kind="status", status=503, count=2, path=r"^/system/securityroles$", method="GET")
    codes = [api.get("/system/securityroles").status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    assert api.get("/system/securityroles/count").status_code == 200  # other paths untouched
    r = api.post("/system/securityroles", json={"name": "Unaffected"})
    assert r.status_code == 201
    assert sim.metrics()["byStatus"]["503"] == 2


def test_429_with_retry_after(sim, api):
    sim.add_fault(kind="status", status=429, count=1, retry_after=3)
    r = api.get("/system/securityroles")
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    assert r.json()["code"] == "TooManyRequests"
    assert api.get("/system/securityroles").status_code == 200


def test_rate_limit_window(sim, api):
    sim.add_fault(kind="rate_limit", limit=3, window_seconds=60, retry_after=7)
    codes = [api.get("/system/securityroles/count").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert api.get("/system/securityroles/count").headers["retry-after"] == "7"


def test_seeded_probability_is_deterministic(sim, api):
    def run():
        sim.clear_faults()
        sim.add_fault(kind="status", status=500, probability=0.5, seed=42)
        return [api.get("/system/securityroles/count").status_code for _ in range(12)]
    first, second = run(), run()
    assert first == second and 500 in first and 200 in first


def test_latency(sim, api):
    sim.add_fault(kind="latency", ms=300, count=1)
    t = time.monotonic()
    assert api.get("/system/securityroles/count").status_code == 200
    assert time.monotonic() - t >= 0.3
    t = time.monotonic()
    api.get("/system/securityroles/count")
    assert time.monotonic() - t < 0.3


def test_dropped_connection(sim, api):
    sim.add_fault(kind="drop", count=1)
    with pytest.raises(httpx.TransportError):
        api.get("/system/securityroles")
    assert api.get("/system/securityroles").status_code == 200
    assert sim.metrics()["byStatus"]["dropped"] == 1


def test_faults_do_not_touch_admin_or_console(sim):
    sim.add_fault(kind="status", status=500)
    assert httpx.get(sim.url + "/_cwsim/health").status_code == 200
    assert httpx.get(sim.console_api + "/roles").status_code == 200


@pytest.mark.parametrize("rule", [{"kind": "explode"}, {"kind": "status", "status": 200},
                                  {"kind": "status", "count": 0}, {"kind": "latency", "path": "("},
                                  {"kind": "drop", "bogus": 1}])
def test_invalid_rules_rejected(sim, rule):
    r = httpx.post(sim.url + "/_cwsim/faults", json=rule)
    assert r.status_code == 400 and r.json()["message"]


def test_rules_listed_and_removed(sim):
    rule = sim.add_fault(kind="latency", ms=1)
    listed = httpx.get(sim.url + "/_cwsim/faults").json()
    assert [x["id"] for x in listed] == [rule["id"]]
    assert httpx.delete(f"{sim.url}/_cwsim/faults/{rule['id']}").status_code == 204
    assert httpx.get(sim.url + "/_cwsim/faults").json() == []


def test_normalize_path():
    assert normalize_path("/v2025_1/apis/3.0/system/securityRoles/12/settings/7") == \
        "/system/securityroles/{id}/settings/{id}"
    assert normalize_path("/login/companyinfo/acme") == "/login/companyinfo/{companyId}"


def test_client_giving_up_during_latency_leaves_no_internal_error(sim, caplog):
    """A client whose timeout ends during a latency fault: cwsim does nothing for it (the request body never
    arrived), counts it as 499 (client closed request) and logs no traceback and no "cwsim internal error"."""
    sim.add_fault(kind="latency", ms=400, count=2)
    with caplog.at_level("DEBUG"):
        with sim.client(timeout=0.1) as quick:
            with pytest.raises(httpx.TimeoutException):
                quick.post("/system/securityroles", json={"name": "Gave Up"})
            with pytest.raises(httpx.TimeoutException):
                quick.get("/system/securityroles")
        deadline = time.monotonic() + 5
        while sim.metrics()["total"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    metrics = sim.metrics()
    assert metrics["byStatus"] == {"200": 1, "499": 1}, metrics
    assert metrics["faultsInjected"] == {"latency": 2}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == [], [r.getMessage() for r in errors]
    assert not any("internal error" in r.getMessage() for r in caplog.records)
    with sim.client() as c:  # nothing was created for the client that gave up
        assert c.get("/system/securityroles", params={"conditions": "name = 'Gave Up'"}).json() == []
