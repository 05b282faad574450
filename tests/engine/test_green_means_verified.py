"""Green means verified, through the real CLI (docs/provider.md, "What green means").

- every plain `pulumi up` reads the live tenant: a level changed in the console fails it with the checklist,
  while a no-op `pulumi preview` still makes no request and `preview --refresh` at most 4;
- outputs agree with the tenant after `up` and after `refresh --run-program`; after a failing `up` the
  checklist file agrees with the error (Pulumi writes no outputs then);
- request counts of `pulumi refresh` from the CLI (preview pass + refresh) and from the Automation API;
- a stack's resources belong to one tenant: another tenant (or none) stops every operation before any request;
- the first `up` gives the same checklist on every run, whoever wins the race with the API member's creation;
- checklists are per stack and tenant, and destroy removes them;
- incomplete settings fail a preview; a plain-text private key is refused.
"""

from __future__ import annotations

import json
import re

import pytest
from pulumi import automation as auto

from cwroles.cwsim.testing import running_server
from cwroles.grid import parse_checklist

from .conftest import tenant_config
from .harness import REPO, outputs

pytestmark = pytest.mark.engine

PROGRAM = """
import json
import pulumi
from cwroles.provider import ApiMember, RolePermissions, SecurityRole

t = pulumi.Config("test")
role = SecurityRole("role", name=t.require("roleName"))
member = ApiMember("member", identifier=t.require("memberIdentifier"), name=t.require("memberIdentifier"),
                   role_id=role.role_id)
perms = RolePermissions("perms", role_id=role.role_id, role_name=role.name,
                        grants=json.loads(t.get("grants") or "[]"),
                        customize=json.loads(t.get("customize") or "{}"),
                        member_identifier=member.identifier)
pulumi.export("pending", perms.pending)
pulumi.export("customize_status", perms.customize_status)
"""

GRANTS = [
    {"module": "Service Desk", "function": "Service Tickets", "add": "All", "edit": "All", "inquire": "All"},
    {"module": "System", "function": "Table Setup", "inquire": "All"},
]
CUSTOMIZE = {"System › Table Setup": ["Service / Service Board"]}
DRIFT = {"module": "System", "function": "Member Maintenance", "edit": "All"}
DRIFT_LINE = "System › Member Maintenance › Edit: set None (now All)"


def _config(sim, role="Acme Sync", member="AcmeSync") -> dict:
    return {**tenant_config(sim), "test:roleName": role, "test:memberIdentifier": member,
            "test:grants": json.dumps(GRANTS), "test:customize": json.dumps(CUSTOMIZE)}


def _apply(sim, role="Acme Sync") -> None:
    sim.set_levels(role, *GRANTS)
    sim.set_customize(role, "System › Table Setup", ["Service / Service Board"])


def _requests(sim) -> int:
    return sim.metrics()["total"]


def _text(result) -> str:
    return result.stdout + result.stderr


def _items_in_error(text: str) -> list[str]:
    return re.findall(r"^\s+- (\S.*›.*)$", text, flags=re.M)  # the error's item lines (not the outputs display)


def _green(sim, make_project, role="Acme Sync", member="AcmeSync", name="cwtest"):
    project = make_project(PROGRAM, name=name)
    stack = project.stack("t", _config(sim, role, member))
    with pytest.raises(auto.errors.CommandError):
        stack.up()
    _apply(sim, role)
    stack.up()
    return project, stack


def test_plain_up_verifies_the_tenant_and_previews_stay_free(sim, make_project):
    project, stack = _green(sim, make_project)

    sim.reset_metrics()
    assert project.cli("preview", "--expect-no-changes", stack="t").returncode == 0
    assert _requests(sim) == 0  # a no-op preview asks ConnectWise nothing

    sim.set_levels("Acme Sync", DRIFT)  # someone widens the role in the console
    sim.reset_metrics()
    preview = project.cli("preview", stack="t")
    assert preview.returncode == 0 and _requests(sim) == 0  # still nothing asked: a preview cannot know
    sim.reset_metrics()
    refreshed = project.cli("preview", "--refresh", "--expect-no-changes", "--diff", stack="t")
    assert refreshed.returncode != 0 and "System › Member Maintenance › Edit" in refreshed.stdout
    assert _requests(sim) <= 4  # companyinfo, role, settings, member

    up = project.cli("up", "--yes", stack="t")  # plain up: no --refresh
    text = _text(up)
    assert up.returncode != 0, text
    assert DRIFT_LINE in text and "does not match the code: 1 setting differs" in text
    checklist = project.checklist("Acme Sync", stack="t")
    assert "- [ ] Member Maintenance: Edit → **None** (now All)" in checklist.read_text()

    sim.set_levels("Acme Sync", {**DRIFT, "edit": "None"})  # the admin sets it back
    up = project.cli("up", "--yes", stack="t")
    assert up.returncode == 0, _text(up)
    assert not checklist.exists()
    assert outputs(stack)["pending"] == []
    assert outputs(stack)["customize_status"] == "verified as 'AcmeSync': matches the code"


