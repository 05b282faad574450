"""`cwroles export` against the emulator over HTTP: roles and members made by hand, the manifest and stack
file it writes, its requests, and its refusals (no engine: tests/engine/test_onboarding_engine.py adopts)."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from cwroles.cwsim.testing import running_server
from cwroles.manifest import Integrations

from tests.commands.onboarding_helpers import EXTRAS, OWN_TABLE, api_requests, cli, make_role, project

TODAY = dt.date.today().isoformat()
GRANTS = ({"module": "Companies", "function": "Company Maintenance", "inquire": "All"},
          {"module": "Service Desk", "function": "Ticket Dispatch Rules", "add": "All", "inquire": "All"},
          {"module": "System", "function": "Table Setup", "inquire": "All"})


@pytest.fixture(scope="module")
def server():
    with running_server(catalog_extras=EXTRAS) as s:
        yield s


@pytest.fixture
def sim(server):
    server.clear_faults()
    server.reset()
    return server


def _files(root, name="legacy-rmm"):
    return (yaml.safe_load((root / "integrations" / f"{name}.yaml").read_text()),
            yaml.safe_load((root / f"Pulumi.{name}.yaml").read_text())["config"])


def test_writes_a_valid_manifest_and_a_stack_that_adopts_the_role_and_member(sim, tmp_path):
    role, member = make_role(sim, "Legacy RMM", *GRANTS, allow=["Service / Service Board", OWN_TABLE], member="LegacyRMM")
    root = project(tmp_path)
    r = cli(sim, "export", "--role", "Legacy RMM", "--dir", root)
    assert r.exit_code == 0, r.output
    manifest, config = _files(root)
    assert manifest["role"] == {"name": "Legacy RMM"}
    assert manifest["api_member"] == {"identifier": "LegacyRMM", "name": "Legacy RMM member"}
    assert [(g["module"], g["function"]) for g in manifest["grants"]] == [
        ("Companies", "Company Maintenance"), ("Service Desk", "Ticket Dispatch Rules"), ("System", "Table Setup")]
    own = manifest["grants"][1]
    assert (own["add"], own["inquire"]) == ("All", "All") and "edit" not in own and "delete" not in own
    for g in manifest["grants"] + manifest["customize"]:  # each value marked as exported on that date
        assert TODAY in g["reason"] and f"exported from ConnectWise on {TODAY}" in g["source"]
    assert manifest["customize"][0]["function"] == "System › Table Setup"
    assert manifest["customize"][0]["items"] == ["Service / Service Board", OWN_TABLE]
    assert manifest["tenant_catalog"] == {"functions": [{"module": "Service Desk", "function": "Ticket Dispatch Rules"}],
                                          "setup_tables": [{"category": "Service", "table": "Dispatch Queue"}]}
    assert config["cwroles:integration"] == "legacy-rmm"
    assert config["cwroles:adopt"] == {"roleId": role["id"], "apiMemberId": member["id"]}
    assert config["connectwise:site"] == sim.url and config["connectwise:companyId"] == sim.company_id
    assert not any("Key" in k for k in config)  # no keys in the stack file
    found = Integrations.discover(root).get("legacy-rmm")
    assert found is not None and found.ok, [str(p) for p in found.problems]
    v = cli(sim, "manifest", "validate", "--dir", root)
    assert v.exit_code == 0 and "ok (legacy-rmm)" in v.output, v.output


def test_three_requests_for_the_role_and_two_more_for_its_allow_lists(sim, tmp_path):
    make_role(sim, "Legacy RMM", *GRANTS, allow=["Service / Service Board"], member="LegacyRMM")
    sim.reset_metrics()
    r = cli(sim, "export", "--role", "Legacy RMM", "--dir", project(tmp_path), "--no-customize")
    assert r.exit_code == 0, r.output
    assert api_requests(sim) == 3 and "3 request(s)" in r.output
    sim.reset_metrics()
    r = cli(sim, "export", "--role", "Legacy RMM", "--dir", project(tmp_path / "b"))
    assert r.exit_code == 0, r.output
    assert api_requests(sim) == 5
    assert set(sim.metrics()["byEndpoint"]) == {
        "GET /system/securityroles", "GET /system/securityroles/{id}/settings", "GET /system/apimembers",
        "POST /system/members/legacyrmm/tokens", "GET /system/mysecurity/customizeitems"}


def test_by_id_with_a_member_and_a_role_type(sim, tmp_path):
    role, member = make_role(sim, "RMM", GRANTS[0], member="rmm-bot", role_type="API")
    root = project(tmp_path)
    r = cli(sim, "export", "--role", str(role["id"]), "--member", "rmm-bot", "--dir", root, "--stack", "acme-rmm")
    assert r.exit_code == 0, r.output
    config = yaml.safe_load((root / "Pulumi.acme-rmm.yaml").read_text())["config"]
    assert config["cwroles:roleType"] == "API" and config["cwroles:adopt"]["apiMemberId"] == member["id"]
    assert (root / "integrations" / "rmm.yaml").exists()


def test_a_role_named_like_a_built_in_integration_gets_its_own_name(sim, tmp_path):
    make_role(sim, "Mobius", GRANTS[0], member="Mobius")
    root = project(tmp_path)
    assert cli(sim, "export", "--role", "mobius", "--dir", root).exit_code == 0
    manifest, config = _files(root, "mobius-custom")
    assert manifest["integration"] == "mobius-custom" and config["cwroles:integration"] == "mobius-custom"


def test_a_role_without_an_api_member_names_a_new_one_and_says_so(sim, tmp_path):
    make_role(sim, "Unused", GRANTS[0])
    _, old = make_role(sim, "Legacy", GRANTS[0], member="oldbot", inactive=True)
    root = project(tmp_path)
    r = cli(sim, "export", "--role", "Unused", "--dir", root)
    assert r.exit_code == 0, r.output
    manifest, config = _files(root, "unused")
    assert manifest["api_member"]["identifier"] == "Unused" and "apiMemberId" not in config["cwroles:adopt"]
    assert "no active API member holds the role" in r.output
    r = cli(sim, "export", "--role", "Legacy", "--dir", root)
    assert r.exit_code == 0 and "inactive API member(s) oldbot" in " ".join(r.output.split())


@pytest.mark.parametrize("args, setup, code, text", [
    (["--role", "Nope"], None, 1, "ConnectWise has no security role 'Nope'"),
    (["--role", "Admin"], None, 1, "has adminFlag set"),
    (["--role", "Shared"], "two", 2, "held by 2 active API members (bot-a, bot-b); choose the integration's with --member"),
    (["--role", "Shared", "--member", "cwadmin"], "two", 1, "holds security role 'Admin', not 'Shared'"),
    (["--role", "Shared", "--integration", "Bad Name"], "two", 2, "--integration 'Bad Name'"),
    (["--role", "Shared", "--integration", "mobius"], "two", 2, "is a built-in integration"),
])
def test_refusals_say_what_to_do(sim, tmp_path, args, setup, code, text):
    if setup == "two":
        role, _ = make_role(sim, "Shared", GRANTS[0], member="bot-a")
        sim.create_api_member("bot-b", role["id"])
    r = cli(sim, "export", *args, "--dir", project(tmp_path))
    assert r.exit_code == code, r.output
    assert text in " ".join(r.output.split())
    assert "Traceback" not in r.output and not (tmp_path / "project" / "integrations").exists()


def test_an_existing_manifest_is_kept_unless_forced_and_the_stack_file_keeps_other_keys(sim, tmp_path):
    make_role(sim, "Legacy RMM", *GRANTS, member="LegacyRMM")
    root = project(tmp_path)
    (root / "Pulumi.legacy-rmm.yaml").write_text(
        "config:\n  connectwise:privateKey:\n    secure: v1:abc\n  cwroles:features: [x]\n")
    assert cli(sim, "export", "--role", "Legacy RMM", "--dir", root).exit_code == 0
    config = yaml.safe_load((root / "Pulumi.legacy-rmm.yaml").read_text())["config"]
    assert config["connectwise:privateKey"] == {"secure": "v1:abc"} and "cwroles:features" not in config
    again = cli(sim, "export", "--role", "Legacy RMM", "--dir", root)
    assert again.exit_code == 1 and "exists; pass --force" in again.output
    assert cli(sim, "export", "--role", "Legacy RMM", "--dir", root, "--force").exit_code == 0


def test_the_bundled_emulator_by_default_and_a_clear_error_when_it_does_not_answer(sim, tmp_path, monkeypatch):
    from cwroles import emulator_defaults

    from typer.testing import CliRunner
    from cwroles.commands import app

    make_role(sim, "Legacy RMM", GRANTS[0], member="LegacyRMM")
    monkeypatch.setattr(emulator_defaults, "SITE", sim.url)  # the default emulator, on this test's port
    bare = {k: "" for k in ("CONNECTWISE_SITE", "CONNECTWISE_COMPANY_ID", "CONNECTWISE_CLIENT_ID",
                            "CONNECTWISE_PUBLIC_KEY", "CONNECTWISE_PRIVATE_KEY", "CONNECTWISE_CODEBASE")}
    r = CliRunner().invoke(app, ["export", "--role", "Legacy RMM", "--dir", str(project(tmp_path))], env=bare)
    assert r.exit_code == 0, r.output
    assert "(the bundled emulator)" in r.output
    written = yaml.safe_load((tmp_path / "project" / "Pulumi.legacy-rmm.yaml").read_text())["config"]
    assert written["connectwise:site"] == "emulator"  # the stack chooses the emulator the export read
    assert not [k for k in written if k.startswith("connectwise:") and k != "connectwise:site"]
    monkeypatch.setattr(emulator_defaults, "SITE", "http://127.0.0.1:9")  # nothing listens there
    r = CliRunner().invoke(app, ["export", "--role", "Legacy RMM", "--dir", str(project(tmp_path / "b"))],
                           env={**bare, "CONNECTWISE_MAX_RETRIES": "0"})
    assert r.exit_code == 1 and "the bundled emulator does not answer" in " ".join(r.output.split())
    assert "Traceback" not in r.output


def test_allow_list_items_the_catalog_lacks_are_named_under_tenant_catalog(tmp_path):
    extras = {**EXTRAS, "customMenuEntries": [{"name": "Acme Portal"}]}
    with running_server(catalog_extras=extras) as sim:
        role, _ = make_role(sim, "Portal", {"module": "System", "function": "Custom Menu Entry", "inquire": "All"},
                            member="portal")
        sim.set_customize(role["id"], "System › Custom Menu Entry", ["Acme Portal", "Mobius"])
        root = project(tmp_path)
        r = cli(sim, "export", "--role", "Portal", "--dir", root)
        assert r.exit_code == 0, r.output
    manifest, _ = _files(root, "portal")
    assert manifest["customize"][0]["items"] == ["Acme Portal", "Mobius"]
    assert manifest["tenant_catalog"] == {"custom_menu_entries": [{"name": "Acme Portal"}]}
