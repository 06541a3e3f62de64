"""Scenarios, background jobs and results over HTTP on a real PostGIS and a real server: editors
make scenarios and run them as jobs in a worker process that outlives the client, a running job
can be cancelled without leaving a half-written run, and the results come back as JSON, CSV and
GeoPackage."""

from __future__ import annotations

import io
import threading
import time

import httpx
import pandas as pd
import pyogrio
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gis_service.cli import app as cli

DEPOT = {"name": "Depot baru", "type": "desludging_depot", "capacity": 2, "capacity_unit": "trucks",
         "lon": 112.06, "lat": -2.91}


def _key(role: str) -> dict:
    out = CliRunner().invoke(cli, ["users", "add", f"{role}-jobs", "--role", role])
    assert out.exit_code == 0, out.output
    return {"Authorization": f"Bearer {out.stdout.strip().splitlines()[-1]}"}


@pytest.fixture
def api(server):
    base = server.removesuffix("/ogc")
    with httpx.Client(base_url=base, timeout=30) as client:
        yield client, {role: _key(role) for role in ("viewer", "editor")}


def _wait(client: httpx.Client, job_id: int, until=("succeeded", "failed", "cancelled"), timeout=90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in until:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job['status']} at {job['step']} after {timeout} s")


def test_scenarios_are_made_changed_and_deleted_by_editors(api, published_region):
    client, keys = api
    body = {"name": "Uji depot", "description": "uji", "parameters": {"trips_per_truck_day": 3}}
    assert client.post("/api/scenarios", json=body).status_code == 401
    assert client.post("/api/scenarios", json=body, headers=keys["viewer"]).status_code == 403
    made = client.post("/api/scenarios", json=body, headers=keys["editor"])
    assert made.status_code == 201, made.text
    scenario = made.json()
    assert scenario["parameters"] == {"trips_per_truck_day": 3}
    assert len(scenario["facility_ids"]) == 1  # the pilot depot (existing and pilot by default)
    assert client.post("/api/scenarios", json=body, headers=keys["editor"]).json()["detail"]["field"] == "name"
    bad = client.post("/api/scenarios", json={"name": "x", "parameters": {"no_such": 1}}, headers=keys["editor"])
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "parameters.no_such"
    bad = client.post("/api/scenarios", json={"name": "x", "plan": {"siting": [{"type": "rocket"}]}},
                      headers=keys["editor"])
    assert bad.status_code == 422 and "plan" in str(bad.json()["detail"][0]["loc"])
    facility = client.post("/api/facilities", json=DEPOT, headers=keys["editor"]).json()
    joined = client.put(f"/api/scenarios/{scenario['id']}/facilities/{facility['id']}", headers=keys["editor"])
    assert joined.status_code == 200 and facility["id"] in joined.json()["facility_ids"]
    path = f"/api/scenarios/{scenario['id']}"
    assert client.patch(path, json={"description": "baru"}, headers=keys["editor"]).status_code == 428
    stale = client.patch(path, json={"description": "baru", "version": 1}, headers=keys["editor"])
    assert stale.status_code == 409 and stale.json()["detail"]["field"] == "version"
    changed = client.patch(path, json={"parameters": {}, "description": "baru", "version": joined.json()["version"]},
                           headers=keys["editor"]).json()
    assert changed["parameters"] == {} and changed["description"] == "baru" and len(changed["facility_ids"]) == 2
    # every scenario edit is logged and undoable: undo the change, then undo a delete
    log = client.get(f"/api/scenario-edits?scenario_id={scenario['id']}").json()
    assert [e["action"] for e in log] == ["update", "include", "create"] and log[0]["user_name"] == "editor-jobs"
    assert log[0]["before"]["parameters"] == {"trips_per_truck_day": 3} and log[0]["after"]["parameters"] == {}
    assert client.post(f"/api/scenario-edits/{log[0]['id']}/undo", headers=keys["viewer"]).status_code == 403
    undone = client.post(f"/api/scenario-edits/{log[0]['id']}/undo", headers=keys["editor"]).json()["scenario"]
    assert undone["parameters"] == {"trips_per_truck_day": 3} and undone["description"] == "uji"
    assert client.post(f"/api/scenario-edits/{log[1]['id']}/undo", headers=keys["editor"]).status_code == 409
    # deleting the facility and undoing the delete brings its scenario membership back
    gone = client.delete(f"/api/facilities/{facility['id']}?version=1", headers=keys["editor"])
    assert gone.status_code == 204
    assert facility["id"] not in client.get(path).json()["facility_ids"]
    last = client.get(f"/api/edits?facility_id={facility['id']}").json()[0]
    assert client.post(f"/api/edits/{last['id']}/undo", headers=keys["editor"]).status_code == 200
    restored = client.get(path).json()
    assert facility["id"] in restored["facility_ids"] and restored["version"] > undone["version"]  # touched
    assert client.delete(path, headers=keys["editor"]).status_code == 428
    assert client.delete(f"{path}?version={undone['version']}", headers=keys["editor"]).status_code == 409
    assert client.delete(f"{path}?version={restored['version']}", headers=keys["editor"]).status_code == 204
    assert client.get(path).status_code == 404
    with published_region.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM parameter_set WHERE name LIKE 'scenario:%'")).scalar() == 0
    deleted = client.get(f"/api/scenario-edits?scenario_id={scenario['id']}").json()[0]
    back = client.post(f"/api/scenario-edits/{deleted['id']}/undo", headers=keys["editor"]).json()["scenario"]
    assert back["id"] == scenario["id"] and back["name"] == "Uji depot" and facility["id"] in back["facility_ids"]
    assert back["parameters"] == {"trips_per_truck_day": 3}