def test_outputs_agree_with_the_tenant_after_refresh_and_the_checklist_after_a_failed_up(sim, make_project):
    project, stack = _green(sim, make_project)
    before = outputs(stack)
    sim.set_levels("Acme Sync", DRIFT)

    # A failing up: Pulumi writes no outputs on a failed update (docs/provider.md says so and points here): the
    # error and the checklist file are what is true, and they agree with each other and with ConnectWise.
    up = project.cli("up", "--yes", stack="t")
    assert up.returncode != 0
    assert outputs(stack) == before  # the last successful operation's, not this one's
    lines = _items_in_error(_text(up))
    items = parse_checklist(project.checklist("Acme Sync", stack="t").read_text())
    assert lines == [DRIFT_LINE] and len(items) == 1 and (items[0].function, items[0].level) == (
        "Member Maintenance", "edit")

    # `refresh --run-program` runs the program, so the stack outputs are written from what was just read.
    refresh = project.cli("refresh", "--yes", "--run-program", stack="t")
    assert refresh.returncode == 0, _text(refresh)
    assert outputs(stack)["pending"] == [DRIFT_LINE]

    # The admin fixes it: the next up is green, its outputs say so and the checklist is gone.
    sim.set_levels("Acme Sync", {**DRIFT, "edit": "None"})
    up = project.cli("up", "--yes", stack="t")
    assert up.returncode == 0, _text(up)
    assert outputs(stack)["pending"] == [] and not project.checklist("Acme Sync", stack="t").exists()


def test_refresh_request_counts_cli_and_automation(sim, make_project):
    project, stack = _green(sim, make_project)
    sim.reset_metrics()
    assert project.cli("refresh", "--yes", stack="t").returncode == 0
    cli = sim.metrics()
    sim.reset_metrics()
    stack.refresh()
    automation = sim.metrics()
    # Per pass: codebase discovery, the role, its settings (once: RolePermissions no longer re-reads the role),
    # the API member. The CLI runs a preview pass first; the Automation API skips it (--skip-preview).
    assert automation["total"] == 4, automation
    assert cli["total"] == 8, cli
    assert cli["byEndpoint"].get("GET /system/securityroles/{id}") == 2


def test_another_tenant_or_none_stops_every_operation_before_any_request(sim, make_project, tmp_path):
    # The stack's tenant comes from CONNECTWISE_* variables only (as a CI job would set them).
    project = make_project(PROGRAM)
    env = {"CONNECTWISE_SITE": sim.url, "CONNECTWISE_COMPANY_ID": sim.company_id,
           "CONNECTWISE_CLIENT_ID": sim.client_id, "CONNECTWISE_PUBLIC_KEY": sim.public_key,
           "CONNECTWISE_PRIVATE_KEY": sim.private_key}
    config = {k: v for k, v in _config(sim).items() if not k.startswith("connectwise:")}
    stack = project.stack("t", config)
    project.env.update(env)
    first = project.cli("up", "--yes", "--skip-preview", stack="t")
    assert "does not match the code" in _text(first)
    before = [r["urn"] for r in stack.export_stack().deployment["resources"]]

    # 1. The variables are gone: no fallback to any emulator; the run names the stack's tenant.
    for k in env:
        project.env.pop(k)
    sim.reset_metrics()
    for args in (("preview", "--refresh"), ("refresh", "--yes"), ("up", "--yes"), ("destroy", "--yes")):
        run = project.cli(*args, stack="t")
        text = _text(run)
        assert run.returncode != 0, (args, text)
        assert f"live in ConnectWise company 'cwroles' at {sim.url}" in text, (args, text)
        assert "no usable tenant is configured now" in text
    assert _requests(sim) == 0

    # 2. The variables point at another tenant: both named, neither touched.
    with running_server(db_path=tmp_path / "other.sqlite", company_id="othermsp") as other:
        project.env.update({**env, "CONNECTWISE_SITE": other.url, "CONNECTWISE_COMPANY_ID": "othermsp"})
        for args in (("preview", "--refresh"), ("up", "--yes"), ("destroy", "--yes")):
            run = project.cli(*args, stack="t")
            text = _text(run)
            assert run.returncode != 0, (args, text)
            assert f"company 'cwroles' at {sim.url}" in text and f"company 'othermsp' at {other.url}" in text
            assert "stopped before touching either tenant" in text
        assert other.metrics()["total"] == 0 and _requests(sim) == 0
    assert [r["urn"] for r in stack.export_stack().deployment["resources"]] == before  # nothing dropped


