"""National-scale coverage (issue 7): one process against a Dask cluster of 1 and 2 local workers,
on generated provinces of building footprints (``gis-service demo national``), all measured in one
run, with the scipy cKDTree floor on raw arrays.

Per size (default 1 M and 10 M footprints; regencies of 500k footprints each; 500 depots; buffer
of 1.5 km with truck capacity, as in the "Coverage core" floors of docs/benchmarks.md):

- floor: ``cKDTree(depots).query(households, distance_upper_bound=1500)`` on metric arrays
  already in memory (what an answer costs with no I/O, no capacity, no villages), and the reach
  kernel on the same arrays (``buffer_pairs``: every pair in reach, which allocation needs);
- one process: the engine's own steps on the whole region at once in a fresh process (households
  from every regency's footprints, reach pairs, capacity-limited allocation, ladder and village
  counts, one GeoParquet of household results), its wall time and peak memory;
- dask, 1 and 2 workers: ``run_coverage_dask`` from the dataset folder to a results folder on a
  fresh local cluster (started beforehand; its start-up is reported apart), wall time, the time of
  each step, and the peak memory of each worker; ``--repeat`` runs (3), each on a fresh cluster,
  of which the median is reported with all their times;
- the ratio one process / dask, the reach step's throughput per worker against the floor, and
  100 M projected from the per-regency figures (200 regencies over the same workers).

Both engines must serve the same number of households (checked). Not a test: it prints.

    python scripts/benchmark_national.py [--sizes 1000000,10000000] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from pyproj import Transformer
from scipy.spatial import cKDTree

from gis_service.analysis.allocation import allocate, facility_order
from gis_service.analysis.coverage import STATUS_PRIORITY, CoverageOptions, buffer_pairs
from gis_service.analysis.ladder import area_rows, project_rungs, village_counts
from gis_service.analysis.parameters import capacity_households, load_parameter_values
from gis_service.distributed import geoparquet
from gis_service.distributed.dataset import Dataset, building_units, read_facilities
from gis_service.distributed.engine import ClusterOptions, local_cluster, run_coverage_dask
from gis_service.distributed.generate import generate_national
from gis_service.settings import get_settings

from bench_results import record  # scripts/bench_results.py, next to this script

RADIUS_M = 1500.0
FACILITIES = 500
PER_REGENCY = 500_000


def one_process(root: str, out: str) -> dict:
    """The single-process engine's steps on the whole region (in a fresh process)."""
    start = time.perf_counter()
    dataset = Dataset.load(Path(root))
    params = load_parameter_values(None, parameter_set_id=None, config_dir=get_settings().config_dir)
    units = pd.concat([building_units(dataset, p, params) for p in dataset.partitions], ignore_index=True)
    fac = read_facilities(dataset.facilities_path)
    hh_xy = units[["x", "y"]].to_numpy()
    pairs = buffer_pairs(fac[["x", "y"]].to_numpy(), hh_xy, RADIUS_M)
    capacity = np.array([capacity_households(c, u, params) for c, u in zip(fac["capacity"], fac["capacity_unit"])],
                        dtype=float)
    order = facility_order(len(fac), how="priority", priority=fac["status"].map(STATUS_PRIORITY).to_numpy())
    a = allocate(*pairs, n_facilities=len(fac), n_households=len(units), capacity=capacity, order=order,
                 limit=RADIUS_M)
    served = {"lltt": a.served_by >= 0}
    projected = project_rungs(units["rung"].to_numpy(), units["has_septic_tank"].to_numpy(), served)
    area_rows(village_counts(units, served, projected), ["lltt"], region_code=dataset.region_code)
    lon, lat = Transformer.from_crs(dataset.metric_crs, "EPSG:4326", always_xy=True).transform(hh_xy[:, 0],
                                                                                              hh_xy[:, 1])
    fid = fac["id"].to_numpy()
    table = pa.table({"household_id": units["id"].to_numpy(),
                      "lltt_facility_id": pa.array(np.where(a.served_by >= 0, fid[a.served_by], 0),
                                                   mask=a.served_by < 0),
                      "lltt_cost": np.where(np.isfinite(a.nearest_cost), a.nearest_cost, np.nan),
                      "geometry": geoparquet.points(lon, lat)})
    geoparquet.write(table, Path(out) / "households.parquet", encoding="point", geometry_type="Point")
    seconds = time.perf_counter() - start
    fac_xy = fac[["x", "y"]].to_numpy()
    return {"seconds": seconds, "served": int(served["lltt"].sum()), "households": len(units),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "floor": _median(lambda: cKDTree(fac_xy).query(hh_xy, distance_upper_bound=RADIUS_M)),
            "kernel": _median(lambda: buffer_pairs(fac_xy, hh_xy, RADIUS_M))}


