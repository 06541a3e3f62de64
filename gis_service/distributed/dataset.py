"""A region as GeoParquet, partitioned by administrative unit: the input of a coverage run on a
cluster. Every worker reads only its partition's households and the network around it.

Layout of a dataset folder::

    dataset.json                      metric CRS, region, partition level, partitions
    households/<area code>.parquet    one file per admin unit (GeoParquet points, EPSG:4326,
                                      with x, y in the metric CRS)
    points/<area code>.parquet        modelled demand (settlements, village totals, a raster):
                                      the unit's demand points, its household units stand on
    facilities.parquet                the run's facilities (GeoParquet points)
    edges.parquet                     the network, sorted in space, with a bbox covering column
                                      by which readers skip row groups (GeoParquet 1.1)

A dataset is written from PostGIS (``stage_households``, or ``stage_demand`` for modelled demand,
per partition on the workers; facilities and edges by the driver), or is a folder of building
footprints (``buildings/<code>.parquet`` with ``villages.parquet``, e.g. from
``gis_service.distributed.generate``) whose households each worker makes for its unit
(``building_units``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import shapely
from pyproj import Transformer
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from gis_service.analysis.demand import UNASSIGNED_AREA, area_demand, household_units
from gis_service.analysis.parameters import value
from gis_service.distributed import geoparquet
from gis_service.distributed.village_lookup import villages_of
from gis_service.ingest.geometry import safe_repair

FORMAT = "gis-service-dataset/1"
LEVELS = {"province": 1, "regency": 2, "district": 3}
"""Partition levels: how many segments of the Kemendagri code (62 / 62.07 / 62.07.01) name a unit."""
HOUSEHOLD_COLUMNS = ["id", "village_code", "rung", "has_septic_tank", "people", "x", "y"]
UNIT_ID_BITS = 40
"""Modelled household units have no id of their own: a unit's are ``partition index << 40`` plus
their place in it, so ids sort as a whole-region run orders the units (partitions go by code)."""
EDGE_ROW_GROUP = 20_000


@dataclass
class Partition:
    """One administrative unit's households: its code ('' = outside every village), how many, and
    the bounding box of their metric coordinates (None before staging or when empty)."""

    code: str
    households: int
    bbox: list[float] | None = None

    @property
    def name(self) -> str:
        return self.code or "unassigned"


@dataclass
class Dataset:
    root: Path
    metric_crs: str
    region_code: str
    level: str
    partitions: list[Partition] = field(default_factory=list)
    source: str = "postgis"  # postgis (staged households) or buildings (footprints, villages.parquet)
    illustrative: bool = False  # generated data: runs on it say so
    demand: str = "households"  # what its units are: household points, or modelled (raster, ...)
    households_dir: Path | None = None  # where staged households go (default: root/households)

    def households_path(self, partition: Partition) -> Path:
        return (self.households_dir or self.root / "households") / f"{partition.name}.parquet"

    def points_path(self, partition: Partition) -> Path:
        return self.root / "points" / f"{partition.name}.parquet"

    def buildings_path(self, partition: Partition) -> Path:
        return self.root / "buildings" / f"{partition.name}.parquet"

    @property
    def villages_path(self) -> Path:
        return self.root / "villages.parquet"

    @property
    def facilities_path(self) -> Path:
        return self.root / "facilities.parquet"

    @property
    def edges_path(self) -> Path:
        return self.root / "edges.parquet"

    def save(self) -> None:
        body = {"format": FORMAT, **{k: v for k, v in asdict(self).items() if k not in ("root", "households_dir")}}
        tmp = self.root / ".dataset.json.tmp"
        tmp.write_text(json.dumps(body, indent=1), encoding="utf-8")
        tmp.replace(self.root / "dataset.json")

    @classmethod
    def load(cls, root: Path) -> Dataset:
        path = Path(root) / "dataset.json"
        if not path.exists():
            raise FileNotFoundError(f"{root} is not a dataset folder (no dataset.json): make one with "
                                    "`gis-service demo national`, or keep a run's with --keep-work "
                                    "(its dataset/ folder)")
        body = json.loads(path.read_text(encoding="utf-8"))
        if body.pop("format", None) != FORMAT:
            raise ValueError(f"{path}: not a {FORMAT} dataset")
        body["partitions"] = [Partition(**p) for p in body["partitions"]]
        return cls(root=Path(root), **body)


def partition_level(region_code: str) -> str:
    """The unit one level below the region: a regency runs by district, a province by regency,
    the nation (code '') by province... and by regency, which keeps partitions at a size a
    worker holds comfortably (a regency has ~1.2 M people on average)."""
    depth = len([s for s in region_code.split(".") if s])
    return "district" if depth >= 2 else "regency"


def area_of(village_code: str | None, level: str) -> str:
    """The partition code of a village code at ``level`` ('' for no village)."""
    if not village_code:
        return UNASSIGNED_AREA
    return ".".join(village_code.split(".")[:LEVELS[level]])


def count_partitions(conn: Connection, level: str) -> list[Partition]:
    """Households per admin unit at ``level`` (one indexed scan of household.village_code); every
    household of the database, as a whole-region run reads them."""
    rows = conn.execute(text(
        "SELECT array_to_string((string_to_array(village_code, '.'))[1:CAST(:n AS int)], '.') AS code, "
        "count(*) AS n FROM household GROUP BY 1 ORDER BY 1"), {"n": LEVELS[level]}).all()
    return [Partition(code or UNASSIGNED_AREA, int(n)) for code, n in rows]  # all, as one process counts


def count_areas(conn: Connection, level: str, mode: str) -> list[Partition]:
    """Admin units at ``level`` for modelled demand (settlements, villages, raster): those with
    villages (a raster: mapped villages; settlements: with settlements, and '' last for those
    outside every village, as one process orders their points). Until staging counts their
    household units, ``households`` holds how many villages or settlements they have."""
    source = {"settlements": "SELECT village_code AS code FROM settlement",
              "villages": "SELECT code FROM admin_area WHERE level = 'village'",
              "raster": "SELECT code FROM admin_area WHERE level = 'village' AND geom IS NOT NULL"}[mode]
    rows = conn.execute(text(
        "SELECT array_to_string((string_to_array(code, '.'))[1:CAST(:n AS int)], '.') AS unit, count(*) "
        f"FROM ({source}) q GROUP BY 1 ORDER BY 1 NULLS LAST"), {"n": LEVELS[level]}).all()
    return [Partition(code or UNASSIGNED_AREA, int(n)) for code, n in rows]


def stage_demand(database_url: str, mode: str, area: str, rank: int, paths: tuple[Path, Path], metric_crs: str,
                 params: dict, size: float, source: dict) -> Partition:
    """Write one admin unit's modelled demand (a worker's task): its demand points to
    ``paths[1]`` (with the count and people of the source's points, which a raster's note on
    cells outside every village needs) and its household units to ``paths[0]``, made as a
    whole-region run makes them (``demand.area_demand``; ``source``: its raster, year, bbox);
    ``rank``: the partition's index (``UNIT_ID_BITS``)."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            to_metric = Transformer.from_crs("EPSG:4326", metric_crs, always_xy=True)
            demand = area_demand(conn, mode, area=area, to_metric=to_metric, metric_crs=metric_crs,
                                 params=params, size=size, **source)
    finally:
        engine.dispose()
    points = demand.points
    lon, lat = Transformer.from_crs(metric_crs, "EPSG:4326", always_xy=True).transform(
        points["x"].to_numpy(float), points["y"].to_numpy(float))
    table = pa.table({  # typed, so every unit's file has one schema (empty and all-NULL columns too)
        "origin": pa.array(points["origin"].to_numpy(dtype=object), pa.string()),
        "origin_ref": pa.array(points["origin_ref"].to_numpy(dtype=object), pa.string()),
        "village_code": pa.array(points["village_code"].to_numpy(dtype=object), pa.string(), from_pandas=True),
        "households": pa.array(points["households"].to_numpy(np.int64)),
        "people": pa.array(points["people"].to_numpy(np.int64)),
        "x": pa.array(points["x"].to_numpy(float)), "y": pa.array(points["y"].to_numpy(float))})
    geoparquet.write(table.append_column("geometry", geoparquet.points(lon, lat)), paths[1], encoding="point",
                     geometry_type="Point", extra={"source_points": len(points),
                                                   "source_people": demand.source_people})
    units = demand.households.assign(id=(rank << UNIT_ID_BITS) + np.arange(len(demand.households), dtype=np.int64))
    write_households(units, paths[0], metric_crs)
    return Partition(area, len(units), _bbox(units))


