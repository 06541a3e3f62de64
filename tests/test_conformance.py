"""Conformance with real third-party tools against the served application (`create_app` under
uvicorn on a loopback port, the `server` fixture), on a region where every published collection
has features (`every_layer_filled`):

- ogctests 0.1.15, "a black box verifier for the OGC API Specification", runs its OGC API -
  Features - Part 1: Core abstract tests, judged test by test from its JUnit report. It runs from a
  copy with one schema line corrected (see FEATURE_SCHEMA_GEOMETRY); its checks that are wrong or
  cannot run offline are listed in OGCTESTS_KNOWN_BAD with how they fail, and the requirement each
  was meant to verify is checked here directly instead (the tests below it).
- schemathesis (v4, its CLI, seeded) sends generated valid and invalid requests for every operation
  of our own OpenAPI document (/ogc/openapi?f=json) with the `not_a_server_error` check. Every 5xx
  is replayed against the server to attach the exception the server logged; the test fails on any
  5xx not in KNOWN_5XX (pygeoapi 0.21's own, reported upstream) and on a KNOWN_5XX entry whose
  reproducer no longer fails (then it is fixed: remove it).

Both are installed by `make test` (schemathesis from the test extra; ogctests by
scripts/bootstrap.sh with --no-deps, as its pins of pytest, httpx and pyarrow would break the
suite); the tests skip when they are missing.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

import geopandas as gpd
import httpx
import pytest
import shapely
from sqlalchemy import text

from gis_service.api.layers import load_layers
from gis_service.settings import get_settings

OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"


# ---- a region in which every published collection has at least one feature -----------------------

@pytest.fixture
def every_layer_filled(published_region, tmp_path):
    """`published_region` plus a settlement, two network edges, a pilot's log, the national targets, a
    second coverage run (which then has gaps to the targets) and a scale-up plan: no published
    collection is empty, so the tools check features in every collection, not only the first ones."""
    from gis_service.analysis.coverage import CoverageOptions, run_coverage
    from gis_service.analysis.publishing import publish
    from gis_service.analysis.scaleup.plan import ScaleupOptions, run_scaleup
    from gis_service.planning.scenarios import load_scenarios
    from gis_service.ingest.config_tables import load_targets
    from gis_service.ingest.importer import import_file
    from tests.helpers import write_csv

    engine = published_region
    settlement = [{"id": "S1", "nama": "Kampung Uji", "penduduk": "400", "kk": "", "lon": "112.05", "lat": "-2.9"}]
    import_file(engine, "settlements", write_csv(tmp_path / "s.csv", settlement))
    roads = gpd.GeoDataFrame({"id": ["e1", "e2"], "moda": ["road", "path"], "kelas": ["track", "footway"]},
                             geometry=[shapely.LineString([(112.05, -2.9), (112.10, -2.9)]),
                                       shapely.LineString([(112.10, -2.9), (112.10, -2.89)])],
                             crs="EPSG:4326")
    roads.to_file(tmp_path / "roads.geojson", driver="GeoJSON")
    import_file(engine, "network", tmp_path / "roads.geojson")
    # a pilot with two emptyings in its operation log (the pilot_evaluation collection)
    import_file(engine, "pilots", write_csv(tmp_path / "pilot.csv", [
        {"pilot": "Uji", "period_start": "2026-01-01", "period_end": "2026-01-31", "village_codes": "62.07.01.2001"}]))
    import_file(engine, "pilot_events", write_csv(tmp_path / "log.csv", [
        {"event_id": f"E{i}", "pilot": "Uji", "date": "2026-01-05", "status": "done", "village_code": "62.07.01.2001",
         "pumped_m3": "3", "delivered_m3": "3"} for i in range(2)]))
    with engine.begin() as conn:
        load_targets(conn, get_settings().config_dir / "targets.yml")
    coverage = run_coverage(engine, CoverageOptions(method="buffer", distance_m=3000)).run_id
    scenarios = tmp_path / "scenarios.yml"
    scenarios.write_text("scenarios:\n  - {name: Uji, plan: {calibration: defaults}}\n")
    with engine.begin() as conn:
        load_scenarios(conn, scenarios, region_code="62.07")
    plan = run_scaleup(engine, ScaleupOptions(scenario="Uji")).run_id
    with engine.begin() as conn:  # the default layers show published runs
        publish(conn, "coverage", coverage, by="tests")
        publish(conn, "scaleup", plan, by="tests")
    layers = load_layers(get_settings().layers_dir)
    with engine.connect() as conn:
        empty = [layer.id for layer in layers
                 if not conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {layer.table})")).scalar()]
    assert not empty, f"collections without features: {empty}"
    return engine


ADMIN: dict[str, str] = {}  # the Authorization header of an admin key, made by full_server


@pytest.fixture
def full_server(every_layer_filled, server):
    """The `server` fixture's base URL (…/ogc), serving `every_layer_filled`; ``ADMIN`` holds an
    admin key, so that starting and deleting jobs (which need one) are tested too."""
    from gis_service.db.users import add_user

    with every_layer_filled.begin() as conn:
        ADMIN["Authorization"] = f"Bearer {add_user(conn, 'conformance', 'admin')}"
    return server


def _subprocess_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "CLIENT_OVERRIDDEN"}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


# ---- 1. ogctests: OGC API - Features - Part 1: Core -----------------------------------------------

# ogctests 0.1.15 runs 29 pytest functions named after the abstract tests (ATS) of OGC 17-069r3.
OGCTESTS_CHECKS = {f"test_ast{n}" for n in range(1, 30)}

# Checks of ogctests that are wrong or cannot run offline: name -> how it fails (a regular
# expression). Such a check may pass, or fail in exactly that way; the requirement each was meant to
# verify is checked directly by the test named in the comment.
OGCTESTS_KNOWN_BAD = {
    # /ats/core/fc-time-definition. To find the `datetime` parameter ogctests resolves every
    # parameter $ref of the items operation, remote ones with a bare `httpx.get`
    # (ogctests/features/core/utils.py, resolve_json_schema_ref) and without catching errors;
    # pygeoapi's document refers to the OGC schema servers (e.g. the `sortby` parameter on
    # raw.githubusercontent.com), so without internet (CI, this machine) the check dies with
    # httpx.ConnectError before looking at anything. When it can fetch them, a missing `datetime` is
    # only a warning. -> test_items_operations_declare_the_datetime_parameter,
    # test_datetime_filters_a_collection_with_a_time_property
    "test_ast18": r"ConnectError",
    # /ats/core/query-param-unknown. ogctests expects 400 for `ooga=booga` on every items path, but
    # the requirement covers parameters "not specified in the API definition", and OGC 17-069r3
    # (#query_parameters) shows how a definition allows any further parameter: our items operations
    # declare pygeoapi's free-form `vendorSpecificParameters` (type object, additionalProperties:
    # true, style form), the OpenAPI construct the standard gives for that, so unknown parameters
    # are ignored, not refused. The official ETS had the same bug and fixed it
    # (opengeospatial/ets-ogcapi-features10#89, #93); ogctests does not look at the definition.
    # -> test_unknown_query_parameters_are_allowed_by_the_api_definition
    "test_ast21": r"did not respond 400 to an unknown query parameter: \{'ooga': 'booga'\}",
}
# Further ogctests weaknesses that do not fail here but make checks weaker than they look:
# - test_ast19 (/ats/core/fc-time-response) sends `dateTime` (not `datetime`) and asserts only that
#   a response object exists -> test_datetime_filters_a_collection_with_a_time_property and
#   test_datetime_matches_every_feature_without_temporal_geometry.
# - test_ast15/25/26 (bbox response, numberMatched, numberReturned) always use bbox 5,48,20,70
#   (central Europe): on this Indonesian data they see empty pages (tests/test_clients.py checks
#   bbox filtering with GDAL against PostGIS).
# - test_ast22 fails on an empty collection (the standard allows empty ones) and the helper behind
#   test_ast27-29 (utils.get_feature_responses) and test_ast17 stop at the first empty collection
#   (`break`, not `continue`): hence `every_layer_filled`, and the warning check below.
# - test_ast2 (/ats/core/crs84) asserts the Part 2 CRS conformance class, which Core does not require.


def _junit_outcomes(path: Path) -> dict[str, tuple[str, str]]:
    """test name -> (passed | failed | error | skipped, message) from a pytest JUnit XML report."""
    outcomes = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome = {"failure": "failed"}.get(kind, kind)
                message = (node.get("message") or "") + "\n" + (node.text or "")
                break
        outcomes[case.get("name")] = (outcome, message.strip())
    return outcomes


# ogctests' schema of a GeoJSON feature (features/schemas/featureGeoJSON.yaml) requires a geometry
# object; RFC 7946 3.2 and OGC's own featureGeoJSON.yaml (both the 1.0 one and the current one) allow
# `"geometry": null` for a feature without a location, such as our province 62, added from the
# built-in list without a boundary. With the stock file test_ast22 and test_ast28 fail on the
# provinces collection and, since they stop at the first failure, check no collection after it.
# So ogctests runs from a copy in which that one property is OGC's definition.
FEATURE_SCHEMA_GEOMETRY = ('  geometry:\n    $ref: "urn:geometryGeoJSON"\n',
                           '  geometry:\n    oneOf:\n      - enum: [null]\n      - $ref: "urn:geometryGeoJSON"\n')


def _ogctests_copy(folder: Path) -> Path:
    """ogctests copied into ``folder`` with OGC's nullable feature geometry; returns ``folder``."""
    import ogctests

    shutil.copytree(Path(ogctests.__file__).parent, folder / "ogctests",
                    ignore=shutil.ignore_patterns("__pycache__"))
    schema = folder / "ogctests" / "features" / "schemas" / "featureGeoJSON.yaml"
    stock, fixed = FEATURE_SCHEMA_GEOMETRY
    assert stock in schema.read_text(encoding="utf-8"), "ogctests' feature schema changed: review the fix"
    schema.write_text(schema.read_text(encoding="utf-8").replace(stock, fixed), encoding="utf-8")
    return folder


