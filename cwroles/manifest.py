"""Vendor requirements as data: one manifest per integration (``data/integrations/*.yaml``).

A manifest transcribes a vendor's page: the role name it asks for, every grant with a reason
and the place on the page it comes from, the Customize allow-lists, and the vendor's
conditional rows as *features* the user switches on in stack config.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .catalog import Catalog, load_catalog
from .grid import Grant, Waiver, desired_grid


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Feature(_Model):
    name: str
    description: str
    default: bool = False


class ManifestGrant(Grant):
    reason: str
    source: str  # where on the vendor page, e.g. "msp-process.txt › Companies"
    feature: Optional[str] = None  # granted only when this feature is on


class CustomizeList(_Model):
    function: str  # "System › Table Setup"
    items: list[str]
    reason: str
    source: str
    feature: Optional[str] = None


class RoleSpec(_Model):
    name: str = Field(max_length=30)


class ApiMemberSpec(_Model):
    identifier: str = Field(max_length=15)
    name: str = Field(max_length=30)


class Manifest(_Model):
    integration: str
    title: str
    vendor_page: str
    role: RoleSpec
    api_member: ApiMemberSpec
    features: list[Feature] = []
    grants: list[ManifestGrant]
    customize: list[CustomizeList] = []
    notes: str = ""

    @model_validator(mode="after")
    def _features_declared(self) -> "Manifest":
        declared = {f.name for f in self.features}
        used = {g.feature for g in self.grants if g.feature} | {c.feature for c in self.customize if c.feature}
        unknown = used - declared
        if unknown:
            raise ValueError(f"features used but not declared: {sorted(unknown)}")
        return self

    def default_features(self) -> set[str]:
        return {f.name for f in self.features if f.default}

    def check_features(self, enabled: set[str]) -> None:
        unknown = enabled - {f.name for f in self.features}
        if unknown:
            known = ", ".join(f.name for f in self.features) or "none"
            raise ValueError(f"{self.title}: unknown feature(s) {sorted(unknown)}; this integration has: {known}")

    def grants_for(self, enabled: set[str]) -> list[ManifestGrant]:
        self.check_features(enabled)
        return [g for g in self.grants if g.feature is None or g.feature in enabled]

    def customize_for(self, enabled: set[str]) -> dict[str, list[str]]:
        """{"System › Table Setup": [items]} for the enabled features (lists merged per function)."""
        self.check_features(enabled)
        out: dict[str, list[str]] = {}
        for c in self.customize:
            if c.feature is None or c.feature in enabled:
                out.setdefault(c.function, [])
                out[c.function] += [i for i in c.items if i not in out[c.function]]
        return out

    def validate_against(self, catalog: Catalog | None = None) -> None:
        """Every grant and allow-list item must exist in the catalog (raises with all problems)."""
        catalog = catalog or load_catalog()
        desired_grid(self.grants, catalog)
        for c in self.customize:
            module, function = (p.strip() for p in c.function.split("›"))
            _, f = catalog.function(module, function)
            for item in c.items:
                catalog.customize_item(f, item)


def manifest_names() -> list[str]:
    d = resources.files("cwroles").joinpath("data/integrations")
    return sorted(p.name.removesuffix(".yaml") for p in d.iterdir() if p.name.endswith(".yaml"))


@lru_cache(maxsize=None)
def load_manifest(integration: str) -> Manifest:
    names = manifest_names()
    if integration not in names:
        raise ValueError(f"unknown integration {integration!r}; choose one of: {', '.join(names)}")
    text = resources.files("cwroles").joinpath(f"data/integrations/{integration}.yaml").read_text("utf-8")
    return Manifest.model_validate(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


__all__ = ["Manifest", "ManifestGrant", "CustomizeList", "Feature", "Waiver", "load_manifest", "manifest_names"]
