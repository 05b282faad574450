"""Typed records of an emulated tenant: what the store reads and writes and the backend reasons about.

Records are immutable; a change is a new record (``dataclasses.replace``) written back by the backend.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Optional

from cwroles.catalog import LevelName

# ApiMember reference fields -> the kind of reference record each points at
REF_KINDS: dict[str, str] = {
    "structureLevel": "structure",
    "securityLocation": "location",
    "defaultLocation": "location",
    "salesDefaultLocation": "location",
    "defaultDepartment": "department",
    "timeZone": "timezone",
    "serviceDefaultBoard": "board",
}


@dataclass(frozen=True, slots=True)
class Company:
    company_id: str
    name: str
    client_id: str
    bootstrap_public: str
    bootstrap_private: str
    created: str


@dataclass(frozen=True, slots=True)
class Role:
    id: int
    name: str
    role_type: Optional[str]
    admin: bool
    inactive: bool
    updated: str
    updated_by: str


@dataclass(frozen=True, slots=True)
class Setting:
    """One row of a role's grid: the four levels of one module function."""

    id: int
    role_id: int
    module: str
    function: str
    add: str
    edit: str
    delete: str
    inquire: str
    sort_order: int
    updated: str
    updated_by: str

    def level(self, name: LevelName) -> str:
        return str(getattr(self, name))

    def levels(self) -> dict[str, str]:
        return {"add": self.add, "edit": self.edit, "delete": self.delete, "inquire": self.inquire}


@dataclass(frozen=True, slots=True)
class AllowedItem:
    """One entry of a role's Customize allow-list (e.g. a Table Setup table)."""

    id: int
    role_id: int
    module: str
    function: str
    item: str


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference record API members point at (structure level, location, department, time zone, board)."""

    id: int
    kind: str
    name: str
    identifier: Optional[str]


@dataclass(frozen=True, slots=True)
class Member:
    """An API member. ``refs`` holds the ids of the reference fields named in ``REF_KINDS``."""

    id: int
    identifier: str
    name: Optional[str]
    email: Optional[str] = None
    notes: Optional[str] = None
    inactive: bool = False
    inactive_date: Optional[str] = None
    block_price: bool = False
    block_cost: bool = False
    excluded_boards: tuple[int, ...] = ()
    security_role: Optional[int] = None
    refs: dict[str, Optional[int]] = field(default_factory=dict)
    updated: str = ""
    updated_by: str = ""

    def ref(self, name: str) -> Optional[int]:
        return self.security_role if name == "securityRole" else self.refs.get(name)


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    member_id: int
    public_key: str
    private_hash: str
    description: str
    kind: str  # permanent | token
    expires: Optional[dt.datetime]
    created: str

    def expired(self, at: dt.datetime) -> bool:
        return self.expires is not None and self.expires <= at


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """What the tenant's catalog says about one module function (a grid row's metadata)."""

    module: str
    function: str
    module_identifier: str
    function_identifier: str
    levels: tuple[LevelName, ...]
    customize_identifier: Optional[str]  # MySecurityCustomizeItem.customizeIdentifier
    customize_items: Optional[str]  # what its Customize list holds, in words; None = no Customize link
    order: int  # 1-based place in the role editor
    report: bool
    bundled: bool  # False: the tenant has it, the bundled catalog does not

    @property
    def key(self) -> str:
        return f"{self.module} › {self.function}"


@dataclass(frozen=True, slots=True)
class GridRow:
    """A settings row with its function's catalog facts."""

    setting: Setting
    info: FunctionInfo
