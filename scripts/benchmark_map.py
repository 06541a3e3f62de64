"""Map users under load while a scenario runs (issue 6: "50 concurrent map users (tiles + features
+ summary) for 60 s on loopback with zero errors while a scenario runs; report p50/p95").

The database is the demo district (``load_demo``, scale 1: ~42k households, ~100 villages, the
generated road/river network and the scenarios of ``config/scenarios/demo.yml``), built once into
a template database of a durable cluster of its own in ``<GIS_SERVICE_DATA_DIR>/benchmark-map``
(gitignored; ``--reuse`` keeps the template) and copied fresh for every run, so each run starts
with the same runs and jobs (none). ``gis-service serve`` (uvicorn, one worker, as deployed) runs
the work tree as a subprocess on a free loopback port; jobs run in the worker processes it starts.

1. Two coverage jobs of "Pilot + 2 depots (demo)" (network) through ``POST /api/jobs`` with an
   editor's key, one after the other and alone: the first makes the run the map shows, the second
   is the job's own baseline: its start (submitted to claimed by the job worker that
   ``gis-service serve`` keeps waiting) and its run (claimed to finished), from the job's timestamps.
2. Baseline: ``--clients`` simulated map users for ``--duration`` seconds, no job running.
3. Under load: the same users, the same requests, for the same time, while jobs of the same
   scenario run back to back (the next is submitted when one ends, polled every second like the
   web map does); a job still running when the time is up is cancelled and not counted.

Each user has its own connection (httpx.AsyncClient; all users on one asyncio loop in this
process), no think time, and asks one request at a time. A user's "map view" is: 8 vector tiles
(2 neighbouring tiles x the layers villages, coverage_villages, facilities and network, URL
templates and zoom ranges from ``/styles/maplibre.json``) at a zoom of 9-13, inside the villages'
extent and up to 2 tiles from the households' centre, the run's village choropleth
(``/ogc/collections/coverage_all_runs/items?run_id=..&level=village&limit=1000``) and the run's
summary (``/api/runs/{id}/summary``); every fourth view also the facilities
(``/ogc/collections/facilities/items?limit=500``), ``/api/runs`` and ``/api/config``. Users are
seeded, so both phases ask the same sequence. Every request must answer 200 (tiles are only asked
inside their layer's zoom range, where an empty tile is a 200 too); any other status, a timeout
(30 s) or a failed job is an error. Latency is from sending the request to the last byte, of the
requests that succeeded.

The load generator shares the 2 cores with the server, PostgreSQL and the job worker: the output
gives each one's CPU share (and what other processes of the machine took), and this process's
event-loop lag (how late a 50 ms sleep wakes up), which is how much of a latency may be the
client's own queueing. Not a test: it prints medians, p95 and the ratios of under load to
baseline, measured in the same run. About 3 minutes (the template takes ~6 s to build).

    python scripts/benchmark_map.py [--reuse] [--clients 50] [--duration 60] [--scale 1]
                                    [--json out.json]
    python scripts/benchmark_map.py --reuse --clients 5 --duration 5  # smoke
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import create_engine

from gis_service import job_queue
from gis_service.db import migrate
from gis_service.db.cluster import LocalCluster
from gis_service.db.users import add_user
from gis_service.demo.load import load_demo
from gis_service.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from bench_results import changed_files, head, record  # scripts/bench_results.py, next to this script
from benchmark_api import (  # the API benchmark's cluster, server and CPU helpers
    Server,
    _cluster,
    _libpq,
    _log,
    _machine_busy,
    _pct,
    _start_ours,
    tile_xy,
)

SCENARIO = "Pilot + 2 depots (demo)"
JOB_BODY = {"kind": "coverage", "scenario": SCENARIO, "options": {"method": "network"}}
JOB_ENDED = {"succeeded", "failed", "cancelled"}
JOB_POLL_S = 1.0  # the web map's POLL_MS
JOB_TIMEOUT_S = 300.0  # a job alone that takes longer stops the benchmark
TILE_LAYERS = ("villages", "coverage_villages", "facilities", "network")
ZOOMS = (9, 10, 11, 12, 13)
SPREAD = 2  # a view's first tile is up to this many tiles from the centre's tile
TIMEOUT_S = 30.0
LAG_PROBE_S = 0.05
KINDS = ("tile", "features", "summary", "other", "jobs")


@dataclass(frozen=True)
class Request:
    kind: str  # tile | features | summary | other | jobs
    name: str  # e.g. "tile network z11", "features choropleth"
    path: str


@dataclass(frozen=True)
class Record:
    kind: str
    name: str
    ms: float
    error: str | None


# ---- the database ------------------------------------------------------------------------------

def _template(cluster: LocalCluster, scale: float, reuse: bool) -> dict:
    """The demo region in a template database: reused when ``reuse`` and a finished build exists,
    else built from nothing. Returns the build's description."""
    name = f"bench_map_scale{scale:g}".replace(".", "_")
    marker = cluster.home / f"{name}.json"
    with psycopg.connect(_libpq(cluster.url("postgres")), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if reuse and exists and marker.exists():
            return {**json.loads(marker.read_text()), "reused": True}
        marker.unlink(missing_ok=True)
        if exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    _log(f"building the demo region (scale {scale:g}) in {name} ...")
    started = time.perf_counter()
    cluster.ensure_database(name)
    url = cluster.url(name)
    migrate.upgrade(url)
    engine = create_engine(url)
    try:
        load_demo(engine, scale=scale, settings=get_settings())
    finally:
        engine.dispose()
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM household), (SELECT count(*) FROM layer_village), "
            "(SELECT count(*) FROM network_edge), (SELECT count(*) FROM facility)").fetchone()
    info = {"template": name, "scale": scale, "build_s": round(time.perf_counter() - started, 1),
            "counts": dict(zip(("households", "villages", "network_edges", "facilities"), counts,
                               strict=True))}
    marker.write_text(json.dumps(info, indent=2))
    return {**info, "reused": False}


