"""A coverage run: who is served by which sanitation service, how far each household is from its
nearest facility, the access ladder now and projected, and the gap to every target, per village,
district and regency. Every run is stored with its scenario, parameters and timings; results are
keyed by the run id so runs can be compared.

Services and how reach is measured (metric CRS of the region):
- ``lltt`` scheduled desludging (IPLT, depots, transfer stations): travel time over the network
  with each facility's service modes (trucks on roads, boats on the river), or a buffer radius;
- ``offsite`` piped systems (IPAL kota/kawasan/komunal): a buffer of the piped service radius;
- ``mck`` public toilet blocks: walking time over paths and roads, or the walking radius.
With ``method='polygon'`` every service uses the service areas planners drew (``service_area``):
a household inside a facility's drawn area is in its reach, nearest first by straight distance;
facilities without a drawn area reach nobody in that run (the summary lists them).

A depot or transfer station that feeds an IPLT (``facility.feeds_facility_id``) shares that IPLT's
capacity: together they serve no more households than the plant can treat sludge for.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree
from sqlalchemy import Connection, Engine, text

from gis_service.analysis import network as net
from gis_service.analysis.allocation import allocate, facility_order, nearest_k
from gis_service.analysis.demand import Demand, load_demand
from gis_service.analysis.ladder import area_table, gaps, project_rungs
from gis_service.analysis.node_reach import NodeReach, allocate_reach, node_reach, reach_counts
from gis_service.analysis.parameters import (
    SERVICE_OF_TYPE,
    SERVICES,
    capacity_households,
    load_parameter_values,
    value,
)
from gis_service.analysis.service_areas import isochrones, radius_areas
from gis_service.db.binary_copy import copy_binary
from gis_service.db.bulk import array_literals, copy_frame
from gis_service.settings import Settings, get_settings

STATUS_PRIORITY = {"existing": 0, "pilot": 1, "planned": 2, "candidate": 3}
DEFAULT_MODES = {"lltt": {"road"}, "mck": {"path", "road"}}


METHODS = ("network", "buffer", "polygon")


@dataclass
class CoverageOptions:
    scenario: str | None = None  # None: all existing and pilot facilities, default parameters
    method: str = "network"  # network | buffer | polygon
    thresholds_min: list[float] = field(default_factory=lambda: [30.0, 60.0])
    distance_m: float = 5000.0
    capacity: bool = True
    order: str = "priority"  # priority | given | demand
    service_areas: bool = True  # draw isochrones / radius polygons for the maps
    demand: str = "households"  # households | settlements | villages | raster
    raster: Path | None = None  # population GeoTIFF for demand='raster'
    population_year: int | None = None  # village totals of this year (demand='villages'); None: latest
    nearest_k: int = 3  # store the k nearest reachable facilities per household and service (0: none)


@dataclass
class CoverageResult:
    run_id: int | None  # None: written to files (a cluster run with --output)
    summary: dict
    seconds: dict
    areas: pd.DataFrame
    gaps: pd.DataFrame


def run_coverage(engine: Engine, options: CoverageOptions | None = None, *,
                 settings: Settings | None = None, progress=None) -> CoverageResult:
    """Run, store and return a coverage analysis. ``progress(step)`` is called between steps."""
    options = options or CoverageOptions()
    settings = settings or get_settings()
    if options.method not in METHODS:
        raise ValueError(f"unknown method '{options.method}' ({', '.join(METHODS)})")
    if options.nearest_k < 0:
        raise ValueError("nearest_k must be 0 or more")
    region = settings.region_config()
    step = progress or (lambda name: None)
    timer = _Timer()
    # A second thread overlaps independent work on the two cores: the network is read on its own
    # connection while the households are read, and service-area polygons are drawn while
    # households are allocated.
    with engine.begin() as conn, ThreadPoolExecutor(max_workers=1) as worker:
        step("loading")
        edges_read = worker.submit(net.load_edges, engine, metric_crs=region.metric_crs) \
            if options.method == "network" else None
        scenario_id, scenario_name, parameter_set_id, facility_ids = _scenario(conn, options.scenario)
        params = load_parameter_values(conn, parameter_set_id=parameter_set_id, config_dir=settings.config_dir)
        to_metric = Transformer.from_crs("EPSG:4326", region.metric_crs, always_xy=True)
        demand = load_demand(conn, options.demand, to_metric=to_metric, metric_crs=region.metric_crs,
                             params=params, raster=options.raster, year=options.population_year,
                             bbox=tuple(region.bbox))
        households = demand.households
        facilities = _facilities(conn, facility_ids, to_metric)
        drawn = _drawn_areas(conn, facilities["id"].to_list(), region.metric_crs) \
            if options.method == "polygon" else None
        illustrative = has_illustrative_data(conn)
        timer.lap("load")
        step("service areas and allocation")
        graphs: dict[frozenset, net.Graph] = {}
        times_of: dict = {}
        net_params = net.NetworkParams.from_config(settings.network_config())
        edges = edges_read.result() if edges_read is not None else None
        per_household = {"household_id": households["id"].to_numpy()}  # numeric columns: COPY binary
        hh_xy = households[["x", "y"]].to_numpy()  # one array, so graphs reuse its joins
        per_facility, served = [], {}
        bands: dict | None = None
        areas_out: list[Future] = []
        for service in SERVICES:
            fac = facilities[facilities["service"] == service].reset_index(drop=True)
            if fac.empty:
                continue
            parts = None  # over the network: per-node reach, no (facility, household) pairs
            if drawn is not None:
                pairs, limit = _drawn_pairs(fac, households, drawn), np.inf
            elif _over_network(service, options):
                pairs, (parts, limit) = None, _node_reach(service, fac, hh_xy, options, params, edges,
                                                          graphs, net_params, times_of)
            else:
                pairs, limit = _reach(service, fac, hh_xy, options, params, edges, graphs, net_params,
                                      times_of)
            if options.service_areas:
                areas_out.append(worker.submit(
                    _drawn_polygons, service, fac, drawn) if drawn is not None else worker.submit(
                    _service_areas, service, fac, options, params, graphs, net_params, times_of))
            capacity = np.array([
                capacity_households(c, u, params) if options.capacity else None
                for c, u in zip(fac["capacity"], fac["capacity_unit"])], dtype=float)
            capacity = np.where(np.isnan(capacity), np.inf, capacity)
            group, group_capacity = _plant_groups(fac, capacity)
            priority = fac["status"].map(STATUS_PRIORITY).to_numpy()
            if parts is not None:
                counts = reach_counts(parts, n_facilities=len(fac), n_households=len(households)) \
                    if options.order == "demand" else None
                order = facility_order(len(fac), how=options.order, priority=priority, reach=counts)
                a = allocate_reach(parts, n_facilities=len(fac), n_households=len(households),
                                   capacity=capacity, order=order, group=group,
                                   group_capacity=group_capacity)
            else:
                order = facility_order(len(fac), how=options.order, fac=pairs[0], priority=priority)
                a = allocate(*pairs, n_facilities=len(fac), n_households=len(households),
                             capacity=capacity, order=order, limit=limit, group=group,
                             group_capacity=group_capacity)
            served[service] = a.served_by >= 0
            fid = fac["id"].to_numpy()
            per_household[f"{service}_facility_id"] = _ids_or_masked(fid, a.served_by)
            per_household[f"{service}_nearest_id"] = _ids_or_masked(fid, a.nearest)
            per_household[f"{service}_cost"] = np.where(np.isfinite(a.nearest_cost), a.nearest_cost, np.nan)
            if options.nearest_k and demand.points is None:
                per_household.update(_nearest_matrices(service, fac, hh_xy, pairs, options, params,
                                                       net_params, graphs, times_of))
            people = households["people"].to_numpy()
            per_facility.append(pd.DataFrame({
                "facility_id": fid, "service": service,
                "capacity_households": np.where(np.isfinite(capacity), capacity, np.nan),
                "households_in_reach": a.in_reach, "served_households": a.served,
                "served_people": np.bincount(a.served_by[a.served_by >= 0],
                                             weights=people[a.served_by >= 0], minlength=len(fac)).astype(int)}))
            if service == "lltt" and drawn is None:
                bands = {f"within_{t:g}": int((a.nearest_cost <= t + 1e-9).sum()) for t in _bands(options)}
        polygon_parts = [future.result() for future in areas_out]
        timer.lap("allocation")
        step("ladder and gaps")
        projected = project_rungs(households["rung"].to_numpy(), households["has_septic_tank"].to_numpy(), served)
        areas = area_table(households, served, projected, region_code=region.code)
        targets = pd.read_sql(text("SELECT id, indicator, year, value, scope_code FROM target ORDER BY year, indicator"), conn)
        gap_rows = gaps(areas, targets) if not targets.empty else pd.DataFrame()
        timer.lap("aggregation")
        step("writing results")
        summary = _summary(areas, region.code, bands)
        if bands:
            summary["band_unit"] = "min" if options.method == "network" else "m"
        summary["demand"] = {"method": options.demand, "units": len(households), "notes": demand.notes}
        if drawn is not None:
            without = sorted(set(facilities["id"]) - set(drawn["facility_id"]))
            summary["facilities_without_drawn_area"] = [int(i) for i in without]
        run_id = insert_run(conn, scenario_id=scenario_id, scenario_name=scenario_name, options=options,
                            demand=demand.description, params=params, illustrative=illustrative, summary=summary)
        if demand.points is None:
            copy_binary(conn, "coverage_household",
                        {"run_id": np.full(len(households), run_id), **per_household})
        else:
            copy_frame(conn, "coverage_demand_point",
                       _demand_point_rows(demand, served, region.metric_crs).assign(run_id=run_id))
        polygons = pd.concat(polygon_parts, ignore_index=True) if polygon_parts else pd.DataFrame()
        store_tables(conn, run_id, per_facility=per_facility, areas=areas, polygons=polygons, gap_rows=gap_rows,
                     metric_crs=region.metric_crs)
        timer.lap("write")
        conn.execute(text("UPDATE coverage_run SET seconds = CAST(:s AS jsonb) WHERE id = :i"),
                     {"s": _json(timer.laps), "i": run_id})
    return CoverageResult(run_id, summary, timer.laps, areas, gap_rows)


def insert_run(conn: Connection, *, scenario_id: int | None, scenario_name: str, options: CoverageOptions,
               demand: str, params: dict, illustrative: bool, summary: dict) -> int:
    """The ``coverage_run`` row of a run; its id keys every result table."""
    return conn.execute(text(
        "INSERT INTO coverage_run (scenario_id, scenario_name, method, thresholds_min, distance_m, "
        "capacity_limited, demand, parameters, illustrative, summary) VALUES (:sid, :sname, :m, :t, :d, "
        ":c, :demand, CAST(:p AS jsonb), :ill, CAST(:s AS jsonb)) RETURNING id"),
        {"sid": scenario_id, "sname": scenario_name, "m": options.method,
         "t": options.thresholds_min if options.method == "network" else None,
         "d": options.distance_m if options.method == "buffer" else None, "c": options.capacity,
         "demand": demand, "p": _json({**params, "_order": options.order, "_nearest_k": options.nearest_k}),
         "ill": illustrative, "s": _json(summary)}).scalar_one()


def store_tables(conn: Connection, run_id: int, *, per_facility: list[pd.DataFrame], areas: pd.DataFrame,
                 polygons: pd.DataFrame, gap_rows: pd.DataFrame, metric_crs: str) -> None:
    """A run's facility, area, service-area (metric polygons, stored in EPSG:4326) and gap rows."""
    if per_facility:
        copy_frame(conn, "coverage_facility", pd.concat(per_facility, ignore_index=True).assign(run_id=run_id))
    copy_frame(conn, "coverage_area", areas.assign(run_id=run_id))
    if not polygons.empty:
        polygons = polygons.copy()
        polygons["geom"] = gpd.GeoSeries(polygons["geom"], crs=metric_crs).to_crs(4326).to_numpy()
        copy_frame(conn, "coverage_service_area", polygons.assign(run_id=run_id))
    if not gap_rows.empty:
        copy_frame(conn, "coverage_gap", gap_rows.assign(run_id=run_id))


