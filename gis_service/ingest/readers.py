"""Read GeoPackage, (zipped) Shapefile, GeoJSON, FlatGeobuf and CSV (lon/lat, x/y, WKT or a
KoboToolbox/ODK geopoint) into a GeoDataFrame, saying what was assumed (encoding, CRS, columns).

CSV attributes are read as text so that codes keep their dots and leading zeros; the field mapper
converts types later with per-row errors.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp", ".fgb", ".zip", ".gml", ".kml"}
LON_NAMES = ("lon", "lng", "long", "longitude", "bujur", "koordinat_x", "x_wgs84")
LAT_NAMES = ("lat", "latitude", "lintang", "koordinat_y", "y_wgs84")
X_NAMES = ("x", "easting", "x_utm")
Y_NAMES = ("y", "northing", "y_utm")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "wkt_geom", "geometri")
GEOPOINT = re.compile(r"^\s*-?\d+(\.\d+)?\s+-?\d+(\.\d+)?(\s+-?\d+(\.\d+)?){0,2}\s*$")


class ReadError(ValueError):
    """The file cannot be read as asked; the message names the fix."""


@dataclass
class ReadResult:
    frame: gpd.GeoDataFrame
    notes: list[str] = field(default_factory=list)


def read_table(path: Path, *, layer: str | None = None, crs: str | None = None,
               max_mb: int = 4096, geometry_required: bool = True) -> ReadResult:
    """Read any supported file. ``crs`` overrides (or supplies) the file's CRS."""
    path = Path(path)
    if not path.exists():
        raise ReadError(f"{path} does not exist")
    size = path.stat().st_size
    if size == 0:
        raise ReadError(f"{path.name} is empty (0 bytes): export the layer again")
    if size > max_mb * 1024 * 1024:
        raise ReadError(f"{path.name} is {size / 2**20:.0f} MB, above the {max_mb} MB limit: split the "
                        "file or raise GIS_SERVICE_MAX_IMPORT_MB")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        result = _read_csv(path, crs=crs, geometry_required=geometry_required)
    elif suffix in VECTOR_SUFFIXES:
        result = _read_vector(path, layer=layer, crs=crs)
    else:
        raise ReadError(f"{path.name}: unsupported format '{suffix}'. Use GeoPackage, zipped Shapefile, "
                        "GeoJSON, FlatGeobuf, CSV, or .osm.pbf for the network")
    if len(result.frame) == 0:
        raise ReadError(f"{path.name} has no records")
    return result


def _read_vector(path: Path, *, layer: str | None, crs: str | None) -> ReadResult:
    notes: list[str] = []
    source = str(path)
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            shps = [n for n in zf.namelist() if n.lower().endswith(".shp")]
        if len(shps) != 1:
            raise ReadError(f"{path.name} must hold exactly one .shp (found {len(shps)}): zip one layer")
        source = f"/vsizip/{path}/{shps[0]}"
    try:
        layers = pyogrio.list_layers(source)
    except Exception as exc:  # GDAL's own message is the most precise one
        raise ReadError(f"{path.name} cannot be opened: {exc}") from exc
    if layer is None and len(layers) > 1:
        names = ", ".join(str(n) for n in layers[:, 0])
        raise ReadError(f"{path.name} has {len(layers)} layers ({names}): choose one with --layer")
    with warnings.catch_warnings(record=True) as gdal_warnings:  # GDAL's warnings go to the report
        warnings.simplefilter("always")
        frame = _read_layer(path, source, layer, notes)
    notes += sorted({f"GDAL: {w.message}" for w in gdal_warnings})
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame)), crs=None)
    if crs:
        if frame.crs is not None and not _same_crs(frame.crs, crs):
            notes.append(f"file declares {frame.crs.to_string()}; using {crs} as given by --crs")
        frame = frame.set_crs(crs, allow_override=True)
    return ReadResult(frame, notes)


def _read_layer(path: Path, source: str, layer: str | None, notes: list[str]) -> gpd.GeoDataFrame:
    try:
        return pyogrio.read_dataframe(source, layer=layer, use_arrow=True)
    except UnicodeDecodeError:
        notes.append("attributes are not UTF-8: decoded as Latin-1")
        return pyogrio.read_dataframe(source, layer=layer, encoding="latin1")
    except Exception as exc:
        if "encod" in str(exc).lower() or "utf" in str(exc).lower():
            notes.append("attributes are not UTF-8: decoded as Latin-1")
            return pyogrio.read_dataframe(source, layer=layer, encoding="latin1")
        if "LinearRing" in str(exc) or "IllegalArgument" in str(exc):
            return _read_fixing_rings(source, layer)
        raise ReadError(f"{path.name} cannot be read: {exc}") from exc