def test_ogctests_features_core(full_server, tmp_path):
    # installed with `pip install --no-deps ogctests==0.1.15`: its declared pins (pytest<9,
    # httpx<0.28, pyarrow<18) would downgrade this environment, and pyogrio fails with pyarrow 17
    pytest.importorskip("ogctests.main", reason="ogctests is not installed: pip install --no-deps ogctests==0.1.15")
    layers = load_layers(get_settings().layers_dir)
    assert len(layers) <= 20, "ogctests looks at the first 20 collections only (collections_limit)"
    package = _ogctests_copy(tmp_path / "pkg")
    ini, report = tmp_path / "pytest.ini", tmp_path / "ogctests.xml"
    ini.write_text("[pytest]\n")  # ogctests' own pytest run must not pick up our pyproject settings
    # run_ogctests (its documented Python entry point) returns pytest's exit code; the CLI
    # (`python -m ogctests`) exits 0 whatever fails. It calls pytest.main, so it gets its own process.
    code = ("import sys, ogctests; assert ogctests.__file__.startswith(sys.argv[1]), ogctests.__file__; "
            "from ogctests.main import run_ogctests; "
            "sys.exit(run_ogctests('features/core', sys.argv[2], flags=sys.argv[3:]))")
    env = _subprocess_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(package), env.get("PYTHONPATH")]))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code, str(package), full_server, "-c", str(ini),
                           "--rootdir", str(tmp_path), "-p", "no:cacheprovider", "-v", "--tb=short",
                           f"--junit-xml={report}"],
                          check=False, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    output = done.stdout + done.stderr
    print(f"ogctests ran in {time.monotonic() - started:.1f} s")
    assert report.exists(), output
    outcomes = _junit_outcomes(report)
    assert set(outcomes) == OGCTESTS_CHECKS, f"ogctests ran other checks than expected:\n{sorted(outcomes)}"
    bad = {name: (outcome, message) for name, (outcome, message) in outcomes.items()
           if outcome != "passed" and not (outcome == "failed" and name in OGCTESTS_KNOWN_BAD
                                            and re.search(OGCTESTS_KNOWN_BAD[name], message))}
    assert not bad, "ogctests checks that did not pass:\n" + "\n\n".join(
        f"{name}: {outcome}\n{message}" for name, (outcome, message) in sorted(bad.items()))
    # ogctests only warns when a collection has no features and then silently checks fewer of them
    assert "No features" not in output, output
    if all(outcomes[name][0] == "passed" for name in OGCTESTS_KNOWN_BAD):
        assert done.returncode == 0, output


