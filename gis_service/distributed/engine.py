"""A coverage run on a Dask cluster (``gis-service coverage run --engine dask``): the same answer as
the single-process engine (``analysis.coverage.run_coverage``) for a region too large for one
process, e.g. a province or the whole country.

The run is cut by administrative unit (one level below the region: a regency runs by district, a
province or the nation by regency). Every step is a set of independent tasks on dask.distributed:

1. staging (from PostGIS): each unit's households are read into GeoParquet by a worker (modelled
   demand - settlements, village totals, a population raster - is made there, per village as
   one process makes it); a dataset of building footprints needs no staging;
2. reach: each unit's households against the facilities within one reach of them (or, with
   drawn service areas, whose area's box meets theirs), over the network cut to the unit's box
   grown by the same margin (``tasks.Margins``). Each household is in
   exactly one unit, so it is counted once, and facilities across a border still serve it. The
   facility groups that only this unit's households can meet (``analysis.partition``) are
   allocated right there, and a unit with no group shared across a border is counted too;
3. allocation: the groups that span units, each task some groups, in the same facility order and
   with the same tie-breaking as one process would;
4. counting: the per-household results and village counts of the units that waited for step 3.

The driver adds the villages up to districts and the region, and writes the run to PostGIS in one
transaction (bulk COPY), exactly the tables the single-process engine writes. Memory on a worker
is bounded by its unit (its households, the network around it) and by the largest group of
facilities that share households; the driver never holds the households.

Every task writes its output atomically into the run's work folder and is skipped when it is
there, so an interrupted run resumes from the units it finished (``--resume DIR``)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components
from sqlalchemy import Engine

from gis_service.analysis import coverage
from gis_service.analysis import network as net
from gis_service.analysis.allocation import facility_order
from gis_service.analysis.demand import MODES, outside_note, raster_totals
from gis_service.analysis.ladder import area_rows, gaps
from gis_service.analysis.parameters import (
    SERVICES,
    capacity_households,
    value,
)
from gis_service.analysis.partition import pack
from gis_service.distributed import geoparquet, tasks
from gis_service.distributed.dataset import (
    LEVELS,
    Dataset,
    stage_demand,
    stage_households,
    staged_partition,
    write_edges,
    write_facilities,
)
from gis_service.distributed.storage import (
    edge_kmh,
    inputs_from_dataset,
    inputs_from_postgis,
    plain_json,
    write_folder,
    write_postgis,
)
from gis_service.settings import Settings, get_settings

ALLOCATION_TASKS = 64


"""Groups of facilities across borders are packed into at most this many tasks: a fixed number,
so a resumed run (with another number of workers) finds the same tasks it finished."""


PRELOAD = "gis_service.distributed.tasks"


"""Workers import the analysis when they start (``dask worker --preload`` on a real cluster), so
the first task does not pay for it."""


WORKER_ENVIRON = {"MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)}


"""glibc's allocator settings for worker processes (docs/national-scale.md#worker-memory-allocator).
Dask sets ``MALLOC_TRIM_THRESHOLD_=65536`` by default, which also pins glibc's mmap threshold at
128 KiB: every array above it is mapped fresh and unmapped when freed, so a task pays a page fault
per 4 KiB of every temporary array (a third of a worker's CPU time went to the kernel). Arrays
up to 64 MiB come from the heap instead, which keeps up to 256 MiB of freed memory for the next
task. Measured with ``make benchmark-national``: 10 M households on 2 workers 18.8 -> 11.6 s,
worker peaks 605-615 -> 643-656 MB."""


Progress = Callable[[str, int, int], None]


"""progress(step, done, total), called as tasks finish."""


@dataclass
class ClusterOptions:
    scheduler: str | None = None  # tcp://HOST:PORT of a running dask scheduler; None: a local cluster
    workers: int | None = None  # local cluster: worker processes (default: the machine's cores)
    level: str | None = None  # partition level (province, regency, district); default: below the region
    resume: Path | None = None  # the work folder of an interrupted run, to finish it
    keep: bool = False  # keep the work folder after a successful run


class ClusterRunError(RuntimeError):
    """A task failed or a worker died; the message names the unit and how to resume."""


def run_coverage_dask(engine: Engine | None, options: coverage.CoverageOptions | None = None, *,
                      cluster: ClusterOptions | None = None, settings: Settings | None = None,
                      progress: Progress | None = None, dataset: Path | None = None,
                      output: Path | None = None) -> coverage.CoverageResult:
    """Run a coverage analysis on a Dask cluster (module docstring). Input: PostGIS (``engine``),
    or a dataset folder (``dataset``: GeoParquet, e.g. from ``generate_national``). Results: a
    stored run in PostGIS, or a folder of GeoParquet files (``output``; needed for a dataset,
    whose households are not in the database). Returns the run (run_id None for a folder)."""
    options = options or coverage.CoverageOptions()
    if options.raster is not None:  # workers on other hosts open it from their own working folders
        options = replace(options, raster=Path(options.raster).resolve())
    cluster = cluster or ClusterOptions()
    settings = settings or get_settings()
    _check(options, cluster, engine, dataset, output)
    report = progress or (lambda step, done, total: None)
    timer = coverage._Timer()
    inputs = inputs_from_dataset(Path(dataset), options, settings) if dataset is not None else \
        inputs_from_postgis(engine, options, settings, cluster.level)
    level = inputs.dataset.level
    network = settings.network_config()
    manifest = {"options": plain_json(asdict(options)), "facilities": inputs.facilities["id"].tolist(), "level": level,
                "params": inputs.params, "network": network, "input": str(dataset or "postgis"),
                "partitions": [[p.code, p.households] for p in inputs.dataset.partitions]}
    if options.demand == "raster":  # a raster replaced in place is another run
        stat = Path(options.raster).stat()
        manifest["raster"] = [stat.st_size, stat.st_mtime_ns, inputs.unit_size]
    work = _work_dir(cluster, settings, manifest)
    data = inputs.dataset
    if dataset is None:
        data = Dataset.load(work / "dataset") if (work / "dataset" / "dataset.json").exists() else \
            Dataset(work / "dataset", data.metric_crs, data.region_code, level, data.partitions, demand=options.demand)
    elif data.source == "buildings":
        data.households_dir = work / "households"  # only households of groups across borders
    facilities, params = inputs.facilities, inputs.params
    net_params = net.NetworkParams.from_config(network)
    services = [s for s in SERVICES if (facilities["service"] == s).any()]
    by_service = {s: facilities[facilities["service"] == s].reset_index(drop=True) for s in services}
    with _client(cluster) as client:
        workers = max(len(client.scheduler_info()["workers"]), 1)
        notes = inputs.notes + _stage(client, engine, data, facilities, options, params, report, work,
                                      inputs.unit_size, settings)
        timer.lap("stage")
        margins = tasks.Margins.of(options, params, net_params, services, edge_kmh(data, options))
        capacity = {s: _capacities(by_service[s], options, params) for s in services}
        grouped = {s for s in services if coverage._plant_groups(by_service[s], capacity[s])[0] is not None}
        spec = tasks.RunSpec(data, work, options, params, net_params, by_service, margins, capacity, grouped,
                             inputs.drawn, _drawn_boxes(inputs.drawn, by_service))
        shared = client.scatter(spec, broadcast=True)
        homes = _homes(data, by_service, options)
        reach = _run(client, "reach", [(p.name, tasks.reach_partition, (shared, i, homes[i]))
                                       for i, p in enumerate(data.partitions)], report, work)
        timer.lap("reach")
        packs, in_reach = _packs(reach, by_service, capacity, options, params, net_params)
        _run(client, "allocation", [(f"{s} group {k}", tasks.allocate_pack, (shared, s, k, *rest))
                                    for s, k, rest in packs], report, work)
        timer.lap("allocation")
        waiting = [i for i, p in enumerate(data.partitions) if reach[i].get("pending")]
        counts = [r["counts"] for r in reach if r.get("counts")]
        counts += _run(client, "counting", [(data.partitions[i].name, tasks.count_partition, (shared, i))
                                            for i in waiting], report, work)
        timer.lap("aggregation")
    region_code = data.region_code
    villages = pd.concat([c["villages"] for c in counts]).groupby(level=0).sum() if counts else pd.DataFrame()
    areas = area_rows(villages, services, region_code=region_code)
    gap_rows = gaps(areas, inputs.targets) if not inputs.targets.empty else pd.DataFrame()
    bands = _sum_bands([c["bands"] for c in counts]) if "lltt" in services else None
    summary = coverage._summary(areas, region_code, bands)
    if bands:
        summary["band_unit"] = "min" if options.method == "network" else "m"
    summary["demand"] = {"method": options.demand, "units": int(sum(p.households for p in data.partitions)),
                         "notes": notes}
    summary["engine"] = {"name": "dask", "workers": workers, "level": level, "partitions": len(data.partitions),
                         "allocation_groups": len(packs), "units_counted_in_one_pass": len(data.partitions) - len(waiting),
                         "reach_task_seconds": _phase_sums(reach)}
    if cluster.keep:
        summary["engine"]["work_dir"] = str(work)
    per_facility = [_facility_rows(s, by_service[s], capacity[s], in_reach[s], counts) for s in services]
    if inputs.drawn is not None:
        without = sorted(set(facilities["id"]) - set(inputs.drawn["facility_id"]))
        summary["facilities_without_drawn_area"] = [int(i) for i in without]
    polygons = _service_areas(work, by_service, options, params, net_params, inputs.drawn) \
        if options.service_areas else pd.DataFrame()
    report("writing results", 0, 1)
    tables = {"per_facility": per_facility, "areas": areas, "polygons": polygons, "gap_rows": gap_rows}
    if output is not None:
        run_id = None
        write_folder(Path(output), data, work, summary, params, options, timer, **tables)
    else:
        run_id = write_postgis(engine, inputs, data, work, summary, options, timer, **tables)
    report("writing results", 1, 1)
    if not cluster.keep:
        shutil.rmtree(work, ignore_errors=True)
    return coverage.CoverageResult(run_id, summary, timer.laps, areas, gap_rows)


def _check(options: coverage.CoverageOptions, cluster: ClusterOptions, engine: Engine | None,
           dataset: Path | None, output: Path | None) -> None:
    if dataset is not None and output is None:
        raise ValueError("a run on a dataset folder writes its results to a folder: add --output DIR")
    if dataset is None and engine is None:
        raise ValueError("no input: a database engine or a dataset folder")
    if dataset is not None and cluster.level is not None:
        raise ValueError("a dataset folder is already cut into units (see its dataset.json); drop --level")
    if options.method not in coverage.METHODS:
        raise ValueError(f"unknown method '{options.method}' ({', '.join(coverage.METHODS)})")
    if dataset is not None and options.method == "polygon":
        raise ValueError("a dataset folder has no drawn service areas (they live in the database): "
                         "use --method buffer or network")
    if options.demand not in MODES:
        raise ValueError(f"unknown demand '{options.demand}' (one of {', '.join(MODES)})")
    if dataset is not None and options.demand != "households":
        raise ValueError(f"a dataset folder brings its own demand (its households or footprints): drop "
                         f"--demand {options.demand}")
    if options.nearest_k < 0:
        raise ValueError("nearest_k must be 0 or more")
    if cluster.level is not None and cluster.level not in LEVELS:
        raise ValueError(f"unknown partition level '{cluster.level}' ({', '.join(LEVELS)})")
    if cluster.workers is not None and cluster.workers < 1:
        raise ValueError("workers must be 1 or more")


def _work_dir(cluster: ClusterOptions, settings: Settings, manifest: dict) -> Path:
    """The run's work folder: a new one, or the one to resume if it holds the same run."""
    body = json.dumps(manifest, sort_keys=True, default=str)
    if cluster.resume is not None:
        work = Path(cluster.resume)
        saved = work / "run.json"
        if not saved.exists():
            raise ValueError(f"{work} is not the work folder of a coverage run (no run.json)")
        if saved.read_text(encoding="utf-8") != body:
            raise ValueError(f"{work} holds a run with other options, facilities or households; "
                             "run again without --resume to start afresh")
        return work
    digest = hashlib.sha1(body.encode()).hexdigest()[:8]
    work = settings.data_dir / "cluster-runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{digest}-{os.getpid()}"
    work.mkdir(parents=True)
    (work / "run.json").write_text(body, encoding="utf-8")
    return work


@contextmanager
def _client(cluster: ClusterOptions):
    from dask.distributed import Client

    if cluster.scheduler:
        with Client(cluster.scheduler, timeout="30s") as client:
            yield client
        return
    with local_cluster(cluster.workers or os.cpu_count() or 1) as local, Client(local) as client:
        yield client


def local_cluster(workers: int):
    """A cluster of ``workers`` processes of one thread on this machine, listening on loopback
    only, with the analysis preloaded and the workers' memory allocator set by
    ``WORKER_ENVIRON`` (which must be in the environment before a worker process starts)."""
    import dask
    from dask.distributed import LocalCluster

    environ = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_ENVIRON.items()}
    before = {k: os.environ.get(k) for k in WORKER_ENVIRON}
    os.environ.update(WORKER_ENVIRON)  # a nanny prefers this process's environment to the config
    try:
        with dask.config.set(environ):  # read when each nanny is made, inside the constructor
            return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                dashboard_address=None, silence_logs=logging.ERROR, preload=[PRELOAD])
    finally:  # this process's children (PostgreSQL, job workers) keep the environment they had
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _stage(client, engine: Engine | None, dataset: Dataset, facilities: pd.DataFrame, options, params: dict,
           report: Progress, work: Path, unit_size: float, settings: Settings) -> list[str]:
    """Households per unit as GeoParquet, read from PostGIS on the workers (modelled demand: made
    there from the unit's settlements, village totals or raster cells); facilities and edges
    here. A dataset of footprints needs none: the reach step makes each unit's households.
    Returns the demand's notes, as one process would make them."""
    if dataset.source == "buildings":
        return ["one household per building footprint; rungs unknown without a survey"]
    todo = []
    for i, p in enumerate(dataset.partitions):
        path = dataset.households_path(p)
        if path.exists():  # staged before the run was interrupted
            try:
                dataset.partitions[i] = staged_partition(p.code, path)
                continue
            except (OSError, ValueError, KeyError):  # unreadable: stage it again
                path.unlink()
        if p.households:
            todo.append((i, p))
    if todo and engine is None:
        raise ValueError(f"{dataset.root}: the households of {todo[0][1].name} are missing and there is no "
                         "database to stage them from")
    url = engine.url.render_as_string(hide_password=False) if todo else ""
    bbox = tuple(settings.region_config().bbox)
    if options.demand == "households":
        calls = [(p.name, stage_households, (url, p.code, dataset.households_path(p), dataset.metric_crs, params))
                 for _, p in todo]
    else:
        source = {"raster": options.raster, "year": options.population_year, "bbox": bbox}
        calls = [(p.name, stage_demand, (url, options.demand, p.code, i, (dataset.households_path(p),
                                                                           dataset.points_path(p)),
                                         dataset.metric_crs, params, unit_size, source)) for i, p in todo]
    if options.demand == "raster":
        calls.append(("raster totals", raster_totals, (Path(options.raster), bbox)))
    staged = _run(client, "staging", calls, report, work)
    for (i, _), part in zip(todo, staged):
        dataset.partitions[i] = part
    if options.method == "network" and not dataset.edges_path.exists():
        write_edges(net.load_edges(engine, metric_crs=dataset.metric_crs), dataset.edges_path, dataset.metric_crs)
    write_facilities(facilities, dataset.facilities_path, dataset.metric_crs)
    dataset.save()
    if options.demand == "households":
        return []
    sources = [geoparquet.metadata(dataset.points_path(p)) for p in dataset.partitions
               if dataset.points_path(p).exists()]
    if not sum(m["source_points"] for m in sources):
        raise ValueError(f"no demand: the {options.demand} source has no populated points "
                         f"({'import settlements first' if options.demand != 'raster' else 'check the raster'})")
    if options.demand != "raster":
        return []
    cells, people = staged[-1]
    return outside_note(cells - sum(m["source_points"] for m in sources),
                        people - sum(m["source_people"] for m in sources))


