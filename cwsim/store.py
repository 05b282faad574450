"""Persistence: one SQLite file holding every emulated company, read and written as typed records.

The only module that knows SQL or the stored JSON of an API member. No rules live here: the backend
decides, the store remembers. Everything is keyed by ``company_id`` (case-insensitive). The store is
used from the server's event loop and from test helpers; a lock serialises access.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Sequence

from .records import REF_KINDS, AllowedItem, ApiKey, Company, Member, Ref, Role, Setting

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
CREATE TABLE IF NOT EXISTS tenant_catalog (
  company_id TEXT PRIMARY KEY COLLATE NOCASE,
  extras TEXT NOT NULL
);
"""

# tables holding a company's data, and those a reset keeps (the company and its own catalog)
TENANT_TABLES = ("roles", "settings", "customize", "refs", "members", "keys")
COMPANY_TABLES = (*TENANT_TABLES, "tenant_catalog", "companies")
LEVEL_COLUMNS = {"add": "add_level", "edit": "edit_level", "delete": "delete_level", "inquire": "inquire_level"}


def _company(r: sqlite3.Row) -> Company:
    return Company(r["company_id"], r["name"], r["client_id"], r["bootstrap_public"], r["bootstrap_private"],
                   r["created"])


def _role(r: sqlite3.Row) -> Role:
    return Role(r["id"], r["name"], r["role_type"] or None, bool(r["admin_flag"]), bool(r["inactive_flag"]),
                r["updated"], r["updated_by"])


def _setting(r: sqlite3.Row) -> Setting:
    return Setting(r["id"], r["role_id"], r["module"], r["function"], r["add_level"], r["edit_level"],
                   r["delete_level"], r["inquire_level"], r["sort_order"], r["updated"], r["updated_by"])


def _allowed(r: sqlite3.Row) -> AllowedItem:
    return AllowedItem(r["id"], r["role_id"], r["module"], r["function"], r["item"])


def _ref(r: sqlite3.Row) -> Ref:
    return Ref(r["id"], r["kind"], r["name"], r["identifier"])


def _member(r: sqlite3.Row) -> Member:
    """The one place the stored member document (ConnectWise field names) becomes a record."""
    doc = json.loads(r["doc"])
    return Member(
        id=r["id"], identifier=r["identifier"], name=doc.get("name"), email=doc.get("emailAddress"),
        notes=doc.get("notes"), inactive=bool(doc.get("inactiveFlag")), inactive_date=doc.get("inactiveDate"),
        block_price=bool(doc.get("blockPriceFlag")), block_cost=bool(doc.get("blockCostFlag")),
        excluded_boards=tuple(doc.get("excludedServiceBoardIds") or ()), security_role=doc.get("securityRole"),
        refs={f: doc.get(f) for f in REF_KINDS}, updated=r["updated"], updated_by=r["updated_by"],
    )


def _member_doc(m: Member) -> str:
    doc: dict[str, Any] = {
        "name": m.name, "emailAddress": m.email, "notes": m.notes, "inactiveFlag": m.inactive,
        "inactiveDate": m.inactive_date, "blockPriceFlag": m.block_price, "blockCostFlag": m.block_cost,
        "excludedServiceBoardIds": list(m.excluded_boards), "securityRole": m.security_role,
    }
    doc.update({f: m.refs.get(f) for f in REF_KINDS})
    return json.dumps(doc)


def _key(r: sqlite3.Row) -> ApiKey:
    expires = dt.datetime.fromisoformat(r["expires"].replace("Z", "+00:00")) if r["expires"] else None
    return ApiKey(r["id"], r["member_id"], r["public_key"], r["private_hash"], r["description"], r["kind"],
                  expires, r["created"])


