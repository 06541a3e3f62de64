"""COPY of numeric columns in PostgreSQL's binary format, encoded with numpy.

A coverage run writes one row per household: ids, minutes and the k nearest facilities as
``bigint[]`` and ``real[]``. As CSV the server parses every number and array from text, and a
province's million rows took 5.7 s of the server's time; in binary it stores the bytes it is
sent (3.9 s). Rows are built a chunk at a time: each column becomes a matrix of its fields'
bytes (length word and value, big-endian, as the format wants) with the width of its longest
field; side by side, with a mask that drops each field's slack (a NULL or a short array), they
are the chunk's rows: a few numpy passes whatever the number of rows. Only numbers: text and
geometry go through ``bulk.copy_frame``.

A column is a 1-D array (NaN in a float column is NULL), a masked array (masked is NULL), or a
2-D float array for an array column: row by row, NaN ends the array and a row without a first
value is NULL (as ``bulk.array_literals``).
"""

from __future__ import annotations

import numpy as np
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Connection

from gis_service.db.bulk import column_types

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # header: signature, no flags, no extension
TRAILER = b"\xff\xff"
CHUNK_ROWS = 65_536
SCALARS = {"bigint": (">i8", 20), "integer": (">i4", 23), "smallint": (">i2", 21),
           "double precision": (">f8", 701), "real": (">f4", 700)}


def copy_binary(conn: Connection, table: str, columns: dict[str, np.ndarray]) -> int:
    """Append the rows of aligned numeric ``columns`` to ``table`` with COPY (FORMAT binary)."""
    n = len(next(iter(columns.values()))) if columns else 0
    if any(len(values) != n for values in columns.values()):
        raise ValueError(f"copy_binary into {table}: columns of different lengths "
                         f"{ {name: len(values) for name, values in columns.items()} }")
    if not n:
        return 0
    raw = conn.connection.driver_connection
    types = column_types(raw, table)
    unknown = [name for name in columns if types.get(name, "").removesuffix("[]") not in SCALARS]
    if unknown:
        raise ValueError(f"copy_binary writes numeric columns only; {table}: {unknown} "
                         f"({[types.get(u) for u in unknown]})")
    for name, values in columns.items():
        _check_range(table, name, values, types[name].removesuffix("[]"))
    quoted = ", ".join(f'"{name}"' for name in columns)
    cursor = raw.cursor()
    with cursor.copy(f"COPY {table} ({quoted}) FROM STDIN (FORMAT binary)",
                     writer=QueuedLibpqWriter(cursor)) as copy:
        copy.write(SIGNATURE)
        for lo in range(0, n, CHUNK_ROWS):
            copy.write(_rows({name: values[lo:lo + CHUNK_ROWS] for name, values in columns.items()},
                             types))
        copy.write(TRAILER)
    return n


def _rows(columns: dict[str, np.ndarray], types: dict[str, str]) -> bytes:
    """The chunk's rows in binary, in their order (so that they reach the table, and its primary
    key's index, in the caller's order). The column matrices side by side hold every row's
    fields at their widest; a mask of each field's own length drops the slack, and what is left,
    read row by row, is the rows' bytes."""
    n = len(next(iter(columns.values())))
    blocks = [np.full(n, len(columns), dtype=">i2").view(np.uint8).reshape(n, 2)]
    lengths = [np.full(n, 2)]
    for name, values in columns.items():
        pg = types[name]
        fmt, oid = SCALARS[pg.removesuffix("[]")]
        block, length = _array(values, fmt, oid) if pg.endswith("[]") else _scalar(values, fmt)
        blocks.append(block)
        lengths.append(length)
    keep = np.hstack([np.arange(block.shape[1]) < length[:, None] for block, length in zip(blocks, lengths)])
    return np.hstack(blocks)[keep].tobytes()


def _check_range(table: str, name: str, values: np.ndarray, pg: str) -> None:
    """What the binary format would silently wrap or truncate is refused, as the CSV path's server
    would refuse it: an integer column takes whole numbers within its type's range."""
    kind = np.dtype(SCALARS[pg][0])
    if kind.kind != "i":
        return
    data = np.ma.compressed(values) if isinstance(values, np.ma.MaskedArray) else np.asarray(values).ravel()
    if data.dtype.kind == "f":
        data = data[~np.isnan(data)]
        if len(data) and not np.all(data == np.round(data)):
            raise ValueError(f"{table}.{name} ({pg}) takes whole numbers only")
    if len(data):
        info = np.iinfo(kind)
        low, high = data.min(), data.max()
        if low < info.min or high > info.max:
            raise ValueError(f"{table}.{name} ({pg}) holds {info.min}..{info.max}, got {low}..{high}")


def _nulls(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(values, np.ma.MaskedArray):
        return values.filled(0), np.ma.getmaskarray(values)
    values = np.asarray(values)
    return values, (np.isnan(values) if values.dtype.kind == "f" else np.zeros(len(values), bool))


def _scalar(values: np.ndarray, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """(n, 4 + size) bytes: the field's length (-1: NULL) and its value; the length to keep."""
    values, null = _nulls(values)
    size = np.dtype(fmt).itemsize
    rec = np.zeros(len(values), dtype=[("len", ">i4"), ("v", fmt)])
    rec["len"] = np.where(null, -1, size)
    rec["v"] = np.where(null, 0, values)
    return rec.view(np.uint8).reshape(len(values), 4 + size), np.where(null, 4, 4 + size)


def _array(matrix: np.ndarray, fmt: str, oid: int) -> tuple[np.ndarray, np.ndarray]:
    """A one-dimensional array per row: length word, then ndim, flags, element type, size and
    lower bound, then each element's length and value."""
    matrix = np.asarray(matrix, dtype=float)
    n, k = matrix.shape
    size = np.dtype(fmt).itemsize
    items = np.cumprod(np.isfinite(matrix), axis=1).sum(axis=1)  # NaN ends the array
    null = items == 0
    fields = [("len", ">i4"), ("ndim", ">i4"), ("flags", ">i4"), ("oid", ">i4"), ("dim", ">i4"),
              ("lbound", ">i4")]
    for j in range(k):
        fields += [(f"l{j}", ">i4"), (f"v{j}", fmt)]
    rec = np.zeros(n, dtype=fields)
    rec["len"] = np.where(null, -1, 20 + items * (4 + size))
    rec["ndim"], rec["oid"], rec["dim"], rec["lbound"] = 1, oid, items, 1
    for j in range(k):
        rec[f"l{j}"] = size
        rec[f"v{j}"] = np.where(j < items, np.nan_to_num(matrix[:, j]), 0)
    length = np.where(null, 4, 24 + items * (4 + size))
    return rec.view(np.uint8).reshape(n, rec.dtype.itemsize), length
