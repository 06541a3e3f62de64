"""Publishing is explicit: a new run, from the command line, /api/jobs or OGC API – Processes, does
not change what the default layers, the web map's first view and the QGIS project show until an
editor publishes it (`gis-service coverage publish RUN`, `POST /api/runs/{id}/publish`); every run
stays reachable by id."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from gis_service.api.app import create_app
from gis_service.cli import app as cli
from gis_service.db.users import add_user


def _shown(engine) -> tuple[set[int], set[int]]:
    with engine.connect() as conn:
        villages = set(conn.execute(text("SELECT DISTINCT run_id FROM layer_coverage_village")).scalars())
        areas = set(conn.execute(text("SELECT DISTINCT run_id FROM layer_service_area")).scalars())
    return villages, areas


def test_a_run_is_shown_only_once_published(published_region):
    engine = published_region
    with engine.connect() as conn:
        first = conn.execute(text("SELECT id FROM coverage_run WHERE published_at IS NOT NULL")).scalar_one()
    runner = CliRunner()
    made = runner.invoke(cli, ["coverage", "run", "--method", "buffer", "--distance", "9000"])
    assert made.exit_code == 0, made.output
    with engine.connect() as conn:
        second = conn.execute(text("SELECT max(id) FROM coverage_run")).scalar()
    assert second > first and _shown(engine) == ({first}, {first})  # started, not published
    with TestClient(create_app(base_url="http://testserver")) as client:
        with engine.begin() as conn:
            editor, viewer = add_user(conn, "editor", "editor"), add_user(conn, "viewer", "viewer")
        assert client.post(f"/api/runs/{second}/publish").status_code == 401
        assert client.post(f"/api/runs/{second}/publish", headers={"X-API-Key": viewer}).status_code == 403
        missing = client.post("/api/runs/999999/publish", headers={"X-API-Key": editor})
        assert missing.status_code == 404 and missing.json()["detail"]["message"].startswith("no coverage run 999999")
        done = client.post(f"/api/runs/{second}/publish", headers={"X-API-Key": editor}).json()
        assert done["id"] == second and done["published_by"] == "editor" and done["replaces"] == first
        assert _shown(engine) == ({second}, {second})
        page = client.get("/ogc/collections/coverage_villages/items?f=json").json()
        assert {f["properties"]["run_id"] for f in page["features"]} == {second}
        runs = {r["id"]: r for r in client.get("/api/runs").json()}
        assert runs[second]["published_at"] and runs[first]["published_at"]  # both were published once
        every = client.get(f"/ogc/collections/coverage_all_runs/items?f=json&run_id={first}&limit=1000").json()
        assert every["features"] and {f["properties"]["run_id"] for f in every["features"]} == {first}
    back = runner.invoke(cli, ["coverage", "publish", str(first)])
    assert back.exit_code == 0 and f"published coverage run {first}" in back.output
    assert f"it replaces coverage run {second}" in back.output
    assert _shown(engine) == ({first}, {first})
    unknown = runner.invoke(cli, ["coverage", "publish", "999999"])
    assert unknown.exit_code == 1 and "no coverage run 999999; the latest are:" in unknown.output


def test_scale_up_plans_are_published_too(published_region, tmp_path):
    from gis_service.analysis.scaleup.plan import ScaleupOptions, run_scaleup
    from gis_service.planning.scenarios import load_scenarios
    from gis_service.ingest.config_tables import load_targets
    from gis_service.settings import get_settings

    engine = published_region
    scenarios = tmp_path / "scenarios.yml"
    scenarios.write_text("scenarios:\n  - {name: Uji, plan: {calibration: defaults}}\n")
    with engine.begin() as conn:
        load_targets(conn, get_settings().config_dir / "targets.yml")
        load_scenarios(conn, scenarios, region_code="62.07")
    runner = CliRunner()
    made = runner.invoke(cli, ["scaleup", "run", "--scenario", "Uji"])
    assert made.exit_code == 0, made.output
    with engine.connect() as conn:
        plan = conn.execute(text("SELECT max(id) FROM scaleup_run")).scalar()
        assert conn.execute(text("SELECT count(*) FROM layer_scaleup_village")).scalar() == 0  # not published
    published = runner.invoke(cli, ["scaleup", "publish", str(plan)])
    assert published.exit_code == 0 and f"published scale-up plan {plan}" in published.output
    again = run_scaleup(engine, ScaleupOptions(scenario="Uji")).run_id  # a newer plan, not published
    with engine.connect() as conn:
        assert set(conn.execute(text("SELECT DISTINCT run_id FROM layer_scaleup_village")).scalars()) == {plan}
        assert set(conn.execute(text("SELECT DISTINCT run_id FROM layer_scaleup_facility")).scalars()) == {plan}
    assert again > plan
