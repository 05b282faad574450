"""A project's stacks as the Pulumi engine keeps them, read without starting the engine.

- ``Workspace``: the project (``Pulumi.yaml``), its backend and its stacks: with a file backend the
  stack list and each stack's state come from the checkpoint files under
  ``<backend>/.pulumi/stacks/<project>/``; with any other backend from ``pulumi stack ls --json`` and
  ``pulumi stack export`` (one CLI start per stack, no language host, no program).
- ``StackConfig``: ``Pulumi.<stack>.yaml`` over the project's defaults. Secure values of the
  passphrase secrets provider are decrypted in-process (PBKDF2-SHA256, 1,000,000 iterations, then
  AES-256-GCM, as the engine does) and only when read; the key is derived once per distinct
  ``encryptionsalt``. Other secrets providers go through ``pulumi config --show-secrets --json``.

Nothing here writes: not the state, not the stack files. Decrypted values and derived keys live only
in memory and never appear in a message.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
import os
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional
from urllib.parse import unquote, urlsplit

import yaml

__all__ = [
    "StateError", "Resource", "StackState", "StackConfig", "Passphrase", "Workspace", "PBKDF2_ITERATIONS",
    "decrypt_value", "derive_key",
]

PBKDF2_ITERATIONS = 1_000_000  # Pulumi's passphrase secrets provider (sdk/go/common/resource/config/crypt.go)
_PASSPHRASE_PROVIDERS = {"", "passphrase", "default"}


class StateError(Exception):
    """A stack's state or configuration cannot be read; the message says what and how to fix it."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


# ---- YAML without implicit dates: Pulumi hands every scalar to the program as written ------------------


class _Loader(yaml.SafeLoader):
    pass


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_FastLoader: Any = _Loader
if hasattr(yaml, "CSafeLoader"):  # libyaml: the same rules, in C
    _FastLoader = type("_FastLoader", (yaml.CSafeLoader,), {"yaml_implicit_resolvers": _Loader.yaml_implicit_resolvers})


def _load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_FastLoader)


# ---- the passphrase secrets provider ---------------------------------------------------------------


def derive_key(passphrase: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, PBKDF2_ITERATIONS, 32)


