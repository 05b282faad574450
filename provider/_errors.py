"""ConnectWise errors as typed exceptions whose messages tell an MSP admin what to do next.

Every message quotes ConnectWise's own ``code`` / ``message`` / ``errors[]`` and never contains
credentials: the request is described by method and path only (no headers, no query secrets).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

__all__ = [
    "ConnectWiseError",
    "ConfigurationError",
    "TransportError",
    "ResponseError",
    "ClientError",
    "TransientError",
    "NotFound",
    "Unauthorized",
    "Forbidden",
    "InvalidObject",
    "ObjectExists",
    "ObjectInUse",
    "MethodNotAllowed",
    "Conflict",
    "ServerError",
    "RateLimited",
    "error_for_response",
]


class ConnectWiseError(Exception):
    """Base class: one failed ConnectWise request (or a provider-side problem talking to it)."""

    status: Optional[int] = None
    hint: str = ""

    def __init__(
        self,
        summary: str,
        *,
        method: str = "",
        path: str = "",
        status: Optional[int] = None,
        code: Optional[str] = None,
        cw_message: Optional[str] = None,
        errors: Optional[list[dict[str, Any]]] = None,
        hint: Optional[str] = None,
    ) -> None:
        self.summary = summary
        self.method = method
        self.path = path
        if status is not None:
            self.status = status
        self.code = code
        self.cw_message = cw_message
        self.errors = errors or []
        if hint is not None:
            self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.summary]
        if self.method or self.path:
            where = f"{self.method} {self.path}".strip()
            status = f" → HTTP {self.status}" if self.status else ""
            parts.append(f"(request: {where}{status})")
        said = []
        if self.code:
            said.append(f"code {self.code!r}")
        if self.cw_message:
            said.append(f"message {self.cw_message!r}")
        for e in self.errors:
            bits = [f"{k}={e[k]!r}" for k in ("code", "field", "message", "resource", "details") if e.get(k)]
            if bits:
                said.append("error " + ", ".join(bits))
        if said:
            parts.append("ConnectWise said: " + "; ".join(said) + ".")
        if self.hint:
            parts.append("What to do: " + self.hint)
        return " ".join(parts)

    @property
    def error_codes(self) -> list[str]:
        return [str(e.get("code")) for e in self.errors if e.get("code")]


class ConfigurationError(ConnectWiseError):
    """The provider is missing or has unusable connection settings."""


class TransportError(ConnectWiseError):
    """ConnectWise could not be reached (DNS, TLS, connection refused, timeout)."""


class ResponseError(ConnectWiseError):
    """ConnectWise answered with an error status."""


class ClientError(ResponseError):
    """ConnectWise refused the request itself (4xx): sending it again unchanged fails the same way."""


class TransientError(ResponseError):
    """ConnectWise could not serve the request now (429, 5xx): it may work later."""


class InvalidObject(ClientError):
    status = 400


class ObjectExists(InvalidObject):
    """400 InvalidObject whose errors[] carry code ObjectExists (a duplicate natural key)."""


class ObjectInUse(InvalidObject):
    """400 InvalidObject whose errors[] carry code ObjectInUse (e.g. a role members still hold)."""


class Unauthorized(ClientError):
    status = 401


class Forbidden(ClientError):
    status = 403


class NotFound(ClientError):
    status = 404


class MethodNotAllowed(ClientError):
    status = 405


class Conflict(ClientError):
    status = 409


class RateLimited(TransientError):
    status = 429

    def __init__(self, summary: str, *, retry_after: Optional[float] = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(summary, **kw)


class ServerError(TransientError):
    status = 500


# ---- mapping a response to an exception -------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    """One row of the mapping: which responses it takes, the exception, and what to tell the admin.

    ``summary`` and ``hint`` are format strings over: what (the request in words), method, path,
    status, fields (the fields ConnectWise named), who, need (the missing permission), wait.
    """

    statuses: range
    error_code: Optional[str]  # when set, the row applies only if errors[] carries this code
    exc: type[ConnectWiseError]
    summary: str
    hint: str = ""


def _one(status: int) -> range:
    return range(status, status + 1)


_OUTCOMES: tuple[_Outcome, ...] = (
    _Outcome(_one(400), "ObjectExists", ObjectExists,
             "ConnectWise refused {what}: an object with the same {fields} already exists.",
             "adopt the existing object (ResourceOptions(import_=<its id>)) or choose another name/identifier."),
    _Outcome(_one(400), "ObjectInUse", ObjectInUse,
             "ConnectWise refused {what}: the object is still in use.",
             "move whatever still uses it elsewhere first — for a security role, give its members "
             "(deactivated API members included; ConnectWise keeps them) another role in System › Members — "
             "then run again."),
    _Outcome(_one(400), None, InvalidObject,
             "ConnectWise rejected {what} as invalid.",
             "fix the field ConnectWise names above in your stack code and run `pulumi up` again."),
    _Outcome(_one(401), None, Unauthorized,
             "ConnectWise did not accept the API keys{who}.",
             "check connectwise:companyId, connectwise:publicKey and connectwise:privateKey (or CONNECTWISE_* "
             "variables); keys are made in System › Members › API Members › <member> › API Keys and the "
             "private key is shown only once — create a new key if it was lost."),
    _Outcome(_one(403), None, Forbidden,
             "ConnectWise denied {what}: the provisioning API member's security role lacks {need}.",
             "grant {need} to that role in System › Security Roles, or configure an admin member's keys."),
    _Outcome(_one(404), None, NotFound,
             "ConnectWise found nothing at {path} ({what}).",
             "the object was deleted outside Pulumi (run `pulumi refresh`), or the site/codebase is wrong."),
    _Outcome(_one(405), None, MethodNotAllowed,
             "ConnectWise does not allow {method} on {path}.",
             "this operation is not available in the published API; make the change in the ConnectWise UI."),
    _Outcome(_one(409), None, Conflict,
             "ConnectWise reported a conflict for {what} (the object is in use or was changed concurrently).",
             "release what uses it (e.g. move members off a role before deleting it) and try again."),
    _Outcome(_one(429), None, RateLimited,
             "ConnectWise rate-limited {what}{wait} and the retry budget ran out.",
             "wait a minute and run again, or raise connectwise:maxRetries / connectwise:retryMaxSeconds."),
    _Outcome(range(500, 1000), None, ServerError,
             "ConnectWise failed with a server error on {what}.",
             "ConnectWise may be upgrading or overloaded; run again later. Nothing was assumed to have changed."),
    _Outcome(range(400, 500), None, ClientError, "ConnectWise answered HTTP {status} to {what}."),
    _Outcome(range(0, 1000), None, ResponseError, "ConnectWise answered HTTP {status} to {what}."),
)


def _parse_body(body: Any) -> tuple[Optional[str], Optional[str], list[dict[str, Any]]]:
    """ConnectWise's ``code``, ``message`` and ``errors[]`` from a response body of any shape."""
    if isinstance(body, dict):
        code = body.get("code") if isinstance(body.get("code"), str) else None
        message = body.get("message") if isinstance(body.get("message"), str) else None
        raw = body.get("errors") or []
        return code, message, [e for e in raw if isinstance(e, dict)] if isinstance(raw, list) else []
    if isinstance(body, str) and body.strip():
        return None, body.strip()[:300], []
    return None, None, []


