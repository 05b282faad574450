"""A tiny dynamic resource that proves the Pulumi engine, the language host and the dynamic-provider
process work together on this machine (used by `tests/engine/test_engine_smoke.py`, which copies this file
next to its program: the program and the provider process both import it from the project directory).

Its "remote system" is a JSON file, so create/read/update/delete have real effects that a refresh
can observe. It has nothing to do with ConnectWise.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Optional

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult


def _load(path: str) -> dict[str, Any]:
    p = Path(path)
    return json.loads(p.read_text()) if p.exists() else {}


def _save(path: str, data: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True))


class EngineProbeProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        data = _load(props["store"])
        rid = uuid.uuid4().hex[:12]
        data[rid] = props["value"]
        _save(props["store"], data)
        return CreateResult(rid, {"store": props["store"], "value": props["value"]})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        data = _load(props["store"])
        if id_ not in data:
            return ReadResult(None, {})
        outs = {"store": props["store"], "value": data[id_]}
        return ReadResult(id_, outs, inputs=outs)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = olds.get("value") != news.get("value")
        return DiffResult(changes=changed, replaces=["store"] if olds.get("store") != news.get("store") else [])

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        data = _load(news["store"])
        data[id_] = news["value"]
        _save(news["store"], data)
        return UpdateResult({"store": news["store"], "value": news["value"]})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        data = _load(props["store"])
        data.pop(id_, None)
        _save(props["store"], data)


class EngineProbe(Resource, module="cwroles", name="EngineProbe"):
    value: pulumi.Output[str]

    def __init__(self, resource_name: str, store: str, value: str, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(EngineProbeProvider(), resource_name, {"store": store, "value": value}, opts)
