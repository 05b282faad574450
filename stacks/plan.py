"""What a stack program declares, as plain data: the three resources' arguments (``Plan``).

``cwroles.stacks.program`` builds a plan from stack config and a vendor manifest; this module only holds
its shape and its JSON form (the plan cache stores it), so it imports nothing heavier than the core's
``problems``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Optional

from cwroles.problems import Problem


@dataclass(frozen=True)
class Adopt:
    """``cwroles:adopt``: take over a role and API member that exist in ConnectWise instead of failing.

    ``true``: by natural key (the role's name, the member's identifier): the plan shows them as created and
    cwroles takes over the existing ones. ``{roleId, apiMemberId}``: by id (what `cwroles export` writes):
    the plan shows them as imported, and nothing is created.
    """

    by_key: bool = False
    role_id: Optional[int] = None
    member_id: Optional[int] = None

    @property
    def by_id(self) -> bool:
        return self.role_id is not None or self.member_id is not None


@dataclass(frozen=True)
class Plan:
    """Arguments of the three resources, as plain data (no Pulumi outputs)."""

    integration: str
    title: str
    role_resource: str
    permissions_resource: str
    member_resource: str
    role_args: dict[str, Any]
    permissions_args: dict[str, Any]  # everything but role_id / role_name, which come from the role
    member_args: dict[str, Any]  # everything but role_id
    next_step: str
    features: list[str] = field(default_factory=list)
    notices: list[Problem] = field(default_factory=list)  # renamed spellings and the like: shown, not fatal
    adopt: Optional[Adopt] = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Plan":
        """The plan ``to_json`` wrote; KeyError/TypeError/ValueError when ``data`` is not one."""
        fields = dict(data)
        fields["notices"] = [Problem(**n) for n in fields.get("notices") or []]
        fields["adopt"] = Adopt(**fields["adopt"]) if fields.get("adopt") is not None else None
        return cls(**fields)
