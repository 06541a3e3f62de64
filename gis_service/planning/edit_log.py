"""The log behind every edit of the planning API: one table per kind of record (facilities,
scenarios), each row who, when, the action, the record before and after, and the undo links.
Written in the edit's own transaction, so an edit and its entry exist together or not at all."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, text


class EditError(ValueError):
    """A refused edit: ``status`` is the HTTP status the API answers with, ``field`` the input."""

    def __init__(self, message: str, *, status: int = 422, field: str | None = None):
        super().__init__(message)
        self.status, self.field = status, field


@dataclass(frozen=True)
class EditLog:
    table: str  # a constant of this package, never user input
    subject: str  # the column naming the edited record

    def write(self, conn: Connection, subject_id: int, user: str, action: str, before: dict | None,
              after: dict | None, *, undoes: int | None = None) -> int:
        return conn.execute(text(
            f"INSERT INTO {self.table} ({self.subject}, user_name, action, before, after, undoes) "
            "VALUES (:s, :u, :a, CAST(:b AS jsonb), CAST(:af AS jsonb), :undoes) RETURNING id"),
            {"s": subject_id, "u": user, "a": action, "b": _json(before), "af": _json(after),
             "undoes": undoes}).scalar_one()

    def latest(self, conn: Connection, *, subject_id: int | None = None, limit: int = 100) -> list[dict]:
        """The newest entries first, of one record or of all."""
        rows = conn.execute(text(f"SELECT * FROM {self.table} WHERE CAST(:s AS bigint) IS NULL "
                                 f"OR {self.subject} = :s ORDER BY id DESC LIMIT :l"), {"s": subject_id, "l": limit})
        return [dict(r) for r in rows.mappings()]

    def undoable(self, conn: Connection, edit_id: int) -> dict:
        """The entry, locked, if it may be undone: not an undo itself and not undone yet."""
        edit = conn.execute(text(f"SELECT * FROM {self.table} WHERE id = :i FOR UPDATE"), {"i": edit_id}).mappings().first()
        if edit is None:
            raise EditError(f"no edit {edit_id} in {self.table}", status=404)
        if edit["undone_by"] is not None or edit["action"] == "undo":
            raise EditError(f"edit {edit_id} is an undo or was undone already (by edit {edit['undone_by']})",
                            status=409)
        return dict(edit)

    def undone(self, conn: Connection, edit: dict, user: str, now: dict | None, after: dict | None) -> int:
        """Log the undo of ``edit`` (the record was ``now``, is ``after``) and link the two."""
        undo_id = self.write(conn, edit[self.subject], user, "undo", now, after, undoes=edit["id"])
        conn.execute(text(f"UPDATE {self.table} SET undone_by = :u WHERE id = :i"), {"u": undo_id, "i": edit["id"]})
        return undo_id


FACILITIES = EditLog("facility_edit", "facility_id")
SCENARIOS = EditLog("scenario_edit", "scenario_id")


def _json(record: dict | None) -> str | None:
    return None if record is None else json.dumps(record, default=str)
