"""The tasks a coverage run on a cluster sends to its workers. Each is a plain function of files and
small arguments, writes its output atomically into the run's work folder and returns a small
summary, so a task that already finished is skipped when the run is resumed.

1. ``reach_partition``: one admin unit's households (the core) against the facilities that can
   reach them, over the network cut to the core's box grown by a margin (``Margins``): the reach
   pairs, the k nearest facilities, the service areas of the facilities it is home to; the
   allocation of the facility groups that only its households can meet, and, when no group of
   its households is shared with another unit, its results and counts - one pass for most units.
2. ``allocate_pack``: the capacity-limited allocation of some groups of facilities that span
   units (``analysis.partition``), reading only their pairs.
3. ``count_partition``: results and counts of the units that waited for step 2.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
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

from gis_service.analysis import coverage
from gis_service.analysis import network as net
from gis_service.analysis.allocation import allocate, facility_order
from gis_service.analysis.ladder import project_rungs, village_counts
from gis_service.analysis.parameters import SERVICES, value
from gis_service.analysis.partition import Part, reach_components
from gis_service.distributed import geoparquet
from gis_service.distributed.dataset import (
    Dataset,
    Partition,
    building_units,
    read_edges,
    read_households,
    write_households,
)

EPS_M = 1.0  # metres of slack on every margin against float noise in the coordinates


@dataclass(frozen=True)
class Margins:
    """How far outside a partition's households (its core box) reach can come from.

    ``reach_m[service]``: the farthest a facility of that service can be and still reach a core
    household: its radius, or for travel time the limit at the network's top speed plus two snaps
    (the facility to its node, the household from its node). ``clip_m``: the network around the
    core box that holds every shortest path to a core household and every node any considered
    point could snap to, so the clipped graph gives the same times as the whole network."""

    reach_m: dict[str, float]
    clip_m: float

    @classmethod
    def of(cls, options: coverage.CoverageOptions, params: dict, net_params: net.NetworkParams,
           services: list[str], edge_kmh: float = 0.0) -> Margins:
        """``edge_kmh``: the fastest speed an edge sets itself (e.g. an OSM maxspeed)."""
        top_kmh = max([net_params.walk_speed_kmh, edge_kmh,
                       *(v for t in net_params.speeds.values() for v in t.values())])
        reach, clip = {}, 0.0
        for service in services:
            if service == "offsite" or options.method == "buffer":
                reach[service] = coverage._radius(service, options, params, net_params) + EPS_M
                continue
            limit = max(options.thresholds_min) if service == "lltt" else value(params, "mck_walk_minutes")
            radius = limit * top_kmh * 1000 / 60
            reach[service] = radius + 2 * net_params.max_snap_m + EPS_M
            clip = max(clip, radius + 3 * net_params.max_snap_m + net_params.landing_snap_m
                       + 2 * net_params.node_tolerance_m + EPS_M)
        return cls(reach, clip)


@dataclass
class RunSpec:
    """What every task of one run shares (sent to the workers once)."""

    dataset: Dataset
    work_dir: Path
    options: coverage.CoverageOptions
    params: dict
    net_params: net.NetworkParams
    facilities: dict[str, pd.DataFrame]  # per service, in the whole-region run's order (by id)
    margins: Margins
    capacity: dict[str, np.ndarray]  # households per facility (inf: no limit), per service
    grouped: set[str]  # services whose facilities share a plant's capacity: allocated as a whole
    drawn: gpd.GeoDataFrame | None = None  # --method polygon: the drawn areas (facility_id, metric geom)
    drawn_boxes: dict[str, np.ndarray] | None = None  # their boxes per service facility (NaN: none)


def reach_partition(spec: RunSpec, index: int, home: dict[str, list[int]]) -> dict:
    """Reach and, where it can, allocation and counts of partition ``index``.

    Facilities that no other unit's households could reach (farther than one reach from every
    other unit's box) and the households they join into components are settled here: such a
    component cannot meet the rest of the region, so it is allocated now, in the global facility
    order. The pairs of the other components go to ``reach/<name>.parquet`` for ``allocate_pack``.
    A unit with nothing left open is counted here too (most units: reach is short beside a
    regency); else its households and partial results wait for ``count_partition``. The service
    areas of its ``home`` facilities go to ``areas/<name>.parquet``.

    Returns per service the facilities seen, their pairs, which are open and the links among them
    (facilities joined by shared households), and the unit's counts when it was counted here."""
    part = spec.dataset.partitions[index]
    done = spec.work_dir / "reach" / f"{part.name}.json"
    if done.exists():
        return _load_summary(spec, done, part)
    clock = coverage._Timer()
    hh = _households(spec, part)
    n = len(hh) if hh is not None else 0
    hh_xy = hh[["x", "y"]].to_numpy() if hh is not None else np.empty((0, 2))
    nearest_k = spec.options.nearest_k if spec.options.demand == "households" else 0  # as one process
    box = _box(part.bbox, [spec.facilities[s].iloc[i][["x", "y"]].to_numpy(float) for s, i in home.items() if i])
    edges = None
    if spec.options.method == "network" and box is not None:
        clock.lap("households")
        edges = read_edges(spec.dataset.edges_path, _grow(box, spec.margins.clip_m), spec.dataset.metric_crs)
        clock.lap("network")
    others = [q.bbox for k, q in enumerate(spec.dataset.partitions) if k != index and q.bbox is not None]
    graphs, times_of, open_pairs, near, areas, summary, alloc = {}, {}, [], {}, [], {}, {}
    clock.lap("households")
    for code, service in enumerate(SERVICES):
        fac_all = spec.facilities.get(service)
        if fac_all is None or fac_all.empty:
            continue
        alloc[service] = (np.full(n, -1, np.int64), np.full(n, -1, np.int64), np.full(n, np.nan))
        own_box = [part.bbox] if part.bbox else []
        local = np.flatnonzero(_reaches(spec, service, np.arange(len(fac_all)), own_box)) if n else np.array([], np.int64)
        fac = fac_all.iloc[local].reset_index(drop=True)
        if nearest_k and n and not len(fac):  # the same columns in every unit's results
            none = pd.Series(pd.arrays.ArrowExtensionArray(pa.nulls(n, pa.string())))
            near.update({f"{service}_near_ids": none, f"{service}_near_costs": none})
        if len(fac):
            if spec.drawn is not None:
                pairs, limit = coverage._drawn_pairs(fac, hh, spec.drawn), np.inf
            else:
                pairs, limit = coverage._reach(service, fac, hh_xy, spec.options, spec.params, edges, graphs,
                                               spec.net_params, times_of)
            if nearest_k:
                near.update(coverage._nearest_columns(service, fac, hh_xy, pairs, spec.options, spec.params,
                                                      spec.net_params, graphs, times_of))
            clock.lap("reach")
            boundary = _reaches(spec, service, local, others) | (service in spec.grouped)
            comp = reach_components(pairs[0], pairs[1], n_facilities=len(fac), n_households=n)[0] \
                if boundary.any() else np.arange(len(fac))  # no facility near a border: all closed
            open_fac = np.isin(comp, comp[boundary])
            closed = ~open_fac[pairs[0]]
            _settle(spec, service, fac, local, [p[closed] for p in pairs], limit, n, alloc[service])
            f, h, c = local[pairs[0][~closed]], pairs[1][~closed], pairs[2][~closed]
            open_pairs.append(pa.table({"service": pa.array(np.full(len(f), code, np.int8)),
                                        "fac": pa.array(f.astype(np.int32)), "hh": pa.array(hh["id"].to_numpy()[h]),
                                        "cost": pa.array(c, pa.float64()),
                                        "part": pa.array(np.full(len(f), index, np.int32))}))
            summary[service] = _links(local, comp, pairs[0], open_fac)
            clock.lap("allocation")
        mine = home.get(service) or []
        if spec.options.service_areas and mine and spec.options.method == "network" and service != "offsite":
            areas.append(_home_areas(spec, service, fac_all.iloc[mine].reset_index(drop=True), edges, graphs))
            clock.lap("service_areas")
    if areas:
        frame = pd.concat(areas, ignore_index=True)
        frame["geom"] = shapely.to_wkb(frame["geom"].to_numpy())
        geoparquet.write_table(pa.Table.from_pandas(frame, preserve_index=False),
                               spec.work_dir / "areas" / f"{part.name}.parquet")
        clock.lap("service_areas")
    if n:
        pending = np.zeros(n, bool)
        for table in open_pairs:
            pending[np.searchsorted(hh["id"].to_numpy(), table.column("hh").to_numpy())] = True
        near = pd.DataFrame(near)
        if pending.any():
            _wait_for_allocation(spec, part, index, hh[pending], {s: tuple(a[pending] for a in arrays)
                                                                  for s, arrays in alloc.items()},
                                 near[pending] if len(near.columns) else near, open_pairs)
            summary["pending"] = True
            clock.lap("handoff")
            settled = ~pending  # else all are: counted without copies
            hh, near = hh[settled], near[settled] if len(near.columns) else near
            alloc = {s: tuple(a[settled] for a in arrays) for s, arrays in alloc.items()}
        _save_counts(spec, part.name, _count(spec, part.name, hh, alloc, near))
    clock.lap("counts")
    summary["seconds"] = clock.laps
    _atomic_text(done, json.dumps(summary))
    return _load_summary(spec, done, part)


