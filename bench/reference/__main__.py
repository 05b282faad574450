"""The reference for `python -m bench speed`: a trivial, upstream-style Python dynamic provider.

Written the way Pulumi's documentation writes dynamic providers: the provider class lives in the program
(so it is pickled by value), talks HTTP with the standard library, and does nothing else. Three resources,
each a security role on the same emulator cwroles talks to: create = 1 POST, read = 1 GET, delete = 1 DELETE.
Its `preview --refresh` therefore makes exactly 3 localhost reads. This is the physical floor of the
dynamic-provider design on today's engine; cwroles' own operations are measured as a ratio to it.
"""

import json
import urllib.request

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider


def _call(method, url, props, body=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": props["auth"], "clientId": props["client_id"], "Content-Type": "application/json"}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as r:
        raw = r.read()
    return json.loads(raw) if raw else None


class RoleProvider(ResourceProvider):
    def create(self, props):
        role = _call("POST", f"{props['api']}/system/securityroles", props, {"name": props["name"]})
        return CreateResult(str(role["id"]), {**props, "name": role["name"]})

    def read(self, id_, props):
        role = _call("GET", f"{props['api']}/system/securityroles/{id_}", props)
        outs = {**props, "name": role["name"]}
        return ReadResult(id_, outs)

    def diff(self, id_, olds, news):
        return DiffResult(changes=olds.get("name") != news.get("name"), replaces=["name"])

    def delete(self, id_, props):
        _call("DELETE", f"{props['api']}/system/securityroles/{id_}", props)


class Role(Resource):
    name: pulumi.Output[str]

    def __init__(self, resource_name, api, auth, client_id, name, opts=None):
        props = {"api": api, "auth": auth, "client_id": client_id, "name": name}
        super().__init__(RoleProvider(), resource_name, props, opts)


cfg = pulumi.Config("reference")
for i in range(3):
    role = Role(f"role-{i}", api=cfg.require("api"), auth=cfg.require_secret("authorization"),
                client_id=cfg.require("clientId"), name=f"Reference Role {i}")
    pulumi.export(f"role{i}", role.id)
