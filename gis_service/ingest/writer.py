"""Bulk upsert: COPY the rows into a temporary table, then one INSERT ... ON CONFLICT DO UPDATE.

Why: row-by-row ORM adds load a few thousand points a second; COPY loads hundreds of thousands,
and the conflict clause makes a re-import update rows instead of duplicating them. Rows whose
values did not change are not touched, so the report can say 'unchanged'.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from gis_service.db.models import SRID
from gis_service.ingest.arrays import map_unique


def _isna(value) -> bool:
    return value is None or (not isinstance(value, (list, tuple, np.ndarray)) and bool(pd.isna(value)))


def _array_literal(items) -> str | None:
    if _isna(items):
        return None
    quoted = ('"' + str(i).replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items)
    return "{" + ",".join(quoted) + "}"


def _csv_column(series: pd.Series, pg_type: str) -> np.ndarray | pd.Series:
    """Render one column for COPY (CSV) according to the target column's PostgreSQL type."""
    if pg_type == "geometry":
        geoms = np.asarray(series, dtype=object)
        out = np.full(len(geoms), None, dtype=object)
        present = ~shapely.is_missing(geoms)
        if present.any():
            out[present] = shapely.to_wkb(shapely.set_srid(geoms[present], SRID), hex=True,
                                          include_srid=True)
        return out
    if pg_type.endswith("[]"):
        return np.array([_array_literal(v) for v in series] or [], dtype=object)
    if pg_type == "jsonb":
        return np.array([None if _isna(v) else json.dumps(v, ensure_ascii=False, default=str)
                         for v in series], dtype=object)
    if pg_type == "boolean":
        return map_unique(series, lambda v: "t" if v else "f")
    if pg_type in ("integer", "bigint", "smallint"):
        return pd.to_numeric(series, errors="raise").astype("Int64")
    if pg_type == "date":
        return map_unique(series, lambda v: v.isoformat())
    return series


def _column_types(conn: Connection, table: str) -> dict[str, str]:
    rows = conn.connection.driver_connection.execute(
        "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
        "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped", (table,)).fetchall()
    return dict(rows)


def copy_rows(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    """COPY ``frame`` into ``table``, rendering each column for its type."""
    types = _column_types(conn, table)
    out = pd.DataFrame({c: _csv_column(frame[c], types[c]) for c in frame.columns})
    buf = io.StringIO()
    out.to_csv(buf, index=False, header=False)
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(buf.getvalue())


def upsert(conn: Connection, table: str, frame: pd.DataFrame, *, key: list[str],
           coalesce: bool = False, touch: str | None = None) -> tuple[int, int]:
    """Insert or update ``frame`` into ``table`` by ``key``. Returns (inserted, updated).

    ``coalesce`` keeps the stored value where the new one is NULL (layered sources: a code list
    adding names to boundaries). ``touch`` names a timestamp column set to now() on change.
    """
    if frame.empty:
        return 0, 0
    cols = list(frame.columns)
    stage = f"_stage_{table}"
    quoted = ", ".join(f'"{c}"' for c in cols)
    raw = conn.connection.driver_connection
    raw.execute(f"DROP TABLE IF EXISTS {stage}")
    raw.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {quoted} FROM {table} WITH NO DATA")
    copy_rows(conn, stage, frame)
    others = [c for c in cols if c not in key]
    new = {c: (f'COALESCE(EXCLUDED."{c}", t."{c}")' if coalesce else f'EXCLUDED."{c}"') for c in others}
    sets = [f'"{c}" = {expr}' for c, expr in new.items()] + ([f'"{touch}" = now()'] if touch else [])
    conflict = ", ".join(f'"{c}"' for c in key)
    if others:
        old_row = ", ".join(f't."{c}"' for c in others)
        new_row = ", ".join(new.values())
        action = (f"DO UPDATE SET {', '.join(sets)} "
                  f"WHERE ROW({old_row}) IS DISTINCT FROM ROW({new_row})")
    else:
        action = "DO NOTHING"
    row = raw.execute(
        f"WITH up AS (INSERT INTO {table} AS t ({quoted}) SELECT {quoted} FROM {stage} "
        f"ON CONFLICT ({conflict}) {action} RETURNING (xmax = 0) AS ins) "
        "SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM up").fetchone()
    raw.execute(f"DROP TABLE {stage}")
    return int(row[0]), int(row[1])