def _fresh_copy(cluster: LocalCluster, template: str) -> str:
    """This run's database: a new copy of the template (the previous run's copy is dropped)."""
    name = f"{template}_run"
    with psycopg.connect(_libpq(cluster.url("postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return cluster.url(name)


def _editor_key(db_url: str) -> str:
    """An editor's API key (as ``gis-service users add bench-editor --role editor``)."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            return add_user(conn, "bench-editor", "editor")
    finally:
        engine.dispose()


def _region(db_url: str) -> tuple[tuple[float, float], tuple[float, float, float, float]]:
    """Where the map users look: the households' centroid (lon, lat) and the villages' extent."""
    with psycopg.connect(_libpq(db_url)) as conn:
        row = conn.execute(
            "SELECT ST_X(c), ST_Y(c), ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Centroid(ST_Collect(geom)) AS c FROM household) h, "
            "(SELECT ST_Extent(geom) AS e FROM layer_village) v").fetchone()
    return (row[0], row[1]), tuple(row[2:])


# ---- the jobs ----------------------------------------------------------------------------------

def _times(job: dict) -> dict[str, float]:
    """The job's start (submitted to claimed by the waiting worker) and run (claimed to
    finished) in seconds, from the server's timestamps."""
    created, started, finished = (datetime.fromisoformat(job[k])
                                  for k in ("created_at", "started_at", "finished_at"))
    return {"start_s": (started - created).total_seconds(),
            "run_s": (finished - started).total_seconds()}


@dataclass
class Jobs:
    """Submits coverage jobs through the API, one at a time; ``active`` is the one not yet ended."""

    base: str
    key: str
    active: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def run(self, client: httpx.AsyncClient, deadline: float,
                  records: list[Record]) -> dict | None:
        """Submit one job and poll it until it ends; None when ``deadline`` comes first (the job
        stays ``active``) or the submission failed (recorded)."""
        response = await _call(client, Request("jobs", "jobs submit", "/api/jobs"), records,
                               body=JOB_BODY, expect=202)
        if response is None:
            await asyncio.sleep(JOB_POLL_S)
            return None
        job = response.json()
        self.active = job["id"]
        while job["status"] not in JOB_ENDED:
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(JOB_POLL_S)
            polled = await _call(client, Request("jobs", "jobs poll", f"/api/jobs/{job['id']}"),
                                 records)
            job = polled.json() if polled is not None else job
        self.active = None
        return job

    async def alone(self) -> dict:
        """One job with nothing else running; it must succeed."""
        async with httpx.AsyncClient(base_url=self.base, headers=self.headers,
                                     timeout=TIMEOUT_S) as client:
            records: list[Record] = []
            job = await self.run(client, time.monotonic() + JOB_TIMEOUT_S, records)
        errors = [r.error for r in records if r.error]
        if job is None or job["status"] != "succeeded":
            raise RuntimeError(f"the coverage job did not succeed: {job and job['error']} {errors}")
        return job

    async def back_to_back(self, deadline: float, records: list[Record]) -> list[dict]:
        """Jobs one after the other until ``deadline``; returns those that ended before it."""
        ended = []
        async with httpx.AsyncClient(base_url=self.base, headers=self.headers,
                                     timeout=TIMEOUT_S) as client:
            while time.monotonic() < deadline:
                job = await self.run(client, deadline, records)
                if job is not None:
                    ended.append(job)
        return ended

    def cancel_active(self, db_url: str) -> str | None:
        """Cancel the job still running (``POST /api/jobs/{id}/cancel``, or in the database when
        the server is gone) and wait until its worker has rolled it back; returns its status."""
        if self.active is None:
            return None
        job_id, self.active = self.active, None
        try:
            response = httpx.post(f"{self.base}/api/jobs/{job_id}/cancel", headers=self.headers,
                                  timeout=10)
            if response.status_code != 409:  # 409: it ended meanwhile, nothing to cancel
                response.raise_for_status()
        except httpx.HTTPError:  # the server is gone: cancel in the database
            engine = create_engine(db_url)
            try:
                job_queue.cancel(engine, job_id)
            except ValueError:  # it ended meanwhile
                pass
            finally:
                engine.dispose()
        status = "running"
        with psycopg.connect(_libpq(db_url), autocommit=True) as conn:
            for _ in range(120):
                status = conn.execute("SELECT status FROM job WHERE id = %s",
                                      (job_id,)).fetchone()[0]
                if status in JOB_ENDED:
                    break
                time.sleep(0.5)
        return status


def _stop_workers(db_url: str, wait_s: float = 30.0) -> None:
    """Wait for the job workers on this benchmark's database to exit (with their server gone and
    nothing queued, they end within a poll); SIGTERM any left."""
    def workers() -> list[int]:
        found = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if (b"gis_service.job_queue" in (proc / "cmdline").read_bytes()
                        and db_url.encode() in (proc / "environ").read_bytes()):
                    found.append(int(proc.name))
            except OSError:
                continue  # ended meanwhile, or not ours to read
        return found

    deadline = time.monotonic() + wait_s
    while (pids := workers()) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass  # ended meanwhile


# ---- the map users -----------------------------------------------------------------------------

def _tile_templates(base: str) -> dict[str, tuple[str, int, int]]:
    """Layer -> (tile path template, min zoom, max zoom), from the web map's style."""
    style = httpx.get(f"{base}/styles/maplibre.json", timeout=TIMEOUT_S).raise_for_status().json()
    out = {}
    for layer in TILE_LAYERS:
        source = style["sources"][layer]
        out[layer] = (source["tiles"][0].removeprefix(base), source["minzoom"], source["maxzoom"])
    return out


def _tile_pair(rng: random.Random, z: int, centre: tuple[float, float],
               extent: tuple[float, float, float, float]) -> list[tuple[int, int]]:
    """Two neighbouring tiles at zoom ``z`` inside the region's extent, up to ``SPREAD`` tiles
    from the centre's tile (at zoom 9 the district is only a few tiles)."""
    cx, cy = tile_xy(*centre, z)
    x0, y0 = tile_xy(extent[0], extent[3], z)
    x1, y1 = tile_xy(extent[2], extent[1], z)
    xs = range(max(x0, cx - SPREAD), min(x1, cx + SPREAD) + 1)
    ys = range(max(y0, cy - SPREAD), min(y1, cy + SPREAD) + 1)
    x, y = rng.choice(xs), rng.choice(ys)
    if len(xs) > 1:
        return [(x, y), (x + 1 if x + 1 in xs else x - 1, y)]
    return [(x, y), (x, y + 1 if y + 1 in ys else y - 1)]


def _views(user: int, templates: dict[str, tuple[str, int, int]], centre: tuple[float, float],
           extent: tuple[float, float, float, float], run_id: int) -> Iterator[list[Request]]:
    """One user's endless, seeded sequence of map views."""
    rng = random.Random(user)
    for i in range(sys.maxsize):
        z = rng.choice(ZOOMS)
        view = [Request("tile", f"tile {layer} z{z}", template.format(z=z, y=y, x=x))
                for x, y in _tile_pair(rng, z, centre, extent)
                for layer, (template, lo, hi) in templates.items() if lo <= z <= hi]
        view += [Request("features", "features choropleth",
                         f"/ogc/collections/coverage_all_runs/items?f=json&run_id={run_id}"
                         "&level=village&limit=1000"),
                 Request("summary", "summary", f"/api/runs/{run_id}/summary")]
        if i % 4 == 0:
            view += [Request("features", "features facilities",
                             "/ogc/collections/facilities/items?f=json&limit=500"),
                     Request("other", "other runs", "/api/runs"),
                     Request("other", "other config", "/api/config")]
        yield view


async def _call(client: httpx.AsyncClient, request: Request, records: list[Record], *,
                body: dict | None = None, expect: int = 200) -> httpx.Response | None:
    """One request (a GET, or a POST of ``body``), recorded; the response when it answered
    ``expect``."""
    started = time.perf_counter()
    response = None
    try:
        if body is None:
            response = await client.get(request.path)
        else:
            response = await client.post(request.path, json=body)
        error = None if response.status_code == expect else \
            f"HTTP {response.status_code}: {response.text[:100]}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:120]
    records.append(Record(request.kind, request.name, (time.perf_counter() - started) * 1e3, error))
    return response if error is None else None


async def _user(base: str, views: Iterator[list[Request]], deadline: float,
                records: list[Record]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S) as client:
        for view in views:
            for request in view:
                if time.monotonic() >= deadline:
                    return
                await _call(client, request, records)


async def _lag_probe(deadline: float, lags: list[float]) -> None:
    """How late this process's event loop wakes from a short sleep (the client's own queueing)."""
    while time.monotonic() < deadline:
        started = time.perf_counter()
        await asyncio.sleep(LAG_PROBE_S)
        lags.append((time.perf_counter() - started - LAG_PROBE_S) * 1e3)


async def _warm_up(base: str, user_views: list[Iterator[list[Request]]]) -> list[Record]:
    """The first view of five users, one request at a time (fills caches, checks every URL)."""
    records: list[Record] = []
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S) as client:
        for views in user_views[:5]:
            for request in next(views):
                await _call(client, request, records)
    return records


@dataclass
class Phase:
    name: str
    records: list[Record] = field(default_factory=list)
    lags_ms: list[float] = field(default_factory=list)
    jobs: list[dict] = field(default_factory=list)
    cancelled_at_end: str | None = None
    wall_s: float = 0.0
    cpu: dict = field(default_factory=dict)


async def _load(phase: Phase, base: str, user_views: list[Iterator[list[Request]]],
                duration_s: float, runner: Jobs | None) -> None:
    deadline = time.monotonic() + duration_s
    tasks = [_user(base, views, deadline, phase.records) for views in user_views]
    tasks.append(_lag_probe(deadline, phase.lags_ms))
    if runner is not None:
        async def drive() -> None:
            phase.jobs = await runner.back_to_back(deadline, phase.records)
        tasks.append(drive())
    await asyncio.gather(*tasks)


def _run_phase(name: str, server: Server, postmaster: int,
               user_views: list[Iterator[list[Request]]], duration_s: float,
               runner: Jobs | None) -> Phase:
    phase = Phase(name)
    before = _cpu(server.proc.pid, postmaster)
    started = time.monotonic()
    asyncio.run(_load(phase, server.base, user_views, duration_s, runner))
    phase.wall_s = time.monotonic() - started
    after = _cpu(server.proc.pid, postmaster)
    used = {k: after[k] - before[k] for k in before}
    busy = used.pop("busy") / max(1.0, used.pop("ticks")) * (os.cpu_count() or 1)
    phase.cpu = {k: round(100 * v / phase.wall_s, 1) for k, v in used.items()}
    phase.cpu["machine_busy"] = round(100 * busy, 1)
    phase.cpu["others"] = round(100 * busy - sum(phase.cpu[k] for k in used), 1)
    return phase


def _proc_times(pid: int) -> tuple[float, float]:
    """(own, waited-for children's) CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def _with_children(pid: int) -> float:
    """CPU seconds of a process's children, ended (waited for) and running."""
    total = _proc_times(pid)[1]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                total += sum(_proc_times(int(stat.parent.name)))
        except (OSError, ValueError):
            continue  # ended meanwhile
    return total


def _cpu(server: int, postmaster: int) -> dict[str, float]:
    """CPU seconds so far: the server, its job workers, our PostgreSQL, this load client, and the
    machine's busy and total ticks (all cores)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    busy, ticks = _machine_busy()
    return {"server": _proc_times(server)[0], "job_workers": _with_children(server),
            "postgres": _proc_times(postmaster)[0] + _with_children(postmaster),
            "load_client": usage.ru_utime + usage.ru_stime,
            "busy": float(busy), "ticks": float(ticks)}


# ---- results -----------------------------------------------------------------------------------

def _stats(records: list[Record], wall_s: float) -> dict:
    ok = [r.ms for r in records if r.error is None]
    return {"requests": len(records), "errors": len(records) - len(ok),
            "p50_ms": round(statistics.median(ok), 1) if ok else None,
            "p95_ms": round(_pct(ok, 95), 1) if ok else None,
            "max_ms": round(max(ok), 1) if ok else None,
            "rps": round(len(records) / wall_s, 1)}


def _grouped(records: list[Record], wall_s: float, key: Callable[[Record], str]) -> dict:
    groups: dict[str, list[Record]] = {}
    for r in records:
        groups.setdefault(key(r), []).append(r)
    return {k: _stats(v, wall_s) for k, v in sorted(groups.items())}


def _endpoint(r: Record) -> str:
    return r.name.rsplit(" z", 1)[0] if r.kind == "tile" else r.name


def _phase_summary(phase: Phase) -> dict:
    failed = [j for j in phase.jobs if j["status"] != "succeeded"]
    done = [_times(j) for j in phase.jobs if j["status"] == "succeeded"]
    return {
        "wall_s": round(phase.wall_s, 1), "cpu": phase.cpu,
        "all": _stats(phase.records, phase.wall_s),
        "by_kind": _grouped(phase.records, phase.wall_s, lambda r: r.kind),
        "by_endpoint": _grouped(phase.records, phase.wall_s, _endpoint),
        "tiles_by_zoom": _grouped([r for r in phase.records if r.kind == "tile"], phase.wall_s,
                                  lambda r: r.name.rsplit(" ", 1)[1]),
        "error_kinds": dict(Counter(f"{r.name}: {r.error}" for r in phase.records
                                    if r.error).most_common()),
        "loop_lag_ms": {"p50": round(statistics.median(phase.lags_ms), 1),
                        "p95": round(_pct(phase.lags_ms, 95), 1),
                        "max": round(max(phase.lags_ms), 1)} if phase.lags_ms else None,
        "jobs": {"succeeded": len(done), "failed": [j["error"] or j["status"] for j in failed],
                 "runs": done, "cancelled_at_end": phase.cancelled_at_end,
                 **{f"median_{k}": round(statistics.median(t[k] for t in done), 1) if done else None
                    for k in ("start_s", "run_s")}},
    }


def _server_errors(log: Path) -> dict:
    """What the server's log says went wrong: 5xx answers and exception lines, counted."""
    answers, exceptions = Counter(), Counter()
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("status", 0) >= 500:
                answers[f"{entry['status']} {entry['path']}"] += 1
        elif ("Error" in line or "Exception" in line) and not line.startswith(" "):
            exceptions[line[:200]] += 1
    return {"5xx": dict(answers.most_common(10)), "exceptions": dict(exceptions.most_common(10))}


def _git_state() -> dict:
    changed = changed_files()
    return {"commit": head(), "dirty": bool(changed), "changed_files": len(changed)}


def _loadavg() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def _row(label: str, base: dict | None, load: dict | None) -> str:
    def cells(s: dict | None) -> str:
        if not s:
            return f"{'-':>7} {'-':>5} {'-':>8} {'-':>8} {'-':>7}"
        return (f"{s['requests']:>7} {s['errors']:>5} {s['p50_ms'] or '-':>8} "
                f"{s['p95_ms'] or '-':>8} {s['rps']:>7}")
    ratios = (f"{_ratio(load and load['p50_ms'], base and base['p50_ms']):>7} "
              f"{_ratio(load and load['p95_ms'], base and base['p95_ms']):>7}")
    return f"{label:<26} {cells(base)} | {cells(load)} | {ratios}"


def _print_table(base: dict, load: dict) -> None:
    print("latency in ms of the requests that succeeded; ratio = under load / baseline")
    print(f"{'':<26} {'baseline (no job)':<39} | {'under load (jobs back to back)':<39} | ratio")
    cells = f"{'req':>7} {'err':>5} {'p50':>8} {'p95':>8} {'req/s':>7}"
    print(f"{'kind':<26} {cells} | {cells} | {'p50':>7} {'p95':>7}")
    rule = "-" * 124
    print(rule)
    for kind in KINDS:
        if kind in base["by_kind"] or kind in load["by_kind"]:
            print(_row(kind, base["by_kind"].get(kind), load["by_kind"].get(kind)))
    print(_row("all", base["all"], load["all"]))
    print(rule)
    for name in sorted(set(base["by_endpoint"]) | set(load["by_endpoint"])):
        print(_row(name, base["by_endpoint"].get(name), load["by_endpoint"].get(name)))
    for zoom in sorted(set(base["tiles_by_zoom"]) | set(load["tiles_by_zoom"]),
                       key=lambda z: int(z[1:])):
        print(_row(f"tiles {zoom}", base["tiles_by_zoom"].get(zoom),
                   load["tiles_by_zoom"].get(zoom)))


def _print_errors(results: dict) -> None:
    base, load = results["baseline"], results["under_load"]
    failed = len(load["jobs"]["failed"])
    print(f"\nerrors: {base['all']['errors'] + load['all']['errors'] + failed} in all (baseline "
          f"{base['all']['errors']}, under load {load['all']['errors']} requests + {failed} "
          "failed jobs)")
    for phase in ("baseline", "under_load"):
        for what, n in results[phase]["error_kinds"].items():
            print(f"  {phase}: {n} x {what}")
    for what, n in {**results["server_log"]["5xx"], **results["server_log"]["exceptions"]}.items():
        print(f"  server log: {n} x {what}")


def _print_jobs(alone: dict, load: dict) -> None:
    def median(key: str) -> str:
        return f"{load[f'median_{key}'] or '-'} ({_ratio(load[f'median_{key}'], alone[key])})"

    print(f"jobs ({SCENARIO}, network), seconds: alone start {alone['start_s']:.1f} + run "
          f"{alone['run_s']:.1f}; under load {load['succeeded']} succeeded, median start "
          f"{median('start_s')} + run {median('run_s')}, {len(load['failed'])} failed; "
          f"the one running at the end: {load['cancelled_at_end'] or 'none'} (not counted)")
    print("  start: submitted to claimed by the waiting worker; run: claimed to finished")


def _print_cpu(results: dict) -> None:
    for phase in ("baseline", "under_load"):
        cpu, lag = results[phase]["cpu"], results[phase]["loop_lag_ms"]
        print(f"CPU {phase}, % of one core (2 cores = 200): "
              + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in cpu.items())
              + f"; load client's loop lag p50 {lag['p50']}, p95 {lag['p95']}, max {lag['max']} ms")
    print("the load client shares the 2 cores with the server, PostgreSQL and the job worker "
          "('others': processes\noutside this benchmark); its loop lag is queueing of its own, "
          "inside the latencies above")
    print(f"load average (1, 5, 15 min) at the start {results['loadavg_start']}, at the end "
          f"{results['loadavg_end']}; whole benchmark {results['total_s']} s")


