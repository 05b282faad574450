"""The resources as a program declares them (provider/resources.py): the same inputs and outputs as the
providers' schemas, a provider pickled as a module path, a kind and a flag, loaded on its first call, and a
program start that imports no model, no HTTP library and no YAML parser."""

from __future__ import annotations

import base64
import gc
import json
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

    calls = []

    class Recorder:
        def __getattr__(self, name):
            return lambda *args: calls.append((name, args)) or (name, args)

    p = DeferredProvider("api_member")
    p.__dict__["_provider"] = Recorder()
    assert [p.check({"a": 1}, {"b": 2}), p.diff("7", {}, {"c": 3}), p.create({"d": 4}), p.read("7", {}),
            p.update("7", {}, {"e": 5})] == [
        ("check", ({"a": 1}, {"b": 2})), ("diff", ("7", {}, {"c": 3})), ("create", ({"d": 4},)),
        ("read", ("7", {})), ("update", ("7", {}, {"e": 5}))]
    assert p.delete("7", {"f": 6}) is None and calls[-1] == ("delete", ("7", {"f": 6}))
    verifying = DeferredProvider("api_member", verify_live=True)  # `pulumi up`'s diff
    verifying.__dict__["_provider"] = Recorder()
    assert verifying.diff("7", {"g": 7}, {"h": 8}) == ("diff", ("7", {"g": 7}, {"h": 8}))


def test_a_provider_is_loaded_once_and_reads_connectwise_in_diff_only_when_asked_to():
    p = DeferredProvider("api_member")
    assert p.provider is p.provider and p.verify_live is False and p.provider.verify_live is False


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
@pytest.fixture(autouse=True)
def no_marks(monkeypatch):
    """Each test starts with no read waiting for its diff (the marks are process-wide)."""
    from cwroles.provider import reads

    monkeypatch.setattr(reads, "_marks", {})


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


def test_the_diff_after_a_read_takes_the_reads_mark_when_the_cache_answers(tenant):
    from cwroles.provider import reads

    _deferred(Recorder()).diff("5", OLDS, NEWS)  # remembered
    reads.note(dict(OLDS))
    r = Recorder()
    assert _deferred(r, verify=True).diff("5", OLDS, NEWS).changes is False  # a refresh's diff: no request
    assert r.calls == [] and not reads.marked(OLDS)
    r = Recorder()
    _deferred(r, verify=True).diff("5", OLDS, NEWS)  # `pulumi up` later in the same process: reads ConnectWise
    assert r.calls == ["diff"]


def test_a_refresh_diff_the_cache_does_not_know_leaves_the_mark_to_the_provider(tenant):
    from cwroles.provider import reads

    reads.note(dict(OLDS))
    r = Recorder()
    _deferred(r, verify=True).diff("5", OLDS, NEWS)
    assert r.calls == ["diff"] and reads.marked(OLDS)  # the provider's diff takes it (BaseProvider.should_verify)


@pytest.mark.parametrize("change", ["tenant", "inputs", "old inputs", "kind", "code", "cache off",
                                    "incomplete settings"])
def test_anything_the_verdict_depends_on_asks_again(tenant, change, monkeypatch):
    _deferred(Recorder()).check(OLDS, NEWS)
    olds, news, kind = OLDS, NEWS, "role_permissions"
    if change == "tenant":
        tenant("other-company")
    elif change == "inputs":
        news = {**NEWS, "role_name": "Mobius Two"}
    elif change == "old inputs":  # what a check computes (widening) depends on them
        olds = {**OLDS, "grants": []}
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
    _deferred(r, kind).check(olds, news)
    assert r.calls == ["check"]


@pytest.mark.parametrize("change", ["kind", "id", "olds", "news"])
def test_a_diff_is_remembered_for_its_resource_and_inputs_only(tenant, change):
    _deferred(Recorder()).diff("5", OLDS, NEWS)
    kind, id_, olds, news = "role_permissions", "5", OLDS, NEWS
    if change == "kind":
        kind = "security_role"
    elif change == "id":
        id_ = "6"
    elif change == "olds":
        olds = {**OLDS, "grants": []}
    else:
        news = {**NEWS, "role_name": "Mobius Two"}
    r = Recorder()
    _deferred(r, kind).diff(id_, olds, news)
    assert r.calls == ["diff"]


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


# ---- refreshes: a read that finds nothing changed ----------------------------------------------------
class Unusable:
    """In a DeferredProvider's place: any call means the provider was loaded."""

    def __getattr__(self, name: str):
        raise AssertionError(f"the provider was asked for {name}")


class Spy:
    """A real provider whose calls are counted."""

    def __init__(self, provider) -> None:
        self.provider, self.calls = provider, []

    def __getattr__(self, name: str):
        self.calls.append(name)
        return getattr(self.provider, name)


