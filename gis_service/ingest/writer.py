"""Bulk upsert: COPY the rows into a temporary table, then one INSERT ... ON CONFLICT DO UPDATE.

Why: row-by-row ORM adds load a few thousand points a second; COPY loads hundreds of thousands,
and the conflict clause makes a re-import update rows instead of duplicating them. Rows whose
values did not change are not touched, so the report can say 'unchanged'.

Large loads into a table smaller than the load follow PostgreSQL's advice for populating a
database: inside the same transaction, the secondary indexes and foreign keys are dropped, the
rows inserted, and the indexes rebuilt and the keys re-validated in bulk (one join each). The
table is locked for the duration; if anything fails, the rollback restores everything.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection

from gis_service.db.bulk import column_types, copy_staged, create_stage, stage_columns

BULK_ROWS = 100_000  # loads at least this large (and larger than the table) use the bulk path


def upsert(conn: Connection, table: str, frame: pd.DataFrame, *, key: list[str],
           coalesce: bool = False, touch: str | None = None, null_keys: tuple[str, ...] = ()) -> tuple[int, int]:
    """Insert or update ``frame`` into ``table`` by ``key``. Returns (inserted, updated).

    ``coalesce`` keeps the stored value where the new one is NULL (layered sources: a code list
    adding names to boundaries). ``touch`` names a timestamp column set to now() on change.
    ``null_keys``: key columns that may be NULL, where NULL matches NULL (a unique constraint
    with NULLS NOT DISTINCT, such as a national target's empty area).
    """
    if frame.empty:
        return 0, 0
    raw = conn.connection.driver_connection
    types = column_types(raw, table)
    bulk = len(frame) >= BULK_ROWS and len(frame) >= _row_count(raw, table)
    if bulk and "source" in key and not _source_present(raw, table, frame["source"].unique().tolist()):
        # a new source cannot conflict: COPY straight into the table, keys rebuilt afterwards
        restore = _drop_secondary(raw, table, unique_too=True)
        copy_staged(raw, table, stage_columns(frame, types, direct=True))
        for statement in restore:
            raw.execute(statement)
        return len(frame), 0
    staged = stage_columns(frame, types)
    stage = f"_stage_{table}"
    create_stage(raw, stage, staged, types)
    copy_staged(raw, stage, staged)
    cols = list(frame.columns)
    quoted = ", ".join(f'"{c}"' for c in cols)
    select = ", ".join(staged.select[c] for c in cols)
    others = [c for c in cols if c not in key]
    new = {c: (f'COALESCE(EXCLUDED."{c}", t."{c}")' if coalesce else f'EXCLUDED."{c}"') for c in others}
    sets = [f'"{c}" = {expr}' for c, expr in new.items()] + ([f'"{touch}" = now()'] if touch else [])
    conflict = ", ".join(f'"{c}"' for c in key)
    if others:
        old_row = ", ".join(f't."{c}"' for c in others)
        action = (f"DO UPDATE SET {', '.join(sets)} "
                  f"WHERE ROW({old_row}) IS DISTINCT FROM ROW({', '.join(new.values())})")
    else:
        action = "DO NOTHING"
    sql = (f"WITH up AS (INSERT INTO {table} AS t ({quoted}) SELECT {select} FROM {stage} "
           f"ON CONFLICT ({conflict}) {action} RETURNING (xmax = 0) AS ins) "
           "SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM up")
    restore = _drop_secondary(raw, table) if bulk else []
    match = " AND ".join(f't."{c}" IS NOT DISTINCT FROM s."{c}"' if c in null_keys else f't."{c}" = s."{c}"'
                         for c in key)
    if raw.execute(f"SELECT EXISTS (SELECT 1 FROM {stage} s JOIN {table} t ON {match})").fetchone()[0]:
        inserted, updated = raw.execute(sql).fetchone()
    else:  # nothing to update: a plain INSERT avoids the cost of speculative insertion
        inserted, updated = raw.execute(
            f"INSERT INTO {table} ({quoted}) SELECT {select} FROM {stage}").rowcount, 0
    for statement in restore:
        raw.execute(statement)
    raw.execute(f"DROP TABLE {stage}")
    return int(inserted), int(updated)


def _row_count(raw, table: str) -> int:
    return int(raw.execute("SELECT count(*) FROM " + table).fetchone()[0])


def _source_present(raw, table: str, sources: list[str]) -> bool:
    return bool(raw.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE source = ANY(%s))",
                            (sources,)).fetchone()[0])


def _drop_secondary(raw, table: str, unique_too: bool = False) -> list[str]:
    """Drop the foreign keys and the indexes that do not enforce a key (with ``unique_too`` also
    the primary key and UNIQUE constraints no foreign key depends on) of ``table``; return the
    statements that recreate them, to run in the same transaction."""
    raw.execute("SET LOCAL maintenance_work_mem = '512MB'")
    indexes = raw.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = to_regclass(%s) AND NOT i.indisunique AND NOT i.indisprimary", (table,)).fetchall()
    kinds = ["f", "u", "p"] if unique_too else ["f"]
    constraints = raw.execute(
        "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "WHERE c.conrelid = to_regclass(%s) AND c.contype = ANY(%s) AND NOT EXISTS ("
        "  SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = c.conindid "
        "  AND c.contype IN ('u', 'p')) ORDER BY c.contype", (table, kinds)).fetchall()
    for name, _ in constraints:
        raw.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        raw.execute(f"DROP INDEX {name}")
    return [definition for _, definition in indexes] + \
        [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for name, definition in reversed(constraints)]
