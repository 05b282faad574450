"""The resources as a program declares them (provider/resources.py): the same inputs and outputs as the
providers' schemas, a provider pickled as a module path, a kind and a flag, loaded on its first call, and a
program start that imports no model, no HTTP library and no YAML parser."""

from __future__ import annotations

import base64
import gc
import subprocess
import sys

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from cwroles.provider import resources
from cwroles.provider.api_member import ApiMemberArgs, ApiMemberProvider, ApiMemberState
from cwroles.provider.resources import DeferredProvider
from cwroles.provider.role_permissions import RolePermissionsArgs, RolePermissionsProvider, RolePermissionsState
from cwroles.provider.security_role import SecurityRoleArgs, SecurityRoleProvider, SecurityRoleState


def _outputs(state, args) -> tuple[str, ...]:
    return tuple(k for k in state.model_fields if k not in args.model_fields)


def test_names_agree_with_the_schemas():
    assert resources.SECURITY_ROLE_OUTPUTS == _outputs(SecurityRoleState, SecurityRoleArgs)
    assert resources.API_MEMBER_INPUTS == tuple(ApiMemberArgs.model_fields)
    assert resources.API_MEMBER_OUTPUTS == _outputs(ApiMemberState, ApiMemberArgs)
    assert resources.ROLE_PERMISSIONS_OUTPUTS == _outputs(RolePermissionsState, RolePermissionsArgs)


def test_each_kind_is_served_by_its_provider():
    assert {kind: type(DeferredProvider(kind).provider) for kind in resources.PROVIDERS} == {
        "security_role": SecurityRoleProvider, "api_member": ApiMemberProvider,
        "role_permissions": RolePermissionsProvider}
    with pytest.raises(ValueError, match="unknown resource kind 'role'"):
        DeferredProvider("role")


@pytest.mark.parametrize("verify", [False, True])
def test_the_pickle_holds_the_kind_and_the_flag_only(verify):
    p = DeferredProvider("role_permissions", verify_live=verify)
    assert p.provider.verify_live is verify  # loaded: it must not travel with the pickle
    back = dill.loads(base64.b64decode(serialize_provider(p)))
    assert type(back) is DeferredProvider and back.__dict__ == {"kind": "role_permissions", "verify_live": verify}
    assert back.provider.verify_live is verify and back.serialize_as_secret_always is False


def test_calls_reach_the_provider_and_its_answers_come_back(monkeypatch):
    monkeypatch.setenv("CWROLES_PLAN_CACHE", "off")  # every call reaches the provider (remembered verdicts: below)
    bad = {"name": "x" * 31}
    ours, theirs = DeferredProvider("security_role").check({}, bad), SecurityRoleProvider().check({}, bad)
    assert ours.failures and [f.reason for f in ours.failures] == [f.reason for f in theirs.failures]

    class Recorder:
        def __getattr__(self, name):
            return lambda *args: (name, args)

    p = DeferredProvider("api_member")
    p.__dict__["_provider"] = Recorder()
    assert [p.check({"a": 1}, {"b": 2}), p.diff("7", {}, {"c": 3}), p.create({"d": 4}), p.read("7", {}),
            p.update("7", {}, {"e": 5})] == [
        ("check", ({"a": 1}, {"b": 2})), ("diff", ("7", {}, {"c": 3})), ("create", ({"d": 4},)),
        ("read", ("7", {})), ("update", ("7", {}, {"e": 5}))]
    assert p.delete("7", {}) is None


def test_configure_keeps_the_settings_without_loading_a_provider(monkeypatch):
    from types import SimpleNamespace

    from cwroles.provider import _config

    monkeypatch.setattr(_config, "_configured", {})
    p = DeferredProvider("role_permissions")
    p.configure(SimpleNamespace(config={"connectwise:companyId": "acme", "cwroles:integration": "x"}))
    assert _config._configured == {"stack": {"connectwise:companyId": "acme"}} and "_provider" not in p.__dict__


def test_loading_a_provider_leaves_the_collector_on():
    assert gc.isenabled()
    assert isinstance(DeferredProvider("api_member").provider, ApiMemberProvider)
    assert gc.isenabled()


def test_parallel_first_calls_load_one_at_a_time_with_the_collector_off(monkeypatch):
    """A refresh reads every resource at once, in the engine's threads: no load may turn the collector back
    on while another one still imports."""
    import threading
    import time
    from types import SimpleNamespace

    second_started = threading.Event()
    collector_on: dict[str, bool] = {}

    def import_module(module: str, package: str | None = None) -> SimpleNamespace:
        if module == ".security_role":  # the first load: waits (a little) for the second to begin
            second_started.wait(0.2)
        else:
            second_started.set()
            time.sleep(0.05)
        collector_on[module] = gc.isenabled()
        return SimpleNamespace(**{name: object for _, name in resources.PROVIDERS.values()})

    monkeypatch.setattr(resources.importlib, "import_module", import_module)
    first = threading.Thread(target=resources._provider_class, args=("security_role",))
    first.start()
    time.sleep(0.02)
    second = threading.Thread(target=resources._provider_class, args=("api_member",))
    second.start()
    first.join()
    second.join()
    assert collector_on == {".security_role": False, ".api_member": False}
    assert gc.isenabled()


