"""The ConnectWise PSA REST client (httpx + pydantic).

One ``Client`` per tenant and key pair. It discovers the codebase, authenticates every request,
pages through lists, retries what is safe to retry, and turns ConnectWise errors into typed
exceptions (``provider._errors``). Credentials live only inside the httpx auth object: they are
never part of a repr, a log line or an exception message.

The ``*_record(s)`` methods return what ConnectWise answered (JSON), the ``get_*``/``list_*`` methods the
same as typed objects (``provider._models``, loaded with the first of them): a refresh that finds nothing
changed needs only the records (``provider.reads``).
"""

from __future__ import annotations

import copy
import logging
import ssl
import sys
import threading
import types
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, TypeVar
from urllib.parse import urlsplit

from . import _conditions as C
from ._errors import (
    ConfigurationError,
    ConnectWiseError,
    InvalidObject,
    NotFound,
    ObjectExists,
    ServerError,
    TransportError,
    error_for_response,
)
from ._config import DEFAULT_API_VERSION, normalize_site
from ._retry import Budget, RetryPolicy, parse_retry_after

__all__ = ["Client", "DEFAULT_API_VERSION", "PAGE_SIZE", "normalize_site", "normalize_codebase"]

log = logging.getLogger("cwroles.provider")

_httpx_lock = threading.Lock()


def _import_httpx() -> Any:  # pragma: no mutate block (import plumbing: its tests run in subprocesses)
    """httpx without its command line. httpx's ``__init__`` imports ``httpx._main`` (click, rich and pygments:
    ~0.09 s) whenever those are installed, and typer installs them; a provider never runs that command line.
    A stand-in keeps it out of the import; ``httpx.main`` still runs the real one if anybody calls it."""
    with _httpx_lock:
        if "httpx" in sys.modules:
            import httpx as loaded

            return loaded
        stand_in = types.ModuleType("httpx._main")

        def main(*args: Any, **kwargs: Any) -> Any:
            from httpx._main import main as real  # the stand-in is gone by then: this loads the real one

            return real(*args, **kwargs)

        stand_in.main = main  # type: ignore[attr-defined]
        sys.modules["httpx._main"] = stand_in
        try:
            import httpx as loaded
        finally:
            if sys.modules.get("httpx._main") is stand_in:
                del sys.modules["httpx._main"]
        return loaded


if TYPE_CHECKING:
    from ._models import ApiMember, Member, MySecurityCustomizeItem, SecurityRole, SecurityRoleSetting, SetupScreen, Token

    import httpx
else:

    class _Httpx:
        """``httpx``, imported when the first client is made: the stack program and a provider process that
        only checks and diffs never need it."""

        def __getattr__(self, name: str) -> Any:
            real = _import_httpx()
            globals()["httpx"] = real
            return getattr(real, name)

    httpx = _Httpx()

PAGE_SIZE = 1000  # ConnectWise's hard maximum
T = TypeVar("T")


def normalize_codebase(codebase: str) -> str:
    """``v4_6_release`` / ``/v4_6_release/`` → ``v4_6_release/``."""
    c = codebase.strip().strip("/")
    return c + "/" if c else ""


def _tls_for(site: str) -> ssl.SSLContext | bool:
    """Certificate checks for ``https://`` sites (httpx's default). A plain ``http://`` site (the emulator)
    never does TLS, so it gets a context with no trusted certificates instead of loading the CA bundle
    (25-50 ms per process): anything that did try TLS with it would fail closed, never unverified."""
    if site.lower().startswith("http://"):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return True


def _codebase_of(companyinfo: Any) -> Optional[str]:
    """The ``Codebase`` of a ``/login/companyinfo`` answer (PascalCase; camelCase accepted), or None."""
    if isinstance(companyinfo, dict):
        for key in ("Codebase", "codebase"):
            if isinstance(companyinfo.get(key), str):
                return companyinfo[key]
    return None


def _models() -> Any:
    from . import _models as models  # the typed objects load with the first typed call (pydantic)

    return models


