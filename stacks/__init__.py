"""Pulumi stack programs: one stack per tenant and integration (see docs/stacks.md)."""

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
