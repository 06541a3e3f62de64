"""Where a cluster run reads its inputs (PostGIS or a dataset folder of GeoParquet) and writes its
results (the coverage tables of PostGIS, or GeoParquet files in a folder)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely
import yaml
from pyproj import Transformer
from sqlalchemy import Engine, text

from gis_service.analysis import coverage
from gis_service.analysis.demand import region_demand
from gis_service.analysis.parameters import (
    SERVICES,
    load_parameter_values,
)
from gis_service.db.bulk import copy_frame
from gis_service.distributed.dataset import (
    LEVELS,
    Dataset,
    count_areas,
    count_partitions,
    partition_level,
    read_facilities,
)
from gis_service.settings import Settings


@dataclass
class RunInputs:
    """What a run reads before the cluster starts: from PostGIS, or from a dataset folder."""

    dataset: Dataset
    facilities: pd.DataFrame
    params: dict
    targets: pd.DataFrame
    illustrative: bool
    scenario_id: int | None = None
    scenario_name: str = "existing and pilot facilities"
    description: str = "household points"  # the demand, as the run records it
    notes: list[str] = field(default_factory=list)  # the demand's notes known before staging
    unit_size: float = 0.0  # people per household unit of a raster (``demand.region_demand``)
    drawn: gpd.GeoDataFrame | None = None  # --method polygon: drawn service areas (metric CRS)


def inputs_from_postgis(engine: Engine, options: coverage.CoverageOptions, settings: Settings,
                  level: str | None) -> RunInputs:
    region = settings.region_config()
    level = level or partition_level(region.code)
    depth = len([p for p in region.code.split(".") if p])
    if LEVELS[level] <= depth:
        finer = [name for name, n in LEVELS.items() if n > depth]
        raise ValueError(f"the region {region.code} cannot be cut by {level}: use "
                         f"{' or '.join(finer) or 'no --level'}")
    with engine.connect() as conn:
        scenario_id, scenario_name, parameter_set_id, facility_ids = coverage._scenario(conn, options.scenario)
        params = load_parameter_values(conn, parameter_set_id=parameter_set_id, config_dir=settings.config_dir)
        to_metric = Transformer.from_crs("EPSG:4326", region.metric_crs, always_xy=True)
        facilities = coverage._facilities(conn, facility_ids, to_metric)
        modelled = options.demand != "households"
        partitions = count_areas(conn, level, options.demand) if modelled else count_partitions(conn, level)
        description, notes, size = region_demand(conn, options.demand, params, raster=options.raster,
                                                 year=options.population_year, bbox=tuple(region.bbox)) \
            if modelled else ("household points", [], 0.0)
        drawn = coverage._drawn_areas(conn, facilities["id"].to_list(), region.metric_crs) \
            if options.method == "polygon" else None
        illustrative = coverage.has_illustrative_data(conn)
        targets = pd.read_sql(text("SELECT id, indicator, year, value, scope_code FROM target "
                                   "ORDER BY year, indicator"), conn)
    dataset = Dataset(Path(), region.metric_crs, region.code, level, partitions)
    return RunInputs(dataset, facilities, params, targets, illustrative, scenario_id, scenario_name, description,
                   notes, size, drawn)


def inputs_from_dataset(root: Path, options: coverage.CoverageOptions, settings: Settings) -> RunInputs:
    """A dataset folder: its facilities, the default parameters and the targets of config/."""
    if options.scenario is not None:
        raise ValueError("--dataset runs the dataset's own facilities; a scenario lives in the database")
    dataset = Dataset.load(root)
    if dataset.demand != "households":
        raise ValueError(f"{root} holds units of {dataset.demand} demand (staged for another run), not households "
                         "or footprints: run that demand from the database")
    if options.method == "network" and not dataset.edges_path.exists():
        raise ValueError(f"{root} has no network (edges.parquet): use --method buffer")
    with open(settings.config_dir / "targets.yml", encoding="utf-8") as fh:
        rows = yaml.safe_load(fh)["targets"]
    targets = pd.DataFrame([{"id": i + 1, "indicator": r["indicator"], "year": r["year"], "value": r["value"],
                             "scope_code": r.get("scope")} for i, r in enumerate(rows)])
    params = load_parameter_values(None, parameter_set_id=None, config_dir=settings.config_dir)
    return RunInputs(dataset, read_facilities(dataset.facilities_path), params, targets, dataset.illustrative,
                   None, f"facilities of {root.name}")


def write_postgis(engine: Engine, inputs: RunInputs, data: Dataset, work: Path, summary: dict,
                   options: coverage.CoverageOptions, timer, *, per_facility, areas, polygons, gap_rows) -> int:
    """The run in one transaction: the run row, every unit's households (COPY), the rest."""
    with engine.begin() as conn:
        run_id = coverage.insert_run(conn, scenario_id=inputs.scenario_id, scenario_name=inputs.scenario_name,
                                     options=options, demand=inputs.description, params=inputs.params,
                                     illustrative=inputs.illustrative, summary=summary)
        if options.demand == "households":
            for path in sorted((work / "results").glob("*.parquet")):
                copy_frame(conn, "coverage_household", read_results(path).assign(run_id=run_id))
        for _, frame in write_demand_points(data, work, options):
            copy_frame(conn, "coverage_demand_point", frame.assign(run_id=run_id))
        coverage.store_tables(conn, run_id, per_facility=per_facility, areas=areas, polygons=polygons,
                              gap_rows=gap_rows, metric_crs=data.metric_crs)
        timer.lap("write")
        conn.execute(text("UPDATE coverage_run SET seconds = CAST(:s AS jsonb) WHERE id = :i"),
                     {"s": coverage._json(timer.laps), "i": run_id})
    return run_id


