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