def _pending_path(spec: RunSpec, part: Partition) -> Path:
    """The households of a unit that wait for the allocation of groups shared with other units."""
    return spec.work_dir / "pending" / f"{part.name}.parquet"


def _households(spec: RunSpec, part: Partition) -> pd.DataFrame | None:
    """The unit's household units: staged, or made from its footprints right here."""
    if not part.households:
        return None
    path = spec.dataset.households_path(part)
    if path.exists() or spec.dataset.source != "buildings":
        return read_households(path)
    return building_units(spec.dataset, part, spec.params)


def _settle(spec: RunSpec, service: str, fac: pd.DataFrame, local: np.ndarray, pairs: list[np.ndarray],
            limit: float, n: int, out: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    """Allocate the closed components here: their facilities in the global order (their relative
    order needs only what this unit knows: status, index, and reach, which is all here)."""
    if not len(pairs[0]):
        return
    capacity = spec.capacity[service][local]
    order = facility_order(len(fac), how=spec.options.order, fac=pairs[0],
                           priority=fac["status"].map(coverage.STATUS_PRIORITY).to_numpy())
    result = allocate(*pairs, n_facilities=len(fac), n_households=n, capacity=capacity, order=order, limit=limit)
    reached = result.nearest >= 0
    served_by, nearest, cost = out
    served_by[result.served_by >= 0] = local[result.served_by[result.served_by >= 0]]
    nearest[reached] = local[result.nearest[reached]]
    cost[reached] = result.nearest_cost[reached]


def _wait_for_allocation(spec: RunSpec, part: Partition, index: int, hh: pd.DataFrame, alloc: dict,
                         near: pd.DataFrame, open_pairs: list[pa.Table]) -> None:
    """Leave what counting the households of open groups needs: them, their results so far (in
    services where they were settled), their k nearest, and the open pairs."""
    write_households(hh, _pending_path(spec, part), spec.dataset.metric_crs)
    ids = hh["id"].to_numpy()
    for service, (served_by, nearest, cost) in alloc.items():
        done = nearest >= 0
        geoparquet.write_table(pa.table({"hh": ids[done], "part": np.full(int(done.sum()), index, np.int32),
                               "served_by": served_by[done], "nearest": nearest[done], "cost": cost[done]}),
                     spec.work_dir / "alloc" / service / f"unit-{part.name}.parquet")
    if len(near.columns):
        geoparquet.write_table(pa.Table.from_pandas(near.assign(household_id=ids), preserve_index=False),
                     spec.work_dir / "near" / f"{part.name}.parquet")
    geoparquet.write_table(pa.concat_tables(open_pairs) if open_pairs else _empty_pairs(),
                 spec.work_dir / "reach" / f"{part.name}.parquet")


def allocate_pack(spec: RunSpec, service: str, pack: int, facilities: list[int], partitions: list[int],
                  capacity: list[float], rank: list[int], group: list[int] | None,
                  group_capacity: list[float] | None, limit: float) -> int:
    """Allocate the independent facilities ``facilities`` (service indices, ascending) with the
    households they reach, read from the pairs of ``partitions`` only. Writes one row per reached
    household (id, partition, served by, nearest, cost) to ``alloc/<service>/<pack>.parquet``."""
    out = spec.work_dir / "alloc" / service / f"{pack}.parquet"
    if out.exists():
        return pq.read_metadata(out).num_rows
    fac_ids = np.asarray(facilities, np.int64)
    files = [str(spec.work_dir / "reach" / f"{spec.dataset.partitions[p].name}.parquet") for p in partitions]
    wanted = (pc.field("service") == SERVICES.index(service)) & pc.field("fac").isin(pa.array(fac_ids, pa.int32()))
    pairs = pads.dataset(files).to_table(filter=wanted).to_pandas()
    f = np.searchsorted(fac_ids, pairs["fac"].to_numpy())
    households, first = np.unique(pairs["hh"].to_numpy(), return_index=True)
    h = np.searchsorted(households, pairs["hh"].to_numpy())
    capacity_all = np.asarray(capacity, float)
    part = Part(fac_ids, households, f, h, pairs["cost"].to_numpy(), capacity_all[fac_ids],
                np.argsort(np.asarray(rank)[fac_ids], kind="stable"),
                None if group is None else np.asarray(group)[fac_ids],
                None if group_capacity is None else np.asarray(group_capacity, float), limit)
    result = part.solve()
    served = np.where(result.served_by >= 0, fac_ids[np.maximum(result.served_by, 0)], -1)
    nearest = np.where(result.nearest >= 0, fac_ids[np.maximum(result.nearest, 0)], -1)
    geoparquet.write_table(pa.table({"hh": households, "part": pairs["part"].to_numpy()[first],
                           "served_by": served, "nearest": nearest, "cost": result.nearest_cost}), out)
    return len(households)


def count_partition(spec: RunSpec, index: int) -> dict:
    """Results and counts of a unit's households of open groups, once those are allocated."""
    part = spec.dataset.partitions[index]
    name = f"{part.name}-open"
    finished = load_counts(spec, name)
    if finished is not None and (spec.work_dir / "results" / f"{name}.parquet").exists():
        return finished
    hh = read_households(_pending_path(spec, part))
    alloc = {service: _allocation_of(spec, service, index, hh["id"].to_numpy()) for service in spec.facilities}
    near_path = spec.work_dir / "near" / f"{part.name}.parquet"
    near = pq.read_table(near_path).to_pandas().drop(columns=["household_id"]) if near_path.exists() \
        else pd.DataFrame()
    counts = _count(spec, name, hh, alloc, near)
    _save_counts(spec, name, counts)
    return counts


def _count(spec: RunSpec, name: str, hh: pd.DataFrame, alloc: dict, near: pd.DataFrame) -> dict:
    """Households' results into ``results/<name>.parquet`` (GeoParquet points with the
    columns of ``coverage_household``; for modelled demand, households served per demand point)
    and its counts: villages, households and people served per facility, households within each
    desludging band."""
    modelled = spec.options.demand != "households"
    rows = {"household_id": pa.array(hh["id"].to_numpy())}
    served, served_count, served_people, bands = {}, {}, {}, None
    people = hh["people"].to_numpy()
    for service, fac in spec.facilities.items():
        served_by, nearest, cost = alloc[service]
        served[service] = served_by >= 0
        if not modelled:
            fid = fac["id"].to_numpy(np.int64)
            rows[f"{service}_facility_id"] = pa.array(fid[np.maximum(served_by, 0)], mask=served_by < 0)
            rows[f"{service}_nearest_id"] = pa.array(fid[np.maximum(nearest, 0)], mask=nearest < 0)
            rows[f"{service}_cost"] = pa.array(cost)
        mine = served_by >= 0
        served_count[service] = np.bincount(served_by[mine], minlength=len(fac)).tolist()
        served_people[service] = np.bincount(served_by[mine], weights=people[mine], minlength=len(fac)).tolist()
        if service == "lltt" and spec.drawn is None:  # drawn areas have no bands, as in one process
            bands = {f"within_{t:g}": int(np.count_nonzero(cost <= t + 1e-9))  # NaN (unreached) is never within
                     for t in coverage._bands(spec.options)}
    for column in near.columns:
        rows[column] = pa.array(near[column].array) if isinstance(near[column].dtype, pd.ArrowDtype) else \
            pa.array(near[column].to_numpy(dtype=object), pa.string(), from_pandas=True)
    if modelled:
        geoparquet.write_table(_served_per_point(hh["point"].to_numpy(), served),
                               spec.work_dir / "results" / f"{name}.parquet")
    else:
        _write_household_results(spec, name, hh, rows)
    rung = hh["rung"].array if isinstance(hh["rung"].dtype, pd.CategoricalDtype) else hh["rung"].to_numpy()
    projected = project_rungs(rung, hh["has_septic_tank"].to_numpy(), served)
    return {"villages": village_counts(hh, served, projected), "served": served_count,
            "served_people": served_people, "bands": bands}


def _write_household_results(spec: RunSpec, name: str, hh: pd.DataFrame, rows: dict) -> None:
    if "lon" in hh:  # made from footprints in this task: the centroids' own lon/lat
        lon, lat = hh["lon"].to_numpy(), hh["lat"].to_numpy()
    else:
        lon, lat = Transformer.from_crs(spec.dataset.metric_crs, "EPSG:4326", always_xy=True).transform(
            hh["x"].to_numpy(), hh["y"].to_numpy())
    table = pa.table({**rows, "geometry": geoparquet.points(lon, lat)})
    geoparquet.write(table, spec.work_dir / "results" / f"{name}.parquet", encoding="point",
                     geometry_type="Point")


def _served_per_point(point: np.ndarray, served: dict[str, np.ndarray]) -> pa.Table:
    """Households served per demand point (the unit's numbers) and service, as a whole-region run
    stores them (``coverage._demand_point_rows``); a unit's two passes each count theirs."""
    points, at = np.unique(point, return_inverse=True)
    columns, any_served = {"point": pa.array(points.astype(np.int64))}, np.zeros(len(point), bool)
    for service in SERVICES:
        flag = served.get(service, np.zeros(len(point), bool))
        any_served |= flag
        columns[f"{service}_served"] = pa.array(np.bincount(at[flag], minlength=len(points)))
    columns["any_served"] = pa.array(np.bincount(at[any_served], minlength=len(points)))
    return pa.table(columns)


def _save_counts(spec: RunSpec, name: str, counts: dict) -> None:
    """Counts beside the results: village table as Parquet, the rest as JSON (read on resume)."""
    folder = spec.work_dir / "counts"
    geoparquet.write_table(pa.Table.from_pandas(counts["villages"].reset_index()), folder / f"{name}.parquet")
    _atomic_text(folder / f"{name}.json", json.dumps({k: v for k, v in counts.items() if k != "villages"}))


def load_counts(spec: RunSpec, name: str) -> dict | None:
    folder = spec.work_dir / "counts"
    if not (folder / f"{name}.json").exists():
        return None
    counts = json.loads((folder / f"{name}.json").read_text())
    counts["villages"] = pq.read_table(folder / f"{name}.parquet").to_pandas().set_index("area_code")
    return counts


def _load_summary(spec: RunSpec, done: Path, part: Partition) -> dict:
    summary = json.loads(done.read_text())
    summary["counts"] = load_counts(spec, part.name)
    return summary


def _allocation_of(spec: RunSpec, service: str, index: int, ids: np.ndarray):
    """Served-by and nearest facility (service index, -1 none) and nearest cost (NaN none) of a
    partition's households, from the allocation packs."""
    served_by, nearest = np.full(len(ids), -1, np.int64), np.full(len(ids), -1, np.int64)
    cost = np.full(len(ids), np.nan)
    folder = spec.work_dir / "alloc" / service
    if folder.exists() and any(folder.glob("*.parquet")):
        rows = pads.dataset(str(folder)).to_table(filter=pc.field("part") == index).to_pandas()
        at = np.searchsorted(ids, rows["hh"].to_numpy())
        served_by[at], nearest[at] = rows["served_by"].to_numpy(), rows["nearest"].to_numpy()
        cost[at] = np.where(np.isfinite(rows["cost"].to_numpy()), rows["cost"].to_numpy(), np.nan)
    return served_by, nearest, cost


def _links(local: np.ndarray, comp: np.ndarray, fac_of_pair: np.ndarray, open_fac: np.ndarray) -> dict:
    """Facilities that reach something here (service indices), their pair counts, which are
    open, and links (a, b) chaining the open facilities of each local component."""
    counts = np.bincount(fac_of_pair, minlength=len(local))
    seen = np.flatnonzero(counts)
    linked = seen[open_fac[seen]]
    order = linked[np.argsort(comp[linked], kind="stable")]
    same = comp[order[1:]] == comp[order[:-1]]
    return {"facilities": local[seen].tolist(), "pairs": counts[seen].tolist(), "open": local[linked].tolist(),
            "links": np.column_stack([local[order[:-1]][same], local[order[1:]][same]]).tolist()}


def _home_areas(spec: RunSpec, service: str, fac: pd.DataFrame, edges, graphs: dict) -> pd.DataFrame:
    """Service-area polygons of the facilities this partition is home to (the network around
    them is inside the clip, so they come out as in a whole-region run)."""
    for modes in set(coverage._modes(service, fac)):
        if modes not in graphs:
            graphs[modes] = net.build_graph(edges, modes=set(modes), params=spec.net_params)
    return coverage._service_areas(service, fac, spec.options, spec.params, graphs, spec.net_params, {})


def _reaches(spec: RunSpec, service: str, rows: np.ndarray, boxes: list[list[float]]) -> np.ndarray:
    """Which of the service's facilities ``rows`` could serve a household in any of the boxes:
    within one reach of it, or with a drawn area whose box meets it (a household is served
    inside the area). All boxes at once: a unit asks this of every other unit's box."""
    if not boxes:
        return np.zeros(len(rows), bool)
    b = np.asarray(boxes, float)
    if spec.drawn_boxes is None:
        fac = spec.facilities[service]
        xy = np.column_stack([fac["x"].to_numpy(float)[rows], fac["y"].to_numpy(float)[rows]])
        return (box_distances(xy, b) <= spec.margins.reach_m[service]).any(axis=1)
    box = spec.drawn_boxes[service][rows][:, :, None]
    return ((box[:, 0] <= b[:, 2]) & (box[:, 2] >= b[:, 0]) & (box[:, 1] <= b[:, 3]) & (box[:, 3] >= b[:, 1])).any(axis=1)


def box_distances(xy: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Metres from each point (rows) to each box (columns; 0 inside)."""
    x, y = xy[:, :1], xy[:, 1:]
    return np.hypot(np.maximum(np.maximum(boxes[:, 0] - x, 0.0), x - boxes[:, 2]),
                    np.maximum(np.maximum(boxes[:, 1] - y, 0.0), y - boxes[:, 3]))


def _box(bbox: list[float] | None, points: list[np.ndarray]) -> list[float] | None:
    xy = [np.atleast_2d(p) for p in points if len(p)]
    if bbox is not None:
        xy.append(np.array([[bbox[0], bbox[1]], [bbox[2], bbox[3]]]))
    if not xy:
        return None
    allxy = np.vstack(xy)
    return [*allxy.min(axis=0).tolist(), *allxy.max(axis=0).tolist()]


def _grow(box: list[float], by: float) -> list[float]:
    return [box[0] - by, box[1] - by, box[2] + by, box[3] + by]


def _empty_pairs() -> pa.Table:
    return pa.table({"service": pa.array([], pa.int8()), "fac": pa.array([], pa.int32()),
                     "hh": pa.array([], pa.int64()), "cost": pa.array([], pa.float64()),
                     "part": pa.array([], pa.int32())})


def _atomic_text(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, path)