def stage_households(database_url: str, area: str, path: Path, metric_crs: str, params: dict) -> Partition:
    """Write one admin unit's household demand as GeoParquet (a worker's task: its own connection,
    read as the whole-region run reads it); returns the partition with its metric bbox."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            to_metric = Transformer.from_crs("EPSG:4326", metric_crs, always_xy=True)
            units = household_units(conn, to_metric, params, area=area)
    finally:
        engine.dispose()
    write_households(units, path, metric_crs)
    return Partition(area, len(units), _bbox(units))


FOOTPRINT_BATCH = 65_536
"""Footprints read and turned into centroids at a time: a batch's arrays stay in memory already
used and partly in cache (a regency of 500,000 in 15-30 % less time than in one piece)."""


def building_units(dataset: Dataset, partition: Partition, params: dict) -> pd.DataFrame:
    """One household per footprint at its centroid, in the village whose polygon holds it (no
    village outside every village), of ``household_size`` people; without a survey their rung
    is unknown."""
    path = dataset.buildings_path(partition)
    ids, lonlat, xy = _footprint_centroids(path, dataset.metric_crs)
    mine = pc.starts_with(pc.field("code"), partition.code + ".")  # this unit's villages only (row filter)
    villages, polygons = geoparquet.read_polygons(dataset.villages_path, ["code"], filters=mine)
    if polygons is None:  # another encoding: geopandas decodes it
        polygons = gpd.read_parquet(dataset.villages_path, columns=["code", "geometry"], filters=mine).geometry.to_numpy()
    polygons = _valid_villages(polygons, villages.column("code"), dataset.villages_path)
    found = villages_of(lonlat, polygons)
    if len(ids) > 1 and not (ids[1:] >= ids[:-1]).all():  # by id, as units are everywhere
        order = np.argsort(ids, kind="stable")
        lonlat, xy, found, ids = lonlat[order], xy[order], found[order], ids[order]
    if len(ids) > 1 and (ids[1:] == ids[:-1]).any():
        raise ValueError(f"{path}: footprint ids repeat (id {ids[1:][ids[1:] == ids[:-1]][0]}); "
                         "give every footprint its own id")
    n = len(ids)
    return pd.DataFrame({"id": ids, "village_code": _categories(found, villages.column("code").to_numpy(zero_copy_only=False)),
                         "rung": pd.Categorical.from_codes(np.zeros(n, np.int8), categories=["unknown"]),
                         "has_septic_tank": np.full(n, None, dtype=object),
                         "people": np.full(n, round(value(params, "household_size")), np.int64),
                         "x": xy[:, 0], "y": xy[:, 1], "lon": lonlat[:, 0], "lat": lonlat[:, 1]})


def _valid_villages(polygons: np.ndarray, codes: pa.ChunkedArray, path: Path) -> np.ndarray:
    """The villages with invalid outlines repaired as the importer repairs them
    (``ingest.geometry.safe_repair``: only when the repair keeps the parts and the area), since
    GEOS's point-in-polygon answers for an invalid outline depend on how it is asked. An outline
    that cannot be repaired safely stops the run, naming the village."""
    invalid = np.flatnonzero(~shapely.is_valid(polygons) & ~shapely.is_missing(polygons))
    if not len(invalid):
        return polygons
    polygons = polygons.copy()
    for i in invalid:
        fixed, why = safe_repair(polygons[i])
        if fixed is None:
            raise ValueError(f"{path}: village {codes[int(i)].as_py()} has an invalid outline that cannot be repaired safely "
                             f"({why}); correct it in the file (docs/import-rules.md, 'Geometry policy')")
        polygons[i] = fixed
    return polygons


def _footprint_centroids(path: Path, metric_crs: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Footprint ids, centroids in lon/lat and in the metric CRS, in the file's order: GeoArrow
    polygons by numpy sums and WKB by shapely, ``FOOTPRINT_BATCH`` at a time; other encodings
    (interleaved coordinates, multipolygons) decoded whole by geopandas."""
    file = pq.ParquetFile(path)
    n = file.metadata.num_rows
    ids, lonlat, xy = np.empty(n, np.int64), np.empty((n, 2)), np.empty((n, 2))
    to_metric = Transformer.from_crs("EPSG:4326", metric_crs, always_xy=True)
    kind = file.schema_arrow.field("geometry").type
    if pa.types.is_list(kind) and pa.types.is_list(kind.value_type) and pa.types.is_struct(kind.value_type.value_type):
        centroids = geoparquet.polygon_centroids
    elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):  # WKB, as most are published
        centroids = lambda column: shapely.get_coordinates(shapely.centroid(shapely.from_wkb(column.to_numpy(zero_copy_only=False))))  # noqa: E731
    else:
        frame = gpd.read_parquet(path, columns=["id", "geometry"])
        ids[:], lonlat[:] = frame["id"].to_numpy(), shapely.get_coordinates(shapely.centroid(frame.geometry.to_numpy()))
        xy[:, 0], xy[:, 1] = to_metric.transform(lonlat[:, 0], lonlat[:, 1])
        return ids, lonlat, xy
    at = 0
    for batch in file.iter_batches(batch_size=FOOTPRINT_BATCH, columns=["id", "geometry"]):
        end = at + batch.num_rows
        ids[at:end] = batch.column("id").to_numpy()
        lonlat[at:end] = centroids(batch.column("geometry"))
        xy[at:end, 0], xy[at:end, 1] = to_metric.transform(lonlat[at:end, 0], lonlat[at:end, 1])
        at = end
    return ids, lonlat, xy