def _run(client, step: str, calls: list[tuple[str, Callable, tuple]], report: Progress, work: Path) -> list:
    """Submit the calls, report progress as they finish, and return their results in order. A
    failure cancels the rest and says which unit failed and how to resume."""
    from dask.distributed import as_completed
    from distributed.scheduler import KilledWorker

    futures = [client.submit(fn, *args, key=f"{step}-{name}-{os.urandom(4).hex()}", pure=False)
               for name, fn, args in calls]
    names = {f.key: name for f, (name, _, _) in zip(futures, calls)}
    report(step, 0, len(futures))
    resume = f"finished units are kept: run the same command with --resume {work}"
    for done, future in enumerate(as_completed(futures), 1):
        try:
            future.result()
        except KilledWorker as exc:
            client.cancel(futures)
            raise ClusterRunError(f"{step} of {names[future.key]}: the worker running it died (most often "
                                  f"memory: give workers more, or cut finer with --level); {resume}") from exc
        except Exception as exc:
            client.cancel(futures)
            raise ClusterRunError(f"{step} of {names[future.key]} failed on a worker: "
                                  f"{type(exc).__name__}: {exc}; {resume}") from exc
        report(step, done, len(futures))
    return client.gather(futures)


def _homes(dataset: Dataset, by_service: dict[str, pd.DataFrame], options) -> list[dict[str, list[int]]]:
    """Per partition, the facilities whose network service areas it draws: each facility once, in
    the unit whose households' box is nearest to it."""
    homes: list[dict[str, list[int]]] = [{} for _ in dataset.partitions]
    boxes = [(i, p.bbox) for i, p in enumerate(dataset.partitions) if p.bbox is not None]
    if options.method != "network" or not boxes:
        return homes
    for service, fac in by_service.items():
        if service == "offsite":
            continue
        distance = tasks.box_distances(fac[["x", "y"]].to_numpy(float), np.array([box for _, box in boxes], float))
        for k, nearest in enumerate(np.argmin(distance, axis=1)):
            homes[boxes[nearest][0]].setdefault(service, []).append(k)
    return homes