def decrypt_value(key: bytes, value: str) -> str:
    """One ``v1:<nonce>:<ciphertext>`` value (AES-256-GCM); ValueError when it is not one or the key is wrong."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    parts = str(value).split(":")
    if len(parts) != 3 or parts[0] != "v1":
        raise ValueError("not a v1 secret")
    try:
        nonce, data = base64.b64decode(parts[1], validate=True), base64.b64decode(parts[2], validate=True)
        return AESGCM(key).decrypt(nonce, data, None).decode()
    except (binascii.Error, InvalidTag, UnicodeDecodeError) as e:
        raise ValueError("cannot decrypt") from e


@dataclass(frozen=True)
class Passphrase:
    """Where the passphrase comes from, as Pulumi reads it: PULUMI_CONFIG_PASSPHRASE, else the file
    named by PULUMI_CONFIG_PASSPHRASE_FILE (trimmed). ``value`` is None when neither is set."""

    value: Optional[str] = field(default=None, repr=False)
    problem: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Passphrase":
        if "PULUMI_CONFIG_PASSPHRASE" in environ:
            return cls(environ["PULUMI_CONFIG_PASSPHRASE"])
        path = environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
        if path:
            try:
                return cls(Path(path).read_text(encoding="utf-8").strip())
            except OSError as e:
                return cls(None, f"PULUMI_CONFIG_PASSPHRASE_FILE {path} cannot be read ({e.strerror})")
        return cls(None, "neither PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set")


# Keys derived in this process, by (passphrase digest, encryptionsalt): memory only, never written anywhere.
_derived: dict[tuple[bytes, str], bytes] = {}
_derived_lock = threading.Lock()


class _Keys:
    """Derived keys, one per distinct salt, shared by every stack of a sweep (derivation is the slow part)."""

    def __init__(self, passphrase: Passphrase) -> None:
        self._passphrase = passphrase
        self._lock = threading.Lock()
        self._salt_locks: dict[str, threading.Lock] = {}
        self.derivations = 0

    def _cache_key(self, salt_state: str) -> tuple[bytes, str]:
        return hashlib.sha256((self._passphrase.value or "").encode()).digest(), salt_state

    def key(self, salt_state: str, where: str) -> bytes:
        """The key for an ``encryptionsalt`` (``v1:<salt>:v1:<nonce>:<"pulumi" encrypted>``), checked as Pulumi does."""
        cache_key = self._cache_key(salt_state)
        with self._lock:
            if cache_key in _derived and self._passphrase.value is not None:
                return _derived[cache_key]
            lock = self._salt_locks.setdefault(salt_state, threading.Lock())
        with lock:
            if cache_key in _derived and self._passphrase.value is not None:
                return _derived[cache_key]
            if self._passphrase.value is None:
                raise StateError(
                    f"{where} holds secrets encrypted with a passphrase, and {self._passphrase.problem}.",
                    "export PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) with the stack's passphrase.",
                )
            parts = salt_state.split(":", 2)
            try:
                if len(parts) != 3 or parts[0] != "v1":
                    raise ValueError
                salt = base64.b64decode(parts[1], validate=True)
            except (ValueError, binascii.Error):
                raise StateError(f"{where}: encryptionsalt is not a Pulumi passphrase salt (v1:…).",
                                 "restore the line from version control or from the stack's state.") from None
            key = derive_key(self._passphrase.value, salt)
            self.derivations += 1
            try:
                ok = decrypt_value(key, parts[2]) == "pulumi"
            except ValueError:
                ok = False
            if not ok:
                raise StateError(f"{where}: incorrect passphrase (the one in PULUMI_CONFIG_PASSPHRASE does not open "
                                 "this stack's secrets).",
                                 "export the passphrase this stack was created with.")
            with _derived_lock:
                _derived[cache_key] = key
            return key


# ---- state -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    urn: str
    type: str
    id: Optional[str]
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


@dataclass(frozen=True)
class StackState:
    """The resources of one stack's latest checkpoint (empty when it was never deployed or was destroyed)."""

    stack: str
    resources: tuple[Resource, ...]
    secrets_salt: Optional[str] = None  # the passphrase provider's salt recorded in the state
    source: str = ""

    def of_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_token]

    def by_name(self, type_token: str, name: str) -> Optional[Resource]:
        return next((r for r in self.of_type(type_token) if r.name == name), None)


def _deployment_to_state(stack: str, deployment: Mapping[str, Any] | None, source: str) -> StackState:
    deployment = deployment or {}
    resources = []
    for r in deployment.get("resources") or []:
        if not isinstance(r, Mapping) or not r.get("urn") or not r.get("type"):
            raise StateError(f"stack {stack}: {source} holds a resource without urn/type.",
                             "the state is damaged: restore it from the backend's .pulumi/backups folder.")
        if r.get("delete"):  # marked for deletion by an earlier replace: not part of the stack any more
            continue
        resources.append(Resource(urn=str(r["urn"]), type=str(r["type"]), id=r.get("id"),
                                  inputs=r.get("inputs") or {}, outputs=r.get("outputs") or {}))
    sp = deployment.get("secrets_providers") or {}
    salt = (sp.get("state") or {}).get("salt") if sp.get("type") == "passphrase" else None
    return StackState(stack=stack, resources=tuple(resources), secrets_salt=salt, source=source)


# ---- config ----------------------------------------------------------------------------------------


def _is_secure(v: Any) -> bool:
    return isinstance(v, Mapping) and set(v) == {"secure"} and isinstance(v["secure"], str)


def _has_secure(v: Any) -> bool:
    if _is_secure(v):
        return True
    if isinstance(v, Mapping):
        return any(_has_secure(x) for x in v.values())
    if isinstance(v, list):
        return any(_has_secure(x) for x in v)
    return False


