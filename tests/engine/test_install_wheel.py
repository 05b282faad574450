"""The wheel in a user's own Pulumi project: outside the repository, in a fresh virtualenv.

Builds the wheel from the repository's tracked files, installs it with pip into a new venv next to a
new Pulumi project, and checks what a user gets: only the `cwroles` top-level name, both CLIs with
--version, the manifests (package data), the provider's resources against the emulator, `import_`
through the launcher that `cwroles provider-plugin` writes, and the policy pack that `cwroles
policy-pack` writes. The Pulumi CLI here stands for a usual install: its own dynamic-provider launcher
runs Pulumi's upstream server (which cannot import, pulumi/pulumi#16175), so import only works when
the project names cwroles' launcher.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from cwroles.cwsim.testing import running_server

from .harness import REPO, pulumi_bin_dir

pytestmark = pytest.mark.engine

VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]

PROGRAM = """\
import pulumi
from cwroles.provider import ApiMember, SecurityRole

t = pulumi.Config("test")
role = SecurityRole("role", name=t.require("roleName"), opts=pulumi.ResourceOptions(import_=t.require("roleId")))
member = ApiMember("member", identifier="LegacyBot", name="Legacy Bot", role_id=role.role_id)
pulumi.export("role_id", role.role_id)
pulumi.export("member_id", member.member_id)
"""

# What Pulumi's own launcher does: run the upstream dynamic-provider server in the program's virtualenv.
UPSTREAM_LAUNCHER = """\
#!/bin/sh
case ${PULUMI_RUNTIME_VIRTUALENV:-} in
  "") exec python3 -u -m pulumi.dynamic "$@" ;;
  /*) exec "$PULUMI_RUNTIME_VIRTUALENV/bin/python" -u -m pulumi.dynamic "$@" ;;
  *) exec "$PWD/$PULUMI_RUNTIME_VIRTUALENV/bin/python" -u -m pulumi.dynamic "$@" ;;
esac
"""


def _run(*args, cwd: Path, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


def _tool_env() -> dict[str, str]:
    """The caller's environment (network, pip cache) without anything pointing into the repository."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from the tracked files only (what a clone or an sdist has)."""
    src = tmp_path_factory.mktemp("src")
    files = _run("git", "ls-files", "-z", cwd=REPO).stdout.split("\0")
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, src / name)  # follows links: the tools/ launcher is a link into provider/
    dist = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, src, cwd=src, env=_tool_env())
    [built] = dist.glob("cwroles-*.whl")
    return built


@pytest.fixture(scope="module")
def user_project(wheel, tmp_path_factory) -> Path:
    """A new Pulumi project with its own venv, cwroles installed from the wheel."""
    root = tmp_path_factory.mktemp("acme-roles")
    _run(sys.executable, "-m", "venv", root / "venv", cwd=root, env=_tool_env())
    _run(root / "venv" / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel,
         cwd=root, env=_tool_env())
    return root


def test_wheel_has_one_top_level_name(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert {n.split("/")[0] for n in names} == {"cwroles", f"cwroles-{VERSION}.dist-info"}
        assert z.read(f"cwroles-{VERSION}.dist-info/top_level.txt").decode().split() == ["cwroles"]
        assert f"cwroles-{VERSION}.dist-info/licenses/LICENSE" in names
    assert wheel.name == f"cwroles-{VERSION}-py3-none-any.whl"


def test_install_adds_only_cwroles_and_its_two_commands(user_project):
    python = user_project / "venv" / "bin" / "python"
    listed = _run(python, "-c", "import json, importlib.metadata as m; "
                  "print(json.dumps([str(f) for f in m.files('cwroles')]))", cwd=user_project).stdout
    files = json.loads(listed)
    tops = {f.split("/")[0] for f in files if not f.startswith("..")}
    assert tops == {"cwroles", f"cwroles-{VERSION}.dist-info"}
    scripts = sorted(Path(f).name for f in files if f.startswith(".."))
    assert scripts == ["cwroles", "cwsim"]
    for module in ("provider", "stacks", "policies", "commands", "cwsim"):
        assert _run(python, "-c", f"import {module}", cwd=user_project, check=False).returncode != 0, module


def test_both_clis_print_the_version(user_project):
    bindir = user_project / "venv" / "bin"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(user_project), "LANG": "C.UTF-8"}
    assert _run(bindir / "cwroles", "--version", cwd=user_project, env=env).stdout.strip() == f"cwroles {VERSION}"
    assert _run(bindir / "cwsim", "--version", cwd=user_project, env=env).stdout.strip() == f"cwsim {VERSION}"
    shown = _run(bindir / "cwroles", "manifest", "show", "mobius", cwd=user_project, env=env).stdout
    assert "16 grants" in shown  # the manifests and the catalog ship as package data


def _user_pulumi_bin(root: Path) -> Path:
    """The pinned engine, as a usual install has it: the CLI, the language host, Pulumi's own launcher."""
    ubin = root / "pulumi-bin"
    ubin.mkdir(exist_ok=True)
    for name in ("pulumi", "pulumi-language-python", "pulumi-language-python-exec"):
        target = ubin / name
        if not target.exists():
            try:
                os.link(pulumi_bin_dir() / name, target)  # not a symlink: the engine looks next to its real path
            except OSError:
                shutil.copy2(pulumi_bin_dir() / name, target)
    launcher = ubin / "pulumi-resource-pulumi-python"
    launcher.write_text(UPSTREAM_LAUNCHER)
    launcher.chmod(0o755)
    return ubin


def test_user_program_imports_creates_and_runs_the_policy_pack_from_the_install(user_project, tmp_path):
    root = user_project
    ubin = _user_pulumi_bin(root)
    cwroles = root / "venv" / "bin" / "cwroles"
    (root / "__main__.py").write_text(PROGRAM)
    (root / "Pulumi.yaml").write_text("name: acme-roles\nruntime:\n  name: python\n  options:\n    virtualenv: venv\n")
    env = {
        "PATH": f"{ubin}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
        "PULUMI_HOME": str(tmp_path / ".pulumi"), "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "install-test", "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    (tmp_path / "state").mkdir()

    # the launcher that makes import_ work, named in Pulumi.yaml as the CLI's output says
    out = _run(cwroles, "provider-plugin", "plugins/pulumi-python", cwd=root, env=env).stdout
    entry = "\n".join(line[2:] for line in out.splitlines()[1:])
    with (root / "Pulumi.yaml").open("a") as f:
        f.write(entry + "\n")
    assert "Pulumi.yaml already names it" in _run(cwroles, "provider-plugin", "plugins/pulumi-python",
                                                  cwd=root, env=env).stdout
    # the policy pack, wired to this project's venv
    out = _run(cwroles, "policy-pack", "cwroles-policy", cwd=root, env=env).stdout
    assert "pulumi preview --policy-pack cwroles-policy" in out

    with running_server(db_path=tmp_path / "cwsim.sqlite") as sim:
        with sim.client() as c:
            legacy = c.post("/system/securityroles", json={"name": "Legacy Sync"}).raise_for_status().json()
        pulumi = lambda *a, check=True: _run("pulumi", *a, "--non-interactive", cwd=root, env=env, check=check)
        pulumi("stack", "init", "dev")
        for key, value in (("connectwise:site", sim.url), ("connectwise:companyId", sim.company_id),
                           ("connectwise:clientId", sim.client_id), ("connectwise:publicKey", sim.public_key),
                           ("test:roleName", "Legacy Sync"), ("test:roleId", str(legacy["id"]))):
            pulumi("config", "set", key, value)
        pulumi("config", "set", "--secret", "connectwise:privateKey", sim.private_key)

        up = pulumi("up", "--yes", "--policy-pack", "cwroles-policy", check=False)
        text = up.stdout + up.stderr
        assert up.returncode == 0, text
        assert "1 imported" in text and "cwroles@v" + VERSION in text
        outputs = json.loads(pulumi("stack", "output", "--json").stdout)
        assert outputs["role_id"] == legacy["id"]
        with sim.client() as c:
            member = c.get(f"/system/apiMembers/{int(outputs['member_id'])}").json()
            assert member["identifier"] == "LegacyBot" and member["securityRole"]["id"] == legacy["id"]
            assert c.get("/system/securityroles/count").json()["count"] == 2  # Admin + the adopted role

        # the pack from the install blocks an admin-like role in a preview
        pulumi("config", "set", "test:roleName", "Sync Admin")
        preview = pulumi("preview", "--policy-pack", "cwroles-policy", check=False)
        text = preview.stdout + preview.stderr
        assert preview.returncode != 0, text
        assert "cwroles-admin-role" in text and "Security role “Sync Admin” is named like an administrator role" in text
        assert "Traceback" not in text