def _capacities(fac: pd.DataFrame, options, params: dict) -> np.ndarray:
    capacity = np.array([capacity_households(c, u, params) if options.capacity else None
                         for c, u in zip(fac["capacity"], fac["capacity_unit"])], dtype=float)
    return np.where(np.isnan(capacity), np.inf, capacity)


def _limit(service: str, options, params: dict, net_params: net.NetworkParams) -> float:
    if options.method == "polygon":  # inside the drawn area, at any distance
        return np.inf
    if service == "offsite" or options.method == "buffer":
        return coverage._radius(service, options, params, net_params)
    return max(options.thresholds_min) if service == "lltt" else value(params, "mck_walk_minutes")


def _packs(reach: list[dict], by_service: dict[str, pd.DataFrame], capacity: dict, options, params: dict,
           net_params: net.NetworkParams):
    """Allocation tasks for what the units left open: per service, the groups of open facilities
    (joined by shared households in any unit, and by a shared plant) packed heaviest first, with
    the units whose pairs they read. Also the households in reach of every facility."""
    out, in_reach = [], {}
    for service, fac in by_service.items():
        n = len(fac)
        counts, links, where = np.zeros(n, np.int64), [], [[] for _ in range(n)]
        is_open = np.zeros(n, bool)
        for p, summary in enumerate(reach):
            mine = summary.get(service)
            if not mine:
                continue
            counts[np.asarray(mine["facilities"], np.int64)] += np.asarray(mine["pairs"], np.int64)
            is_open[np.asarray(mine["open"], np.int64)] = True
            links.extend(mine["links"])
            for f in mine["open"]:
                where[f].append(p)
        in_reach[service] = counts
        if not is_open.any():
            continue
        group, group_capacity = coverage._plant_groups(fac, capacity[service])
        comp = _components(n, links, group)
        n_comp = int(comp.max()) + 1
        weight = np.bincount(comp[is_open], weights=counts[is_open], minlength=n_comp)
        live = np.flatnonzero(weight)
        part_of = np.full(n_comp, -1)
        part_of[live] = pack(weight[live], min(len(live), ALLOCATION_TASKS))
        priority = fac["status"].map(coverage.STATUS_PRIORITY).to_numpy()
        order = facility_order(n, how=options.order, priority=priority, reach=counts)
        rank = np.empty(n, np.int64)
        rank[order] = np.arange(n)
        limit = _limit(service, options, params, net_params)
        for k in range(int(part_of.max()) + 1):
            members = np.flatnonzero((part_of[comp] == k) & is_open)
            units = sorted({p for f in members for p in where[f]})
            out.append((service, k, (members.tolist(), units, capacity[service].tolist(), rank.tolist(),
                                     None if group is None else group.tolist(),
                                     None if group_capacity is None else group_capacity.tolist(), limit)))
    return out, in_reach


