"""Connection settings: stack config (``connectwise:*``), then ``CONNECTWISE_*`` variables.

A stack uses the bundled emulator only when it chose it: ``connectwise:site: emulator`` (or
``CONNECTWISE_SITE=emulator``) means the emulator's well-known tenant at 127.0.0.1 on
``CWROLES_EMULATOR_PORT``. With no site anywhere the settings are incomplete, never "the emulator":
a stack configured through ``CONNECTWISE_*`` and later run without them must not silently retarget.

Settings are read in the provider's ``configure`` and kept in this module (one stack per
provider process), never on the provider object, so nothing secret is pickled into state.
Clients are cached per settings value. The tenant guard (``guarded_settings``) lives here too: a resource
records the tenant it lives in, and settings for another tenant stop any operation on it before a request.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

from cwroles import emulator_defaults as emu

from ._errors import ConfigurationError
from ._retry import RetryPolicy

if TYPE_CHECKING:
    from ._client import Client

__all__ = [
    "Settings", "Tenant", "KEYS", "EMULATOR", "resolve_settings", "configure", "current_settings", "get_client", "reset",
    "TENANT_KEY", "TenantChanged", "guarded_settings",
]

log = logging.getLogger("cwroles.provider")

DEFAULT_API_VERSION = "2025.1"

# setting name → (stack config key, environment variable)
KEYS: dict[str, tuple[str, str]] = {
    "site": ("connectwise:site", "CONNECTWISE_SITE"),
    "company_id": ("connectwise:companyId", "CONNECTWISE_COMPANY_ID"),
    "client_id": ("connectwise:clientId", "CONNECTWISE_CLIENT_ID"),
    "public_key": ("connectwise:publicKey", "CONNECTWISE_PUBLIC_KEY"),
    "private_key": ("connectwise:privateKey", "CONNECTWISE_PRIVATE_KEY"),
    "codebase": ("connectwise:codebase", "CONNECTWISE_CODEBASE"),
    "api_version": ("connectwise:apiVersion", "CONNECTWISE_API_VERSION"),
    "max_retries": ("connectwise:maxRetries", "CONNECTWISE_MAX_RETRIES"),
    "retry_max_seconds": ("connectwise:retryMaxSeconds", "CONNECTWISE_RETRY_MAX_SECONDS"),
    "timeout": ("connectwise:timeout", "CONNECTWISE_TIMEOUT"),
}
def normalize_site(site: str) -> str:
    """``api-na.myconnectwise.net`` → ``https://api-na.myconnectwise.net``; full URLs kept (no trailing /)."""
    s = site.strip()
    if not s:
        raise ConfigurationError("connectwise:site is empty.", hint="set it to your API host, e.g. api-na.myconnectwise.net")
    if "://" not in s:
        s = "https://" + s
    return s.rstrip("/")


# The value of connectwise:site / CONNECTWISE_SITE by which a stack chooses the bundled emulator.
EMULATOR = "emulator"
_CREDENTIALS = ("company_id", "client_id", "public_key", "private_key")


@dataclass(frozen=True)
class Tenant:
    """Which ConnectWise tenant a resource lives in: the API site and the company id (state keeps it)."""

    site: str
    company_id: str
    emulator: bool = False

    @classmethod
    def of(cls, site: str, company_id: str, emulator: bool = False) -> "Tenant":
        return cls(normalize_site(site), company_id.strip(), emulator)

    @classmethod
    def from_record(cls, record: Any) -> Optional["Tenant"]:
        """The tenant recorded in a resource's state (``{"site", "company_id"}``), or None (older state)."""
        if not isinstance(record, Mapping) or not record.get("site") or not record.get("company_id"):
            return None
        return cls.of(str(record["site"]), str(record["company_id"]), bool(record.get("emulator")))

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"site": self.site, "company_id": self.company_id}
        if self.emulator:
            out["emulator"] = True
        return out

    def same_as(self, other: "Tenant") -> bool:
        # Host names and company ids are case-insensitive in ConnectWise; the path part of a site is not.
        def key(t: "Tenant") -> tuple[str, str]:
            scheme, _, rest = t.site.partition("://")
            host, _, path = rest.partition("/")
            return f"{scheme.lower()}://{host.lower()}/{path}", t.company_id.lower()

        return key(self) == key(other)

    def describe(self) -> str:
        where = f"company {self.company_id!r} at {self.site}"
        return f"{where} (the bundled emulator)" if self.emulator else where


