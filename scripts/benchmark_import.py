"""Import speed on a generated province-size region (issue: foundation; target >= 50,000 household
points per second on a 2-core machine).

Generates the demo region at ``--scale`` (25 = ~1.05 M households), writes it as GeoPackage/CSV
files, and imports every layer through the same code path as ``gis-service import`` into fresh
databases of a throwaway cluster (durable settings, like the managed one). Reports the median of
``--repeat`` runs per layer, a re-import (all rows unchanged), and, measured in the same run, the
floor: reading the same points and a bare COPY + GiST index with no checks. Not a test: it prints.

    python scripts/benchmark_import.py --scale 25 --repeat 3 [--json results.json]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd
import psycopg
import pyogrio
import shapely

from gis_service.db import migrate
from gis_service.db.cluster import LocalCluster, free_port
from gis_service.demo.generator import generate_region, write_files
from gis_service.ingest.context import ImportOptions
from gis_service.ingest.importer import import_file
from gis_service.settings import get_settings
from sqlalchemy import create_engine

from bench_results import record  # scripts/bench_results.py, next to this script


ORDER = ["admin", "population", "settlements", "households", "facilities", "network", "pilots"]


def _fresh_db(cluster: LocalCluster, template: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.url("postgres").replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return cluster.url(name)


def _floor(url: str, households_file: Path) -> float:
    """Read the points and COPY them into a bare table with a GiST index: no checks, no upsert."""
    started = time.perf_counter()
    frame = pyogrio.read_dataframe(households_file, columns=[], use_arrow=True)
    xy = shapely.get_coordinates(frame.geometry.array)
    buf = io.StringIO()
    pd.DataFrame(xy).to_csv(buf, header=False, index=False)
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        conn.execute("CREATE TABLE floor_xy (x float8, y float8)")
        with conn.cursor().copy("COPY floor_xy FROM STDIN (FORMAT csv)") as copy:
            copy.write(buf.getvalue())
        conn.execute("CREATE TABLE floor_pts AS SELECT ST_SetSRID(ST_MakePoint(x, y), 4326)::geometry(Point, 4326)"
                     " AS geom FROM floor_xy")
        conn.execute("CREATE INDEX ON floor_pts USING gist (geom)")
        conn.commit()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=25.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=6207)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gis-bench-"))
    t0 = time.perf_counter()
    region = generate_region(seed=args.seed, scale=args.scale)
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    files = write_files(region, work / "files")
    write_s = time.perf_counter() - t0
    rows = {k: len(region[k]) for k in ORDER}
    del region
    print(f"generated scale {args.scale:g}: {rows['households']:,} households in {gen_s:.1f} s, "
          f"files written in {write_s:.1f} s")

    cluster = LocalCluster(home=work / "cluster", port=free_port(), durable=True)
    cluster.start()
    try:
        cluster.ensure_database("bench_template")
        migrate.upgrade(cluster.url("bench_template"))
        settings = get_settings()
        times: dict[str, list[float]] = {k: [] for k in ORDER}
        reimport, floor = [], []
        for run in range(args.repeat):
            url = _fresh_db(cluster, "bench_template")
            engine = create_engine(url)
            options = ImportOptions(source="bench", illustrative=True)
            for kind in ORDER:
                started = time.perf_counter()
                report = import_file(engine, kind, files[kind], options, settings=settings)
                times[kind].append(time.perf_counter() - started)
                assert report.inserted == rows[kind] or kind == "admin", (kind, report.lines())
            started = time.perf_counter()
            again = import_file(engine, "households", files["households"], options, settings=settings)
            reimport.append(time.perf_counter() - started)
            assert again.unchanged == rows["households"]
            engine.dispose()
            floor.append(_floor(_fresh_db(cluster, "bench_template"), files["households"]))
            print(f"run {run + 1}: households {times['households'][-1]:.2f} s, re-import {reimport[-1]:.2f} s, "
                  f"floor {floor[-1]:.2f} s")
    finally:
        cluster.destroy()

    results = {"scale": args.scale, "repeat": args.repeat, "rows": rows, "layers": {}}
    print(f"\n{'layer':<12} {'rows':>10} {'median s':>9} {'rows/s':>10}")
    for kind in ORDER:
        med = statistics.median(times[kind])
        results["layers"][kind] = {"rows": rows[kind], "median_s": round(med, 3),
                                   "rows_per_s": round(rows[kind] / med)}
        print(f"{kind:<12} {rows[kind]:>10,} {med:>9.2f} {rows[kind] / med:>10,.0f}")
    hh = statistics.median(times["households"])
    re_med, floor_med = statistics.median(reimport), statistics.median(floor)
    results.update(households_reimport_s=round(re_med, 3), floor_s=round(floor_med, 3),
                   ratio_to_floor=round(hh / floor_med, 2))
    print(f"\nhouseholds re-import (all unchanged): {re_med:.2f} s = {rows['households'] / re_med:,.0f} rows/s")
    print(f"floor (read points + bare COPY + GiST, no checks): {floor_med:.2f} s = "
          f"{rows['households'] / floor_med:,.0f} rows/s; our import is {hh / floor_med:.2f}x the floor")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    record("import", results, f"households {rows['households']:,} rows: {rows['households'] / hh:,.0f} rows/s, "
                              f"{hh / floor_med:.2f}x the bare COPY floor")


if __name__ == "__main__":
    main()
