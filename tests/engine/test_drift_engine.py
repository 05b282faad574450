"""`cwroles drift` under the real engine: its verdict equals `pulumi preview --refresh --expect-no-changes`.

Stacks of the repository's own program (a throw-away project, file backend, one emulator holding several
companies) in each state the issue names: clean; drifted (a level changed in the emulator console; an API
member deactivated); code changed since the last `up`; a first `up` stopped at the checklist; configured
for another tenant than the one its resources live in; destroyed; and a tenant that stopped answering. For each, `pulumi preview --refresh --expect-no-changes` and the
sweep (the installed `cwroles drift` console script, as a user runs it) are compared: both clean, both
"changes", or both errors.

Also here: the pull-request workflow of docs/drift.md (the policy pack and its report), its commands
taken from the doc and run against the emulator (the nightly workflow needs no engine:
tests/commands/test_drift_workflows.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pulumi import automation as auto

from cwroles.cwsim.testing import running_server
from cwroles.stacks import plan_from_config

from .harness import Project, pulumi_bin_dir

pytestmark = pytest.mark.engine

CWROLES = str(Path(sys.prefix) / "bin" / "cwroles")


def _tenant(sim, company_id: str) -> dict:
    c = sim.create_company(company_id)
    return {"connectwise:site": sim.url, "connectwise:companyId": company_id, "connectwise:clientId": c["clientId"],
            "connectwise:publicKey": c["publicKey"],
            "connectwise:privateKey": auto.ConfigValue(c["privateKey"], secret=True), "connectwise:maxRetries": "0"}


def _apply_code_levels(sim, company_id: str, integration: str, features=()) -> None:
    """The admin sets what the code asks, in the console (what the checklist says)."""
    plan = plan_from_config({"integration": integration, "features": list(features)})
    cells = [{k: v for k, v in g.items() if k in ("module", "function", "add", "edit", "delete", "inquire")}
             for g in plan.permissions_args["grants"]]
    role = plan.role_args["name"]
    with sim.admin() as c:
        c.post(f"/console/api/{company_id}/roles/{role}/settings", json={"settings": cells}).raise_for_status()
        for fn, allow in plan.permissions_args["customize"].items():
            c.put(f"/console/api/{company_id}/roles/{role}/customize", json={"function": fn, "allow": allow}).raise_for_status()


def _set(sim, company_id: str, role: str, **cell) -> None:
    with sim.admin() as c:
        c.post(f"/console/api/{company_id}/roles/{role}/settings", json={"settings": [cell]}).raise_for_status()


def _preview(project: Project, stack: str) -> str:
    """`pulumi preview --refresh --expect-no-changes` as one of: clean, changes, error."""
    r = project.cli("preview", "--refresh", "--expect-no-changes", stack=stack)
    if r.returncode == 0:
        return "clean"
    return "changes" if "no changes were expected" in (r.stdout + r.stderr) else "error"


def _sweep(project: Project, *stacks: str) -> dict[str, dict]:
    out = project.root / "drift.json"
    args = [CWROLES, "drift", "--json", str(out), "--quiet"] + [a for s in stacks for a in ("--stack", s)]
    r = subprocess.run(args, cwd=project.root, env={**os.environ, **project.env}, capture_output=True, text=True)
    doc = json.loads(out.read_text())
    assert r.returncode == doc["summary"]["exit_code"], r.stdout + r.stderr
    return {s["stack"]: s for s in doc["stacks"]}


def _class(verdict: str) -> str:
    return {"clean": "clean", "drift": "changes", "not_converged": "changes", "error": "error"}[verdict]


def _same(project: Project, stack: str, expected_verdict: str) -> dict:
    preview = _preview(project, stack)
    result = _sweep(project, stack)[stack]
    assert (result["verdict"], _class(result["verdict"])) == (expected_verdict, preview), (preview, result)
    return result


def test_the_sweep_agrees_with_preview_refresh(tmp_path):
    pulumi_bin_dir()
    with running_server(db_path=tmp_path / "a.sqlite") as sim, running_server(db_path=tmp_path / "b.sqlite") as gone:
        project = Project.repo_program(tmp_path / "proj")
        acme = _tenant(sim, "acme")
        stack = project.stack("acme-msp-process", {**acme, "cwroles:integration": "msp-process"})
        with pytest.raises(auto.errors.CommandError):
            stack.up()  # the first up stops at the checklist
        result = _same(project, "acme-msp-process", "not_converged")
        assert {c["cause"] for c in result["changes"]} == {"pending"}

        _apply_code_levels(sim, "acme", "msp-process")
        stack.up()
        _same(project, "acme-msp-process", "clean")

        _set(sim, "acme", "MSP Process", module="System", function="Member Maintenance", edit="All")
        result = _same(project, "acme-msp-process", "drift")
        assert [(c["where"], c["was"], c["now"], c["code"]) for c in result["changes"]] == [
            ("System › Member Maintenance › Edit", "None", "All", "None")]
        _set(sim, "acme", "MSP Process", module="System", function="Member Maintenance", edit="None")
        _same(project, "acme-msp-process", "clean")

        member_id = int(stack.outputs()["api_member_id"].value)
        with sim.client(acme["connectwise:publicKey"], acme["connectwise:privateKey"].value, "acme") as c:
            c.post(f"/system/members/{member_id}/deactivate", json={}).raise_for_status()
        result = _same(project, "acme-msp-process", "drift")
        assert [c["where"] for c in result["changes"]] == ["API member 'MSPProcess' › inactive"]
        with sim.client(acme["connectwise:publicKey"], acme["connectwise:privateKey"].value, "acme") as c:
            c.patch(f"/system/apiMembers/{member_id}",
                    json=[{"op": "replace", "path": "inactiveFlag", "value": False}]).raise_for_status()
        _same(project, "acme-msp-process", "clean")

        stack.set_config("cwroles:features", auto.ConfigValue(json.dumps(["time-entries"])))
        result = _same(project, "acme-msp-process", "not_converged")
        assert {c["cause"] for c in result["changes"]} == {"code"}
        stack.remove_config("cwroles:features")

        # a backend cwroles cannot read directly: stack list, state and secrets through the CLI, same verdicts
        from cwroles.stacks.drift import sweep
        from cwroles.stacks.state import Workspace

        ws = Workspace(project.root, environ={**os.environ, **project.env}, read_files=False)
        assert ws.file_backend is None and ws.stacks() == ["acme-msp-process"]
        [via_cli] = sweep(ws, ["acme-msp-process"])
        assert (via_cli.verdict.value, via_cli.findings) == ("clean", [])
        assert ws._cli_config("acme-msp-process", "Pulumi.acme-msp-process.yaml").get("connectwise:privateKey") == \
            acme["connectwise:privateKey"].value  # what a KMS or service secrets provider goes through

        # configured for another tenant than the one the resources live in: both stop, neither reads
        globex = _tenant(sim, "globex")
        stack.set_all_config({k: v if isinstance(v, auto.ConfigValue) else auto.ConfigValue(v) for k, v in globex.items()})
        result = _same(project, "acme-msp-process", "error")
        assert "wrong tenant" in result["summary"] and "'acme'" in result["summary"]
        stack.set_all_config({k: v if isinstance(v, auto.ConfigValue) else auto.ConfigValue(v) for k, v in acme.items()})
        _same(project, "acme-msp-process", "clean")

        stack.destroy()
        result = _same(project, "acme-msp-process", "not_converged")
        assert "no resources" in result["changes"][0]["message"]

        # a tenant that stops answering: both fail, neither says clean nor changes
        other = project.stack("beta-mobius", {**_tenant(gone, "beta"), "cwroles:integration": "mobius"})
        with pytest.raises(auto.errors.CommandError):
            other.up()
    result = _same(project, "beta-mobius", "error")
    assert "unreachable" in result["summary"]


def test_the_pull_request_workflow_runs_the_pack_and_posts_its_report(tmp_path):
    """docs/drift.md's policy workflow, its `run:` steps as written, on a copy of the project and the emulator."""
    from cwroles.cwsim.testing import free_port
    from tests.drift_workflows import fake_gh, run_job, workflow

    repo = Path(__file__).resolve().parents[2]
    root = tmp_path / "repo"
    root.mkdir()
    for f in [repo / "Pulumi.yaml", repo / "__main__.py", *repo.glob("Pulumi.*.yaml")]:
        (root / f.name).write_text(f.read_text())
    import shutil

    shutil.copytree(repo / "policies", root / "policies", ignore=shutil.ignore_patterns("__pycache__", ".venv", "*.pyc"))
    (root / ".venv").symlink_to(Path(sys.prefix))
    gh_bin = tmp_path / "bin"
    fake_gh(gh_bin)
    port = free_port()
    db = root / ".cwsim" / "tenant.sqlite"
    db.parent.mkdir()
    emulator = subprocess.Popen([sys.executable, "-m", "cwroles.cwsim.cli", "serve", "--port", str(port), "--db", str(db)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wf = workflow("policy")
        [job] = wf["jobs"].values()
        stack = job["strategy"]["matrix"]["stack"][1]
        assert stack == "mobius"  # the one with vendor waivers: the report lists them
        env = {"PATH": os.pathsep.join([str(gh_bin), str(pulumi_bin_dir()), str(Path(sys.prefix) / "bin"),
                                        os.environ["PATH"]]),
               "HOME": str(tmp_path / "home"), "PULUMI_HOME": str(tmp_path / "pulumi-home"),
               "PULUMI_SKIP_UPDATE_CHECK": "true", "CWROLES_EMULATOR_PORT": str(port),
               "CWROLES_POLICY_TODAY": "2026-06-15"}  # the Mobius waivers stay valid whatever the date
        values = {"github.workspace": str(root), "matrix.stack": stack, "github.token": "t",
                  "github.event.pull_request.number": "7"}
        steps = run_job(job, root, env, values, skip=lambda s: s.get("run", "").strip().startswith("make setup"))
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
    by_name = {s.name: s for s in steps}
    assert by_name["preview with the policy pack"].returncode == 0, by_name["preview with the policy pack"].stderr
    assert by_name["report"].returncode == 0, by_name["report"].stderr
    report = (root / "report.md").read_text()
    assert "Waived exceptions" in report  # Mobius passes; its vendor waivers are listed for the reviewer
    assert (root / ".github-step-summary").read_text().strip() == report.strip()
    assert (root / "gh-comment.md").read_text() == report
    assert (root / "gh-args.txt").read_text().split() == ["pr", "comment", "7", "--body-file", "report.md"]
    [sarif] = [s for s in steps if s.uses and "upload-sarif" in s.uses]
    assert json.loads((root / sarif.with_["sarif_file"]).read_text())["version"] == "2.1.0"
    assert steps[-1].name == "fail on mandatory violations" and steps[-1].returncode == 0