def _categories(found: np.ndarray, codes: np.ndarray) -> pd.Categorical:
    """Village codes as a categorical (-1: none), sorted: a million strings are never made."""
    if not len(codes):  # no village of this unit in the file: every household outside them
        return pd.Categorical.from_codes(np.full(len(found), -1), categories=pd.Index([], dtype=object))
    if not pd.Index(codes).is_unique or pd.isna(codes).any():  # a village twice, or without a code: strings
        return pd.Categorical(np.where(found >= 0, codes[np.maximum(found, 0)], None))
    order = np.argsort(codes.astype(str), kind="stable")
    rank = np.empty(len(codes), np.int64)
    rank[order] = np.arange(len(codes))
    return pd.Categorical.from_codes(np.where(found >= 0, rank[np.maximum(found, 0)], -1), categories=codes[order])


def write_households(units: pd.DataFrame, path: Path, metric_crs: str) -> Path:
    """Household units (id, village_code, rung, has_septic_tank, people, x, y; and ``point``, the
    demand point of a modelled unit; ``lon``, ``lat`` when known, else from x, y) as GeoParquet."""
    if "lon" in units:  # made from footprints: their centroids' own lon/lat
        lon, lat = units["lon"].to_numpy(float), units["lat"].to_numpy(float)
    else:
        lon, lat = Transformer.from_crs(metric_crs, "EPSG:4326", always_xy=True).transform(
            units["x"].to_numpy(float), units["y"].to_numpy(float))
    septic = units["has_septic_tank"].to_numpy(dtype=object, copy=True)
    septic[pd.isna(septic)] = None
    table = pa.table({
        "id": pa.array(units["id"].to_numpy(np.int64)),
        "village_code": pa.array(units["village_code"].to_numpy(dtype=object), pa.string(), from_pandas=True),
        "rung": pa.array(units["rung"].to_numpy(dtype=object), pa.string()),
        "has_septic_tank": pa.array(pd.array(septic, dtype="boolean")),
        "people": pa.array(units["people"].to_numpy(np.int64)),
        "x": pa.array(units["x"].to_numpy(float)), "y": pa.array(units["y"].to_numpy(float)),
        "geometry": geoparquet.points(lon, lat)})
    if "point" in units and (units["point"].to_numpy() >= 0).any():  # modelled units: their demand point
        table = table.append_column("point", pa.array(units["point"].to_numpy(np.int64)))
    return geoparquet.write(table, path, encoding="point", geometry_type="Point",
                            extra={"metric_crs": metric_crs, "households": len(units), "bbox": _bbox(units)})


