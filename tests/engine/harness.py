"""Drive the real Pulumi CLI through the Automation API, hermetically.

Every stack lives in a temporary project directory with its own file backend, PULUMI_HOME and
passphrase; the program and the dynamic providers run in the repository's virtualenv.
A missing engine is a failure, never a skip: run `make setup`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pytest
from pulumi import automation as auto

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)
PINNED = "v3.259.0"


def pulumi_bin_dir() -> Path:
    recorded = REPO / ".cwroles" / "pulumi-bin"
    candidates = []
    if recorded.exists():
        candidates.append(Path(recorded.read_text().strip()))
    found = shutil.which("pulumi")
    if found:
        candidates.append(Path(found).parent)
    for c in candidates:
        exe = c / "pulumi"
        if exe.exists():
            out = subprocess.run([str(exe), "version"], capture_output=True, text=True,
                                 env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"})
            if out.stdout.strip() == PINNED and (c / "pulumi-language-python").exists():
                return c
    pytest.fail(f"the Pulumi CLI {PINNED} with its Python language host is not installed; run `make setup`",
                pytrace=False)


@dataclass
class Project:
    """A temporary Pulumi project whose program is ``program`` (Python source)."""

    root: Path
    name: str = "cwtest"
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, root: Path, program: str, name: str = "cwtest", extra_yaml: str = "") -> "Project":
        root.mkdir(parents=True, exist_ok=True)
        (root / "Pulumi.yaml").write_text(textwrap.dedent(f"""\
            name: {name}
            runtime:
              name: python
              options:
                toolchain: pip
                virtualenv: {VENV}
            """) + extra_yaml)
        (root / "__main__.py").write_text(textwrap.dedent(program))
        bindir = pulumi_bin_dir()
        (root / ".state").mkdir(exist_ok=True)
        (root / ".home").mkdir(exist_ok=True)
        env = {
            "PATH": f"{bindir}{os.pathsep}{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_BACKEND_URL": f"file://{root / '.state'}",
            "PULUMI_HOME": str(root / ".home"),
            "PULUMI_CONFIG_PASSPHRASE": "cwroles-test",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }
        return cls(root=root, name=name, env=env)

    def stack(self, stack_name: str = "test", config: Mapping[str, Any] | None = None) -> auto.Stack:
        ws_opts = auto.LocalWorkspaceOptions(
            work_dir=str(self.root),
            env_vars=self.env,
            pulumi_command=auto.PulumiCommand(root=str(pulumi_bin_dir().parent)),
        )
        stack = auto.create_or_select_stack(stack_name, work_dir=str(self.root), opts=ws_opts)
        for key, value in (config or {}).items():
            if isinstance(value, auto.ConfigValue):
                stack.set_config(key, value)
            elif isinstance(value, (list, dict)):
                stack.set_config(key, auto.ConfigValue(json.dumps(value)))
            else:
                stack.set_config(key, auto.ConfigValue(str(value)))
        return stack

    def cli(self, *args: str, stack: str = "test", check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run the pulumi CLI itself in the project directory (as a user would)."""
        env = {**os.environ, **self.env}
        return subprocess.run(["pulumi", *args, "--stack", stack, "--non-interactive"], cwd=self.root,
                              env=env, capture_output=True, text=True, check=check)


def outputs(stack: auto.Stack) -> dict[str, Any]:
    return {k: v.value for k, v in stack.outputs().items()}


def resources(stack: auto.Stack, type_token: str) -> list[dict[str, Any]]:
    """Resources of one type as recorded in the stack's state (after a refresh, the refreshed values)."""
    deployment = stack.export_stack().deployment
    return [r for r in deployment.get("resources", []) if r.get("type") == type_token]
