"""Read GeoPackage, (zipped) Shapefile, GeoJSON, FlatGeobuf and CSV (lon/lat, x/y, WKT or a
KoboToolbox/ODK geopoint) into a GeoDataFrame, saying what was assumed (encoding, CRS, columns).

CSV attributes are read as text so that codes keep their dots and leading zeros; the field mapper
converts types later with per-row errors. What the reader decided is in ``frame.attrs``:
``geometry_columns`` (the source columns the geometry came from), ``geometry_in_file`` (the file
carries geometry at all) and ``decimal`` (the decimal mark of the CSV dialect).
"""

from __future__ import annotations

import re
import warnings
import zipfile
from collections import Counter
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
KEMENDAGRI_CODE = re.compile(r"\d{2}(\.\d{2}){1,2}(\.\d{4})?")  # 62.07.01.2005: not a decimal number
GEOPOINT = re.compile(r"^\s*-?\d+(\.\d+)?\s+-?\d+(\.\d+)?(\s+-?\d+(\.\d+)?){0,2}\s*$")


class ReadError(ValueError):
    """The file cannot be read as asked; the message names the fix."""


@dataclass
class ReadResult:
    frame: gpd.GeoDataFrame
    notes: list[str] = field(default_factory=list)


def read_table(path: Path, *, layer: str | None = None, crs: str | None = None,
               max_mb: int = 4096, geometry_required: bool = True, region=None) -> ReadResult:
    """Read any supported file. ``crs`` overrides (or supplies) the file's CRS. ``region`` (its
    ``contains(x, y)``) lets WKT or x/y columns without a CRS be taken as degrees when they lie
    in it."""
    path = Path(path)
    if not path.exists():
        raise ReadError(f"{path} does not exist")
    suffix = path.suffix.lower()
    if path.is_dir() and suffix not in (".gdb", ".shp"):  # GDAL reads a few formats as folders
        raise ReadError(f"{path.name} is a folder, not a file: give the file inside it")
    size = path.stat().st_size
    if size == 0:
        raise ReadError(f"{path.name} is empty (0 bytes): export the layer again")
    if size > max_mb * 1024 * 1024:
        raise ReadError(f"{path.name} is {size / 2**20:.0f} MB, above the {max_mb} MB limit: split the "
                        "file or raise GIS_SERVICE_MAX_IMPORT_MB")
    if suffix in (".csv", ".txt", ".tsv"):
        result = _read_csv(path, crs=crs, geometry_required=geometry_required, region=region)
    elif suffix in (".xlsx", ".xlsm"):
        result = _read_xlsx(path, layer=layer, crs=crs, geometry_required=geometry_required, region=region)
    elif suffix in VECTOR_SUFFIXES:
        result = _read_vector(path, layer=layer, crs=crs)
        result.frame.attrs.update(geometry_in_file=True, geometry_columns=["(the layer's geometry)"])
    else:
        raise ReadError(f"{path.name}: unsupported format '{suffix}'. Use GeoPackage, zipped Shapefile, "
                        "GeoJSON, FlatGeobuf, CSV, Excel (.xlsx), or .osm.pbf for the network")
    if len(result.frame) == 0:
        raise ReadError(f"{path.name} has no records")
    return result


def _read_vector(path: Path, *, layer: str | None, crs: str | None) -> ReadResult:
    notes: list[str] = []
    source = str(path)
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                shps = [n for n in zf.namelist() if n.lower().endswith(".shp")  # not macOS's resource forks
                        and not n.startswith("__MACOSX/") and not n.rsplit("/", 1)[-1].startswith("._")]
        except (zipfile.BadZipFile, OSError) as exc:
            raise ReadError(f"{path.name} is not a readable zip archive ({exc}): zip the Shapefile's "
                            ".shp, .shx, .dbf and .prj again") from exc
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
    if layer is not None and layer not in [str(n) for n in layers[:, 0]]:
        raise ReadError(f"{path.name} has no layer '{layer}'; its layers: "
                        f"{', '.join(str(n) for n in layers[:, 0])}")
    with warnings.catch_warnings(record=True) as gdal_warnings:  # GDAL's warnings go to the report
        warnings.simplefilter("always")
        try:
            frame = _read_layer(path, source, layer, notes)
        except ReadError:
            raise
        except Exception as exc:  # a damaged file fails inside GDAL or shapely in many ways
            raise ReadError(f"{path.name} cannot be read: {exc}") from exc
    notes += sorted({f"GDAL: {w.message}" for w in gdal_warnings})
    _decode_invalid_text(frame, notes)
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
            notes.append("a ring was not closed: closed by repeating its first point (see 'repaired')")
            return _read_fixing_rings(source, layer)
        raise ReadError(f"{path.name} cannot be read: {exc}") from exc


