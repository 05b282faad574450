"""The real dynamic-provider server (``python -m pulumi.dynamic``) loads our providers by reference,
receives stack config through Configure, and reports check failures and errors without secrets."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from cwroles.provider import RolePermissionsProvider, SecurityRoleProvider

from prov_fakes import PRIVATE


def _struct(d: dict) -> struct_pb2.Struct:
    return asyncio.run(rpc.serialize_properties(d, {}))


@pytest.fixture
def server():
    env = {**os.environ, "PULUMI_PROJECT": "cwroles"}
    for k in [k for k in env if k.startswith("CONNECTWISE_")]:
        del env[k]
    proc = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.dynamic"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True)
    try:
        port = proc.stdout.readline().strip()
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield provider_pb2_grpc.ResourceProviderStub(channel)
        channel.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_server_configures_checks_and_fails_plainly(server):
    # Unroutable site: the create must fail with a readable message that carries no secret.
    config = {"connectwise:site": "http://127.0.0.1:9", "connectwise:companyId": "acme", "connectwise:clientId": "cid",
              "connectwise:publicKey": "pk", "connectwise:privateKey": PRIVATE, "connectwise:maxRetries": "0"}
    server.Configure(provider_pb2.ConfigureRequest(args=_struct(config)))
    prov = serialize_provider(RolePermissionsProvider())
    news = {"__provider": prov, "role_id": 1, "role_name": "R",
            "grants": [{"module": "Service Dsk", "function": "Service Tickets", "add": "All"}]}
    resp = server.Check(provider_pb2.CheckRequest(urn="urn:pulumi:s::p::t::n", olds=_struct({}), news=_struct(news)))
    assert len(resp.failures) == 1 and "closest catalog entries: 'Service Desk'" in resp.failures[0].reason

    role = {"__provider": serialize_provider(SecurityRoleProvider()), "name": "R", "admin_flag": False}
    with pytest.raises(grpc.RpcError) as ei:
        server.Create(provider_pb2.CreateRequest(urn="urn:pulumi:s::p::t::n", properties=_struct(role)))
    details = ei.value.details()
    assert "could not reach ConnectWise at http://127.0.0.1:9" in details
    assert PRIVATE not in details