def _fresh_python(code: str) -> list[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


HEAVY = ("pydantic", "httpx", "yaml", "cwroles.catalog", "cwroles.manifest", "cwroles.provider.role_permissions",
         "cwroles.stacks.program")


def test_declaring_resources_loads_no_model():
    out = _fresh_python(
        "import sys\n"
        "import pulumi\n"
        "before = {m for m in sys.modules if m.split('.')[0] in ('pydantic', 'httpx', 'yaml')}\n"
        "from cwroles.stacks import main\n"
        "from cwroles.stacks import declare, plan_cache\n"
        "from cwroles.provider import SecurityRole, ApiMember, RolePermissions\n"
        f"print(*[m for m in {HEAVY!r} if m in sys.modules and m not in before] or ['none'])\n")
    assert out == ["none"]


def test_the_provider_process_loads_only_on_the_first_call():
    out = _fresh_python(
        "import sys, base64, dill\n"
        "from pulumi.dynamic.dynamic import serialize_provider\n"
        "from cwroles.provider.resources import DeferredProvider\n"
        "s = serialize_provider(DeferredProvider('security_role'))\n"
        "p = dill.loads(base64.b64decode(s))\n"
        "print('cwroles.provider.security_role' in sys.modules)\n"
        "p.check({}, {'name': 'Ok'})\n"
        "print('cwroles.provider.security_role' in sys.modules)\n")
    assert out == ["False", "True"]


# ---- the verdicts a provider remembers ---------------------------------------------------------------
class Recorder:
    """A provider that answers what it is told to and counts the calls (put in a DeferredProvider's place)."""

    def __init__(self, check=None, diff=None) -> None:
        from pulumi.dynamic import CheckResult, DiffResult

        self.calls: list[str] = []
        self._check = check or (lambda olds, news: CheckResult(news, []))
        self._diff = diff or (lambda id_, olds, news: DiffResult(changes=False, replaces=[]))

    def check(self, olds, news):
        self.calls.append("check")
        return self._check(olds, news)

    def diff(self, id_, olds, news):
        self.calls.append("diff")
        return self._diff(id_, olds, news)


def _deferred(recorder: Recorder, kind: str = "role_permissions", verify: bool = False) -> DeferredProvider:
    p = DeferredProvider(kind, verify_live=verify)
    p.__dict__["_provider"] = recorder
    return p


@pytest.fixture
def tenant(monkeypatch):
    """A configured tenant (what the engine's Configure sends), changeable by the test."""
    from cwroles.provider import _config

    def configure(company: str = "acme") -> None:
        values = {"connectwise:site": "http://127.0.0.1:9", "connectwise:companyId": company,
                  "connectwise:clientId": "cid", "connectwise:publicKey": "pk", "connectwise:privateKey": "sk"}
        _config.configure(values.get)

    monkeypatch.setattr(_config, "_configured", {})
    configure()
    return configure


OLDS = {"role_id": 5, "grants": [{"module": "Finance", "function": "Invoicing", "add": "All"}]}
NEWS = {**OLDS, "role_name": "Mobius"}


def test_a_passed_check_and_a_preview_diff_are_answered_from_the_cache(tenant):
    first, second = Recorder(), Recorder()
    for r in (first, second):
        p = _deferred(r)
        assert p.check(OLDS, NEWS).inputs == NEWS and p.check(OLDS, NEWS).failures == []
        assert p.diff("5", OLDS, NEWS).changes is False
    assert first.calls == ["check", "diff"] and second.calls == []


def test_what_a_check_computes_comes_back_from_the_cache(tenant):
    from pulumi.dynamic import CheckResult

    widening = {"cells": [{"module": "Finance", "function": "Invoicing", "level": "add"}], "features_added": []}
    make = lambda: Recorder(check=lambda olds, news: CheckResult({**news, "widening": widening}, []))
    first, second = make(), make()
    results = [_deferred(r).check(OLDS, NEWS) for r in (first, second)]
    assert [r.inputs for r in results] == [{**NEWS, "widening": widening}] * 2 and second.calls == []


@pytest.mark.parametrize("answer", ["failure", "changed input", "dropped input"])
def test_a_check_that_failed_or_changed_the_inputs_is_asked_again(tenant, answer):
    from pulumi.dynamic import CheckFailure, CheckResult

    def check(olds, news):
        if answer == "failure":
            return CheckResult(news, [CheckFailure("grants", "Finance › Invoicing › add: no such level")])
        if answer == "changed input":
            return CheckResult({**news, "role_name": "MOBIUS"}, [])
        return CheckResult({k: v for k, v in news.items() if k != "role_name"}, [])

    recorders = [Recorder(check=check) for _ in range(2)]
    results = [_deferred(r).check(OLDS, NEWS) for r in recorders]
    assert [r.calls for r in recorders] == [["check"], ["check"]]
    assert bool(results[1].failures) is (answer == "failure")


def test_a_diff_that_reads_connectwise_is_never_remembered(tenant):
    recorders = [Recorder() for _ in range(2)]
    for r in recorders:
        _deferred(r, verify=True).diff("5", OLDS, NEWS)
    assert [r.calls for r in recorders] == [["diff"], ["diff"]]


def test_a_diff_after_a_read_runs_to_consume_the_reads_mark(tenant, monkeypatch):
    from cwroles.provider import _common

    _deferred(Recorder()).diff("5", OLDS, NEWS)  # remembered
    monkeypatch.setattr(_common, "_reads", {"fingerprint": 1})
    r = Recorder()
    _deferred(r).diff("5", OLDS, NEWS)
    assert r.calls == ["diff"]
    monkeypatch.setattr(_common, "_reads", {"fingerprint": 0})  # consumed: the cache answers again
    r = Recorder()
    _deferred(r).diff("5", OLDS, NEWS)
    assert r.calls == []


@pytest.mark.parametrize("change", ["tenant", "inputs", "kind", "code", "cache off", "incomplete settings"])
def test_anything_the_verdict_depends_on_asks_again(tenant, change, monkeypatch):
    _deferred(Recorder()).check(OLDS, NEWS)
    news, kind = NEWS, "role_permissions"
    if change == "tenant":
        tenant("other-company")
    elif change == "inputs":
        news = {**NEWS, "role_name": "Mobius Two"}
    elif change == "kind":
        kind = "security_role"
    elif change == "code":
        monkeypatch.setattr(resources, "_code", ["another installed version"])
    elif change == "cache off":
        monkeypatch.setenv("CWROLES_PLAN_CACHE", "off")
    else:
        from cwroles.provider import _config

        monkeypatch.setattr(_config, "_configured", {})
        monkeypatch.delenv("CONNECTWISE_SITE", raising=False)
    r = Recorder()
    _deferred(r, kind).check(OLDS, news)
    assert r.calls == ["check"]


def test_only_verdicts_are_written(tenant, own_plan_cache):
    secret = "a-value-that-must-stay-in-state-only"
    p = _deferred(Recorder())
    p.check(OLDS, {**NEWS, "role_name": secret})
    p.diff("5", OLDS, {**NEWS, "role_name": secret})
    files = list((own_plan_cache / resources.CHECKS_FOLDER).iterdir())
    assert len(files) == 2
    written = " ".join(f.read_text() for f in files)
    assert secret not in written and "Invoicing" not in written and "acme" not in written


@pytest.mark.parametrize("content", ["", "[]", '{"check": ["role_name"]}', '{"check": {"role_name": "x"}}',
                                     '{"diff": {"changes": false}}', '{"diff": "no"}'])
def test_a_damaged_or_foreign_entry_is_a_miss(tenant, own_plan_cache, content):
    p = _deferred(Recorder())
    p.check(OLDS, NEWS)
    p.diff("5", OLDS, NEWS)
    for f in (own_plan_cache / resources.CHECKS_FOLDER).iterdir():
        f.write_text(content)
    r = Recorder()
    again = _deferred(r)
    assert again.check(OLDS, NEWS).inputs == NEWS and again.diff("5", OLDS, NEWS).changes is False
    assert r.calls == ["check", "diff"]


def test_old_entries_are_pruned(tenant, own_plan_cache):
    import os

    folder = own_plan_cache / resources.CHECKS_FOLDER
    folder.mkdir(parents=True)
    stale, fresh = folder / "stale.json", folder / "fresh.json"
    for f in (stale, fresh):
        f.write_text("{}")
    os.utime(stale, (1, 1))
    _deferred(Recorder()).check(OLDS, NEWS)
    assert not stale.exists() and fresh.exists()


def test_a_second_process_answers_a_preview_without_loading_the_provider(tmp_path):
    code = (
        "import sys, json\n"
        "from cwroles.provider import _config\n"
        "from cwroles.provider.resources import DeferredProvider\n"
        "_config.configure({'connectwise:site': 'http://127.0.0.1:9', 'connectwise:companyId': 'acme',"
        " 'connectwise:clientId': 'c', 'connectwise:publicKey': 'p', 'connectwise:privateKey': 's'}.get)\n"
        "news = {'name': 'Mobius', 'role_type': None, 'admin_flag': False, 'adopt_existing': False, 'stack': 'dev'}\n"
        "p = DeferredProvider('security_role')\n"
        "r = p.check(news, news); d = p.diff('5', news, news)\n"
        "print(r.failures == [], d.changes, 'cwroles.provider.security_role' in sys.modules, 'pydantic' in sys.modules)\n")
    env = {**__import__("os").environ, "CWROLES_PLAN_CACHE": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout.split()
            for _ in range(2)]
    assert runs == [["True", "False", "True", "True"], ["True", "False", "False", "False"]]
