"""The tasks a coverage run on a cluster sends to its workers. Each is a plain function of files and
small arguments, writes its output atomically into the run's work folder and returns a small
summary, so a task that already finished is skipped when the run is resumed.

1. ``reach_partition``: one admin unit's households (the core) against the facilities that can
   reach them, over the network cut to the core's box grown by a margin (``Margins``): the reach
   pairs, the k nearest facilities, and the service areas of the facilities it is home to.
2. ``allocate_pack``: the capacity-limited allocation of some independent groups of facilities
   (``analysis.partition``), reading only their pairs.
3. ``count_partition``: one unit's per-household results (GeoParquet points) and its village
   counts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

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
from gis_service.analysis.ladder import project_rungs, village_counts
from gis_service.analysis.parameters import SERVICES, value
from gis_service.analysis.partition import Part, reach_components
from gis_service.distributed import geoparquet
from gis_service.distributed.dataset import Dataset, read_edges, read_households

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
           services: list[str]) -> Margins:
        top_kmh = max([net_params.walk_speed_kmh, *(v for t in net_params.speeds.values() for v in t.values())])
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


def reach_partition(spec: RunSpec, index: int, home: dict[str, list[int]]) -> dict:
    """Reach pairs of partition ``index`` (facility index per service, household id, cost) into
    ``reach/<name>.parquet``; the k nearest into ``near/<name>.parquet``; the service areas of its
    ``home`` facilities into ``areas/<name>.parquet``. Returns, per service, which facilities it
    saw reach something, how many pairs each, and the facilities its households join together."""
    part = spec.dataset.partitions[index]
    done = spec.work_dir / "reach" / f"{part.name}.json"
    if done.exists():
        return json.loads(done.read_text())
    hh = read_households(spec.dataset.households_path(part)) if part.households else None
    hh_xy = hh[["x", "y"]].to_numpy() if hh is not None else np.empty((0, 2))
    box = _box(part.bbox, [spec.facilities[s].iloc[i][["x", "y"]].to_numpy(float) for s, i in home.items() if i])
    edges = None
    if spec.options.method == "network" and box is not None:
        edges = read_edges(spec.dataset.edges_path, _grow(box, spec.margins.clip_m), spec.dataset.metric_crs)
    graphs, times_of, pair_tables, near, areas, summary = {}, {}, [], {}, [], {}
    for code, service in enumerate(SERVICES):
        fac_all = spec.facilities.get(service)
        if fac_all is None or fac_all.empty:
            continue
        local = np.flatnonzero(_within(fac_all, part.bbox, spec.margins.reach_m[service])) \
            if hh is not None else np.array([], np.int64)
        fac = fac_all.iloc[local].reset_index(drop=True)
        if len(fac):
            pairs, _ = coverage._reach(service, fac, hh_xy, spec.options, spec.params, edges, graphs,
                                       spec.net_params, times_of)
            f, h, c = local[pairs[0]], pairs[1], pairs[2]
            pair_tables.append(pa.table({"service": pa.array(np.full(len(f), code, np.int8)),
                                         "fac": pa.array(f.astype(np.int32)), "hh": pa.array(hh["id"].to_numpy()[h]),
                                         "cost": pa.array(c, pa.float64()),
                                         "part": pa.array(np.full(len(f), index, np.int32))}))
            if spec.options.nearest_k:
                near.update(coverage._nearest_columns(service, fac, hh_xy, pairs, spec.options, spec.params,
                                                      spec.net_params, graphs, times_of))
            comp, _ = reach_components(pairs[0], pairs[1], n_facilities=len(fac), n_households=len(hh))
            summary[service] = _links(local, comp, pairs[0])
        mine = home.get(service) or []
        if spec.options.service_areas and mine and spec.options.method == "network" and service != "offsite":
            areas.append(_home_areas(spec, service, fac_all.iloc[mine].reset_index(drop=True), edges, graphs))
    _write_table(pa.concat_tables(pair_tables) if pair_tables else _empty_pairs(),
                 spec.work_dir / "reach" / f"{part.name}.parquet")
    if hh is not None and near:
        _write_table(pa.Table.from_pandas(pd.DataFrame({"household_id": hh["id"].to_numpy(), **near}),
                                          preserve_index=False), spec.work_dir / "near" / f"{part.name}.parquet")
    if areas:
        frame = pd.concat(areas, ignore_index=True)
        frame["geom"] = shapely.to_wkb(frame["geom"].to_numpy())
        _write_table(pa.Table.from_pandas(frame, preserve_index=False), spec.work_dir / "areas" / f"{part.name}.parquet")
    _atomic_text(done, json.dumps(summary))
    return summary


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
    _write_table(pa.table({"hh": households, "part": pairs["part"].to_numpy()[first],
                           "served_by": served, "nearest": nearest, "cost": result.nearest_cost}), out)
    return len(households)


def count_partition(spec: RunSpec, index: int) -> dict:
    """One partition's per-household results into ``results/<name>.parquet`` (the columns of
    ``coverage_household``, facility ids) and its counts: villages, people served per facility,
    households within each desludging band."""
    part = spec.dataset.partitions[index]
    hh = read_households(spec.dataset.households_path(part))
    ids = hh["id"].to_numpy()
    rows = {"household_id": ids}
    served, served_count, served_people, bands = {}, {}, {}, None
    people = hh["people"].to_numpy()
    for service, fac in spec.facilities.items():
        served_by, nearest, cost = _allocation_of(spec, service, index, ids)
        served[service] = served_by >= 0
        fid = fac["id"].to_numpy()
        rows[f"{service}_facility_id"] = coverage._ids_or_null(fid, served_by)
        rows[f"{service}_nearest_id"] = coverage._ids_or_null(fid, nearest)
        rows[f"{service}_cost"] = cost
        mine = served_by >= 0
        served_count[service] = np.bincount(served_by[mine], minlength=len(fac)).tolist()
        served_people[service] = np.bincount(served_by[mine], weights=people[mine], minlength=len(fac)).tolist()
        if service == "lltt":
            bands = {f"within_{t:g}": int((np.nan_to_num(cost, nan=np.inf) <= t + 1e-9).sum())
                     for t in coverage._bands(spec.options)}
    frame = pd.DataFrame(rows)
    near_path = spec.work_dir / "near" / f"{part.name}.parquet"
    if near_path.exists():
        near = pq.read_table(near_path).to_pandas()
        frame = pd.concat([frame, near.drop(columns=["household_id"])], axis=1)
    for column in frame.columns:
        if column.endswith(("_facility_id", "_nearest_id")):
            frame[column] = pd.array(frame[column].to_numpy(dtype=object), dtype="Int64")
    lon, lat = Transformer.from_crs(spec.dataset.metric_crs, "EPSG:4326", always_xy=True).transform(
        hh["x"].to_numpy(), hh["y"].to_numpy())
    table = pa.Table.from_pandas(frame, preserve_index=False).append_column("geometry", geoparquet.points(lon, lat))
    geoparquet.write(table, spec.work_dir / "results" / f"{part.name}.parquet", encoding="point",
                     geometry_type="Point")
    projected = project_rungs(hh["rung"].to_numpy(), hh["has_septic_tank"].to_numpy(), served)
    return {"villages": village_counts(hh, served, projected), "served": served_count,
            "served_people": served_people, "bands": bands}


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


def _links(local: np.ndarray, comp: np.ndarray, fac_of_pair: np.ndarray) -> dict:
    """Facilities that reach something here (service indices), their pair counts, and links
    (a, b) chaining the facilities of each local component."""
    counts = np.bincount(fac_of_pair, minlength=len(local))
    seen = np.flatnonzero(counts)
    order = seen[np.argsort(comp[seen], kind="stable")]
    same = comp[order[1:]] == comp[order[:-1]]
    return {"facilities": local[seen].tolist(), "pairs": counts[seen].tolist(),
            "links": np.column_stack([local[order[:-1]][same], local[order[1:]][same]]).tolist()}


def _home_areas(spec: RunSpec, service: str, fac: pd.DataFrame, edges, graphs: dict) -> pd.DataFrame:
    """Service-area polygons of the facilities this partition is home to (the network around
    them is inside the clip, so they come out as in a whole-region run)."""
    for modes in set(coverage._modes(service, fac)):
        if modes not in graphs:
            graphs[modes] = net.build_graph(edges, modes=set(modes), params=spec.net_params)
    return coverage._service_areas(service, fac, spec.options, spec.params, graphs, spec.net_params, {})


def _within(fac: pd.DataFrame, bbox: list[float] | None, distance: float) -> np.ndarray:
    """Facilities no farther than ``distance`` from a box."""
    if bbox is None:
        return np.zeros(len(fac), bool)
    return box_distance(fac, bbox) <= distance


def box_distance(fac: pd.DataFrame, bbox: list[float]) -> np.ndarray:
    """Metres from each facility to a box (0 inside)."""
    x, y = fac["x"].to_numpy(float), fac["y"].to_numpy(float)
    return np.hypot(np.maximum.reduce([bbox[0] - x, np.zeros_like(x), x - bbox[2]]),
                    np.maximum.reduce([bbox[1] - y, np.zeros_like(y), y - bbox[3]]))


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


def _write_table(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def _atomic_text(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, path)