def _components(n: int, links: list, group: np.ndarray | None) -> np.ndarray:
    """Component of every facility: linked through shared households or a shared plant."""
    pairs = np.asarray(links, np.int64).reshape(-1, 2)
    rows, cols = [pairs[:, 0]], [pairs[:, 1]]
    if group is not None:
        members = np.flatnonzero(group >= 0)
        rows.append(members)
        cols.append(group[members])
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = sp.coo_matrix((np.ones(len(r), np.int8), (r, c)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _phase_sums(reach: list[dict]) -> dict[str, float]:
    """Seconds of the reach tasks per phase (households, network, reach, allocation,
    service_areas, handoff, counts), added over the units: worker time, not wall time. A resumed
    run reports the units it found finished with the seconds they took then."""
    total: dict[str, float] = {}
    for summary in reach:
        for phase, seconds in summary.get("seconds", {}).items():
            total[phase] = total.get(phase, 0.0) + seconds
    return {k: round(v, 3) for k, v in total.items()}


def _sum_bands(parts: list[dict | None]) -> dict:
    total: dict[str, int] = {}
    for bands in parts:
        for key, count in (bands or {}).items():
            total[key] = total.get(key, 0) + count
    return total


def _facility_rows(service: str, fac: pd.DataFrame, capacity: np.ndarray, in_reach: np.ndarray,
                   counts: list[dict]) -> pd.DataFrame:
    people = np.sum([c["served_people"][service] for c in counts], axis=0) if counts else np.zeros(len(fac))
    served = np.sum([c["served"][service] for c in counts], axis=0) if counts else np.zeros(len(fac))
    return pd.DataFrame({"facility_id": fac["id"].to_numpy(), "service": service,
                         "capacity_households": np.where(np.isfinite(capacity), capacity, np.nan),
                         "households_in_reach": in_reach, "served_households": np.asarray(served, np.int64),
                         "served_people": np.asarray(people).astype(int)})


def _service_areas(work: Path, by_service: dict[str, pd.DataFrame], options, params: dict,
                   net_params: net.NetworkParams, drawn: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """The drawn areas (--method polygon), radius discs (drawn here: they need no data) and the
    network polygons the units drew."""
    if drawn is not None:
        parts = [coverage._drawn_polygons(s, fac, drawn) for s, fac in by_service.items()]
    else:
        parts = [coverage._service_areas(s, fac, options, params, {}, net_params, {})
                 for s, fac in by_service.items() if s == "offsite" or options.method == "buffer"]
    for path in sorted((work / "areas").glob("*.parquet")):
        frame = pq.read_table(path).to_pandas()
        frame["geom"] = shapely.from_wkb(frame["geom"].to_numpy())
        parts.append(frame)
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _drawn_boxes(drawn: gpd.GeoDataFrame | None, by_service: dict[str, pd.DataFrame]) -> dict | None:
    """Per service, the box of each facility's drawn area (NaN without one: it serves nobody)."""
    if drawn is None:
        return None
    boxes = pd.DataFrame(shapely.bounds(drawn.geometry.to_numpy()), index=drawn["facility_id"].to_numpy())
    return {s: boxes.reindex(fac["id"].to_numpy()).to_numpy(float) for s, fac in by_service.items()}