def _print(results: dict) -> None:
    git = results["code"]
    print(f"\n== map users under load: {results['clients']} users x {results['duration_s']:g} s, "
          f"demo district scale {results['scale']:g} {results['database']['counts']} ==")
    print(f"code: {git['commit']}" + (f", work tree dirty ({git['changed_files']} changed or "
                                      "untracked files)" if git["dirty"] else ", clean work tree"))
    _print_table(results["baseline"], results["under_load"])
    _print_errors(results)
    _print_jobs(results["job_alone"], results["under_load"]["jobs"])
    _print_cpu(results)


# ---- main --------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the demo region's template database of an earlier run")
    parser.add_argument("--clients", type=int, default=50, help="concurrent map users")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of each phase")
    parser.add_argument("--scale", type=float, default=1.0, help="demo region scale (1: district)")
    parser.add_argument("--home", type=Path, help="the benchmark cluster's folder "
                        "(default <GIS_SERVICE_DATA_DIR>/benchmark-map)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    started = time.perf_counter()
    home = (args.home or Path(get_settings().data_dir) / "benchmark-map").resolve()
    results: dict = {"clients": args.clients, "duration_s": args.duration, "scale": args.scale,
                     "code": _git_state(), "loadavg_start": _loadavg()}
    cluster = _cluster(home)
    work = Path(tempfile.mkdtemp(prefix="gis-bench-map-"))
    server: Server | None = None
    runner: Jobs | None = None
    db_url = ""
    try:
        results["database"] = _template(cluster, args.scale, args.reuse)
        db_url = _fresh_copy(cluster, results["database"]["template"])
        os.environ["GIS_SERVICE_BASEMAP_TILES"] = ""  # the style without the OSM source
        server = _start_ours(db_url, work)
        runner = Jobs(server.base, _editor_key(db_url))
        _log(f"server {server.base} on {db_url.rsplit('@', 1)[1]}; two coverage jobs alone ...")
        first = asyncio.run(runner.alone())
        results["job_alone"] = _times(asyncio.run(runner.alone()))
        run_id = first["result"]["run_id"]
        _log(f"  run {run_id}; the job alone: start {results['job_alone']['start_s']:.1f} s, "
             f"run {results['job_alone']['run_s']:.1f} s")
        templates, (centre, extent) = _tile_templates(server.base), _region(db_url)

        def user_views() -> list[Iterator[list[Request]]]:
            return [_views(k, templates, centre, extent, run_id) for k in range(args.clients)]

        warm = [r for r in asyncio.run(_warm_up(server.base, user_views())) if r.error]
        if warm:
            raise RuntimeError(f"warm-up requests failed: {warm[:3]}")
        postmaster = int((cluster.pgdata / "postmaster.pid").read_text().split()[0])
        phases = {}
        for name, jobs_runner in (("baseline", None), ("under_load", runner)):
            _log(f"{name}: {args.clients} users for {args.duration:g} s ...")
            phase = _run_phase(name, server, postmaster, user_views(), args.duration, jobs_runner)
            phase.cancelled_at_end = runner.cancel_active(db_url)
            phases[name] = phase
            _log(f"  {len(phase.records)} requests, "
                 f"{sum(1 for r in phase.records if r.error)} errors, {len(phase.jobs)} jobs ended")
        results.update({name: _phase_summary(p) for name, p in phases.items()})
        results["server_log"] = _server_errors(server.log)
        results["loadavg_end"] = _loadavg()
        results["total_s"] = round(time.perf_counter() - started, 1)
        _print(results)
    finally:
        if runner is not None:
            runner.cancel_active(db_url)
        if server is not None:
            server.stop()
        if db_url:
            _stop_workers(db_url)
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    if "under_load" in results:
        base, load = results["baseline"]["all"], results["under_load"]["all"]
        record("map", results, f"{results['clients']} map users: p95 {base['p95_ms']} ms at "
                               f"{base['rps']} req/s alone, {load['p95_ms']} ms at {load['rps']} req/s "
                               "with coverage jobs running")


if __name__ == "__main__":
    main()