def error_for_response(
    method: str,
    path: str,
    status: int,
    body: Any,
    *,
    retry_after: Optional[float] = None,
    company_id: str = "",
) -> ConnectWiseError:
    """The typed exception for a non-2xx ConnectWise response."""
    code, cw_message, errors = _parse_body(body)
    codes = {e.get("code") for e in errors}
    row = next(o for o in _OUTCOMES if status in o.statuses and (o.error_code is None or o.error_code in codes))
    from cwroles.api_permissions import load_api_permissions  # on the first error only: the table is data

    endpoint = load_api_permissions().endpoint(path)
    need = load_api_permissions().permission(method, path)
    words = {
        "what": endpoint.does if endpoint else "the request",
        "method": method,
        "path": path,
        "status": status,
        "fields": ", ".join(sorted({str(e.get("field")) for e in errors if e.get("field")})) or "its name",
        "who": f" for company {company_id!r}" if company_id else "",
        "need": str(need) if need else "the permission for this request",
        "wait": f" (it asked to wait {retry_after:g}s)" if retry_after is not None else "",
    }
    kw: dict[str, Any] = dict(method=method, path=path, status=status, code=code, cw_message=cw_message, errors=errors)
    if row.hint:
        kw["hint"] = row.hint.format(**words)
    if issubclass(row.exc, RateLimited):
        kw["retry_after"] = retry_after
    return row.exc(row.summary.format(**words), **kw)
