"""``gis-service users``: the planning API's users (viewer, editor, admin) and their keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from gis_service.cli.common import console, err, fail, group

users_app = group("users", "Users of the planning API: roles viewer, editor, admin; keys stored hashed.")


@users_app.command("add")
def users_add(name: Annotated[str, typer.Argument(help="User name, e.g. bappeda-editor")],
              role: Annotated[str, typer.Option(help="viewer, editor or admin")] = "viewer") -> None:
    """Create a user (or give an existing one a new key and role) and print the key, once."""
    from gis_service.db.engine import make_engine
    from gis_service.db.users import add_user

    try:
        with make_engine().begin() as conn:
            key = add_user(conn, name, role)
    except ValueError as exc:
        fail(str(exc))
    err.print(f"user {name} ({role}); the key is shown once, store it now (send it as 'Authorization: Bearer KEY'):")
    print(key)


@users_app.command("list")
def users_list() -> None:
    """Users, roles, key prefixes and whether they are revoked."""
    from gis_service.db.engine import make_engine
    from gis_service.db.users import list_users

    with make_engine().connect() as conn:
        rows = list_users(conn)
    table = Table(title="Planning API users")
    for col in ("name", "role", "key", "created", "revoked"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["role"], r["key_prefix"] + "…", f"{r['created_at']:%Y-%m-%d %H:%M}",
                      f"{r['revoked_at']:%Y-%m-%d %H:%M}" if r["revoked_at"] else "")
    console.print(table)


@users_app.command("revoke")
def users_revoke(name: Annotated[str, typer.Argument(help="User name")]) -> None:
    """Revoke a user's key (add the user again for a new one)."""
    from gis_service.db.engine import make_engine
    from gis_service.db.users import revoke_user

    try:
        with make_engine().begin() as conn:
            revoke_user(conn, name)
    except ValueError as exc:
        fail(str(exc))
    console.print(f"revoked {name}")