def test_a_job_runs_in_the_background_and_outlives_its_client(api, published_region):
    client, keys = api
    scenario = client.post("/api/scenarios", json={"name": "Dengan depot baru"}, headers=keys["editor"]).json()
    placed = {**DEPOT, "lon": 112.16, "lat": -2.9}
    nowhere = client.post("/api/facilities?scenario_id=999999", json=placed, headers=keys["editor"])
    assert nowhere.status_code == 404 and nowhere.json()["detail"]["message"].startswith("no scenario 999999")
    assert len(client.get("/api/facilities").json()) == 1  # refused whole: no facility either
    facility = client.post(f"/api/facilities?scenario_id={scenario['id']}", json=placed, headers=keys["editor"]).json()
    assert facility["id"] in client.get(f"/api/scenarios/{scenario['id']}").json()["facility_ids"]
    job = {"kind": "coverage", "scenario": scenario["name"], "options": {"method": "buffer", "distance_m": 3000}}
    assert client.post("/api/jobs", json=job).status_code == 401
    assert client.post("/api/jobs", json=job, headers=keys["viewer"]).status_code == 403
    missing = client.post("/api/jobs", json={**job, "scenario": "nope"}, headers=keys["editor"])
    assert missing.status_code == 404 and missing.json()["detail"]["field"] == "scenario"
    bad = client.post("/api/jobs", json={**job, "options": {"method": "teleport"}}, headers=keys["editor"])
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "method"
    bad = client.post("/api/jobs", json={"kind": "scaleup", "scenario": scenario["name"],
                                         "options": {"region": "62.07,99.99"}}, headers=keys["editor"])
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "options.region"
    # submit on a connection that is closed at once: the worker goes on
    with httpx.Client(base_url=str(client.base_url), timeout=30) as once:
        queued = once.post("/api/jobs", json=job, headers=keys["editor"])
    assert queued.status_code == 202 and queued.headers["Location"] == f"/api/jobs/{queued.json()['id']}"
    done = _wait(client, queued.json()["id"])
    assert done["status"] == "succeeded", done["error"]
    assert done["progress"] == 1 and done["user_name"] == "editor-jobs" and done["scenario_id"] == scenario["id"]
    assert client.post(f"/api/jobs/{done['id']}/cancel", headers=keys["editor"]).status_code == 409  # ended
    run_id = done["result"]["run_id"]
    before = client.get("/api/runs").json()[-1]  # the fixture's run: the pilot depot only
    summary = client.get(f"/api/runs/{run_id}/summary").json()
    assert summary["run"]["scenario_name"] == "Dengan depot baru"
    with published_region.connect() as conn:
        newly = conn.execute(text(  # households within 3 km of the new depot and of no other facility
            "SELECT count(*) FROM household h WHERE ST_DWithin(h.geom::geography, "
            "(SELECT geom::geography FROM facility WHERE id = :n), 3000) AND NOT EXISTS (SELECT 1 FROM facility f "
            "WHERE f.id <> :n AND ST_DWithin(h.geom::geography, f.geom::geography, 3000))"),
            {"n": facility["id"]}).scalar()
    assert newly > 0
    assert summary["regency"]["served_households"] == before["served_households"] + newly
    assert sum(d["households"] for d in summary["districts"]) == summary["regency"]["households"]


