"""The policy gate fails closed under the real engine (the pinned CLI): an error inside the pack is a mandatory
failure in the preview's exit code, its Policies section and `python -m cwroles.policies.report`.

The pack under test is the repository's own (policies/__main__.py, run as the engine runs it) with one
data mistake injected: the built-in Mobius manifest (the pack's ceiling) names a function that does not
exist, as a typo in a pull request would. Before the fix the preview exited 1 but showed "✅ cwroles", and the report said
"✅ No mandatory violations" and exited 0 with --fail-on-mandatory.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap

import pytest
from pulumi import automation as auto

from cwroles.cwsim.testing import running_server

from .conftest import tenant_config
from .harness import REPO, VENV, Project

pytestmark = pytest.mark.engine

STACK = "pr"
BROKEN_PACK_MAIN = """
    # policies/__main__.py with a misspelled function in the Mobius manifest (the pack's ceiling).
    import runpy
    import sys

    sys.path.insert(0, {repo!r})
    from cwroles.policies.rules import baseline
    from tests.policies.policy_helpers import misspelled_builtin_requirement

    baseline.builtin_requirement = misspelled_builtin_requirement(baseline.builtin_requirement)
    runpy.run_path({main!r}, run_name="__main__")
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with running_server(db_path=tmp_path_factory.mktemp("cwsim") / "cwsim.sqlite") as server:
        yield server


@pytest.fixture(scope="module")
def broken_pack(tmp_path_factory):
    pack = tmp_path_factory.mktemp("broken-pack")
    (pack / "PulumiPolicy.yaml").write_text(
        f"runtime:\n  name: python\n  options:\n    virtualenv: {VENV}\nversion: 0.1.0\n", encoding="utf-8")
    (pack / "__main__.py").write_text(textwrap.dedent(BROKEN_PACK_MAIN.format(repo=str(REPO), main=str(REPO / "policies" / "__main__.py"))),
                                      encoding="utf-8")
    return pack


@pytest.fixture(scope="module")
def project(tmp_path_factory, sim) -> Project:
    p = Project.create(tmp_path_factory.mktemp("policy-project") / "cwroles", (REPO / "__main__.py").read_text(),
                       name="cwroles")
    p = dataclasses.replace(p, env={**p.env, "CWROLES_POLICY_TODAY": "2027-11-22", "PULUMI_DEBUG_COMMANDS": "true"})
    s = p.stack(STACK)
    s.set_all_config({k: v if isinstance(v, auto.ConfigValue) else auto.ConfigValue(v)
                      for k, v in tenant_config(sim).items()})
    s.set_config("cwroles:integration", auto.ConfigValue("mobius"))
    return p


def _policies_section(stdout: str) -> str:
    return stdout[stdout.index("Policies:"):]


def _report(log, tmp_path) -> tuple[subprocess.CompletedProcess, str]:
    md = tmp_path / "report.md"
    rep = subprocess.run([sys.executable, "-m", "cwroles.policies.report", str(log), "--markdown", str(md),
                          "--sarif", str(tmp_path / "report.sarif"), "--fail-on-mandatory"],
                         cwd=REPO, capture_output=True, text=True)
    return rep, md.read_text(encoding="utf-8") if md.exists() else ""


def test_an_error_in_the_pack_data_fails_preview_policies_line_and_report(project, broken_pack, tmp_path):
    log = tmp_path / "events.jsonl"
    run = project.cli("preview", "--policy-pack", str(broken_pack), "--event-log", str(log), stack=STACK)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert "Traceback" not in out
    policies = _policies_section(run.stdout)
    assert "❌ cwroles@v0.1.0" in policies and "✅ cwroles" not in policies, policies
    assert "[mandatory] [severity: critical]  cwroles-pack-errors  " in policies
    assert "[mandatory] [severity: high]  cwroles-least-privilege  " in policies
    # every policy that reads the role (and its ceiling, the manifest) could not check it
    assert ("The pack could not check this resource, so it is not verified: cwroles-least-privilege, "
            "cwroles-privileged-functions, cwroles-table-setup-allowlist, cwroles-waived-grants, cwroles-broad-writes, "
            "cwroles-vendor-requirement (ValueError at ") in policies
    assert "unknown function Finance › 'Invoicing Typo'" in policies

    rep, md = _report(log, tmp_path)
    assert rep.returncode == 1, rep.stdout + rep.stderr
    assert "Traceback" not in rep.stderr
    assert "✅" not in md and "**❌ 7 mandatory violations** block this pull request" in md, md
    assert "- ❌ **mandatory** `cwroles-pack-errors`: The pack could not check this resource" in md
    # the advisory policy's error is counted as mandatory, never listed as a waived exception
    assert "- ❌ **mandatory** `cwroles-waived-grants`: policy-pack error:" in md
    assert "Waived exceptions" not in md


def test_an_error_fails_even_when_the_failing_policy_is_advisory(project, broken_pack, tmp_path):
    """policies/config/rollout.json makes cwroles-least-privilege advisory: the error still fails the preview
    through the mandatory cwroles-pack-errors."""
    log = tmp_path / "events.jsonl"
    run = project.cli("preview", "--policy-pack", str(broken_pack), "--policy-pack-config",
                      str(REPO / "policies" / "config" / "rollout.json"), "--event-log", str(log), stack=STACK)
    assert run.returncode != 0, run.stdout + run.stderr
    policies = _policies_section(run.stdout)
    assert "❌ cwroles@v0.1.0" in policies, policies
    assert "[advisory] [severity: high]  cwroles-least-privilege  " in policies
    assert "[mandatory] [severity: critical]  cwroles-pack-errors  " in policies
    rep, md = _report(log, tmp_path)
    assert rep.returncode == 1 and "**❌" in md, md