def _decode_invalid_text(frame: pd.DataFrame, notes: list[str]) -> None:
    """GDAL passes a text attribute's bytes through as they are; where they are not UTF-8 (a
    GeoJSON edited in a Windows editor), each such value is decoded as Windows-1252 (Latin-1 where
    that fails), with a note naming the column."""
    import pyarrow as pa

    for column in frame.columns:
        series = frame[column]
        if column == getattr(frame, "_geometry_column_name", None) or not pd.api.types.is_string_dtype(series):
            continue
        try:
            chunks = pa.chunked_array(pa.array(series, from_pandas=True)) if series.dtype == object else \
                pa.chunked_array(series.array.__arrow_array__())
            chunks.validate(full=True)
            continue
        except (pa.ArrowInvalid, TypeError, AttributeError, UnicodeDecodeError):
            pass
        raw = pa.chunked_array(series.array.__arrow_array__()).cast(pa.binary()).to_pylist() \
            if hasattr(series.array, "__arrow_array__") else list(series)
        frame[column] = pd.Series([_text_of(v) for v in raw], index=frame.index, dtype=object)
        notes.append(f"column {column}: text that is not UTF-8 decoded as Windows-1252")


def _text_of(value):
    if not isinstance(value, bytes):
        return value
    for encoding in ("utf-8", "cp1252", "latin-1"):
        try:
            return value.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


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
    """UTF-8 (with or without a byte-order mark) or UTF-16 with its mark; otherwise Windows-1252 (a
    superset of Latin-1 that Excel on Windows writes), or Latin-1 where bytes undefined in
    Windows-1252 occur. Binary content (NUL bytes outside UTF-16) is refused."""
    raw = path.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return raw.decode("utf-16"), ["encoding: UTF-16 (with a byte-order mark)"]
        except UnicodeDecodeError as exc:
            raise ReadError(f"{path.name} starts like UTF-16 but is not: save it as CSV UTF-8") from exc
    if b"\x00" in raw[:65536]:
        raise ReadError(f"{path.name} is not a text file (it holds binary data, e.g. an Excel .xlsx "
                        "renamed .csv): save it from the spreadsheet as 'CSV UTF-8'")
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw.decode("utf-8-sig"), ["encoding: UTF-8 with a byte-order mark"]
        except UnicodeDecodeError:
            raw = raw[3:]  # a mark, then text in another encoding: the mark is not part of the header
    try:
        return raw.decode("utf-8"), ["encoding: UTF-8"]
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        why = f"not UTF-8: the first non-UTF-8 byte is on line {line}"
        try:
            return raw.decode("cp1252"), [f"encoding: Windows-1252 ({why})"]
        except UnicodeDecodeError:
            return raw.decode("latin-1"), [f"encoding: Latin-1 ({why}; bytes undefined in Windows-1252)"]


def _dialect(text: str, suffix: str, declared: str | None = None) -> tuple[str, str, list[str]]:
    """(delimiter, decimal mark, notes). The id-ID Excel export is semicolon-delimited with decimal
    commas; a tab-separated file is tab-delimited whatever its name; Excel's ``sep=`` line wins."""
    if suffix == ".tsv" and declared is None:
        return "\t", ".", []
    head = text[:65536].splitlines()[:50]
    header = head[0] if head else ""
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    delimiter = declared or max(counts, key=lambda d: (counts[d], d == ","))
    if counts.get(delimiter, 0) == 0 and declared is None:
        delimiter = ","
    if delimiter != ";":
        name = {",": "comma", "\t": "tab", "|": "pipe"}.get(delimiter, repr(delimiter))
        return delimiter, ".", ([] if delimiter == "," else [f"CSV dialect: {name}-delimited"])
    cells = [c.strip().strip('"') for line in head[1:] for c in line.split(";")]
    comma = any(re.fullmatch(r"-?\d+,\d+", c) for c in cells)
    numbers = [c for c in cells if not KEMENDAGRI_CODE.fullmatch(c)]  # 62.07 is a code, not a decimal
    point = any(re.fullmatch(r"-?\d+\.\d+", c) and not re.fullmatch(r"-?\d{1,3}(\.\d{3})+", c) for c in numbers) \
        or any(re.search(r"\d\.\d{4,}", c) for c in numbers)  # WKT written by GDAL: 112.508256
    decimal = "," if comma or not point else "."  # Excel writes ';' where the decimal mark is ','
    if decimal == ",":
        return ";", ",", ["CSV dialect: semicolon-delimited with decimal commas (an Excel export with "
                          "Indonesian regional settings): 1.234,5 is read as 1234.5"]
    return ";", ".", ["CSV dialect: semicolon-delimited, decimal points"]


