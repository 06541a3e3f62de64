"""Coverage engine speed on generated district- and province-size regions (issue: coverage engine;
targets on a 2-core machine: end to end < 2 s for the district, < 30 s for the province).

Per size, a fresh database of a throwaway cluster (durable settings, like the managed one) gets the
demo region (``load_demo``: scale 1 = ~42k households, 25 = ~1.05 M), a synthetic road grid over
the region's bounding box (~20k / ~300k edges, split at every grid node so they connect) and extra
existing desludging depots (~30 / ~500 LLTT facilities). Then, in one process, it measures:

- end to end: ``run_coverage`` (network, 30/60 min; all existing and pilot facilities), median of
  ``--repeat`` runs and of each step (the allocation step includes the service-area polygons),
  plus one network run without the polygons and one buffer run (5 km);
- the compute core against floors on the same arrays: buffer reach vs a plain cKDTree query;
  network reach and travel times vs ONE scipy csgraph multi-source dijkstra call, and vs
  pgRouting's ``pgr_drivingDistance`` on the same graph (costs in minutes);
- peak memory of this process (ru_maxrss), and a cProfile summary of one end-to-end run of
  ``--profile`` (default: province).

Not a test: it prints.

    python scripts/benchmark_coverage.py [--sizes district,province] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import multiprocessing
import pstats
import resource
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import scipy
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from sqlalchemy import Connection, Engine, create_engine, text

from gis_service.analysis.coverage import CoverageOptions, buffer_pairs, run_coverage
from gis_service.analysis.network import (
    Graph,
    NetworkParams,
    build_graph,
    facility_to_points,
    load_edges,
    snap_facilities,
    travel_times,
)
from gis_service.analysis.node_reach import allocate_reach, node_reach
from gis_service.analysis.parameters import SERVICE_OF_TYPE
from gis_service.db import migrate
from gis_service.db.cluster import LocalCluster, free_port
from gis_service.demo.load import DEMO_SOURCE, load_demo
from gis_service.settings import Settings, get_settings

from bench_results import record  # scripts/bench_results.py, next to this script


@dataclass(frozen=True)
class Size:
    scale: float  # load_demo scale (households)
    edges: int  # target number of synthetic grid edges
    facilities: int  # target number of existing + pilot LLTT facilities
    target_s: float  # end-to-end target of the issue


SIZES = {"district": Size(1, 20_000, 30, 2.0), "province": Size(25, 300_000, 500, 10.0)}
THRESHOLDS_MIN = [30.0, 60.0]
LIMIT_MIN = 60.0
RADIUS_M = 5000.0
SEED = "6207"
LLTT_TYPES = ", ".join(f"'{t}'" for t, s in sorted(SERVICE_OF_TYPE.items()) if s == "lltt")
LLTT_IN_RUN = f"status IN ('existing', 'pilot') AND type IN ({LLTT_TYPES})"
PROFILE_FILTER = r"gis_service/|scipy/|psycopg"

GRID_SQL = """
WITH p AS (SELECT CAST(:x0 AS float8) AS x0, CAST(:y0 AS float8) AS y0, CAST(:s AS float8) AS s,
                  CAST(:srid AS int) AS srid),
seg AS (
    SELECT 'h' AS d, i, j, i + 1 AS i2, j AS j2
    FROM generate_series(0, CAST(:nx AS int) - 2) i, generate_series(0, CAST(:ny AS int) - 1) j
    UNION ALL
    SELECT 'v', i, j, i, j + 1
    FROM generate_series(0, CAST(:nx AS int) - 1) i, generate_series(0, CAST(:ny AS int) - 2) j)
INSERT INTO network_edge (source, source_id, mode, class, speed_kmh, oneway, length_m, geom)
SELECT :source, format('bench-grid-%s-%s-%s', d, i, j), 'road', 'track', NULL, false, s,
       ST_Transform(ST_MakeLine(ST_SetSRID(ST_MakePoint(x0 + i * s, y0 + j * s), srid),
                                ST_SetSRID(ST_MakePoint(x0 + i2 * s, y0 + j2 * s), srid)), 4326)