def write_folder(out: Path, data: Dataset, work: Path, summary: dict, params: dict,
                 options: coverage.CoverageOptions, timer, *, per_facility, areas, polygons, gap_rows) -> None:
    """A run as files, for runs too large to store: ``households/<unit>.parquet`` (GeoParquet
    points with each household's results; for modelled demand ``demand_points/<unit>.parquet``,
    households served per demand point), ``areas.parquet``, ``gaps.parquet``,
    ``facilities.parquet``, ``service_areas.parquet`` (GeoParquet) and ``run.json`` (options,
    parameters with their sources, summary, timings)."""
    out.mkdir(parents=True, exist_ok=True)
    if options.demand == "households":
        (out / "households").mkdir(exist_ok=True)
        for path in sorted((work / "results").glob("*.parquet")):
            _link_or_copy(path, out / "households" / path.name)
    else:
        (out / "demand_points").mkdir(exist_ok=True)
        for part, frame in write_demand_points(data, work, options):
            gpd.GeoDataFrame(frame, geometry="geom", crs=4326).to_parquet(
                out / "demand_points" / f"{part.name}.parquet", index=False)
    flat = areas.copy()
    for column in ("ladder", "ladder_projected"):
        flat[column] = [None if v is None else json.dumps(v) for v in flat[column]]
    flat.to_parquet(out / "areas.parquet", index=False)
    gap_rows.to_parquet(out / "gaps.parquet", index=False)
    if per_facility:
        pd.concat(per_facility, ignore_index=True).to_parquet(out / "facilities.parquet", index=False)
    if not polygons.empty:
        gpd.GeoDataFrame(polygons, geometry="geom", crs=data.metric_crs).to_crs(4326).to_parquet(
            out / "service_areas.parquet", index=False)
    timer.lap("write")
    run = {"options": plain_json(asdict(options)), "parameters": params, "summary": summary, "seconds": timer.laps,
           "metric_crs": data.metric_crs, "illustrative": data.illustrative}
    (out / "run.json").write_text(json.dumps(run, indent=1, default=str), encoding="utf-8")


def _link_or_copy(source: Path, target: Path) -> None:
    """A results file into the output folder: a hard link where both are on one file system
    (instant; the work folder's files are never changed in place, only replaced, so the two
    stay the same), else a copy."""
    if target.exists() and os.path.samefile(source, target):  # the output folder is the work folder
        return
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        shutil.copyfile(source, target)


def edge_kmh(data: Dataset, options) -> float:
    """The fastest speed an edge of the network sets itself (0 without a network)."""
    if options.method != "network" or not data.edges_path.exists():
        return 0.0
    fastest = pc.max(pq.read_table(data.edges_path, columns=["speed_kmh"]).column("speed_kmh")).as_py()
    return float(fastest or 0.0)


def write_demand_points(data: Dataset, work: Path, options):
    """(unit, its ``coverage_demand_point`` rows) for modelled demand, unit by unit: the points
    numbered as a whole-region run numbers them (units in code order), households served per
    point summed over the unit's passes, geometry in EPSG:4326 as one process converts it."""
    if options.demand == "households":
        return
    offset = 0
    for part in data.partitions:
        path = data.points_path(part)
        if not path.exists():
            continue
        points = pq.read_table(path).drop_columns(["geometry"]).to_pandas()
        served = [pq.read_table(f).to_pandas() for f in (work / "results" / f"{part.name}.parquet",
                                                         work / "results" / f"{part.name}-open.parquet") if f.exists()]
        counts = pd.concat(served).groupby("point").sum() if served else pd.DataFrame()
        rows = pd.DataFrame({"point_id": offset + np.arange(len(points)), "origin": points["origin"],
                             "origin_ref": points["origin_ref"], "village_code": points["village_code"],
                             "households": points["households"].astype(np.int64),
                             "people": points["people"].astype(np.int64)})
        for column in [f"{s}_served" for s in SERVICES] + ["any_served"]:
            rows[column] = counts[column].reindex(np.arange(len(points)), fill_value=0).to_numpy(np.int64) \
                if column in counts else 0
        rows["geom"] = gpd.GeoSeries(shapely.points(points[["x", "y"]].to_numpy()), crs=data.metric_crs) \
            .to_crs(4326).to_numpy()
        offset += len(points)
        yield part, rows


def read_results(path: Path) -> pd.DataFrame:
    """A unit's household rows: ids nullable integers, the k-nearest array literals Arrow strings
    (COPY passes them through)."""
    def dtype(t: pa.DataType):
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return pd.ArrowDtype(t)
        return pd.Int64Dtype() if pa.types.is_int64(t) else None

    return pq.read_table(path).drop_columns(["geometry"]).to_pandas(types_mapper=dtype)


def plain_json(value):
    return json.loads(json.dumps(value, default=str))
