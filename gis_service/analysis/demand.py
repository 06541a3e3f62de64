"""Demand for a coverage run: who needs a service, as household units with a location.

Four ways to represent demand (recorded with the run):

- ``households``: the surveyed or mapped household points, each with its rung (given, or derived
  from toilet type and disposal by :mod:`rungs`).
- ``settlements``: each settlement's households (or population / household size) at the
  settlement's point (a polygon's point on surface).
- ``villages``: each village's total from ``admin_population`` (latest year, or ``year``) spread
  onto its settlements in proportion to their population (equally when unknown), or placed at the
  village's point on surface when it has no settlement.
- ``raster``: a population raster (GeoTIFF, e.g. WorldPop people per cell) read with rasterio over
  the region's bbox; every populated cell centre inside a stored village is a demand point.

Modelled demand points are expanded into whole household units at the point, rounded with running
sums per village so village totals keep their value. Their rungs follow the surveyed households of
the same village in proportion (an EHRA sample of ~40 households per village, docs/domain.md §6);
with no survey in the village they are 'unknown'. Allocation then works on household units exactly
as for surveyed households; results per demand point go to ``coverage_demand_point``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg.sql
import shapely
from pyproj import CRS, Transformer
from sqlalchemy import Connection, text

from gis_service.analysis.parameters import value
from gis_service.analysis.rungs import classify, village_is_urban
from gis_service.db.bulk import read_query

MODES = ("households", "settlements", "villages", "raster")


@dataclass
class Demand:
    """Household units (``households``) and, for modelled demand, the points they stand on."""

    households: pd.DataFrame
    """id (household id, or -1 for a modelled unit), point (-1 for a surveyed household),
    village_code, rung, has_septic_tank, people, x, y (metric CRS)."""
    points: pd.DataFrame | None
    """origin, origin_ref, village_code, households, people, x, y; None for household demand."""
    description: str
    notes: list[str]
    source_people: float = 0.0  # people of the source points before rounding (an area's, added up by the driver)


def load_demand(conn: Connection, mode: str, *, to_metric: Transformer, metric_crs: str, params: dict,
                raster: Path | None = None, year: int | None = None, bbox: tuple | None = None,
                as_of: date | None = None) -> Demand:
    """Demand of the chosen ``mode`` (see the module docstring)."""
    if mode not in MODES:
        raise ValueError(f"unknown demand '{mode}' (one of {', '.join(MODES)})")
    surveyed = _households(conn, to_metric, params, as_of or date.today())
    if mode == "households":
        return Demand(surveyed, None, "household points", [])
    notes: list[str] = []
    if mode == "settlements":
        points = _settlement_points(conn, to_metric, params)
        description = "settlement population"
    elif mode == "villages":
        points, description = _village_points(conn, to_metric, params, year, notes)
    else:
        if raster is None:
            raise ValueError("demand 'raster' needs a GeoTIFF: pass --raster FILE.tif")
        points = _raster_points(conn, Path(raster), metric_crs, bbox, notes)
        description = f"population raster {Path(raster).name}"
    if points.empty:
        raise ValueError(f"no demand: the {mode} source has no populated points "
                         f"({'import settlements first' if mode != 'raster' else 'check the raster'})")
    points, units = _expand(points, surveyed, unit_size(surveyed, value(params, "household_size")))
    return Demand(units, points, description, notes)


def unit_size(surveyed: pd.DataFrame, household_size: float) -> float:
    """People per household unit where a source counts people only (a raster): the surveyed
    households' mean size, else the ``household_size`` parameter."""
    return float(surveyed["people"].mean()) if len(surveyed) else household_size


