"""OGC API serving speed on the province-size generated region: our server against a hand-written
SQL floor and against tipg, the peer (docs/benchmarks.md, "Serving OGC API from PostGIS").

The database is a durable cluster of its own (like scripts/benchmark_coverage.py's) kept in
``<GIS_SERVICE_DATA_DIR>/benchmark-api`` (gitignored with ``.gis-service/``) so that ``--reuse``
can skip the build: the demo region at scale 25 (~1.05 M households, ~100 villages) plus
benchmark_coverage's synthetic road grid (~300k network edges in all) and depots, then
``VACUUM ANALYZE``. Three targets read the same database:

- ours: ``gis-service serve`` (uvicorn, one worker) as a subprocess, pygeoapi at /ogc;
- tipg 1.6.1 (``pip install tipg``) in its own virtualenv (``--tipg-venv``, default
  ``.venv-tipg``, created when missing) under uvicorn, one worker, same views, same tile cap
  (20,000 features) and tile buffer (64);
- the floor: the same query written by hand, run through psycopg on one connection (prepared):
  items as a GeoJSON FeatureCollection built in SQL with the exact ``count(*)`` both servers
  return as ``numberMatched`` (and once more without the count), a feature by id, and
  ``ST_AsMVT(ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(z, x, y)))`` for tiles.

Cases, for the ``network`` (layer_network) and ``villages`` (layer_village) layers: a page of 100
items, the same in a small bbox, with a property filter, one feature by id, and tiles at zoom 8,
11 and 14 (WebMercatorQuad) around the densest village; a zoom below a layer's range is measured
at the layer's first zoom (our server answers 404 outside it); our tile URL template is read from
``/ogc/collections/{id}/tiles``. After ``--warmup`` rounds, each case runs ``--repeat`` rounds and
every round asks the targets in a rotating order, so they see the same conditions; every answer
is checked (status, features returned, ``numberMatched``, bytes). Then ``--clients`` concurrent
clients run a mix of item pages and tiles for ``--duration`` seconds against our server, then
against tipg (``--no-concurrency-peer`` skips it): loopback only, bounded by time and a request
timeout. Last, a few requests of our application are profiled in process (cProfile, no HTTP;
``--profile N`` requests each) and their own time grouped (database driver, JSON, SQLAlchemy,
pygeoapi, ASGI stack, ...). The servers run the work tree; the commit and changed files are
printed with the results. About 4 minutes with ``--reuse`` (plus ~2 minutes to build).

Not a test: it prints medians, p95 and ratios measured in the same run.

    python scripts/benchmark_api.py [--reuse] [--repeat 30] [--clients 50] [--duration 60]
                                    [--json out.json]
    python scripts/benchmark_api.py --size district --repeat 3 --clients 10 --duration 5  # smoke
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import cProfile
import io
import json
import logging
import math
import os
import pstats
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import anyio.to_thread
import httpx
import psycopg
from sqlalchemy import create_engine

from gis_service.db import migrate
from gis_service.db.cluster import LocalCluster, free_port
from gis_service.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from benchmark_coverage import SIZES, _build  # the same region as the coverage benchmark

from bench_results import changed_files, head, record  # scripts/bench_results.py, next to this script

TIPG_VERSION = "1.6.1"
PAGE = 100
DEEP_OFFSET = 200_000  # page 2,001 of the network's 300,579 edges
TILE_CAP = 20_000  # our tile provider's cap; tipg and the floor get the same
TILE_EXTENT, TILE_BUFFER = 4096, 64
BBOX_HALF_DEG = 0.03  # the small bbox: ~6.7 km square around the densest village
ZOOMS = (8, 11, 14)
REQUEST_TIMEOUT_S = 60.0
KEEPALIVE_S = 1.0  # the load client drops idle connections before uvicorn does (5 s)
TARGETS = ("ours", "tipg", "floor")


@dataclass(frozen=True)
class LayerSpec:
    collection: str  # our collection id (layers/*.yml)
    view: str  # the view behind it (migration 0004)
    id_field: str


LAYERS = (LayerSpec("network", "layer_network", "id"),
          LayerSpec("villages", "layer_village", "code"))


@dataclass
class Case:
    name: str
    layer: LayerSpec
    kind: str  # items | item | tile | health
    ours: str  # path on our server
    tipg: str  # path on tipg
    floor: tuple[str, tuple]  # (sql, params)
    floor_nocount: tuple[str, tuple] | None = None
    note: str = ""
    samples: dict = field(default_factory=lambda: {t: [] for t in (*TARGETS, "floor_nocount")})
    info: dict = field(default_factory=dict)


def _log(message: str) -> None:
    print(message, flush=True)


def _pct(values: list[float], q: float) -> float:
    """Percentile ``q`` (0-100) with linear interpolation."""
    if not values:
        return float("nan")
    xs = sorted(values)
    k = (len(xs) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


# ---- the database ------------------------------------------------------------------------------

def _cluster(home: Path) -> LocalCluster:
    """The benchmark's own durable cluster in ``home`` (port kept in ``home/port``), started."""
    port_file = home / "port"
    port = int(port_file.read_text()) if port_file.exists() else free_port()
    cluster = LocalCluster(home=home, port=port, durable=True)
    cluster.start()
    port_file.write_text(f"{port}\n")
    return cluster


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _prepare(cluster: LocalCluster, size_name: str, settings: Settings, reuse: bool) -> dict:
    """The region database: reused when ``reuse`` and a finished build of this size exists,
    else (re)built from nothing. Returns the build's description."""
    dbname = f"bench_api_{size_name}"
    marker = cluster.home / f"{dbname}.json"
    admin = _libpq(cluster.url("postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if reuse and exists and marker.exists():
            info = json.loads(marker.read_text())
            info["reused"] = True
            migrate.upgrade(cluster.url(dbname))  # a region built before the latest migrations
            return info
        marker.unlink(missing_ok=True)
        if exists:
            conn.execute(f'DROP DATABASE "{dbname}" WITH (FORCE)')
    started = time.perf_counter()
    cluster.ensure_database(dbname)
    url = cluster.url(dbname)
    migrate.upgrade(url)
    engine = create_engine(url)
    srid = int(settings.region_config().metric_crs.split(":")[1])
    try:
        _log(f"building the {size_name} region in {dbname} (scale {SIZES[size_name].scale:g}; "
             "a few minutes at province size) ...")
        region = _build(engine, SIZES[size_name], settings, srid)
    finally:
        engine.dispose()
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    info = {"dbname": dbname, "size": size_name, "region": region,
            "build_s": round(time.perf_counter() - started, 1), "built_at": time.ctime()}
    marker.write_text(json.dumps(info, indent=2))
    info["reused"] = False
    return info


@dataclass
class Sample:
    """Where the cases look: the densest village, a point inside it, ids for by-id requests."""

    lon: float
    lat: float
    village: str
    district: str
    network_id: int
    counts: dict


def _sample(url: str) -> Sample:
    with psycopg.connect(url) as conn:
        code, district, lon, lat = conn.execute(
            "SELECT v.code, v.parent_code, ST_X(p), ST_Y(p) FROM ("
            "  SELECT code, parent_code, ST_PointOnSurface(geom) AS p FROM layer_village) v "
            "JOIN (SELECT village_code, count(*) AS n FROM household GROUP BY 1) h "
            "  ON h.village_code = v.code ORDER BY h.n DESC, v.code LIMIT 1").fetchone()
        n_edges = conn.execute("SELECT count(*) FROM layer_network").fetchone()[0]
        network_id = conn.execute("SELECT id FROM layer_network ORDER BY id OFFSET %s LIMIT 1",
                                  (n_edges // 2,)).fetchone()[0]
        n_villages = conn.execute("SELECT count(*) FROM layer_village").fetchone()[0]
        n_households = conn.execute("SELECT count(*) FROM household").fetchone()[0]
    return Sample(lon, lat, code, district, network_id,
                  {"network_edges": n_edges, "villages": n_villages, "households": n_households})


def _columns(url: str, view: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT column_name FROM information_schema.columns "
                            "WHERE table_schema = 'public' AND table_name = %s "
                            "ORDER BY ordinal_position", (view,)).fetchall()
    return [r[0] for r in rows]


# ---- the cases ---------------------------------------------------------------------------------

def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    """WebMercatorQuad column and row of the tile holding (lon, lat) at zoom ``z``."""
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def _properties(layer: LayerSpec, columns: list[str], alias: str) -> str:
    """``json_build_object`` of the columns but the id and the geometry (``to_jsonb(row) - 'geom'``
    would cost ~10 ms a page here: it renders every geometry first)."""
    pairs = ", ".join(f"'{c}', {alias}.{c}" for c in columns if c not in ("geom", layer.id_field))
    return f"json_build_object({pairs})"


def _items_sql(layer: LayerSpec, columns: list[str], where: str, count: bool) -> str:
    """A page of ``PAGE`` features as one GeoJSON FeatureCollection text, built in SQL."""
    matched = (f"'numberMatched', (SELECT count(*) FROM {layer.view} WHERE {where}), "
               if count else "")
    return (
        f"WITH page AS (SELECT * FROM {layer.view} WHERE {where} ORDER BY {layer.id_field} "
        f"LIMIT {PAGE}) "
        f"SELECT json_build_object('type', 'FeatureCollection', {matched}"
        "'numberReturned', (SELECT count(*) FROM page), "
        "'features', coalesce((SELECT json_agg(json_build_object("
        f"'type', 'Feature', 'id', p.{layer.id_field}, 'geometry', ST_AsGeoJSON(p.geom)::json, "
        f"'properties', {_properties(layer, columns, 'p')}) ORDER BY p.{layer.id_field}) "
        "FROM page p), "
        "'[]'::json))::text")


def _item_sql(layer: LayerSpec, columns: list[str]) -> str:
    return (f"SELECT json_build_object('type', 'Feature', 'id', t.{layer.id_field}, "
            "'geometry', ST_AsGeoJSON(t.geom)::json, "
            f"'properties', {_properties(layer, columns, 't')})::text "
            f"FROM {layer.view} t WHERE t.{layer.id_field} = %s")


def _tile_sql(layer: LayerSpec, columns: list[str]) -> str:
    props = ", ".join(f"v.{c}" for c in columns if c != "geom")
    envelope = "ST_TileEnvelope(%s::int, %s::int, %s::int"
    return (
        f"SELECT ST_AsMVT(t, %s::text, {TILE_EXTENT}, 'geom') FROM ("
        f"SELECT {props}, ST_AsMVTGeom(ST_Transform(v.geom, 3857), {envelope}), "
        f"{TILE_EXTENT}, {TILE_BUFFER}, true) AS geom "
        f"FROM {layer.view} v WHERE v.geom && ST_Transform({envelope}, "
        f"margin => {TILE_BUFFER}.0 / {TILE_EXTENT}), 4326) LIMIT {TILE_CAP}) t "
        "WHERE t.geom IS NOT NULL")


def _tipg_collection(layer: LayerSpec) -> str:
    return f"public.{layer.view}"


def _cases(url: str, sample: Sample, ours: httpx.Client) -> list[Case]:
    """Items, bbox, filter and by-id cases and tiles for both layers, checked against our server's
    tile metadata (URL template, zoom range)."""
    bbox = (sample.lon - BBOX_HALF_DEG, sample.lat - BBOX_HALF_DEG,
            sample.lon + BBOX_HALF_DEG, sample.lat + BBOX_HALF_DEG)
    bbox_q = ",".join(f"{v:.6f}" for v in bbox)
    envelope = f"ST_Intersects(geom, ST_MakeEnvelope({bbox_q}, 4326))"
    filters = {"network": ("mode", "road"), "villages": ("parent_code", sample.district)}
    ids = {"network": str(sample.network_id), "villages": sample.village}
    cases = [Case(name="health (HTTP round trip)", layer=LAYERS[0], kind="health", ours="/health",
                  tipg="/healthz", floor=("SELECT 1", ()))]
    for layer in LAYERS:
        coll, tcoll = layer.collection, _tipg_collection(layer)
        columns = _columns(url, layer.view)
        prop, value = filters[coll]
        variants = [("page", {}, "TRUE"),
                    ("bbox", {"bbox": bbox_q}, envelope),
                    (f"{prop}={value}", {prop: value}, f"{prop} = '{value}'")]
        for label, params, where in variants:
            cases.append(Case(
                name=f"{coll} items {label}", layer=layer, kind="items",
                ours=f"/ogc/collections/{coll}/items?" + urlencode({"f": "json", "limit": PAGE,
                                                                    **params}),
                tipg=f"/collections/{tcoll}/items?" + urlencode({"f": "geojson", "limit": PAGE,
                                                                 **params}),
                floor=(_items_sql(layer, columns, where, count=True), ()),
                floor_nocount=(_items_sql(layer, columns, where, count=False), ())))
        if coll == "network":  # a deep page: ours by keyset (its next links), tipg by offset
            with psycopg.connect(url) as conn:
                key = conn.execute(f"SELECT {layer.id_field} FROM {layer.view} ORDER BY {layer.id_field} "
                                   f"OFFSET {DEEP_OFFSET - 1} LIMIT 1").fetchone()[0]
            cases.append(Case(
                name=f"{coll} items page {DEEP_OFFSET // PAGE + 1:,} (after / offset {DEEP_OFFSET:,})",
                layer=layer, kind="items",
                ours=f"/ogc/collections/{coll}/items?" + urlencode({"f": "json", "limit": PAGE,
                                                                    "after": key}),
                tipg=f"/collections/{tcoll}/items?" + urlencode({"f": "geojson", "limit": PAGE,
                                                                 "offset": DEEP_OFFSET}),
                floor=(_items_sql(layer, columns, f"{layer.id_field} > {int(key)}", count=True), ()),
                floor_nocount=(_items_sql(layer, columns, f"{layer.id_field} > {int(key)}",
                                          count=False), ())))
        fid = ids[coll]
        cases.append(Case(
            name=f"{coll} item by id", layer=layer, kind="item",
            ours=f"/ogc/collections/{coll}/items/{quote(fid)}?f=json",
            tipg=f"/collections/{tcoll}/items/{quote(fid)}?f=geojson",
            floor=(_item_sql(layer, columns), (int(fid) if coll == "network" else fid,))))
        template = _tile_template(ours, coll)
        for z in ZOOMS:
            zz, note = _first_served_zoom(ours, template, sample, z)
            x, y = tile_xy(sample.lon, sample.lat, zz)
            cases.append(Case(
                name=f"{coll} tile z{zz}" + (f" (for z{z})" if zz != z else ""), layer=layer,
                kind="tile", note=note,
                ours=template.format(tileMatrix=zz, tileRow=y, tileCol=x),
                tipg=f"/collections/{tcoll}/tiles/WebMercatorQuad/{zz}/{x}/{y}",
                floor=(_tile_sql(layer, columns), (coll, zz, x, y, zz, x, y))))
    return cases


def _tile_template(ours: httpx.Client, collection: str) -> str:
    """Our MVT tile URL template, read from ``/ogc/collections/{id}/tiles`` (as a client would)."""
    r = ours.get(f"/ogc/collections/{collection}/tiles", params={"f": "json"})
    r.raise_for_status()
    doc = r.json()
    links = doc.get("links", []) + [ln for ts in doc.get("tilesets", [])
                                    for ln in ts.get("links", [])]
    hrefs = [ln["href"].replace("%7B", "{").replace("%7D", "}").replace(
                 "{tileMatrixSetId}", "WebMercatorQuad") for ln in links
             if ln.get("type") == "application/vnd.mapbox-vector-tile"]
    hrefs = [h for h in hrefs if "/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}" in h]
    if not hrefs:
        raise RuntimeError(f"no WebMercatorQuad MVT URL template in "
                           f"/ogc/collections/{collection}/tiles: {links}")
    return "/ogc/" + hrefs[0].split("/ogc/", 1)[1]


def _first_served_zoom(ours: httpx.Client, template: str, sample: Sample,
                       z: int) -> tuple[int, str]:
    """``z`` if our server serves it, else the next zoom it does (a layer's zoom range)."""
    for zz in range(z, z + 6):
        x, y = tile_xy(sample.lon, sample.lat, zz)
        status = ours.get(template.format(tileMatrix=zz, tileRow=y, tileCol=x)).status_code
        if status == 200:
            return zz, "" if zz == z else f"z{z} is outside the layer's zoom range (404)"
        if status != 404:
            raise RuntimeError(f"tile z{zz} answered {status}")
    raise RuntimeError(f"no zoom from {z} served by {template}")


# ---- the servers -------------------------------------------------------------------------------

def _ensure_tipg(venv: Path) -> Path:
    """tipg and uvicorn in their own virtualenv (never in ours); returns its uvicorn."""
    uvicorn = venv / "bin" / "uvicorn"
    python = venv / "bin" / "python"
    if python.exists():
        probe = subprocess.run([str(python), "-c", "import tipg; print(tipg.__version__)"],
                               check=False, capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == TIPG_VERSION and uvicorn.exists():
            return uvicorn
    _log(f"installing tipg {TIPG_VERSION} into {venv} ...")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    (venv / ".gitignore").write_text("*\n")  # keeps the venv out of git wherever it lives
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"tipg=={TIPG_VERSION}", "uvicorn"],
                   check=True)
    return uvicorn


@dataclass
class Server:
    name: str
    base: str
    proc: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


def _wait_ready(server: Server, path: str, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited ({server.proc.returncode}); "
                               f"see {server.log}:\n"
                               + server.log.read_text()[-3000:])
        try:
            if httpx.get(server.base + path, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{server.name} not ready after {timeout_s:.0f} s; see {server.log}")


def _start(name: str, cmd: list[str], env: dict, work: Path, ready: str) -> Server:
    port = int(cmd[cmd.index("--port") + 1])
    log = work / f"{name}.log"
    proc = subprocess.Popen(cmd, env=env, cwd=work, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    server = Server(name, f"http://127.0.0.1:{port}", proc, log)
    _wait_ready(server, ready)
    return server


def _start_ours(db_url: str, work: Path) -> Server:
    port = free_port()
    data_dir = work / "ours-data"  # pygeoapi config and OpenAPI go here, not into .gis-service
    data_dir.mkdir()
    env = {**os.environ, "GIS_SERVICE_DATABASE_URL": db_url, "GIS_SERVICE_DATA_DIR": str(data_dir)}
    cmd = [sys.executable, "-c", "from gis_service.cli import main; main()", "serve",
           "--host", "127.0.0.1", "--port", str(port), "--base-url", f"http://127.0.0.1:{port}"]
    return _start("ours", cmd, env, work, "/ready")


def _start_tipg(uvicorn: Path, db_url: str, work: Path) -> Server:
    port = free_port()
    tables = [_tipg_collection(layer) for layer in LAYERS]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIPG_", "GIS_SERVICE_"))}
    env.update({
        "DATABASE_URL": _libpq(db_url),
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": json.dumps(tables),
        "TIPG_MAX_FEATURES_PER_TILE": str(TILE_CAP),
        "TIPG_TILE_BUFFER": str(TILE_BUFFER),
        "TIPG_TILE_RESOLUTION": str(TILE_EXTENT),
        **{f"TIPG_TABLE_CONFIG__public_{layer.view}__pk": layer.id_field for layer in LAYERS},
    })
    tipg_dir = work / "tipg"  # its own cwd: tipg reads a .env file from there
    tipg_dir.mkdir()
    cmd = [str(uvicorn), "tipg.main:app", "--host", "127.0.0.1", "--port", str(port),
           "--workers", "1", "--no-access-log", "--log-level", "warning"]
    return _start("tipg", cmd, env, tipg_dir, f"/collections/{tables[0]}")


# ---- latency -----------------------------------------------------------------------------------

def _check(case: Case, target: str, status: int, body: bytes) -> dict:
    """Validate one answer and describe it (features returned / matched, bytes)."""
    if status != 200:
        raise RuntimeError(f"{case.name}: {target} answered {status}: {body[:300]!r}")
    out: dict = {"bytes": len(body)}
    if case.kind == "items":
        doc = json.loads(body)
        out["returned"] = len(doc.get("features", []))
        out["matched"] = doc.get("numberMatched")
    elif case.kind == "item":
        doc = json.loads(body)
        if doc.get("type") != "Feature":
            raise RuntimeError(f"{case.name}: {target} did not answer a Feature")
        out["returned"] = 1
    return out


def _once(case: Case, target: str, clients: dict,
          db: psycopg.Connection) -> tuple[float, bytes, int]:
    if target in ("floor", "floor_nocount"):
        sql, params = case.floor if target == "floor" else case.floor_nocount
        started = time.perf_counter()
        value = db.execute(sql, params, prepare=True).fetchone()[0]
        ms = (time.perf_counter() - started) * 1e3
        body = value.encode() if isinstance(value, str) else bytes(value or b"")
        return ms, body, 200
    path = case.ours if target == "ours" else case.tipg
    started = time.perf_counter()
    r = clients[target].get(path)
    body = r.content
    return (time.perf_counter() - started) * 1e3, body, r.status_code


def _measure(cases: list[Case], clients: dict, db_url: str, warmup: int, repeat: int) -> None:
    with psycopg.connect(_libpq(db_url), autocommit=True) as db:
        for case in cases:
            targets = [t for t in (*TARGETS, "floor_nocount")
                       if t in clients or t == "floor" or (t == "floor_nocount"
                                                           and case.floor_nocount)]
            for _ in range(warmup):
                for target in targets:
                    ms, body, status = _once(case, target, clients, db)
                    case.info[target] = _check(case, target, status, body)
            for i in range(repeat):
                for target in targets[i % len(targets):] + targets[:i % len(targets)]:
                    ms, body, status = _once(case, target, clients, db)
                    if status != 200:
                        _check(case, target, status, body)
                    case.samples[target].append(ms)
            _log(f"  {case.name:<34} " + "  ".join(
                f"{t} {statistics.median(case.samples[t]):7.1f}" for t in targets))


def _summary(case: Case) -> dict:
    out = {"name": case.name, "kind": case.kind, "ours_path": case.ours, "tipg_path": case.tipg,
           "note": case.note, "info": case.info}
    for target, xs in case.samples.items():
        if xs:
            out[target] = {"p50_ms": round(statistics.median(xs), 2),
                           "p95_ms": round(_pct(xs, 95), 2),
                           "n": len(xs)}
    for a, b in (("ours", "floor"), ("tipg", "floor"), ("ours", "tipg"), ("ours", "floor_nocount")):
        if a in out and b in out:
            out[f"{a}/{b}"] = round(out[a]["p50_ms"] / out[b]["p50_ms"], 2)
    return out


# ---- concurrency -------------------------------------------------------------------------------

def _mix(cases: list[Case], sample: Sample) -> list[tuple[str, str]]:
    """The concurrent mix: every items case, and z14/z11 tiles of both layers around the sample
    point (a 3x3 block of neighbouring tiles at z14, so tiles vary)."""
    mix = [(c.name, c.ours) for c in cases if c.kind in ("items", "item")
           and "after" not in c.name]  # the deep page would be tipg's offset: kept out of the mix
    for c in cases:
        if c.kind != "tile" or c.name.split()[2] not in ("z11", "z14"):
            continue
        if c.name.split()[2] == "z14":
            z = 14
            x, y = tile_xy(sample.lon, sample.lat, z)
            prefix = c.ours.split(f"/{z}/{y}/{x}")[0]
            suffix = c.ours.split(f"/{z}/{y}/{x}")[1]
            mix += [(c.name, f"{prefix}/{z}/{y + dy}/{x + dx}{suffix}")
                    for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
        else:
            mix.append((c.name, c.ours))
    return mix


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> tuple[int, int]:
    cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(v) for v in cpu]
    idle = ticks[3] + ticks[4]
    return sum(ticks) - idle, sum(ticks)


async def _load(base: str, mix: list[tuple[str, str]], clients: int, duration_s: float) -> dict:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients,
                          keepalive_expiry=KEEPALIVE_S)
    records: list[tuple[str, float, bool]] = []
    errors: dict[str, int] = {}
    deadline = time.monotonic() + duration_s

    async with httpx.AsyncClient(base_url=base, limits=limits,
                                 timeout=httpx.Timeout(30.0)) as client:
        async def worker(k: int) -> None:
            rng = random.Random(k)
            order = list(range(len(mix)))
            i = 0
            while time.monotonic() < deadline:  # bounded by time; every request by its timeout
                if i % len(order) == 0:
                    rng.shuffle(order)
                name, path = mix[order[i % len(order)]]
                i += 1
                started = time.perf_counter()
                try:
                    r = await client.get(path)
                    ok = r.status_code == 200
                    if not ok:
                        key = f"{name}: HTTP {r.status_code}"
                        errors[key] = errors.get(key, 0) + 1
                except httpx.HTTPError as exc:
                    ok = False
                    key = f"{name}: {type(exc).__name__} {exc}"[:160]
                    errors[key] = errors.get(key, 0) + 1
                records.append((name, (time.perf_counter() - started) * 1e3, ok))

        started = time.monotonic()
        await asyncio.gather(*(worker(k) for k in range(clients)))
        wall = time.monotonic() - started
    return {"records": records, "errors": errors, "wall_s": wall}


def _concurrency(server: Server, mix: list[tuple[str, str]], clients: int,
                 duration_s: float) -> dict:
    cpu0, busy0 = _cpu_seconds(server.proc.pid), _machine_busy()
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    out = asyncio.run(_load(server.base, mix, clients, duration_s))
    cpu1, busy1 = _cpu_seconds(server.proc.pid), _machine_busy()
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    records, wall = out["records"], out["wall_s"]
    ok_ms = [ms for _, ms, ok in records if ok]
    by_kind: dict[str, list[float]] = {}
    for name, ms, ok in records:
        if ok:
            by_kind.setdefault(name, []).append(ms)
    client_cpu = (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)
    return {
        "server": server.name, "clients": clients, "duration_s": round(wall, 1),
        "requests": len(records), "ok": len(ok_ms), "errors": sum(out["errors"].values()),
        "error_kinds": out["errors"], "rps": round(len(ok_ms) / wall, 1),
        "p50_ms": round(statistics.median(ok_ms), 1) if ok_ms else None,
        "p95_ms": round(_pct(ok_ms, 95), 1) if ok_ms else None,
        "max_ms": round(max(ok_ms), 1) if ok_ms else None,
        "server_cpu_pct": round(100 * (cpu1 - cpu0) / wall, 1),
        "client_cpu_pct": round(100 * client_cpu / wall, 1),
        "machine_busy_pct": round(100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]), 1),
        "by_kind": {k: {"n": len(v), "p50_ms": round(statistics.median(v), 1),
                        "p95_ms": round(_pct(v, 95), 1)} for k, v in sorted(by_kind.items())},
    }


# ---- profile -----------------------------------------------------------------------------------

class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs submitted work at once in the calling thread, so cProfile (one thread) sees the
    request handlers that the server would run in its thread pool (asyncio's default executor,
    which pygeoapi uses; anyio's ``to_thread.run_sync``, which Starlette uses, is replaced by an
    inline call while profiling)."""

    def submit(self, fn, /, *args, **kwargs):
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine, as a pool would
            future.set_exception(exc)
        return future


PROFILE_FILTER = r"gis_service/|pygeoapi/|sqlalchemy/|psycopg|geoalchemy2/|shapely/|json"
PROFILE_GROUPS = (  # first match of the file name or function name wins
    ("PostgreSQL + driver", ("psycopg", "asyncpg")),
    ("JSON encode/decode", ("/json/", "orjson", "ujson", "rapidjson")),
    ("SQLAlchemy/GeoAlchemy", ("sqlalchemy/", "geoalchemy2/")),
    ("shapely/pyproj", ("shapely/", "pyproj/")),
    ("pygeoapi", ("pygeoapi/", "pygeofilter/", "jinja2/")),
    ("gis_service", ("gis_service/",)),
    ("ASGI stack + test client", ("starlette/", "fastapi/", "httpx/", "httpcore/", "anyio/",
                                  "asyncio/", "h11/")),
)


def _groups(stats: pstats.Stats, count: int) -> dict[str, float]:
    """Own time per request (ms) by group: where a request's time goes."""
    out: dict[str, float] = {}
    for (filename, _, func), (_, _, tottime, _, _) in stats.stats.items():
        where = f"{filename} {func}"
        group = next((g for g, keys in PROFILE_GROUPS if any(k in where for k in keys)), "other")
        out[group] = out.get(group, 0.0) + tottime * 1e3 / count
    return dict(sorted(((k, round(v, 2)) for k, v in out.items()), key=lambda kv: -kv[1]))


def _profile(db_url: str, work: Path, cases: list[Case], count: int) -> list[dict]:
    """cProfile of ``count`` requests of each case to our application, in this process (no
    uvicorn, no sockets): the ms per request without and with the profiler, the own time by
    group (database driver, JSON, SQLAlchemy, pygeoapi, ...) and, for the first case, the top
    functions."""
    os.environ["GIS_SERVICE_DATABASE_URL"] = db_url
    os.environ["GIS_SERVICE_DATA_DIR"] = str(work / "profile-data")
    from gis_service.api.app import create_app

    app = create_app(get_settings(), base_url="http://127.0.0.1:8000")
    logging.disable(logging.WARNING)  # pygeoapi logs to stderr; the server's log is not measured

    async def one(c: httpx.AsyncClient, path: str) -> tuple[float, pstats.Stats]:
        for _ in range(3):
            (await c.get(path)).raise_for_status()
        started = time.perf_counter()
        for _ in range(count):
            await c.get(path)
        plain_ms = (time.perf_counter() - started) * 1e3 / count
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(count):
            await c.get(path)
        prof.disable()
        return plain_ms, pstats.Stats(prof)

    async def run() -> list[tuple[float, pstats.Stats]]:
        asyncio.get_running_loop().set_default_executor(_InlineExecutor(max_workers=1))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
            return [await one(c, case.ours) for case in cases]

    async def inline_run_sync(func, *args, **kwargs):  # anyio's thread pool, run inline too
        return func(*args)

    thread_run_sync = anyio.to_thread.run_sync
    anyio.to_thread.run_sync = inline_run_sync
    try:
        measured = asyncio.run(run())
    finally:
        anyio.to_thread.run_sync = thread_run_sync
        logging.disable(logging.NOTSET)
    out = []
    for i, (case, (plain_ms, stats)) in enumerate(zip(cases, measured)):
        item = {"case": case.name, "path": case.ours, "requests": count,
                "in_process_ms": round(plain_ms, 2),
                "profiled_ms": round(stats.total_tt * 1e3 / count, 2),
                "own_ms_by_group": _groups(stats, count)}
        if i == 0:
            buf = io.StringIO()
            stats.stream = buf
            stats.sort_stats("cumulative").print_stats(PROFILE_FILTER, 20)
            buf.write("-- by own time --\n")
            stats.sort_stats("tottime").print_stats(12)
            report = buf.getvalue()
            prefixes = {str(Path(p).parents[1]) for p in (httpx.__file__, json.__file__)}
            for prefix in prefixes | {str(ROOT)}:
                report = report.replace(prefix + "/", "")
            item["report"] = "\n".join(line for line in report.splitlines()
                                       if line.strip() and "List reduced" not in line)
        out.append(item)
    return out


def _sql_breakdown(db_url: str) -> dict:
    """Server-side time of the floor's parts for the network page: the page alone, the count
    alone (EXPLAIN ANALYZE execution time), so the count's share is visible."""
    out = {}
    with psycopg.connect(_libpq(db_url), autocommit=True) as db:
        for layer in LAYERS:
            queries = {"count(*)": f"SELECT count(*) FROM {layer.view}",
                       "page of 100": f"SELECT * FROM {layer.view} ORDER BY {layer.id_field} "
                                      f"LIMIT {PAGE}",
                       "page of 100, no order": f"SELECT * FROM {layer.view} LIMIT {PAGE}"}
            for label, sql in queries.items():
                times = []
                for _ in range(5):
                    plan = db.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}").fetchone()[0]
                    times.append(plan[0]["Execution Time"])
                out[f"{layer.collection} {label}"] = round(statistics.median(times), 2)
    return out


# ---- printing ----------------------------------------------------------------------------------

def _fmt(d: dict | None, key: str) -> str:
    return f"{d[key]:.1f}" if d else "-"


def _print(results: dict) -> None:
    print(f"\n== OGC API serving, {results['size']} region: {results['sample']['counts']} ==")
    print(f"code measured: {results['code']}")
    print(f"repeat {results['repeat']} per case (after {results['warmup']} warm-up rounds), "
          "latency in ms, ratios of medians; floor = hand-written SQL through psycopg "
          "(items with the exact count both servers return, and without it)")
    head = (f"{'case':<34} {'ours p50':>8} {'p95':>7} {'tipg p50':>8} {'p95':>7} "
            f"{'floor p50':>9} {'p95':>7} {'no-count':>8} {'ours/fl':>7} {'tipg/fl':>7} "
            f"{'ours/tipg':>9}  returned o/t/f (matched)")
    print(head)
    print("-" * len(head))
    for c in results["cases"]:
        info = c["info"]
        returned = "/".join(str(info.get(t, {}).get("returned", "")) for t in TARGETS)
        matched = {info.get(t, {}).get("matched") for t in ("ours", "tipg", "floor")} - {None}
        if c["kind"] == "tile":
            returned = "/".join(f"{info.get(t, {}).get('bytes', 0) / 1024:.1f}k" for t in TARGETS)
        if c["kind"] == "health":
            returned = ""
        extra = f" ({', '.join(str(m) for m in sorted(matched))})" if matched else ""
        ratio = {k: c.get(k, float("nan")) for k in ("ours/floor", "tipg/floor", "ours/tipg")}
        print(f"{c['name']:<34} {_fmt(c.get('ours'), 'p50_ms'):>8} "
              f"{_fmt(c.get('ours'), 'p95_ms'):>7} "
              f"{_fmt(c.get('tipg'), 'p50_ms'):>8} {_fmt(c.get('tipg'), 'p95_ms'):>7} "
              f"{_fmt(c.get('floor'), 'p50_ms'):>9} {_fmt(c.get('floor'), 'p95_ms'):>7} "
              f"{_fmt(c.get('floor_nocount'), 'p50_ms'):>8} "
              f"{ratio['ours/floor']:>6.1f}x {ratio['tipg/floor']:>6.1f}x "
              f"{ratio['ours/tipg']:>8.2f}x  {returned}{extra}")
    notes = sorted({f"{c['name']}: {c['note']}" for c in results["cases"] if c["note"]})
    for n in notes:
        print(f"  note - {n}")
    if "sql_breakdown" in results:
        print("server-side execution (EXPLAIN ANALYZE, ms): " + ", ".join(
            f"{k} {v}" for k, v in results["sql_breakdown"].items()))
    for conc in results.get("concurrency", []):
        print(f"\nconcurrency, {conc['server']}: {conc['clients']} clients for "
              f"{conc['duration_s']} s "
              f"-> {conc['rps']} req/s, {conc['requests']} requests, {conc['errors']} errors, "
              f"p50 {conc['p50_ms']} ms, p95 {conc['p95_ms']} ms, max {conc['max_ms']} ms; "
              f"CPU: server {conc['server_cpu_pct']}% of a core, load client "
              f"{conc['client_cpu_pct']}%, machine {conc['machine_busy_pct']}% busy (2 cores)")
        for kind, v in conc["by_kind"].items():
            print(f"  {kind:<34} n {v['n']:>6}  p50 {v['p50_ms']:>8.1f}  p95 {v['p95_ms']:>8.1f}")
        for kind, n in conc["error_kinds"].items():
            print(f"  errors: {kind} x{n}")
    for p in results.get("profile", []):
        print(f"\nprofile of our server in process (no HTTP): {p['case']} ({p['path']}): "
              f"{p['in_process_ms']} ms per request, {p['profiled_ms']} ms under cProfile "
              f"({p['requests']} requests); own ms per request by group:")
        print("  " + ", ".join(f"{k} {v}" for k, v in p["own_ms_by_group"].items()))
        if "report" in p:
            print(p["report"])


def _code_state() -> str:
    """The commit measured, and the files changed since (the servers run the work tree)."""
    changed = [f for f in changed_files() if f.startswith(("gis_service/", "layers/", "config/"))]
    return head() + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


# ---- main --------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--size", default="province", choices=sorted(SIZES),
                        help="region size (province: scale 25, ~300k edges; district: smoke runs)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the region database of an earlier run of this size if complete")
    parser.add_argument("--home", type=Path, help="the benchmark cluster's folder "
                        "(default <GIS_SERVICE_DATA_DIR>/benchmark-api)")
    parser.add_argument("--repeat", type=int, default=30, help="measured rounds per case")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up rounds per case")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--duration", type=float, default=60.0,
                        help="seconds of concurrent load (0: skip)")
    parser.add_argument("--concurrency-peer", action=argparse.BooleanOptionalAction, default=True,
                        help="run the same concurrent load against tipg too")
    parser.add_argument("--no-peer", action="store_true", help="skip tipg")
    parser.add_argument("--tipg-venv", type=Path, default=ROOT / ".venv-tipg",
                        help="tipg's own virtualenv, created when missing (default .venv-tipg)")
    parser.add_argument("--profile", type=int, default=20,
                        help="requests per profiled case (network page, by id, tile z14, "
                             "villages bbox), in process (0: skip)")
    parser.add_argument("--keep-db-running", action="store_true",
                        help="leave the benchmark cluster running at the end (its data stays on "
                             "disk for --reuse either way)")
    parser.add_argument("--prepare-only", action="store_true",
                        help="build (or check) the region database, then stop")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    settings = get_settings()
    home = (args.home or Path(settings.data_dir) / "benchmark-api").resolve()
    uvicorn = None if args.no_peer else _ensure_tipg(args.tipg_venv.resolve())
    cluster = _cluster(home)
    work = Path(tempfile.mkdtemp(prefix="gis-bench-api-"))
    servers: list[Server] = []
    results: dict = {"size": args.size, "repeat": args.repeat, "warmup": args.warmup,
                     "loadavg_start": os.getloadavg(), "code": _code_state()}
    started = time.perf_counter()
    try:
        db = _prepare(cluster, args.size, settings, args.reuse)
        results["database"] = db
        db_url = cluster.url(db["dbname"])
        how = "reused" if db["reused"] else f"built in {db['build_s']} s"
        _log(f"database {db['dbname']} on 127.0.0.1:{cluster.port} ({how})")
        if args.prepare_only:
            return
        sample = _sample(_libpq(db_url))
        results["sample"] = sample.__dict__
        _log(f"sample point {sample.lon:.4f}, {sample.lat:.4f} in village {sample.village}; "
             f"{sample.counts}")

        ours = _start_ours(db_url, work)
        servers.append(ours)
        clients = {"ours": httpx.Client(base_url=ours.base, timeout=REQUEST_TIMEOUT_S)}
        if uvicorn:
            tipg = _start_tipg(uvicorn, db_url, work)
            servers.append(tipg)
            clients["tipg"] = httpx.Client(base_url=tipg.base, timeout=REQUEST_TIMEOUT_S)
        _log(f"servers up after {time.perf_counter() - started:.0f} s: "
             + ", ".join(f"{s.name} {s.base}" for s in servers))

        cases = _cases(_libpq(db_url), sample, clients["ours"])
        _log(f"measuring {len(cases)} cases x {args.repeat} rounds (p50 ms so far):")
        _measure(cases, clients, db_url, args.warmup, args.repeat)
        results["cases"] = [_summary(c) for c in cases]
        results["sql_breakdown"] = _sql_breakdown(db_url)
        for c in clients.values():
            c.close()

        if args.duration > 0:
            mix = _mix(cases, sample)
            results["concurrency"] = []
            for server in servers:
                if server.name == "ours" or args.concurrency_peer:
                    _log(f"concurrent load on {server.name}: {args.clients} clients, "
                         f"{args.duration:g} s, {len(mix)} URLs in the mix ...")
                    mix_s = mix if server.name == "ours" else _mix_tipg(cases, mix)
                    results["concurrency"].append(
                        _concurrency(server, mix_s, args.clients, args.duration))
        for server in servers:
            server.stop()
        if args.profile > 0:
            wanted = ("network items page", "network item by id", "villages items bbox",
                      "network tile z14")
            results["profile"] = _profile(db_url, work, [c for c in cases if c.name in wanted],
                                          args.profile)
        results["total_s"] = round(time.perf_counter() - started, 1)
        results["loadavg_end"] = os.getloadavg()
        _print(results)
        print(f"\nwhole benchmark: {results['total_s']} s; load average (1, 5, 15 min) at the "
              f"start {results['loadavg_start']}, at the end {results['loadavg_end']} "
              f"({os.cpu_count()} cores)")
    finally:
        for server in servers:
            server.stop()
        if not args.keep_db_running:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    record("api", results, _one_line(results))


