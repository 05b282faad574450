"""The policy pack under the real engine: `pulumi preview --policy-pack policies` (the pinned CLI, Automation API)
on the real stack program against the emulator.

The vendor stacks pass (Mobius with its waivers as advisory lines); the over-broad variants in
tests/engine/fixtures/ fail naming every violation; Mobius' waivers expire (CWROLES_POLICY_TODAY reaches
the pack through the project environment); `python -m cwroles.policies.report` turns a real event log into Markdown
and SARIF. A preview of a stack without state creates nothing, so one emulator, one project and one stack
serve the whole module (each test rewrites the stack's cwroles:* config).

Runtime: ~6-7 s per preview, passing or failing (our language host kills a program the engine has given
up on at once, instead of leaving it to the engine's grace period).
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pulumi import automation as auto

from cwroles.cwsim.testing import running_server

from .conftest import tenant_config
from .harness import REPO, Project

pytestmark = pytest.mark.engine

FIXTURES = Path(__file__).parent / "fixtures"
PACK = str(REPO / "policies")
# "Today" for the pack, pinned through CWROLES_POLICY_TODAY: the Mobius vendor waivers expire 2027-11-22 and
# are still valid on that day.
LAST_VALID_DAY = "2027-11-22"
FIRST_EXPIRED_DAY = "2027-11-23"
VENDOR_STACKS = ("msp-process", "mobius", "managed-backup")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """One emulator for the module: previews only read (everything is a create), nothing is written."""
    with running_server(db_path=tmp_path_factory.mktemp("cwsim") / "cwsim.sqlite") as server:
        yield server


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    """A project whose program is the repository's own stack program (its __main__.py)."""
    root = tmp_path_factory.mktemp("policy-project")
    p = Project.create(root / "cwroles", (REPO / "__main__.py").read_text(), name="cwroles")
    p.env["CWROLES_POLICY_TODAY"] = LAST_VALID_DAY
    return p


def _with_env(project: Project, **env: str) -> Project:
    """The same project directory, run with more environment variables (the engine passes them to the pack)."""
    return dataclasses.replace(project, env={**project.env, **env})


STACK = "pr"


@pytest.fixture(scope="module")
def stack(project, sim) -> auto.Stack:
    """One stack, its tenant config (private key as a secret) set once through the CLI. A preview of a stack
    without state persists nothing, so each test only rewrites the stack's cwroles:* config."""
    s = project.stack(STACK)
    s.set_all_config({k: v if isinstance(v, auto.ConfigValue) else auto.ConfigValue(v)
                      for k, v in tenant_config(sim).items()})
    return s


def _configure(project: Project, config: dict) -> None:
    """Replace the cwroles:* config in Pulumi.<stack>.yaml with ``config``, as a user's stack file holds it
    (structured YAML, not JSON strings)."""
    path = project.root / f"Pulumi.{STACK}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    kept = {k: v for k, v in (doc.get("config") or {}).items() if not k.startswith("cwroles:")}
    doc["config"] = {**kept, **config}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _fixture(name: str) -> dict:
    return yaml.safe_load((FIXTURES / f"{name}.yaml").read_text(encoding="utf-8"))["config"]


@dataclasses.dataclass(frozen=True)
class Reported:
    level: str  # mandatory | advisory
    policy: str
    resource: str  # "RolePermissions: mobius-permissions"
    message: str  # the detail line (after the policy description)


_HEAD = re.compile(r"^\s+- \[(mandatory|advisory|disabled)\] \[severity: \w+\]\s+(\S+)\s+\((\S+): (.+)\)$")


