"""A user's own integration under the real engine: a manifest in the project (not the package), the
repository's stack program, the emulator over HTTP and `pulumi preview --policy-pack policies`.

One scenario, as an MSP would live it: the first `up` prints the checklist; after the admin applies it,
`up` is green and the pack passes (the role equals the manifest); a grant added in stack config fails
the pack naming the stack file; widening the manifest itself is reported as a change to the vendor
requirement, naming the manifest. The stack file holds an unquoted waiver date (issue: dates quoted or not).
"""

from __future__ import annotations

import re
import textwrap

import pytest
import yaml
from pulumi import automation as auto

from cwroles.cwsim.console_client import apply_checklist

from .conftest import tenant_config
from .harness import REPO, Project, outputs

pytestmark = pytest.mark.engine

PACK = str(REPO / "policies")
STACK = "acme"
MANIFEST = textwrap.dedent("""\
    # Acme RMM, transcribed from its (illustrative) ConnectWise setup page.
    integration: acme-rmm
    title: Acme RMM
    vendor_page: https://example.com/acme/connectwise
    role:
      name: Acme RMM
    api_member:
      identifier: AcmeRMM
      name: Acme RMM
    features:
    - name: ticket-cleanup
      description: Only if Acme removes the tickets it opened for resolved alerts
    grants:
    - {module: Company module, function: Company Maintenance, inquire: All, reason: Maps devices to companies, source: page › 1}
    - {module: Companies, function: Configurations, add: All, edit: All, inquire: All, reason: Syncs devices, source: page › 2}
    - {module: Service Desk, function: Service Tickets, add: All, edit: All, inquire: All, reason: Opens alert tickets, source: page › 3}
    - {module: Service Desk, function: Service Tickets, delete: All, feature: ticket-cleanup, reason: Removes resolved alert tickets, source: page › 3*}
    - {module: System, function: Table Setup, inquire: All, reason: Reads the boards below, source: page › 4}
    customize:
    - {function: System › Table Setup, items: [Service / Service Board], reason: The boards it opens tickets on, source: page › 4}
    """)
# Written as a user writes the stack file: structured YAML, the waiver date unquoted.
STACK_CONFIG = {
    "cwroles:integration": "acme-rmm",
    "cwroles:features": ["ticket-cleanup"],
    "cwroles:waivers": [{"module": "Service Desk", "function": "Service Tickets", "level": "delete",
                         "justification": "Acme removes the alert tickets it opened (CHG-7)",
                         "approved_by": "ciso@msp.example", "expires": "UNQUOTED-DATE"}],
}
_HEAD = re.compile(r"^\s+- \[(mandatory|advisory|disabled)\] \[severity: \w+\]\s+(\S+)\s+\((\S+): (.+)\)$")


def _write_stack_file(project: Project, config: dict) -> None:
    path = project.root / f"Pulumi.{STACK}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    kept = {k: v for k, v in (doc.get("config") or {}).items() if not k.startswith("cwroles:")}
    doc["config"] = {**kept, **config}
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    path.write_text(text.replace("'UNQUOTED-DATE'", "2027-06-30").replace("UNQUOTED-DATE", "2027-06-30"),
                    encoding="utf-8")
    assert "expires: 2027-06-30\n" in path.read_text()  # unquoted: YAML reads it as a date


def _policies(text: str) -> list[tuple[str, str, str]]:
    """(level, policy, message) of each result in the CLI's Policies section."""
    lines = text.splitlines()
    return [(m[1], m[2], lines[i + 2].strip()) for i, line in enumerate(lines) if (m := _HEAD.match(line))]


def _preview(stack: auto.Stack) -> tuple[bool, str, list[tuple[str, str, str]]]:
    out: list[str] = []
    try:
        stack.preview(policy_packs=[PACK], on_output=out.append, color="never")
        ok = True
    except auto.errors.CommandError as e:
        ok = False
        assert "Traceback" not in str(e), str(e)
    text = "\n".join(out)
    assert "cwroles@v0.1.0 (local: " in text, text
    return ok, text, _policies(text)


