"""Manifest validation: a corpus of bad manifests, each with the message it must produce.

Each file in bad_manifests/ starts with ``# expect: <text>`` lines; the rest is the manifest as a user
would write it. The expected text includes the file, the line (counted in the manifest below the expect
lines), the field and the fix. Nothing may raise: every problem is data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cwroles.manifest import Integrations, parse_manifest_text

CORPUS = Path(__file__).parent / "bad_manifests"
FILES = sorted(CORPUS.glob("*.yaml"))


def _split(path: Path) -> tuple[list[str], str]:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    expect = [ln.removeprefix("# expect:").strip() for ln in lines if ln.startswith("# expect:")]
    return expect, "".join(ln for ln in lines if not ln.startswith("# expect:"))


def test_the_corpus_is_large_enough():
    assert len(FILES) >= 30


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_bad_manifest_gives_its_expected_message(path, tmp_path):
    expect, body = _split(path)
    assert expect, f"{path.name} has no '# expect:' line"
    # as a project file found by discovery (names checked against the built-in ones), never raising
    (tmp_path / "Pulumi.yaml").write_text("name: t\n")
    target = tmp_path / "vendor" / path.name
    target.parent.mkdir()
    target.write_text(body, encoding="utf-8")
    found = Integrations.discover(tmp_path, [f"vendor/{path.name}"])
    f = found.by_path(f"vendor/{path.name}")
    assert f is not None and not f.ok
    messages = [str(p).replace("vendor/", "") for p in f.errors]
    for e in expect:
        assert any(e in m for m in messages), f"{path.name}: expected {e!r} in:\n" + "\n".join(messages)
    for p in f.errors:  # every error says where and what to do
        assert p.file and p.message
        assert p.fix or "closest" in p.message or p.message.startswith("not valid YAML"), str(p)


def test_good_manifests_have_no_errors_and_show_renames_as_notices():
    for name in ("managed-backup", "mobius", "msp-process"):
        from importlib import resources

        text = resources.files("cwroles").joinpath(f"data/integrations/{name}.yaml").read_text("utf-8")
        f = parse_manifest_text(text, f"{name}.yaml")
        assert f.ok and f.errors == []
    text = resources.files("cwroles").joinpath("data/integrations/msp-process.yaml").read_text("utf-8")
    notices = [str(p) for p in parse_manifest_text(text, "msp-process.yaml").notices]
    assert any("grants[21].module: module 'Time and Expense' is 'Time & Expense' in ConnectWise PSA" in n
               for n in notices), notices
    assert any("function 'Service Ticket - Dependancies' is 'Service Ticket - Dependencies'" in n for n in notices)
    assert any("Table Setup table 'Contacts / Department' is 'Contacts / Departments'" in n for n in notices)
