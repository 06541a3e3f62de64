"""GeoParquet 1.1 files written straight from coordinate arrays in the native GeoArrow encodings
(a point is a struct of x, y; a line a list of them), so a million households never become Python
geometry objects on the way to disk. geopandas, GDAL (QGIS) and DuckDB read them as any GeoParquet.

Geometries are stored in EPSG:4326 like everything else we store; the metric coordinates the
analysis needs travel beside them as plain columns (``x``, ``y`` in the dataset's metric CRS), and
lines carry the GeoParquet 1.1 ``bbox`` covering column, by which a reader skips row groups."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyproj import CRS

VERSION = "1.1.0"
_XY = pa.struct([("x", pa.float64()), ("y", pa.float64())])
_WGS84 = CRS.from_user_input("OGC:CRS84").to_json_dict()  # EPSG:4326 in lon, lat order


def points(lon: np.ndarray, lat: np.ndarray) -> pa.StructArray:
    """GeoArrow ``point`` column."""
    return pa.StructArray.from_arrays([pa.array(np.asarray(lon, float)), pa.array(np.asarray(lat, float))],
                                      fields=list(_XY))


def segments(lon0: np.ndarray, lat0: np.ndarray, lon1: np.ndarray, lat1: np.ndarray) -> pa.ListArray:
    """GeoArrow ``linestring`` column of two-point lines."""
    n = len(lon0)
    xs = np.column_stack([lon0, lon1]).ravel()
    ys = np.column_stack([lat0, lat1]).ravel()
    offsets = pa.array(np.arange(0, 2 * n + 1, 2, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, points(xs, ys))


def bbox_column(xmin, ymin, xmax, ymax) -> pa.StructArray:
    """GeoParquet 1.1 ``bbox`` covering column."""
    return pa.StructArray.from_arrays([pa.array(np.asarray(v, float)) for v in (xmin, ymin, xmax, ymax)],
                                      names=["xmin", "ymin", "xmax", "ymax"])


def write(table: pa.Table, path: Path, *, encoding: str, geometry_type: str,
          row_group_size: int = 1_000_000, extra: dict | None = None) -> Path:
    """Write ``table`` (its ``geometry`` column in ``encoding``) as GeoParquet, atomically: a
    reader never sees half a file, so a partition either has its output or has not."""
    geo = {"encoding": encoding, "geometry_types": [geometry_type], "crs": _WGS84}
    if "bbox" in table.column_names:
        geo["covering"] = {"bbox": {k: ["bbox", k] for k in ("xmin", "ymin", "xmax", "ymax")}}
    bounds = _bounds(table, encoding)
    if bounds is not None:
        geo["bbox"] = bounds
    meta = {b"geo": json.dumps({"version": VERSION, "primary_column": "geometry",
                                "columns": {"geometry": geo}}).encode()}
    if extra:
        meta[b"gis_service"] = json.dumps(extra).encode()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, row_group_size=row_group_size, compression="zstd")
    os.replace(tmp, path)
    return path


def _bounds(table: pa.Table, encoding: str) -> list[float] | None:
    if not len(table):
        return None
    column = table.column("geometry").combine_chunks()
    xy = column.values if encoding == "linestring" else column  # a line's points
    x, y = (np.asarray(xy.field(k)) for k in ("x", "y"))
    return [float(x.min()), float(y.min()), float(x.max()), float(y.max())]


def metadata(path: Path) -> dict:
    """The ``gis_service`` metadata written with the file (empty if none)."""
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta.get(b"gis_service", b"{}"))