def _member(**kw):
    return {"id": 31, "identifier": "svc-acme", "name": "Acme integration", "securityRole": {"id": 12},
            "timeZone": {"id": 1}, "structureLevel": {"id": 2}, "securityLocation": {"id": 3},
            "defaultLocation": {"id": 3}, "defaultDepartment": {"id": 4}, "inactiveFlag": False, **kw}


ROLE_BODY = {"id": 12, "name": "Mobius", "adminFlag": False}
GRANTS = [{"module": "Companies", "function": "Company Maintenance", "inquire": "All"}]


def _connectwise(cw, kind: str, **changes):
    """The one request a refresh of ``kind`` makes, answered by ``cw`` (respx); returns (route, id, state):
    the state an `up` left, computed by the provider itself."""
    import httpx

    from prov_fakes import BASE, settings_rows

    if kind == "security_role":
        route = cw.get(f"{BASE}/system/securityroles/12").mock(return_value=httpx.Response(200, json={**ROLE_BODY, **changes}))
        return route, "12", SecurityRoleProvider().read("12", {"name": "Mobius", "stack": "dev"}).outs
    if kind == "api_member":
        route = cw.get(f"{BASE}/system/apiMembers/31").mock(return_value=httpx.Response(200, json=_member(**changes)))
        return route, "31", ApiMemberProvider().read("31", {"identifier": "svc-acme", "name": "Acme integration",
                                                            "role_id": 12}).outs
    rows = settings_rows({("Companies", "Company Maintenance"): {"inquire": changes.get("inquire", "All")}})
    route = cw.get(f"{BASE}/system/securityRoles/12/settings").mock(return_value=httpx.Response(200, json=rows))
    p = RolePermissionsProvider()
    inputs = p.check({}, {"role_id": 12, "role_name": "Mobius", "grants": GRANTS}).inputs
    return route, "12", p.read("12", inputs).outs


def _refresh(kind: str, id_: str, state: dict, provider=None):
    p = DeferredProvider(kind)
    if provider is not None:
        p.__dict__["_provider"] = provider
    return p.read(id_, {**state, "__provider": "the serialized provider"})


@pytest.mark.parametrize("kind", ["security_role", "api_member", "role_permissions"])
def test_a_refresh_that_finds_nothing_changed_is_answered_without_the_provider(cw, kind, own_plan_cache):
    route, id_, state = _connectwise(cw, kind)
    assert _refresh(kind, id_, state).outs == state  # the provider computed it and found nothing changed
    again = _refresh(kind, id_, state, Unusable())
    assert (again.id, again.outs, again.inputs) == (id_, state, None)
    assert route.call_count == 3  # every read asks ConnectWise
    [written] = [json.loads(f.read_text()) for f in (own_plan_cache / resources.CHECKS_FOLDER).iterdir()]
    assert written == {"read": "unchanged"}  # nothing of the state nor of ConnectWise's answer


@pytest.mark.parametrize("change", ["answer", "state", "day", "code", "settings"])
def test_anything_a_read_depends_on_asks_the_provider_again(cw, monkeypatch, change):
    import httpx

    route, id_, state = _connectwise(cw, "role_permissions")
    _refresh("role_permissions", id_, state)
    if change == "answer":  # an admin changed a level in ConnectWise
        from prov_fakes import settings_rows

        rows = settings_rows({("Companies", "Company Maintenance"): {"inquire": "None"}})
        route.mock(return_value=httpx.Response(200, json=rows))
    elif change == "state":
        state = {**state, "integration": "another"}
    elif change == "day":
        monkeypatch.setattr(resources, "_today", lambda: "2099-01-01")
    elif change == "code":
        monkeypatch.setattr(resources, "_code", ["another installed version"])
    else:
        monkeypatch.setenv("CONNECTWISE_CODEBASE", "v2025_1")
    spy = Spy(RolePermissionsProvider())
    got = _refresh("role_permissions", id_, state, spy)
    assert spy.calls == ["read_fetched"]
    if change == "answer":
        assert got.outs["drift"] == ["Companies › Company Maintenance › Inquire: now None (was All)"]


@pytest.mark.parametrize("status", [404, 500])
def test_a_role_gone_or_a_refusal_is_never_remembered(cw, own_plan_cache, status):
    import httpx

    from cwroles.provider import ConnectWiseError

    route, id_, state = _connectwise(cw, "security_role")
    route.mock(return_value=httpx.Response(status, json={"code": "Nope", "message": "no", "errors": []}))
    for _ in range(2):
        spy = Spy(SecurityRoleProvider())
        if status == 404:
            assert _refresh("security_role", id_, state, spy).id == ""  # deleted outside Pulumi
            assert spy.calls == ["read_fetched"]
        else:
            with pytest.raises(ConnectWiseError):
                _refresh("security_role", id_, state, spy)
            assert spy.calls == []
    assert not (own_plan_cache / resources.CHECKS_FOLDER).exists()


