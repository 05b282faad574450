"""Emulator state: one SQLite file, many tenants (companies), each with roles, settings rows,
customize allow-lists, API members, API keys and the reference records members point at.

Everything is keyed by ``company_id`` (case-insensitive, like ConnectWise company ids).
The store is used from the server's event loop and from test helpers; a lock serialises access.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import sqlite3
import string
import threading
from pathlib import Path
from typing import Any, Iterable, Optional

from cwroles import emulator_defaults as D
from cwroles.catalog import LEVEL_NAMES, Catalog, Function, Module, load_catalog

SCHEMA = """
CREATE TABLE IF NOT EXISTS companies (
  company_id TEXT PRIMARY KEY COLLATE NOCASE,
  name TEXT NOT NULL,
  client_id TEXT NOT NULL,
  bootstrap_public TEXT NOT NULL,
  bootstrap_private TEXT NOT NULL,
  created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS roles (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  company_id TEXT NOT NULL COLLATE NOCASE,
  name TEXT NOT NULL,
  role_type TEXT,
  admin_flag INTEGER NOT NULL DEFAULT 0,
  inactive_flag INTEGER NOT NULL DEFAULT 0,
  updated TEXT NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  company_id TEXT NOT NULL COLLATE NOCASE,
  role_id INTEGER NOT NULL,
  module TEXT NOT NULL,
  function TEXT NOT NULL,
  add_level TEXT NOT NULL, edit_level TEXT NOT NULL,
  delete_level TEXT NOT NULL, inquire_level TEXT NOT NULL,
  sort_order INTEGER NOT NULL,
  updated TEXT NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS settings_role ON settings(role_id);
CREATE TABLE IF NOT EXISTS customize (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  company_id TEXT NOT NULL COLLATE NOCASE,
  role_id INTEGER NOT NULL,
  module TEXT NOT NULL,
  function TEXT NOT NULL,
  item TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  company_id TEXT NOT NULL COLLATE NOCASE,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  identifier TEXT
);
CREATE TABLE IF NOT EXISTS members (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  company_id TEXT NOT NULL COLLATE NOCASE,
  identifier TEXT NOT NULL COLLATE NOCASE,
  doc TEXT NOT NULL,
  updated TEXT NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  company_id TEXT NOT NULL COLLATE NOCASE,
  member_id INTEGER NOT NULL,
  public_key TEXT NOT NULL,
  private_hash TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL DEFAULT 'permanent',
  expires TEXT,
  created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS keys_public ON keys(company_id, public_key);
"""

# kinds of reference records, and the ApiMember fields that point at each kind
REF_KINDS = {
    "structureLevel": "structure",
    "securityLocation": "location",
    "defaultLocation": "location",
    "salesDefaultLocation": "location",
    "defaultDepartment": "department",
    "timeZone": "timezone",
    "serviceDefaultBoard": "board",
}

BOOTSTRAP_REFS = [
    ("structure", "Corporate", None),
    ("location", "Main", None),
    ("location", "Remote", None),
    ("department", "Services", "SVC"),
    ("department", "Administration", "ADM"),
    ("timezone", "Eastern", None),
    ("timezone", "Central", None),
    ("timezone", "Mountain", None),
    ("timezone", "Pacific", None),
    ("timezone", "GMT", None),
    ("board", "Help Desk", None),
]

ADMIN_ROLE = "Admin"
ADMIN_NAME = "cwsim Administrator"


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def iso(d: dt.datetime) -> str:
    return d.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def hash_key(company_id: str, public: str, private: str) -> str:
    return hashlib.sha256(f"cwsim:{company_id.lower()}:{public}:{private}".encode()).hexdigest()


def random_key(n: int = 16) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


class Store:
    """SQLite-backed state for every emulated company."""

    def __init__(self, path: str | Path, catalog: Catalog | None = None):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.catalog = catalog or load_catalog()
        self.lock = threading.RLock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.token_ttl = dt.timedelta(hours=1)

    def close(self) -> None:
        with self.lock:
            self.db.close()

    # ---- low level ------------------------------------------------------------------------
    def q(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.db.execute(sql, tuple(args)).fetchall()

    def one(self, sql: str, args: Iterable[Any] = ()) -> Optional[sqlite3.Row]:
        rows = self.q(sql, args)
        return rows[0] if rows else None

    def x(self, sql: str, args: Iterable[Any] = ()) -> int:
        with self.lock:
            cur = self.db.execute(sql, tuple(args))
            return cur.lastrowid

    def tx(self):
        """A transaction (nested calls join the outer one)."""
        store = self

        class _Tx:
            def __enter__(self_inner):
                store.lock.acquire()
                self_inner.outer = store.db.in_transaction
                if not self_inner.outer:
                    store.db.execute("BEGIN")

            def __exit__(self_inner, exc_type, exc, tb):
                try:
                    if not self_inner.outer:
                        store.db.execute("ROLLBACK" if exc_type else "COMMIT")
                finally:
                    store.lock.release()

        return _Tx()

    # ---- companies ------------------------------------------------------------------------
    def company(self, company_id: str) -> Optional[sqlite3.Row]:
        return self.one("SELECT * FROM companies WHERE company_id = ?", [company_id])

    def companies(self) -> list[sqlite3.Row]:
        return self.q("SELECT * FROM companies ORDER BY company_id")

    def create_company(
        self,
        company_id: str,
        name: str | None = None,
        public_key: str = D.ADMIN_PUBLIC_KEY,
        private_key: str = D.ADMIN_PRIVATE_KEY,
        client_id: str = D.CLIENT_ID,
    ) -> sqlite3.Row:
        """Create a tenant with its bootstrap Admin role, admin API member and key."""
        if not company_id or not company_id.replace("_", "").replace("-", "").isalnum():
            raise ValueError("companyId must be letters, digits, '-' or '_'")
        with self.tx():
            if self.company(company_id) is not None:
                raise KeyError(company_id)
            self.x(
                "INSERT INTO companies VALUES (?,?,?,?,?,?)",
                [company_id, name or company_id, client_id, public_key, private_key, iso(now())],
            )
            self._bootstrap(company_id)
        return self.company(company_id)

    def ensure_company(self, company_id: str, **kw) -> tuple[sqlite3.Row, bool]:
        row = self.company(company_id)
        if row is not None:
            return row, False
        return self.create_company(company_id, **kw), True

    def _bootstrap(self, company_id: str) -> None:
        c = self.company(company_id)
        for kind, name, ident in BOOTSTRAP_REFS:
            self.x("INSERT INTO refs (company_id, kind, name, identifier) VALUES (?,?,?,?)",
                   [company_id, kind, name, ident])
        role_id = self.insert_role(company_id, ADMIN_ROLE, "", True, False, "cwsim")
        for e in self.catalog.custom_menu_entries:
            self.x("INSERT INTO customize (company_id, role_id, module, function, item) VALUES (?,?,?,?,?)",
                   [company_id, role_id, "System", "Custom Menu Entry", e.name])
        for t in self.catalog.setup_tables:
            self.x("INSERT INTO customize (company_id, role_id, module, function, item) VALUES (?,?,?,?,?)",
                   [company_id, role_id, "System", "Table Setup", t.name])
        defaults = self.member_defaults(company_id)
        doc = {
            "name": ADMIN_NAME,
            "emailAddress": None,
            "inactiveFlag": False,
            "inactiveDate": None,
            "notes": "Bootstrap administrator created by cwsim",
            "excludedServiceBoardIds": [],
            "blockPriceFlag": False,
            "blockCostFlag": False,
            "securityRole": role_id,
        }
        for f in REF_KINDS:
            doc[f] = defaults.get(f)
        mid = self.insert_member(company_id, D.ADMIN_IDENTIFIER, doc, "cwsim")
        self.add_key(company_id, mid, c["bootstrap_public"], c["bootstrap_private"], "cwsim bootstrap key")

    def reset_company(self, company_id: str) -> None:
        with self.tx():
            for table in ("roles", "settings", "customize", "refs", "members", "keys"):
                self.x(f"DELETE FROM {table} WHERE company_id = ?", [company_id])
            self._bootstrap(company_id)

    def delete_company(self, company_id: str) -> None:
        with self.tx():
            for table in ("roles", "settings", "customize", "refs", "members", "keys", "companies"):
                self.x(f"DELETE FROM {table} WHERE company_id = ?", [company_id])

    # ---- reference records ----------------------------------------------------------------
    def refs(self, company_id: str, kind: str) -> list[sqlite3.Row]:
        return self.q("SELECT * FROM refs WHERE company_id=? AND kind=? ORDER BY id", [company_id, kind])

    def ref(self, company_id: str, ref_id: int) -> Optional[sqlite3.Row]:
        return self.one("SELECT * FROM refs WHERE company_id=? AND id=?", [company_id, ref_id])

    def find_ref(self, company_id: str, kind: str, *, id: Any = None, name: Any = None,
                 identifier: Any = None) -> Optional[sqlite3.Row]:
        if id is not None:
            return self.one("SELECT * FROM refs WHERE company_id=? AND kind=? AND id=?", [company_id, kind, id])
        if identifier is not None:
            return self.one("SELECT * FROM refs WHERE company_id=? AND kind=? AND identifier=? COLLATE NOCASE",
                            [company_id, kind, identifier])
        if name is not None:
            return self.one("SELECT * FROM refs WHERE company_id=? AND kind=? AND name=? COLLATE NOCASE",
                            [company_id, kind, name])
        return None

    def member_defaults(self, company_id: str) -> dict[str, Optional[int]]:
        first = {k: (rows[0]["id"] if (rows := self.refs(company_id, k)) else None)
                 for k in ("structure", "location", "department", "timezone")}
        return {
            "structureLevel": first["structure"],
            "securityLocation": first["location"],
            "defaultLocation": first["location"],
            "salesDefaultLocation": first["location"],
            "defaultDepartment": first["department"],
            "timeZone": first["timezone"],
            "serviceDefaultBoard": None,
        }

    # ---- roles ----------------------------------------------------------------------------
    def roles(self, company_id: str) -> list[sqlite3.Row]:
        return self.q("SELECT * FROM roles WHERE company_id=? ORDER BY id", [company_id])

    def role(self, company_id: str, role_id: Any) -> Optional[sqlite3.Row]:
        return self.one("SELECT * FROM roles WHERE company_id=? AND id=?", [company_id, role_id])

    def role_by_name(self, company_id: str, name: str) -> Optional[sqlite3.Row]:
        return self.one("SELECT * FROM roles WHERE company_id=? AND name=? COLLATE NOCASE", [company_id, name])

    def insert_role(self, company_id: str, name: str, role_type: Optional[str], admin: bool,
                    inactive: bool, by: str) -> int:
        t = iso(now())
        with self.tx():
            rid = self.x(
                "INSERT INTO roles (company_id, name, role_type, admin_flag, inactive_flag, updated, updated_by)"
                " VALUES (?,?,?,?,?,?,?)",
                [company_id, name, role_type, int(admin), int(inactive), t, by],
            )
            rows = []
            for order, (m, f) in enumerate(self.catalog.functions(), start=1):
                lv = {n: ("All" if admin and n in f.levels else "None") for n in LEVEL_NAMES}
                rows.append([company_id, rid, m.name, f.name, lv["add"], lv["edit"], lv["delete"],
                             lv["inquire"], order, t, by])
            self.db.executemany(
                "INSERT INTO settings (company_id, role_id, module, function, add_level, edit_level,"
                " delete_level, inquire_level, sort_order, updated, updated_by) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
        return rid

    def delete_role(self, company_id: str, role_id: int) -> None:
        with self.tx():
            self.x("DELETE FROM settings WHERE company_id=? AND role_id=?", [company_id, role_id])
            self.x("DELETE FROM customize WHERE company_id=? AND role_id=?", [company_id, role_id])
            self.x("DELETE FROM roles WHERE company_id=? AND id=?", [company_id, role_id])

    def settings(self, company_id: str, role_id: int) -> list[sqlite3.Row]:
        return self.q("SELECT * FROM settings WHERE company_id=? AND role_id=? ORDER BY sort_order",
                      [company_id, role_id])

    def setting(self, company_id: str, role_id: int, setting_id: int) -> Optional[sqlite3.Row]:
        return self.one("SELECT * FROM settings WHERE company_id=? AND role_id=? AND id=?",
                        [company_id, role_id, setting_id])

    def set_levels(self, company_id: str, role_id: int, module: str, function: str,
                   levels: dict[str, str], by: str) -> None:
        sets = ", ".join(f"{n}_level = ?" for n in levels)
        self.x(
            f"UPDATE settings SET {sets}, updated=?, updated_by=? WHERE company_id=? AND role_id=? AND module=? AND function=?",
            [*levels.values(), iso(now()), by, company_id, role_id, module, function],
        )
        self.x("UPDATE roles SET updated=?, updated_by=? WHERE company_id=? AND id=?",
               [iso(now()), by, company_id, role_id])

    def customize(self, company_id: str, role_id: int) -> list[sqlite3.Row]:
        return self.q("SELECT * FROM customize WHERE company_id=? AND role_id=? ORDER BY id", [company_id, role_id])

    def set_customize(self, company_id: str, role_id: int, module: str, function: str, items: list[str]) -> None:
        with self.tx():
            self.x("DELETE FROM customize WHERE company_id=? AND role_id=? AND module=? AND function=?",
                   [company_id, role_id, module, function])
            for it in items:
                self.x("INSERT INTO customize (company_id, role_id, module, function, item) VALUES (?,?,?,?,?)",
                       [company_id, role_id, module, function, it])

    # ---- members --------------------------------------------------------------------------
    def members(self, company_id: str) -> list[sqlite3.Row]:
        return self.q("SELECT * FROM members WHERE company_id=? ORDER BY id", [company_id])

    def member(self, company_id: str, member_id: Any) -> Optional[sqlite3.Row]:
        return self.one("SELECT * FROM members WHERE company_id=? AND id=?", [company_id, member_id])

    def member_by_identifier(self, company_id: str, ident: str) -> Optional[sqlite3.Row]:
        return self.one("SELECT * FROM members WHERE company_id=? AND identifier=?", [company_id, ident])

    def insert_member(self, company_id: str, identifier: str, doc: dict, by: str) -> int:
        return self.x(
            "INSERT INTO members (company_id, identifier, doc, updated, updated_by) VALUES (?,?,?,?,?)",
            [company_id, identifier, json.dumps(doc), iso(now()), by],
        )

    def update_member(self, company_id: str, member_id: int, identifier: str, doc: dict, by: str) -> None:
        self.x("UPDATE members SET identifier=?, doc=?, updated=?, updated_by=? WHERE company_id=? AND id=?",
               [identifier, json.dumps(doc), iso(now()), by, company_id, member_id])

    def members_with_role(self, company_id: str, role_id: int) -> list[sqlite3.Row]:
        return [m for m in self.members(company_id) if json.loads(m["doc"]).get("securityRole") == role_id]

    # ---- keys -----------------------------------------------------------------------------
    def add_key(self, company_id: str, member_id: int, public: str, private: str, description: str,
                kind: str = "permanent", expires: Optional[dt.datetime] = None) -> int:
        return self.x(
            "INSERT INTO keys (company_id, member_id, public_key, private_hash, description, kind, expires, created)"
            " VALUES (?,?,?,?,?,?,?,?)",
            [company_id, member_id, public, hash_key(company_id, public, private), description, kind,
             expires.isoformat() if expires else None, iso(now())],
        )

    def new_key(self, company_id: str, member_id: int, description: str, kind: str = "permanent",
                ttl: Optional[dt.timedelta] = None) -> dict:
        public, private = random_key(16), random_key(16)
        expires = dt.datetime.now(dt.timezone.utc) + ttl if ttl else None
        kid = self.add_key(company_id, member_id, public, private, description, kind, expires)
        return {"id": kid, "publicKey": public, "privateKey": private,
                "expiration": iso(expires) if expires else None}

    def keys(self, company_id: str, member_id: int) -> list[sqlite3.Row]:
        return self.q("SELECT * FROM keys WHERE company_id=? AND member_id=? ORDER BY id", [company_id, member_id])

    def delete_key(self, company_id: str, key_id: int) -> None:
        self.x("DELETE FROM keys WHERE company_id=? AND id=?", [company_id, key_id])

    def authenticate(self, company_id: str, public: str, private: str) -> Optional[sqlite3.Row]:
        """The member a key pair belongs to, or None (wrong, expired or inactive)."""
        row = self.one("SELECT * FROM keys WHERE company_id=? AND public_key=?", [company_id, public])
        if row is None or not secrets.compare_digest(row["private_hash"], hash_key(company_id, public, private)):
            return None
        if row["expires"] and dt.datetime.fromisoformat(row["expires"].replace("Z", "+00:00")) <= dt.datetime.now(dt.timezone.utc):
            return None
        member = self.member(company_id, row["member_id"])
        if member is None or json.loads(member["doc"]).get("inactiveFlag"):
            return None
        return member

    # ---- catalog helpers ------------------------------------------------------------------
    def catalog_function(self, module: str, function: str) -> tuple[Module, Function]:
        return self.catalog.function(module, function)
