"""What an installed cwroles writes into a user's project: `cwroles policy-pack DIR`, `cwroles provider-plugin DIR`."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import grpc
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as pb
from pulumi.runtime.proto import analyzer_pb2_grpc
from typer.testing import CliRunner

from cwroles import __version__
from cwroles.commands import app
from cwroles.commands.provider_plugin import LAUNCHER, launcher_text

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()
SECURITY_ROLE = "pulumi-python:dynamic/connectwise:SecurityRole"


def _invoke(*args, cwd: Path):
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return runner.invoke(app, list(args), env={"COLUMNS": "60"})
    finally:
        os.chdir(old)


def test_policy_pack_writes_a_pack_wired_to_this_virtualenv(tmp_path):
    r = _invoke("policy-pack", "cwroles-policy", cwd=tmp_path)
    assert r.exit_code == 0, r.output
    assert "  pulumi preview --policy-pack cwroles-policy" in r.output.splitlines()
    spec = yaml.safe_load((tmp_path / "cwroles-policy" / "PulumiPolicy.yaml").read_text())
    assert spec["runtime"]["name"] == "python" and spec["version"] == __version__
    venv = spec["runtime"]["options"]["virtualenv"]
    assert (tmp_path / "cwroles-policy" / venv).resolve() == Path(sys.prefix).resolve()
    # written again (after an upgrade): our own files are replaced, nothing else is touched
    (tmp_path / "cwroles-policy" / "notes.txt").write_text("mine")
    assert _invoke("policy-pack", "cwroles-policy", cwd=tmp_path).exit_code == 0
    assert (tmp_path / "cwroles-policy" / "notes.txt").read_text() == "mine"


def test_policy_pack_keeps_a_virtualenv_inside_the_project_relative(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    assert _invoke("policy-pack", "policy", cwd=tmp_path).exit_code == 0
    spec = yaml.safe_load((tmp_path / "policy" / "PulumiPolicy.yaml").read_text())
    assert spec["runtime"]["options"]["virtualenv"] == "../venv"  # committable: no machine path


def test_policy_pack_never_overwrites_a_foreign_pack(tmp_path):
    (tmp_path / "pack").mkdir()
    (tmp_path / "pack" / "__main__.py").write_text("print('my own pack')\n")
    r = _invoke("policy-pack", "pack", cwd=tmp_path)
    assert r.exit_code == 2 and "was not written by `cwroles policy-pack`" in " ".join(r.output.split())
    assert (tmp_path / "pack" / "__main__.py").read_text() == "print('my own pack')\n"
    assert not (tmp_path / "pack" / "PulumiPolicy.yaml").exists()


def test_written_pack_serves_the_cwroles_policies_outside_the_repository(tmp_path):
    assert _invoke("policy-pack", "pack", cwd=tmp_path).exit_code == 0
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # as the engine runs a Python pack: `python -m pulumi.policy <engine> <dir>`, from outside the repository
    proc = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(tmp_path / "pack")],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        port = proc.stdout.readline().decode().strip()
        assert port.isdigit(), f"pack did not start: {port!r} {proc.stderr.read1(4000).decode()}"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
            assert info.name == "cwroles" and "cwroles-admin-role" in {p.name for p in info.policies}
            props = struct_pb2.Struct()
            props.update({"name": "Sync Admin", "admin_flag": False})
            resp = stub.Analyze(pb.AnalyzeRequest(type=SECURITY_ROLE, properties=props, name="role",
                                                  urn=f"urn:pulumi:dev::p::{SECURITY_ROLE}::role"), timeout=30)
            assert [d.policyName for d in resp.diagnostics] == ["cwroles-admin-role"]
            assert "“Sync Admin” is named like an administrator role" in resp.diagnostics[0].message
    finally:
        proc.kill()
        proc.wait(10)


def test_provider_plugin_writes_the_launcher_and_prints_the_pulumi_yaml_entry(tmp_path):
    r = _invoke("provider-plugin", "plugins/pulumi-python", cwd=tmp_path)
    assert r.exit_code == 0, r.output
    launcher = tmp_path / "plugins" / "pulumi-python" / LAUNCHER
    assert launcher.read_text() == launcher_text()
    assert launcher.stat().st_mode & stat.S_IXUSR
    lines = r.output.splitlines()
    i = lines.index("  plugins:")
    assert lines[i:i + 4] == ["  plugins:", "    providers:", "      - name: pulumi-python",
                              "        path: plugins/pulumi-python"]
    # once Pulumi.yaml has the entry, the command says so instead
    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "p", "runtime": "python", "plugins": {
        "providers": [{"name": "pulumi-python", "path": "./plugins/pulumi-python"}]}}))
    r = _invoke("provider-plugin", "plugins/pulumi-python", cwd=tmp_path)
    assert r.exit_code == 0 and "Pulumi.yaml already names it" in r.output and "plugins:" not in r.output


def test_one_launcher_for_make_setup_and_for_installs():
    packaged = REPO / "provider" / LAUNCHER
    assert launcher_text() == packaged.read_text()
    # make setup installs tools/<launcher> next to the CLI: the same file
    assert (REPO / "tools" / LAUNCHER).resolve() == packaged.resolve()
    assert os.access(packaged, os.X_OK)
    assert "cwroles.provider._dynamic_host" in launcher_text()
