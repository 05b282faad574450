"""Stacks created by earlier versions of cwroles keep working.

Before cwroles installed under one name, state pickled every provider as ``provider.<module>.<Class>`` (the old
top-level package); the dynamic-provider host resolves those names (provider/_dynamic_host.py). Before the
resources deferred their providers, state pickled ``cwroles.provider.<module>.<Class>``; those classes are
still there. Preview, refresh, up and destroy work on such stacks; each resource an `up` changes gets
today's form in the state (``cwroles.provider.resources``, a DeferredProvider). The project lives outside the
repository, as a user's own project does, so the repository's ``provider/`` folder is not importable by accident.
"""

from __future__ import annotations

import pytest
from pulumi import automation as auto

from tests.legacy_names import provider_module, to_legacy, to_previous

from .harness import resources
from .test_provider_engine import PROGRAM, _config, _role

pytestmark = pytest.mark.engine

TYPES = ("SecurityRole", "RolePermissions", "ApiMember")


def _provider_modules(stack, name: str | None = None) -> set[str]:
    """The module names of every ``__provider`` in the state (inputs and outputs), or of one resource's."""
    found = set()
    for r in stack.export_stack().deployment["resources"]:
        if name is not None and not r["urn"].endswith(f"::{name}"):
            continue
        for part in ("inputs", "outputs"):
            if "__provider" in (r.get(part) or {}):
                found.add(provider_module(r[part]["__provider"]))
    return found


def _make_legacy(stack, convert=to_legacy) -> None:
    deployment = stack.export_stack()
    for r in deployment.deployment["resources"]:
        for part in ("inputs", "outputs"):
            props = r.get(part) or {}
            if "__provider" in props and provider_module(props["__provider"]).startswith("cwroles."):
                props["__provider"] = convert(props["__provider"])
    stack.import_stack(deployment)


TODAY = {"cwroles.provider.resources"}
PREVIOUS = {f"cwroles.provider.{m}" for m in ("security_role", "role_permissions", "api_member")}


def test_stack_with_legacy_provider_names_previews_refreshes_updates_and_destroys(sim, make_project):
    project = make_project(PROGRAM)
    stack = project.stack("legacy", _config(sim, roleName="Legacy State", otherRoleName="Legacy Other",
                                            memberIdentifier="LegacySync", memberRole="other"))
    stack.up()
    assert _provider_modules(stack) == TODAY

    _make_legacy(stack, to_previous)
    assert _provider_modules(stack) == PREVIOUS
    assert stack.preview(expect_no_changes=True).change_summary == {"same": 5}
    stack.preview(refresh=True, expect_no_changes=True)
    assert _provider_modules(stack) == PREVIOUS

    _make_legacy(stack)
    assert _provider_modules(stack) == {"provider.security_role", "provider.role_permissions", "provider.api_member"}

    assert stack.preview(expect_no_changes=True).change_summary == {"same": 5}
    stack.preview(refresh=True, expect_no_changes=True)  # Read of every resource from its legacy pickle
    refresh = stack.refresh()
    assert refresh.summary.result == "succeeded"
    names = {r["outputs"]["name"] for r in resources(stack, "pulumi-python:dynamic/connectwise:SecurityRole")}
    assert names == {"Legacy State", "Legacy Other"}
    assert _provider_modules(stack) == {"provider.security_role", "provider.role_permissions", "provider.api_member"}

    # A real change: renaming the role replaces it and its grid; the old ones are deleted from their legacy pickles.
    stack.set_config("test:roleName", auto.ConfigValue("Legacy State 2"))
    up = stack.up()
    assert up.summary.resource_changes.get("replace") == 2
    assert _role(sim, "Legacy State") is None and _role(sim, "Legacy State 2") is not None
    # The replaced resources carry the new names; the others get them in their inputs, keep the legacy ones in
    # their outputs, and keep working.
    assert _provider_modules(stack, "role") == TODAY
    assert _provider_modules(stack, "perms") == TODAY
    assert _provider_modules(stack, "member") == TODAY | {"provider.api_member"}

    _make_legacy(stack)  # and destroy from legacy state (Delete is called with the state's pickle only)
    destroy = stack.destroy()
    assert destroy.summary.result == "succeeded"
    assert _role(sim, "Legacy State 2") is None and _role(sim, "Legacy Other") is None
    with sim.client() as c:
        member = c.get("/system/apiMembers", params={"conditions": 'identifier="LegacySync"'}).json()[0]
    assert member["inactiveFlag"] is True
