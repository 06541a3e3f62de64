"""Geometry checks shared by all importers: CRS present and plausible, axes not swapped, inside the
region, of the right type, valid. One policy for every kind (docs/import-rules.md):

- a record without a geometry (null or empty) is refused when the file carries geometry;
- Z and M values are dropped, with a note;
- an invalid geometry is repaired with ``make_valid`` only when the repair is safe: a polygon keeps
  its number of parts (slivers under ``SLIVER`` of the area aside) and its area stays within
  ``AREA_TOLERANCE`` of the area as drawn (each shell's |signed area| less its holes'); otherwise the
  record is refused, naming what the repair would have changed.

Everything is vectorised over shapely 2 arrays. Output is EPSG:4326.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from gis_service.ingest.report import ImportReport, Problem
from gis_service.settings import Region

SLIVER = 0.001  # a part of a repaired polygon smaller than this share of its area is a sliver
AREA_TOLERANCE = 0.001  # a repair may change the drawn area by this share at most

FAMILY = {"Point": "point", "MultiPoint": "point", "LineString": "line", "MultiLineString": "line",
          "Polygon": "polygon", "MultiPolygon": "polygon"}


class FileProblem(ValueError):
    """A problem with the whole file (no CRS, implausible CRS): message and fix."""

    def __init__(self, reason: str, fix: str):
        super().__init__(f"{reason}. Fix: {fix}")
        self.reason, self.fix = reason, fix


@dataclass(frozen=True)
class GeomRule:
    family: str  # point | line | polygon | point_or_polygon
    required: bool = True
    polygons_to_points: bool = False  # building footprints -> representative points


def check_geometries(frame: gpd.GeoDataFrame, rule: GeomRule, *, region: Region | None,
                     report: ImportReport, rows: np.ndarray, ids: np.ndarray,
                     swap_xy: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Return (geometries in EPSG:4326, rejected mask). Findings go to ``report``."""
    n = len(frame)
    geoms = np.array(frame.geometry.array, dtype=object) if n else np.array([], dtype=object)
    bad = np.zeros(n, dtype=bool)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.all() and not rule.required:  # a file without geometry: codes and names only
        if n and frame.attrs.get("geometry_in_file"):
            report.notes.append("no record has a geometry: codes and attributes only (stored "
                                "boundaries are kept)")
        return np.full(n, None, dtype=object), bad
    geoms = _drop_zm(geoms, ~missing, report)
    if frame.crs is None:
        raise FileProblem("the file has no coordinate reference system (a Shapefile without .prj, or "
                          "a GeoPackage layer with an undefined SRS)", "pass --crs, e.g. --crs EPSG:4326 "
                          "for lon/lat degrees or --crs EPSG:32749 for UTM 49S metres")
    bad |= _check_crs_plausible(geoms, ~missing, frame.crs, report, rows, ids)
    if swap_xy:
        geoms = shapely.transform(geoms, lambda c: c[:, ::-1])
    if not (frame.crs.equals("EPSG:4326") or frame.crs.to_2d().equals("EPSG:4326")):  # 4979: 3D lon/lat
        geoms = np.array(gpd.GeoSeries(geoms, crs=frame.crs).to_crs("EPSG:4326").array, dtype=object)
        report.notes.append(f"reprojected from {frame.crs.to_string()} to EPSG:4326")
    for i in np.flatnonzero(missing):
        report.reject(rows[i], ids[i], "no geometry (null, empty, or unreadable WKT/coordinates)",
                      "give the record a location or remove it")
    bad |= missing
    present = ~missing & ~bad
    coords_ok = _finite(geoms)
    for i in np.flatnonzero(present & ~coords_ok):
        report.reject(rows[i], ids[i], "coordinates are not finite numbers", "correct the coordinates")
    bad |= present & ~coords_ok
    todo = present & ~bad
    geoms, type_bad = _coerce_types(geoms, todo, rule, report, rows, ids)
    bad |= type_bad
    todo &= ~type_bad
    geoms, repair_bad = _repair(geoms, todo, rule, report, rows, ids)
    bad |= repair_bad
    todo &= ~repair_bad
    if region is not None:
        bad |= _check_region(geoms, todo, region, report, rows, ids)
    return geoms, bad


def _drop_zm(geoms: np.ndarray, present: np.ndarray, report: ImportReport) -> np.ndarray:
    """Heights (Z) and measures (M) are not used by any analysis: stored as 2D, with a note."""
    zm = present & (shapely.has_z(geoms) | _has_m(geoms))
    if zm.any():
        geoms = geoms.copy()
        geoms[zm] = shapely.force_2d(geoms[zm])
        report.notes.append(f"{int(zm.sum())} record(s) had Z (height) or M values: dropped, stored "
                            "as 2D")
    return geoms


