"""Probes of a server a district office can expose, against `gis-service serve` as a real process
(uvicorn in a subprocess) on the published test region: who may start and delete OGC jobs,
callbacks only to allowed hosts, a byte-counted body limit (chunked too), script injection shown as
text with a Content-Security-Policy, and closed reads that are closed everywhere."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from gis_service.db.cluster import free_port
from gis_service.db.users import add_user

GIS = str(Path(sys.executable).parent / "gis-service")
XSS = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"


def _serve(db_url: str, data_dir: Path, **env) -> tuple[subprocess.Popen, str]:
    port = free_port()
    environment = {**os.environ, "GIS_SERVICE_DATABASE_URL": db_url, "GIS_SERVICE_DATA_DIR": str(data_dir),
                   "GIS_SERVICE_BASEMAP_TILES": "", **env}
    process = subprocess.Popen([GIS, "serve", "--port", str(port)], env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server ended: {process.stderr.read()}")
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("the server did not start")


@pytest.fixture
def keys(published_region):
    with published_region.begin() as conn:
        return {name: {"Authorization": f"Bearer {add_user(conn, name, role)}"}
                for name, role in (("viewer", "viewer"), ("editor", "editor"), ("admin", "admin"),
                                   ("colleague", "editor"))}


@pytest.fixture
def open_server(published_region, keys, db_url, tmp_path):
    process, base = _serve(db_url, tmp_path / "data", GIS_SERVICE_CALLBACK_HOSTS='["localhost"]')
    yield base
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture
def closed_server(published_region, keys, db_url, tmp_path):
    process, base = _serve(db_url, tmp_path / "data", GIS_SERVICE_PUBLIC_READ="false")
    yield base
    process.terminate()
    process.wait(timeout=20)


def _message(response) -> str:
    return response.json()["detail"]["message"]


def test_starting_and_deleting_ogc_jobs_needs_a_key_and_role(open_server, keys, published_region):
    execute = open_server + "/ogc/processes/coverage/execution"
    body = {"inputs": {"method": "buffer", "distance_m": 3000}}
    with published_region.connect() as conn:
        runs = conn.execute(text("SELECT count(*) FROM coverage_run")).scalar()
    anonymous = httpx.post(execute, json=body, timeout=30)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    viewer = httpx.post(execute, json=body, headers=keys["viewer"], timeout=30)
    assert viewer.status_code == 403 and _message(viewer) == "user viewer is viewer; this needs editor"
    with published_region.connect() as conn:  # refused runs left no trace
        assert conn.execute(text("SELECT count(*) FROM coverage_run")).scalar() == runs
    editor = httpx.post(execute, json=body, headers=keys["editor"], timeout=120)
    assert editor.status_code == 200, editor.text
    assert editor.json()["value"]["run_id"] > 0
    job = f"{open_server}/ogc/jobs/{editor.headers['location'].rsplit('/', 1)[1]}"
    assert httpx.get(job + "?f=json", timeout=10).json()["status"] == "successful"
    assert httpx.delete(job, timeout=10).status_code == 401
    assert httpx.delete(job, headers=keys["viewer"], timeout=10).status_code == 403
    other = httpx.delete(job, headers=keys["colleague"], timeout=10)  # an editor, but not the job's owner
    assert other.status_code == 403 and _message(other).endswith("only its owner or an admin may cancel or delete it")
    owner = httpx.delete(job, headers=keys["editor"], timeout=10)
    assert owner.status_code == 200 and owner.json()["status"] == "dismissed"  # and a JSON answer, not a 500
    assert httpx.delete(job, headers=keys["admin"], timeout=10).status_code == 404
    with published_region.connect() as conn:  # the run the job stored stays
        assert conn.execute(text("SELECT count(*) FROM coverage_run")).scalar() == runs + 1


def test_callbacks_go_only_to_allowed_hosts(open_server, keys):
    """The server runs with GIS_SERVICE_CALLBACK_HOSTS=["localhost"]: a subscriber on 127.0.0.1 is
    refused before anything runs; one on localhost is called back by the job's worker, with the
    job's outputs."""
    received: list[tuple[str, dict]] = []

    class Listener(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    listener = http.server.HTTPServer(("127.0.0.1", 0), Listener)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    port = listener.server_address[1]
    try:
        body = {"inputs": {"method": "buffer", "distance_m": 3000},
                "subscriber": {"successUri": f"http://127.0.0.1:{port}/done"}}
        refused = httpx.post(open_server + "/ogc/processes/coverage/execution", json=body,
                             headers=keys["editor"], timeout=30)
        assert refused.status_code == 400
        assert "host 127.0.0.1 is not on the allow-list" in _message(refused)
        body["subscriber"] = {"successUri": f"http://localhost:{port}/done",
                              "inProgressUri": f"http://localhost:{port}/started"}
        started = httpx.post(open_server + "/ogc/processes/coverage/execution", json=body,
                             headers={**keys["editor"], "Prefer": "respond-async"}, timeout=30)
        assert started.status_code == 201, started.text
        deadline = time.monotonic() + 90
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        result = httpx.get(started.headers["location"] + "/results?f=json", timeout=10).json()
    finally:
        listener.shutdown()
    assert received == [("/started", {}), ("/done", result)]  # refused one never called back
    assert result["id"] == "run" and result["value"]["summary"]["households"] > 0


def test_request_bodies_are_limited_by_the_bytes_received(open_server, keys):
    def chunks():
        for _ in range(3 * 64):  # 3 MB without a Content-Length
            yield b" " * 16384

    chunked = httpx.post(open_server + "/api/facilities", content=chunks(), timeout=30,
                         headers={**keys["editor"], "Content-Type": "application/json"})
    assert chunked.status_code == 413 and "over 1024 kB" in _message(chunked)
    declared = httpx.post(open_server + "/ogc/processes/coverage/execution", content=b"x" * (2 * 2**20),
                          headers={**keys["editor"], "Content-Type": "application/json"}, timeout=30)
    assert declared.status_code == 413


def test_a_name_made_of_script_shows_as_text_with_a_policy(open_server, keys):
    new = {"name": XSS, "type": "mck", "lon": 112.06, "lat": -2.91}
    created = httpx.post(open_server + "/api/facilities", json=new, headers=keys["editor"], timeout=30)
    assert created.status_code == 201, created.text
    page = httpx.get(open_server + "/ogc/collections/facilities/items?f=html&limit=1000", timeout=30)
    assert page.status_code == 200
    assert "</script><script>alert(1)" not in page.text and "<img src=x" not in page.text
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in page.text  # inside the page's script, as data
    csp = page.headers["content-security-policy"]
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    item = httpx.get(open_server + f"/ogc/collections/facilities/items/{created.json()['id']}?f=html", timeout=30)
    assert item.status_code == 200 and "<img src=x" not in item.text
    assert "content-security-policy" in httpx.get(open_server + "/map", timeout=10).headers
    as_json = httpx.get(open_server + "/ogc/collections/facilities/items?f=json&limit=1000", timeout=30).json()
    assert XSS in [f["properties"]["name"] for f in as_json["features"]]  # the data itself is kept


def test_closed_reads_are_closed_everywhere(closed_server, keys):
    data_routes = ["/ogc/collections/facilities/items", "/ogc/collections", "/ogc/collections/facilities/tiles",
                   "/project.qgs", "/tiles/facilities.json", "/api/facilities",
                   "/ogc/processes", "/ogc/jobs"]
    for route in data_routes:
        assert httpx.get(closed_server + route, timeout=30).status_code == 401, route
        assert httpx.get(closed_server + route, headers=keys["viewer"], timeout=30).status_code == 200, route
    for route in ("/health", "/map", "/styles/maplibre.json"):  # the map's page and styles: it asks for the key
        assert httpx.get(closed_server + route, timeout=10).status_code == 200, route
    bad = httpx.get(closed_server + "/ogc/collections", headers={"X-API-Key": "not-a-key"}, timeout=10)
    assert bad.status_code == 401 and _message(bad) == "unknown or revoked API key"
    assert json.loads(httpx.get(closed_server + "/ready", timeout=10).text)["status"] == "ready"


def test_deep_offsets_are_refused_and_heavy_queries_cancelled(open_server, db_url):
    from sqlalchemy.exc import OperationalError

    from gis_service.db.engine import make_serving_engine

    deep = httpx.get(open_server + "/ogc/collections/facilities/items?offset=5000000", timeout=10)
    assert deep.status_code == 400 and "over 1000000" in _message(deep)
    assert httpx.get(open_server + "/ogc/collections/facilities/items?offset=10", timeout=10).status_code == 200
    engine = make_serving_engine(db_url.replace("postgresql://", "postgresql+psycopg://"), statement_timeout_s=0.5)
    with engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "500ms"
        with pytest.raises(OperationalError, match="statement timeout"):
            conn.execute(text("SELECT pg_sleep(3)"))
    engine.dispose()
    default = make_serving_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    with default.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "30s"
    default.dispose()


def _plan_named(open_server: str, keys: dict, published_region, name: str) -> int:
    """A scale-up plan of a scenario called ``name``, made through the planning API as a job."""
    from gis_service.ingest.config_tables import load_targets
    from gis_service.settings import get_settings

    with published_region.begin() as conn:
        load_targets(conn, get_settings().config_dir / "targets.yml")
    scenario = httpx.post(open_server + "/api/scenarios", headers=keys["editor"], timeout=30,
                          json={"name": name, "plan": {"calibration": "defaults"}})
    assert scenario.status_code == 201, scenario.text
    job = httpx.post(open_server + "/api/jobs", headers=keys["editor"], timeout=30,
                     json={"kind": "scaleup", "scenario": name, "options": {"region": "62.07"}}).json()
    deadline = time.monotonic() + 120
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.3)
        job = httpx.get(f"{open_server}/api/jobs/{job['id']}", timeout=10).json()
    assert job["status"] == "succeeded", job
    return job["result"]["run_id"]


