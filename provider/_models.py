"""Typed ConnectWise objects (the fields this project uses; unknown fields are kept, not rejected)."""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.alias_generators import to_camel

__all__ = [
    "CWModel",
    "Reference",
    "SecurityRole",
    "SecurityRoleSetting",
    "ApiMember",
    "Member",
    "Token",
    "SetupScreen",
    "MySecurityCustomizeItem",
]

LevelValue = Literal["None", "My", "All"]


class CWModel(BaseModel):
    """camelCase on the wire, snake_case in Python; extra fields allowed and preserved."""

    # defer_build: the stack program and a provider that only checks and diffs never parse an API object
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", defer_build=True)

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, exclude={"info"})

    info: Optional[dict[str, Any]] = Field(default=None, alias="_info")


class Reference(CWModel):
    id: Optional[int] = None
    name: Optional[str] = None
    identifier: Optional[str] = None


class SecurityRole(CWModel):
    id: Optional[int] = None
    name: str  # the 30-character limit is checked on inputs (cwroles.permissions), not on what ConnectWise returns
    role_type: Optional[str] = None
    admin_flag: Optional[bool] = None
    inactive_flag: Optional[bool] = None


class SecurityRoleSetting(CWModel):
    id: Optional[int] = None
    add_level: LevelValue = "None"
    edit_level: LevelValue = "None"
    delete_level: LevelValue = "None"
    inquire_level: LevelValue = "None"
    module_name: str
    module_function_name: str
    module_identifier: Optional[str] = None
    module_function_identifier: Optional[str] = None
    module_description: Optional[str] = None
    module_function_description: Optional[str] = None
    my_all_flag: Optional[bool] = None
    report_flag: Optional[bool] = None
    restrict_flag: Optional[bool] = None
    custom_flag: Optional[bool] = None
    sort_order: Optional[int] = None


class ApiMember(CWModel):
    id: Optional[int] = None
    identifier: str
    name: Optional[str] = None
    email_address: Optional[str] = None
    inactive_flag: Optional[bool] = None
    inactive_date: Optional[str] = None
    notes: Optional[str] = None
    time_zone: Optional[Reference] = None
    security_role: Optional[Reference] = None
    structure_level: Optional[Reference] = None
    security_location: Optional[Reference] = None
    default_location: Optional[Reference] = None
    default_department: Optional[Reference] = None


class Member(CWModel):
    id: Optional[int] = None
    identifier: str
    first_name: Optional[str] = None
    last_name: Optional[str] = None
    license_class: Optional[str] = None
    inactive_flag: Optional[bool] = None
    security_role: Optional[Reference] = None


class Token(CWModel):
    """A short-lived impersonation key pair; the private key never prints."""

    public_key: SecretStr
    private_key: SecretStr
    expiration: Optional[str] = None


class SetupScreen(CWModel):
    id: Optional[int] = None
    category: Optional[str] = None
    name: str
    description: Optional[str] = None
    module_name: Optional[str] = None
    module_identifier: Optional[str] = None

    @property
    def display_name(self) -> str:
        return f"{self.category} / {self.name}" if self.category else self.name


class MySecurityCustomizeItem(CWModel):
    id: Optional[int] = None
    customize_identifier: str
    item_identifier: str
