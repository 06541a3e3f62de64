"""Our OGC API - Features provider (gis_service/api/features.py) against PostGIS: output CRSs of
Part 2 with the right axis order, property selection and sorting, feature by id with neighbours,
counts left out above the configured limit, and bad requests answered 400 with the reason."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from gis_service.api.app import create_app
from gis_service.api.features import planned_rows

EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"


@pytest.fixture
def client(published_region):
    with TestClient(create_app(base_url="http://testserver")) as test_client:
        yield test_client


def _first_point(engine, srid: int) -> tuple[float, float]:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_Transform(geom, :srid) AS g FROM layer_facility "
            "ORDER BY id LIMIT 1) t"), {"srid": srid}).one()


def test_output_crs_metric_and_lat_lon_order(client, admin_loaded):
    utm = client.get("/ogc/collections/facilities/items",
                     params={"f": "json", "limit": 1, "crs": EPSG.format(32749)})
    assert utm.status_code == 200 and utm.headers["content-crs"] == f"<{EPSG.format(32749)}>"
    x, y = utm.json()["features"][0]["geometry"]["coordinates"]
    assert (x, y) == pytest.approx(_first_point(admin_loaded, 32749), abs=0.01)
    assert "crs" not in utm.json()["features"][0]["geometry"]

    latlon = client.get("/ogc/collections/facilities/items",
                        params={"f": "json", "limit": 1, "crs": EPSG.format(4326)}).json()
    lon, lat = _first_point(admin_loaded, 4326)
    assert latlon["features"][0]["geometry"]["coordinates"] == pytest.approx([lat, lon], abs=1e-6)
    plain = client.get("/ogc/collections/facilities/items", params={"f": "json", "limit": 1}).json()
    assert plain["features"][0]["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)

    refused = client.get("/ogc/collections/facilities/items", params={"f": "json", "crs": EPSG.format(3857)})
    assert refused.status_code == 400


def test_properties_sorting_and_paging(client, admin_loaded):
    page = client.get("/ogc/collections/villages/items",
                      params={"f": "json", "limit": 1, "sortby": "-name", "properties": "name",
                              "skipGeometry": "true"}).json()
    with admin_loaded.connect() as conn:
        names = conn.execute(text("SELECT name FROM layer_village ORDER BY name DESC LIMIT 1")).scalars().all()
        total = conn.execute(text("SELECT count(*) FROM layer_village")).scalar()
    assert [f["properties"] for f in page["features"]] == [{"name": n} for n in names]
    assert all(f["geometry"] is None for f in page["features"])
    assert page["numberMatched"] == total and page["numberReturned"] == 1
    assert any(link["rel"] == "next" for link in page["links"])

    ids = []
    for offset in range(total):
        ids += [f["id"] for f in client.get("/ogc/collections/villages/items",
                                            params={"f": "json", "limit": 1, "offset": offset}).json()["features"]]
    assert ids == sorted(ids) and len(set(ids)) == total


def test_feature_by_id_with_its_neighbours(client, admin_loaded):
    with admin_loaded.connect() as conn:
        codes = conn.execute(text("SELECT code FROM layer_village ORDER BY code")).scalars().all()
    first = client.get(f"/ogc/collections/villages/items/{codes[0]}", params={"f": "json"})
    assert first.status_code == 200 and first.json()["id"] == codes[0]
    links = {link["rel"]: link["href"] for link in first.json()["links"]}
    assert links["prev"].split("?")[0].endswith(codes[0]) and codes[1] in links["next"]
    missing = client.get("/ogc/collections/facilities/items/not-a-number", params={"f": "json"})
    assert missing.status_code == 404 and "not-a-number" in missing.json()["description"]


def test_filters_that_cannot_work_are_400_with_the_reason(client):
    unknown = client.get("/ogc/collections/villages/items", params={"f": "json", "filter": "nosuch = 1"})
    assert unknown.status_code == 400 and "nosuch" in unknown.json()["description"]
    wrong_type = client.get("/ogc/collections/facilities/items", params={"f": "json", "capacity": "abc"})
    assert wrong_type.status_code == 400 and "abc" in wrong_type.json()["description"]
    nul = client.get("/ogc/collections/villages/items", params={"f": "json", "name": "a\x00b"})
    assert nul.status_code == 400


def test_cql2_filter_matches_postgis(client, admin_loaded):
    got = client.get("/ogc/collections/villages/items",
                     params={"f": "json", "filter-lang": "cql-text", "limit": 1000,
                             "filter": "name LIKE 'S%' AND INTERSECTS(geom, POLYGON((112 -3, 112.2 -3, 112.2 -2.8, 112 -2.8, 112 -3)))"}).json()
    with admin_loaded.connect() as conn:
        expected = conn.execute(text(
            "SELECT code FROM layer_village WHERE name LIKE 'S%' AND ST_Intersects(geom, "
            "ST_GeomFromText('POLYGON((112 -3, 112.2 -3, 112.2 -2.8, 112 -2.8, 112 -3))', 4326)) ORDER BY code"
        )).scalars().all()
    assert [f["id"] for f in got["features"]] == expected and got["numberMatched"] == len(expected)


def test_counts_are_left_out_when_configured_but_hits_still_count(published_region, monkeypatch, admin_loaded):
    monkeypatch.setenv("GIS_SERVICE_API_COUNT_LIMIT", "0")
    with TestClient(create_app(base_url="http://testserver")) as client:
        page = client.get("/ogc/collections/villages/items", params={"f": "json", "limit": 1}).json()
        hits = client.get("/ogc/collections/villages/items", params={"f": "json", "resulttype": "hits"}).json()
    with admin_loaded.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM layer_village")).scalar()
    assert "numberMatched" not in page and page["numberReturned"] == 1
    assert hits["numberMatched"] == total


def test_the_count_decision_uses_the_planner_estimate(engine):
    assert planned_rows(engine, "SELECT 1 FROM generate_series(1, 50000)") == 50000
    assert planned_rows(engine, "SELECT 1 FROM no_such_table") == 0  # unknown: count instead


def test_datetime_filters_runs_by_their_start(client, admin_loaded):
    with admin_loaded.connect() as conn:
        started, rows = conn.execute(text(
            "SELECT min(started_at), count(*) FROM layer_coverage_area_all_runs")).one()
    def matched(interval: str) -> int:
        return client.get("/ogc/collections/coverage_all_runs/items",
                          params={"f": "json", "datetime": interval, "limit": 1}).json()["numberMatched"]
    assert matched(f"{started.year - 1}-01-01T00:00:00Z/..") == rows
    assert matched(f"../{started.year - 1}-01-01T00:00:00Z") == 0


def test_gap_priorities_rank_the_largest_gap_first(published_region):
    from gis_service.analysis.coverage import CoverageOptions, run_coverage
    from gis_service.analysis.publishing import publish
    from gis_service.ingest.config_tables import load_targets
    from gis_service.settings import get_settings

    with published_region.begin() as conn:
        load_targets(conn, get_settings().config_dir / "targets.yml")
    run = run_coverage(published_region, CoverageOptions(method="buffer", distance_m=3000)).run_id
    with published_region.begin() as conn:
        publish(conn, "coverage", run, by="tests")
        rows = conn.execute(text(
            "SELECT level, indicator, year, gap_households, priority FROM layer_coverage_gap "
            "ORDER BY level, indicator, year, priority")).all()
    assert rows
    groups: dict[tuple, list] = {}
    for level, indicator, year, gap, priority in rows:
        groups.setdefault((level, indicator, year), []).append((gap, priority))
    for ranked in groups.values():
        assert ranked[0][1] == 1 and [g for g, _ in ranked] == sorted((g for g, _ in ranked), reverse=True)