@dataclass(frozen=True)
class Settings:
    site: str
    company_id: str
    client_id: str
    public_key: str = field(repr=False)
    private_key: str = field(repr=False)
    codebase: Optional[str] = None
    api_version: str = DEFAULT_API_VERSION
    max_retries: int = 4
    retry_max_seconds: float = 60.0
    timeout: float = 30.0
    emulator: bool = False

    @property
    def tenant(self) -> Tenant:
        return Tenant.of(self.site, self.company_id, self.emulator)

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_retries=self.max_retries, max_total=self.retry_max_seconds)

    def client(self) -> "Client":
        from ._client import Client  # the HTTP library loads with the first client, never for a check

        return Client(
            self.site,
            self.company_id,
            self.public_key,
            self.private_key,
            self.client_id,
            codebase=self.codebase,
            api_version=self.api_version,
            retry=self.retry_policy(),
            timeout=self.timeout,
        )


def _number(name: str, raw: str, kind: Callable[[str], Any], minimum: float) -> Any:
    cfg, env = KEYS[name]
    try:
        value = kind(str(raw).strip())
    except ValueError:
        raise ConfigurationError(f"{cfg} / {env} must be a number, got {raw!r}.") from None
    if value < minimum:
        raise ConfigurationError(f"{cfg} / {env} must be at least {minimum}, got {raw!r}.")
    return value


_emulator_logged = False


def _set_hint(names: list[str]) -> str:
    cmds = []
    for n in names:
        cfg, _env = KEYS[n]
        secret = "--secret " if n in ("public_key", "private_key") else ""
        cmds.append(f"`pulumi config set {secret}{cfg} <value>`")
    return "; ".join(cmds)


