"""Users of the planning API: a name, a role (viewer < editor < admin) and an API key of which
only the SHA-256 is stored. Keys are 256-bit random tokens, so a fast hash is enough (as for
GitHub or Stripe tokens): nobody can guess one, and a leaked table does not leak the keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, text

ROLES = {"viewer": 1, "editor": 2, "admin": 3}
PREFIX = "gs_"


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def may(self, role: str) -> bool:
        """Whether this user has ``role`` or a higher one."""
        return ROLES[self.role] >= ROLES[role]


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def add_user(conn: Connection, name: str, role: str) -> str:
    """Create a user (or give an existing one a new key and role); returns the key, shown once."""
    if role not in ROLES:
        raise ValueError(f"unknown role '{role}': use {', '.join(ROLES)}")
    if not name.strip():
        raise ValueError("give the user a name")
    key = PREFIX + secrets.token_urlsafe(32)
    conn.execute(text(
        "INSERT INTO api_user (name, role, key_hash, key_prefix) VALUES (:n, :r, :h, :p) "
        "ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role, key_hash = EXCLUDED.key_hash, "
        "key_prefix = EXCLUDED.key_prefix, created_at = now(), revoked_at = NULL"),
        {"n": name.strip(), "r": role, "h": key_hash(key), "p": key[:len(PREFIX) + 6]})
    return key


def revoke_user(conn: Connection, name: str) -> None:
    done = conn.execute(text("UPDATE api_user SET revoked_at = now() WHERE name = :n AND revoked_at IS NULL"),
                        {"n": name}).rowcount
    if not done:
        raise ValueError(f"no active user '{name}'")


def list_users(conn: Connection) -> list[dict]:
    rows = conn.execute(text("SELECT name, role, key_prefix, created_at, revoked_at FROM api_user ORDER BY name"))
    return [dict(r._mapping) for r in rows]


def authenticate(conn: Connection, key: str) -> User | None:
    """The active user holding ``key``, or None."""
    row = conn.execute(text("SELECT name, role FROM api_user WHERE key_hash = :h AND revoked_at IS NULL"),
                       {"h": key_hash(key)}).first()
    return User(row.name, row.role) if row else None
