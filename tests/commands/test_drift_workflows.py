"""The nightly drift workflow of docs/drift.md, its `run:` steps taken from the page and run against the emulator
(the pull-request workflow needs the engine: tests/engine/test_drift_engine.py)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from cwroles.cwsim.testing import running_server
from drift_fixtures import FakeProject, set_levels, tenant
from tests.drift_workflows import DOC, run_job, workflow

VENV_BIN = Path(sys.prefix) / "bin"


@pytest.fixture
def sim(tmp_path):
    with running_server(db_path=tmp_path / "cwsim.sqlite") as server:
        yield server


def test_the_nightly_workflow_sweeps_uploads_its_reports_and_fails_on_drift(sim, tmp_path, monkeypatch):
    for k in ("SITE", "COMPANY_ID", "CLIENT_ID", "PUBLIC_KEY", "PRIVATE_KEY"):
        monkeypatch.delenv(f"CONNECTWISE_{k}", raising=False)
    monkeypatch.chdir(tmp_path)
    project = FakeProject(tmp_path / "repo")
    acme, beta = tenant(sim, "acme"), tenant(sim, "beta")
    project.deploy("acme-mobius", acme, "mobius", sim=sim)
    project.deploy("beta-msp-process", beta, "msp-process", sim=sim)
    set_levels(sim, "beta", "MSP Process", {"module": "System", "function": "Member Maintenance", "edit": "All"})

    wf = workflow("drift")
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"][0]["cron"]  # nightly
    [job] = wf["jobs"].values()
    values = {"secrets.PULUMI_BACKEND_URL": project.env["PULUMI_BACKEND_URL"],
              "secrets.PULUMI_CONFIG_PASSPHRASE": project.env["PULUMI_CONFIG_PASSPHRASE"], "github.run_id": "42"}
    env = {"PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path / "home"),
           "PULUMI_HOME": project.env["PULUMI_HOME"]}
    steps = run_job(job, project.root, env, values, skip=lambda s: s.get("run", "").strip().startswith("make setup"))

    by_name = {s.name: s for s in steps}
    sweep = by_name["sweep every stack"]
    assert sweep.returncode == 0, sweep.stderr  # `set +e`: the reports are written whatever the verdict
    assert "[1/2]" in sweep.stderr and "[2/2]" in sweep.stderr  # a progress line per stack in the job log
    summary = (project.root / ".github-step-summary").read_text()
    assert "`beta-msp-process`" in summary and "drift" in summary
    doc = json.loads((project.root / "drift.json").read_text())
    assert doc["summary"]["drift"] == 1 and doc["summary"]["clean"] == 1
    uploads = [s for s in steps if s.uses and s.uses.startswith("actions/upload-artifact")]
    assert uploads and uploads[0].with_["name"] == "drift-42"
    for path in uploads[0].with_["path"].split():
        assert (project.root / path).exists(), f"the artifact names {path}, which the sweep did not write"
    assert list((project.root / ".cwroles" / "drift").glob("beta@*.md"))
    [sarif] = [s for s in steps if s.uses and "upload-sarif" in s.uses]
    assert json.loads((project.root / sarif.with_["sarif_file"]).read_text())["version"] == "2.1.0"
    last = steps[-1]
    assert last.name.startswith("fail on") and last.returncode == 2  # the job fails: drift reaches someone


def test_the_pull_request_workflow_is_the_one_docs_policies_gives():
    assert workflow("policy") == workflow("policy", DOC.parent / "policies.md")
