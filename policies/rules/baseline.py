"""The pack's own least-privilege baselines (``policies/baselines/<integration>.yaml``).

Each baseline is the vendor's published requirement, transcribed independently of the
provider's manifests: the pack is the reviewer's ceiling, so widening an integration needs a
visible change here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Optional

import yaml

from cwroles.catalog import LEVEL_NAMES, load_catalog
from cwroles.grid import Level

from .model import resolve, split_where


@dataclass(frozen=True)
class BaselineFunction:
    module: str
    function: str
    levels: dict  # level name -> Level (ceiling)
    feature: Optional[str]


@dataclass(frozen=True)
class BaselineCustomize:
    function: tuple[str, str]
    items: tuple[str, ...]
    feature: Optional[str]


@dataclass
class Baseline:
    integration: str
    title: str
    vendor_page: str
    features: dict[str, str]
    functions: list[BaselineFunction]
    customize: list[BaselineCustomize] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"policies/baselines/{self.integration}.yaml"

    def ceiling(self, module: str, function: str, enabled: set[str]) -> tuple[dict, Optional[BaselineFunction]]:
        """Ceiling levels for a function with the features ``enabled``; also the feature-gated row
        that would allow it when that feature is off (to explain the violation)."""
        ceiling = {n: Level.NONE for n in LEVEL_NAMES}
        gated: Optional[BaselineFunction] = None
        for bf in self.functions:
            if (bf.module, bf.function) != (module, function):
                continue
            if bf.feature and bf.feature not in enabled:
                gated = gated or bf
                continue
            for n, lv in bf.levels.items():
                if lv.rank > ceiling[n].rank:
                    ceiling[n] = lv
        return ceiling, gated

    def allowed_items(self, function: tuple[str, str], enabled: set[str]) -> tuple[set[str], dict[str, str]]:
        """Allowed Customize items for ``function``; plus item -> feature for items gated off."""
        allowed: set[str] = set()
        gated: dict[str, str] = {}
        for c in self.customize:
            if c.function != function:
                continue
            if c.feature and c.feature not in enabled:
                gated.update({i: c.feature for i in c.items})
            else:
                allowed.update(c.items)
        return allowed, gated


def empty_baseline(integration: str) -> Baseline:
    return Baseline(integration or "", "an empty baseline", "", {}, [])


def baseline_names() -> list[str]:
    d = resources.files("cwroles.policies").joinpath("baselines")
    return sorted(p.name.removesuffix(".yaml") for p in d.iterdir() if p.name.endswith(".yaml"))


@lru_cache(maxsize=None)
def load_baseline(integration: str) -> Optional[Baseline]:
    """The baseline for ``integration`` or None when the pack has none."""
    if integration not in baseline_names():
        return None
    text = resources.files("cwroles.policies").joinpath(f"baselines/{integration}.yaml").read_text("utf-8")
    return parse_baseline(yaml.safe_load(text), f"policies/baselines/{integration}.yaml")


def parse_baseline(data: dict, origin: str) -> Baseline:
    """Validate a baseline document; every name must resolve in the cwroles catalog."""
    catalog = load_catalog()
    features = dict(data.get("features") or {})
    problems: list[str] = []
    functions: list[BaselineFunction] = []
    for row in data.get("functions") or []:
        try:
            module, function = resolve(*split_where(row["function"]))
        except Exception as e:  # noqa: BLE001 - collected into one readable error
            problems.append(str(e))
            continue
        levels = {}
        for n in LEVEL_NAMES:
            try:
                levels[n] = Level.parse(row.get(n))
            except ValueError as e:
                problems.append(f"{module} › {function} › {n}: {e}")
        feature = row.get("feature")
        if feature and feature not in features:
            problems.append(f"{module} › {function}: feature {feature!r} is not declared under features")
        unknown = set(row) - {"function", "feature", "source", *LEVEL_NAMES}
        if unknown:
            problems.append(f"{module} › {function}: unknown keys {sorted(unknown)}")
        functions.append(BaselineFunction(module, function, levels, feature))
    customize: list[BaselineCustomize] = []
    for fn, spec in (data.get("customize") or {}).items():
        try:
            module, function = resolve(*split_where(fn))
            _, f = catalog.function(module, function)
            items = tuple(catalog.customize_item(f, i) for i in spec.get("items") or [])
        except Exception as e:  # noqa: BLE001
            problems.append(str(e))
            continue
        feature = spec.get("feature")
        if feature and feature not in features:
            problems.append(f"customize {fn}: feature {feature!r} is not declared under features")
        customize.append(BaselineCustomize((module, function), items, feature))
    if problems:
        raise ValueError(f"{origin} is invalid: " + "; ".join(problems))
    return Baseline(str(data["integration"]), str(data.get("title") or data["integration"]),
                    str(data.get("vendor_page") or ""), features, functions, customize)
