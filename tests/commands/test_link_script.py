"""After `make setup`, `cwroles` and `cwsim` answer in a plain shell as the docs write them (scripts/link-pulumi.sh)."""

import os
import subprocess
from pathlib import Path

from cwroles import __version__

REPO = Path(__file__).resolve().parents[2]


def _link(tmp_path: Path) -> subprocess.CompletedProcess:
    fake_cli = tmp_path / "pulumi-bin"
    fake_cli.mkdir(exist_ok=True)
    for name in ("pulumi", "pulumi-language-python", "pulumi-language-python-exec", "pulumi-resource-pulumi-python"):
        (fake_cli / name).write_text("#!/bin/sh\necho v3.259.0\n")
        (fake_cli / name).chmod(0o755)
    env = {"HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    return subprocess.run([str(REPO / "scripts" / "link-pulumi.sh"), str(fake_cli)], env=env, capture_output=True,
                          text=True, timeout=60)


def test_setup_links_both_clis_into_local_bin(tmp_path):
    done = _link(tmp_path)
    assert done.returncode == 0, done.stderr
    assert 'export PATH="$HOME/.local/bin:$PATH"' in done.stdout  # ~/.local/bin is not on this PATH yet
    local = tmp_path / "home" / ".local" / "bin"
    plain_shell = {"HOME": str(tmp_path / "home"), "PATH": f"{local}:/usr/bin:/bin", "LANG": "C.UTF-8"}
    for cli in ("cwroles", "cwsim"):
        out = subprocess.run([cli, "--version"], env=plain_shell, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout.strip() == f"{cli} {__version__}", out.stderr
    assert (local / "pulumi").is_symlink()


def test_setup_leaves_a_users_own_install_alone(tmp_path):
    local = tmp_path / "home" / ".local" / "bin"
    local.mkdir(parents=True)
    (local / "cwroles").write_text("#!/bin/sh\necho pipx cwroles\n")
    done = _link(tmp_path)
    assert done.returncode == 0, done.stderr
    assert (local / "cwroles").read_text() == "#!/bin/sh\necho pipx cwroles\n"
    assert "cwroles exists and is not a link: left alone" in done.stdout
    assert os.path.realpath(local / "cwsim") == os.path.realpath(REPO / ".venv" / "bin" / "cwsim")
