"""Pulumi stack programs: one stack per tenant and integration (see docs/stacks.md).

Names are imported on first use (``cwroles.stacks.local_emulator`` need not load the program).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "CONFIG_KEYS",
    "Plan",
    "StackConfigError",
    "StackSettings",
    "build_plan",
    "main",
    "next_step_text",
    "plan_from_config",
    "read_settings",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import program

    value = getattr(program, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from .program import (
        CONFIG_KEYS,
        Plan,
        StackConfigError,
        StackSettings,
        build_plan,
        main,
        next_step_text,
        plan_from_config,
        read_settings,
    )
