"""The HTTP face on a real PostGIS: health and readiness, every layer of ``layers/`` published by
pygeoapi at /ogc, items and counts equal to the database, bbox and property filters, the latest
coverage run as a layer, household points never published."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from gis_service.api.app import create_app
from gis_service.db.users import add_user
from gis_service.api.layers import load_layers
from gis_service.settings import get_settings


@pytest.fixture
def client(published_region):
    with TestClient(create_app(base_url="http://testserver")) as test_client:
        with published_region.begin() as conn:  # starting a process needs an editor's key
            test_client.headers["Authorization"] = f"Bearer {add_user(conn, 'editor', 'editor')}"
        yield test_client


def test_health_and_readiness(client):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["status"] == "ready" and ready["schema"] == "0016"


def test_every_layer_file_is_a_collection_with_both_languages(client):
    layers = load_layers(get_settings().layers_dir)
    collections = client.get("/ogc/collections?f=json").json()["collections"]
    assert sorted(c["id"] for c in collections) == sorted(layer.id for layer in layers)
    english = client.get("/ogc/collections/villages?f=json&lang=en").json()
    indonesian = client.get("/ogc/collections/villages?f=json&lang=id").json()
    assert english["title"] == "Villages" and indonesian["title"] == "Desa/kelurahan"
    assert not any("household" in c["id"] and "village" not in c["id"] for c in collections)


def test_items_match_the_database(client, admin_loaded):
    with admin_loaded.connect() as conn:
        villages = conn.execute(text("SELECT count(*) FROM admin_area WHERE level = 'village'")).scalar()
        published = conn.execute(text("SELECT id FROM coverage_run WHERE published_at IS NOT NULL")).scalar_one()
    page = client.get("/ogc/collections/villages/items?f=json&limit=10").json()
    assert page["numberMatched"] == villages == len(page["features"]) == 2
    one = client.get("/ogc/collections/villages/items/62.07.01.2001?f=json").json()
    assert one["properties"]["name"] == "Desa Barat" and one["geometry"]["type"] == "MultiPolygon"
    west = client.get("/ogc/collections/villages/items?f=json&bbox=112.01,-2.95,112.1,-2.8").json()
    assert [f["id"] for f in west["features"]] == ["62.07.01.2001"]
    kind = client.get("/ogc/collections/villages/items?f=json&village_kind=kelurahan").json()
    assert [f["properties"]["name"] for f in kind["features"]] == ["Desa Timur"]
    coverage = client.get("/ogc/collections/coverage_villages/items?f=json").json()
    assert {f["properties"]["run_id"] for f in coverage["features"]} == {published}
    assert sum(f["properties"]["households"] for f in coverage["features"]) == 300
    by_village = client.get("/ogc/collections/households_by_village/items?f=json").json()
    assert "geometry" in by_village["features"][0] and "lon" not in by_village["features"][0]["properties"]
    assert client.get("/ogc/collections/villages/items/99.99?f=json").status_code == 404


def test_a_bad_layer_file_names_itself(tmp_path):
    (tmp_path / "broken.yml").write_text("id: Bad Id\ntable: x\nid_field: id\n", encoding="utf-8")
    with pytest.raises(ValueError, match="broken.yml"):
        load_layers(tmp_path)


def test_coverage_process_runs_sync_and_async(client, admin_loaded):
    assert [p["id"] for p in client.get("/ogc/processes?f=json").json()["processes"]] == ["coverage"]
    sync = client.post("/ogc/processes/coverage/execution",
                       json={"inputs": {"method": "buffer", "distance_m": 3000, "capacity": False}})
    assert sync.status_code == 200, sync.text
    run = sync.json()["value"]
    with admin_loaded.connect() as conn:
        stored = conn.execute(text("SELECT method, capacity_limited FROM coverage_run WHERE id = :r"),
                              {"r": run["run_id"]}).one()
    assert tuple(stored) == ("buffer", False) and run["summary"]["households"] == 300
    started = client.post("/ogc/processes/coverage/execution", headers={"Prefer": "respond-async"},
                          json={"inputs": {"method": "buffer", "nearest_k": 2}})
    assert started.status_code == 201
    job = started.headers["location"].split("/ogc", 1)[1]
    for _ in range(100):
        status = client.get(f"/ogc{job}?f=json").json()
        if status["status"] in ("successful", "failed"):
            break
        time.sleep(0.1)
    assert status["status"] == "successful", status
    result = client.get(f"/ogc{job}/results?f=json").json()
    assert result["value"]["run_id"] == run["run_id"] + 1
    bad = client.post("/ogc/processes/coverage/execution", json={"inputs": {"scenario": "nope"}})
    assert bad.status_code == 400 and "input scenario: unknown scenario 'nope'" in bad.json()["description"]
    for inputs, named in (({"distance_m": -5}, "input distance_m: Input should be greater than 0"),
                          ({"method": "teleport"}, "input method: Input should be 'network'"),
                          ({"thresholds": [30, -1]}, "input thresholds.1: Input should be greater than 0"),
                          ({"radius": 5}, "input radius: unknown input; this process takes capacity, demand")):
        refused = client.post("/ogc/processes/coverage/execution", json={"inputs": inputs})
        assert refused.status_code == 400 and named in refused.json()["description"], (inputs, refused.text)
    # one job system: the OGC executions are the planning API's jobs, recorded as the editor's
    listed = client.get("/api/jobs").json()
    assert [(j["kind"], j["user_name"], j["status"], j["result"]["run_id"]) for j in listed] == [
        ("coverage", "editor", "succeeded", run["run_id"] + 1), ("coverage", "editor", "succeeded", run["run_id"])]
    assert listed[0]["id"] == int(job.rsplit("/", 1)[1]) and listed[0]["ogc"] == {"response": "raw"}


def test_a_share_shown_in_two_tables_is_the_same_number(client, admin_loaded, tmp_path):
    """The regency's aman share now (summary) and the current share of the aman target (gaps) are
    one number at the same precision, so the map, rounding once, shows them alike. 62 of 307
    households are aman: 20.195 %, which the summary rounded to 20.2 before (two decimals) while
    the gaps kept 20.195: rounded again for display, two tables could disagree (5,2 against 5,1 %)."""
    from gis_service.analysis.coverage import CoverageOptions, run_coverage
    from gis_service.ingest.config_tables import load_targets
    from gis_service.ingest.importer import import_file
    from tests.helpers import households, write_csv

    import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", households(307)))
    with admin_loaded.begin() as conn:
        load_targets(conn, get_settings().config_dir / "targets.yml")
    run = run_coverage(admin_loaded, CoverageOptions(method="buffer", distance_m=3000)).run_id
    summary = client.get(f"/api/runs/{run}/summary").json()
    regency = summary["regency"]
    aman = [g["current_pct"] for g in summary["gaps"] if g["indicator"] == "aman_pct"]
    assert aman and {regency["aman_pct_now"]} == set(aman)
    assert (regency["ladder"]["aman"], regency["households"], regency["aman_pct_now"]) == (62, 307, 20.195)