def _first_up(tmp_path, make_project, run: int, slow_member: bool) -> tuple[str, list[str], str]:
    with running_server(db_path=tmp_path / f"fresh{run}.sqlite") as sim:
        if slow_member:  # the API member's creation loses (or wins) the race by a wide margin
            sim.add_fault(kind="latency", method="POST", path="^/system/apiMembers$", ms=2500)
        project = make_project((REPO / "__main__.py").read_text(), name=f"first{run}")
        project.stack("msp-process", {**tenant_config(sim), "cwroles:integration": "msp-process"})
        up = project.cli("up", "--yes", "--skip-preview", stack="msp-process")
        text = _text(up)
        assert up.returncode != 0 and "does not match the code" in text, text
        count = re.search(r"does not match the code: (\d+) settings differ", text).group(1)
        checklist = project.checklist("MSP Process", "msp-process").read_text()
        return count, _items_in_error(text), checklist.replace(sim.url, "<emulator>")  # a fresh port per run


def test_the_first_up_is_the_same_on_every_run(tmp_path, make_project):
    runs = [_first_up(tmp_path, make_project, i, slow_member=(i == 1)) for i in range(3)]
    counts, lists, files = zip(*runs)
    assert len(set(counts)) == 1 and len({tuple(x) for x in lists}) == 1 and len(set(files)) == 1
    assert int(counts[0]) == len(lists[0]) == len(parse_checklist(files[0]))
    assert "Customize" in files[0]  # the Customize lists were verified (as the API member), not guessed


def test_checklists_per_stack_and_tenant_and_destroy_removes_them(tmp_path, make_project):
    with running_server(db_path=tmp_path / "a.sqlite") as a, \
            running_server(db_path=tmp_path / "b.sqlite", company_id="othermsp") as b:
        project = make_project(PROGRAM)
        stacks = {}
        for name, sim in (("a-mobius", a), ("b-mobius", b)):
            stacks[name] = project.stack(name, {**_config(sim, role="Mobius", member="Mobius")})
            with pytest.raises(auto.errors.CommandError):
                stacks[name].up()
        path_a = project.checklist("Mobius", "a-mobius", "cwroles")
        path_b = project.checklist("Mobius", "b-mobius", "othermsp")
        assert path_a.exists() and path_b.exists() and path_a.read_text() != path_b.read_text()
        assert f"company 'othermsp' at {b.url}" in path_b.read_text()

        _apply(a, "Mobius")
        stacks["a-mobius"].up()  # tenant A is green: only its checklist goes
        assert not path_a.exists() and path_b.exists()

        stacks["b-mobius"].destroy()  # destroy of a stack whose grid never matched (RolePermissions not in state)
        assert not path_b.exists()
        stacks["a-mobius"].destroy()
        assert project.checklists() == []


def test_incomplete_settings_fail_a_preview(sim, make_project):
    project = make_project(PROGRAM)
    config = {k: v for k, v in _config(sim).items() if k != "connectwise:clientId"}
    project.stack("t", config)
    preview = project.cli("preview", stack="t")
    assert preview.returncode != 0
    assert "connectwise:clientId / CONNECTWISE_CLIENT_ID not set" in _text(preview)
    assert "pulumi config set connectwise:clientId" in _text(preview)
    assert _requests(sim) == 0


def test_a_plain_text_private_key_is_refused(sim, make_project):
    project = make_project(PROGRAM)
    config = {**_config(sim), "connectwise:privateKey": sim.private_key}  # not a secret
    project.stack("t", config)
    for args in (("preview",), ("up", "--yes")):
        run = project.cli(*args, stack="t")
        text = _text(run)
        assert run.returncode != 0
        assert "pulumi config set --secret connectwise:privateKey <private key> -s t" in text
        assert text.count(sim.private_key) == 0
    assert _requests(sim) == 0
    assert all(sim.private_key not in p.read_text() for p in project.state_files())


def test_a_secret_private_key_never_reaches_a_verbose_log(sim, make_project):
    """`pulumi up -v=9 --logtostderr` (and -v=11) logs what the engine hands the provider. CLI 3.259 printed
    the plaintext inside each secret envelope of the stack config; the pinned CLI must show it as [secret]."""
    project = make_project(PROGRAM)
    project.stack("t", _config(sim))  # tenant_config: the private key as a secret
    for level in ("-v=9", "-v=11"):
        run = project.cli("up", "--yes", level, "--logtostderr", stack="t")
        text = _text(run)
        assert '"v":9' in text and "connectwise:privateKey:{[secret]}" in text  # the verbose log ran, key masked
        assert text.count(sim.private_key) == 0