# ---- the requirements behind the ogctests checks listed above, checked directly --------------------

def _openapi(base: str) -> dict:
    response = httpx.get(f"{base}/openapi", params={"f": "json"}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(OPENAPI_JSON)
    doc = response.json()
    assert doc["openapi"].startswith("3.0."), doc["openapi"]
    return doc


def _parameters(doc: dict, operation: dict) -> list[dict]:
    """The operation's parameters with local $refs resolved; remote $refs are kept as they are."""
    out = []
    for param in operation.get("parameters", []):
        ref = param.get("$ref", "")
        if ref.startswith("#/"):
            param = doc
            for part in ref[2:].split("/"):
                param = param[part]
        out.append(param)
    return out


def _items_paths(base: str, doc: dict) -> list[str]:
    """The items paths of the API definition, one for each collection the server lists."""
    paths = sorted(p for p in doc["paths"] if re.fullmatch(r"/collections/[^/]+/items", p))
    collections = httpx.get(f"{base}/collections", params={"f": "json"}).json()["collections"]
    assert paths == sorted(f"/collections/{c['id']}/items" for c in collections)
    return paths


def test_unknown_query_parameters_are_allowed_by_the_api_definition(full_server):
    """/req/core/query-param-unknown applies to parameters the API definition does not allow; every
    items operation allows free-form ones (OGC 17-069r3's OpenAPI construct for that), and they are
    then ignored: the page is the same with and without one."""
    doc = _openapi(full_server)
    for path in _items_paths(full_server, doc):
        free_form = [p for p in _parameters(doc, doc["paths"][path]["get"])
                     if p.get("in") == "query" and p.get("schema", {}).get("type") == "object"
                     and p["schema"].get("additionalProperties") is True
                     and p.get("style", "form") == "form" and p.get("explode", True) is True]
        assert free_form, f"{path} declares no free-form query parameters: unknown ones must be refused (400)"
    plain = httpx.get(f"{full_server}/collections/villages/items", params={"f": "json"}).json()
    extra = httpx.get(f"{full_server}/collections/villages/items", params={"f": "json", "ooga": "booga"})
    assert extra.status_code == 200
    assert [f["id"] for f in extra.json()["features"]] == [f["id"] for f in plain["features"]]


# pygeoapi declares `datetime` only on collections with a time_field; gis_service/api/ogc.py
# with_datetime adds it to the others.
def test_items_operations_declare_the_datetime_parameter(full_server):
    """/req/core/fc-time-definition: every items operation SHALL support `datetime` (query, not
    required, string, style form, explode false)."""
    doc = _openapi(full_server)
    missing = []
    for path in _items_paths(full_server, doc):
        params = _parameters(doc, doc["paths"][path]["get"])
        local = [p for p in params if p.get("name") == "datetime"]
        canonical = [p for p in params if p.get("$ref", "").endswith(
            "ogcapi-features-1.yaml#/components/parameters/datetime")]  # the standard's own definition
        ok = canonical or (local and local[0].get("in") == "query" and not local[0].get("required")
                           and local[0].get("schema", {}).get("type") == "string"
                           and local[0].get("style", "form") == "form" and local[0].get("explode") is False)
        if not ok:
            missing.append(path)
    assert not missing, f"items operations without the datetime parameter: {missing}"


def _matched(response: httpx.Response) -> int:
    assert response.status_code == 200, f"GET {response.url} -> {response.status_code} {response.text[:300]}"
    return len(response.json()["features"])


def test_datetime_filters_a_collection_with_a_time_property(full_server, every_layer_filled):
    """/req/core/fc-time-response A and D on coverage_villages (time property: the run's start):
    instants and closed or half-open intervals select by it; a value that is no RFC 3339 instant or
    interval is an invalid parameter value (/req/core/query-param-invalid: 400)."""
    with every_layer_filled.connect() as conn:
        started = conn.execute(text("SELECT max(started_at) FROM coverage_run")).scalar()
    instant = started.astimezone(UTC).isoformat().replace("+00:00", "Z")
    items = f"{full_server}/collections/coverage_villages/items"
    everything = _matched(httpx.get(items, params={"f": "json"}))
    assert everything >= 1
    for value, expected in ((instant, everything), ("2000-01-01T00:00:00Z/..", everything),
                            (f"2000-01-01T00:00:00Z/{instant}", everything), ("../2000-01-01T00:00:00Z", 0),
                            ("2000-01-01T00:00:00Z", 0)):
        assert _matched(httpx.get(items, params={"f": "json", "datetime": value})) == expected, value
    for value in ("not-a-date", "2024-13-45T00:00:00Z", "2024-01-01T00:00:00Z/2023"):
        response = httpx.get(items, params={"f": "json", "datetime": value})
        assert response.status_code == 400, f"GET {response.url} -> {response.status_code} {response.text[:300]}"


# pygeoapi's own PostgreSQL provider answers 500 here; ours matches every feature, as the standard says.
def test_datetime_matches_every_feature_without_temporal_geometry(full_server):
    """/req/core/fc-time-response C: the datetime parameter SHALL match all features in the
    collection that are not associated with a temporal geometry, too; a malformed value is still 400."""
    items = f"{full_server}/collections/villages/items"
    everything = _matched(httpx.get(items, params={"f": "json"}))
    problems = []
    for value in ("2024-01-01T00:00:00Z", "2020-01-01T00:00:00Z/2024-12-31T23:59:59Z", "../2024-01-01T00:00:00Z"):
        response = httpx.get(items, params={"f": "json", "datetime": value})
        if response.status_code != 200 or len(response.json()["features"]) != everything:
            problems.append(f"GET {response.url} -> {response.status_code} {response.text[:200]}")
    garbage = httpx.get(items, params={"f": "json", "datetime": "not-a-date"})
    if garbage.status_code != 400:
        problems.append(f"GET {garbage.url} -> {garbage.status_code} (expected 400)")
    assert not problems, "\n".join(problems)


# ---- 2. schemathesis: no server errors for anything our OpenAPI document allows -------------------

# pygeoapi's OpenAPI document refers to definitions on the OGC schema servers, which cannot be
# fetched here (no internet in CI). Each is replaced by the definition from the standard it names
# (OGC 17-069r3 Features, 20-057 Tiles, 18-062r2 Processes, 20-004 Records). Responses are not
# validated here, so remote response definitions become a bare description. An unknown remote
# $ref fails the test, so new ones are noticed.
REMOTE_PARAMETERS = {
    "featureId": {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}},
    "datetime": {"name": "datetime", "in": "query", "required": False, "style": "form", "explode": False,
                 "schema": {"type": "string"}},
    # the standard enumerates the registered tile matrix sets; these are the common ones
    "tileMatrixSetId": {"name": "tileMatrixSetId", "in": "path", "required": True,
                        "schema": {"type": "string",
                                   "enum": ["WebMercatorQuad", "WorldCRS84Quad", "WorldMercatorWGS84Quad"]}},
    "tileMatrix": {"name": "tileMatrix", "in": "path", "required": True, "schema": {"type": "string"}},
    "tileRow": {"name": "tileRow", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
    "tileCol": {"name": "tileCol", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
    "sortby.yaml": {"name": "sortby", "in": "query", "required": False, "style": "form", "explode": False,
                    "schema": {"type": "array", "minItems": 1,
                               "items": {"type": "string", "pattern": "[+|-]?[A-Za-z_].*"}}},
}
REMOTE_SCHEMAS = {
    "execute.yaml": {"type": "object", "properties": {
        "inputs": {"type": "object"}, "outputs": {"type": "object"},
        "response": {"type": "string", "enum": ["raw", "document"]}}},
    "exception.yaml": {"type": "object", "required": ["type"], "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"}}},
    "link": {"type": "object", "required": ["href"], "properties": {
        "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"}}},
}