FROM seg, p
"""

DEPOT_SQL = """
INSERT INTO facility (source, source_id, name, type, status, capacity, capacity_unit,
                      village_code, geom)
SELECT :source, 'bench-depot-' || n, 'Benchmark depot ' || n, 'desludging_depot', 'existing', 2,
       'trucks', village_code, geom
FROM (SELECT row_number() OVER (ORDER BY key) AS n, village_code, geom
      FROM (SELECT md5(id::text || :seed) AS key, village_code, geom FROM household
            ORDER BY key LIMIT :k) picked) h
"""

PGR_SQL = ("SELECT count(*) FROM pgr_drivingDistance("
           "'SELECT id, source, target, cost, reverse_cost FROM bench_edges', "
           "%s::bigint[], %s, equicost => false)")


def _fresh_db(cluster: LocalCluster, template: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.url("postgres").replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return cluster.url(name)


def _timed(fn: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    """Median wall seconds of ``repeat`` calls, and the last call's result."""
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _log(message: str) -> None:
    print(message, flush=True)


# ---- building the region -------------------------------------------------------------------------

def _add_grid(conn: Connection, target_edges: int, srid: int) -> tuple[int, float]:
    """A road grid over the region's bounding box, ~``target_edges`` edges: (count, spacing)."""
    x0, y0, x1, y1 = conn.execute(text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        f"FROM (SELECT ST_Extent(ST_Transform(geom, {srid})) AS e FROM admin_area) b")).one()
    spacing = math.sqrt(2 * (x1 - x0) * (y1 - y0) / target_edges)  # edges ~ 2 * area / spacing^2
    nx, ny = int((x1 - x0) // spacing) + 1, int((y1 - y0) // spacing) + 1
    count = conn.execute(text(GRID_SQL), {"x0": x0, "y0": y0, "s": spacing, "srid": srid,
                                          "nx": nx, "ny": ny, "source": DEMO_SOURCE}).rowcount
    return count, spacing


def _add_depots(conn: Connection, target: int) -> int:
    """Existing depots at seeded random household locations, up to ``target`` LLTT facilities."""
    have = conn.execute(text(f"SELECT count(*) FROM facility WHERE {LLTT_IN_RUN}")).scalar_one()
    k = max(0, target - have)
    conn.execute(text(DEPOT_SQL), {"source": DEMO_SOURCE, "seed": SEED, "k": k})
    return k


def _build(engine: Engine, size: Size, settings: Settings, srid: int) -> dict:
    seconds, _ = _timed(lambda: load_demo(engine, scale=size.scale, settings=settings))
    started = time.perf_counter()
    with engine.begin() as conn:
        edges, spacing = _add_grid(conn, size.edges, srid)
    grid_s = time.perf_counter() - started
    with engine.begin() as conn:
        depots = _add_depots(conn, size.facilities)
        conn.execute(text("ANALYZE"))
        counts = conn.execute(text(
            "SELECT (SELECT count(*) FROM household), (SELECT count(*) FROM network_edge), "
            f"(SELECT count(*) FROM facility WHERE {LLTT_IN_RUN}), "
            "(SELECT count(*) FROM facility WHERE status IN ('existing', 'pilot'))")).one()
    return {"load_demo_s": round(seconds, 2), "grid_s": round(grid_s, 2),
            "grid_spacing_m": round(spacing), "grid_edges": edges, "depots_added": depots,
            "households": counts[0], "network_edges": counts[1], "lltt_facilities": counts[2],
            "facilities_in_run": counts[3]}


# ---- end to end ----------------------------------------------------------------------------------

def _end_to_end(engine: Engine, options: CoverageOptions, settings: Settings, repeat: int) -> dict:
    walls, steps, result = [], [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run_coverage(engine, options, settings=settings)
        walls.append(time.perf_counter() - started)
        steps.append(result.seconds)
    summary = result.summary
    return {"median_s": round(statistics.median(walls), 3), "runs_s": [round(w, 3) for w in walls],
            "steps_s": {k: round(statistics.median(s[k] for s in steps), 3) for k in steps[0]},
            "runs_steps_s": steps,
            "served_lltt_households": summary.get("served_lltt_households"),
            "lltt_bands": summary.get("lltt_bands")}


def _one_run(url: str, options: CoverageOptions) -> dict:
    started = time.perf_counter()
    engine = create_engine(url)
    run_coverage(engine, options, settings=get_settings())
    engine.dispose()
    return {"s": round(time.perf_counter() - started, 3), "peak_rss_mib": round(_high_water_mib())}


def _high_water_mib() -> float:
    """This process image's peak RSS (VmHWM). Unlike ru_maxrss it starts afresh at exec, so a
    spawned child does not inherit the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return _peak_mib()


def _fresh_process_run(url: str, options: CoverageOptions) -> dict:
    """One network run in a new process: its peak memory is the run's own, not the region build's
    of this process (ru_maxrss only grows)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_one_run, url, options).result()


def _profile(engine: Engine, options: CoverageOptions, settings: Settings) -> str:
    """Top 12 functions by cumulative time (package, scipy, psycopg) of one end-to-end run."""
    prof = cProfile.Profile()
    prof.runcall(run_coverage, engine, options, settings=settings)
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(PROFILE_FILTER, 12)
    report = buf.getvalue()
    for prefix in (Path(scipy.__file__).parents[1], Path(__file__).resolve().parents[1]):
        report = report.replace(f"{prefix}/", "")
    return report.strip("\n")


# ---- compute core vs floors ----------------------------------------------------------------------

def _metric_xy(url: str, sql: str, to_metric: Transformer) -> np.ndarray:
    """(n, 2) metric coordinates of a lon/lat query, read through COPY."""
    buf = io.BytesIO()
    with (psycopg.connect(url) as conn,
          conn.cursor().copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy):
        for chunk in copy:
            buf.write(chunk)
    buf.seek(0)
    lonlat = pd.read_csv(buf, header=None, names=["lon", "lat"]).to_numpy()
    return np.column_stack(to_metric.transform(lonlat[:, 0], lonlat[:, 1]))


def _radius(fac_xy: np.ndarray, hh_xy: np.ndarray, repeat: int) -> dict:
    ours, pairs = _timed(lambda: buffer_pairs(fac_xy, hh_xy, RADIUS_M), repeat)
    floor, lists = _timed(lambda: cKDTree(hh_xy).query_ball_point(fac_xy, r=RADIUS_M), repeat)
    return {"ours_s": round(ours, 6), "floor_s": round(floor, 6), "ratio": round(ours / floor, 2),
            "pairs": len(pairs[0]), "floor_pairs": int(sum(len(x) for x in lists))}


def _pgr_edges(graph: Graph) -> pd.DataFrame:
    """The graph's arcs as pgRouting edges (nodes + 1): one row per two-way pair, else one-way."""
    arcs = graph.csr.tocoo()
    tail, head, cost = arcs.row.astype(np.int64), arcs.col.astype(np.int64), arcs.data
    key = tail * graph.n_nodes + head
    order = np.argsort(key)
    pos = np.minimum(np.searchsorted(key[order], head * graph.n_nodes + tail), len(key) - 1)
    has_reverse = key[order][pos] == head * graph.n_nodes + tail
    keep = (tail < head) | ~has_reverse
    reverse = np.where(has_reverse, cost[order][pos], -1.0)
    return pd.DataFrame({"id": np.arange(1, keep.sum() + 1), "source": tail[keep] + 1,
                         "target": head[keep] + 1, "cost": cost[keep],
                         "reverse_cost": reverse[keep]})


def _pgrouting(url: str, graph: Graph, fac_nodes: np.ndarray, repeat: int) -> dict:
    edges = _pgr_edges(graph)
    buf = io.StringIO()
    edges.to_csv(buf, header=False, index=False)
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE bench_edges (id bigint PRIMARY KEY, source bigint, "
                     "target bigint, cost float8, reverse_cost float8)")
        with conn.cursor().copy("COPY bench_edges FROM STDIN (FORMAT csv)") as copy:
            copy.write(buf.getvalue())
        conn.commit()
        starts = [int(n) + 1 for n in fac_nodes]
        seconds, rows = _timed(
            lambda: conn.execute(PGR_SQL, (starts, LIMIT_MIN)).fetchone()[0], repeat)
    return {"s": round(seconds, 6), "rows": rows, "edges_rows": len(edges)}


def _network(engine: Engine, url: str, fac_xy: np.ndarray, hh_xy: np.ndarray, settings: Settings,
             repeat: int) -> dict:
    params = NetworkParams.from_config(settings.network_config())
    crs = settings.region_config().metric_crs
    load_s, edges = _timed(lambda: load_edges(engine, metric_crs=crs))
    build_s, graph = _timed(lambda: build_graph(edges, modes={"road"}, params=params))
    nodes = snap_facilities(graph, fac_xy, params=params, layers=None)
    fac_nodes = nodes[nodes >= 0]
    def fresh(fn):  # a graph keeps the households' walk to the network: time it every call
        def call():
            graph._walks.clear()
            return fn()
        return call

    ftp_s, reach = _timed(fresh(lambda: facility_to_points(
        graph, fac_xy, hh_xy, params=params, limit_min=LIMIT_MIN)), repeat)
    n_pairs = len(reach.point)
    del reach
    nr_s, per_node = _timed(fresh(lambda: node_reach(graph, fac_xy, hh_xy, params=params,
                                                     limit_min=LIMIT_MIN)), repeat)
    capacity = np.full(len(fac_xy), 2000.0)
    alloc_s, alloc = _timed(lambda: allocate_reach(
        [per_node], n_facilities=len(fac_xy), n_households=len(hh_xy), capacity=capacity,
        order=np.arange(len(fac_xy))), repeat)
    tt_s, times = _timed(lambda: travel_times(graph, fac_nodes, limit_min=LIMIT_MIN), repeat)
    floor_s, dense = _timed(lambda: dijkstra(graph.csr, indices=fac_nodes, limit=LIMIT_MIN), repeat)
    floor_reached = int(np.isfinite(dense).sum())
    del dense
    min_only_s, _ = _timed(lambda: dijkstra(graph.csr, indices=fac_nodes, limit=LIMIT_MIN,
                                            min_only=True), repeat)
    pgr = _pgrouting(url, graph, fac_nodes, repeat)
    return {"load_edges_s": round(load_s, 3), "build_graph_s": round(build_s, 3),
            "nodes": graph.n_nodes, "arcs": graph.csr.nnz, "sources": len(fac_nodes),
            "facility_to_points_s": round(ftp_s, 6), "reach_pairs": n_pairs,
            "node_reach_s": round(nr_s, 6), "allocate_reach_s": round(alloc_s, 6),
            "allocate_reach_in_reach": int(alloc.in_reach.sum()),
            "ratio_node_reach": round(nr_s / floor_s, 2),
            "travel_times_s": round(tt_s, 6), "reached": times.nnz,
            "dijkstra_s": round(floor_s, 6), "dijkstra_reached": floor_reached,
            "dijkstra_min_only_s": round(min_only_s, 6), "pgr_s": pgr["s"],
            "pgr_rows": pgr["rows"], "pgr_edge_rows": pgr["edges_rows"],
            "ratio_facility_to_points": round(ftp_s / floor_s, 2),
            "ratio_travel_times": round(tt_s / floor_s, 2),
            "ratio_travel_times_min_only": round(tt_s / min_only_s, 2),
            "ratio_pgr_to_travel_times": round(pgr["s"] / tt_s, 2)}


def _floors(engine: Engine, url: str, settings: Settings, repeat: int) -> dict:
    to_metric = Transformer.from_crs("EPSG:4326", settings.region_config().metric_crs,
                                     always_xy=True)
    hh_xy = _metric_xy(url, "SELECT ST_X(geom), ST_Y(geom) FROM household ORDER BY id", to_metric)
    fac_xy = _metric_xy(url, f"SELECT ST_X(geom), ST_Y(geom) FROM facility WHERE {LLTT_IN_RUN} "
                             "ORDER BY id", to_metric)
    return {"radius": _radius(fac_xy, hh_xy, repeat),
            "network": _network(engine, url, fac_xy, hh_xy, settings, repeat)}


# ---- one size, printing, main -------------------------------------------------------------------

def _bench_size(cluster: LocalCluster, size: Size, settings: Settings, repeat: int,
                profile: bool) -> dict:
    url = _fresh_db(cluster, "bench_template")
    engine = create_engine(url)
    srid = int(settings.region_config().metric_crs.split(":")[1])
    try:
        out: dict = {"region": _build(engine, size, settings, srid), "target_s": size.target_s}
        _log(f"  region built: {out['region']}")
        network = CoverageOptions(method="network", thresholds_min=THRESHOLDS_MIN)
        out["network"] = _end_to_end(engine, network, settings, repeat)
        _log(f"  end to end (network): {out['network']['runs_s']} s")
        no_areas = CoverageOptions(method="network", thresholds_min=THRESHOLDS_MIN,
                                   service_areas=False)
        out["network_no_polygons"] = _end_to_end(engine, no_areas, settings, 1)
        buffer = CoverageOptions(method="buffer", distance_m=RADIUS_M)
        out["buffer"] = _end_to_end(engine, buffer, settings, 1)
        out["peak_rss_mib_end_to_end"] = round(_peak_mib())
        out["fresh_process"] = _fresh_process_run(url, network)
        if profile:
            out["profile"] = _profile(engine, network, settings)
        out["floors"] = _floors(engine, url.replace("+psycopg", ""), settings, repeat)
        out["peak_rss_mib"] = round(_peak_mib())
    finally:
        engine.dispose()
    return out


def _steps(steps: dict) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in steps.items())


