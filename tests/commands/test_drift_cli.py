"""`cwroles drift` as a user runs it: stacks chosen, progress per stack, exit codes, checklists, report files;
and `cwroles stack-config` giving new stacks the project's encryptionsalt."""

from __future__ import annotations

import json
import os
import re

import pytest
import yaml
from typer.testing import CliRunner

from cwroles.commands import app
from cwroles.cwsim.testing import free_port, running_server
from drift_fixtures import FakeProject, isolated_project, set_levels, tenant

runner = CliRunner()


@pytest.fixture
def sim(tmp_path):
    with running_server(db_path=tmp_path / "cwsim.sqlite") as server:
        yield server


@pytest.fixture
def project(tmp_path, monkeypatch):
    return isolated_project(tmp_path, monkeypatch, export_env=True)


def drift(project, *args):
    return runner.invoke(app, ["drift", "--dir", str(project.root), *args])


def test_exit_codes_progress_and_the_table(sim, project):
    acme = tenant(sim, "acme")
    project.deploy("acme-mobius", acme, "mobius", sim=sim)
    project.deploy("acme-msp-process", acme, "msp-process", sim=sim)
    r = drift(project)
    assert r.exit_code == 0, r.output
    progress = [line for line in r.stderr.splitlines() if re.match(r"\[\d/2\] ", line)]
    assert len(progress) == 2 and all(": clean — ConnectWise matches the code" in line for line in progress)
    assert "2 stacks: 2 clean" in r.stdout
    set_levels(sim, "acme", "Mobius", {"module": "Finance", "function": "Invoicing", "inquire": "None"})
    r = drift(project, "--all")
    assert r.exit_code == 2, r.output
    assert "Finance › Invoicing › Inquire: All → None (code: All) [changed in ConnectWise]" in r.stdout
    r = drift(project, "--stack", "acme-msp-process")
    assert r.exit_code == 0 and "1 stack: 1 clean" in r.stdout
    project.set_config("acme-msp-process", "connectwise:site", f"http://127.0.0.1:{free_port()}")
    r = drift(project)
    assert r.exit_code == 1, r.output  # an error wins over drift
    assert "wrong tenant" in r.stdout  # the state records the tenant each resource lives in


def test_bad_choices_exit_1_with_what_to_do(sim, project):
    project.deploy("acme-mobius", tenant(sim, "acme"), "mobius", sim=sim)
    r = drift(project, "--stack", "nope")
    assert r.exit_code == 1 and "no stack 'nope'" in r.stderr and "acme-mobius" in r.stderr
    r = drift(project, "--stack", "acme-mobius", "--all")
    assert r.exit_code == 1 and "either --stack" in r.stderr
    empty = FakeProject(project.root.parent / "empty")
    r = runner.invoke(app, ["drift", "--dir", str(empty.root)], env=empty.env)
    assert r.exit_code == 1 and "has no stacks" in r.stderr
    r = runner.invoke(app, ["drift", "--dir", str(project.root.parent / "nowhere")])
    assert r.exit_code == 1 and "Pulumi.yaml" in r.stderr


def test_checklist_per_tenant_is_written_then_removed_when_clean(sim, project, tmp_path):
    acme, beta = tenant(sim, "acme"), tenant(sim, "beta")
    project.deploy("acme-mobius", acme, "mobius", sim=sim)
    project.deploy("acme-msp-process", acme, "msp-process", sim=sim)
    project.deploy("beta-mobius", beta, "mobius", sim=sim)
    set_levels(sim, "acme", "Mobius", {"module": "Finance", "function": "Invoicing", "inquire": "None"})
    set_levels(sim, "acme", "MSP Process", {"module": "System", "function": "Member Maintenance", "edit": "All"})
    folder = tmp_path / "lists"
    r = drift(project, "--checklists", str(folder))
    assert r.exit_code == 2
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 1 and files[0].startswith("acme@127.0.0.1")
    text = (folder / files[0]).read_text()
    assert "Stack `acme-mobius`" in text and "Stack `acme-msp-process`" in text
    assert "- [ ] Invoicing: Inquire → **All** (now None)" in text
    assert "- [ ] Member Maintenance: Edit → **None** (now All)" in text
    assert f"{folder / files[0]}" in r.stdout.replace("\n", "")
    set_levels(sim, "acme", "Mobius", {"module": "Finance", "function": "Invoicing", "inquire": "All"})
    set_levels(sim, "acme", "MSP Process", {"module": "System", "function": "Member Maintenance", "edit": "None"})
    assert drift(project, "--checklists", str(folder)).exit_code == 0
    assert list(folder.iterdir()) == []  # a stale checklist would mislead