def region_demand(conn: Connection, mode: str, params: dict, *, raster: Path | None = None,
                  year: int | None = None, bbox: tuple | None = None) -> tuple[str, list[str], float]:
    """For a run in partitions (``area_demand`` per area): what ``load_demand`` says of the whole
    region's modelled demand without reading its points - the description, the notes that need
    no points (a raster's cells outside every village are counted apart, ``raster_totals``), and
    the people per unit of a raster (``unit_size`` of every household, read as a mean)."""
    if mode not in MODES or mode == "households":
        raise ValueError(f"'{mode}' is not a modelled demand (settlements, villages, raster)")
    if mode == "settlements":
        return "settlement population", [], 0.0
    if mode == "villages":
        totals = _village_totals(conn, params, year)
        placed = set(conn.execute(text(
            "SELECT village_code FROM settlement WHERE village_code IS NOT NULL UNION "
            "SELECT code FROM admin_area WHERE level = 'village' AND geom IS NOT NULL")).scalars())
        return _village_description(totals), _unplaced_note(sorted(set(totals["village_code"]) - placed)), 0.0
    if raster is None:
        raise ValueError("demand 'raster' needs a GeoTIFF: pass --raster FILE.tif")
    _region_window(Path(raster), bbox)  # a raster with a CRS over the region, before any worker starts
    n, known, total = conn.execute(text("SELECT count(*), count(members), COALESCE(sum(members), 0) "
                                        "FROM household")).one()
    household_size = value(params, "household_size")
    size = float(int(total) + (n - known) * int(np.round(household_size))) / n if n else household_size
    return f"population raster {Path(raster).name}", [], size


def area_demand(conn: Connection, mode: str, *, area: str, to_metric: Transformer, metric_crs: str,
                params: dict, size: float, raster: Path | None = None, year: int | None = None,
                bbox: tuple | None = None, as_of: date | None = None) -> Demand:
    """The modelled demand of one admin area (code prefix, or ``UNASSIGNED_AREA``) exactly as a
    whole-region run makes it (``load_demand``), for a run in partitions. Everything that turns
    points into household units is per village (the order, the rounding, the survey shares), so
    an area's villages come out alone as they do in the whole region; ``size`` is the region's
    ``unit_size`` (``region_demand``). A raster is read only around the area's villages: rows and
    columns and cell centres are those of the region's window, and a cell goes to the village a
    whole-region run gives it (the lowest code among those holding it, any area's). Points keep
    their order within the area; their numbers are the area's."""
    surveyed = _households(conn, to_metric, params, as_of or date.today(), area)
    if mode == "settlements":
        points = _settlement_points(conn, to_metric, params, area)
    elif mode == "villages":
        points = _village_points(conn, to_metric, params, year, [], area)[0]
    else:
        points = _raster_area_points(conn, Path(raster), area, metric_crs, bbox)
    source_people = float(points["people"].sum())
    points, units = _expand(points, surveyed, size)
    return Demand(units, points, "", [], source_people)


def _raster_area_points(conn: Connection, path: Path, area: str, metric_crs: str, bbox: tuple | None) -> pd.DataFrame:
    within = conn.execute(text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e FROM admin_area "
        f"WHERE level = 'village' AND {_area_condition(conn, area, 'code')}) q")).one()
    if within[0] is None:
        return _raster_frame([], [], [], [], [], [])
    points = _raster_points(conn, path, metric_crs, bbox, [], within=tuple(within))
    return points[points["village_code"].str.startswith(area + ".")].reset_index(drop=True)


