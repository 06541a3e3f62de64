"""Scale-up plans end to end on real PostGIS with the demo region: every demo scenario plans,
stores and adds up; fixed facilities are kept, capacities hold, phases only add coverage;
calibration is recorded and switchable; bad requests name the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from gis_service.analysis.scaleup.plan import ScaleupOptions, run_scaleup
from gis_service.analysis.scaleup.spec import read_scenarios
from gis_service.cli import app
from gis_service.demo.load import load_demo
from gis_service.ingest.importer import import_file
from gis_service.ingest.report import ImportRejected
from tests.helpers import create_database, drop_database, page_fits

SCENARIOS = [s.name for s in read_scenarios(Path(__file__).resolve().parents[1] / "config" / "scenarios"
                                            / "demo.yml")]


@pytest.fixture(scope="module")
def demo(pg_cluster):
    """One database with the demo region (scale 0.5) for the whole module, and one run of every
    demo scenario."""
    name, url = create_database(pg_cluster, prefix="s")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GIS_SERVICE_DATABASE_URL", url)
        engine = create_engine(url)
        load_demo(engine, scale=0.5)
        runs = {s: run_scaleup(engine, ScaleupOptions(scenario=s, time_limit=30)) for s in SCENARIOS}
        yield engine, runs
        engine.dispose()
    drop_database(pg_cluster, name)


def test_every_demo_scenario_plans_and_stores_every_part(demo):
    engine, runs = demo
    with engine.connect() as conn:
        for result in runs.values():
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t} WHERE run_id = :r"), {"r": result.run_id}
                                      ).scalar() for t in ("scaleup_facility", "scaleup_village",
                                                           "scaleup_requirement", "scaleup_phase")}
            villages = conn.execute(text("SELECT count(*) FROM admin_area WHERE level = 'village'")).scalar()
            assert counts["scaleup_village"] == villages and counts["scaleup_phase"] == 3
            assert counts["scaleup_requirement"] >= 11 and counts["scaleup_facility"] >= 1
            h = result.summary["headline"]
            assert h["capex_total_idr"] > 0 and h["flat_tariff_idr"] > 0
            assert result.summary["illustrative"] is True


def test_fixed_facilities_are_never_dropped_and_capacity_holds(demo):
    engine, runs = demo
    with engine.connect() as conn:
        fixed = set(conn.execute(text(
            "SELECT facility_id FROM scenario_facility sf JOIN scenario s ON s.id = sf.scenario_id "
            "WHERE s.name = :n"), {"n": "Pilot + 2 depots (demo)"}).scalars())
    result = runs["Pilot + 2 depots (demo)"]
    fac = result.facilities
    assert fixed and fixed <= set(fac.loc[fac["role"].eq("fixed"), "facility_id"].astype(int))
    limited = fac["capacity_households"].notna()
    assert (fac.loc[limited, "served_households"] <= fac.loc[limited, "capacity_households"] + 1e-6).all()
    new = fac[fac["role"].eq("new")]
    # the pilot IPLT is full: a depot whose sludge no plant could treat adds nobody, so none is sited
    assert new["type"].value_counts().to_dict() == {"ipal_komunal": 3}
    depots = next(st for st in result.summary["siting"] if st["type"] == "desludging_depot")
    assert depots["candidates"] > 0 and depots["chosen"] == 0
    assert depots["exact"]["newly_covered"] == pytest.approx(0.0, abs=1e-6)
    assert (new["phase"] >= 1).all() and (fac.loc[fac["role"].eq("fixed"), "phase"] == 0).all()
    assert (new["capex_idr"] > 0).all() and (fac.loc[fac["role"].eq("fixed"), "capex_idr"] == 0).all()
    t = result.summary["treatment"]
    lltt = fac.loc[fac["service"].eq("lltt"), "served_households"].sum()
    assert t["m3_per_day_needed"] == pytest.approx(lltt / 3 / 263 * 2.7, rel=0.05)  # demo: ~2.7 m3, 263 days
    assert t["m3_per_day_needed"] <= t["m3_per_day_usable"] + 1e-3 <= t["m3_per_day_in_plan"] + 2e-3  # never more
    assert t["m3_per_day_usable"] == pytest.approx(7 * 0.9 * 2.7, rel=0.02)  # 20 m3/day: 7 whole ~2.7 m3 tanks
    assert t["shortfall_households"] > 0 and any("treatment limits the plan" in n for n in result.summary["notes"])


def test_no_plan_counts_sludge_its_plants_cannot_treat(demo):
    """In every demo plan and phase each IPLT receives at most its capacity, and the loads add up
    to the sludge of the households the phase serves on scheduled desludging."""
    _, runs = demo
    for name, result in runs.items():
        loads, t = result.summary["iplt_load"], result.summary["treatment"]
        assert loads and not t["overloaded"], name
        for r in loads:
            assert r["load_m3_day"] <= r["capacity_m3_day"] + 1e-3, (name, r)
            assert r["load_m3_day"] == pytest.approx(r["from_own_trucks_m3_day"] + r["from_depots_m3_day"], abs=2e-3)
        final = sum(r["load_m3_day"] for r in loads if r["phase"] == 2)
        assert final == pytest.approx(t["m3_per_day_needed"], abs=0.01), name
    plan = runs["Scale-up plan (demo)"]
    fac, h = plan.facilities, plan.summary["headline"]
    pilot_plant = fac[fac["type"].eq("iplt") & fac["role"].eq("fixed")]
    enlarged = fac[fac["origin"].eq("enlargement")]
    assert len(enlarged) == 1 and enlarged["facility_id"].iat[0] == pilot_plant["facility_id"].iat[0]
    assert enlarged["capacity"].iat[0] == 20 and enlarged["staff"].iat[0] == 0
    assert enlarged["capex_idr"].iat[0] == pytest.approx(20 * 600_000_000)
    medium = [r for r in plan.summary["iplt_load"] if r["phase"] == 2 and r["facility_id"] == enlarged["facility_id"].iat[0]]
    assert medium[0]["capacity_m3_day"] == pytest.approx(pilot_plant["capacity"].iat[0] + 20)
    assert h["villages_medium_term"] > 0 and (fac["phase"] == 2).any()
    assert h["aman_plan_pct"] > runs["Pilot only (demo)"].summary["headline"]["aman_plan_pct"]


def test_a_single_fixed_plant_stays_fixed_and_counted_once(demo, tmp_path):
    """One fixed desludging facility (index 0) and depot candidates: it must not become a candidate
    (that would let siting 'open' it again and count its capacity twice)."""
    from gis_service.planning.scenarios import load_scenarios

    engine, _ = demo
    spec = tmp_path / "one.yml"
    spec.write_text("scenarios:\n  - name: One plant\n    facilities: [existing, pilot]\n    plan:\n"
                    "      siting: [{type: iplt, max_new: 1, candidates: [enlarge], capacity: 20, "
                    "capacity_unit: m3_per_day}, {type: desludging_depot, max_new: 1, model: both}]\n")
    with engine.begin() as conn:
        conn.execute(text("UPDATE facility SET status = 'planned' WHERE status = 'pilot' AND type <> 'iplt'"))
        load_scenarios(conn, spec, region_code="62.07")
    try:
        result = run_scaleup(engine, ScaleupOptions(scenario="One plant"))
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE facility SET status = 'pilot' WHERE status = 'planned'"))
    lltt = result.facilities[result.facilities["service"].eq("lltt")]
    # the plant is enlarged at its own site (a new module, never the plant again), then a depot
    assert lltt["type"].tolist() == ["iplt", "iplt", "desludging_depot"]
    assert lltt["role"].tolist() == ["fixed", "new", "new"]
    assert lltt["origin"].tolist()[1] == "enlargement"
    step = result.summary["siting"][1]
    assert step["baseline"] > 0 and step["chosen"] == 1
    assert (lltt["served_households"] <= lltt["capacity_households"] + 1e-6).all()


def test_exact_siting_is_never_worse_than_greedy(demo):
    _, runs = demo
    steps = [s for r in runs.values() for s in r.summary["siting"] if "exact" in s and "greedy" in s]
    assert steps
    for s in steps:
        assert s["exact"]["covered"] >= s["greedy"]["covered"] - 1e-6
        assert s["optimality_gap"] >= -1e-9


def test_iplt_candidates_keep_their_distance_from_settlements(demo):
    engine, runs = demo
    result = runs["Pilot + IPLT upstream (demo)"]
    step = result.summary["siting"][0]
    assert step["type"] == "iplt" and step["candidates"] >= 1
    new = result.facilities[result.facilities["role"].eq("new") & result.facilities["type"].eq("iplt")]
    with engine.connect() as conn:
        for row in new.itertuples():
            if row.origin == "stored":
                continue  # a stored candidate is the planner's choice
            nearest = conn.execute(text(
                "SELECT min(ST_Distance(ST_Transform(s.geom, 32749), ST_SetSRID(ST_Point(:x, :y), 32749))) "
                "FROM settlement s"), {"x": row.x, "y": row.y}).scalar()
            assert nearest >= 2000 - 1e-6


def test_phases_add_up_and_only_add_coverage(demo):
    _, runs = demo
    for result in runs.values():
        p = result.phases.sort_values("phase")
        for column in ("households_covered", "aman_pct", "layak_pct"):
            assert (np.diff(p[column]) >= -1e-4).all(), column
        assert p["capex_cumulative_idr"].iat[-1] == pytest.approx(result.summary["headline"]["capex_total_idr"])
        assert p["capex_idr"].sum() == pytest.approx(p["capex_cumulative_idr"].iat[-1])
        v = result.villages
        assert set(v["phase"]) <= {1, 2, 3} and sorted(v["rank"]) == list(range(1, len(v) + 1))
        assert (v["covered_phase1"] <= v["covered_phase2"] + 1e-3).all()  # solver tolerance per cell


def test_requirements_add_up_over_districts(demo):
    _, runs = demo
    req = runs["Pilot only (demo)"].requirements
    for (indicator, year), rows in req.groupby(["indicator", "year"]):
        region = rows[rows["level"] == "regency"]
        districts = rows[rows["level"] == "district"]
        assert len(region) == 1 and len(districts) == 10
        assert districts["households"].sum() == region["households"].iat[0]
        # a district already past the target needs nothing, so the districts need at least the region's
        assert districts["households_needed"].sum() >= region["households_needed"].iat[0]
        if indicator == "aman_pct" and region["target_pct"].iat[0] == 100:  # nobody is past 100 %
            assert districts["households_needed"].sum() == region["households_needed"].iat[0]
            assert region["sludge_m3_per_day"].iat[0] == pytest.approx(districts["sludge_m3_per_day"].sum(),
                                                                         rel=1e-3, abs=0.01)


def test_calibration_is_recorded_and_switchable(demo):
    engine, runs = demo
    with engine.connect() as conn:
        observed = conn.execute(text("SELECT sum(sludge_m3) / sum(emptyings) FROM pilot_record")).scalar()
        used = conn.execute(text("SELECT (parameters -> 'sludge_per_emptying' ->> 'value')::float, "
                                 "calibration -> 'pilot' FROM scaleup_run WHERE id = :r"),
                            {"r": runs["Pilot only (demo)"].run_id}).one()
    assert used[0] == pytest.approx(observed) and "SERUYAN BARASIH" in used[1]
    defaults = run_scaleup(engine, ScaleupOptions(scenario="Pilot only (demo)", calibration="defaults"))
    with engine.connect() as conn:
        value = conn.execute(text("SELECT (parameters -> 'sludge_per_emptying' ->> 'value')::float "
                                  "FROM scaleup_run WHERE id = :r"), {"r": defaults.run_id}).scalar()
    assert value == 2.5


def test_a_district_plan_covers_only_its_villages(demo):
    engine, _ = demo
    result = run_scaleup(engine, ScaleupOptions(scenario="Pilot only (demo)", region="62.07.01"))
    assert result.villages["village_code"].str.startswith("62.07.01.").all()
    assert set(result.requirements["level"]) == {"district"}


def test_several_districts_plan_as_one_region(demo):
    engine, _ = demo
    result = run_scaleup(engine, ScaleupOptions(scenario="Pilot only (demo)", region="62.07.01, 62.07.02"))
    codes = result.villages["village_code"]
    assert codes.str.startswith(("62.07.01.", "62.07.02.")).all() and codes.str.startswith("62.07.02.").any()
    req = result.requirements
    assert set(req["level"]) == {"group", "district"} and "62.07.01,62.07.02" in set(req["area_code"])
    assert result.summary["region"]["name"].count(" + ") == 1


def test_a_district_target_replaces_the_national_one_for_that_district_only(demo):
    engine, _ = demo
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO target (indicator, year, value, scope_code, source) "
                          "VALUES ('aman_pct', 2030, 50, '62.07.01', 'RPJMD uji')"))
    try:
        district = run_scaleup(engine, ScaleupOptions(scenario="Pilot only (demo)", region="62.07.01"))
        regency = run_scaleup(engine, ScaleupOptions(scenario="Pilot only (demo)", region="62.07"))
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM target WHERE source = 'RPJMD uji'"))
    pick = (lambda r: r.requirements.query("indicator == 'aman_pct' and year == 2030")["target_pct"])
    assert set(pick(district)) == {50.0} and set(pick(regency)) == {100.0}
    assert not district.requirements.duplicated(["area_code", "indicator", "year"]).any()


def test_bad_requests_name_the_fix(demo):
    engine, _ = demo
    with pytest.raises(ValueError, match="unknown scenario 'nope'; known: .*Pilot only"):
        run_scaleup(engine, ScaleupOptions(scenario="nope"))
    with pytest.raises(ValueError, match="unknown region code 99.99"):
        run_scaleup(engine, ScaleupOptions(scenario="Pilot only (demo)", region="99.99"))


def test_cli_prints_the_headline_and_the_calibration(demo, monkeypatch):
    engine, _ = demo
    monkeypatch.setenv("GIS_SERVICE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    out = runner.invoke(app, ["scaleup", "run", "--scenario", "Pilot + 2 depots (demo)", "--model", "greedy"],
                        env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "households aman, now -> plan" in out.output and "short term" in out.output
    cal = runner.invoke(app, ["scaleup", "calibrate"], env={"COLUMNS": "200"})
    assert cal.exit_code == 0 and "sludge_per_emptying" in cal.output
    bad = runner.invoke(app, ["scaleup", "run", "--scenario", "Pilot only (demo)", "--model", "best"])
    assert bad.exit_code != 0 and "exact, greedy or both" in bad.output


def test_stored_facilities_are_points_in_wgs84_inside_the_region(demo):
    engine, runs = demo
    with engine.connect() as conn:
        rows = pd.read_sql(text(
            "SELECT ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat, ST_SRID(f.geom) AS srid, "
            "ST_Intersects(f.geom, a.geom) AS inside FROM scaleup_facility f, admin_area a "
            "WHERE a.code = '62.07' AND f.run_id = :r AND f.role = 'new'"),
            conn, params={"r": runs["Pilot + 2 depots (demo)"].run_id})
    assert len(rows) and (rows["srid"] == 4326).all() and rows["inside"].all()
    assert rows["lon"].between(110, 114).all() and rows["lat"].between(-4, 0).all()
    assert np.isfinite(rows[["lon", "lat"]].to_numpy()).all()
    assert shapely.points(rows[["lon", "lat"]].to_numpy()).size == len(rows)


def test_ehra_risk_classes_enter_the_priority_score(demo, tmp_path):
    engine, _ = demo
    with engine.connect() as conn:
        codes = conn.execute(text("SELECT code FROM admin_area WHERE level = 'village' ORDER BY code LIMIT 2")
                             ).scalars().all()
    csv = tmp_path / "ehra.csv"
    csv.write_text("kode_desa,tahun,kelas_risiko,irs\n" + "".join(f"{c},2024,{k},{100 * k}\n"
                                                             for c, k in zip(codes, (4, 1))))
    import_file(engine, "risk", csv)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"kode_desa,tahun,kelas_risiko\n{codes[0]},2025,5\n")
    with pytest.raises(ImportRejected, match="risk class 5 is not 1-4"):
        import_file(engine, "risk", bad)
    result = run_scaleup(engine, ScaleupOptions(scenario="Pilot only (demo)"))
    assert "risk" in result.summary["priority"]["weights"]
    v = result.villages.set_index("village_code")
    assert v.loc[codes[0], "risk_class"] == 4 and v.loc[codes[1], "risk_class"] == 1
    assert v["risk_class"].isna().sum() == len(v) - 2
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM village_risk"))


def test_report_geopackage_and_comparison(demo, tmp_path, monkeypatch):
    import sqlite3

    import pyogrio

    engine, runs = demo
    monkeypatch.setenv("GIS_SERVICE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    ids = [str(r.run_id) for r in runs.values()]
    runner = CliRunner()
    report = tmp_path / "laporan" / "rencana.html"
    out = runner.invoke(app, ["scaleup", "report", ids[1], str(report), "--compare", ids[0]])
    assert out.exit_code == 0, out.output
    html = report.read_text(encoding="utf-8")
    for heading in ("Aspek teknis", "Aspek kelembagaan", "Aspek pembiayaan", "Tahapan", "Asumsi dan sumbernya",
                    "Perbandingan skenario", "DATA ILUSTRASI", "capex_truck"):
        assert heading in html, heading
    assert html.count("data:image/png;base64,") == 4 and ">nan<" not in html and ">None<" not in html
    # the trial's scorecard comes first (the demo pilot has a log), and the page fits a 1,280 px
    # window and an A4 page
    assert 0 < html.index("Hasil uji coba") < html.index("<h2>Ringkasan</h2>") and "pembuangan liar" in html
    assert page_fits(report) == (1280, 680)
    english = runner.invoke(app, ["scaleup", "report", ids[1], str(tmp_path / "plan.html"), "--english"])
    assert english.exit_code == 0 and "Financing aspect" in (tmp_path / "plan.html").read_text()
    assert "Trial results" in (tmp_path / "plan.html").read_text()
    gpkg = tmp_path / "rencana.gpkg"
    out = runner.invoke(app, ["scaleup", "export", ids[1], str(gpkg)])
    assert out.exit_code == 0, out.output
    layers = {name: kind for name, kind in pyogrio.list_layers(gpkg)}
    assert layers["scaleup_facilities"] == "Point" and layers["scaleup_villages"] == "MultiPolygon"
    assert {"scaleup_requirements", "scaleup_phases"} <= set(layers)
    with sqlite3.connect(gpkg) as db:
        styled = {row[0] for row in db.execute("SELECT f_table_name FROM layer_styles WHERE useAsDefault")}
    assert styled == {"scaleup_facilities", "scaleup_villages"}
    villages = pyogrio.read_dataframe(gpkg, layer="scaleup_villages")
    assert set(villages["run_id"]) == {int(ids[1])} and len(villages) == len(runs["Pilot + 2 depots (demo)"].villages)
    compare = runner.invoke(app, ["scaleup", "compare", *ids, "--map", str(tmp_path / "c.png")],
                            env={"COLUMNS": "200"})
    assert compare.exit_code == 0 and all(name in compare.output for name in runs)
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    missing = runner.invoke(app, ["scaleup", "report", "99999", str(tmp_path / "x.html")])
    assert missing.exit_code == 1 and "no scale-up run 99999" in missing.output


def test_plans_over_http_and_a_scaleup_job(demo):
    """The planning API serves stored plans (summary, phases, CSV, report, GeoPackage) and runs a
    scale-up as a background job that stores one more plan."""
    import io
    import time

    import pyogrio
    from fastapi.testclient import TestClient

    from gis_service.api.app import create_app

    engine, runs = demo
    key = CliRunner().invoke(app, ["users", "add", "plan-editor", "--role", "editor"]).stdout.strip().splitlines()[-1]
    with TestClient(create_app(base_url="http://testserver")) as client:
        listed = client.get("/api/plans").json()
        assert {p["id"] for p in listed} >= {r.run_id for r in runs.values()}
        run = runs["Pilot only (demo)"]
        plan = client.get(f"/api/plans/{run.run_id}").json()
        assert plan["summary"]["headline"] == run.summary["headline"] and len(plan["phases"]) == 3
        villages = client.get(f"/api/plans/{run.run_id}/villages")
        assert villages.headers["content-type"].startswith("text/csv") and villages.text.count("\n") > 10
        report = client.get(f"/api/plans/{run.run_id}/report.html?lang=en")
        assert report.status_code == 200 and "<html" in report.text.lower()
        gpkg = client.get(f"/api/plans/{run.run_id}/export.gpkg")
        assert {n for n, _ in pyogrio.list_layers(io.BytesIO(gpkg.content))} >= {"scaleup_facilities", "scaleup_villages"}
        assert client.get("/api/plans/999999").status_code == 404
        job = client.post("/api/jobs", headers={"Authorization": f"Bearer {key}"}, json={
            "kind": "scaleup", "scenario": "Pilot only (demo)", "options": {"model": "greedy"}})
        assert job.status_code == 202, job.text
        deadline = time.monotonic() + 120
        while (done := client.get(f"/api/jobs/{job.json()['id']}").json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, done
            time.sleep(0.5)
        assert done["status"] == "succeeded", done["error"]
        assert done["result"]["headline"]["capex_total_idr"] > 0
        assert client.get(f"/api/plans/{done['result']['run_id']}").status_code == 200