def _has_m(geoms: np.ndarray) -> np.ndarray:
    has_m = getattr(shapely, "has_m", None)  # shapely >= 2.1 with GEOS >= 3.12
    return has_m(geoms) if has_m is not None else np.zeros(len(geoms), dtype=bool)


def _finite(geoms: np.ndarray) -> np.ndarray:
    counts = shapely.get_num_coordinates(geoms)
    coords = shapely.get_coordinates(geoms)
    finite = np.isfinite(coords).all(axis=1)
    owner = np.repeat(np.arange(len(geoms)), counts)
    bad = np.zeros(len(geoms), dtype=bool)
    bad[owner[~finite]] = True
    return ~bad


def _check_crs_plausible(geoms: np.ndarray, present: np.ndarray, crs, report, rows, ids) -> np.ndarray:
    """Do the coordinates fit the CRS? If most records do not, the CRS is wrong: the whole file is
    refused with the CRS to pass. The few that do not (a typo, 1124.9 for 112.49) are refused one
    by one, naming the record. Returns the mask of records refused here."""
    bad = np.zeros(len(geoms), dtype=bool)
    idx = np.flatnonzero(present)
    if not len(idx):
        return bad
    b = shapely.bounds(geoms[idx])
    finite = np.isfinite(b).all(axis=1)
    degrees = finite & (b[:, 0] >= -180) & (b[:, 2] <= 180) & (b[:, 1] >= -90) & (b[:, 3] <= 90)
    swapped = finite & (b[:, 0] >= -90) & (b[:, 2] <= 90) & (b[:, 1] >= -180) & (b[:, 3] <= 180)
    if crs.is_geographic:
        wrong = finite & ~degrees & ~swapped
        if wrong.mean() > 0.5:
            k = int(np.flatnonzero(wrong)[0])
            raise FileProblem(f"the coordinates are taken as {crs.to_string()} (degrees: declared by the file, "
                              f"or implied by lon/lat columns) but most are not degrees, e.g. x={b[k, 0]:.6g}, "
                              f"y={b[k, 1]:.6g}, which look like metres",
                              "pass the CRS the coordinates are really in, e.g. --crs EPSG:32749")
        for k in np.flatnonzero(wrong):
            i = idx[k]
            report.reject(rows[i], ids[i], f"coordinates x={b[k, 0]:.6g}, y={b[k, 1]:.6g} are not longitude/"
                          "latitude degrees", "correct the coordinates (a misplaced decimal point?)")
            bad[i] = True
    elif crs.is_projected and (degrees & finite).mean() > 0.5:
        raise FileProblem(f"the file declares {crs.to_string()} (metres) but its coordinates lie within "
                          "±180/±90 and look like degrees", "pass --crs EPSG:4326")
    return bad


def _coerce_types(geoms, todo, rule: GeomRule, report, rows, ids):
    bad = np.zeros(len(geoms), dtype=bool)
    types = shapely.get_type_id(geoms)
    names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
                      "MultiPolygon", "GeometryCollection"])
    family_of_type = np.array(["point", "line", "other", "polygon", "point", "line", "polygon", "other",
                               "none"])
    fam = family_of_type[np.where(types >= 0, types, 8)]
    wanted = {"point_or_polygon": {"point", "polygon"}}.get(rule.family, {rule.family})
    if rule.polygons_to_points:
        convert = todo & (fam == "polygon")
        if convert.any():
            geoms[convert] = shapely.point_on_surface(geoms[convert])
            report.notes.append(f"{int(convert.sum())} polygons (building footprints) converted to a "
                                "point on their surface")
            fam[convert] = "point"
    single_multi = todo & (types == 4) & (shapely.get_num_geometries(geoms) == 1)
    if single_multi.any():
        geoms[single_multi] = shapely.get_geometry(geoms[single_multi], 0)
    for i in np.flatnonzero(todo & ~np.isin(fam, list(wanted))):
        got = names[types[i]] if types[i] >= 0 else "nothing"
        report.reject(rows[i], ids[i], f"geometry is a {got}; this layer takes {' or '.join(sorted(wanted))}"
                      " geometries", "split mixed geometry types into separate files")
        bad[i] = True
    if rule.family == "polygon":
        poly = todo & ~bad & (types == 3)
        geoms[poly] = shapely.multipolygons(geoms[poly].reshape(-1, 1)) if poly.any() else geoms[poly]
    multi = todo & ~bad & (types == 4) & (shapely.get_num_geometries(geoms) > 1)
    for i in np.flatnonzero(multi):
        report.reject(rows[i], ids[i], "a MultiPoint with several points where one point is expected",
                      "split it into one record per point")
        bad[i] = True
    return geoms, bad


