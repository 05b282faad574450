"""`cwroles drift` on a stack whose manifest names a function and a Table Setup table the bundled catalog lacks
(`tenant_catalog`, as `cwroles export` writes it): judged like any other row, shown under its live name, never an
error; and an adopted stack whose state does not record its stack yet is no change (as the provider's diff)."""

from __future__ import annotations

import pytest

import drift_fixtures
from cwroles.cwsim.testing import running_server
from cwroles.stacks import plan_from_config
from cwroles.stacks.drift import Verdict, sweep
from cwroles.stacks.state import Workspace
from drift_fixtures import isolated_project, set_levels

from tests.commands.onboarding_helpers import EXTRAS, OWN_FUNCTION, OWN_TABLE

DISPATCH = f"""\
integration: dispatch
title: Dispatch
vendor_page: exported
role: {{name: Dispatch}}
api_member: {{identifier: dispatch, name: Dispatch}}
grants:
- {{module: Service Desk, function: Ticket Dispatch Rules, add: All, inquire: All, reason: r, source: s}}
- {{module: System, function: Table Setup, inquire: All, reason: r, source: s}}
customize:
- {{function: System › Table Setup, items: ['{OWN_TABLE}'], reason: r, source: s}}
tenant_catalog:
  functions: [{{module: Service Desk, function: Ticket Dispatch Rules}}]
  setup_tables: [{{category: Service, table: Dispatch Queue}}]
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    p = isolated_project(tmp_path, monkeypatch)
    (p.root / "integrations").mkdir()
    (p.root / "integrations" / "dispatch.yaml").write_text(DISPATCH)
    monkeypatch.setattr(drift_fixtures, "plan_from_config", lambda raw: plan_from_config(raw, root=p.root))
    return p


def test_a_function_the_catalog_lacks_is_judged_under_its_live_name(tmp_path, project):
    with running_server(db_path=tmp_path / "cwsim.sqlite") as sim:
        c = sim.create_company("acme", catalog=EXTRAS)
        acme = {"connectwise:site": sim.url, "connectwise:companyId": "acme", "connectwise:clientId": c["clientId"],
                "connectwise:publicKey": c["publicKey"], "connectwise:privateKey": c["privateKey"],
                "connectwise:maxRetries": "0"}
        project.deploy("acme-dispatch", acme, "dispatch", sim=sim)
        ws = Workspace(project.root, environ=project.env)
        [clean] = sweep(ws, ["acme-dispatch"], customize=True)
        assert clean.verdict is Verdict.CLEAN, [f.message for f in clean.findings] or clean.summary
        set_levels(sim, "acme", "Dispatch", {"module": "Service Desk", "function": "Ticket Dispatch Rules", "delete": "All"})
        [drifted] = sweep(ws, ["acme-dispatch"])
    assert drifted.verdict is Verdict.DRIFT
    [f] = drifted.findings
    assert (f.where, f.was, f.now, f.code) == (f"{OWN_FUNCTION} › Delete", "None", "All", "None")


def test_a_stack_the_state_does_not_record_is_no_change(tmp_path, project):
    with running_server(db_path=tmp_path / "cwsim.sqlite") as sim:
        project.deploy("acme-mobius", drift_fixtures.tenant(sim, "acme"), "mobius", sim=sim)
        resources = project.resources("acme-mobius")
        for r in resources:  # as an import (cwroles:adopt) leaves them: no stack recorded yet
            r["inputs"].pop("stack", None)
            r["outputs"].pop("stack", None)
        project.write_state("acme-mobius", resources)
        [result] = sweep(Workspace(project.root, environ=project.env), ["acme-mobius"])
    assert result.verdict is Verdict.CLEAN, [f.message for f in result.findings]