class Store:
    """SQLite-backed records for every emulated company."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        with self.lock:
            self.db.close()

    # ---- low level ------------------------------------------------------------------------
    def _q(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.db.execute(sql, tuple(args)).fetchall()

    def _one(self, sql: str, args: Iterable[Any] = ()) -> Optional[sqlite3.Row]:
        rows = self._q(sql, args)
        return rows[0] if rows else None

    def _x(self, sql: str, args: Iterable[Any] = ()) -> int:
        with self.lock:
            return self.db.execute(sql, tuple(args)).lastrowid or 0

    @contextmanager
    def tx(self) -> Iterator[None]:
        """A transaction (nested calls join the outer one)."""
        with self.lock:
            outer = self.db.in_transaction
            if not outer:
                self.db.execute("BEGIN")
            try:
                yield
            except BaseException:
                if not outer:
                    self.db.execute("ROLLBACK")
                raise
            if not outer:
                self.db.execute("COMMIT")

    # ---- companies ------------------------------------------------------------------------
    def companies(self) -> list[Company]:
        return [_company(r) for r in self._q("SELECT * FROM companies ORDER BY company_id")]

    def company(self, company_id: str) -> Optional[Company]:
        r = self._one("SELECT * FROM companies WHERE company_id = ?", [company_id])
        return _company(r) if r else None

    def insert_company(self, c: Company) -> None:
        self._x("INSERT INTO companies VALUES (?,?,?,?,?,?)",
                [c.company_id, c.name, c.client_id, c.bootstrap_public, c.bootstrap_private, c.created])

    def wipe_company(self, company_id: str, *, keep_company: bool) -> None:
        with self.tx():
            for table in TENANT_TABLES if keep_company else COMPANY_TABLES:
                self._x(f"DELETE FROM {table} WHERE company_id = ?", [company_id])

    def catalog_extras(self, company_id: str) -> Optional[str]:
        r = self._one("SELECT extras FROM tenant_catalog WHERE company_id = ?", [company_id])
        return r["extras"] if r else None

    def set_catalog_extras(self, company_id: str, extras_json: Optional[str]) -> None:
        with self.tx():
            self._x("DELETE FROM tenant_catalog WHERE company_id = ?", [company_id])
            if extras_json is not None:
                self._x("INSERT INTO tenant_catalog (company_id, extras) VALUES (?,?)", [company_id, extras_json])

    # ---- reference records ----------------------------------------------------------------
    def insert_ref(self, company_id: str, kind: str, name: str, identifier: Optional[str]) -> int:
        return self._x("INSERT INTO refs (company_id, kind, name, identifier) VALUES (?,?,?,?)",
                       [company_id, kind, name, identifier])

    def refs(self, company_id: str, kind: str) -> list[Ref]:
        return [_ref(r) for r in self._q("SELECT * FROM refs WHERE company_id=? AND kind=? ORDER BY id",
                                         [company_id, kind])]

    def ref(self, company_id: str, ref_id: int) -> Optional[Ref]:
        r = self._one("SELECT * FROM refs WHERE company_id=? AND id=?", [company_id, ref_id])
        return _ref(r) if r else None

    def find_ref(self, company_id: str, kind: str, *, id: Any = None, name: Any = None,
                 identifier: Any = None) -> Optional[Ref]:
        if id is not None:
            r = self._one("SELECT * FROM refs WHERE company_id=? AND kind=? AND id=?", [company_id, kind, id])
        elif identifier is not None:
            r = self._one("SELECT * FROM refs WHERE company_id=? AND kind=? AND identifier=? COLLATE NOCASE",
                          [company_id, kind, identifier])
        elif name is not None:
            r = self._one("SELECT * FROM refs WHERE company_id=? AND kind=? AND name=? COLLATE NOCASE",
                          [company_id, kind, name])
        else:
            return None
        return _ref(r) if r else None

    # ---- roles and their grid -------------------------------------------------------------
    def roles(self, company_id: str) -> list[Role]:
        return [_role(r) for r in self._q("SELECT * FROM roles WHERE company_id=? ORDER BY id", [company_id])]

    def role(self, company_id: str, role_id: Any) -> Optional[Role]:
        r = self._one("SELECT * FROM roles WHERE company_id=? AND id=?", [company_id, role_id])
        return _role(r) if r else None

    def role_by_name(self, company_id: str, name: str) -> Optional[Role]:
        r = self._one("SELECT * FROM roles WHERE company_id=? AND name=? COLLATE NOCASE", [company_id, name])
        return _role(r) if r else None

    def insert_role(self, company_id: str, name: str, role_type: Optional[str], admin: bool, inactive: bool,
                    at: str, by: str) -> int:
        return self._x(
            "INSERT INTO roles (company_id, name, role_type, admin_flag, inactive_flag, updated, updated_by)"
            " VALUES (?,?,?,?,?,?,?)", [company_id, name, role_type, int(admin), int(inactive), at, by])

    def touch_role(self, company_id: str, role_id: int, at: str, by: str) -> None:
        self._x("UPDATE roles SET updated=?, updated_by=? WHERE company_id=? AND id=?",
                [at, by, company_id, role_id])

    def delete_role(self, company_id: str, role_id: int) -> None:
        with self.tx():
            for table, col in (("settings", "role_id"), ("customize", "role_id"), ("roles", "id")):
                self._x(f"DELETE FROM {table} WHERE company_id=? AND {col}=?", [company_id, role_id])

    def insert_settings(self, company_id: str, role_id: int,
                        rows: Sequence[tuple[str, str, dict[str, str], int]], at: str, by: str) -> None:
        """``rows``: (module, function, levels, sort order)."""
        with self.lock:
            self.db.executemany(
                "INSERT INTO settings (company_id, role_id, module, function, add_level, edit_level, delete_level,"
                " inquire_level, sort_order, updated, updated_by) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [[company_id, role_id, m, f, lv["add"], lv["edit"], lv["delete"], lv["inquire"], order, at, by]
                 for m, f, lv, order in rows])

    def settings(self, company_id: str, role_id: Any) -> list[Setting]:
        return [_setting(r) for r in self._q(
            "SELECT * FROM settings WHERE company_id=? AND role_id=? ORDER BY sort_order, id", [company_id, role_id])]

    def setting(self, company_id: str, role_id: int, setting_id: int) -> Optional[Setting]:
        r = self._one("SELECT * FROM settings WHERE company_id=? AND role_id=? AND id=?",
                      [company_id, role_id, setting_id])
        return _setting(r) if r else None

    def setting_of(self, company_id: str, role_id: int, module: str, function: str) -> Optional[Setting]:
        r = self._one("SELECT * FROM settings WHERE company_id=? AND role_id=? AND module=? AND function=?",
                      [company_id, role_id, module, function])
        return _setting(r) if r else None

    def update_levels(self, company_id: str, role_id: int, module: str, function: str, levels: dict[str, str],
                      at: str, by: str) -> None:
        sets = ", ".join(f"{LEVEL_COLUMNS[n]} = ?" for n in levels)
        self._x(f"UPDATE settings SET {sets}, updated=?, updated_by=? "
                "WHERE company_id=? AND role_id=? AND module=? AND function=?",
                [*levels.values(), at, by, company_id, role_id, module, function])

    def delete_function(self, company_id: str, module: str, function: str) -> None:
        """Every role's row and allow-list of one module function."""
        with self.tx():
            for table in ("settings", "customize"):
                self._x(f"DELETE FROM {table} WHERE company_id=? AND module=? AND function=?",
                        [company_id, module, function])

    def allowed_items(self, company_id: str, role_id: Any) -> list[AllowedItem]:
        return [_allowed(r) for r in self._q("SELECT * FROM customize WHERE company_id=? AND role_id=? ORDER BY id",
                                             [company_id, role_id])]

    def add_allowed_items(self, company_id: str, role_id: int, module: str, function: str,
                          items: Iterable[str]) -> None:
        with self.lock:
            self.db.executemany("INSERT INTO customize (company_id, role_id, module, function, item) VALUES (?,?,?,?,?)",
                                [[company_id, role_id, module, function, it] for it in items])

    def replace_allowed_items(self, company_id: str, role_id: int, module: str, function: str,
                              items: Iterable[str]) -> None:
        with self.tx():
            self._x("DELETE FROM customize WHERE company_id=? AND role_id=? AND module=? AND function=?",
                    [company_id, role_id, module, function])
            self.add_allowed_items(company_id, role_id, module, function, items)

    def delete_allowed_item_everywhere(self, company_id: str, module: str, function: str, item: str) -> None:
        self._x("DELETE FROM customize WHERE company_id=? AND module=? AND function=? AND item=?",
                [company_id, module, function, item])

    # ---- members --------------------------------------------------------------------------
    def members(self, company_id: str) -> list[Member]:
        return [_member(r) for r in self._q("SELECT * FROM members WHERE company_id=? ORDER BY id", [company_id])]

    def member(self, company_id: str, member_id: Any) -> Optional[Member]:
        r = self._one("SELECT * FROM members WHERE company_id=? AND id=?", [company_id, member_id])
        return _member(r) if r else None

    def member_by_identifier(self, company_id: str, identifier: str) -> Optional[Member]:
        r = self._one("SELECT * FROM members WHERE company_id=? AND identifier=?", [company_id, identifier])
        return _member(r) if r else None

    def insert_member(self, company_id: str, m: Member) -> int:
        return self._x("INSERT INTO members (company_id, identifier, doc, updated, updated_by) VALUES (?,?,?,?,?)",
                       [company_id, m.identifier, _member_doc(m), m.updated, m.updated_by])

    def update_member(self, company_id: str, m: Member) -> None:
        self._x("UPDATE members SET identifier=?, doc=?, updated=?, updated_by=? WHERE company_id=? AND id=?",
                [m.identifier, _member_doc(m), m.updated, m.updated_by, company_id, m.id])

    # ---- API keys -------------------------------------------------------------------------
    def insert_key(self, company_id: str, member_id: int, public_key: str, private_hash: str, description: str,
                   kind: str, expires: Optional[dt.datetime], created: str) -> int:
        return self._x(
            "INSERT INTO keys (company_id, member_id, public_key, private_hash, description, kind, expires, created)"
            " VALUES (?,?,?,?,?,?,?,?)",
            [company_id, member_id, public_key, private_hash, description, kind,
             expires.isoformat() if expires else None, created])

    def keys(self, company_id: str, member_id: int) -> list[ApiKey]:
        return [_key(r) for r in self._q("SELECT * FROM keys WHERE company_id=? AND member_id=? ORDER BY id",
                                         [company_id, member_id])]

    def key_by_public(self, company_id: str, public_key: str) -> Optional[ApiKey]:
        r = self._one("SELECT * FROM keys WHERE company_id=? AND public_key=?", [company_id, public_key])
        return _key(r) if r else None

    def delete_key(self, company_id: str, key_id: int) -> None:
        self._x("DELETE FROM keys WHERE company_id=? AND id=?", [company_id, key_id])
