"""Run Pulumi's Python dynamic-provider server (``python -m pulumi.dynamic``) with three fixes.

The upstream server runs unchanged; only some of its gRPC handlers are wrapped when they are registered:

1. **Import** (pulumi/pulumi#16175, still open in engine 3.274 / SDK 3.272): ``import_``/``pulumi import``
   of a dynamic resource fails before any provider code runs, because the engine's Read for an import
   carries neither state nor inputs, so the server cannot find the serialized provider (``__provider``).
   For cwroles' own type tokens it is rebuilt here (the providers are stateless and pickled by reference,
   so this is exactly what the program would have sent).
2. **Plain errors.** SDK 3.27x reports a provider exception as a full Python traceback. An MSP admin reads
   these messages (the checklist, a ConnectWise refusal), so the exception's own message is reported, as
   gRPC does by default: ``Exception calling application: <message>``.
3. **Stacks from before the one installed name.** State written before cwroles installed everything under
   ``cwroles.*`` pickles its providers as ``provider.<module>.<Class>``; in this process those names resolve
   to the classes of ``cwroles.provider.<module>`` (a resource an ``up`` changes gets the new names in the
   state). Another top-level ``provider`` package, if the project has one, keeps its name.

It also exits at once when the engine stops it (SIGINT) instead of tearing the interpreter down.

``tools/pulumi-resource-pulumi-python`` (installed next to the CLI by ``make setup``) starts this module
when the project's virtualenv has cwroles, and upstream's server otherwise.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import runpy
import signal
import sys
import types
from typing import Any, Callable, Optional

import grpc
from pulumi.runtime.proto import provider_pb2_grpc

PROVIDER_KEY = "__provider"
LEGACY_PACKAGE = "provider"  # the top-level name cwroles' provider had before it moved under cwroles.*
_register_upstream = provider_pb2_grpc.add_ResourceProviderServicer_to_server
# Every handler a dynamic provider serves that can raise from provider code.
_HANDLERS = ("CheckConfig", "DiffConfig", "Configure", "Check", "Diff", "Create", "Read", "Update", "Delete",
             "Invoke", "Call")


def _provider_for(urn: str) -> Optional[str]:
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


class _PlainErrors:
    """The context the upstream handlers see. When a handler reports an exception with
    ``context.abort(UNKNOWN, traceback)``, the exception itself is raised instead, so that gRPC reports its
    message without the traceback."""

    def __init__(self, context: Any) -> None:
        self._context = context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def abort(self, code: Any, details: str) -> None:
        exc = sys.exc_info()[1]
        if code == grpc.StatusCode.UNKNOWN and isinstance(exc, Exception):
            raise exc
        self._context.abort(code, details)


def _plain_errors(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def call(request: Any, context: Any) -> Any:
        return handler(request, _PlainErrors(context) if context is not None else None)

    return call


def _register(servicer: Any, server: Any) -> Any:
    read_upstream = servicer.Read

    def read(request: Any, context: Any) -> Any:
        if PROVIDER_KEY not in request.properties.fields:
            if PROVIDER_KEY in request.inputs.fields:
                request.properties.CopyFrom(request.inputs)
            elif (serialized := _provider_for(request.urn)) is not None:
                request.properties.fields[PROVIDER_KEY].string_value = serialized
        return read_upstream(request, context)

    servicer.Read = read
    for name in _HANDLERS:
        if callable(getattr(servicer, name, None)):
            setattr(servicer, name, _plain_errors(getattr(servicer, name)))
    return _register_upstream(servicer, server)


class _LegacyNames(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``provider`` and ``provider.<x>`` are the very module objects ``cwroles.provider[.<x>]``."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname == LEGACY_PACKAGE:
            if _other_top_level_provider():
                return None
        elif not (fullname.startswith(LEGACY_PACKAGE + ".") and isinstance(sys.modules.get(LEGACY_PACKAGE), _Alias)):
            return None
        try:
            real = importlib.import_module("cwroles." + fullname)
        except ImportError:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=hasattr(real, "__path__"))

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
        return _Alias(sys.modules["cwroles." + spec.name])

    def exec_module(self, module: Any) -> None:
        pass  # the real module is already executed under its own name


class _Alias(types.ModuleType):
    """A legacy name: every attribute (the provider classes dill looks up) comes from the real module."""

    def __init__(self, real: types.ModuleType) -> None:
        super().__init__(real.__name__.removeprefix("cwroles."), real.__doc__)
        self.__dict__["_real"] = real
        if hasattr(real, "__path__"):
            self.__path__ = []  # a package, whose submodules only this finder provides

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_real"], name)


def _other_top_level_provider() -> bool:
    """True when ``import provider`` would find some other package than cwroles' own folder (which is on
    sys.path when the project is this repository: the working directory is the repository root)."""
    spec = importlib.machinery.PathFinder.find_spec(LEGACY_PACKAGE)
    if spec is None or spec.origin is None:
        return False
    ours = importlib.util.find_spec("cwroles.provider")
    return not (ours and ours.origin and os.path.samefile(spec.origin, ours.origin))


def install_legacy_names() -> None:
    """Resolve the pre-0.2 module names before the path finders (which would load a second copy of the
    provider from the working directory, the repository root)."""
    if not any(isinstance(f, _LegacyNames) for f in sys.meta_path):
        sys.meta_path.insert(0, _LegacyNames())


def _exit_now(signum: int, frame: Any) -> None:
    # The engine sends SIGINT to a provider it is done with, then waits for it to exit. The provider holds no
    # state, so it exits at once instead of tearing down the interpreter (~0.4 s), on every operation's path.
    os._exit(0)


def main() -> None:
    signal.signal(signal.SIGINT, _exit_now)
    install_legacy_names()
    provider_pb2_grpc.add_ResourceProviderServicer_to_server = _register
    runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