def test_own_manifest_checklist_green_pack_and_widening(sim, tmp_path):
    project = Project.create(tmp_path / "acme", (REPO / "__main__.py").read_text(), name="acme")
    project.env["CWROLES_POLICY_TODAY"] = "2026-06-15"
    (project.root / "integrations").mkdir()
    manifest = project.root / "integrations" / "acme-rmm.yaml"
    manifest.write_text(MANIFEST, encoding="utf-8")
    stack = project.stack(STACK, tenant_config(sim))
    _write_stack_file(project, STACK_CONFIG)

    # A new integration in a pull request: the pack passes and lists the manifest for review.
    ok, text, results = _preview(stack)
    assert ok, text
    assert [r for r in results if r[0] == "mandatory"] == []
    assert ("advisory", "cwroles-vendor-requirement",
            "role “Acme RMM” is new: its 4 grants come from the vendor requirement in integrations/acme-rmm.yaml. "
            "Review that file against the vendor page (https://example.com/acme/connectwise) in this pull request."
            ) in results
    # the Delete is privileged: accepted by the stack file's waiver, whose date is unquoted
    assert any(p == "cwroles-waived-grants" and m.startswith("WAIVED Service Desk › Service Tickets › Delete = All")
               and "expires 2027-06-30; stack config cwroles:waivers" in m for _, p, m in results), results

    # First up: role and member are created, then the checklist (ConnectWise's API cannot write levels).
    with pytest.raises(auto.errors.CommandError) as first:
        stack.up()
    message = str(first.value)
    assert "Security role 'Acme RMM'" in message and "does not match the code" in message
    for cell in ("Companies › Company Maintenance › Inquire: set All (now None)",
                 "Service Desk › Service Tickets › Delete: set All (now None)",
                 "Companies › Configurations › Edit: set All (now None)"):
        assert cell in message, message
    [checklist] = list((project.root / ".cwroles" / "checklists").rglob("*.md"))
    applied = apply_checklist(sim.console_api, "Acme RMM", checklist.read_text())
    assert applied.levels == 9 and applied.moves == 1

    up = stack.up()
    assert up.summary.result == "succeeded"
    assert outputs(stack)["pending"] == [] and outputs(stack)["integration"] == "acme-rmm"

    # The role equals the manifest: the pack passes with nothing to review but the waiver.
    ok, text, results = _preview(stack)
    assert ok, text
    assert [(lv, p) for lv, p, _ in results if p != "cwroles-waived-grants"] == []

    # An MSP addition in stack config fails, naming the stack file.
    _write_stack_file(project, {**STACK_CONFIG, "cwroles:extraGrants": [
        {"module": "Companies", "function": "Contacts", "edit": "All"}]})
    ok, text, results = _preview(stack)
    assert not ok
    mandatory = [(p, m) for lv, p, m in results if lv == "mandatory"]
    assert mandatory == [("cwroles-least-privilege",
                          "Companies › Contacts › Edit = All: Acme RMM's published requirement does not list "
                          "Companies › Contacts at all (ceiling: None). It is an MSP addition in Pulumi.acme.yaml › "
                          "cwroles:extraGrants[0]: remove it there, waive it, or, if Acme RMM now asks for it, widen "
                          "the vendor requirement in integrations/acme-rmm.yaml in the same pull request (cite the "
                          "vendor page).")]
    assert not any(p == "cwroles-vendor-requirement" for _, p, _ in results)  # an MSP addition, not the vendor's

    # Widening the manifest is a change to the vendor requirement: it passes, reported naming the manifest.
    _write_stack_file(project, STACK_CONFIG)
    manifest.write_text(MANIFEST.replace(
        "- {module: System, function: Table Setup",
        "- {module: Companies, function: Contacts, inquire: All, reason: Reads contacts, source: page › 5}\n"
        "- {module: System, function: Table Setup"), encoding="utf-8")
    ok, text, results = _preview(stack)
    assert ok, text
    assert [r for r in results if r[0] == "mandatory"] == []
    assert ("advisory", "cwroles-vendor-requirement",
            "role “Acme RMM” is widened by a change to the vendor requirement in integrations/acme-rmm.yaml: "
            "Companies › Contacts › Inquire: None → All. Check the change against the vendor page "
            "(https://example.com/acme/connectwise) in this pull request.") in results


def test_a_broken_own_manifest_stops_preview_naming_file_line_and_field(sim, tmp_path):
    project = Project.create(tmp_path / "acme", (REPO / "__main__.py").read_text(), name="acme")
    (project.root / "integrations").mkdir()
    (project.root / "integrations" / "acme-rmm.yaml").write_text(
        MANIFEST.replace("function: Configurations", "function: Configuration Types"), encoding="utf-8")
    stack = project.stack(STACK, {**tenant_config(sim), "cwroles:integration": "acme-rmm"})
    with pytest.raises(auto.errors.CommandError) as e:
        stack.preview()
    text = str(e.value)
    assert "Traceback" not in text
    assert ("integrations/acme-rmm.yaml:15 grants[1]: Companies › 'Configuration Types' is not a security-role "
            "function but a Table Setup list; grant System › Table Setup (Inquire) and allow “Company / "
            "Configuration” in customize “System › Table Setup”") in " ".join(text.split())