def _plant_groups(fac: pd.DataFrame, capacity: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Capacity groups: an IPLT of the run with the depots and transfer stations that feed it share
    the plant's capacity (households whose sludge it can treat). The group of a facility is the
    index of its IPLT (-1: none); None when no facility of the run feeds one of the run's IPLTs."""
    types = fac["type"].to_numpy(dtype=object)
    plant_index = {int(fid): k for k, fid in enumerate(fac["id"]) if types[k] == "iplt"}
    group = np.full(len(fac), -1, np.int64)
    for k, (kind, feeds) in enumerate(zip(types, fac["feeds_facility_id"])):
        if kind == "iplt":
            group[k] = k
        elif feeds is not None and not pd.isna(feeds) and int(feeds) in plant_index:
            group[k] = plant_index[int(feeds)]
    if not (group[types != "iplt"] >= 0).any():
        return None, None
    return group, capacity.copy()


def _nearest_columns(service: str, fac: pd.DataFrame, hh_xy: np.ndarray, pairs, options: CoverageOptions,
                     params: dict, net_params: net.NetworkParams, graphs: dict,
                     times_of: dict) -> dict[str, pd.Series]:
    """:func:`_nearest_matrices` as PostgreSQL array literals (the cluster engine's files)."""
    return {name: array_literals(list(matrix.T)) for name, matrix in _nearest_matrices(
        service, fac, hh_xy, pairs, options, params, net_params, graphs, times_of).items()}


def _nearest_matrices(service: str, fac: pd.DataFrame, hh_xy: np.ndarray, pairs, options: CoverageOptions,
                      params: dict, net_params: net.NetworkParams, graphs: dict,
                      times_of: dict) -> dict[str, np.ndarray]:
    """``<service>_near_ids`` and ``_near_costs``: the k nearest reachable facilities of every
    household, (n, k) matrices nearest first, NaN where there are fewer (costs as float32
    values, as stored). By distance a KD-tree query on the facilities
    gives them directly; over the network they are ranked per node (``net.nearest_facilities``);
    drawn areas rank their (few) pairs."""
    k, n = options.nearest_k, len(hh_xy)
    fac_xy = fac[["x", "y"]].to_numpy()
    ids, costs = np.full((n, k), np.nan), np.full((n, k), np.nan)
    if options.method == "polygon":
        h, rank, f, c = nearest_k(*_by_household(pairs), k=k)
        ids[h, rank - 1], costs[h, rank - 1] = fac["id"].to_numpy()[f], c
    elif service == "offsite" or options.method == "buffer":
        radius = _radius(service, options, params, net_params)
        dist, idx = cKDTree(fac_xy).query(hh_xy, k=k, distance_upper_bound=radius + 1e-6)
        found = np.isfinite(dist.reshape(n, k))
        ids[found] = fac["id"].to_numpy()[idx.reshape(n, k)[found]]
        costs[found] = dist.reshape(n, k)[found]
    else:
        limit = _network_limit(service, options, params)
        modes_of = _modes(service, fac)
        for g, modes in enumerate(sorted(set(modes_of), key=sorted)):  # each transport means
            idx = np.flatnonzero([m == modes for m in modes_of])
            f, c = net.nearest_facilities(graphs[modes], fac_xy[idx], hh_xy, params=net_params,
                                          limit_min=limit, k=k, times=times_of[service, modes])
            found = f >= 0
            more_ids = np.where(found, fac["id"].to_numpy()[idx[np.maximum(f, 0)]], np.nan)
            if g == 0:  # nothing to merge yet
                ids, costs = more_ids, np.where(found, c, np.nan)
                continue
            both_c = np.hstack([costs, np.where(found, c, np.nan)])
            best = np.argsort(both_c, axis=1, kind="stable")[:, :k]  # NaN (none) sorts last
            ids = np.take_along_axis(np.hstack([ids, more_ids]), best, 1)
            costs = np.take_along_axis(both_c, best, 1)
    return {f"{service}_near_ids": ids, f"{service}_near_costs": costs.astype(np.float32)}


def _by_household(pairs: tuple[np.ndarray, np.ndarray, np.ndarray]):
    """(household, facility, cost) sorted by household (network pairs already are)."""
    fac, hh, cost = pairs
    if len(hh) > 1 and (np.diff(hh) < 0).any():
        order = np.lexsort((fac, hh))
        fac, hh, cost = fac[order], hh[order], cost[order]
    return hh, fac, cost


def _drawn_areas(conn: Connection, facility_ids: list[int], metric_crs: str) -> gpd.GeoDataFrame:
    """The drawn service areas of the run's facilities, one (multi)polygon per facility, metric CRS."""
    areas = gpd.read_postgis(text(
        "SELECT facility_id, ST_Multi(ST_Union(geom)) AS geom FROM service_area "
        "WHERE facility_id = ANY(:ids) GROUP BY facility_id ORDER BY facility_id"),
        conn, geom_col="geom", params={"ids": facility_ids})
    return (areas if areas.crs else areas.set_crs(4326)).to_crs(metric_crs)


def _drawn_pairs(fac: pd.DataFrame, hh: pd.DataFrame, drawn: gpd.GeoDataFrame):
    """(facility index, household index, metres to the facility) for households inside (or on the
    edge of) a facility's drawn area."""
    index = pd.Series(np.arange(len(fac)), index=fac["id"].to_numpy())
    mine = drawn[drawn["facility_id"].isin(index.index)]
    if mine.empty or not len(hh):
        return np.array([], np.int64), np.array([], np.int64), np.array([])
    points = shapely.points(hh[["x", "y"]].to_numpy())
    poly, h = shapely.STRtree(points).query(mine.geometry.to_numpy(), predicate="intersects")
    f = index.loc[mine["facility_id"].to_numpy()[poly]].to_numpy()
    d = np.hypot(hh["x"].to_numpy()[h] - fac["x"].to_numpy()[f], hh["y"].to_numpy()[h] - fac["y"].to_numpy()[f])
    return f, h.astype(np.int64), d


def _drawn_polygons(service: str, fac: pd.DataFrame, drawn: gpd.GeoDataFrame) -> pd.DataFrame:
    mine = drawn[drawn["facility_id"].isin(fac["id"])]
    return pd.DataFrame({"facility_id": mine["facility_id"].to_numpy(), "threshold": 0.0, "unit": "drawn",
                         "service": service, "geom": [_multi(g) for g in mine.geometry]})


def _demand_point_rows(demand: Demand, served: dict[str, np.ndarray], metric_crs: str) -> pd.DataFrame:
    """Per demand point: its households and people, and households served per service."""
    points, point = demand.points, demand.households["point"].to_numpy()
    n = len(points)
    out = pd.DataFrame({"point_id": np.arange(n), "origin": points["origin"].to_numpy(),
                        "origin_ref": points["origin_ref"].to_numpy(dtype=object),
                        "village_code": points["village_code"].to_numpy(dtype=object),
                        "households": points["households"].to_numpy(np.int64),
                        "people": points["people"].to_numpy(np.int64)})
    any_served = np.zeros(len(point), bool)
    for service in SERVICES:
        flag = served.get(service, np.zeros(len(point), bool))
        any_served |= flag
        out[f"{service}_served"] = np.bincount(point[flag], minlength=n)
    out["any_served"] = np.bincount(point[any_served], minlength=n)
    xy = gpd.GeoSeries(shapely.points(points[["x", "y"]].to_numpy()), crs=metric_crs).to_crs(4326)
    out["geom"] = xy.to_numpy()
    return out


def _ids_or_masked(ids: np.ndarray, index: np.ndarray) -> np.ma.MaskedArray:
    """Facility ids for facility indices; -1 (none) is masked (NULL)."""
    return np.ma.masked_array(ids[np.maximum(index, 0)] if len(ids) else np.zeros(len(index), np.int64),
                              mask=index < 0)


class _Timer:
    """Seconds per step since the last lap, added up when a step laps again (a cluster task's
    phases); ``laps`` rounds them to milliseconds."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self._seconds[name] = self._seconds.get(name, 0.0) + now - self._t
        self._t = now

    @property
    def laps(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self._seconds.items()}


def _json(obj) -> str:
    import json

    return json.dumps(obj, default=str)


def _bands(options: CoverageOptions) -> list[float]:
    return sorted(options.thresholds_min) if options.method == "network" else [options.distance_m]


def _scenario(conn: Connection, name: str | None):
    """(scenario id, name, parameter set id, facility ids) - no scenario: existing and pilot."""
    if name is None:
        ids = conn.execute(text("SELECT id FROM facility WHERE status IN ('existing', 'pilot') ORDER BY id")
                           ).scalars().all()
        return None, "existing and pilot facilities", None, list(ids)
    row = conn.execute(text("SELECT id, parameter_set_id FROM scenario WHERE name = :n"), {"n": name}).first()
    if row is None:
        known = conn.execute(text("SELECT name FROM scenario ORDER BY name")).scalars().all()
        raise ValueError(f"unknown scenario '{name}'; known: {', '.join(known) or 'none'}")
    ids = conn.execute(text("SELECT facility_id FROM scenario_facility WHERE scenario_id = :s ORDER BY 1"),
                       {"s": row.id}).scalars().all()
    return row.id, name, row.parameter_set_id, list(ids)


def _facilities(conn: Connection, ids: list[int], to_metric: Transformer) -> pd.DataFrame:
    fac = pd.read_sql(text(
        "SELECT id, type, status, capacity, capacity_unit, service_modes, feeds_facility_id, "
        "ST_X(geom) AS lon, ST_Y(geom) AS lat "
        "FROM facility WHERE id = ANY(:ids) ORDER BY id"), conn, params={"ids": ids})
    fac["x"], fac["y"] = to_metric.transform(fac.pop("lon").to_numpy(), fac.pop("lat").to_numpy())
    fac["service"] = fac["type"].map(SERVICE_OF_TYPE)
    fac["capacity"] = fac["capacity"].astype(float).where(fac["capacity"].notna(), None)
    return fac


def has_illustrative_data(conn: Connection) -> bool:
    """Whether any household comes from an illustrative source (runs and plans say so)."""
    return bool(conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM household h JOIN data_source d ON d.name = h.source "
        "WHERE d.illustrative)")).scalar())


def _reach(service: str, fac: pd.DataFrame, hh_xy: np.ndarray, options: CoverageOptions, params: dict,
           edges, graphs: dict, net_params: net.NetworkParams, times_of: dict
           ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], float]:
    """Reach pairs (facility index, household index, cost) and the allocation limit (the cluster
    engine's partitions; one process allocates network reach per node, :func:`_node_reach`).
    Network travel times are kept in ``times_of`` per (service, modes) for the service-area
    polygons."""
    fac_xy = fac[["x", "y"]].to_numpy()
    if service == "offsite" or options.method == "buffer":
        radius = _radius(service, options, params, net_params)
        return buffer_pairs(fac_xy, hh_xy, radius), radius
    limit = _network_limit(service, options, params)
    out_f, out_h, out_c = [], [], []
    for idx, graph, times in _by_transport(service, fac, limit, edges, graphs, net_params, times_of):
        f, h, c = net.facility_to_points(graph, fac_xy[idx], hh_xy, params=net_params,
                                         limit_min=limit, times=times)
        out_f.append(idx[f])
        out_h.append(h)
        out_c.append(c)
    return (np.concatenate(out_f), np.concatenate(out_h), np.concatenate(out_c)), limit


def _over_network(service: str, options: CoverageOptions) -> bool:
    return options.method == "network" and service != "offsite"


def _network_limit(service: str, options: CoverageOptions, params: dict) -> float:
    return max(options.thresholds_min) if service == "lltt" else value(params, "mck_walk_minutes")


def _node_reach(service: str, fac: pd.DataFrame, hh_xy: np.ndarray, options: CoverageOptions, params: dict,
                edges, graphs: dict, net_params: net.NetworkParams, times_of: dict
                ) -> tuple[list[NodeReach], float]:
    """Network reach per node (``node_reach``), one part per transport means of the service's
    facilities, and the limit; travel times are kept in ``times_of`` as in :func:`_reach`."""
    limit = _network_limit(service, options, params)
    fac_xy = fac[["x", "y"]].to_numpy()
    parts = [node_reach(graph, fac_xy[idx], hh_xy, params=net_params, limit_min=limit, times=times, index=idx)
             for idx, graph, times in _by_transport(service, fac, limit, edges, graphs, net_params, times_of)]
    return parts, limit


def _by_transport(service: str, fac: pd.DataFrame, limit: float, edges, graphs: dict,
                  net_params: net.NetworkParams, times_of: dict):
    """Per transport means of the service's facilities: (their indices, the graph of those
    modes, travel times of those on the network), graphs and times kept for reuse."""
    fac_xy = fac[["x", "y"]].to_numpy()
    modes_of = _modes(service, fac)
    for modes in sorted(set(modes_of), key=sorted):
        idx = np.flatnonzero([m == modes for m in modes_of])
        if modes not in graphs:
            graphs[modes] = net.build_graph(edges, modes=set(modes), params=net_params)
        node = net.snap_facilities(graphs[modes], fac_xy[idx], params=net_params, layers=None)
        times = times_of[service, modes] = net.travel_times(graphs[modes], node[node >= 0], limit_min=limit)
        yield idx, graphs[modes], times


def _service_areas(service: str, fac: pd.DataFrame, options: CoverageOptions, params: dict, graphs: dict,
                   net_params: net.NetworkParams, times_of: dict) -> pd.DataFrame:
    """Polygons (metric CRS) per facility and band, drawn the way reach was measured (network
    travel times from ``times_of`` when reach kept them, else computed here)."""
    fac_xy = fac[["x", "y"]].to_numpy()
    if service == "offsite" or options.method == "buffer":
        radius = _radius(service, options, params, net_params)
        geoms = radius_areas(fac_xy, radius)
        return pd.DataFrame({"facility_id": fac["id"], "threshold": radius, "unit": "m", "service": service,
                             "geom": [shapely.MultiPolygon([g]) for g in geoms]})
    bands = options.thresholds_min if service == "lltt" else [value(params, "mck_walk_minutes")]
    rows = []
    modes_of = _modes(service, fac)
    for modes in sorted(set(modes_of), key=sorted):
        idx = np.flatnonzero([m == modes for m in modes_of])
        for f, band, poly in isochrones(graphs[modes], fac_xy[idx], bands, params=net_params,
                                        times=times_of.get((service, modes))):
            rows.append({"facility_id": int(fac["id"].iat[idx[f]]), "threshold": band, "unit": "min",
                         "service": service, "geom": _multi(poly)})
    return pd.DataFrame(rows)


def _multi(geom):
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return shapely.MultiPolygon(parts)


def _radius(service: str, options: CoverageOptions, params: dict, net_params: net.NetworkParams) -> float:
    if service == "offsite":
        return value(params, "ipal_komunal_radius_m")
    if service == "lltt":
        return options.distance_m
    return value(params, "mck_walk_minutes") * net_params.walk_speed_kmh * 1000 / 60


def _modes(service: str, fac: pd.DataFrame) -> list[frozenset]:
    return [frozenset(m) if m else frozenset(DEFAULT_MODES[service]) for m in fac["service_modes"]]


GRID_CHUNK = 1 << 22
"""Candidates (facility, household) a grid pass holds at once: about 200 MB."""
GRID_CANDIDATES_PER_HOUSEHOLD = 12
"""Above this many candidates per household (pairs are about a third of them), facilities are
dense and one dual-tree traversal is the faster way to every pair (measured: 3.3 pairs per
household, the grid is twice as fast; 10, the tree is three times as fast)."""


def buffer_pairs(fac_xy: np.ndarray, hh_xy: np.ndarray, radius: float):
    """All (facility, household) pairs within ``radius`` metres (inclusive), with their distance.

    Households are sorted into square cells one radius wide; every household within reach of a
    facility is in the 3 x 3 cells around the facility's, three runs of the sorted order, so the
    candidates are index ranges and their distances one vectorised pass: as fast as the single
    nearest of a KD-tree (docs/benchmarks.md's floor) where facilities are sparse, done for
    slices of facilities so memory stays bounded (``GRID_CHUNK``). Where they are dense
    (``GRID_CANDIDATES_PER_HOUSEHOLD``), one dual-tree traversal in C (``sparse_distance_matrix``
    of a facility tree against a household tree) instead."""
    if not len(hh_xy) or not len(fac_xy):
        return np.array([], np.int64), np.array([], np.int64), np.array([])
    if not (np.isfinite(hh_xy).all() and np.isfinite(fac_xy).all()):
        raise ValueError("buffer pairs need finite coordinates (a household or facility without a location?)")
    bound = radius + 1e-6
    cell = bound * (1 + 1e-9) + 1e-9  # a pair is never two cells apart, rounding included
    origin = np.array([hh_xy[:, 0].min(), hh_xy[:, 1].min()])  # column by column: a reduction across rows is 40x slower
    hh_cell = np.floor((hh_xy - origin) / cell).astype(np.int64)
    ncols = int(hh_cell[:, 0].max()) + 3  # two empty columns: a run starting left of column 0 wraps into them
    key = hh_cell[:, 1] * ncols + hh_cell[:, 0]
    order = np.argsort(key, kind="stable")
    key = key[order]
    fac_cell = np.floor((fac_xy - origin) / cell).astype(np.int64)
    fac = np.flatnonzero((fac_cell[:, 0] >= -1) & (fac_cell[:, 0] <= ncols - 2) & (fac_cell[:, 1] >= -1)
                         & (fac_cell[:, 1] <= hh_cell[:, 1].max() + 1))  # the others reach no cell
    first = (fac_cell[fac, 1][:, None] + np.array([-1, 0, 1])) * ncols + fac_cell[fac, 0][:, None] - 1
    start = np.searchsorted(key, first, "left").ravel()
    length = np.searchsorted(key, first + 2, "right").ravel() - start
    if length.sum() > GRID_CANDIDATES_PER_HOUSEHOLD * len(hh_xy):
        near = cKDTree(fac_xy).sparse_distance_matrix(cKDTree(hh_xy), bound, output_type="ndarray")
        return near["i"].astype(np.int64), near["j"].astype(np.int64), near["v"]
    out = []  # facilities in slices of about GRID_CHUNK candidates: memory bounded by the slice
    cut = np.flatnonzero(np.diff(np.cumsum(length.reshape(-1, 3).sum(axis=1)) // GRID_CHUNK)) + 1
    for lo, hi in zip(np.r_[0, cut], np.r_[cut, len(fac)]):
        runs, starts = length[3 * lo:3 * hi], start[3 * lo:3 * hi]
        fac_of = np.repeat(np.repeat(fac[lo:hi], 3), runs)
        hh = order[np.arange(int(runs.sum())) - np.repeat(np.cumsum(runs) - runs - starts, runs)]
        dx, dy = hh_xy[hh, 0] - fac_xy[fac_of, 0], hh_xy[hh, 1] - fac_xy[fac_of, 1]
        distance = np.sqrt(dx * dx + dy * dy)
        keep = distance <= bound
        out.append((fac_of[keep], hh[keep], distance[keep]))
    return tuple(np.concatenate(column) for column in zip(*out))


def _summary(areas: pd.DataFrame, region_code: str, bands: dict | None) -> dict:
    reg = areas[(areas["level"] == "regency") & (areas["area_code"] == region_code)]
    out = {"households": int(reg[reg.service == "all"].households.sum()),
           "people": int(reg[reg.service == "all"].people.sum())}
    for _, row in reg.iterrows():
        out[f"served_{row.service}_households"] = int(row.served_households)
        out[f"served_{row.service}_people"] = int(row.served_people)
        if row.service == "all":
            out["ladder"], out["ladder_projected"] = row.ladder, row.ladder_projected
    if bands:
        out["lltt_bands"] = bands
    return out
