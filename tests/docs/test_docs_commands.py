"""Every command block in README.md and docs/*.md marked as runnable is run, as written, against the emulator.

Marking a block (the comment renders invisibly on GitHub; put it on the line right before the fence):

    <!-- runnable -->
    ```bash
    cwroles manifest list
    ```

The block runs with ``bash -euo pipefail`` (every command must succeed) in a throw-away copy of the
project (Pulumi.yaml, __main__.py, the Pulumi.<stack>.yaml files, policies/, and .venv pointing at
this checkout's virtualenv), in a plain shell as `make setup` leaves it: ``pulumi``, ``cwroles`` and
``cwsim`` reachable through ``~/.local/bin`` of a temporary HOME, a file backend and PULUMI_HOME of
its own, the passphrase ``cwroles-local``. ``CWROLES_EMULATOR_PORT`` is an ephemeral port (never
8765) where the copy's own bundled emulator already runs (``cwsim serve --background`` with the copy's
``.cwsim/tenant.sqlite``, as ``pulumi up`` would have started it), so stacks that chose the emulator use
it; mark a block that starts the emulator itself ``<!-- runnable: own-emulator -->`` to get a free port
with nothing on it.
Anything the block leaves running under the copy's .cwsim/ is stopped afterwards. Blocks that call
``pulumi`` are engine tests (``-m engine``); the others run in the quick suite.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from cwroles.cwsim.testing import free_port
from tests import sandbox

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
MARKER = re.compile(r"^\s*<!--\s*runnable\b(?::\s*(?P<options>[^>]*?))?\s*-->\s*$")
FENCE = re.compile(r"^\s*```\s*(?P<lang>[\w-]*)\s*$")
SHELLS = {"sh", "bash", "shell"}
OPTIONS = {"own-emulator"}


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the marker, 1-based
    code: str
    options: frozenset[str]

    @property
    def id(self) -> str:
        return f"{self.doc.relative_to(REPO)}:{self.line}"

    @property
    def uses_engine(self) -> bool:
        return re.search(r"(^|[\s;&|(])pulumi\s", self.code, flags=re.M) is not None


def parse(doc: Path) -> tuple[list[Block], list[str]]:
    """The runnable blocks of one document, and the problems with its markers."""
    blocks, problems = [], []
    lines = doc.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if not m:
            continue
        where = f"{doc.relative_to(REPO)}:{i + 1}"
        options = frozenset(o.strip() for o in (m["options"] or "").split(",") if o.strip())
        if options - OPTIONS:
            problems.append(f"{where}: unknown runnable option(s) {sorted(options - OPTIONS)}; known: {sorted(OPTIONS)}")
        fence = FENCE.match(lines[i + 1]) if i + 1 < len(lines) else None
        if not fence or fence["lang"] not in SHELLS:
            problems.append(f"{where}: a runnable marker must stand right before a ```bash or ```sh fence")
            continue
        end = next((j for j in range(i + 2, len(lines)) if FENCE.match(lines[j]) and not FENCE.match(lines[j])["lang"]),
                   None)
        if end is None:
            problems.append(f"{where}: the block never closes")
            continue
        blocks.append(Block(doc, i + 1, "\n".join(lines[i + 2:end]) + "\n", options))
    return blocks, problems


def all_blocks() -> list[Block]:
    return [b for doc in DOCS for b in parse(doc)[0]]


def test_runnable_markers_are_well_formed_and_used():
    problems = [p for doc in DOCS for p in parse(doc)[1]]
    assert problems == []
    blocks = all_blocks()
    assert len(blocks) >= 5, [b.id for b in blocks]  # the docs keep their runnable examples
    assert {b.doc.name for b in blocks} >= {"README.md", "stacks.md", "emulator.md", "policies.md"}


def test_parser_reads_markers_options_and_rejects_stray_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    doc = tmp_path / "x.md"
    doc.write_text("<!-- runnable -->\n```bash\necho a\npulumi version\n```\n\n<!-- runnable: own-emulator -->\n"
                   "```sh\ncwsim status\n```\n<!-- runnable -->\n\n```bash\necho b\n```\n"
                   "<!-- runnable: nope -->\n```python\nx\n```\n")
    blocks, problems = parse(doc)
    assert [(b.line, b.code, b.options, b.uses_engine) for b in blocks] == [
        (1, "echo a\npulumi version\n", frozenset(), True),
        (7, "cwsim status\n", frozenset({"own-emulator"}), False)]
    assert problems == ["x.md:11: a runnable marker must stand right before a ```bash or ```sh fence",
                        "x.md:16: unknown runnable option(s) ['nope']; known: ['own-emulator']",
                        "x.md:16: a runnable marker must stand right before a ```bash or ```sh fence"]


def _project(root: Path) -> None:
    """A throw-away copy of what a user runs stacks from: the repository's project files."""
    root.mkdir(parents=True)
    for f in [REPO / "Pulumi.yaml", REPO / "__main__.py", *REPO.glob("Pulumi.*.yaml")]:
        shutil.copy2(f, root / f.name)
    shutil.copytree(REPO / "policies", root / "policies",
                    ignore=shutil.ignore_patterns("__pycache__", ".venv", "*.pyc"))
    (root / ".venv").symlink_to(VENV)


def _plain_shell_home(home: Path, with_pulumi: bool) -> Path:
    """HOME with ~/.local/bin as `make setup` links it (scripts/link-pulumi.sh)."""
    local = home / ".local" / "bin"
    local.mkdir(parents=True)
    for cli in ("cwroles", "cwsim"):
        (local / cli).symlink_to(VENV / "bin" / cli)
    if with_pulumi:
        for f in sandbox.pulumi_bin_dir().iterdir():
            if f.name.startswith("pulumi"):
                (local / f.name).symlink_to(f)
    return local


def _run(block: Block, tmp_path: Path, port: int, start_emulator: bool) -> subprocess.CompletedProcess[str]:
    root = tmp_path / "project"
    _project(root)
    local = _plain_shell_home(tmp_path / "home", block.uses_engine)
    (tmp_path / "state").mkdir()
    env = {
        "HOME": str(tmp_path / "home"),
        "PATH": f"{local}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "cwroles-local",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "CWROLES_EMULATOR_PORT": str(port),
        "CWROLES_POLICY_TODAY": "2026-06-15",  # the Mobius waivers stay valid whatever the date
    }
    db = root / ".cwsim" / "tenant.sqlite"
    try:
        if start_emulator:
            subprocess.run([str(VENV / "bin" / "cwsim"), "serve", "--background", "--host", "127.0.0.1",
                            "--port", str(port), "--db", str(db)], cwd=root, env=env, capture_output=True,
                           text=True, timeout=60, check=True)
        return subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], cwd=root, env=env,
                              capture_output=True, text=True, timeout=600)
    finally:
        if any(db.parent.glob("*.pid")):
            subprocess.run([str(VENV / "bin" / "cwsim"), "stop", "--db", str(db)], cwd=root, env=env,
                           capture_output=True, timeout=60)


@pytest.mark.parametrize("block", [pytest.param(b, id=b.id, marks=[pytest.mark.engine] if b.uses_engine else [])
                                   for b in all_blocks()])
def test_runnable_block(block: Block, tmp_path):
    done = _run(block, tmp_path, free_port(), start_emulator="own-emulator" not in block.options)
    assert done.returncode == 0, (f"{block.id} failed (exit {done.returncode}):\n{block.code}\n--- stdout\n"
                                  f"{done.stdout[-6000:]}\n--- stderr\n{done.stderr[-6000:]}")
    assert "Traceback" not in done.stdout + done.stderr