def _read_csv(path: Path, *, crs: str | None, geometry_required: bool, region=None) -> ReadResult:
    import io

    text, notes = _decode(path)
    text = text.lstrip("\r\n")  # blank lines before the header
    declared = re.match(r"sep=(.)\r?\n", text)  # Excel's "sep=;" first line
    if declared:
        text = text[declared.end():]
    delimiter, decimal, dialect_notes = _dialect(text, path.suffix.lower(), declared.group(1) if declared else None)
    notes += dialect_notes
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""],
                         sep=delimiter, engine="c", skipinitialspace=False)
    except pd.errors.ParserError as exc:
        raise ReadError(f"{path.name} is not a well-formed CSV: {exc}") from exc
    except pd.errors.EmptyDataError as exc:
        raise ReadError(f"{path.name} has no header row") from exc
    return _from_strings(df, path.name, decimal=decimal, crs=crs, geometry_required=geometry_required,
                         region=region, notes=notes)


def _read_xlsx(path: Path, *, layer: str | None, crs: str | None, geometry_required: bool,
               region=None) -> ReadResult:
    """An Excel workbook (a Kobo/ODK export, an operator's spreadsheet): the sheet ``layer``, else
    the first. Cells become the text a CSV would hold (dates as YYYY-MM-DD, whole numbers without
    ".0"), so every rule of the CSV path applies."""
    from datetime import datetime, time

    try:
        with pd.ExcelFile(path, engine="openpyxl") as book:
            sheets = list(book.sheet_names)
            if not sheets:
                raise ReadError(f"{path.name} has no worksheet")
            sheet = layer if layer is not None else sheets[0]
            if sheet not in sheets:
                raise ReadError(f"{path.name} has no sheet '{sheet}'; its sheets: {', '.join(sheets)} "
                                "(choose one with --layer)")
            # text cells stay text ("NA" is a value, not a blank), as in a CSV
            df = pd.read_excel(book, sheet_name=sheet, dtype=object, header=0, keep_default_na=False,
                               na_values=[""])
    except ReadError:
        raise
    except Exception as exc:  # a damaged or mislabelled file: openpyxl raises many kinds
        raise ReadError(f"{path.name} cannot be read as an Excel workbook (.xlsx): {exc}") from exc

    def cell(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
            return None
        if isinstance(v, datetime):
            return v.date().isoformat() if v.time() == time(0) else v.isoformat()
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    df = df.apply(lambda column: column.map(cell)).astype(object)
    df = df.dropna(how="all")
    notes = [f"Excel workbook: sheet '{sheet}'" + (f" of {len(sheets)}" if len(sheets) > 1 else "")]
    return _from_strings(df, path.name, decimal=".", crs=crs, geometry_required=geometry_required, region=region,
                         notes=notes)


def _from_strings(df: pd.DataFrame, name: str, *, decimal: str, crs: str | None, geometry_required: bool,
                  region, notes: list[str]) -> ReadResult:
    """A table of text cells (from a CSV or a workbook) with its geometry found."""
    path = Path(name)
    df.columns = [str(c).strip() for c in df.columns]
    names_seen = set(df.columns)
    repeated = sorted({c for c, n in Counter(df.columns).items() if n > 1})
    if repeated or any(re.match(r".+\.\d+$", c) and c.rsplit(".", 1)[0] in names_seen for c in df.columns):
        names = repeated or [c.rsplit(".", 1)[0] for c in df.columns
                             if re.match(r".+\.\d+$", c) and c.rsplit(".", 1)[0] in names_seen]
        raise ReadError(f"{path.name} has the column name {names[0]!r} more than once: give every "
                        "column its own name")
    geoms, how, assumed_crs, used = _csv_geometry(df, decimal)
    if geoms is None:
        if geometry_required:
            raise ReadError(f"{path.name}: no geometry columns found. Provide lon/lat columns (lon, lat, "
                            "longitude, latitude, bujur, lintang), a WKT column (wkt, geometry) or a Kobo/"
                            "ODK geopoint column, or x/y columns with --crs")
        frame = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries([None] * len(df)))
        frame.attrs.update(geometry_in_file=False, geometry_columns=[], decimal=decimal)
        return ReadResult(frame, notes)
    notes.append(f"geometry from {how}")
    if crs is None and assumed_crs is None:
        assumed_crs = _degrees_in_region(geoms, region)
        if assumed_crs is None:
            raise ReadError(f"{path.name}: the coordinates in {how} have no CRS and are not lon/lat "
                            "degrees inside the region. Pass --crs (for example --crs EPSG:32749 for "
                            "UTM 49S metres, or --crs EPSG:4326 for degrees; degrees with latitude first also need "
                            "--swap-xy)")
        notes.append(f"the coordinates in {how} are degrees inside the region: taken as EPSG:4326 "
                     "(pass --crs to say otherwise)")
    rest = df.drop(columns=used)
    name = "geometry" if "geometry" not in rest.columns else "_geometry"  # a text column named geometry stays
    rest = rest.copy()
    rest[name] = gpd.GeoSeries(np.asarray(geoms.array, dtype=object), index=rest.index)
    frame = gpd.GeoDataFrame(rest, geometry=name, crs=crs or assumed_crs)
    frame.attrs.update(geometry_in_file=True, geometry_columns=used, decimal=decimal)
    return ReadResult(frame, notes)


