"""One version (pyproject.toml), and the copies that must agree with it; licence and changelog present."""

import re
import tomllib
from importlib.metadata import metadata
from pathlib import Path

import yaml

from cwroles import __version__

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_installed_version_is_pyprojects():
    assert __version__ == PYPROJECT["project"]["version"]


def test_repository_policy_pack_reports_the_same_version():
    assert yaml.safe_load((REPO / "policies" / "PulumiPolicy.yaml").read_text())["version"] == __version__


def test_changelog_names_the_current_version_first():
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", (REPO / "CHANGELOG.md").read_text(), flags=re.M)
    assert versions and versions[0] == __version__


def test_licence_is_declared_and_shipped():
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert "Apache License" in (REPO / "LICENSE").read_text().splitlines()[1]
    assert metadata("cwroles")["License-Expression"] == "Apache-2.0"


def test_no_unused_web_framework_dependency():
    deps = [re.split(r"[=<>~!\[ ]", d, maxsplit=1)[0].lower() for d in PYPROJECT["project"]["dependencies"]]
    assert "fastapi" not in deps  # the emulator is Starlette + uvicorn; nothing imports fastapi
    sources = [p for d in ("cwroles", "provider", "stacks", "policies", "cwsim", "commands") for p in (REPO / d).rglob("*.py")]
    assert not [p for p in sources if re.search(r"^\s*(from|import)\s+fastapi\b", p.read_text(), flags=re.M)]
