"""`cwroles manifest list/show/validate/new/schema` with a project's own manifests (CliRunner, no engine)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cwroles.commands import app
from cwroles.manifest import json_schema

from tests.cwroles.test_user_manifests import ACME, project

CORPUS = Path(__file__).resolve().parents[1] / "cwroles" / "bad_manifests"
runner = CliRunner()
WIDE = {"COLUMNS": "250"}


def cli(*args: str):
    return runner.invoke(app, list(args), env=WIDE)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_validate_passes_good_files_with_exit_0(tmp_path):
    root = project(tmp_path, {"integrations/acme-rmm.yaml": ACME})
    r = cli("manifest", "validate", "--dir", str(root))
    assert r.exit_code == 0, r.output
    assert "integrations/acme-rmm.yaml: ok (acme-rmm)" in r.output and "1 manifest(s): 1 valid, 0 with 0 error(s)" in r.output


def test_validate_fails_with_exit_1_naming_file_line_field_and_fix(tmp_path):
    root = project(tmp_path, {"integrations/acme-rmm.yaml": ACME.replace("inquire: All, reason: Reads boards",
                                                                         "inquire: Everything, reason: Reads boards")})
    r = cli("manifest", "validate", "--dir", str(root), "integrations/acme-rmm.yaml")
    assert r.exit_code == 1
    assert ("integrations/acme-rmm.yaml:13: error grants[3].inquire (System › Table Setup): Inquire 'Everything' is "
            "not a level; use None, My or All") in flat(r.output)
    assert "Traceback" not in r.output


def test_validate_the_whole_corpus_for_pre_commit(tmp_path):
    """pre-commit passes file names: every bad file is reported, the exit code is 1, nothing crashes."""
    files = []
    for f in sorted(CORPUS.glob("*.yaml")):
        body = "".join(ln for ln in f.read_text().splitlines(keepends=True) if not ln.startswith("# expect:"))
        (tmp_path / f.name).write_text(body)
        files.append(str(tmp_path / f.name))
    r = cli("manifest", "validate", *files)
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert f"{len(files)} manifest(s): 0 valid, {len(files)} with" in r.output
    for name in files:
        assert f"{name}:" in r.output


def test_validate_notices_are_shown_unless_quiet(tmp_path):
    root = project(tmp_path, {"integrations/acme-rmm.yaml": ACME.replace("module: Companies", "module: Company module")
                                                              .replace("function: Company Maintenance",
                                                                       "function: Company Maintenance")
                                                              .replace("Service Desk, function: Service Tickets, inquire",
                                                                       "Service Desk, function: Service Ticket, inquire")})
    r = cli("manifest", "validate", "--dir", str(root))
    assert r.exit_code == 0
    assert ("integrations/acme-rmm.yaml:10: notice grants[1].function: function 'Service Ticket' is 'Service Tickets' "
            "in ConnectWise PSA (renamed from the vendor's spelling)") in flat(r.output)
    assert "notice" not in cli("manifest", "validate", "--dir", str(root), "-q").output


def test_list_shows_project_manifests_and_survives_a_broken_one(tmp_path):
    root = project(tmp_path, {"integrations/acme-rmm.yaml": ACME, "integrations/broken.yaml": "title: [\n",
                              "integrations/mobius.yaml": ACME.replace("acme-rmm", "mobius")})
    r = cli("manifest", "list", "--dir", str(root))
    assert r.exit_code == 0 and "Traceback" not in r.output
    out = flat(r.output)
    assert "acme-rmm" in out and "integrations/acme-rmm.yaml" in out and "msp-process" in out
    assert "broken" in out and "invalid" in out
    assert "2 manifest(s) have errors: run `cwroles manifest validate integrations/broken.yaml integrations/mobius.yaml`" in out


def test_show_a_project_manifest_with_a_feature_raising_a_base_grant(tmp_path):
    root = project(tmp_path, {"integrations/acme-rmm.yaml": ACME})
    r = cli("manifest", "show", "acme-rmm", "--dir", str(root), "--all-features")
    assert r.exit_code == 0, r.output
    out = flat(r.output)
    assert "manifest: integrations/acme-rmm.yaml" in out and "3 grants" in out
    assert "All (+ticket-sync)" in out  # the merged level, marked with the feature that raised it
    assert "the feature raises the base grant to this level" in out
    off = flat(cli("manifest", "show", "acme-rmm", "--dir", str(root)).output)
    assert "(+ticket-sync)" not in off and "ticket-sync [off]" in off
    by_path = cli("manifest", "show", str(root / "integrations" / "acme-rmm.yaml"))
    assert by_path.exit_code == 0 and "Acme RMM" in by_path.output


def test_show_of_a_broken_manifest_prints_its_problems(tmp_path):
    root = project(tmp_path, {"integrations/acme-rmm.yaml": ACME.replace("Table Setup, inquire", "Table Setpu, inquire")})
    r = cli("manifest", "show", "acme-rmm", "--dir", str(root))
    assert r.exit_code == 1 and "unknown function System › 'Table Setpu'" in flat(r.output)
    assert "Traceback" not in r.output


def test_new_writes_a_skeleton_that_validates_and_the_schema(tmp_path):
    root = project(tmp_path, {})
    r = cli("manifest", "new", "acme-rmm", "--dir", str(root), "--title", "Acme RMM")
    assert r.exit_code == 0, r.output
    text = (root / "integrations" / "acme-rmm.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=manifest.schema.json")
    assert "integration: acme-rmm" in text and "title: Acme RMM" in text and "# - module: Service Desk" in text
    assert json.loads((root / "integrations" / "manifest.schema.json").read_text()) == json_schema()
    assert cli("manifest", "validate", "--dir", str(root)).exit_code == 0
    again = cli("manifest", "new", "acme-rmm", "--dir", str(root))
    assert again.exit_code == 2 and "exists" in again.output
    assert cli("manifest", "new", "mobius", "--dir", str(root)).exit_code == 2
    assert "not a valid integration name" in flat(cli("manifest", "new", "Acme RMM", "--dir", str(root)).output)


def test_schema_is_printed_from_the_model(tmp_path):
    r = runner.invoke(app, ["manifest", "schema"])
    assert r.exit_code == 0 and json.loads(r.output) == json_schema()
    out = tmp_path / "s.json"
    assert runner.invoke(app, ["manifest", "schema", "-o", str(out)]).exit_code == 0
    assert json.loads(out.read_text()) == json_schema()


def test_stack_config_accepts_a_project_manifest(tmp_path):
    root = project(tmp_path, {"integrations/acme-rmm.yaml": ACME})
    r = cli("stack-config", "--tenant", "acme", "--integration", "acme-rmm", "--site", "api-na.myconnectwise.net",
            "--company-id", "acme", "--dir", str(root), "-f", "ticket-sync")
    assert r.exit_code == 0, r.output
    assert "cwroles:integration: acme-rmm" in (root / "Pulumi.acme-acme-rmm.yaml").read_text()