def offline_openapi(node, unknown: set[str] | None = None):
    """``node`` with every remote $ref replaced by its definition from REMOTE_*; the remote refs
    without one are added to ``unknown``."""
    if isinstance(node, list):
        return [offline_openapi(item, unknown) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and re.match(r"https?://", ref):
        name = re.split(r"[/#]", ref)[-1]
        if "/parameters/" in ref and name in REMOTE_PARAMETERS:
            return copy.deepcopy(REMOTE_PARAMETERS[name])
        if "/responses/" in ref:
            return {"description": f"{name} (defined in {ref.split('#')[0]})"}
        if "/schemas/" in ref and name in REMOTE_SCHEMAS:
            return copy.deepcopy(REMOTE_SCHEMAS[name])
        if unknown is not None:
            unknown.add(ref)
        return {}
    return {key: offline_openapi(value, unknown) for key, value in node.items()}


class _ErrorLog(logging.Handler):
    """Keeps the server's ERROR records (uvicorn logs unhandled exceptions on 'uvicorn.error',
    which does not propagate; pygeoapi logs the errors it answers on its own loggers)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.guard = threading.Lock()  # not `self.lock`: that is the Handler's own, held around emit()

    def emit(self, record):
        with self.guard:
            self.records.append(record)

    def __enter__(self):
        for name in ("", "uvicorn.error"):
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *exc):
        for name in ("", "uvicorn.error"):
            logging.getLogger(name).removeHandler(self)

    def since(self, start: int) -> list[logging.LogRecord]:
        with self.guard:
            return self.records[start:]


def _signature(record: logging.LogRecord) -> str | None:
    """``ExceptionType at file:function`` of the innermost frame of a record's exception."""
    if not record.exc_info or record.exc_info[1] is None:
        return None
    exc, tb = record.exc_info[1], record.exc_info[2]
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = "?"
    if tb is not None:
        code = tb.tb_frame.f_code
        path = code.co_filename
        for marker, keep in (("/site-packages/", False), ("/gis_service/", True), ("/lib/python3", False)):
            if marker in path:
                path = path.rsplit(marker, 1)[1]
                path = "gis_service/" + path if keep else path.split("/", 1)[1] if marker == "/lib/python3" else path
                break
        where = f"{path}:{code.co_name}"
    kind = type(exc).__qualname__ if type(exc).__module__ == "builtins" else \
        f"{type(exc).__module__}.{type(exc).__qualname__}"
    return f"{kind} at {where}"


def _formatted(record: logging.LogRecord) -> str:
    text_ = record.getMessage()
    if record.exc_info:
        text_ += "\n" + logging.Formatter().formatException(record.exc_info)
    return text_


@dataclass
class ServerError:
    """The 5xx answers schemathesis got from one operation, and what replaying them showed."""

    operation: str
    requests: list[str] = field(default_factory=list)  # curl-like lines with the answer
    replays: list[tuple[int, str | None, str]] = field(default_factory=list)  # status, signature, log

    def signature(self) -> str:
        for status, signature, _ in self.replays:
            if status >= 500:
                return signature or "no exception logged"
        statuses = sorted({status for status, _, _ in self.replays})
        return f"not reproduced on replay (answered {statuses})"

    def traceback(self) -> str:
        return next((log for status, _, log in self.replays if status >= 500 and log), "(none logged)")

    def where(self) -> str:
        """Where the exception was raised (the innermost frame, not the callers)."""
        location = self.signature().partition(" at ")[2]
        return "in gis_service" if location.startswith("gis_service/") else \
            "in pygeoapi" if location.startswith("pygeoapi/") else "elsewhere: see the log"


def _operation_of(method: str, path: str, templates: list[str]) -> str:
    for template in templates:
        if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)), path):
            return f"{method} {template}"
    return f"{method} {path}"