def test_script_names_stay_text_in_chromium(open_server, keys, published_region):
    """In a real browser: a facility named with script and onerror tags shows as text on the OGC
    HTML pages and in the web map's list of edits, a scenario so named shows as text in its plan's
    meeting report, and nothing runs (no dialog, no element)."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.is_file():
        pytest.skip("no Chromium at /usr/bin/chromium (Debian package chromium)")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    created = httpx.post(open_server + "/api/facilities", headers=keys["editor"], timeout=30,
                         json={"name": XSS, "type": "mck", "lon": 112.06, "lat": -2.91})
    assert created.status_code == 201, created.text
    fid = created.json()["id"]
    plan = _plan_named(open_server, keys, published_region, XSS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        for url, text_shown in (("/ogc/collections/facilities/items?f=html&limit=1000",
                                 "</script><script>alert(1)</scrip..."),  # the list shortens long values
                                (f"/ogc/collections/facilities/items/{fid}?f=html", XSS)):
            page.goto(open_server + url, wait_until="load")
            page.wait_for_timeout(500)
            assert text_shown in page.locator("body").inner_text(), url  # the name is there, as text
            assert page.locator("img[src='x']").count() == 0, url
        page.goto(open_server + "/map", wait_until="load")  # the web map's list of recent edits names it
        page.locator("#edits li", has_text="alert(1)").first.wait_for(timeout=20000)
        assert XSS in page.locator("#edits").inner_text()
        assert page.locator("img[src='x']").count() == 0
        for lang in ("id", "en"):  # the meeting report names the scenario in its title and header
            answer = page.goto(f"{open_server}/api/plans/{plan}/report.html?lang={lang}", wait_until="load")
            assert answer.status == 200 and answer.headers["content-security-policy"].startswith("default-src 'self'")
            assert page.title().endswith(XSS) and XSS in page.locator("body").inner_text(), lang
            assert page.locator("img[src='x']").count() == 0
        browser.close()
    assert dialogs == []


def test_the_server_never_connects_as_a_superuser(open_server, keys, published_region):
    """`gis-service serve` is given the superuser's URL; its pool, pygeoapi's providers and the job
    workers connect as the roles of migration 0011 all the same. An OGC input it cannot take is
    refused before anything is queued, naming the input."""
    execute = open_server + "/ogc/processes/coverage/execution"
    bad = httpx.post(execute, json={"inputs": {"distance_m": -1, "method": "buffer"}}, headers=keys["editor"],
                     timeout=30)
    assert bad.status_code == 400 and bad.json()["description"].startswith("input distance_m: Input should be greater")
    assert httpx.post(execute, json={"inputs": {"method": "buffer"}}, headers=keys["editor"], timeout=120).status_code == 200
    assert httpx.get(open_server + "/ogc/collections/villages/items?f=json", timeout=30).status_code == 200
    assert httpx.get(open_server + "/api/facilities", timeout=30).status_code == 200
    published_region.dispose()  # the test's own (superuser) connections go
    with published_region.connect() as conn:
        users = dict(conn.execute(text(
            "SELECT a.usename, bool_or(r.rolsuper) FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename "
            "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() GROUP BY a.usename")).all())
        queued = conn.execute(text("SELECT count(*) FROM job WHERE ogc IS NOT NULL")).scalar()
    assert set(users) == {"gis_service_web", "gis_service_read", "gis_service_owner"} and not any(users.values())
    assert queued == 1  # the refused one never reached the job table
