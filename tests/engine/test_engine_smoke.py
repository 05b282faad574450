"""The real engine on this machine: up → no-op preview → refresh → destroy with a dynamic resource
(tests/engine/engine_probe.py, a module beside the program), through the Automation API on a local file backend."""

import json
import shutil
from pathlib import Path

import pytest
from pulumi import automation as auto

from .harness import PINNED, REPO, Project, outputs, pulumi_bin_dir, resources

pytestmark = pytest.mark.engine

PROGRAM = """
import pulumi
from engine_probe import EngineProbe

cfg = pulumi.Config()
probe = EngineProbe("probe", store=cfg.require("store"), value=cfg.require("value"))
pulumi.export("value", probe.value)
"""


def test_cli_and_language_host_report_the_pinned_version():
    import subprocess

    bindir = pulumi_bin_dir()
    cli = subprocess.run([str(bindir / "pulumi"), "version"], capture_output=True, text=True, check=True)
    host = subprocess.run([str(bindir / "pulumi-language-python"), "-version"], capture_output=True, text=True, check=True)
    assert cli.stdout.strip() == PINNED
    assert host.stdout.strip() == PINNED
    import re
    import tomllib
    from importlib.metadata import version

    # The SDK in the virtualenv is the one pyproject.toml pins; the CLI may be newer, never older.
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    [sdk_pin] = [d.split("==", 1)[1] for d in deps if d.startswith("pulumi==")]
    assert version("pulumi") == sdk_pin
    as_tuple = lambda v: tuple(int(x) for x in re.findall(r"\d+", v)[:3])
    assert as_tuple(sdk_pin) <= as_tuple(PINNED)
    assert re.search(rf'V="\$\{{CWROLES_PULUMI_VERSION:-{re.escape(PINNED)}\}}"',
                     (REPO / "scripts" / "ensure-pulumi.sh").read_text())  # setup builds the same CLI


def test_up_preview_refresh_destroy(tmp_path):
    store = tmp_path / "remote.json"
    project = Project.create(tmp_path / "proj", PROGRAM)
    shutil.copy(Path(__file__).with_name("engine_probe.py"), project.root / "engine_probe.py")
    stack = project.stack("smoke", {"store": str(store), "value": "first"})

    up = stack.up(on_output=print)
    assert up.summary.result == "succeeded"
    assert up.summary.resource_changes == {"create": 2}
    assert outputs(stack)["value"] == "first"
    remote = json.loads(store.read_text())
    assert list(remote.values()) == ["first"]

    preview = stack.preview(expect_no_changes=True)
    assert preview.change_summary == {"same": 2}

    # Change the "remote system" behind the engine's back: refresh sees it, a refreshed preview plans a fix.
    rid = next(iter(remote))
    store.write_text(json.dumps({rid: "changed out of band"}))
    with pytest.raises(auto.errors.CommandError):
        stack.preview(refresh=True, expect_no_changes=True)
    refresh = stack.refresh()
    assert refresh.summary.resource_changes.get("update") == 1
    [probe] = resources(stack, "pulumi-python:dynamic/cwroles:EngineProbe")
    assert probe["outputs"]["value"] == "changed out of band"
    up2 = stack.up()
    assert up2.summary.resource_changes.get("update") == 1
    assert json.loads(store.read_text()) == {rid: "first"}

    destroy = stack.destroy()
    assert destroy.summary.result == "succeeded"
    assert json.loads(store.read_text()) == {}


EXIT_PROGRAM = """
import atexit, pathlib
import pulumi

cfg = pulumi.Config()
atexit.register(lambda: pathlib.Path(cfg.require("marker")).write_text("exit handlers ran"))
if cfg.get("fail"):
    raise ValueError("the program failed on purpose")
pulumi.export("done", True)
"""


def test_program_exit_keeps_exit_handlers_and_status(tmp_path):
    # Our language host ends the program without tearing the interpreter down; what a program can observe
    # of its exit (its atexit handlers, its exit status) must stay as Python does it.
    marker = tmp_path / "marker.txt"
    project = Project.create(tmp_path / "proj", EXIT_PROGRAM)
    stack = project.stack("exit", {"marker": str(marker)})
    assert stack.up().summary.result == "succeeded"
    assert marker.read_text() == "exit handlers ran"

    marker.unlink()
    stack.set_config("fail", auto.ConfigValue("yes"))
    with pytest.raises(auto.errors.CommandError) as failed:
        stack.up()
    assert "the program failed on purpose" in str(failed.value)
    assert marker.read_text() == "exit handlers ran"