def resolve_settings(
    config_get: Callable[[str], Any] = lambda _k: None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from stack config first, then the environment. Makes no request.

    Raises ``ConfigurationError`` naming every missing key (and the commands that set them) when the
    settings are incomplete, including when no site is configured at all.
    """
    global _emulator_logged
    env = os.environ if environ is None else environ
    raw: dict[str, Optional[str]] = {}
    for name, (cfg_key, env_key) in KEYS.items():
        v = config_get(cfg_key)
        if v is None or v == "":
            v = env.get(env_key) or None
        raw[name] = None if v is None else str(v)

    emulator = (raw["site"] or "").strip().lower() == EMULATOR
    if emulator:
        defaults = {
            "site": emu.SITE,
            "company_id": emu.COMPANY_ID,
            "client_id": emu.CLIENT_ID,
            "public_key": emu.ADMIN_PUBLIC_KEY,
            "private_key": emu.ADMIN_PRIVATE_KEY,
        }
        raw["site"] = emu.SITE
        for k, v in defaults.items():
            raw[k] = raw[k] or v
        if not _emulator_logged:
            _emulator_logged = True
            log.info("connectwise:site is %r: using the bundled emulator at %s (company %r)",
                     EMULATOR, raw["site"], raw["company_id"])
    elif not raw["site"]:
        missing = ["site", *[n for n in _CREDENTIALS if not raw[n]]]
        raise ConfigurationError(
            "no ConnectWise tenant is configured: " + ", ".join(f"{KEYS[n][0]} / {KEYS[n][1]}" for n in missing)
            + " not set.",
            hint="point the stack at your tenant: " + _set_hint(missing)
            + " (or export the CONNECTWISE_* variables); or choose the bundled emulator for this stack: "
            f"`pulumi config set connectwise:site {EMULATOR}`.",
        )
    missing = [n for n in _CREDENTIALS if not raw[n]]
    if missing:
        raise ConfigurationError(
            "ConnectWise connection settings are incomplete for site " + repr(raw["site"]) + ": "
            + ", ".join(f"{KEYS[n][0]} / {KEYS[n][1]}" for n in missing) + " not set.",
            hint="set " + _set_hint(missing) + " (or export the CONNECTWISE_* variables).",
        )
    return Settings(
        site=str(raw["site"]),
        company_id=str(raw["company_id"]),
        client_id=str(raw["client_id"]),
        public_key=str(raw["public_key"]),
        private_key=str(raw["private_key"]),
        codebase=raw["codebase"],
        api_version=raw["api_version"] or DEFAULT_API_VERSION,
        max_retries=_number("max_retries", raw["max_retries"], int, 0) if raw["max_retries"] else 4,
        retry_max_seconds=_number("retry_max_seconds", raw["retry_max_seconds"], float, 0)
        if raw["retry_max_seconds"]
        else 60.0,
        timeout=_number("timeout", raw["timeout"], float, 0.1) if raw["timeout"] else 30.0,
        emulator=emulator,
    )


# ---- process-wide state (never pickled) ----------------------------------------------------

_lock = threading.Lock()
_configured: dict[str, dict[str, Any]] = {}
_clients: dict[Settings, Client] = {}


def configure(config_get: Callable[[str], Any]) -> None:
    """Remember the stack config sent to the provider (called from ``ResourceProvider.configure``).

    Only the ``connectwise:*`` values are kept; they are resolved into ``Settings`` at call time so
    a mistake surfaces as a readable error on the first resource, not as a crash in configure.
    """
    values = {cfg_key: config_get(cfg_key) for cfg_key, _env in KEYS.values()}
    with _lock:
        _configured["stack"] = {k: v for k, v in values.items() if v is not None}


def current_settings() -> Settings:
    stack = _configured.get("stack", {})
    return resolve_settings(stack.get)


def get_client(settings: Optional[Settings] = None) -> Client:
    """The cached client for ``settings`` (default: the configured stack's)."""
    s = settings or current_settings()
    with _lock:
        c = _clients.get(s)
        if c is None:
            c = _clients[s] = s.client()
        return c


TENANT_KEY = "tenant"  # output: the tenant a resource lives in, {"site", "company_id"}


class TenantChanged(ConfigurationError):
    """The stack's state belongs to one tenant and the provider is configured for another (or none)."""

    def __init__(self, recorded: Tenant, now: Optional[Tenant], why: Optional[ConfigurationError] = None) -> None:
        if now is not None:
            summary = (f"this stack's resources live in ConnectWise {recorded.describe()}, but the stack is now "
                       f"configured for {now.describe()}. cwroles stopped before touching either tenant.")
        else:
            summary = (f"this stack's resources live in ConnectWise {recorded.describe()}, but no usable tenant is "
                       f"configured now ({why.summary if why else 'settings missing'}). cwroles stopped before "
                       "touching anything.")
        back = (f"`pulumi config set connectwise:site {EMULATOR}`" if recorded.emulator else
                f"`pulumi config set connectwise:site {recorded.site}` and "
                f"`pulumi config set connectwise:companyId {recorded.company_id}` (with its clientId and keys)")
        if recorded.emulator:
            port = recorded.site.rsplit(":", 1)[-1]
            back += f" with CWROLES_EMULATOR_PORT={port} (the emulator this stack was created on)"
        hint = ("point the stack back at its tenant: " + back + ", or export the CONNECTWISE_* variables it was "
                "created with. To manage another tenant, use another stack (one stack per tenant and "
                "integration): `pulumi stack init <tenant>-<integration>`.")
        super().__init__(summary, hint=hint)
        self.recorded = recorded
        self.now = now


def guarded_settings(olds: Mapping[str, Any]) -> Settings:
    """The configured settings, after checking they name the tenant recorded in ``olds`` (if any).

    Called before any request touching an existing resource (diff, read, update, delete): a changed
    target stops the operation with both tenants named. Makes no request.
    """
    recorded = Tenant.from_record(olds.get(TENANT_KEY))
    try:
        settings = current_settings()
    except ConfigurationError as e:
        if recorded is None:
            raise
        raise TenantChanged(recorded, None, e) from None
    if recorded is not None and not recorded.same_as(settings.tenant):
        raise TenantChanged(recorded, settings.tenant)
    return settings


def reset() -> None:
    """Forget configured values and cached clients (tests)."""
    global _emulator_logged
    with _lock:
        _configured.clear()
        for c in _clients.values():
            c.close()
        _clients.clear()
        _emulator_logged = False