def staged_partition(code: str, path: Path) -> Partition:
    """The partition a households file holds (count and box from its metadata)."""
    meta = geoparquet.metadata(path)
    return Partition(code, int(meta["households"]), meta["bbox"])


def read_households(path: Path) -> pd.DataFrame:
    """A partition's household units as the coverage engine holds them (sorted by id)."""
    point = ["point"] if "point" in pq.read_schema(path).names else []
    frame = pq.read_table(path, columns=HOUSEHOLD_COLUMNS + point).to_pandas().sort_values("id", ignore_index=True)
    frame["has_septic_tank"] = frame["has_septic_tank"].astype(object).where(frame["has_septic_tank"].notna(), None)
    return frame


def write_facilities(fac: pd.DataFrame, path: Path, metric_crs: str) -> Path:
    """The run's facilities (coverage engine columns) as GeoParquet."""
    lon, lat = Transformer.from_crs(metric_crs, "EPSG:4326", always_xy=True).transform(
        fac["x"].to_numpy(float), fac["y"].to_numpy(float))
    plain = fac.drop(columns=["geometry"], errors="ignore").copy()
    plain["service_modes"] = [list(m) if m is not None and len(m) else None for m in plain["service_modes"]]
    table = pa.Table.from_pandas(plain, preserve_index=False).append_column("geometry", geoparquet.points(lon, lat))
    return geoparquet.write(table, path, encoding="point", geometry_type="Point", extra={"metric_crs": metric_crs})


