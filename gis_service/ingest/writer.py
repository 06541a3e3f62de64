"""Bulk upsert: COPY the rows into a temporary table, then one INSERT ... ON CONFLICT DO UPDATE.

Why: row-by-row ORM adds load a few thousand points a second; COPY loads hundreds of thousands,
and the conflict clause makes a re-import update rows instead of duplicating them. Rows whose
values did not change are not touched, so the report can say 'unchanged'.
"""

from __future__ import annotations

import io
import json
from datetime import date

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from gis_service.db.models import SRID


def _isna(value) -> bool:
    return value is None or (not isinstance(value, (list, tuple, np.ndarray)) and bool(pd.isna(value)))


def _array_literal(items) -> str | None:
    if _isna(items):
        return None
    quoted = ('"' + str(i).replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items)
    return "{" + ",".join(quoted) + "}"


def _csv_column(series: pd.Series, kind: str) -> pd.Series:
    if kind == "geom":
        geoms = np.asarray(series, dtype=object)
        out = np.full(len(geoms), None, dtype=object)
        present = ~shapely.is_missing(geoms)
        if present.any():
            out[present] = shapely.to_wkb(shapely.set_srid(geoms[present], SRID), hex=True,
                                          include_srid=True)
        return pd.Series(out, index=series.index)
    if kind == "array":
        return series.map(_array_literal)
    if kind == "json":
        return series.map(lambda v: None if _isna(v) else json.dumps(v, ensure_ascii=False, default=str))
    values = series.dropna()
    if len(values) and values.map(lambda v: isinstance(v, (bool, np.bool_))).all():
        return series.map(lambda v: None if _isna(v) else ("t" if v else "f"))
    if len(values) and values.map(lambda v: isinstance(v, (int, np.integer))
                                  and not isinstance(v, bool)).all():
        return series.astype("Int64")
    if len(values) and values.map(lambda v: isinstance(v, date)).all():
        return series.map(lambda v: None if _isna(v) else v.isoformat())
    return series


def copy_rows(conn: Connection, table: str, frame: pd.DataFrame, kinds: dict[str, str]) -> None:
    """COPY ``frame`` into ``table`` (column kinds: geom, array, json; others by value)."""
    out = pd.DataFrame({c: _csv_column(frame[c], kinds.get(c, "")) for c in frame.columns})
    buf = io.StringIO()
    out.to_csv(buf, index=False, header=False)
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(buf.getvalue())


def upsert(conn: Connection, table: str, frame: pd.DataFrame, *, key: list[str],
           kinds: dict[str, str] | None = None, coalesce: bool = False,
           touch: str | None = None) -> tuple[int, int]:
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
    copy_rows(conn, stage, frame, kinds or {})
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