def raster_totals(path: Path, bbox: tuple, cells_per_read: int = 1 << 24) -> tuple[int, float]:
    """Populated cells and their people in the region's window of a raster, read a band of rows
    at a time (about ``cells_per_read`` cells, 64 MB of float32: memory bounded at national size):
    what the areas' cells leave over lies outside every village, as ``load_demand`` notes it."""
    import rasterio
    from rasterio.windows import Window

    window = _region_window(Path(path), bbox)
    rows_per_read = max(1, cells_per_read // max(int(window.width), 1))
    cells, people = 0, 0.0
    with rasterio.open(path) as src:
        for row in range(0, int(window.height), rows_per_read):
            band = Window(window.col_off, window.row_off + row, window.width, min(rows_per_read, window.height - row))
            data = src.read(1, window=band, masked=True).filled(0)
            cells += int((data > 0).sum())
            people += float(data[data > 0].astype(float).sum())
    return cells, people


def outside_note(cells: int, people: float) -> list[str]:
    """The note ``load_demand`` leaves on populated cells outside every stored village."""
    if cells <= 0:
        return []
    return [f"{cells} populated cells ({people:,.0f} people) lie outside every stored village: left out"]


def _households(conn: Connection, to_metric: Transformer, params: dict, as_of: date,
                area: str | None = None) -> pd.DataFrame:
    """Household points with their rung (surveyed, else derived from the toilet facts) and whether
    a septic tank is present. Only households without a surveyed rung read the facts (a second,
    usually small query), which keeps the read of a million households to the columns every run
    needs. ``area``: only the households of one admin area (a code prefix; ``UNASSIGNED_AREA``:
    those outside every village), for a run in partitions."""
    where = _area_condition(conn, area)
    hh = read_query(conn,
                    "SELECT id, village_code, ladder_rung AS rung, CASE WHEN disposal IS NOT NULL "
                    "THEN disposal = 'septic_tank' ELSE has_septic_tank END AS has_septic_tank, members, "
                    f"ST_X(geom) AS lon, ST_Y(geom) AS lat FROM household h WHERE {where} ORDER BY id",
                    text_columns=("village_code", "rung"))
    hh["x"], hh["y"] = to_metric.transform(hh.pop("lon").to_numpy(), hh.pop("lat").to_numpy())
    hh["people"] = hh.pop("members").fillna(value(params, "household_size")).round().astype(int)
    hh["has_septic_tank"] = hh["has_septic_tank"].astype(object).where(hh["has_septic_tank"].notna(), None)
    hh["rung"] = hh["rung"].astype(object).where(hh["rung"].notna(), "unknown")
    facts = read_query(conn,
                       "SELECT h.id, h.toilet_type, h.disposal, h.has_septic_tank, h.shared_toilet, "
                       "h.last_desludged, a.urban_rural, a.village_kind FROM household h "
                       "LEFT JOIN admin_area a ON a.code = h.village_code "
                       f"WHERE h.ladder_rung IS NULL AND h.toilet_type IS NOT NULL AND {where} "
                       "ORDER BY h.id",
                       text_columns=("toilet_type", "disposal", "last_desludged", "urban_rural",
                                     "village_kind"))
    if len(facts):
        for column in ("has_septic_tank", "shared_toilet", "toilet_type", "disposal"):
            facts[column] = facts[column].astype(object).where(facts[column].notna(), None)
        facts["urban"] = village_is_urban(facts.pop("urban_rural"), facts.pop("village_kind"))
        facts["rung"] = "unknown"
        rung = hh["rung"].to_numpy(dtype=object, copy=True)
        rung[np.searchsorted(hh["id"].to_numpy(), facts["id"].to_numpy())] = classify(
            facts, as_of=as_of, aman_years=value(params, "aman_max_years_since_desludging"))
        hh["rung"] = rung
    hh["point"] = -1
    return hh[["id", "point", "village_code", "rung", "has_septic_tank", "people", "x", "y"]]


UNASSIGNED_AREA = ""
"""The area of households outside every village (no village code)."""


def household_units(conn: Connection, to_metric: Transformer, params: dict, *, area: str,
                    as_of: date | None = None) -> pd.DataFrame:
    """The household demand of one admin area (code prefix, or ``UNASSIGNED_AREA``), exactly as a
    whole-region run reads it (``load_demand(mode='households')``), for a run in partitions."""
    return _households(conn, to_metric, params, as_of or date.today(), area)


def _area_condition(conn: Connection, area: str | None, column: str = "h.village_code") -> str:
    """Condition on a village code ``column`` for an area code prefix, as a range the index
    serves."""
    if area is None:
        return "TRUE"
    if area == UNASSIGNED_AREA:
        return f"{column} IS NULL"
    low, high = (psycopg.sql.Literal(v).as_string(conn.connection.driver_connection)
                 for v in (area + ".", area + "/"))  # '/' follows '.': every code under the area
    return f"{column} >= {low} AND {column} < {high}"


def _settlement_points(conn: Connection, to_metric: Transformer, params: dict,
                       area: str | None = None) -> pd.DataFrame:
    size = value(params, "household_size")
    rows = pd.read_sql(text(
        "SELECT id, village_code, population, households, ST_X(ST_PointOnSurface(geom)) AS lon, "
        f"ST_Y(ST_PointOnSurface(geom)) AS lat FROM settlement s WHERE {_area_condition(conn, area, 's.village_code')} "
        "ORDER BY id"), conn)
    households = rows["households"].astype(float).fillna(rows["population"].astype(float) / size)
    people = rows["population"].astype(float).fillna(households * size)
    x, y = to_metric.transform(rows["lon"].to_numpy(), rows["lat"].to_numpy())
    points = pd.DataFrame({"origin": "settlement", "origin_ref": rows["id"].astype(str),
                           "village_code": rows["village_code"].astype(object), "households": households,
                           "people": people, "x": x, "y": y})
    return points[points["households"] > 0].reset_index(drop=True)


def _village_points(conn: Connection, to_metric: Transformer, params: dict, year: int | None,
                    notes: list[str], area: str | None = None) -> tuple[pd.DataFrame, str]:
    size = value(params, "household_size")
    totals = _village_totals(conn, params, year, area)
    anchors = pd.read_sql(text(
        "SELECT s.village_code, CAST(s.id AS text) AS origin_ref, "
        "COALESCE(s.population, s.households * :size, 1) AS weight, "
        "ST_X(ST_PointOnSurface(s.geom)) AS lon, ST_Y(ST_PointOnSurface(s.geom)) AS lat "
        f"FROM settlement s WHERE s.village_code IS NOT NULL AND {_area_condition(conn, area, 's.village_code')} "
        "UNION ALL SELECT a.code, a.code, 1, ST_X(ST_PointOnSurface(a.geom)), ST_Y(ST_PointOnSurface(a.geom)) "
        "FROM admin_area a WHERE a.level = 'village' AND a.geom IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM settlement s WHERE s.village_code = a.code) AND {_area_condition(conn, area, 'a.code')} "
        "ORDER BY 1, 2"), conn, params={"size": size})
    points = anchors.merge(totals, on="village_code", how="inner")
    share = points["weight"] / points.groupby("village_code")["weight"].transform("sum")
    x, y = to_metric.transform(points["lon"].to_numpy(), points["lat"].to_numpy())
    notes.extend(_unplaced_note(sorted(set(totals["village_code"]) - set(anchors["village_code"]))))
    out = pd.DataFrame({"origin": np.where(points["origin_ref"] == points["village_code"], "village",
                                           "settlement"),
                        "origin_ref": points["origin_ref"], "village_code": points["village_code"],
                        "households": points["households"] * share, "people": points["population"] * share,
                        "x": x, "y": y})
    return out, _village_description(totals)


def _village_totals(conn: Connection, params: dict, year: int | None, area: str | None = None) -> pd.DataFrame:
    """Each village's latest (or ``year``'s) population and households, one filled from the other."""
    size = value(params, "household_size")
    totals = pd.read_sql(text(
        "SELECT DISTINCT ON (p.admin_code) p.admin_code AS village_code, p.year, p.population, p.households "
        "FROM admin_population p JOIN admin_area a ON a.code = p.admin_code AND a.level = 'village' "
        f"WHERE (CAST(:y AS integer) IS NULL OR p.year = :y) AND {_area_condition(conn, area, 'p.admin_code')} "
        "ORDER BY p.admin_code, p.year DESC, p.source"), conn, params={"y": year})
    if totals.empty and area is None:
        raise ValueError("no village population" + (f" for {year}" if year else "") +
                         ": import it first (gis-service import population FILE --year YEAR)")
    totals["households"] = totals["households"].astype(float).fillna(totals["population"].astype(float) / size)
    totals["population"] = totals["population"].astype(float).fillna(totals["households"] * size)
    return totals


def _village_description(totals: pd.DataFrame) -> str:
    years = sorted(totals["year"].unique())
    return f"village population {', '.join(map(str, years))} spread onto settlements"


def _unplaced_note(missing: list[str]) -> list[str]:
    if not missing:
        return []
    return [f"{len(missing)} villages have a population but no settlement or boundary to place it on, "
            f"e.g. {missing[0]}: left out"]


def _raster_points(conn: Connection, path: Path, metric_crs: str, bbox: tuple | None,
                   notes: list[str], within: tuple | None = None) -> pd.DataFrame:
    """Populated cell centres inside the stored villages, people per cell (metric CRS).
    ``within``: only the cells of the region's window around this lon/lat box (one cell more on
    every side), numbered and placed as in the whole window."""
    import rasterio
    from rasterio.windows import Window, from_bounds

    window = _region_window(path, bbox)
    with rasterio.open(path) as src:
        transform = src.window_transform(window)
        read = window
        if within is not None:
            to_raster = Transformer.from_crs("EPSG:4326", src.crs, always_xy=True)
            around = from_bounds(*to_raster.transform_bounds(*within), src.transform)
            col0, row0 = int(np.floor(around.col_off)) - 1, int(np.floor(around.row_off)) - 1
            col1 = int(np.ceil(around.col_off + around.width)) + 1
            row1 = int(np.ceil(around.row_off + around.height)) + 1
            try:
                read = Window(col0, row0, col1 - col0, row1 - row0).intersection(window)
            except rasterio.errors.WindowError:
                return _raster_frame([], [], [], [], [], [])
        data = src.read(1, window=read, masked=True)
        rows, cols = np.nonzero(data.filled(0) > 0)
        people = np.asarray(data[rows, cols], dtype=float)
        rows = rows + int(read.row_off - window.row_off)  # the region window's rows and columns
        cols = cols + int(read.col_off - window.col_off)
        xs, ys = rasterio.transform.xy(transform, rows, cols, offset="center")
        x, y = Transformer.from_crs(src.crs, CRS.from_user_input(metric_crs), always_xy=True).transform(
            np.asarray(xs, float), np.asarray(ys, float))
    village = _villages_of(conn, np.column_stack([x, y]), metric_crs,
                           within=None if within is None or not len(x) else
                           Transformer.from_crs(metric_crs, "EPSG:4326", always_xy=True).transform_bounds(
                               x.min(), y.min(), x.max(), y.max(), densify_pts=21))
    inside = ~pd.isna(village)
    notes.extend(outside_note(int((~inside).sum()), float(people[~inside].sum())))
    return _raster_frame(rows[inside], cols[inside], village[inside], people[inside], x[inside], y[inside])


def _region_window(path: Path, bbox: tuple | None):
    """The raster's window over the region's lon/lat bbox (whole cells), checked."""
    import rasterio
    from rasterio.windows import Window, from_bounds

    if not path.exists():
        raise ValueError(f"{path}: no such raster file")
    with rasterio.open(path) as src:
        if src.crs is None:
            raise ValueError(f"{path.name}: the raster has no CRS; set one (gdal_edit.py -a_srs EPSG:4326)")
        whole = Window(0, 0, src.width, src.height)
        if bbox is None:
            return whole
        to_raster = Transformer.from_crs("EPSG:4326", src.crs, always_xy=True)
        region = from_bounds(*to_raster.transform_bounds(*bbox), src.transform).round_offsets().round_lengths()
        try:
            return region.intersection(whole)
        except rasterio.errors.WindowError:
            raise ValueError(f"{path.name}: the raster does not overlap the region") from None


def _raster_frame(rows, cols, village, people, x, y) -> pd.DataFrame:
    return pd.DataFrame({"origin": "raster", "origin_ref": [f"{r},{c}" for r, c in zip(rows, cols)],
                         "village_code": pd.Series(village, dtype=object), "households": np.nan,
                         "people": np.asarray(people, float), "x": np.asarray(x, float), "y": np.asarray(y, float)})


def _villages_of(conn: Connection, xy: np.ndarray, metric_crs: str, within: tuple | None = None) -> np.ndarray:
    """Village code of each metric point by point-in-polygon (None outside every village).
    ``within``: a lon/lat box holding every point (only the villages touching it are read)."""
    import geopandas as gpd

    box = "" if within is None else " AND geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)"
    pad = 1e-3  # degrees (~110 m): more than a projected box edge bends between its sampled points
    bounds = {} if within is None else dict(zip(("x0", "y0", "x1", "y1"), (within[0] - pad, within[1] - pad,
                                                                            within[2] + pad, within[3] + pad)))
    villages = gpd.read_postgis(text("SELECT code, geom FROM admin_area WHERE level = 'village' "
                                     f"AND geom IS NOT NULL{box} ORDER BY code"), conn, geom_col="geom",
                                params=bounds)
    out = np.full(len(xy), None, dtype=object)
    if villages.empty or not len(xy):
        return out
    polygons = villages.to_crs(metric_crs).geometry.to_numpy()
    poly, point = shapely.STRtree(shapely.points(xy)).query(polygons, predicate="intersects")
    out[point[::-1]] = villages["code"].to_numpy()[poly[::-1]]  # first village wins on shared edges
    return out


def _expand(points: pd.DataFrame, surveyed: pd.DataFrame, size: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(points with whole households and people, one row per household unit), the units carrying
    rungs in their village's surveyed shares. Points counting people only (raster cells) become
    households of ``size`` people. Everything is rounded per village, so an area's villages
    expand alone as they do in the whole region."""
    points = points.sort_values(["village_code", "origin_ref"], kind="stable").reset_index(drop=True)
    if points["households"].isna().any():  # raster cells carry people only
        points["households"] = points["households"].fillna(points["people"] / size)
    group = points["village_code"].fillna("").to_numpy(dtype=object)
    units = _rounded(points["households"].to_numpy(float), group)
    people_each = np.maximum(_rounded(points["people"].to_numpy(float), group), units)
    points["households"], points["people"] = units, people_each
    point = np.repeat(np.arange(len(points)), units)
    # people of a point shared over its units (whole persons, the first units take the remainder)
    offset = np.arange(len(point)) - np.repeat(np.cumsum(units) - units, units)
    people = np.repeat(people_each // np.maximum(units, 1), units) + \
        (offset < np.repeat(people_each % np.maximum(units, 1), units))
    frame = pd.DataFrame({"id": -1, "point": point, "village_code": points["village_code"].to_numpy()[point],
                          "people": people.astype(int), "x": points["x"].to_numpy()[point],
                          "y": points["y"].to_numpy()[point]})
    frame["rung"], frame["has_septic_tank"] = _survey_shares(frame["village_code"].to_numpy(dtype=object),
                                                             surveyed)
    return points, frame[["id", "point", "village_code", "rung", "has_septic_tank", "people", "x", "y"]]


def _rounded(amount: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Whole numbers per row whose running sum per group stays within 0.5 of the exact running
    sum, so group totals are the rounded exact totals. Rows of a group must be contiguous."""
    cum = np.cumsum(amount)
    start = np.ones(len(group), bool)
    start[1:] = group[1:] != group[:-1]
    base = np.repeat(cum[start] - amount[start], np.diff(np.append(np.flatnonzero(start), len(group))))
    whole = np.round(cum - base).astype(np.int64)
    out = np.diff(np.concatenate([[0], whole]))
    out[start] = whole[start]
    return out


def _survey_shares(village: np.ndarray, surveyed: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Rung and septic tank per unit: each village's units take the combinations of its surveyed
    households in proportion (largest remainders), in a fixed order; 'unknown' without a survey."""
    rung = np.full(len(village), "unknown", dtype=object)
    tank = np.full(len(village), None, dtype=object)
    known = surveyed[surveyed["rung"] != "unknown"]
    if known.empty or not len(village):
        return rung, tank
    combos = known.assign(tank=known["has_septic_tank"].map({True: "t", False: "f"}).fillna("")).groupby(
        ["village_code", "rung", "tank"]).size().rename("n").reset_index()
    codes, units = np.unique(village.astype(str), return_inverse=True)
    order = np.argsort(units, kind="stable")
    ends = np.cumsum(np.bincount(units, minlength=len(codes)))
    for code, mine in combos.groupby("village_code", sort=True):
        k = np.searchsorted(codes, code)
        if k == len(codes) or codes[k] != code:
            continue
        idx = order[(ends[k - 1] if k else 0): ends[k]]
        counts = _rounded(mine["n"].to_numpy(float) / mine["n"].sum() * len(idx), np.zeros(len(mine)))
        rung[idx] = np.repeat(mine["rung"].to_numpy(dtype=object), counts)
        tank[idx] = np.repeat(mine["tank"].map({"t": True, "f": False, "": None}).to_numpy(dtype=object), counts)
    return rung, tank