def _one_line(results: dict) -> str:
    """Cases where ours is behind tipg's median, and the concurrent load of each server."""
    cases = [c for c in results.get("cases", []) if c["kind"] != "health"]  # not a feature case
    behind = [f"{c['name']} {c['ours/tipg']:.2f}x" for c in cases if c.get("ours/tipg", 0) > 1]
    load = [f"{c['server']} p95 {c['p95_ms']} ms at {c['rps']} req/s"
            for c in results.get("concurrency", [])]
    return (f"{len(cases)} cases, {len(cases) - len(behind)} at or below tipg's median"
            + (f" (behind: {', '.join(behind)})" if behind else "")
            + (f"; {results['concurrency'][0]['clients']} clients: {', '.join(load)}" if load else ""))


def _mix_tipg(cases: list[Case], mix: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The same mix on tipg's URLs (x before y in its tile paths)."""
    by_ours = {c.ours: c.tipg for c in cases}
    out = []
    for name, path in mix:
        if path in by_ours:
            out.append((name, by_ours[path]))
            continue
        _, z, y, x_q = path.rsplit("/", 3)
        layer = next(c for c in cases if c.name == name).layer
        x = x_q.split("?")[0]
        tiles = f"/collections/{_tipg_collection(layer)}/tiles/WebMercatorQuad"
        out.append((name, f"{tiles}/{z}/{x}/{y}"))
    return out


if __name__ == "__main__":
    main()