def _print_size(name: str, r: dict) -> None:
    reg = r["region"]
    rad, nw = r["floors"]["radius"], r["floors"]["network"]
    print(f"\n== {name}: {reg['households']:,} households, {reg['lltt_facilities']} LLTT "
          f"facilities ({reg['facilities_in_run']} facilities in the run), "
          f"{reg['network_edges']:,} network edges "
          f"(grid {reg['grid_edges']:,} at {reg['grid_spacing_m']} m) ==")
    print(f"build: load_demo {reg['load_demo_s']} s, grid {reg['grid_s']} s, "
          f"{reg['depots_added']} depots added")
    runs = ((f"network {THRESHOLDS_MIN} min", r["network"]),
            ("same, without service-area polygons", r["network_no_polygons"]),
            (f"buffer {RADIUS_M:g} m", r["buffer"]))
    for label, run in runs:
        print(f"end to end, {label}: {run['median_s']:.2f} s median (target "
              f"< {r['target_s']:g} s); median steps: {_steps(run['steps_s'])}")
        for i, (wall, steps) in enumerate(zip(run["runs_s"], run["runs_steps_s"]), 1):
            print(f"  run {i}: {wall:.2f} s = {_steps(steps)}")
        print(f"  LLTT served households {run['served_lltt_households']:,}, "
              f"bands {run['lltt_bands']}")
    print(f"graph: {nw['nodes']:,} nodes, {nw['arcs']:,} arcs, {nw['sources']} sources; "
          f"load_edges {nw['load_edges_s']:.2f} s, build_graph {nw['build_graph_s']:.2f} s")
    print(f"\n{'compute core (median)':<50} {'ours ms':>8} {'floor ms':>8} {'ratio':>7}  target")
    rows = [
        (f"radius {RADIUS_M:g} m: buffer_pairs vs cKDTree", rad["ours_s"], rad["floor_s"],
         rad["ratio"], "<= 1.5x"),
        ("network reach per node: node_reach vs 1 dijkstra", nw["node_reach_s"], nw["dijkstra_s"],
         nw["ratio_node_reach"], "<= 3x"),
        ("  + allocation over it (2,000 households each)", nw["node_reach_s"] + nw["allocate_reach_s"],
         nw["dijkstra_s"], round((nw["node_reach_s"] + nw["allocate_reach_s"]) / nw["dijkstra_s"], 2),
         "(info)"),
        ("network pairs: facility_to_points vs 1 dijkstra", nw["facility_to_points_s"],
         nw["dijkstra_s"], nw["ratio_facility_to_points"], "(info)"),
        ("network: travel_times vs 1 dijkstra", nw["travel_times_s"], nw["dijkstra_s"],
         nw["ratio_travel_times"], "<= 1x"),
        ("network: travel_times vs dijkstra min_only", nw["travel_times_s"],
         nw["dijkstra_min_only_s"], nw["ratio_travel_times_min_only"], "(info)"),
        ("pgr_drivingDistance vs our travel_times", nw["pgr_s"], nw["travel_times_s"],
         nw["ratio_pgr_to_travel_times"], ">= 10x"),
    ]
    for label, ours, floor, ratio, target in rows:
        print(f"{label:<50} {ours * 1e3:>8.1f} {floor * 1e3:>8.1f} {ratio:>6.2f}x  {target}")
    print(f"pairs: radius {rad['pairs']:,} (floor {rad['floor_pairs']:,}); network reach "
          f"{nw['reach_pairs']:,}; reached nodes: ours {nw['reached']:,}, dijkstra "
          f"{nw['dijkstra_reached']:,}, pgRouting rows {nw['pgr_rows']:,} "
          f"({nw['pgr_edge_rows']:,} edge rows)")
    fresh = r["fresh_process"]
    print(f"one network run in a fresh process: {fresh['s']:.2f} s with start-up, peak RSS "
          f"{fresh['peak_rss_mib']:,} MiB (target <= 1,536 MiB at province size)")
    print(f"peak RSS of this process: {r['peak_rss_mib_end_to_end']:,} MiB after the end-to-end "
          f"runs, {r['peak_rss_mib']:,} MiB after the floors (PostgreSQL not included)")
    if "profile" in r:
        print(f"\nprofile of one end-to-end network run ({name}), top 12 by cumulative time:")
        print(r["profile"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="district,province",
                        help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", default="province", help="size to profile end to end")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = set(sizes) - set(SIZES)
    if unknown:
        parser.error(f"unknown sizes {sorted(unknown)}; use {', '.join(SIZES)}")

    settings = get_settings()
    work = Path(tempfile.mkdtemp(prefix="gis-bench-coverage-"))
    cluster = LocalCluster(home=work / "cluster", port=free_port(), durable=True)
    cluster.start()
    results: dict = {"repeat": args.repeat, "sizes": {}}
    try:
        cluster.ensure_database("bench_template")
        migrate.upgrade(cluster.url("bench_template"))
        for name in sizes:
            _log(f"{name}: building and measuring ...")
            results["sizes"][name] = _bench_size(cluster, SIZES[name], settings, args.repeat,
                                                 profile=name == args.profile)
            _print_size(name, results["sizes"][name])
    finally:
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    record("coverage", results, _summary(results))


def _summary(results: dict) -> str:
    parts = []
    for name, r in results["sizes"].items():
        nw = r["floors"]["network"]
        parts.append(f"{name}: network run {r['network']['median_s']:.2f} s "
                     f"(target {r['target_s']:g} s), peak {r['fresh_process']['peak_rss_mib']:,} MiB; "
                     f"node_reach {nw['ratio_node_reach']:.2f}x dijkstra, travel_times "
                     f"{nw['ratio_travel_times']:.2f}x dijkstra, pgRouting {nw['ratio_pgr_to_travel_times']:.1f}x ours")
    return "; ".join(parts)


if __name__ == "__main__":
    main()
