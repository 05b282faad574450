"""The `cwroles` CLI: stack files per tenant, manifest tables."""

import yaml
from typer.testing import CliRunner

from cwroles.commands import app

runner = CliRunner()


def _stack_config(tmp_path, *extra):
    return runner.invoke(app, ["stack-config", "--tenant", "acme", "--integration", "mobius",
                               "--site", "api-na.myconnectwise.net", "--company-id", "acme", "--dir", str(tmp_path), *extra])


def test_stack_config_writes_a_tenant_stack_without_secrets(tmp_path):
    r = _stack_config(tmp_path, "--client-id", "c1d", "--public-key", "pubKey", "-f", "custom-menu-entry",
                      "--api-member-identifier", "AcmeMobius")
    assert r.exit_code == 0, r.output
    path = tmp_path / "Pulumi.acme-mobius.yaml"
    doc = yaml.safe_load(path.read_text())
    assert doc == {"config": {
        "cwroles:integration": "mobius",
        "cwroles:features": ["custom-menu-entry"],
        "cwroles:apiMemberIdentifier": "AcmeMobius",
        "connectwise:site": "api-na.myconnectwise.net",
        "connectwise:companyId": "acme",
        "connectwise:clientId": "c1d",
        "connectwise:publicKey": "pubKey",
    }}
    out = " ".join(r.output.split())
    assert "pulumi config set --secret connectwise:privateKey -s acme-mobius" in out
    assert "pulumi up -s acme-mobius" in out
    assert "connectwise:publicKey <public key>" not in out  # given on the command line


def test_stack_config_tells_what_is_still_missing(tmp_path):
    r = _stack_config(tmp_path)
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "pulumi config set connectwise:clientId <clientId> -s acme-mobius" in out
    assert "pulumi config set connectwise:publicKey <public key> -s acme-mobius" in out


def test_stack_config_rerun_keeps_secrets_and_other_keys(tmp_path):
    path = tmp_path / "Pulumi.acme-mobius.yaml"
    path.write_text(yaml.safe_dump({
        "encryptionsalt": "v1:abc",
        "config": {"connectwise:privateKey": {"secure": "v1:cipher"}, "cwroles:features": ["custom-menu-entry"],
                   "aws:region": "eu-west-1"},
    }))
    r = _stack_config(tmp_path)
    assert r.exit_code == 0, r.output
    doc = yaml.safe_load(path.read_text())
    assert doc["encryptionsalt"] == "v1:abc"
    assert doc["config"]["connectwise:privateKey"] == {"secure": "v1:cipher"}
    assert doc["config"]["aws:region"] == "eu-west-1"
    assert "cwroles:features" not in doc["config"]  # this run asked for no features
    assert "Updated" in r.output and "privateKey" not in r.output.split("Next:")[1].split("pulumi up")[0]


def test_stack_config_rejects_bad_input_with_clear_errors(tmp_path):
    r = runner.invoke(app, ["stack-config", "--tenant", "Acme Corp", "--integration", "mobius", "--site", "x",
                            "--company-id", "y", "--dir", str(tmp_path)])
    assert r.exit_code == 2 and "--tenant 'Acme Corp'" in r.output
    r = runner.invoke(app, ["stack-config", "--tenant", "acme", "--integration", "kaseya", "--site", "x",
                            "--company-id", "y", "--dir", str(tmp_path)])
    assert r.exit_code == 2 and "choose one of: managed-backup, mobius, msp-process" in " ".join(r.output.split())
    r = _stack_config(tmp_path, "-f", "invoices-tab")
    assert r.exit_code == 2 and "mobius has no feature 'invoices-tab'" in " ".join(r.output.split())
    r = _stack_config(tmp_path, "--api-member-identifier", "Far Too Long Identifier")
    assert r.exit_code == 2 and "1-15 letters" in " ".join(r.output.split())
    assert list(tmp_path.iterdir()) == []


def test_manifest_show_lists_grants_by_feature():
    r = runner.invoke(app, ["manifest", "show", "msp-process"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "18 grants" in r.output and "Time Entry" not in r.output
    r = runner.invoke(app, ["manifest", "show", "msp-process", "-f", "time-entries"], env={"COLUMNS": "200"})
    assert "20 grants" in r.output and "Time Entry" in r.output and "time-entries [on]" in r.output
    assert "Contacts / Departments" in r.output


def test_manifest_show_marks_waivers_and_customize_lists():
    r = runner.invoke(app, ["manifest", "show", "mobius", "--all-features", "--wide"], env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    assert "(waiver)" in r.output and "approved by vendor:Mobius, expires 2027-11-22" in " ".join(r.output.split())
    assert "System › Custom Menu Entry › Customize" in r.output
    assert "mobius.txt › Step 2 (Finance) › Accounting Interface" in r.output


def test_manifest_show_errors():
    r = runner.invoke(app, ["manifest", "show", "kaseya"])
    assert r.exit_code == 2 and "unknown integration 'kaseya'" in r.output
    r = runner.invoke(app, ["manifest", "show", "managed-backup", "-f", "x"])
    assert r.exit_code == 2 and "unknown feature(s) ['x']" in " ".join(r.output.split())


def test_manifest_list():
    r = runner.invoke(app, ["manifest", "list"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    for name in ("managed-backup", "mobius", "msp-process", "MSP360Backup"):
        assert name in r.output