class _Ambiguous(Exception):
    """A write failed in a way that may have reached the server (timeout after send, 5xx)."""

    def __init__(self, error: ConnectWiseError, retry_after: Optional[float] = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after  # the server's Retry-After, if it sent one


class Client:
    """A ConnectWise PSA client for one tenant.

    ``transport`` (an ``httpx.BaseTransport``) is pluggable for tests and proxies; ``retry`` bounds
    retries; ``codebase`` skips discovery when given.
    """

    def __init__(
        self,
        site: str,
        company_id: str,
        public_key: str,
        private_key: str,
        client_id: str,
        *,
        codebase: Optional[str] = None,
        api_version: str = DEFAULT_API_VERSION,
        retry: RetryPolicy = RetryPolicy(),
        timeout: float = 30.0,
        transport: Optional[httpx.BaseTransport] = None,
    ) -> None:
        if not company_id:
            raise ConfigurationError("connectwise:companyId is empty.", hint="set it to the company id you type at login.")
        if not public_key or not private_key:
            raise ConfigurationError(
                "the ConnectWise API key pair is incomplete.",
                hint="set connectwise:publicKey and connectwise:privateKey (as secrets) or CONNECTWISE_PUBLIC_KEY / CONNECTWISE_PRIVATE_KEY.",
            )
        if not client_id:
            raise ConfigurationError(
                "connectwise:clientId is empty.", hint="every ConnectWise request needs a clientId from developer.connectwise.com."
            )
        self.site = normalize_site(site)
        self.company_id = company_id
        self.api_version = api_version or DEFAULT_API_VERSION
        self.retry = retry
        self._codebase = normalize_codebase(codebase) if codebase else None
        self._codebase_lock = threading.Lock()
        self._auth = httpx.BasicAuth(f"{company_id}+{public_key}", private_key)
        self._http = httpx.Client(
            transport=transport,
            verify=_tls_for(self.site),
            timeout=timeout,
            follow_redirects=False,
            headers={
                "Accept": f"application/vnd.connectwise.com+json; version={self.api_version}",
                "clientId": client_id,
                "Cache-Control": "no-cache",
            },
        )

    def __repr__(self) -> str:
        return f"Client(site={self.site!r}, company_id={self.company_id!r}, codebase={self._codebase!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- addressing -----------------------------------------------------------------------
    @property
    def codebase(self) -> str:
        if self._codebase is None:
            with self._codebase_lock:
                if self._codebase is None:
                    self._codebase = self._discover_codebase()
        return self._codebase

    @property
    def base_url(self) -> str:
        return f"{self.site}/{self.codebase}apis/3.0"

    def _discover_codebase(self) -> str:
        path = f"/login/companyinfo/{self.company_id}"
        resp = self._send("GET", self.site + path, path, auth=None, budget=self.retry.budget(), idempotent=True)
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not body:
            raise ConfigurationError(
                f"ConnectWise at {self.site} does not know company {self.company_id!r}.",
                method="GET",
                path=path,
                hint="check connectwise:companyId (the company id typed at login) and connectwise:site, "
                "or set connectwise:codebase to skip discovery.",
            )
        codebase = _codebase_of(body)
        if codebase is None:
            raise ConfigurationError(
                f"ConnectWise at {self.site} answered companyinfo without a Codebase.",
                method="GET",
                path=path,
                hint="set connectwise:codebase (e.g. v4_6_release) explicitly.",
            )
        return normalize_codebase(codebase)

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def _path_of(self, url: str) -> str:
        """The API path of a URL, for messages (never includes the query string)."""
        p = urlsplit(url).path
        marker = "/apis/3.0"
        return p.split(marker, 1)[1] if marker in p else p

    # ---- sending --------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        url: str,
        path: str,
        *,
        auth: Any,
        budget: Budget,
        idempotent: bool,
        **kw: Any,
    ) -> httpx.Response:
        """One logical request with retries. Non-idempotent requests raise ``_Ambiguous`` instead
        of being repeated when the server may have acted on them."""
        while True:
            retry_after: Optional[float] = None
            try:
                resp = self._http.request(method, url, auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT, **kw)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The request never left: always safe to try again.
                error: ConnectWiseError = TransportError(
                    f"could not reach ConnectWise at {self.site} ({type(exc).__name__}).",
                    method=method,
                    path=path,
                    hint="check connectwise:site and your network; retries were exhausted.",
                )
                ambiguous = False
            except httpx.TransportError as exc:
                error = TransportError(
                    f"the connection to ConnectWise at {self.site} failed mid-request ({type(exc).__name__}).",
                    method=method,
                    path=path,
                    hint="run again; the provider checks whether a create went through before repeating it.",
                )
                ambiguous = True
            else:
                if resp.is_success:
                    return resp
                try:
                    body = resp.json()
                except ValueError:
                    body = resp.text
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                error = error_for_response(
                    method, path, resp.status_code, body, retry_after=retry_after, company_id=self.company_id
                )
                if resp.status_code == 429:
                    ambiguous = False  # refused, not processed
                elif resp.status_code >= 500:
                    ambiguous = True
                else:
                    raise error
            if ambiguous and not idempotent:
                raise _Ambiguous(error, retry_after)
            delay = budget.next_delay(retry_after)
            if delay is None:
                raise error
            log.warning(
                "ConnectWise %s %s failed (%s); retry %d in %.2fs",
                method, path, error.status or type(error).__name__, budget.retries + 1, delay,
            )
            budget.wait(delay)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[dict[str, Any]] = None,
        json: Any = None,
        headers: Optional[dict[str, str]] = None,
        idempotent: Optional[bool] = None,
        budget: Optional[Budget] = None,
    ) -> httpx.Response:
        """Send a request to ``{base_url}{path}``; returns the successful response.

        ``idempotent`` defaults to True for everything but POST. A non-idempotent request that
        fails ambiguously raises the mapped error without being repeated.
        """
        method = method.upper()
        idem = (method != "POST") if idempotent is None else idempotent
        url = self._url(path)
        kw: dict[str, Any] = {}
        if params:
            kw["params"] = params
        if json is not None:
            kw["json"] = json
        if headers:
            kw["headers"] = headers
        try:
            return self._send(
                method, url, self._path_of(url), auth=self._auth, budget=budget or self.retry.budget(), idempotent=idem, **kw
            )
        except _Ambiguous as amb:
            raise amb.error from None

    def get_json(self, path: str, params: Optional[dict[str, Any]] = None) -> Any:
        return self.request("GET", path, params=params).json()

    def paginate(
        self,
        path: str,
        *,
        conditions: Optional[str] = None,
        fields: Optional[str] = None,
        order_by: Optional[str] = None,
        page_size: int = PAGE_SIZE,
        max_pages: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        """Every row of a list endpoint: follows ``Link: rel=next``; without a Link header, asks
        for the next page until a short page."""
        params: dict[str, Any] = {"page": 1, "pageSize": page_size}
        if conditions:
            params["conditions"] = conditions
        if fields:
            params["fields"] = fields
        if order_by:
            params["orderBy"] = order_by
        target: str = path
        following_links = False
        for _ in range(max_pages):
            resp = self.request("GET", target, params=params if not following_links else None)
            rows = resp.json() or []
            if not isinstance(rows, list):
                raise ConnectWiseError(f"ConnectWise answered {self._path_of(str(resp.url))} with a non-list body.")
            yield from rows
            if "link" in resp.headers:
                nxt = resp.links.get("next", {}).get("url")
                if not nxt:
                    return
                if self._same_origin(nxt):
                    target, following_links = nxt, True
                    continue
            if following_links or len(rows) < page_size:
                return
            params["page"] += 1
        raise ConnectWiseError(f"stopped paging {path} after {max_pages} pages.")

    def list_all(self, path: str, **kw: Any) -> list[dict[str, Any]]:
        return list(self.paginate(path, **kw))

    def _same_origin(self, url: str) -> bool:
        a, b = urlsplit(url), urlsplit(self.site)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    # ---- creates that are never blindly repeated ------------------------------------------
    def create(self, path: str, body: dict[str, Any], find_existing: Callable[[], Optional[T]], parse: Callable[[Any], T]) -> T:
        """POST ``body``; if the outcome is unknown (5xx, connection lost after sending), look the
        object up by its natural key before trying again."""
        budget = self.retry.budget()
        url = self._url(path)
        while True:
            try:
                resp = self._send("POST", url, self._path_of(url), auth=self._auth, budget=budget, idempotent=False, json=body)
                return parse(resp.json())
            except _Ambiguous as amb:
                found = find_existing()
                if found is not None:
                    log.warning("ConnectWise POST %s outcome was unknown; the object exists, using it", path)
                    return found
                delay = budget.next_delay(amb.retry_after)
                if delay is None:
                    raise amb.error from None
                budget.wait(delay)

    # ---- security roles -------------------------------------------------------------------
    def security_role_record(self, role_id: int) -> Any:
        return self.get_json(f"/system/securityroles/{int(role_id)}")

    def get_security_role(self, role_id: int) -> SecurityRole:
        return _models().SecurityRole.model_validate(self.security_role_record(role_id))

    def find_security_role(self, name: str) -> Optional[SecurityRole]:
        rows = self.list_all("/system/securityroles", conditions=C.eq("name", name))
        for r in rows:
            if str(r.get("name", "")).lower() == name.lower():
                return _models().SecurityRole.model_validate(r)
        return None

    def create_security_role(self, name: str, role_type: Optional[str] = None, admin_flag: bool = False) -> SecurityRole:
        body: dict[str, Any] = {"name": name, "adminFlag": bool(admin_flag)}
        if role_type:
            body["roleType"] = role_type
        return self.create(
            "/system/securityroles", body, lambda: self.find_security_role(name), _models().SecurityRole.model_validate
        )

    def delete_security_role(self, role_id: int) -> None:
        self.request("DELETE", f"/system/securityroles/{int(role_id)}")

    def role_settings_records(self, role_id: int) -> list[dict[str, Any]]:
        return self.list_all(f"/system/securityRoles/{int(role_id)}/settings")

    def list_role_settings(self, role_id: int) -> list[SecurityRoleSetting]:
        setting = _models().SecurityRoleSetting
        return [setting.model_validate(r) for r in self.role_settings_records(role_id)]

    def list_setup_screens(self) -> list[SetupScreen]:
        return [_models().SetupScreen.model_validate(r) for r in self.list_all("/system/setupScreens")]

    # ---- members --------------------------------------------------------------------------
    def api_member_record(self, member_id: int) -> Any:
        return self.get_json(f"/system/apiMembers/{int(member_id)}")

    def get_api_member(self, member_id: int) -> ApiMember:
        return _models().ApiMember.model_validate(self.api_member_record(member_id))

    def find_api_member(self, identifier: str) -> Optional[ApiMember]:
        for r in self.list_all("/system/apiMembers", conditions=C.eq("identifier", identifier)):
            if str(r.get("identifier", "")).lower() == identifier.lower():
                return _models().ApiMember.model_validate(r)
        return None

    def find_member(self, identifier: str) -> Optional[Member]:
        for r in self.list_all("/system/members", conditions=C.eq("identifier", identifier)):
            if str(r.get("identifier", "")).lower() == identifier.lower():
                return _models().Member.model_validate(r)
        return None

    def api_member_defaults(self) -> dict[str, Any]:
        return self.get_json("/system/apiMembers/default") or {}

    def create_api_member(self, body: dict[str, Any]) -> ApiMember:
        identifier = body["identifier"]
        return self.create("/system/apiMembers", body, lambda: self.find_api_member(identifier),
                           _models().ApiMember.model_validate)

    def patch_api_member(self, member_id: int, operations: list[dict[str, Any]]) -> ApiMember:
        response = self.request("PATCH", f"/system/apiMembers/{int(member_id)}", json=operations)
        return _models().ApiMember.model_validate(response.json())

    def deactivate_member(self, member_id: int, deactivation: Optional[dict[str, Any]] = None) -> None:
        # Deactivating twice has the same effect as once, so retrying is safe.
        self.request("POST", f"/system/members/{int(member_id)}/deactivate", json=deactivation or {}, idempotent=True)

    def create_member_token(self, identifier: str) -> Token:
        resp = self.request(
            "POST",
            f"/system/members/{identifier}/tokens",
            json={"memberIdentifier": identifier},
            headers={"x-cw-usertype": "member"},
            idempotent=True,  # a second token is harmless
        )
        return _models().Token.model_validate(resp.json())

    def as_member(self, token: Token) -> "Client":
        """A client acting as the member the token was issued for (shares the connection pool)."""
        other = copy.copy(self)
        other._auth = httpx.BasicAuth(
            f"{self.company_id}+{token.public_key.get_secret_value()}", token.private_key.get_secret_value()
        )
        return other

    def my_customize_items(self) -> list[MySecurityCustomizeItem]:
        item = _models().MySecurityCustomizeItem
        return [item.model_validate(r) for r in self.list_all("/system/mySecurity/customizeItems/")]


# Re-exported for callers that catch by type.
__all__ += ["NotFound", "InvalidObject", "ObjectExists", "ServerError"]