def _as_curl(request: dict) -> str:
    headers = "".join(f"-H '{h['name']}: {h['value']}' " for h in request["headers"]
                      if h["name"].lower() in ("content-type", "prefer"))
    body = request.get("postData", {}).get("text")
    data = f"-d '{body[:300]}' " if body else ""
    return f"curl -X {request['method']} {headers}{data}'{request['url']}'"


def _replay(request: dict, log: _ErrorLog) -> tuple[int, str | None, str]:
    """Send a recorded request again: the status, and the signature and text of the first error
    the server logged for it."""
    start = len(log.records)
    body = request.get("postData", {}).get("text")
    headers = {h["name"]: h["value"] for h in request["headers"]
               if h["name"].lower() not in ("content-length", "host", "connection", "accept-encoding", "authorization")}
    headers.update(ADMIN)  # the report filters the key out; the run sent it with every request
    try:
        status = httpx.request(request["method"], request["url"], headers=headers,
                               content=body.encode("utf-8", "surrogatepass") if body else None,
                               timeout=60).status_code
    except httpx.HTTPError as exc:
        return 0, None, f"no response: {exc!r}"
    deadline = time.monotonic() + 1.0  # uvicorn logs an unhandled exception after the 500 is sent
    while len(log.records) == start and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.05)
    records = log.since(start)
    with_exception = [r for r in records if _signature(r)]
    first = (with_exception or records or [None])[0]
    return status, (_signature(first) if first else None), (_formatted(first) if first else "")


