"""The README's plain-shell flow from the project root: nothing activated, the virtualenv only named in
Pulumi.yaml, no Pulumi login and no PULUMI_BACKEND_URL, the stack file choosing the bundled emulator.
State lands in the checkout's .state (Pulumi.yaml backend.url) and the global login is never touched;
a preview starts nothing; `pulumi up` starts the emulator and says where (address and database);
destroy removes the checklist; the test stops the emulator it caused."""

import os
import shutil
import socket
import subprocess
import sys

import httpx
import pytest

from cwroles import emulator_defaults as D

from .harness import REPO, pulumi_bin_dir

pytestmark = pytest.mark.engine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_plain_shell_pulumi_up_uses_venv_and_starts_the_emulator(tmp_path):
    root = tmp_path / "checkout"
    root.mkdir()
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.mobius.yaml"):
        shutil.copy(REPO / name, root / name)
    (root / ".venv").symlink_to(REPO / ".venv")  # where `make setup` puts it, relative to the root
    port = _free_port()
    home = tmp_path / "home"
    env = {
        "HOME": str(home),  # no Pulumi login at all, and no PULUMI_BACKEND_URL: Pulumi.yaml names the backend
        "PATH": f"{pulumi_bin_dir()}:/usr/bin:/bin",  # no .venv/bin, no VIRTUAL_ENV
        "PULUMI_CONFIG_PASSPHRASE": "plain",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "CWROLES_EMULATOR_PORT": str(port),
        "LANG": "C.UTF-8",
    }
    (root / ".state").mkdir()  # `make setup` creates it (scripts/with-pulumi-env.sh)
    run = lambda *a: subprocess.run(["pulumi", *a], cwd=root, env=env, capture_output=True, text=True)
    select = run("stack", "select", "--create", "mobius", "--non-interactive")  # as the README says
    assert select.returncode == 0, select.stdout + select.stderr
    assert list((root / ".state").rglob("mobius.json*")), "the stack lives in this checkout's .state"
    assert not (home / ".pulumi" / "credentials.json").exists()  # the global login is untouched
    db = root / ".cwsim" / "tenant.sqlite"
    try:
        preview = run("preview", "--non-interactive", "-s", "mobius")
        assert preview.returncode == 0, preview.stdout + preview.stderr
        assert "`pulumi up` starts it (a preview does not)" in preview.stdout
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0  # a preview starts no server
        assert not db.exists()

        up = run("up", "--yes", "--non-interactive", "-s", "mobius")
        text = up.stdout + up.stderr
        assert up.returncode != 0, text  # the grid needs the admin: a checklist, not a crash
        assert f"started the bundled emulator at http://127.0.0.1:{port} (database {db.resolve()}" in text
        assert "Finance › Accounting Interface › Delete: set All (now None)" in text
        assert "Traceback" not in text
        site = f"http://127.0.0.1:{port}"
        info = httpx.get(f"{site}/login/companyinfo/{D.COMPANY_ID}").json()
        from cwroles.cwsim.testing import basic_auth

        headers = {"Authorization": basic_auth(D.COMPANY_ID, D.ADMIN_PUBLIC_KEY, D.ADMIN_PRIVATE_KEY),
                   "clientId": D.CLIENT_ID}
        api = f"{site}/{info['Codebase']}apis/3.0"
        roles = httpx.get(f"{api}/system/securityroles", params={"conditions": 'name="Mobius"'}, headers=headers).json()
        assert len(roles) == 1
        members = httpx.get(f"{api}/system/apiMembers", params={"conditions": 'identifier="Mobius"'},
                            headers=headers).json()
        assert members[0]["securityRole"]["id"] == roles[0]["id"]
        assert db.exists()  # the emulator's state lives in the project's ignored .cwsim/
        checklist = root / ".cwroles" / "checklists" / "mobius" / D.COMPANY_ID / "Mobius.md"
        assert checklist.exists()

        destroy = run("destroy", "--yes", "--non-interactive", "-s", "mobius")
        assert destroy.returncode == 0, destroy.stdout + destroy.stderr
        assert not checklist.exists()  # destroy leaves no checklist behind
        assert not (home / ".pulumi" / "credentials.json").exists()
    finally:
        subprocess.run([sys.executable, "-m", "cwroles.cwsim.cli", "stop", "--db", str(db)], capture_output=True,
                       env={**os.environ, "CWROLES_EMULATOR_PORT": str(port)})