def test_a_running_job_is_cancelled_and_leaves_no_run(api, published_region):
    client, keys = api
    with published_region.connect() as conn:
        runs_before = conn.execute(text("SELECT count(*) FROM coverage_run")).scalar()
    hold, release = threading.Event(), threading.Event()

    def block_writes():  # the job blocks on its INSERT into coverage_run until we let go
        with published_region.begin() as conn:
            conn.execute(text("LOCK TABLE coverage_run IN ACCESS EXCLUSIVE MODE"))
            hold.set()
            release.wait(60)

    blocker = threading.Thread(target=block_writes)
    blocker.start()
    try:
        assert hold.wait(10)
        job = client.post("/api/jobs", json={"kind": "coverage", "options": {"method": "buffer"}},
                          headers=keys["editor"]).json()
        running = _wait(client, job["id"], until=("running",))
        deadline = time.monotonic() + 60
        while running["step"] != "writing results" and time.monotonic() < deadline:
            time.sleep(0.2)
            running = client.get(f"/api/jobs/{job['id']}").json()
        assert running["step"] == "writing results"
        assert client.post(f"/api/jobs/{job['id']}/cancel", headers=keys["viewer"]).status_code == 403
        assert client.post(f"/api/jobs/{job['id']}/cancel", headers=keys["editor"]).status_code == 200
        cancelled = _wait(client, job["id"], timeout=30)
    finally:
        release.set()
        blocker.join()
    assert cancelled["status"] == "cancelled" and cancelled["result"] is None
    with published_region.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM coverage_run")).scalar() == runs_before
    # a queued job is cancelled before it starts; cancelling an unknown job is 404
    assert client.post("/api/jobs/999999/cancel", headers=keys["editor"]).status_code == 404


def test_results_as_json_csv_and_geopackage(api, tmp_path):
    client, _ = api
    run = client.get("/api/runs").json()[0]
    assert run["households"] == 300 and 0 <= run["coverage_pct"] <= 100
    villages = client.get(f"/api/runs/{run['id']}/villages").json()
    assert sum(v["households"] for v in villages) == 300
    csv = client.get(f"/api/runs/{run['id']}/villages?f=csv")
    assert csv.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(csv.text), dtype={"code": str})
    assert table["households"].sum() == 300 and {"aman_now", "aman_projected", "coverage_pct"} <= set(table)
    gpkg = client.get(f"/api/runs/{run['id']}/export.gpkg")
    assert gpkg.status_code == 200 and gpkg.content[:16] == b"SQLite format 3\x00"
    path = tmp_path / "run.gpkg"
    path.write_bytes(gpkg.content)
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"coverage_all_runs", "coverage_village_table"} <= layers and "household" not in " ".join(layers)
    areas = pyogrio.read_dataframe(path, layer="coverage_all_runs")
    assert set(areas["run_id"]) == {run["id"]} and areas.crs.to_epsg() == 4326
    styles = pyogrio.read_dataframe(path, layer="layer_styles")
    assert "coverage_all_runs" in set(styles["f_table_name"])  # QGIS opens it styled
    assert client.get("/api/runs/999999/summary").status_code == 404
    assert client.get(f"/api/runs/{run['id']}/villages?f=xml").status_code == 422
    config = client.get("/api/config").json()
    assert config["region"]["code"] and len(config["region"]["bbox"]) == 4