def _read_fixing_rings(source: str, layer: str | None) -> gpd.GeoDataFrame:
    """Read geometries one by one so that an unclosed ring closes (a safe repair, reported per
    record through ``frame.attrs['repaired']``) instead of failing the whole file."""
    meta, table = pyogrio.read_arrow(source, layer=layer)
    df = table.to_pandas()
    wkb = df.pop(meta["geometry_name"] or "wkb_geometry").to_numpy(dtype=object)
    strict = shapely.from_wkb(wkb, on_invalid="ignore")
    fixed = shapely.from_wkb(wkb, on_invalid="fix")
    repaired = [(int(i), "ring not closed; closed it by repeating its first point")
                for i in np.flatnonzero(shapely.is_missing(strict) & ~shapely.is_missing(fixed))]
    frame = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(fixed), crs=meta["crs"])
    frame.attrs["repaired"] = repaired
    return frame


def _same_crs(a, b) -> bool:
    from pyproj import CRS

    return CRS.from_user_input(a) == CRS.from_user_input(b)


def _decode(path: Path) -> tuple[str, list[str]]:
    """UTF-8 first; otherwise Windows-1252 (a superset of Latin-1 used by Excel exports here)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        note = f"file is not UTF-8 (first non-UTF-8 byte on line {line}): decoded as Latin-1"
        try:
            return raw.decode("cp1252"), [note]
        except UnicodeDecodeError:
            return raw.decode("latin-1"), [note]


def _read_csv(path: Path, *, crs: str | None, geometry_required: bool) -> ReadResult:
    import io

    text, notes = _decode(path)
    sep = "\t" if path.suffix.lower() == ".tsv" else None
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""],
                         sep=sep, engine="python" if sep is None else "c")
    except pd.errors.ParserError as exc:
        raise ReadError(f"{path.name} is not a well-formed CSV: {exc}") from exc
    except pd.errors.EmptyDataError as exc:
        raise ReadError(f"{path.name} has no header row") from exc
    df.columns = [str(c).strip() for c in df.columns]
    geoms, how, assumed_crs = _csv_geometry(df)
    if geoms is None:
        if geometry_required:
            raise ReadError(f"{path.name}: no geometry columns found. Provide lon/lat columns (lon, lat, "
                            "longitude, latitude, bujur, lintang), a WKT column (wkt, geometry) or a Kobo/"
                            "ODK geopoint column, or x/y columns with --crs")
        return ReadResult(gpd.GeoDataFrame(df, geometry=gpd.GeoSeries([None] * len(df))), notes)
    notes.append(f"geometry from {how}")
    if crs is None and assumed_crs is None:
        raise ReadError(f"{path.name}: the coordinates in {how} have no CRS. Pass --crs (for example "
                        "--crs EPSG:32749 for UTM 49S metres)")
    frame = gpd.GeoDataFrame(df, geometry=geoms, crs=crs or assumed_crs)
    return ReadResult(frame, notes)


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _numbers(series: pd.Series) -> np.ndarray:
    cleaned = series.astype("string").str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _points(x: np.ndarray, y: np.ndarray) -> gpd.GeoSeries:
    pts = shapely.points(x, y)
    pts[np.isnan(x) | np.isnan(y)] = None
    return gpd.GeoSeries(pts)


def _csv_geometry(df: pd.DataFrame):
    """Find the geometry: Kobo/ODK geopoint pairs, lon/lat, WKT, then x/y. Returns
    (GeoSeries or None, description, CRS implied by the columns or None)."""
    cols = list(df.columns)
    lat_cols = [c for c in cols if re.search(r"[_-]latitude$", c, re.I)]
    for lat_col in lat_cols:
        lon_col = re.sub(r"latitude$", "longitude", lat_col, flags=re.I)
        lon_col = next((c for c in cols if c.lower() == lon_col.lower()), None)
        if lon_col:
            return _points(_numbers(df[lon_col]), _numbers(df[lat_col])), \
                f"geopoint columns {lon_col}/{lat_col}", "EPSG:4326"
    lon, lat = _find(cols, LON_NAMES), _find(cols, LAT_NAMES)
    if lon and lat:
        return _points(_numbers(df[lon]), _numbers(df[lat])), f"columns {lon}/{lat}", "EPSG:4326"
    wkt = _find(cols, WKT_NAMES)
    if wkt:
        values = df[wkt].astype("string").fillna("")
        geoms = shapely.from_wkt(values.to_numpy(dtype=object), on_invalid="ignore")
        geoms[values.str.strip().to_numpy() == ""] = None
        return gpd.GeoSeries(geoms), f"WKT column {wkt}", None
    for c in cols:  # a Kobo geopoint in one column: "lat lon altitude accuracy"
        sample = df[c].dropna().head(20).astype(str)
        if len(sample) and sample.str.match(GEOPOINT).all() and sample.str.split().str.len().min() >= 2:
            parts = df[c].astype("string").str.split(expand=True)
            return _points(_numbers(parts[1]), _numbers(parts[0])), \
                f"geopoint column {c} (lat lon alt acc)", "EPSG:4326"
    x, y = _find(cols, X_NAMES), _find(cols, Y_NAMES)
    if x and y:
        return _points(_numbers(df[x]), _numbers(df[y])), f"columns {x}/{y}", None
    return None, "", None