def _median(call) -> float:
    """Median of 3 timings. The floor: the nearest depot within the radius for every household,
    raw arrays, one call; the kernel: every (depot, household) pair within it, as reach makes them."""
    times = []
    for _ in range(3):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def on_cluster(root: Path, out: Path, workers: int) -> dict:
    from dask.distributed import Client

    t = time.perf_counter()
    with local_cluster(workers) as cluster, Client(cluster) as client:
        startup = time.perf_counter() - t
        t = time.perf_counter()
        result = run_coverage_dask(None, CoverageOptions(method="buffer", distance_m=RADIUS_M, nearest_k=0,
                                                         service_areas=False),
                                   cluster=ClusterOptions(scheduler=cluster.scheduler_address), dataset=root,
                                   output=out)
        seconds = time.perf_counter() - t
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"seconds": seconds, "startup": startup, "steps": result.seconds,
            "reach_task_seconds": result.summary["engine"]["reach_task_seconds"],
            "served": result.summary["served_lltt_households"], "worker_peak_mb": sorted(peaks.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--repeat", type=int, default=3, help="cluster runs per size and worker count (the median is reported)")
    args = parser.parse_args()
    report = []
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="national-") as tmp:
        for n in (int(float(s)) for s in args.sizes.split(",")):
            root = Path(tmp) / f"nat-{n}"
            t = time.perf_counter()
            dataset = generate_national(root, buildings=n, regencies=max(1, round(n / PER_REGENCY)),
                                        facilities=FACILITIES)
            row = {"households": n, "regencies": len(dataset.partitions), "generate_s": time.perf_counter() - t,
                   "input_mb": sum(f.stat().st_size for f in root.rglob("*.parquet")) / 1e6}
            single_out = Path(tmp) / "single"
            single_out.mkdir(exist_ok=True)
            with ProcessPoolExecutor(1, mp_context=spawn) as pool:
                row["single"] = pool.submit(one_process, str(root), str(single_out)).result()
            for workers in (1, 2):
                runs = []
                for _ in range(args.repeat):  # a fresh cluster each time: a run as the CLI starts one
                    out = Path(tmp) / f"dask-{workers}"
                    runs.append(on_cluster(root, out, workers))
                    shutil.rmtree(out, ignore_errors=True)
                    assert runs[-1]["served"] == row["single"]["served"], "engines disagree"
                runs.sort(key=lambda r: r["seconds"])
                row[f"dask{workers}"] = {**runs[len(runs) // 2], "runs_s": [round(r["seconds"], 2) for r in runs]}
            shutil.rmtree(root, ignore_errors=True)
            _print(row)
            report.append(row)
    if report:
        _project(report[-1])
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    record("national", report, "; ".join(
        f"{r['households']:,} households: one process {r['single']['seconds']:.1f} s, "
        f"2 workers {r['dask2']['seconds']:.1f} s" for r in report))


def _print(row: dict) -> None:
    n, single, floor = row["households"], row["single"], row["single"]["floor"]
    print(f"\n{n:,} households in {row['regencies']} regencies ({row['input_mb']:,.0f} MB of GeoParquet, "
          f"generated in {row['generate_s']:.1f} s); served {single['served']:,}")
    print(f"  floor (cKDTree, raw arrays): {floor:.2f} s = {n / floor / 1e6:.1f} M households/s; reach kernel "
          f"(all pairs in reach, same arrays): {single['kernel']:.2f} s = floor x {single['kernel'] / floor:.1f}")
    print(f"  one process: {single['seconds']:.1f} s, peak {single['peak_mb']:,.0f} MB")
    for w in (1, 2):
        d = row[f"dask{w}"]
        reach_rate = n / (d["steps"]["reach"] * w)
        phases = d["reach_task_seconds"]
        pairs_rate = n / phases.get("reach", float("nan"))  # worker seconds of the reach phase, summed over the units
        print(f"  dask {w} worker(s): {d['seconds']:.1f} s, median of {d['runs_s']} (x{single['seconds'] / d['seconds']:.2f} of one process; "
              f"cluster start {d['startup']:.1f} s apart), steps {d['steps']}, worker peaks "
              f"{', '.join(f'{m:,.0f}' for m in d['worker_peak_mb'])} MB; reach step per worker "
              f"{reach_rate / 1e6:.2f} M/s = floor / {n / floor / reach_rate:.1f}")
        print(f"    reach tasks, worker seconds per phase: "
              f"{', '.join(f'{k} {v:.2f}' for k, v in phases.items())}; the reach phase alone "
              f"{pairs_rate / 1e6:.2f} M/s per worker = floor x {pairs_rate * floor / n:.2f}")


def _project(row: dict) -> None:
    """100 M households as 200 regencies: the 1-worker time per regency of the largest run (its
    fixed part included, so the projection errs long), spread over the workers."""
    d1, d2 = row["dask1"], row["dask2"]
    per_unit = d1["seconds"] / row["regencies"]
    units = 100_000_000 / PER_REGENCY
    print(f"\n100 M projected (200 regencies of {PER_REGENCY:,}; {per_unit:.1f} s of one worker per regency, "
          f"from the {row['households']:,} run):")
    for workers in (1, 2, 16, 64):
        print(f"  {workers:>3} workers: {units * per_unit / workers / 60:,.1f} min")
    print(f"  memory per worker stays at the {row['households']:,} run's "
          f"{max(d2['worker_peak_mb']):,.0f} MB: a worker holds one regency at a time")


if __name__ == "__main__":
    main()
