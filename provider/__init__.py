"""cwroles' Pulumi dynamic provider and ConnectWise PSA REST client.

Resources: ``SecurityRole``, ``RolePermissions``, ``ApiMember`` (type tokens
``pulumi-python:dynamic/connectwise:<Name>``). Client: ``Client`` with typed models and errors.
Connection settings: ``connectwise:*`` stack config, ``CONNECTWISE_*`` variables, else the emulator.
"""

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
from . import _conditions as conditions
from .api_member import ApiMember, ApiMemberProvider
from .role_permissions import RoleOutOfSync, RolePermissions, RolePermissionsProvider
from .security_role import SecurityRole, SecurityRoleProvider

__all__ = [
    "SecurityRole", "RolePermissions", "ApiMember",
    "SecurityRoleProvider", "RolePermissionsProvider", "ApiMemberProvider", "RoleOutOfSync",
    "Client", "RetryPolicy", "Settings", "resolve_settings", "conditions", "DEFAULT_API_VERSION", "PAGE_SIZE",
    "ConnectWiseError", "ConfigurationError", "TransportError", "NotFound", "Unauthorized", "Forbidden",
    "InvalidObject", "ObjectExists", "MethodNotAllowed", "Conflict", "ServerError", "RateLimited",
    "SecurityRoleModel", "SecurityRoleSetting", "ApiMemberModel", "Member", "Token", "SetupScreen",
    "MySecurityCustomizeItem", "Reference",
]
