"""Run Pulumi's Python dynamic-provider server (``python -m pulumi.dynamic``) with one fix: import.

With SDK/engine 3.259 (the pinned version, see docs/pulumi-cli.md), ``import_``/``pulumi import`` of a
dynamic resource fails before any provider code runs (pulumi/pulumi#16175): the engine's Read for an
import carries neither state nor inputs, so the server cannot find the serialized provider
(``__provider``). The upstream server runs unchanged here; only its Read handler is wrapped: when the
request has no provider, it is rebuilt from the resource's type token for cwroles' own resources
(their providers are stateless and pickled by reference, so this is exactly what the program would
have sent). ``tools/pulumi-resource-pulumi-python`` (installed next to the CLI by ``make setup``)
starts this module when the project's virtualenv has it, and upstream's server otherwise.
"""

import runpy

from pulumi.runtime.proto import provider_pb2_grpc

PROVIDER_KEY = "__provider"
_register_upstream = provider_pb2_grpc.add_ResourceProviderServicer_to_server


def _provider_for(urn: str):
    """A serialized provider for one of cwroles' type tokens, or None."""
    from pulumi.dynamic.dynamic import serialize_provider

    from cwroles.provider import ApiMemberProvider, RolePermissionsProvider, SecurityRoleProvider

    by_type = {
        "pulumi-python:dynamic/connectwise:SecurityRole": SecurityRoleProvider,
        "pulumi-python:dynamic/connectwise:RolePermissions": RolePermissionsProvider,
        "pulumi-python:dynamic/connectwise:ApiMember": ApiMemberProvider,
    }
    type_token = urn.split("::")[-2].split("$")[-1] if "::" in urn else ""
    cls = by_type.get(type_token)
    return serialize_provider(cls()) if cls else None


def _register(servicer, server):
    read_upstream = servicer.Read

    def read(request, context):
        if PROVIDER_KEY not in request.properties.fields:
            if PROVIDER_KEY in request.inputs.fields:
                request.properties.CopyFrom(request.inputs)
            elif (serialized := _provider_for(request.urn)) is not None:
                request.properties.fields[PROVIDER_KEY].string_value = serialized
        return read_upstream(request, context)

    servicer.Read = read
    return _register_upstream(servicer, server)


if __name__ == "__main__":
    provider_pb2_grpc.add_ResourceProviderServicer_to_server = _register
    runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)
