"""provider._dynamic_host: an import's Read (no state, no inputs) gets the provider rebuilt from its type."""

import base64

import dill
from pulumi.runtime.proto import provider_pb2

from cwroles.provider import _dynamic_host
from cwroles.provider.security_role import SecurityRoleProvider

URN = "urn:pulumi:t::cwtest::pulumi-python:dynamic/connectwise:SecurityRole::role"


class FakeServicer:
    def __init__(self):
        self.seen = None

    def Read(self, request, context):
        self.seen = request
        return "upstream-answer"


def _wrapped(monkeypatch) -> FakeServicer:
    servicer = FakeServicer()
    monkeypatch.setattr(_dynamic_host, "_register_upstream", lambda s, server: None)
    _dynamic_host._register(servicer, server=None)
    return servicer


def test_import_read_gets_the_provider_of_its_type(monkeypatch):
    servicer = _wrapped(monkeypatch)
    answer = servicer.Read(provider_pb2.ReadRequest(id="7", urn=URN), None)
    assert answer == "upstream-answer"
    serialized = servicer.seen.properties.fields[_dynamic_host.PROVIDER_KEY].string_value
    assert isinstance(dill.loads(base64.b64decode(serialized)), SecurityRoleProvider)


def test_inputs_are_used_when_the_engine_sends_them(monkeypatch):
    servicer = _wrapped(monkeypatch)
    request = provider_pb2.ReadRequest(id="7", urn=URN)
    request.inputs.fields[_dynamic_host.PROVIDER_KEY].string_value = "from-inputs"
    request.inputs.fields["name"].string_value = "Role A"
    servicer.Read(request, None)
    assert servicer.seen.properties.fields["name"].string_value == "Role A"
    assert servicer.seen.properties.fields[_dynamic_host.PROVIDER_KEY].string_value == "from-inputs"


def test_ordinary_reads_and_foreign_types_are_untouched(monkeypatch):
    servicer = _wrapped(monkeypatch)
    request = provider_pb2.ReadRequest(id="7", urn=URN)
    request.properties.fields[_dynamic_host.PROVIDER_KEY].string_value = "from-state"
    servicer.Read(request, None)
    assert servicer.seen.properties.fields[_dynamic_host.PROVIDER_KEY].string_value == "from-state"

    foreign = provider_pb2.ReadRequest(id="1", urn="urn:pulumi:t::p::pulumi-python:dynamic/files:File::f")
    servicer.Read(foreign, None)
    assert _dynamic_host.PROVIDER_KEY not in servicer.seen.properties.fields


# ---- the launcher and the real server (no engine) ---------------------------------------------------------

import asyncio  # noqa: E402
import contextlib  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import grpc  # noqa: E402
import pytest  # noqa: E402
from pulumi.dynamic.dynamic import serialize_provider  # noqa: E402
from pulumi.runtime import rpc  # noqa: E402
from pulumi.runtime.proto import provider_pb2_grpc  # noqa: E402

import cwroles.provider.security_role as security_role_module  # noqa: E402
from cwroles.cwsim.testing import running_server  # noqa: E402
from tests.legacy_names import legacy_serialized  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "tools" / "pulumi-resource-pulumi-python"


def _struct(d: dict):
    return asyncio.run(rpc.serialize_properties(d, {}))


