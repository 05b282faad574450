"""The plan cache and the provider's remembered verdicts under the real engine (docs/stacks.md "The plan cache",
docs/provider.md "What each operation loads"): a repeated preview is answered from them, and any change they
depend on (a manifest edited, the tenant changed, a level changed in ConnectWise before `up`) is seen as if
there were no cache at all."""

from __future__ import annotations

import json
import textwrap

import pytest
from pulumi import automation as auto

from cwroles.cwsim.console_client import apply_checklist

from .conftest import tenant_config
from .harness import REPO, Project

pytestmark = pytest.mark.engine

STACK = "dispatch"
MANIFEST = textwrap.dedent("""\
    integration: dispatch
    title: Dispatch
    vendor_page: https://example.com/dispatch
    role: {name: Dispatch}
    api_member: {identifier: dispatch, name: Dispatch}
    grants:
    - {module: Service Desk, function: Service Tickets, add: All, edit: All, inquire: All, reason: r, source: s}
    """)


def _changes(stack: auto.Stack, refresh: bool = False) -> dict:
    summary = stack.preview(color="never", refresh=refresh).change_summary
    return {k: v for k, v in summary.items() if k != "same"}


def _kept(cache, call: str) -> list:
    return [p for p in sorted((cache / "checks").iterdir()) if next(iter(json.loads(p.read_text()))) == call]


def test_repeated_previews_use_the_caches_and_every_change_is_still_seen(sim, tmp_path):
    project = Project.create(tmp_path / "dispatch", (REPO / "__main__.py").read_text(), name="dispatch")
    (project.root / "integrations").mkdir()
    manifest = project.root / "integrations" / "dispatch.yaml"
    manifest.write_text(MANIFEST, encoding="utf-8")
    cache = project.root / ".plan-cache"  # CWROLES_PLAN_CACHE of the sandbox project
    assert project.env["CWROLES_PLAN_CACHE"] == str(cache)
    stack = project.stack(STACK, {**tenant_config(sim), "cwroles:integration": "dispatch"})

    with pytest.raises(auto.errors.CommandError, match="does not match the code"):
        stack.up()
    [checklist] = list((project.root / ".cwroles" / "checklists").rglob("*.md"))
    apply_checklist(sim.console_api, "Dispatch", checklist.read_text())
    assert stack.up().summary.result == "succeeded"

    assert _changes(stack) == {}
    verdicts = sorted((cache / "checks").iterdir())
    kinds = [next(iter(json.loads(p.read_text()))) for p in verdicts]
    assert kinds.count("check") >= 3 and kinds.count("diff") == 3  # `up`'s diffs read ConnectWise: not kept
    assert kinds.count("read") == 0
    assert "Service Tickets" not in " ".join(p.read_text() for p in verdicts)  # verdicts only, no inputs
    assert len(list(cache.glob("*.json"))) == 1  # the stack's plan
    sim.reset_metrics()
    assert _changes(stack) == {} and sorted((cache / "checks").iterdir()) == verdicts  # answered from them
    assert sim.metrics()["total"] == 0

    # The manifest gains a level: the plan is built again and the grid's diff sees it.
    manifest.write_text(MANIFEST.replace("inquire: All,", "inquire: All, delete: All,"), encoding="utf-8")
    assert _changes(stack) == {"update": 1}
    manifest.write_text(MANIFEST, encoding="utf-8")
    assert _changes(stack) == {}

    # A refresh that finds nothing changed is remembered as "unchanged" (one entry per resource), and still
    # asks ConnectWise every time: codebase discovery, the role, its settings and the member.
    for _ in range(2):
        sim.reset_metrics()
        assert _changes(stack, refresh=True) == {}
        assert sim.metrics()["total"] == 4
    assert [json.loads(p.read_text()) for p in _kept(cache, "read")] == [{"read": "unchanged"}] * 3

    # A level changed in ConnectWise: a preview makes no request (as without the cache), `up` reads and fails.
    sim.set_levels("Dispatch", {"module": "Service Desk", "function": "Service Tickets", "edit": "None"})
    assert _changes(stack) == {}
    assert _changes(stack, refresh=True) == {"update": 1}  # the refresh reads the new grid: not from a cache
    with pytest.raises(auto.errors.CommandError) as failed:
        stack.up()
    assert "Service Desk › Service Tickets › Edit: set All (now None)" in str(failed.value)

    # Another tenant: the remembered verdicts are not this tenant's, and the guard stops the preview.
    stack.set_config("connectwise:companyId", auto.ConfigValue("othercompany"))
    with pytest.raises(auto.errors.CommandError) as moved:
        stack.preview(color="never")
    assert "othercompany" in str(moved.value) and "Traceback" not in str(moved.value)
    assert json.loads((cache / "checks" / verdicts[0].name).read_text())  # the old verdicts are still there
