"""Both CLIs (`cwroles`, `cwsim`): help text on every option, flags shown as flags, --version, unwrapped commands."""

import re

import pytest
import typer
from typer.testing import CliRunner

from cwroles import __version__
from cwroles.commands import app as cwroles_app
from cwroles.cwsim.cli import app as cwsim_app

runner = CliRunner()
APPS = {"cwroles": cwroles_app, "cwsim": cwsim_app}


def _commands(command, path=()):
    """Every (path, click command) of a CLI, groups included."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def _all(name):
    return list(_commands(typer.main.get_command(APPS[name])))


@pytest.mark.parametrize("name", APPS)
def test_every_option_and_argument_has_help_text(name):
    missing = [f"{name} {' '.join(path)} {p.opts or p.name}" for path, cmd in _all(name) for p in cmd.params
               if not (getattr(p, "help", None) or "").strip()]
    assert missing == []


@pytest.mark.parametrize("name", APPS)
def test_help_shows_boolean_options_as_flags(name):
    flags_seen = 0
    for path, cmd in _all(name):
        r = runner.invoke(APPS[name], [*path, "--help"], env={"COLUMNS": "200"})
        assert r.exit_code == 0, r.output
        assert "<bool>" not in r.output, f"{name} {' '.join(path)} --help:\n{r.output}"
        for p in cmd.params:
            if getattr(p, "is_flag", False):
                flag = max(p.opts, key=len)
                line = next(ln for ln in r.output.splitlines() if re.search(rf"(^|[\s,]){re.escape(flag)}(\s|$)", ln))
                # the flag is followed by its help text, never by a value placeholder
                assert re.search(rf"{re.escape(flag)}\s+[A-Z]", line), line
                flags_seen += 1
    assert flags_seen >= 2  # --help everywhere, --version, and the commands' own flags


def test_flags_switch_on_without_a_value():
    r = runner.invoke(cwroles_app, ["manifest", "show", "msp-process", "--all-features"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "22 grants" in r.output and "time-entries [on]" in r.output and "invoices-tab [on]" in r.output


@pytest.mark.parametrize("name", APPS)
def test_version(name):
    r = runner.invoke(APPS[name], ["--version"])
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"{name} {__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_next_commands_never_wrap_in_a_narrow_terminal(tmp_path):
    r = runner.invoke(cwroles_app, ["stack-config", "--tenant", "a-tenant-with-a-long-name", "--integration",
                                    "managed-backup", "--site", "api-na.myconnectwise.net", "--company-id", "acme",
                                    "--dir", str(tmp_path)], env={"COLUMNS": "40"})
    assert r.exit_code == 0, r.output
    stack = "a-tenant-with-a-long-name-managed-backup"
    lines = r.output.splitlines()
    assert f"  pulumi config set --secret connectwise:privateKey -s {stack}   # prompts; stored encrypted" in lines
    assert f"  pulumi config set connectwise:publicKey <public key> -s {stack}" in lines
    assert f"  pulumi stack select --create {stack}" in lines
    assert f"  pulumi up -s {stack}" in lines
    assert any(ln.startswith("Wrote ") and ln.endswith(f"Pulumi.{stack}.yaml (stack {stack}).") for ln in lines)