@contextlib.contextmanager
def launched(cwd: Path):
    """tools/pulumi-resource-pulumi-python as the engine starts it: the project's virtualenv, the port on stdout."""
    env = {**os.environ, "PULUMI_RUNTIME_VIRTUALENV": sys.prefix, "PULUMI_PROJECT": "cwtest"}
    for k in [k for k in env if k.startswith("CONNECTWISE_")]:
        del env[k]
    proc = subprocess.Popen([str(LAUNCHER)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            text=True)
    try:
        port = proc.stdout.readline().strip()
        assert port.isdigit(), proc.stderr.read()
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _configure(stub, sim) -> None:
    config = {"connectwise:site": sim.url, "connectwise:companyId": sim.company_id,
              "connectwise:clientId": sim.client_id, "connectwise:publicKey": sim.public_key,
              "connectwise:privateKey": sim.private_key, "connectwise:maxRetries": "0"}
    stub.Configure(provider_pb2.ConfigureRequest(args=_struct(config)))


@pytest.mark.parametrize("where", ["project", "repository root"])
def test_launcher_serves_state_pickled_under_the_legacy_module_names(tmp_path, where):
    cwd = REPO if where == "repository root" else tmp_path
    with running_server(db_path=tmp_path / "t.sqlite") as sim, launched(cwd) as stub:
        with sim.client() as c:
            role = c.post("/system/securityroles", json={"name": "Legacy Role"}).json()
        _configure(stub, sim)
        state = {"__provider": legacy_serialized(SecurityRoleProvider), "name": "Legacy Role",
                 "role_id": role["id"], "admin_flag": False}
        got = stub.Read(provider_pb2.ReadRequest(id=str(role["id"]), urn=URN, properties=_struct(state)))
        assert got.id == str(role["id"]) and got.properties.fields["name"].string_value == "Legacy Role"
        diff = stub.Diff(provider_pb2.DiffRequest(id=str(role["id"]), urn=URN, olds=_struct(state),
                                                  news=_struct({**state, "__provider": serialize_provider(
                                                      SecurityRoleProvider())})))
        assert diff.changes != provider_pb2.DiffResponse.DIFF_SOME
        stub.Delete(provider_pb2.DeleteRequest(id=str(role["id"]), urn=URN, properties=_struct(state)))
        with sim.client() as c:
            assert c.get(f"/system/securityroles/{role['id']}").status_code == 404


def test_launcher_imports_a_role_by_id(tmp_path):
    with running_server(db_path=tmp_path / "t.sqlite") as sim, launched(tmp_path) as stub:
        with sim.client() as c:
            role = c.post("/system/securityroles", json={"name": "Adopted Role"}).json()
        _configure(stub, sim)
        got = stub.Read(provider_pb2.ReadRequest(id=str(role["id"]), urn=URN))  # an import: no state, no inputs
        assert got.properties.fields["name"].string_value == "Adopted Role"


def test_launcher_reports_provider_errors_without_a_traceback(tmp_path):
    with launched(tmp_path) as stub:
        config = {"connectwise:site": "http://127.0.0.1:9", "connectwise:companyId": "acme",
                  "connectwise:clientId": "cid", "connectwise:publicKey": "pk", "connectwise:privateKey": "sk",
                  "connectwise:maxRetries": "0"}
        stub.Configure(provider_pb2.ConfigureRequest(args=_struct(config)))
        role = {"__provider": serialize_provider(SecurityRoleProvider()), "name": "R", "admin_flag": False}
        with pytest.raises(grpc.RpcError) as ei:
            stub.Create(provider_pb2.CreateRequest(urn=URN, properties=_struct(role)))
    details = ei.value.details()
    assert details.startswith("Exception calling application: ")
    assert "could not reach ConnectWise at http://127.0.0.1:9" in details
    assert "Traceback" not in details and 'File "' not in details


def test_legacy_names_resolve_to_the_real_classes():
    from cwroles.provider import _dynamic_host as host

    saved = {n: m for n, m in sys.modules.items() if n == "provider" or n.startswith("provider.")}
    for n in saved:
        del sys.modules[n]
    host.install_legacy_names()
    try:
        import importlib

        legacy = importlib.import_module("provider.security_role")
        assert legacy.SecurityRoleProvider is security_role_module.SecurityRoleProvider
        assert dill.loads(base64.b64decode(legacy_serialized(SecurityRoleProvider))).__class__ is SecurityRoleProvider
    finally:
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, host._LegacyNames)]
        for name in [n for n in sys.modules if n == "provider" or n.startswith("provider.")]:
            del sys.modules[name]
        sys.modules.update(saved)
