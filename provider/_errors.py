"""ConnectWise errors as typed exceptions whose messages tell an MSP admin what to do next.

Every message quotes ConnectWise's own ``code`` / ``message`` / ``errors[]`` and never contains
credentials: the request is described by method and path only (no headers, no query secrets).
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = [
    "ConnectWiseError",
    "ConfigurationError",
    "TransportError",
    "NotFound",
    "Unauthorized",
    "Forbidden",
    "InvalidObject",
    "ObjectExists",
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


class NotFound(ConnectWiseError):
    status = 404


class Unauthorized(ConnectWiseError):
    status = 401


class Forbidden(ConnectWiseError):
    status = 403


class InvalidObject(ConnectWiseError):
    status = 400


class ObjectExists(InvalidObject):
    """400 InvalidObject whose errors[] carry code ObjectExists (a duplicate natural key)."""


class MethodNotAllowed(ConnectWiseError):
    status = 405


class Conflict(ConnectWiseError):
    status = 409


class ServerError(ConnectWiseError):
    status = 500


class RateLimited(ConnectWiseError):
    status = 429

    def __init__(self, summary: str, *, retry_after: Optional[float] = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(summary, **kw)


# ---- mapping a response to an exception -------------------------------------------------------

# What the provisioning member needs, per (method, path prefix). Paths are lower-cased.
_PERMISSION_HINTS: list[tuple[str, str, str]] = [
    ("POST", "/system/members/", "System › Member Maintenance › Edit (deactivate / tokens)"),
    ("POST", "/system/apimembers", "System › Member Maintenance › Add"),
    ("PATCH", "/system/apimembers", "System › Member Maintenance › Edit"),
    ("PUT", "/system/apimembers", "System › Member Maintenance › Edit"),
    ("GET", "/system/apimembers", "System › Member Maintenance › Inquire"),
    ("GET", "/system/members", "System › Member Maintenance › Inquire"),
    ("POST", "/system/securityroles", "System › Security › Add"),
    ("DELETE", "/system/securityroles", "System › Security › Delete"),
    ("GET", "/system/securityroles", "System › Security › Inquire"),
    ("GET", "/system/setupscreens", "System › Table Setup › Inquire"),
]


def _permission_for(method: str, path: str) -> Optional[str]:
    p = path.lower()
    for m, prefix, perm in _PERMISSION_HINTS:
        if m == method and p.startswith(prefix):
            return perm
    return None


def _describe(method: str, path: str) -> str:
    p = path.lower()
    if "/tokens" in p:
        return "impersonating the member"
    if "customizeitems" in p:
        return "reading the member's Customize allow-lists"
    if "/settings" in p:
        return "reading the security role's permission settings"
    if p.startswith("/system/securityroles"):
        return "the security-role request"
    if "/deactivate" in p:
        return "deactivating the member"
    if p.startswith("/system/apimembers") or p.startswith("/system/members"):
        return "the API-member request"
    if p.startswith("/login/companyinfo"):
        return "discovering the tenant's codebase"
    return "the request"


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
    code = cw_message = None
    errors: list[dict[str, Any]] = []
    if isinstance(body, dict):
        code = body.get("code") if isinstance(body.get("code"), str) else None
        cw_message = body.get("message") if isinstance(body.get("message"), str) else None
        raw = body.get("errors") or []
        if isinstance(raw, list):
            errors = [e for e in raw if isinstance(e, dict)]
    elif isinstance(body, str) and body.strip():
        cw_message = body.strip()[:300]
    what = _describe(method, path)
    kw: dict[str, Any] = dict(method=method, path=path, status=status, code=code, cw_message=cw_message, errors=errors)
    perm = _permission_for(method, path)

    if status == 400:
        if any(e.get("code") == "ObjectExists" for e in errors):
            fields = ", ".join(sorted({str(e.get("field")) for e in errors if e.get("field")})) or "its name"
            return ObjectExists(
                f"ConnectWise refused {what}: an object with the same {fields} already exists.",
                hint="adopt the existing object (ResourceOptions(import_=<its id>)) or choose another name/identifier.",
                **kw,
            )
        if any(e.get("code") == "ObjectInUse" for e in errors):
            return InvalidObject(
                f"ConnectWise refused {what}: the object is still in use.",
                hint="move whatever still uses it elsewhere first — for a security role, give its members "
                "(deactivated API members included; ConnectWise keeps them) another role in System › Members — "
                "then run again.",
                **kw,
            )
        return InvalidObject(
            f"ConnectWise rejected {what} as invalid.",
            hint="fix the field ConnectWise names above in your stack code and run `pulumi up` again.",
            **kw,
        )
    if status == 401:
        who = f" for company {company_id!r}" if company_id else ""
        return Unauthorized(
            f"ConnectWise did not accept the API keys{who}.",
            hint=(
                "check connectwise:companyId, connectwise:publicKey and connectwise:privateKey (or CONNECTWISE_* "
                "variables); keys are made in System › Members › API Members › <member> › API Keys and the "
                "private key is shown only once — create a new key if it was lost."
            ),
            **kw,
        )
    if status == 403:
        need = perm or "the permission for this request"
        return Forbidden(
            f"ConnectWise denied {what}: the provisioning API member's security role lacks {need}.",
            hint=f"grant {need} to that role in System › Security Roles, or configure an admin member's keys.",
            **kw,
        )
    if status == 404:
        return NotFound(
            f"ConnectWise found nothing at {path} ({what}).",
            hint="the object was deleted outside Pulumi (run `pulumi refresh`), or the site/codebase is wrong.",
            **kw,
        )
    if status == 405:
        return MethodNotAllowed(
            f"ConnectWise does not allow {method} on {path}.",
            hint="this operation is not available in the published API; make the change in the ConnectWise UI.",
            **kw,
        )
    if status == 409:
        return Conflict(
            f"ConnectWise reported a conflict for {what} (the object is in use or was changed concurrently).",
            hint="release what uses it (e.g. move members off a role before deleting it) and try again.",
            **kw,
        )
    if status == 429:
        wait = f" (it asked to wait {retry_after:g}s)" if retry_after is not None else ""
        return RateLimited(
            f"ConnectWise rate-limited {what}{wait} and the retry budget ran out.",
            retry_after=retry_after,
            hint="wait a minute and run again, or raise connectwise:maxRetries / connectwise:retryMaxSeconds.",
            **kw,
        )
    if status >= 500:
        return ServerError(
            f"ConnectWise failed with a server error on {what}.",
            hint="ConnectWise may be upgrading or overloaded; run again later. Nothing was assumed to have changed.",
            **kw,
        )
    return ConnectWiseError(f"ConnectWise answered HTTP {status} to {what}.", **kw)