def read_facilities(path: Path) -> pd.DataFrame:
    fac = pq.read_table(path).drop_columns(["geometry"]).to_pandas()
    fac["service_modes"] = [list(m) if m is not None else None for m in fac["service_modes"]]
    fac["capacity"] = fac["capacity"].astype(float).where(fac["capacity"].notna(), None)
    return fac


def write_edges(edges: gpd.GeoDataFrame, path: Path, metric_crs: str) -> Path:
    """Network edges (``network.load_edges`` columns, straight metric lines) as GeoParquet sorted
    along a grid of 10 km cells, in row groups a bbox filter can skip."""
    ends = shapely.get_coordinates(edges.geometry.to_numpy()).reshape(-1, 2, 2)
    x0, y0, x1, y1 = ends[:, 0, 0], ends[:, 0, 1], ends[:, 1, 0], ends[:, 1, 1]
    cell = np.floor(np.minimum(y0, y1) / 10_000) * 1e6 + np.floor(np.minimum(x0, x1) / 10_000)
    order = np.argsort(cell, kind="stable")
    to_lonlat = Transformer.from_crs(metric_crs, "EPSG:4326", always_xy=True)
    lon0, lat0 = to_lonlat.transform(x0[order], y0[order])
    lon1, lat1 = to_lonlat.transform(x1[order], y1[order])
    plain = pd.DataFrame(edges.drop(columns=edges.geometry.name)).iloc[order].reset_index(drop=True)
    table = pa.Table.from_pandas(plain, preserve_index=False)
    for name, values in (("x0", x0), ("y0", y0), ("x1", x1), ("y1", y1)):
        table = table.append_column(name, pa.array(values[order]))
    table = table.append_column("geometry", geoparquet.segments(lon0, lat0, lon1, lat1))
    table = table.append_column("bbox", geoparquet.bbox_column(np.minimum(lon0, lon1), np.minimum(lat0, lat1),
                                                               np.maximum(lon0, lon1), np.maximum(lat0, lat1)))
    return geoparquet.write(table, path, encoding="linestring", geometry_type="LineString",
                            row_group_size=EDGE_ROW_GROUP, extra={"metric_crs": metric_crs})


def read_edges(path: Path, bbox: list[float], metric_crs: str) -> gpd.GeoDataFrame:
    """The edges touching a metric bbox (row groups outside it are not read), ready for
    ``network.build_graph``."""
    lon0, lat0, lon1, lat1 = Transformer.from_crs(metric_crs, "EPSG:4326", always_xy=True).transform_bounds(
        *bbox, densify_pts=21)
    inside = ((pc.field("bbox", "xmax") >= lon0) & (pc.field("bbox", "xmin") <= lon1)
              & (pc.field("bbox", "ymax") >= lat0) & (pc.field("bbox", "ymin") <= lat1))
    table = pads.dataset(path).to_table(filter=inside, columns=[
        "id", "mode", "class", "speed_kmh", "oneway", "length_m", "x0", "y0", "x1", "y1"])
    frame = table.to_pandas().sort_values("id", ignore_index=True)  # the order a whole-region run reads:
    xy = frame[["x0", "y0", "x1", "y1"]].to_numpy(float).reshape(-1, 2, 2)  # nodes merge in it
    lines = shapely.linestrings(xy) if len(frame) else np.empty(0, dtype=object)
    frame = frame.drop(columns=["x0", "y0", "x1", "y1"])
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(lines, crs=metric_crs), crs=metric_crs)


def _bbox(units: pd.DataFrame) -> list[float] | None:
    if units.empty:
        return None
    x, y = units["x"].to_numpy(float), units["y"].to_numpy(float)
    return [float(x.min()), float(y.min()), float(x.max()), float(y.max())]