def test_jobs_have_owners_limits_and_a_lease(api, published_region):
    """One job system: the same per-user limit for /api/jobs and OGC executions (429), only a
    job's owner or an admin cancels or deletes it (on both faces), and a running job whose worker
    fell silent for longer than the lease is marked failed, on any host."""
    client, keys = api
    out = CliRunner().invoke(cli, ["users", "add", "colleague", "--role", "editor"])
    other = {"Authorization": f"Bearer {out.stdout.strip().splitlines()[-1]}"}
    out = CliRunner().invoke(cli, ["users", "add", "boss", "--role", "admin"])
    admin = {"Authorization": f"Bearer {out.stdout.strip().splitlines()[-1]}"}
    with published_region.begin() as conn:  # three jobs of editor-jobs running on another machine
        ids = [conn.execute(text(
            "INSERT INTO job (kind, options, user_name, status, started_at, heartbeat_at, host, pid) "
            "VALUES ('coverage', '{}', 'editor-jobs', 'running', now(), now(), 'elsewhere', 1) RETURNING id")).scalar()
            for _ in range(3)]
    job = {"kind": "coverage", "options": {"method": "buffer", "distance_m": 3000}}
    full = client.post("/api/jobs", json=job, headers=keys["editor"])
    assert full.status_code == 429 and full.json()["detail"]["message"].startswith(
        "user editor-jobs already has 3 jobs queued or running (at most 3, GIS_SERVICE_MAX_JOBS_PER_USER)")
    ogc = client.post("/ogc/processes/coverage/execution", json={"inputs": {"method": "buffer"}},
                      headers=keys["editor"])
    assert ogc.status_code == 429 and "at most 3" in ogc.json()["description"]
    assert client.post(f"/api/jobs/{ids[0]}/cancel", headers=other).status_code == 403  # not colleague's
    assert client.delete(f"/ogc/jobs/{ids[0]}", headers=other).status_code == 403
    assert client.delete(f"/api/jobs/{ids[0]}", headers=keys["editor"]).status_code == 409  # still running
    cancelled = client.post(f"/api/jobs/{ids[0]}/cancel", headers=admin)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "running"  # asked; its worker is elsewhere
    with published_region.begin() as conn:  # the other machine died: its lease runs out
        conn.execute(text("UPDATE job SET heartbeat_at = now() - interval '2 minutes' WHERE id = ANY(:i)"),
                     {"i": ids})
    reaped = client.get(f"/api/jobs/{ids[1]}").json()
    assert reaped["status"] == "failed" and reaped["error"].startswith("its worker gave no sign of life for 60 s (the job lease")
    assert client.get(f"/ogc/jobs/{ids[2]}?f=json").json()["status"] == "failed"
    # the owner may submit again, and deletes an ended job on either face; its run would stay
    assert client.post("/api/jobs", json=job, headers=keys["editor"]).status_code == 202
    assert client.delete(f"/api/jobs/{ids[1]}", headers=keys["editor"]).status_code == 204
    assert client.get(f"/api/jobs/{ids[1]}").status_code == 404
    dismissed = client.delete(f"/ogc/jobs/{ids[2]}", headers=keys["editor"])
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    assert client.delete(f"/ogc/jobs/{ids[2]}", headers=keys["editor"]).status_code == 404
