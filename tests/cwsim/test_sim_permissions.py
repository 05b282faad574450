"""The emulator authorizes from the core's permission map, and its 403s agree with the provider's hints."""

from __future__ import annotations

import pytest

from cwroles.api_permissions import Permission, load_api_permissions
from cwroles.cwsim.authz import ROUTES
from cwroles.provider._errors import Forbidden, error_for_response

API_ENDPOINTS = [e for e in load_api_permissions().endpoints if not e.path.startswith("/login/")]


def _concrete(template: str) -> str:
    return template.replace("{id}", "1").replace("{parentId}", "1").replace("{memberIdentifier:str}", "cwadmin")


def test_emulated_routes_are_exactly_the_map():
    """Every route cwsim serves is in the map with the same methods, and the map lists nothing cwsim lacks."""
    served = {r.name.lower(): set(r.methods) for r in ROUTES}
    mapped = {e.path.lower(): set(e.methods) for e in API_ENDPOINTS}
    assert served == mapped


@pytest.mark.parametrize("method,path,need", [
    (m, _concrete(e.path), need) for e in API_ENDPOINTS for m, need in e.methods.items()
    if isinstance(need, Permission)
])
def test_a_role_without_grants_is_refused_with_the_mapped_permission(sim, method, path, need):
    with sim.client_as("nobody", "No grants") as c:
        r = c.request(method, path, json={})
    assert r.status_code == 403, r.text
    assert f"needs {need} at My or All" in r.json()["message"]
    hint = error_for_response(method, path, r.status_code, r.json())
    assert isinstance(hint, Forbidden) and f"lacks {need}" in str(hint)


def test_granting_exactly_the_mapped_cell_opens_the_endpoint(sim):
    tokens = load_api_permissions().permission("POST", "/system/members/x/tokens")
    grant = {"module": tokens.module, "function": tokens.function, tokens.level: "My"}
    with sim.client_as("impersonator", "Impersonator", grant) as c:
        assert c.post("/system/members/cwadmin/tokens").status_code == 201
        assert c.post("/system/members/1/deactivate").status_code == 403  # Edit is another cell


def test_always_endpoints_need_no_grant(sim):
    with sim.client_as("self", "Self only") as c:
        for e in API_ENDPOINTS:
            if e.methods.get("GET") == "always":
                assert c.get(e.path).status_code == 200, e.path