def _degrees_in_region(geoms: gpd.GeoSeries, region) -> str | None:
    """EPSG:4326 when every coordinate is a plausible degree and the records lie in the region."""
    if region is None:
        return None
    present = geoms[~(geoms.is_empty | geoms.isna())]
    if not len(present):
        return None
    b = shapely.bounds(np.asarray(present.array, dtype=object))
    if not np.isfinite(b).all() or (np.abs(b[:, [0, 2]]) > 180).any() or (np.abs(b[:, [1, 3]]) > 90).any():
        return None
    x, y = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    return "EPSG:4326" if np.mean(region.contains(x, y)) >= 0.5 else None


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _numbers(series: pd.Series) -> np.ndarray:
    """Coordinates: a decimal comma is read as a point (coordinates never group thousands)."""
    cleaned = series.astype("string").str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _points(x: np.ndarray, y: np.ndarray) -> gpd.GeoSeries:
    pts = shapely.points(x, y)
    pts[np.isnan(x) | np.isnan(y)] = None
    return gpd.GeoSeries(pts)


def _csv_geometry(df: pd.DataFrame, decimal: str = "."):
    """Find the geometry: Kobo/ODK geopoint pairs, lon/lat, WKT, then x/y. Returns (GeoSeries or
    None, description, CRS implied by the columns or None, the columns used)."""
    cols = list(df.columns)
    lat_cols = [c for c in cols if re.search(r"[_-]latitude$", c, re.I)]
    for lat_col in lat_cols:
        lon_col = re.sub(r"latitude$", "longitude", lat_col, flags=re.I)
        lon_col = next((c for c in cols if c.lower() == lon_col.lower()), None)
        if lon_col:
            prefix = lat_col[: -len("latitude")]
            extra = [c for c in cols if c.lower() in (f"{prefix}altitude".lower(), f"{prefix}precision".lower())]
            return _points(_numbers(df[lon_col]), _numbers(df[lat_col])), \
                f"geopoint columns {lon_col}/{lat_col}", "EPSG:4326", [lon_col, lat_col, *extra]
    lon, lat = _find(cols, LON_NAMES), _find(cols, LAT_NAMES)
    if lon and lat:
        return _points(_numbers(df[lon]), _numbers(df[lat])), f"columns {lon}/{lat}", "EPSG:4326", [lon, lat]
    wkt = _find(cols, WKT_NAMES)
    if wkt:
        values = df[wkt].astype("string").fillna("")
        if decimal == ",":  # POINT(112,5 -2,9) from an id-ID export; 112.5 -2.9,112.6 -3.0 is left alone
            comma = ~values.str.contains(r"\d\.\d", regex=True)
            values = values.where(~comma, values.str.replace(r"(\d),(\d)", r"\1.\2", regex=True))
        geoms = shapely.from_wkt(values.to_numpy(dtype=object), on_invalid="ignore")
        geoms[values.str.strip().to_numpy() == ""] = None
        return gpd.GeoSeries(geoms), f"WKT column {wkt}", None, [wkt]
    x, y = _find(cols, X_NAMES), _find(cols, Y_NAMES)
    if x and y:
        return _points(_numbers(df[x]), _numbers(df[y])), f"columns {x}/{y}", None, [x, y]
    for c in cols:  # last: a Kobo geopoint in one column, "lat lon altitude accuracy"
        if _is_geopoint(df[c]):
            parts = df[c].astype("string").str.split(expand=True)
            return _points(_numbers(parts[1]), _numbers(parts[0])), \
                f"geopoint column {c} (lat lon alt acc)", "EPSG:4326", [c]
    return None, "", None, []


def _is_geopoint(column: pd.Series) -> bool:
    """Every sampled value reads "lat lon [alt [acc]]" with decimal degrees in range: a phone number
    (0812 3456 7890) or an RT/RW pair (01 02) is not a location."""
    sample = column.dropna().head(20).astype(str)
    if not len(sample) or not sample.str.match(GEOPOINT).all():
        return False
    parts = sample.str.split()
    if parts.str.len().min() < 2:
        return False
    lat, lon = parts.str[0], parts.str[1]
    decimals = lat.str.contains(".", regex=False).all() and lon.str.contains(".", regex=False).all()
    lat_n, lon_n = pd.to_numeric(lat, errors="coerce"), pd.to_numeric(lon, errors="coerce")
    return bool(decimals and lat_n.abs().le(90).all() and lon_n.abs().le(180).all())
