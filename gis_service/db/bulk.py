"""COPY between DataFrames and PostGIS tables. Writing: columns rendered for their PostgreSQL
types (geometry as hex EWKB, or x/y and WKB for a staging table), sent as Arrow-written CSV in
chunks through a writer thread, so that rendering and the server's parsing overlap. Reading: a
query's rows as CSV into pandas. Used by the importers (their upserts) and by the analyses."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import shapely
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Connection

from gis_service.db.models import SRID

COPY_CHUNK_ROWS = 50_000

ARROW_TYPES = {"boolean": pa.bool_(), "integer": pa.int64(), "bigint": pa.int64(), "smallint": pa.int64(),
               "date": pa.date32(), "double precision": pa.float64(), "real": pa.float64(),
               "numeric": pa.float64()}


def _isna(value) -> bool:
    return value is None or (not isinstance(value, (list, tuple, np.ndarray)) and bool(pd.isna(value)))


def _array_literal(items) -> str | None:
    if _isna(items):
        return None
    quoted = ('"' + str(i).replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items)
    return "{" + ",".join(quoted) + "}"


def array_literals(ranks: list[np.ndarray]) -> pd.Series:
    """PostgreSQL array literals ('{12,45}') row by row from aligned arrays, one per position; NaN
    ends a row's array early, a row without a first value is NULL. Formatted in Arrow's C++ (a
    Python string per row would cost seconds on a million rows), only for the rows that have a
    value; ``stage_columns`` passes the result through as is."""
    first = np.asarray(ranks[0])
    rows = np.flatnonzero(~np.isnan(first)) if first.dtype.kind == "f" else np.arange(len(first))
    parts = [pa.array(np.asarray(r)[rows], from_pandas=True) for r in ranks]
    parts = [p.cast(pa.int64()) if pa.types.is_floating(p.type) and _integral(np.asarray(r)[rows]) else p
             for p, r in zip(parts, ranks)]
    text = [parts[0].cast(pa.string())]
    text += [pc.binary_join_element_wise(",", p.cast(pa.string()), "").fill_null("") for p in parts[1:]]
    literal = pc.binary_join_element_wise(pa.scalar("{"), *text, pa.scalar("}"), "")
    position = np.full(len(first), -1, np.int64)
    position[rows] = np.arange(len(rows))
    full = pc.take(literal, pa.array(position, mask=position < 0))  # null index: NULL row
    return pd.Series(pd.arrays.ArrowExtensionArray(full))


def _integral(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    return values.dtype.kind in "iu" or bool(np.all(finite == np.round(finite)))


@dataclass
class Staged:
    """Columns as sent by COPY and the SQL expression that turns each back into the target column."""

    arrays: dict[str, pa.Array]
    select: dict[str, str]


def _ewkb_hex(values: np.ndarray) -> pa.Array:
    """Hex EWKB with SRID, the text form a geometry column accepts in COPY. Points are packed with
    numpy (25 bytes each), which is several times faster than going through GEOS."""
    present = ~shapely.is_missing(values)
    if present.all() and (shapely.get_type_id(values) == 0).all():
        xy = shapely.get_coordinates(values)
        rec = np.zeros(len(values), dtype=[("order", "u1"), ("type", "<u4"), ("srid", "<u4"),
                                           ("x", "<f8"), ("y", "<f8")])
        rec["order"], rec["type"], rec["srid"] = 1, 0x20000001, SRID  # little endian, Point | SRID flag
        rec["x"], rec["y"] = xy[:, 0], xy[:, 1]
        return pa.array(np.frombuffer(rec.tobytes().hex().encode("ascii"), dtype="S50")).cast(pa.string())
    out = np.full(len(values), None, dtype=object)
    if present.any():
        out[present] = shapely.to_wkb(shapely.set_srid(values[present], SRID), hex=True, include_srid=True)
    return pa.array(out, type=pa.string())


def stage_columns(frame: pd.DataFrame, types: dict[str, str], direct: bool = False) -> Staged:
    """Arrow columns for COPY. ``direct``: geometries as EWKB for the target table itself; else as
    x/y or WKB for a staging table, with the SQL that rebuilds them."""
    arrays, select = {}, {}
    for col in frame.columns:
        pg = types[col]
        if pg.endswith("[]") and isinstance(frame[col].dtype, pd.ArrowDtype):  # from array_literals
            arrays[col], select[col] = pa.array(frame[col].array), f'"{col}"'
            continue
        if pg in ARROW_TYPES and frame[col].dtype.kind in "iufb":  # numbers without object boxing
            arrays[col] = pa.array(frame[col].to_numpy(), from_pandas=True).cast(ARROW_TYPES[pg])
            select[col] = f'"{col}"'
            continue
        values = frame[col].to_numpy(dtype=object)
        if pg == "geometry" and direct:
            arrays[col], select[col] = _ewkb_hex(values), f'"{col}"'
            continue
        if pg == "geometry":
            present = ~shapely.is_missing(values)
            if present.all() and (shapely.get_type_id(values) == 0).all():  # points: send x, y
                xy = shapely.get_coordinates(values)
                arrays[f"{col}__x"], arrays[f"{col}__y"] = pa.array(xy[:, 0]), pa.array(xy[:, 1])
                select[col] = f'ST_SetSRID(ST_MakePoint("{col}__x", "{col}__y"), {SRID})'
            else:
                hexes = np.full(len(values), None, dtype=object)
                if present.any():
                    hexes[present] = np.char.add("\\x", shapely.to_wkb(values[present], hex=True))
                arrays[f"{col}__wkb"] = pa.array(hexes, type=pa.string())
                select[col] = f'ST_GeomFromWKB("{col}__wkb", {SRID})'
            continue
        if pg.endswith("[]"):
            arr = pa.array([_array_literal(v) for v in values], type=pa.string())
        elif pg == "jsonb":
            arr = pa.array([None if _isna(v) else json.dumps(v, ensure_ascii=False, default=str)
                            for v in values], type=pa.string())
        elif pg in ARROW_TYPES:
            arr = pa.array(values, type=ARROW_TYPES[pg], from_pandas=True)
        else:
            arr = pa.array(values, type=pa.string(), from_pandas=True)
        arrays[col] = arr
        select[col] = f'"{col}"'
    return Staged(arrays, select)


def _stage_type(name: str, types: dict[str, str]) -> str:
    if name.endswith("__x") or name.endswith("__y"):
        return "float8"
    if name.endswith("__wkb"):
        return "bytea"
    return types[name]


def column_types(raw, table: str) -> dict[str, str]:
    rows = raw.execute(
        "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
        "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped", (table,)).fetchall()
    return dict(rows)


def create_stage(raw, stage: str, staged: Staged, types: dict[str, str]) -> None:
    ddl = ", ".join(f'"{c}" {_stage_type(c, types)}' for c in staged.arrays)
    raw.execute(f"DROP TABLE IF EXISTS {stage}")
    raw.execute(f"CREATE TEMP TABLE {stage} ({ddl}) ON COMMIT DROP")


def copy_staged(raw, target: str, staged: Staged) -> None:
    """COPY in chunks through a writer thread, so that the next chunk is rendered while the
    server parses the previous one (the two cores work at once)."""
    quoted = ", ".join(f'"{c}"' for c in staged.arrays)
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    table = pa.table(staged.arrays)
    cursor = raw.cursor()
    with cursor.copy(f"COPY {target} ({quoted}) FROM STDIN (FORMAT csv)",
                     writer=QueuedLibpqWriter(cursor)) as copy:
        for batch in table.to_batches(max_chunksize=COPY_CHUNK_ROWS):
            buf = io.BytesIO()
            pacsv.write_csv(batch, buf, options)
            copy.write(buf.getbuffer())


def copy_frame(conn: Connection, table: str, frame: pd.DataFrame) -> int:
    """Plain bulk append (results of a run): COPY straight into ``table``."""
    if frame.empty:
        return 0
    raw = conn.connection.driver_connection
    copy_staged(raw, table, stage_columns(frame, column_types(raw, table), direct=True))
    return len(frame)


def read_query(conn: Connection, query: str, *, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a query through COPY ... TO STDOUT (CSV) into pandas: several times faster than
    fetching rows for hundreds of thousands of them. ``query`` must be complete SQL (compose
    literals with psycopg.sql); ``text_columns`` stay text (codes keep their dots and zeros);
    booleans arrive as PostgreSQL's t/f and become True/False."""
    buf = io.BytesIO()
    with conn.connection.driver_connection.cursor().copy(
            f"COPY ({query}) TO STDOUT (FORMAT csv, HEADER)") as copy:
        for block in copy:
            buf.write(block)
    buf.seek(0)
    return pd.read_csv(buf, dtype={c: object for c in text_columns}, keep_default_na=False,
                       na_values=[""], true_values=["t"], false_values=["f"])