def _plain(v: Any) -> Any:
    """A YAML scalar as Pulumi gives it to a program: text (structured values stay structured)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return v


class StackConfig:
    """One stack's configuration: ``get("connectwise:site")`` like ``pulumi config get`` (secrets decrypted on read)."""

    def __init__(self, stack: str, values: Mapping[str, Any], where: str,
                 decrypt: Optional[Callable[[str], str]] = None) -> None:
        self.stack = stack
        self.where = where
        self._values = dict(values)
        self._decrypt = decrypt

    def keys(self) -> list[str]:
        return sorted(self._values)

    def namespace(self, ns: str) -> dict[str, Any]:
        """``{"integration": …}`` for the keys ``ns:integration`` …, secrets decrypted."""
        prefix = ns + ":"
        return {k[len(prefix):]: self.get(k) for k in self._values if k.startswith(prefix)}

    def is_secret(self, key: str) -> bool:
        return _has_secure(self._values.get(key))

    def get(self, key: str) -> Any:
        v = self._values.get(key)
        return self._resolve(key, v) if v is not None else None

    def _resolve(self, key: str, v: Any) -> Any:
        if _is_secure(v):
            if self._decrypt is None:
                raise StateError(f"{self.where}: {key} is a secret and this stack has no passphrase salt "
                                 "(encryptionsalt) to open it.",
                                 "run `pulumi config -s <stack>` once to check the stack's secrets provider.")
            try:
                return self._decrypt(v["secure"])
            except ValueError:
                raise StateError(f"{self.where}: the secret {key} cannot be decrypted with this stack's key.",
                                 f"set it again: `pulumi config set --secret {key} <value> -s {self.stack}`.") from None
        if isinstance(v, Mapping):
            return {k: self._resolve(key, x) for k, x in v.items()}
        if isinstance(v, list):
            return [self._resolve(key, x) for x in v]
        return _plain(v)


# ---- the workspace ---------------------------------------------------------------------------------


