"""docs/stacks.md "Add your own integration", run as written: the manifest transcribed from the MSP360 page,
`cwroles manifest validate`, the documented error, then the stack from the first checklist to green with
the policy pack passing, under the real engine against the emulator."""

from __future__ import annotations

import re
import textwrap

import pytest
import yaml
from pulumi import automation as auto
from typer.testing import CliRunner

from cwroles.commands import app
from cwroles.cwsim.console_client import apply_checklist
from cwroles.manifest import Integrations, load_manifest

from .conftest import tenant_config
from .harness import REPO, Project, outputs

pytestmark = pytest.mark.engine

DOC = (REPO / "docs" / "stacks.md").read_text(encoding="utf-8")
SECTION = DOC[DOC.index("## Add your own integration"):]


def _block(first_line: str) -> str:
    """The fenced block of the section whose first line is ``first_line`` (de-indented, without it)."""
    for m in re.finditer(r"^( *)```(\w*)\n(.*?)^\1```", SECTION, re.S | re.M):
        body = textwrap.dedent(m.group(3))
        if body.startswith(first_line + "\n"):
            return body
    raise AssertionError(f"no block starting with {first_line!r} in docs/stacks.md")


def _validate(root, *args):
    return CliRunner().invoke(app, ["manifest", "validate", "--dir", str(root), *args], env={"COLUMNS": "300"})


def test_the_documented_example_from_vendor_page_to_green(sim, tmp_path):
    manifest = _block("# integrations/msp360-backup.yaml")
    stack_file = yaml.safe_load(_block("# Pulumi.acme-backup.yaml"))
    project = Project.create(tmp_path / "msp", (REPO / "__main__.py").read_text(), name="msp")
    project.env["CWROLES_POLICY_TODAY"] = "2026-06-15"
    (project.root / "integrations").mkdir()
    path = project.root / "integrations" / "msp360-backup.yaml"
    path.write_text(manifest, encoding="utf-8")
    # the vendor page it cites is in the repository
    assert (REPO / yaml.safe_load(manifest)["vendor_page"]).is_file()

    # step 3: validate (exit 0), and the documented error is what validate prints
    r = _validate(project.root)
    assert r.exit_code == 0, r.output
    documented = re.search(r"`(integrations/msp360-backup\.yaml:\d+: error [^`]+)`", SECTION)[1]
    path.write_text(manifest.replace("function: Close Service Tickets, edit: All", "function: Close Service Tickets, edit: Full"))
    bad = _validate(project.root)
    assert bad.exit_code == 1 and documented in " ".join(bad.output.split()), bad.output
    path.write_text(manifest, encoding="utf-8")

    # the same page as the built-in managed-backup: the same requirement
    mine = Integrations.discover(project.root).get("msp360-backup").manifest.requirement()
    builtin = load_manifest("managed-backup").requirement()
    assert [(g.module, g.function, g.levels) for g in mine.grants] == [(g.module, g.function, g.levels) for g in builtin.grants]
    assert mine.customize == builtin.customize and mine.features == builtin.features

    # steps 4-5: the stack file as documented, the pack, the checklist, green
    config = {**tenant_config(sim), **stack_file["config"]}
    stack = project.stack("acme-backup", config)
    lines: list[str] = []
    stack.preview(policy_packs=[str(REPO / "policies")], on_output=lines.append, color="never")
    text = "\n".join(lines)
    assert "[mandatory]" not in text and "is new: its 10 grants come from the vendor requirement in " \
                                         "integrations/msp360-backup.yaml" in text, text
    with pytest.raises(auto.errors.CommandError) as first:
        stack.up()
    assert "Security role 'API'" in str(first.value) and "Service Desk › Service Tickets › Add: set All" in str(first.value)
    [checklist] = list((project.root / ".cwroles" / "checklists").rglob("*.md"))
    apply_checklist(sim.console_api, "API", checklist.read_text())
    assert stack.up().summary.result == "succeeded"
    assert outputs(stack)["pending"] == [] and outputs(stack)["role_name"] == "API"
    lines.clear()
    stack.preview(policy_packs=[str(REPO / "policies")], on_output=lines.append, color="never")
    assert "[mandatory]" not in "\n".join(lines)