def _repair(geoms, todo, rule: GeomRule, report, rows, ids):
    bad = np.zeros(len(geoms), dtype=bool)
    invalid = todo & ~shapely.is_valid(geoms)
    for i in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(geoms[i])
        keep, refusal = safe_repair(geoms[i])
        if keep is None:
            report.reject(rows[i], ids[i], f"invalid geometry ({reason}) that cannot be repaired "
                          f"safely: {refusal}", "fix the geometry in QGIS (Vector > Geometry Tools > "
                          "Check Validity, then edit the ring) and export again")
            bad[i] = True
            continue
        if rule.family == "polygon" and keep.geom_type == "Polygon":
            keep = shapely.MultiPolygon([keep])
        geoms[i] = keep
        record = None if ids[i] is None else str(ids[i])
        report.repaired.append(Problem(rows[i], record, f"{reason}; repaired with make_valid into a "
                                       f"{keep.geom_type} of {shapely.get_num_geometries(keep)} part(s)"))
    return geoms, bad


def safe_repair(geom) -> tuple[object | None, str]:
    """``make_valid`` when it is safe, else (None, what the repair would have changed).

    Polygons: the repair keeps the number of parts (new parts under ``SLIVER`` of the area are
    slivers and are dropped) and the area as drawn (GEOS's area of an invalid polygon is each
    shell's |signed area| less its holes') within ``AREA_TOLERANCE``. A ring that crosses itself
    (a bow-tie) or a hole outside its shell fails one of the two: the drawn shape is ambiguous."""
    family = FAMILY.get(geom.geom_type, "")
    if geom.geom_type == "MultiPolygon" and shapely.get_num_geometries(geom) > 1:
        parts = []  # each drawn part is repaired on its own: a small island is not a sliver
        for number, part in enumerate(shapely.get_parts(geom), start=1):
            fixed_part, why = safe_repair(part) if not part.is_valid else (part, "")
            if fixed_part is None:
                return None, f"part {number}: {why}"
            parts.extend(shapely.get_parts(fixed_part))
        joined = shapely.MultiPolygon(parts)
        if joined.is_valid:
            return joined, ""
    fixed = _keep_family(shapely.make_valid(geom), family)
    if fixed is None or fixed.is_empty or not fixed.is_valid:
        return None, f"make_valid leaves no {family or 'usable'} geometry"
    if family != "polygon":
        return fixed, ""
    drawn = float(shapely.area(geom))
    parts = [p for p in shapely.get_parts(fixed)]
    total = sum(p.area for p in parts)
    kept = [p for p in parts if p.area >= SLIVER * total]
    drawn_parts = int(shapely.get_num_geometries(geom))
    if len(kept) != drawn_parts:
        return None, (f"the repair makes {len(kept)} polygon part(s) of a shape drawn as "
                      f"{drawn_parts} (a ring crossing itself, or a hole outside its shell)")
    repaired = kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)
    if drawn <= 0 or abs(repaired.area - drawn) > AREA_TOLERANCE * drawn:
        change = "the drawn area is zero" if drawn <= 0 else \
            f"the area changes by {100 * (repaired.area - drawn) / drawn:+.2f} %"
        return None, f"{change} (at most {100 * AREA_TOLERANCE:g} % is allowed)"
    return repaired, ""


def _keep_family(geom, family: str):
    """Keep the parts of a repaired geometry that have the original's dimension."""
    dim = {"point": 0, "line": 1, "polygon": 2}.get(family)
    if dim is None:
        return None
    parts = [p for p in shapely.get_parts(geom) if shapely.get_dimensions(p) == dim and not p.is_empty]
    if not parts:
        return None
    if dim == 2:
        polys = [q for p in parts for q in shapely.get_parts(p)]
        return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
    if dim == 1:
        merged = shapely.line_merge(shapely.MultiLineString(
            [q for p in parts for q in shapely.get_parts(p)]))
        return merged
    return parts[0]


def _check_region(geoms, todo, region: Region, report, rows, ids) -> np.ndarray:
    bad = np.zeros(len(geoms), dtype=bool)
    idx = np.flatnonzero(todo)
    if not len(idx):
        return bad
    b = shapely.bounds(geoms[idx])
    x, y = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    inside = region.contains(x, y)
    swapped = ~inside & region.contains(y, x)
    for k in np.flatnonzero(~inside):
        i = idx[k]
        if swapped[k]:
            report.reject(rows[i], ids[i], f"latitude and longitude look swapped (lon {x[k]:.4f}, "
                          f"lat {y[k]:.4f} lies outside {region.name}, but swapped it lies inside)",
                          "re-export with longitude first, or pass --swap-xy")
        else:
            report.reject(rows[i], ids[i], f"location lon {x[k]:.4f}, lat {y[k]:.4f} lies outside "
                          f"{region.name} (bbox {region.bbox})", "check the coordinates and the CRS, or "
                          "pass --no-region-check for data from another region")
        bad[i] = True
    return bad
