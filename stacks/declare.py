"""The Pulumi program's entry point: stack config → plan → the three resources (``main``).

It imports only what declaring the resources needs. The plan is built by ``cwroles.stacks.program``
(which validates config and manifest with the core's models) only when the plan cache does not hold it
for exactly these inputs (see ``plan_cache``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from cwroles.project import find_project_root

from . import plan_cache
from .plan import Adopt, Plan

NAMESPACE = "cwroles"
# Stack config keys this program reads (without the "cwroles:" namespace).
CONFIG_KEYS = (
    "integration",
    "manifest",
    "features",
    "roleName",
    "roleType",
    "apiMemberIdentifier",
    "apiMemberName",
    "apiMemberEmail",
    "waivers",
    "extraGrants",
    "extraCustomize",
    "adopt",
)


def _raw_config() -> dict[str, Any]:
    import pulumi

    cfg = pulumi.Config(NAMESPACE)
    return {k: v for k in CONFIG_KEYS if (v := cfg.get(k)) is not None}


def _any_secret(raw: dict[str, Any]) -> bool:
    from pulumi.runtime import config as runtime_config

    return any(runtime_config.is_config_secret(f"{NAMESPACE}:{k}") for k in raw)


def _under_mocks() -> bool:
    """True under Pulumi's unit-test mocks (``pulumi.runtime.set_mocks``): a test of a program exercises the
    plan's validation every time, so the plan cache serves real operations only."""
    from pulumi.runtime import settings
    from pulumi.runtime.mocks import MockMonitor

    return isinstance(settings.get_monitor(), MockMonitor)


def _connectwise_site() -> Optional[str]:
    import pulumi

    return pulumi.Config("connectwise").get("site") or os.environ.get("CONNECTWISE_SITE") or None


def next_step_output(plan: Plan, pending: list, customize_status: Optional[str]):
    """What to do next, as of the operation that wrote the outputs: the checklist first, then the key."""
    if pending:
        return (f"{len(pending)} permission setting(s) of the role differ from the code (the `pending` output): "
                f"set them by hand in System › Security Roles › {plan.role_args['name']} (`pulumi up` writes them "
                f"as a checklist), then run `pulumi up` again. After that: {plan.next_step}")
    return plan.next_step


def stack_plan(stack: str, raw: dict[str, Any], cacheable: bool = True) -> Plan:
    """The plan for this stack's config, from the plan cache or built (``StackConfigError`` when the config
    or the manifest has an error)."""
    root = find_project_root()
    stack_file = Path.cwd() / f"Pulumi.{stack}.yaml"  # where ConfigSource.of_stack reads the lines from

    def build() -> Plan:
        from .program import ConfigSource, plan_from_config

        return plan_from_config(raw, root=root, source=ConfigSource.of_stack(stack))

    return plan_cache.cached_plan(raw, root, stack, stack_file, build, cacheable=cacheable)


def main(emulator: Optional[Any] = None) -> None:
    """Declare the stack's resources. ``emulator`` is the seam for the embedded default (tests pass a fake):
    an object with ``ensure_running(project_root, log)`` and ``check_running(project_root, log)``; by default
    ``cwroles.stacks.local_emulator``. It is used only when the stack chose the emulator
    (``connectwise:site: emulator``): ``pulumi up`` starts it if nothing answers, a preview never does."""
    import pulumi

    stack = pulumi.get_stack()
    raw = _raw_config()
    try:
        plan = stack_plan(stack, raw, cacheable=not (_any_secret(raw) or _under_mocks()))
    except Exception as e:
        from .program import StackConfigError

        if isinstance(e, StackConfigError):
            raise pulumi.RunError(f"stack {stack}: {e}") from None
        raise
    for notice in plan.notices:
        pulumi.log.info(f"notice: {notice}")

    from cwroles.provider.resources import ApiMember, RolePermissions, SecurityRole

    from . import local_emulator

    if local_emulator.emulator_chosen(_connectwise_site()):
        seam = emulator or local_emulator
        prepare = seam.check_running if pulumi.runtime.is_dry_run() else seam.ensure_running
        try:
            prepare(Path(os.getcwd()), pulumi.log.info)
        except RuntimeError as e:
            raise pulumi.RunError(str(e)) from None

    adopt = plan.adopt or Adopt()

    def imported(record_id: Optional[int]) -> Optional[pulumi.ResourceOptions]:
        return pulumi.ResourceOptions(import_=str(record_id)) if record_id is not None else None

    role = SecurityRole(plan.role_resource, **plan.role_args, opts=imported(adopt.role_id), adopt_existing=adopt.by_key)
    member = ApiMember(plan.member_resource, role_id=role.role_id, **plan.member_args, opts=imported(adopt.member_id),
                       adopt_existing=adopt.by_key)
    # The grid check impersonates the API member to read the Customize lists: passing the member's
    # identifier *output* makes it wait for the member, so the first `up` is the same on every run.
    permissions_args = {**plan.permissions_args, "member_identifier": member.identifier}
    perms = RolePermissions(plan.permissions_resource, role_id=role.role_id, role_name=role.name, **permissions_args,
                            opts=imported(adopt.role_id))  # the grid's id is its role's

    pulumi.export("integration", plan.integration)
    pulumi.export("features", plan.features)
    pulumi.export("role_id", role.role_id)
    pulumi.export("role_name", role.name)
    pulumi.export("api_member_id", member.member_id)
    pulumi.export("api_member_identifier", member.identifier)
    pulumi.export("pending", perms.pending)
    pulumi.export("customize_status", perms.customize_status)
    pulumi.export("next_step", pulumi.Output.all(perms.pending, perms.customize_status)
                  .apply(lambda v: next_step_output(plan, v[0], v[1])))