def test_reports_are_written_in_every_format(sim, project, tmp_path):
    acme = tenant(sim, "acme")
    project.deploy("acme-mobius", acme, "mobius", sim=sim)
    project.deploy("acme-msp-process", acme, "msp-process", sim=sim)
    set_levels(sim, "acme", "Mobius", {"module": "Finance", "function": "Invoicing", "inquire": "None"})
    out = tmp_path / "out"
    r = drift(project, "--markdown", str(out / "d.md"), "--json", str(out / "d.json"), "--sarif", str(out / "d.sarif"),
              "--html", str(out / "d.html"))
    assert r.exit_code == 2, r.output
    doc = json.loads((out / "d.json").read_text())
    assert (doc["schema"], doc["version"]) == ("cwroles-drift", 1)
    assert doc["summary"] == {"stacks": 2, "clean": 1, "not_converged": 0, "drift": 1, "error": 0, "exit_code": 2}
    mobius = next(s for s in doc["stacks"] if s["stack"] == "acme-mobius")
    assert mobius["verdict"] == "drift" and mobius["tenant"]["company_id"] == "acme"
    assert mobius["changes"] == [{"kind": "level", "cause": "drift", "where": "Finance › Invoicing › Inquire",
                                  "was": "All", "now": "None", "code": "All", "module": "Finance",
                                  "function": "Invoicing", "level": "inquire", "message": mobius["changes"][0]["message"]}]
    assert mobius["checklist"].startswith(".cwroles/drift/acme@")
    assert acme["connectwise:privateKey"] not in json.dumps(doc)
    md = (out / "d.md").read_text()
    assert "🔶" in md and "`acme-mobius`" in md and "Finance › Invoicing › Inquire" in md
    sarif = json.loads((out / "d.sarif").read_text())
    [run] = sarif["runs"]
    [res] = run["results"]
    assert res["ruleId"] == "drift/level" and res["level"] == "error"
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "Pulumi.acme-mobius.yaml"
    assert [r_["id"] for r_ in run["tool"]["driver"]["rules"]] == ["drift/level"]
    page = (out / "d.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "http" not in page.split("<body>")[0]
    assert page.index("Tenant: acme at 127.0.0.1") < page.index("Integration: MSP Process")


def test_stack_config_gives_new_stacks_the_projects_salt(tmp_path):
    salt_a, salt_b = "v1:AAAAAAAAAAA=:v1:x:y", "v1:BBBBBBBBBBB=:v1:x:y"
    (tmp_path / "Pulumi.acme-mobius.yaml").write_text(f"encryptionsalt: {salt_a}\nconfig: {{}}\n")
    (tmp_path / "Pulumi.beta-mobius.yaml").write_text(f"encryptionsalt: {salt_b}\nconfig: {{}}\n")
    (tmp_path / "Pulumi.beta-msp-process.yaml").write_text(f"encryptionsalt: {salt_b}\nconfig: {{}}\n")

    def make(t, integration):
        r = runner.invoke(app, ["stack-config", "--tenant", t, "--integration", integration, "--site",
                                "api-na.myconnectwise.net", "--company-id", t, "--dir", str(tmp_path)])
        assert r.exit_code == 0, r.output
        return yaml.safe_load((tmp_path / f"Pulumi.{t}-{integration}.yaml").read_text()), r.output

    doc, _ = make("gamma", "mobius")
    assert doc["encryptionsalt"] == salt_b  # what most stacks of the project use …
    doc, out = make("acme", "msp-process")
    assert doc["encryptionsalt"] == salt_a  # … unless the tenant has stacks of its own
    assert "encryptionsalt" in out and "passphrase" in out
    (tmp_path / "Pulumi.acme-msp-process.yaml").write_text("config:\n  cwroles:integration: msp-process\n")
    doc, _ = make("acme", "msp-process")
    assert "encryptionsalt" not in doc  # an existing stack file keeps what it has


def test_stack_config_without_other_stacks_writes_no_salt(tmp_path):
    r = runner.invoke(app, ["stack-config", "--tenant", "acme", "--integration", "mobius", "--site", "x.example",
                            "--company-id", "acme", "--dir", str(tmp_path)])
    assert r.exit_code == 0
    assert "encryptionsalt" not in yaml.safe_load((tmp_path / "Pulumi.acme-mobius.yaml").read_text())
    assert os.listdir(tmp_path) == ["Pulumi.acme-mobius.yaml"]
