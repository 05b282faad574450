"""Pulumi stack programs: one stack per tenant and integration (see docs/stacks.md).

Names are imported on first use: ``main`` (the program's entry point, ``declare``) loads the plan
builder (``program``) only when the plan cache does not hold the plan, and ``cwroles.stacks.local_emulator``
need not load the program.
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


_LIGHT = {"CONFIG_KEYS", "Plan", "main"}  # from .declare (and .plan), which import no model


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name in _LIGHT:
        from . import declare as module
    else:
        from . import program as module  # type: ignore[no-redef]

    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from .declare import CONFIG_KEYS, Plan, main
    from .program import (
        StackConfigError,
        StackSettings,
        build_plan,
        next_step_text,
        plan_from_config,
        read_settings,
    )