def _redact_url(url: str) -> str:
    """A backend URL for messages and reports: no user info, no query (where credentials may sit)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<backend>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else url


class Workspace:
    """A Pulumi project directory, its backend and its stacks.

    ``environ`` is the environment the engine would see (backend URL, passphrase, PULUMI_HOME);
    ``pulumi`` is the CLI used where the files cannot be read directly.
    """

    def __init__(self, root: Path, environ: Mapping[str, str] | None = None, pulumi: str = "pulumi",
                 read_files: bool = True) -> None:
        self.root = Path(root).resolve()
        self.read_files = read_files  # False: ask the CLI even for a file backend (what other backends get)
        self.environ = dict(os.environ if environ is None else environ)
        self.pulumi = pulumi
        project_file = next((p for p in (self.root / "Pulumi.yaml", self.root / "Pulumi.yml") if p.exists()), None)
        if project_file is None:
            raise StateError(f"{self.root} has no Pulumi.yaml: it is not a Pulumi project.",
                             "run cwroles drift in the project directory (where Pulumi.yaml is), or pass --dir.")
        try:
            doc = _load_yaml(project_file) or {}
        except yaml.YAMLError as e:
            raise StateError(f"{project_file} is not valid YAML ({str(e).splitlines()[0]}).", "fix the file.") from None
        if not isinstance(doc, Mapping) or not doc.get("name"):
            raise StateError(f"{project_file} has no project name.", "add `name: <project>` to it.")
        self.project = str(doc["name"])
        self._project_doc = doc
        self.config_dir = self.root / str((doc.get("stackConfigDir") or "."))
        self.backend_url = self._backend_url()
        self.keys = _Keys(Passphrase.from_env(self.environ))
        self._cli_lock = threading.Lock()

    # -- backend --
    def _backend_url(self) -> Optional[str]:
        url = self.environ.get("PULUMI_BACKEND_URL")
        if url:
            return url
        backend = self._project_doc.get("backend")
        if isinstance(backend, Mapping) and backend.get("url"):
            return str(backend["url"])
        home = Path(self.environ.get("PULUMI_HOME") or Path.home() / ".pulumi")
        try:
            creds = json.loads((home / "credentials.json").read_text(encoding="utf-8"))
            return creds.get("current") or None
        except (OSError, ValueError):
            return None

    @property
    def backend(self) -> str:
        return _redact_url(self.backend_url) if self.backend_url else "the Pulumi CLI's default backend"

    @property
    def file_backend(self) -> Optional[Path]:
        """The directory of a ``file://`` backend (the folder holding ``.pulumi``), or None."""
        url = self.backend_url
        if not self.read_files or not url or not url.startswith("file://"):
            return None
        raw = unquote(url[len("file://"):].split("?", 1)[0])
        if raw == "~" or raw.startswith("~/"):
            path = Path.home() / raw[2:]
        else:
            path = Path(raw)
        return path if path.is_absolute() else (self.root / path).resolve()

    def _stacks_dir(self) -> tuple[Path, bool]:
        base = self.file_backend / ".pulumi"  # type: ignore[operator]
        project_dir = base / "stacks" / self.project
        meta = base / "meta.yaml"
        version = 0
        if meta.exists():
            try:
                version = int((_load_yaml(meta) or {}).get("version") or 0)
            except (yaml.YAMLError, ValueError, TypeError, AttributeError):
                version = 0
        return (project_dir, True) if version >= 1 or project_dir.is_dir() else (base / "stacks", False)

    # -- stacks --
    def stacks(self) -> list[str]:
        """The project's stacks, as the engine lists them (sorted)."""
        if self.file_backend is None:
            return sorted(self._cli_stacks())
        folder, project_scoped = self._stacks_dir()
        if not folder.is_dir():
            return []
        names = set()
        for p in folder.iterdir():
            if p.is_file() and (p.name.endswith(".json") or p.name.endswith(".json.gz")):
                name = p.name.removesuffix(".gz").removesuffix(".json")
                if project_scoped or self._legacy_stack_in_project(p):
                    names.add(name)
        return sorted(names)

    def _legacy_stack_in_project(self, path: Path) -> bool:
        try:
            doc = self._read_json(path)
        except StateError:
            return True  # listed; reading it later reports the problem
        urns = [r.get("urn", "") for r in ((doc.get("checkpoint") or {}).get("latest") or {}).get("resources") or []]
        return not urns or any(f"::{self.project}::" in u for u in urns)

    def _checkpoint_path(self, stack: str) -> Optional[Path]:
        folder, _ = self._stacks_dir()
        short = stack.rsplit("/", 1)[-1]
        for name in (f"{short}.json", f"{short}.json.gz"):
            if (folder / name).is_file():
                return folder / name
        return None

    @staticmethod
    def _read_json(path: Path) -> dict:
        try:
            raw = path.read_bytes()
            if path.name.endswith(".gz"):
                raw = gzip.decompress(raw)
            doc = json.loads(raw)
        except OSError as e:
            raise StateError(f"the state file {path} cannot be read ({e.strerror}).",
                             "check the file's permissions and the backend URL.") from None
        except (ValueError, EOFError, gzip.BadGzipFile):
            raise StateError(f"the state file {path} is not valid JSON.",
                             "restore the last good copy from the backend's .pulumi/backups folder "
                             "(`pulumi stack import --file …`).") from None
        if not isinstance(doc, dict):
            raise StateError(f"the state file {path} is not a Pulumi checkpoint.",
                             "restore it from the backend's .pulumi/backups folder.")
        return doc

    def state(self, stack: str) -> StackState:
        if self.file_backend is None:
            doc = self._cli_json("stack", "export", "--stack", stack)
            if not isinstance(doc, Mapping):
                raise StateError(f"`pulumi stack export --stack {stack}` did not answer a deployment.", "")
            return _deployment_to_state(stack, doc.get("deployment"), "pulumi stack export")
        path = self._checkpoint_path(stack)
        if path is None:
            raise StateError(f"there is no stack {stack!r} in {self.backend} (project {self.project}).",
                             f"list the stacks with `pulumi stack ls`, or create it: `pulumi stack init {stack}`.")
        doc = self._read_json(path)
        checkpoint = doc.get("checkpoint")
        if not isinstance(checkpoint, Mapping):
            raise StateError(f"the state file {path} has no checkpoint.", "restore it from the backend's .pulumi/backups folder.")
        return _deployment_to_state(stack, checkpoint.get("latest"), str(path))

    # -- config --
    def _project_defaults(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, spec in (self._project_doc.get("config") or {}).items():
            full = key if ":" in key else f"{self.project}:{key}"
            if isinstance(spec, Mapping):
                if "value" in spec:
                    out[full] = spec["value"]
                elif "default" in spec:
                    out[full] = spec["default"]
            elif spec is not None:
                out[full] = spec
        return out

    def config(self, stack: str, state: Optional[StackState] = None) -> StackConfig:
        short = stack.rsplit("/", 1)[-1]
        path = self.config_dir / f"Pulumi.{short}.yaml"
        where = path.name
        doc: Any = {}
        if path.exists():
            try:
                doc = _load_yaml(path) or {}
            except yaml.YAMLError as e:
                raise StateError(f"{where} is not valid YAML ({str(e).splitlines()[0]}).", f"fix {where}.") from None
            if not isinstance(doc, Mapping):
                raise StateError(f"{where} is not a Pulumi stack file.", f"fix {where}.")
        values = self._project_defaults()
        for key, v in (doc.get("config") or {}).items():
            values[key if ":" in key else f"{self.project}:{key}"] = v
        provider = str(doc.get("secretsprovider") or "").strip()
        if not any(_has_secure(v) for v in values.values()):
            return StackConfig(stack, values, where)
        if provider.split("://", 1)[0] not in _PASSPHRASE_PROVIDERS or doc.get("encryptedkey"):
            return self._cli_config(stack, where)
        salt = doc.get("encryptionsalt") or (state.secrets_salt if state else None)
        if not salt:
            return self._cli_config(stack, where)

        def decrypt(value: str) -> str:
            return decrypt_value(self.keys.key(str(salt), where), value)

        return StackConfig(stack, values, where, decrypt)

    def _cli_config(self, stack: str, where: str) -> StackConfig:
        """Secrets of a provider other than the passphrase: ask the CLI once (it decrypts, we keep it in memory)."""
        doc = self._cli_json("config", "--json", "--show-secrets", "--stack", stack)
        values = {}
        for key, v in (doc or {}).items():
            if isinstance(v, Mapping):
                values[key] = v.get("objectValue", v.get("value"))
        return StackConfig(stack, values, where)

    # -- the CLI, where files are not enough --
    def _cli_json(self, *args: str) -> Any:
        cmd = [self.pulumi, *args, "--non-interactive"]
        env = {**self.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}
        try:
            out = subprocess.run(cmd, cwd=self.root, env=env, capture_output=True, text=True, timeout=300)
        except FileNotFoundError:
            raise StateError(f"the Pulumi CLI ({self.pulumi}) is not installed, and the backend {self.backend} is not a "
                             "file backend cwroles can read directly.", "install the Pulumi CLI (`make setup`).") from None
        except subprocess.TimeoutExpired:
            raise StateError(f"`pulumi {' '.join(args[:2])}` did not answer within 300 s.", "check the backend.") from None
        if out.returncode != 0:
            said = (out.stderr or out.stdout).strip().splitlines()
            raise StateError(f"`pulumi {' '.join(a for a in args if a != '--show-secrets')}` failed: "
                             f"{said[-1] if said else f'exit {out.returncode}'}",
                             "check the backend login (`pulumi whoami`) and the passphrase.")
        try:
            return json.loads(out.stdout or "null")
        except ValueError:
            raise StateError(f"`pulumi {' '.join(args[:2])}` did not print JSON.", "") from None

    def _cli_stacks(self) -> Iterable[str]:
        rows = self._cli_json("stack", "ls", "--json")
        return [str(r["name"]) for r in rows or [] if isinstance(r, Mapping) and r.get("name")]
