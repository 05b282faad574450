"""The pack's least-privilege ceiling: the vendor's requirement, derived from the integration's manifest.

One source of truth: a built-in integration's ceiling is its installed manifest
(``cwroles/data/integrations/<integration>.yaml``); a project's own manifest reaches the pack with the
role, as the RolePermissions ``requirement`` input the stack program derives from that file (the pack
cannot read the project's files). Widening an integration is a change to its manifest, reported as such.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Optional

from cwroles.manifest import Requirement, load_manifest, manifest_names


def empty_requirement(integration: str) -> Requirement:
    return Requirement(integration=integration, title="an empty requirement", manifest="")


def known_integrations() -> list[str]:
    return manifest_names()


@lru_cache(maxsize=None)
def builtin_requirement(integration: str) -> Optional[Requirement]:
    """The requirement of a built-in integration, or None."""
    if integration not in manifest_names():
        return None
    return load_manifest(integration).requirement()


def requirement_for(integration: Optional[str], carried: Any) -> tuple[Requirement, str]:
    """The ceiling for a role and, when there is none, why it is empty (said in every finding)."""
    known = ", ".join(known_integrations())
    if integration:
        builtin = builtin_requirement(integration)
        if builtin is not None:
            return builtin, ""
    if isinstance(carried, dict):
        try:
            req = Requirement.model_validate(carried)
        except Exception as e:
            return empty_requirement(integration or ""), (
                f"has a requirement input that is not a vendor requirement ({str(e).splitlines()[0]}), so the pack "
                "checks it against an empty requirement; let the stack program derive it from the manifest")
        if integration and req.integration != integration:
            return empty_requirement(integration), (
                f"has a requirement for {req.integration!r}, not for its integration {integration!r}, so the pack "
                "checks it against an empty requirement")
        return req, ""
    if not integration:
        return empty_requirement(""), ("names no integration, so the pack checks it against an empty requirement; "
                                       f"set integration to one of: {known}, or to a manifest of your project")
    return empty_requirement(integration), (
        f"has integration {integration!r}, which has no manifest the pack can read (built-in: {known}; a project's "
        "own manifest reaches the pack through the stack program), so the pack checks it against an empty "
        "requirement")
