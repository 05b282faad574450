"""The program's plan cache: a plan is reused only for exactly the inputs it was built from, an error is
never cached, a secret setting is never written, and a cache that cannot be read or written only costs time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cwroles import cache
from cwroles.problems import Problem
from cwroles.stacks import plan_cache
from cwroles.stacks.plan import Adopt, Plan
from cwroles.stacks.program import StackConfigError, plan_from_config

OWN = """\
integration: dispatch
title: Dispatch
vendor_page: https://example.com/dispatch
role: {name: Dispatch}
api_member: {identifier: dispatch, name: Dispatch}
grants:
- {module: Service Desk, function: Service Tickets, inquire: All, reason: r, source: s}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "project"
    (root / "integrations").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    (root / "Pulumi.dev.yaml").write_text("config:\n  cwroles:integration: mobius\n")
    monkeypatch.chdir(root)
    return root


class Builds:
    """``build`` for cached_plan, counting its calls (the real plan of the project's config)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.calls = 0

    def plan(self, raw: dict, cacheable: bool = True) -> Plan:
        def build() -> Plan:
            self.calls += 1
            return plan_from_config(raw, root=self.root)

        return plan_cache.cached_plan(raw, self.root, "dev", self.root / "Pulumi.dev.yaml", build, cacheable)


def test_plan_round_trips_through_json():
    plan = Plan("x", "X", "x-role", "x-permissions", "x-api-member", {"name": "X"}, {"grants": [{"a": 1}]},
                {"identifier": "x"}, "next", ["f"], [Problem("renamed", "fix it", "f.yaml", 3, "grants[0]", "notice", "A › B")],
                Adopt(role_id=3, member_id=4))
    assert Plan.from_json(json.loads(json.dumps(plan.to_json()))) == plan
    assert Plan.from_json(json.loads(json.dumps({**plan.to_json(), "adopt": None}))).adopt is None


def test_same_inputs_build_once_and_give_the_same_plan(project, own_plan_cache):
    b = Builds(project)
    first = b.plan({"integration": "mobius"})
    again = b.plan({"integration": "mobius"})
    assert b.calls == 1 and again == first
    assert [p.parent for p in own_plan_cache.iterdir()] == [own_plan_cache]


@pytest.mark.parametrize("change", ["config", "stack file", "new manifest", "edited manifest", "code"])
def test_any_change_of_the_inputs_builds_again(project, change, monkeypatch, tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "module.py").write_text("x = 1\n")
    monkeypatch.setattr(plan_cache, "_code_folders", lambda: [code])
    (project / "integrations" / "dispatch.yaml").write_text(OWN)
    b = Builds(project)
    raw = {"integration": "dispatch"}
    b.plan(raw)
    if change == "config":
        raw = {"integration": "dispatch", "roleName": "Dispatch Two"}
    elif change == "stack file":
        (project / "Pulumi.dev.yaml").write_text("config:\n  cwroles:integration: dispatch\n")
    elif change == "new manifest":
        (project / "integrations" / "other.yaml").write_text(OWN.replace("dispatch", "other"))
    elif change == "edited manifest":
        (project / "integrations" / "dispatch.yaml").write_text(OWN.replace("inquire: All", "inquire: All, edit: My"))
    else:
        (code / "module.py").write_text("x = 22\n")
    plan = b.plan(raw)
    assert b.calls == 2
    if change == "edited manifest":
        [grant] = plan.permissions_args["grants"]
        assert grant["edit"] == "My"
    if change == "config":
        assert plan.role_args["name"] == "Dispatch Two"


def test_a_manifest_named_by_path_is_part_of_the_key(project):
    (project / "vendors").mkdir()
    path = project / "vendors" / "dispatch.yaml"
    path.write_text(OWN)
    b = Builds(project)
    raw = {"manifest": "vendors/dispatch.yaml"}
    b.plan(raw)
    b.plan(raw)
    path.write_text(OWN.replace("name: Dispatch}", "name: Dispatch Desk}"))
    assert b.plan(raw).role_args["name"] == "Dispatch Desk" and b.calls == 2


def test_an_error_is_never_cached(project):
    (project / "integrations" / "dispatch.yaml").write_text(OWN.replace("inquire: All", "inquire: Everything"))
    b = Builds(project)
    for _ in range(2):
        with pytest.raises(StackConfigError, match="Everything"):
            b.plan({"integration": "dispatch"})
    assert b.calls == 2
    (project / "integrations" / "dispatch.yaml").write_text(OWN)
    assert b.plan({"integration": "dispatch"}).integration == "dispatch"


def test_not_cacheable_never_reads_nor_writes(project, own_plan_cache):
    b = Builds(project)
    b.plan({"integration": "mobius"}, cacheable=False)
    b.plan({"integration": "mobius"}, cacheable=False)
    assert b.calls == 2 and not own_plan_cache.exists()


def test_off_turns_the_cache_off(project, monkeypatch):
    monkeypatch.setenv("CWROLES_PLAN_CACHE", "off")
    b = Builds(project)
    b.plan({"integration": "mobius"})
    b.plan({"integration": "mobius"})
    assert b.calls == 2 and cache.cache_dir() is None


@pytest.mark.parametrize("content", ["", "{not json", '{"format": 1, "key": "other", "plan": {}}', "[]",
                                     '{"format": 1, "key": "KEY", "plan": {"integration": "x"}}'])
def test_an_unreadable_or_foreign_entry_builds_again(project, content):
    b = Builds(project)
    first = b.plan({"integration": "mobius"})
    [entry] = cache.cache_dir().iterdir()  # type: ignore[union-attr]
    key = json.loads(entry.read_text())["key"]
    entry.write_text(content.replace("KEY", key))
    assert b.plan({"integration": "mobius"}) == first and b.calls == 2
    assert json.loads(entry.read_text())["key"] == key  # written again


def test_a_cache_that_cannot_be_written_only_costs_time(project, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("CWROLES_PLAN_CACHE", str(blocker / "plans"))
    b = Builds(project)
    assert b.plan({"integration": "mobius"}).integration == "mobius"
    assert b.plan({"integration": "mobius"}).integration == "mobius"
    assert b.calls == 2 and not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))


def test_stacks_and_projects_have_their_own_entries(project, own_plan_cache, tmp_path):
    assert plan_cache.entry_path(project, "dev") != plan_cache.entry_path(project, "prod")
    assert plan_cache.entry_path(project, "dev") != plan_cache.entry_path(tmp_path, "dev")


def test_installed_code_folders_are_the_core_and_the_stacks():
    assert {p.name for p in plan_cache._code_folders()} == {"cwroles", "stacks"}
    stamp_files = [f for folder in plan_cache._code_folders() for f in cache.code_files(folder)]
    assert any(e.name == "catalog.json" for e in stamp_files) and any(e.name == "program.py" for e in stamp_files)
