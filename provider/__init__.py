"""cwroles' Pulumi dynamic provider and ConnectWise PSA REST client.

Resources: ``SecurityRole``, ``RolePermissions``, ``ApiMember`` (type tokens
``pulumi-python:dynamic/connectwise:<Name>``). Client: ``Client`` with typed models and errors.
Connection settings: ``connectwise:*`` stack config, ``CONNECTWISE_*`` variables, else the emulator.

Names are imported on first use: the engine starts a provider process on every operation, and that
process should load only the modules of the resources it serves (``import cwroles.provider.x`` runs this
file first).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> (module, attribute in it); attribute None = the module itself
_LAZY: dict[str, tuple[str, str | None]] = {
    "SecurityRole": (".resources", "SecurityRole"),
    "SecurityRoleProvider": (".security_role", "SecurityRoleProvider"),
    "RolePermissions": (".resources", "RolePermissions"),
    "RolePermissionsProvider": (".role_permissions", "RolePermissionsProvider"),
    "RoleOutOfSync": (".role_permissions", "RoleOutOfSync"),
    "ApiMember": (".resources", "ApiMember"),
    "DeferredProvider": (".resources", "DeferredProvider"),
    "ApiMemberProvider": (".api_member", "ApiMemberProvider"),
    "Client": ("._client", "Client"),
    "DEFAULT_API_VERSION": ("._client", "DEFAULT_API_VERSION"),
    "PAGE_SIZE": ("._client", "PAGE_SIZE"),
    "RetryPolicy": ("._retry", "RetryPolicy"),
    "Settings": ("._config", "Settings"),
    "resolve_settings": ("._config", "resolve_settings"),
    "conditions": ("._conditions", None),
    **{name: ("._errors", name) for name in (
        "ConnectWiseError", "ConfigurationError", "TransportError", "NotFound", "Unauthorized", "Forbidden",
        "InvalidObject", "ObjectExists", "MethodNotAllowed", "Conflict", "ServerError", "RateLimited")},
    "SecurityRoleModel": ("._models", "SecurityRole"),
    "SecurityRoleSetting": ("._models", "SecurityRoleSetting"),
    "ApiMemberModel": ("._models", "ApiMember"),
    "Member": ("._models", "Member"),
    "Token": ("._models", "Token"),
    "SetupScreen": ("._models", "SetupScreen"),
    "MySecurityCustomizeItem": ("._models", "MySecurityCustomizeItem"),
    "Reference": ("._models", "Reference"),
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = importlib.import_module(module, __name__)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value  # next lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what type checkers and IDEs see: the same names, imported eagerly
    from . import _conditions as conditions
    from ._client import DEFAULT_API_VERSION, PAGE_SIZE, Client
    from ._config import Settings, resolve_settings
    from ._errors import (
        ConfigurationError,
        Conflict,
        ConnectWiseError,
        Forbidden,
        InvalidObject,
        MethodNotAllowed,
        NotFound,
        ObjectExists,
        RateLimited,
        ServerError,
        TransportError,
        Unauthorized,
    )
    from ._models import (
        ApiMember as ApiMemberModel,
        Member,
        MySecurityCustomizeItem,
        Reference,
        SecurityRole as SecurityRoleModel,
        SecurityRoleSetting,
        SetupScreen,
        Token,
    )
    from ._retry import RetryPolicy
    from .api_member import ApiMemberProvider
    from .resources import ApiMember, DeferredProvider, RolePermissions, SecurityRole
    from .role_permissions import RoleOutOfSync, RolePermissionsProvider
    from .security_role import SecurityRoleProvider
