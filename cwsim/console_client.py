"""Play the administrator: apply a cwroles checklist through the console's JSON API.

ConnectWise's API cannot write a role's grid, so a person sets it in System › Security Roles. In the
emulator the console stands for that UI; the demo and the tests use this to do what the admin would
do with the checklist the provider wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx

from cwroles.grid import ChecklistItem, parse_checklist


@dataclass
class Applied:
    levels: int  # grid cells set
    moves: int  # Customize allow-list entries moved


def apply_checklist(console_api: str, role: int | str, markdown: str, client: httpx.Client | None = None) -> Applied:
    """Apply every change of ``markdown`` (a rendered checklist) to ``role`` (id or name).

    ``console_api`` is ``{site}/console/api/{companyId}``.
    """
    own = client is None
    client = client or httpx.Client(timeout=10)
    try:
        items = parse_checklist(markdown)
        base = f"{console_api}/roles/{quote(str(role), safe='')}"
        cells: dict[tuple[str, str], dict[str, str]] = {}
        for i in items:
            if i.level and i.desired is not None:
                cells.setdefault((i.module, i.function), {})[i.level] = i.desired.value
        if cells:
            _ok(client.post(f"{base}/settings", json={"settings": [
                {"module": m, "function": f, **levels} for (m, f), levels in cells.items()]}))
        moves = [i for i in items if i.item]
        if moves:
            current = _ok(client.get(base)).json().get("customize", {})
            for fn in dict.fromkeys(i.customize_function for i in moves):
                allow = list(current.get(fn, {}).get("allow", []))
                for i in moves:
                    if i.customize_function != fn:
                        continue
                    if i.allow and i.item not in allow:
                        allow.append(i.item)
                    elif not i.allow and i.item in allow:
                        allow.remove(i.item)
                _ok(client.put(f"{base}/customize", json={"function": fn, "allow": allow}))
        return Applied(levels=sum(len(v) for v in cells.values()), moves=len(moves))
    finally:
        if own:
            client.close()


def _ok(r: httpx.Response) -> httpx.Response:
    if r.is_error:
        raise RuntimeError(f"console {r.request.method} {r.request.url.path}: {r.status_code} {r.text}")
    return r


__all__ = ["Applied", "ChecklistItem", "apply_checklist"]