def test_the_tenant_guard_stops_a_refresh_before_its_request(cw):
    from cwroles.provider._config import TenantChanged

    route, id_, state = _connectwise(cw, "security_role")
    _refresh("security_role", id_, state)
    elsewhere = {**state, "tenant": {"site": "https://other.test", "company_id": "other"}}
    calls = route.call_count
    with pytest.raises(TenantChanged):
        _refresh("security_role", id_, elsewhere, Unusable())
    assert route.call_count == calls


def test_an_import_is_described_by_the_provider(cw):
    _route, id_, _state = _connectwise(cw, "security_role")
    got = _refresh("security_role", id_, {})
    assert got.inputs == {"name": "Mobius", "role_type": None, "admin_flag": False}


def test_a_remembered_read_leaves_the_mark_its_diff_takes(cw):
    from cwroles.provider import reads

    _route, id_, state = _connectwise(cw, "security_role")
    reads.take(state)  # the provider's own read above left one
    _refresh("security_role", id_, state)
    reads.take(state)
    _refresh("security_role", id_, state, Unusable())
    assert reads.marked(state)


def test_a_read_that_changed_the_outputs_is_never_remembered(cw):
    import httpx

    from prov_fakes import settings_rows

    route, id_, state = _connectwise(cw, "role_permissions")
    route.mock(return_value=httpx.Response(200, json=settings_rows({})))  # an admin cleared the grid
    for _ in range(2):  # the state still holds the old grid: each read reports the drift again
        spy = Spy(RolePermissionsProvider())
        assert _refresh("role_permissions", id_, state, spy).outs["drift"]
        assert spy.calls == ["read_fetched"]


def test_a_refresh_in_a_new_process_that_finds_nothing_changed_loads_no_model(tmp_path, monkeypatch):
    """What a `preview --refresh` costs: a provider process that finds the role as the last read left it
    answers after one request (and the codebase discovery), without pydantic, the catalog or the provider."""
    import json
    import os

    from cwroles.cwsim.testing import running_server
    from cwroles.provider import Client

    code = (
        "import json, sys\n"
        "from cwroles.provider import _config\n"
        "from cwroles.provider.resources import DeferredProvider\n"
        "given = json.loads(sys.stdin.read())\n"
        "_config.configure(given['config'].get)\n"
        "r = DeferredProvider('security_role').read(given['id'], {**given['state'], '__provider': 'x'})\n"
        "print(json.dumps({'outs': r.outs, 'loaded': [m for m in ('pydantic', 'cwroles.catalog',"
        " 'cwroles.provider.security_role') if m in sys.modules]}))\n")
    for name in [k for k in os.environ if k.startswith("CONNECTWISE_")]:
        monkeypatch.delenv(name)
    with running_server() as sim:
        role = Client(sim.url, sim.company_id, sim.public_key, sim.private_key, sim.client_id).create_security_role("Mobius")
        config = {"connectwise:site": sim.url, "connectwise:companyId": sim.company_id,
                  "connectwise:clientId": sim.client_id, "connectwise:publicKey": sim.public_key,
                  "connectwise:privateKey": sim.private_key}
        env = {**os.environ, "CWROLES_PLAN_CACHE": str(tmp_path / "cache")}

        def refresh(state: dict) -> dict:
            sim.reset_metrics()
            given = json.dumps({"config": config, "id": str(role.id), "state": state})
            out = subprocess.run([sys.executable, "-c", code], input=given, capture_output=True, text=True, check=True,
                                 env=env)
            return {**json.loads(out.stdout), "requests": sim.metrics()["total"]}

        created = refresh({"name": "Mobius", "stack": "dev"})  # what an `up` leaves in the state
        state = created["outs"]
        runs = [refresh(state) for _ in range(2)]
    assert [r["loaded"] for r in runs] == [["pydantic", "cwroles.catalog", "cwroles.provider.security_role"], []]
    assert [r["outs"] for r in runs] == [state, state] and [r["requests"] for r in runs] == [2, 2]


def test_a_state_handed_back_by_the_engine_finds_the_read_its_export_left(cw):
    """The engine hands numbers back as floats and drops nulls; `pulumi stack export` keeps both."""
    _route, id_, state = _connectwise(cw, "api_member")
    _refresh("api_member", id_, state)
    as_the_engine = {k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v
                     for k, v in state.items() if v is not None}
    assert _refresh("api_member", id_, as_the_engine, Unusable()).outs == as_the_engine
