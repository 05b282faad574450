"""Helpers to run cwroles policies as plain functions (no engine): pulumi.md 4.5."""

from __future__ import annotations

from pulumi_policy import (PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, ResourceValidationArgs,
                           StackValidationArgs)

# the resource types, for the tests that import them from here
from cwroles.policies.rules.model import API_MEMBER as API_MEMBER
from cwroles.policies.rules.model import ROLE_PERMISSIONS as ROLE_PERMISSIONS
from cwroles.policies.rules.model import SECURITY_ROLE as SECURITY_ROLE

PROVIDER_BLOB = "gAWVxxxx-serialized-provider"  # reserved __provider input the pack must ignore
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi_policy's unknown-string sentinel
UNKNOWN_ARRAY = "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2"


def opts() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def urn(rtype: str, name: str, stack: str = "dev") -> str:
    return f"urn:pulumi:{stack}::cwroles::{rtype}::{name}"


def run(policy, rtype: str, props: dict, config: dict | None = None, name: str = "r") -> list[str]:
    """Messages ``policy`` reports for one resource (config passed explicitly, as the engine would)."""
    out: list[str] = []
    args = ResourceValidationArgs(rtype, props, urn(rtype, name), name, opts(), None, config or {})
    policy.validate(args, lambda msg, u=None: out.append(msg))
    return out


def run_stack(policy, resources: list[PolicyResource], config: dict | None = None) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    policy.validate(StackValidationArgs(resources, config or {}), lambda msg, u=None: out.append((msg, u)))
    return out


def resource(rtype: str, name: str, props: dict, deps=None, pdeps=None) -> PolicyResource:
    return PolicyResource(rtype, props, urn(rtype, name), name, opts(), None, None, list(deps or []),
                          dict(pdeps or {}))


def grant(where: str, levels: str = "", value: str = "All", **extra) -> dict:
    """grant("Finance › Invoicing", "EDI") -> Edit/Delete/Inquire = All; extra keys override."""
    module, function = (p.strip() for p in where.split("›"))
    g = {"module": module, "function": function, "add": None, "edit": None, "delete": None, "inquire": None}
    for letter, name in (("A", "add"), ("E", "edit"), ("D", "delete"), ("I", "inquire")):
        if letter in levels:
            g[name] = value
    g.update(extra)
    return g


def role(integration, grants, features=(), customize=None, waivers=None, role_name="Test Role") -> dict:
    return {
        "__provider": PROVIDER_BLOB,
        "role_id": UNKNOWN_STRING,  # output of the SecurityRole: unknown in preview
        "role_name": role_name,
        "integration": integration,
        "features": list(features),
        "grants": grants,
        "customize": customize or {},
        "waivers": waivers or [],
    }


def waiver(expires="2099-12-31", justification="vendor needs it to sync invoices", approved_by="Jane Admin"):
    return {"justification": justification, "approved_by": approved_by, "expires": expires}


def misspelled_builtin_requirement(original):
    """``baseline.builtin_requirement`` as it behaves when a pull request misspells a function in the built-in
    Mobius manifest (the pack's ceiling): loading the manifest fails with its problems."""
    from importlib import resources

    from cwroles.manifest import parse_manifest_text

    def broken(integration):
        if integration != "mobius":
            return original(integration)
        text = resources.files("cwroles").joinpath("data/integrations/mobius.yaml").read_text("utf-8")
        f = parse_manifest_text(text.replace("function: Invoicing\n", "function: Invoicing Typo\n", 1),
                                "cwroles/data/integrations/mobius.yaml", builtin=True)
        raise ValueError("; ".join(str(e) for e in f.errors))

    return broken