def _wait_for_jobs(base: str, seconds: float = 60) -> None:
    """Let the asynchronous coverage jobs the run started finish before the database goes away."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = httpx.get(f"{base}/jobs", params={"f": "json", "limit": 10000}, timeout=30)
        if response.status_code != 200 or not any(
                job.get("status") in ("accepted", "running") for job in response.json().get("jobs", [])):
            return
        time.sleep(0.5)


@dataclass(frozen=True)
class KnownServerError:
    """A 5xx already reported, with the request that shows it."""

    owner: str  # "pygeoapi" (0.21, upstream); ours are fixed, not listed
    operation: str  # regular expression on ServerError.operation ("METHOD /path-template")
    signature: str  # regular expression on ServerError.signature()
    reproduce: Callable[[str], httpx.Response]  # base URL -> the answer that shows it
    why: str


# pygeoapi's DELETE /jobs/{jobId} answered 500 after deleting the job (no Content-Type on its
# answer); gis_service.api.ogc_jobs.install adds the header, so no 5xx is known today.
KNOWN_5XX: list[KnownServerError] = []


@pytest.fixture
def schemathesis_cli():
    pytest.importorskip("schemathesis", reason="schemathesis is not installed (test extra: schemathesis)")
    return [sys.executable, "-m", "schemathesis.cli"]


# Fuzzing sends this many cases per operation; the coverage phase sends every boundary and negative
# case the schema defines (most of the run time), the stateful phase follows links (jobs).
EXAMPLES_PER_OPERATION = 5
SEED = 20240601


def test_schemathesis_finds_no_server_errors(full_server, schemathesis_cli, tmp_path):
    """Every operation of our OpenAPI document, with generated valid and invalid requests (examples,
    coverage, fuzzing and stateful phases), answers without a 5xx, apart from the 5xx already
    reported in KNOWN_5XX, each of which must still reproduce (remove it once fixed)."""
    landing = httpx.get(f"{full_server}/", params={"f": "json"}).json()
    service_desc = [link["href"] for link in landing["links"] if link["rel"] == "service-desc"]
    assert service_desc == [f"{full_server}/openapi"], service_desc
    unknown: set[str] = set()
    doc = offline_openapi(_openapi(full_server), unknown)
    assert not unknown, f"remote $refs without an offline definition (add them to REMOTE_*): {sorted(unknown)}"
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(doc), encoding="utf-8")
    har, summary = tmp_path / "run.har", tmp_path / "run.json"

    with _ErrorLog() as log:
        started = time.monotonic()
        # One worker: with two, schemathesis 4.32.5 itself failed here (a KeyError in its coverage
        # cache and "SystemError: AST constructor recursion depth mismatch").
        done = subprocess.run(
            [*schemathesis_cli, "run", str(schema), "--url", full_server, "--checks", "not_a_server_error",
             "--header", f"Authorization: {ADMIN['Authorization']}",
             "--max-examples", str(EXAMPLES_PER_OPERATION), "--seed", str(SEED), "--no-shrink",
             "--workers", "1", "--request-timeout", "60", "--report", "har,json", "--report-dir", str(tmp_path),
             "--report-har-path", str(har), "--report-json-path", str(summary)],
            check=False, capture_output=True, text=True, timeout=900, env=_subprocess_env(), cwd=tmp_path)
        seconds = time.monotonic() - started
        output = done.stdout + done.stderr
        assert har.exists() and summary.exists(), output
        run = json.loads(summary.read_text(encoding="utf-8"))
        assert run["complete"] and not run["errors"] and run["operations"]["errored"] == 0, output
        assert run["operations"]["tested"] == run["operations"]["selected"] == run["operations"]["total"], output
        _wait_for_jobs(full_server)

        entries = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
        templates = sorted(doc["paths"], key=lambda p: p.count("{"))
        errors: dict[str, ServerError] = {}
        for entry in entries:
            if entry["response"]["status"] < 500:
                continue
            request = entry["request"]
            operation = _operation_of(request["method"], httpx.URL(request["url"]).path.removeprefix("/ogc"),
                                      templates)
            error = errors.setdefault(operation, ServerError(operation))
            error.requests.append(f"{_as_curl(request)}  -> {entry['response']['status']}")
            if len(error.replays) < 2:  # enough to see the cause; each replay waits for the log
                error.replays.append(_replay(request, log))
        reproduced = {known.why: known.reproduce(full_server).status_code >= 500 for known in KNOWN_5XX}
        _wait_for_jobs(full_server)

    def known(error: ServerError) -> bool:
        return any(re.fullmatch(k.operation, error.operation) and re.search(k.signature, error.signature())
                   for k in KNOWN_5XX)

    unexpected: dict[str, list[ServerError]] = {}
    for error in errors.values():
        if not known(error):
            unexpected.setdefault(error.signature(), []).append(error)
    failed = sum(len(e.requests) for e in errors.values())
    tolerated = sum(len(e.requests) for e in errors.values() if known(e))
    report = [(f"schemathesis: {len(entries)} requests in {seconds:.0f} s, {failed} answered 5xx "
               f"({tolerated} of them known, KNOWN_5XX); files in {tmp_path}")]
    for error in sorted(errors.values(), key=lambda e: e.operation):
        report.append(f"  {'known' if known(error) else 'NEW  '} {error.operation}: {len(error.requests)} x 5xx, "
                      f"{error.signature()}")
    for sig, errs in sorted(unexpected.items()):
        report.append(f"\n=== {sig}  [{errs[0].where()}]  in {len(errs)} operation(s)")
        for err in errs:
            report.append(f"  {err.operation}: {len(err.requests)} x 5xx, e.g.\n    " + "\n    ".join(err.requests[:2]))
        report.append("  server log:\n" + "\n".join("    " + line for line in errs[0].traceback().splitlines()[-30:]))
    fixed = [why for why, failing in reproduced.items() if not failing]
    if fixed:
        report.append("\n=== fixed: these KNOWN_5XX no longer happen, remove them from the list:\n  "
                      + "\n  ".join(fixed))
    (tmp_path / "server-errors.txt").write_text("\n".join(report), encoding="utf-8")
    print("\n".join(report))
    assert not unexpected and not fixed, "\n".join(report)