def _policy_lines(text: str) -> list[Reported]:
    """The pack's results from the CLI's "Policies:" section (header, description, message per result)."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        m = _HEAD.match(line)
        if m:
            rtype = m[3].rsplit(":", 1)[-1]  # pulumi-python:dynamic/connectwise:RolePermissions → RolePermissions
            out.append(Reported(m[1], m[2], f"{rtype}: {m[4]}", lines[i + 2].strip()))
    return out


def _preview(stack: auto.Stack) -> tuple[bool, str, list[Reported]]:
    """(passed, CLI output, policy results) of `pulumi preview --policy-pack policies`."""
    lines: list[str] = []
    try:
        stack.preview(policy_packs=[PACK], on_output=lines.append, color="never")
        passed = True
    except auto.errors.CommandError as e:
        passed = False
        assert "Traceback" not in str(e), str(e)
    text = "\n".join(lines)
    assert "cwroles@v0.1.0 (local: " in text, text  # the pack ran
    return passed, text, _policy_lines(text)


def _mandatory(reported: list[Reported]) -> list[tuple[str, str]]:
    return sorted((r.policy, r.message) for r in reported if r.level == "mandatory")


# ---- the vendor stacks as published ------------------------------------------------------------------
@pytest.mark.parametrize("integration", VENDOR_STACKS)
def test_vendor_stack_with_default_features_passes(project, stack, integration):
    _configure(project, {"cwroles:integration": integration})
    passed, text, reported = _preview(stack)
    assert passed, text
    assert _mandatory(reported) == []
    waived = [r for r in reported if r.policy == "cwroles-waived-grants"]
    broad = [r for r in reported if r.policy == "cwroles-broad-writes"]  # the advisory tier (docs/policies.md)
    assert [r for r in reported if r not in waived and r not in broad] == []
    assert {r.level for r in broad} <= {"advisory"}
    assert sorted(r.message.split(":", 1)[0] for r in broad) == (
        ["Companies", "Service Desk"] if integration == "msp-process" else [])
    if integration != "mobius":
        assert waived == []
        return
    # Mobius' six privileged cells, all inside its baseline, accepted by the vendor waivers (valid on their
    # expiry day itself): advisory lines for the reviewer, not failures.
    assert {r.level for r in waived} == {"advisory"}
    assert {r.resource for r in waived} == {"RolePermissions: mobius-permissions"}
    assert sorted(r.message.split(" (", 1)[0] for r in waived) == [
        "WAIVED Finance › Accounting Interface › Delete = All",
        "WAIVED Finance › Invoicing › Delete = All",
        "WAIVED System › Custom Menu Entry › Add = All",
        "WAIVED System › Custom Menu Entry › Delete = All",
        "WAIVED System › Custom Menu Entry › Edit = All",
        "WAIVED System › Custom Menu Entry › Inquire = All",
    ]
    for r in waived:
        assert r.message.endswith("(approved by vendor:Mobius, expires 2027-11-22; grant waiver)."), r.message
    assert "Grants above policy that a valid waiver accepts (listed for the reviewer)." in text


def test_mobius_waivers_expired_the_day_after_fail(project, stack):
    _configure(project, {"cwroles:integration": "mobius"})
    later = _with_env(project, CWROLES_POLICY_TODAY=FIRST_EXPIRED_DAY).stack(STACK)  # same stack, other env
    passed, text, reported = _preview(later)
    assert not passed
    assert [r for r in reported if r.policy == "cwroles-waived-grants"] == []  # nothing is waived any more
    failures = _mandatory(reported)
    assert [p for p, _ in failures] == ["cwroles-privileged-functions"] * 6
    assert sorted(m.split(" is privileged", 1)[0] for _, m in failures) == [
        "Finance › Accounting Interface › Delete = All", "Finance › Invoicing › Delete = All",
        "System › Custom Menu Entry › Add = All", "System › Custom Menu Entry › Delete = All",
        "System › Custom Menu Entry › Edit = All", "System › Custom Menu Entry › Inquire = All"]
    for _, m in failures:
        assert (f"(approved by vendor:Mobius, expires 2027-11-22; grant waiver) expired on 2027-11-22 "
                f"(today is {FIRST_EXPIRED_DAY}); review the grant and renew the waiver with a new expiry date, "
                "or remove the grant.") in m, m


# ---- over-broad pull requests -------------------------------------------------------------------------
LP, PRIV = "cwroles-least-privilege", "cwroles-privileged-functions"
OVERBROAD = {
    "msp-process-overbroad": [
        (LP, "Companies › Configuration - Display Passwords › Inquire = All: MSP Process's published requirement "
             "does not list Companies › Configuration - Display Passwords at all (ceiling: None)."),
        (LP, "Service Desk › Service Tickets › Delete = All is above MSP Process's published requirement "
             "(Delete ceiling: None)."),
        (LP, "System › Member Maintenance › Edit = All is above MSP Process's published requirement "
             "(Edit ceiling: None)."),
        (PRIV, "Companies › Configuration - Display Passwords › Inquire = All is privileged (reveals passwords "
               "stored on configurations)."),
        (PRIV, "Service Desk › Service Tickets › Delete = All is privileged (Delete removes records for good "
               "(any function))."),
        (PRIV, "System › Member Maintenance › Edit = All is privileged (creates and edits members, including API "
               "members and their keys)."),
    ],
    "mobius-overbroad": [
        (LP, "Finance › Invoicing › Add = All is above Mobius's published requirement (Add ceiling: None)."),
        (LP, "Procurement › Products › Delete = All is above Mobius's published requirement (Delete ceiling: None)."),
        (PRIV, "Procurement › Products › Delete = All is privileged (Delete removes records for good (any function))."),
    ],
    "managed-backup-overbroad": [
        (LP, "Service Desk › Close Service Tickets › Add = All is above MSP360 Managed Backup's published "
             "requirement (Add ceiling: None)."),
        (LP, "System › Table Setup › Customize allows “Company / Country”, which is not on MSP360 Managed Backup's "
             "published allow-list."),
    ],
}
NEXT_STEP = {
    LP: ("in the same pull request",),
    PRIV: ("Grant it only with an explicit, time-limited waiver: add a waiver {justification, approved_by, expires: "
           "YYYY-MM-DD} to the grant or to stack config cwroles:waivers.",),
}


@pytest.mark.parametrize("fixture", sorted(OVERBROAD))
def test_overbroad_fixture_fails_naming_every_violation(project, stack, fixture):
    config = _fixture(fixture)
    integration = config["cwroles:integration"]
    _configure(project, config)
    passed, text, reported = _preview(stack)
    assert not passed, text
    failures = _mandatory(reported)
    expected = sorted(OVERBROAD[fixture])
    assert len(failures) == len(expected), "\n".join(f"{p}: {m}" for p, m in failures)
    for (policy, message), (want_policy, want_start) in zip(failures, expected):
        assert policy == want_policy and message.startswith(want_start), (policy, message)
        for fragment in NEXT_STEP[policy]:
            assert fragment in message, message
        if policy == LP:  # the vendor requirement is the manifest; an MSP addition names the stack file
            assert f"cwroles/data/integrations/{integration}.yaml" in message
            if "Customize" not in message:
                assert f"It is an MSP addition in Pulumi.{STACK}.yaml › cwroles:extraGrants[" in message
    for r in reported:
        if r.level == "mandatory":
            assert r.resource == f"RolePermissions: {integration}-permissions"
    assert "preview failed" in text
    if fixture == "mobius-overbroad":
        # Widening the vendor-waived Finance › Invoicing does not borrow the vendor's waiver for Add; the
        # vendor's own Delete stays waived (now a level-scoped stack waiver), like the other five cells.
        waived = sorted(r.message.split(" (", 1)[0] for r in reported if r.policy == "cwroles-waived-grants")
        assert len(waived) == 6 and "WAIVED Finance › Invoicing › Delete = All" in waived
        assert not any("Invoicing › Add" in w or "Products" in w for w in waived)
    else:
        assert [r for r in reported if r.level != "mandatory" and r.policy != "cwroles-broad-writes"] == []


# ---- the PR report from a real event log --------------------------------------------------------------
def test_report_from_a_real_event_log(project, stack, tmp_path):
    """`PULUMI_DEBUG_COMMANDS=true pulumi preview --policy-pack policies --event-log …` (docs/policies.md)
    → `python -m cwroles.policies.report` → Markdown naming the violations and SARIF 2.1.0."""
    _configure(project, _fixture("mobius-overbroad"))
    log, md, sarif = tmp_path / "events.jsonl", tmp_path / "report.md", tmp_path / "report.sarif"
    cli = _with_env(project, PULUMI_DEBUG_COMMANDS="true")
    run = cli.cli("preview", "--policy-pack", PACK, "--event-log", str(log), stack=STACK)
    assert run.returncode != 0, run.stdout + run.stderr  # the mandatory violations fail the preview
    assert "cwroles-least-privilege" in run.stdout  # the human output stays in the CI log
    assert log.stat().st_size > 0, run.stderr

    cmd = [sys.executable, "-m", "cwroles.policies.report", str(log), "--markdown", str(md), "--sarif", str(sarif),
           "--title", "cwroles policy report: mobius", "--fail-on-mandatory"]
    rep = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert rep.returncode == 1, rep.stdout + rep.stderr  # mandatory violations present
    assert "Traceback" not in rep.stderr

    text = md.read_text(encoding="utf-8")
    assert text.startswith("## cwroles policy report: mobius")
    assert "**❌ 3 mandatory violations** block this pull request · 0 advisory · 6 waived" in text
    assert "#### `RolePermissions mobius-permissions` — ❌ 3 mandatory" in text
    for policy, start in OVERBROAD["mobius-overbroad"]:
        assert f"- ❌ **mandatory** `{policy}`: {start}" in text
    waived_section = text[text.index("Waived exceptions"):]
    assert "Finance › Invoicing › Delete = All" in waived_section and "vendor:Mobius" in waived_section
    assert "2027-11-22" in waived_section
    assert "<{%" not in text and "\x1b[" not in text  # colour tags stripped

    doc = json.loads(sarif.read_text(encoding="utf-8"))
    assert doc["version"] == "2.1.0" and "sarif" in doc["$schema"]
    [run_] = doc["runs"]
    rules = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    assert sorted(rules) == ["cwroles-least-privilege", "cwroles-privileged-functions", "cwroles-waived-grants"]
    results = run_["results"]
    errors = sorted((r["ruleId"], r["message"]["text"]) for r in results if r["level"] == "error")
    assert [p for p, _ in errors] == [LP, LP, PRIV]
    for (_, msg), (_, start) in zip(errors, sorted(OVERBROAD["mobius-overbroad"])):
        assert msg.startswith(f"RolePermissions mobius-permissions: {start}"), msg
    notes = [r for r in results if r["level"] == "note"]
    assert len(notes) == 6 and all(r.get("suppressions") for r in notes)  # waived: externally suppressed
    for r in results:
        assert rules[r["ruleIndex"]] == r["ruleId"]
        [loc] = r["locations"]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == f"Pulumi.{STACK}.yaml"
        assert loc["logicalLocations"][0]["fullyQualifiedName"].endswith("RolePermissions::mobius-permissions")
        assert r["partialFingerprints"]
