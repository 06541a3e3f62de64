"""Roll-out on real PostGIS with the demo region: the desludging calendar of a stored plan through
the CLI, checked from its CSV alone by an independent checker (working days and national
holidays, intervals, trucks, daily IPLT intake, the first interval after enrolment), and the
numbers it prints in two places agreeing."""

from __future__ import annotations

import json
from datetime import date, timedelta

import holidays
import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from gis_service.analysis.coverage import CoverageOptions, run_coverage
from gis_service.analysis.rollout.sfd import build_sfd
from gis_service.analysis.scaleup.plan import ScaleupOptions, run_scaleup
from gis_service.cli import app
from gis_service.demo.load import load_demo
from tests.helpers import create_database, drop_database, page_fits

PLAN = "Scale-up plan (demo)"


@pytest.fixture(scope="module")
def rollout(pg_cluster, tmp_path_factory):
    """The demo region (scale 0.5), the demo's scale-up plan, and its calendar as CSV + JSON."""
    name, url = create_database(pg_cluster, prefix="r")
    out = tmp_path_factory.mktemp("rollout")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GIS_SERVICE_DATABASE_URL", url)
        engine = create_engine(url)
        load_demo(engine, scale=0.5)
        plan = run_scaleup(engine, ScaleupOptions(scenario=PLAN, time_limit=30))
        coverage = run_coverage(engine, CoverageOptions(scenario="Pilot only (demo)", method="network"))
        runner = CliRunner()
        done = runner.invoke(app, ["scaleup", "schedule", "--run", str(plan.run_id), "--start", "2027-01",
                                   "--csv", str(out / "calendar.csv"), "--gpkg", str(out / "calendar.gpkg")])
        assert done.exit_code == 0, done.output
        as_json = runner.invoke(app, ["scaleup", "schedule", "--run", str(plan.run_id), "--start", "2027-01",
                                      "--json"])
        assert as_json.exit_code == 0, as_json.output
        yield {"engine": engine, "plan": plan, "coverage": coverage, "out": out,
               "csv": out / "calendar.csv", "gpkg": out / "calendar.gpkg",
               "json": json.loads(as_json.stdout), "printed": done.output}
        engine.dispose()
    drop_database(pg_cluster, name)


def test_the_calendar_keeps_every_rule_checked_from_its_csv_alone(rollout):
    cal = pd.read_csv(rollout["csv"], dtype={"household_id": str, "village_code": str, "facility_id": str},
                      parse_dates=["date", "enrolled", "emptied_before"])
    summary = rollout["json"]
    params = {"interval_days": round(3 * 365.25)}  # desludging_interval 3 years (config/parameters)
    assert list(cal.columns[:7]) == ["date", "truck", "household_id", "village_code", "facility_id", "m3",
                                     "trip_minutes"]
    # working days only: never a Sunday, never an Indonesian national holiday
    official = holidays.country_holidays("ID", years=range(2027, 2032))
    days = cal["date"].dt.date
    assert not (cal["date"].dt.day_of_week == 6).any()
    assert not days.isin(set(official)).any()
    assert days.min() >= date(2027, 1, 1) and days.max() < date(2032, 1, 1)
    # at most once per interval per household
    gaps = cal.sort_values("date").groupby("household_id")["date"].diff().dropna()
    assert (gaps.dt.days >= params["interval_days"]).all()
    # every household emptied within the first interval after it enrols; all households enrolled
    # at the start (their first interval ends inside the five years) are in the calendar
    first = cal.groupby("household_id").agg(first=("date", "min"), enrolled=("enrolled", "first"),
                                            before=("emptied_before", "first"))
    in_time = first["first"] <= first["enrolled"] + timedelta(days=params["interval_days"])
    assert (in_time | (first["before"] >= first["enrolled"])).all()  # or emptied since enrolling, before the start
    assert set(first["enrolled"].dt.date) == {date(2027, 1, 1), date(2029, 1, 1)}  # short_term_years 2
    short = {b["base"]: b for b in summary["bases"]}
    assert (first["enrolled"].dt.date == date(2027, 1, 1)).sum() == sum(b["households_short_term"]
                                                                         for b in summary["bases"])
    # trucks: whole trips (one tank each), at most the base's trucks on any day
    per_truck_day = cal.groupby(["date", "truck"]).size()
    for (day, truck), n in per_truck_day.items():
        base = truck.rsplit(" #", 1)[0]
        share = 0.5 if day.day_of_week == 5 else 1.0
        assert n <= int(short[base]["trips_per_truck_day"] * share + 1e-9) * short[base]["tanks_per_trip"]
        medium = day.date() >= date(2029, 1, 1)
        assert int(truck.rsplit("#", 1)[1]) <= short[base]["trucks_medium_term" if medium else "trucks_short_term"]
    # each IPLT takes at most its capacity a day (half on Saturdays)
    plants = {p["facility_id"]: p for p in summary["plants"]}
    assert set(cal["facility_id"]) <= set(plants)
    for (day, plant), m3 in cal.groupby(["date", "facility_id"])["m3"].sum().items():
        medium = day.date() >= date(2029, 1, 1)
        cap = plants[plant]["m3_per_day_medium_term" if medium else "m3_per_day_short_term"]
        assert m3 <= cap * (0.5 if day.day_of_week == 5 else 1.0) + 1e-6
    assert summary["notes"] == []  # nobody late: the plan leaves the IPLTs room (iplt_design_load)


def test_the_years_agree_with_the_csv_and_the_printed_table(rollout):
    cal = pd.read_csv(rollout["csv"], parse_dates=["date"])
    years = rollout["json"]["calendar_years"]
    assert [y["year"] for y in years] == [1, 2, 3, 4, 5]
    counted = cal.groupby(cal["date"].dt.year).size()
    assert [y["emptyings"] for y in years] == [int(counted.get(2027 + k, 0)) for k in range(5)]
    assert sum(y["emptyings"] for y in years) == len(cal)
    for y in years:  # the aman count can only grow while households are emptied on schedule
        assert 0 < y["households_aman_5y"] <= y["households_enrolled"]
    assert [y["households_aman_5y"] for y in years] == sorted(y["households_aman_5y"] for y in years)
    printed = rollout["printed"]
    assert f"{years[0]['emptyings']:,}" in printed and f"{len(cal):,} emptyings" in printed


def test_the_year_table_and_the_actions_add_up_to_the_plan(rollout):
    record = rollout["json"]
    table = pd.DataFrame(record["year_table"])
    fac = rollout["plan"].facilities
    lines = ["apbn_idr", "dak_idr", "apbd_province_idr", "apbd_district_idr", "other_idr"]
    # every new facility is paid once, in the first year of its phase, and the funding lines add up
    assert table[lines].sum(axis=1).tolist() == pytest.approx(table["investment_idr"].tolist(), abs=5)
    facilities = table[[c for c in table.columns if c.startswith("capex_") and c not in
                        ("capex_trucks_idr", "capex_septic_tanks_idr")]].to_numpy().sum()
    new = fac[fac["role"].eq("new")]
    assert facilities == pytest.approx(float((new["capex_idr"] - new["trucks"].fillna(0) * 650_000_000).sum()), abs=10)
    assert table["phase"].tolist() == [1, 1, 2, 2, 2]  # short_term_years 2, medium_term_years 5
    assert (table.loc[table["year"].isin([2, 4, 5]), "investment_idr"] - table.loc[table["year"].isin([2, 4, 5]),
            "capex_trucks_idr"] - table.loc[table["year"].isin([2, 4, 5]), "capex_septic_tanks_idr"] == 0).all()
    assert table["subsidy_idr"].tolist() == [max(0, r - v) for r, v in zip(table["running_cost_idr"],
                                                                            table["revenue_idr"])]
    actions = pd.DataFrame(record["actions"]["id"])
    assert set(actions["agency"]) == {"bappeda", "pupr", "dlh", "dinkes", "operator", "pdam"}
    iplt = actions[actions["budget_line"] == "capex_iplt_idr"]
    assert iplt["budget_idr"].tolist() == table.loc[table["capex_iplt_idr"] > 0, "capex_iplt_idr"].tolist()
    operator = actions[actions["budget_line"] == "running_cost_idr"]
    assert operator["year"].tolist() == [1, 2, 3, 4, 5]
    assert f"{int(table['emptyings'].iat[0]):,}".replace(",", ".") in operator["indicator"].iat[0]
    english = pd.DataFrame(record["actions"]["en"])
    assert len(english) == len(actions) and english["indicator"].iat[0] != actions["indicator"].iat[0]
    done = CliRunner().invoke(app, ["scaleup", "actions", "--run", str(rollout["plan"].run_id), "--csv",
                                    str(rollout["out"] / "actions.csv")])
    assert done.exit_code == 0, done.output
    csv = pd.read_csv(rollout["out"] / "actions.csv")
    assert list(csv.columns) == ["agency", "agency_name", "action", "year", "calendar_year", "budget_line",
                                 "budget_idr", "indicator"]
    assert len(csv) == len(actions)


def test_the_geopackage_holds_the_emptyings_zones_and_years(rollout):
    import geopandas as gpd
    import pyogrio

    layers = dict(pyogrio.list_layers(rollout["gpkg"]))
    assert set(layers) == {"emptyings", "zones", "calendar_years"}
    points = gpd.read_file(rollout["gpkg"], layer="emptyings")
    assert points.crs.to_epsg() == 4326 and len(points) == len(pd.read_csv(rollout["csv"]))
    zones = gpd.read_file(rollout["gpkg"], layer="zones")
    assert zones.geometry.is_valid.all() and zones["zone"].min() == 1
    with rollout["engine"].connect() as conn:
        inside = conn.execute(text("SELECT ST_Contains(ST_Envelope(ST_Collect(geom)), ST_Point(:x, :y, 4326)) "
                                   "FROM admin_area WHERE level = 'village'"),
                              {"x": float(points.geometry.x.median()), "y": float(points.geometry.y.median())}).scalar()
    assert inside


def test_a_bad_request_names_the_fix(rollout):
    runner = CliRunner()
    missing = runner.invoke(app, ["scaleup", "schedule", "--run", "999"])
    assert missing.exit_code == 1 and "no scale-up run 999" in missing.output
    month = runner.invoke(app, ["scaleup", "schedule", "--run", str(rollout["plan"].run_id), "--start", "2027/01"])
    assert month.exit_code == 1 and "YYYY-MM" in month.output
    years = runner.invoke(app, ["scaleup", "schedule", "--run", str(rollout["plan"].run_id), "--years", "0"])
    assert years.exit_code == 1 and "--years takes 1 to 15" in years.output


def _sfd(conn):
    from gis_service.settings import get_settings

    settings = get_settings()
    return settings.region_config().metric_crs, settings.config_dir


def test_the_sfd_counts_the_ladders_households_and_only_subtracts_lost_sludge(rollout):
    engine, run = rollout["engine"], rollout["coverage"].run_id
    with engine.connect() as conn:
        metric, config = _sfd(conn)
        sfd = build_sfd(conn, run, metric=metric, config_dir=config)
        stored = pd.read_sql(text("SELECT area_code, households, ladder, ladder_projected FROM coverage_area "
                                  "WHERE run_id = :r AND service = 'all' AND level IN ('regency', 'district')"),
                             conn, params={"r": run}).set_index("area_code")
        pumped, delivered = conn.execute(text("SELECT sum(pumped_m3), sum(coalesce(delivered_m3, 0)) FROM "
                                              "pilot_event WHERE status = 'done'")).one()
    assert sfd.delivered_share == pytest.approx(float(delivered) / float(pumped)) and sfd.delivered_share < 1
    table = sfd.table.set_index(["area_code", "state"])
    assert len(stored) == 11 and set(table.index.get_level_values(0)) == set(stored.index)
    for code, row in stored.iterrows():
        for state, ladder in (("now", row["ladder"]), ("plan", row["ladder_projected"])):
            got = table.loc[(code, state)]
            assert got["households"] == row["households"]
            assert got["ladder_aman_pct"] == pytest.approx(100 * ladder.get("aman", 0) / row["households"], abs=1e-3)
            assert got["safely_managed_pct"] == pytest.approx(
                got["ladder_aman_pct"] - got["lost_in_transport_pct"] - got["untreated_pct"], abs=2e-3)
            shares = [got[f"{c}_pct"] for c in ("offsite", "emptied", "contained", "pit", "unimproved",
                                                 "open_defecation", "unknown")]
            assert sum(shares) == pytest.approx(100.0, abs=1e-2)


def test_without_a_log_and_with_room_at_the_plant_the_sfd_equals_the_ladder(rollout):
    engine, run = rollout["engine"], rollout["coverage"].run_id
    with engine.connect() as conn:
        metric, config = _sfd(conn)
        with conn.begin() as trans:
            conn.execute(text("DELETE FROM pilot_event"))
            conn.execute(text("UPDATE facility SET capacity = 500, capacity_unit = 'm3_per_day' WHERE type = 'iplt'"))
            sfd = build_sfd(conn, run, metric=metric, config_dir=config)
            trans.rollback()
    assert sfd.delivered_share == 1.0 and sfd.treated_share == {"now": 1.0, "plan": 1.0}
    assert (sfd.table["safely_managed_pct"] == sfd.table["ladder_aman_pct"]).all()
    assert any("no operation log" in n for n in sfd.notes)


def test_a_small_plant_leaves_sludge_untreated_by_hand(rollout):
    engine, run = rollout["engine"], rollout["coverage"].run_id
    with engine.connect() as conn:
        metric, config = _sfd(conn)
        with conn.begin() as trans:
            conn.execute(text("DELETE FROM pilot_event"))
            conn.execute(text("UPDATE facility SET capacity = 1, capacity_unit = 'm3_per_day' WHERE type = 'iplt'"))
            n_plants = conn.execute(text("SELECT count(*) FROM coverage_facility c JOIN facility f ON "
                                         "f.id = c.facility_id WHERE c.run_id = :r AND f.type = 'iplt'"),
                                    {"r": run}).scalar()
            params = conn.execute(text("SELECT parameters FROM coverage_run WHERE id = :r"), {"r": run}).scalar()
            sfd = build_sfd(conn, run, metric=metric, config_dir=config)
            trans.rollback()
    regency = sfd.table[(sfd.table["level"] == "regency") & (sfd.table["state"] == "now")].iloc[0]
    emptied = regency["emptied_pct"] / 100 * regency["households"]
    inflow = emptied / params["desludging_interval"]["value"] / params["working_days_per_year"]["value"] * \
        params["sludge_per_emptying"]["value"]
    assert sfd.treated_share["now"] == pytest.approx(n_plants * 1.0 / inflow, rel=1e-4)  # the share has 3 decimals
    assert regency["untreated_pct"] == pytest.approx(regency["emptied_pct"] * (1 - sfd.treated_share["now"]), abs=2e-3)
    assert regency["safely_managed_pct"] < regency["ladder_aman_pct"]


def test_the_sfd_command_writes_labelled_pngs_and_the_table(rollout):
    from PIL import Image

    out = rollout["out"]
    done = CliRunner().invoke(app, ["coverage", "sfd", "--run", str(rollout["coverage"].run_id), "--png",
                                    str(out / "sfd"), "--csv", str(out / "sfd.csv")])
    assert done.exit_code == 0, done.output
    table = pd.read_csv(out / "sfd.csv", dtype={"area_code": str})
    assert len(table) == 22 and set(table["state"]) == {"now", "plan"}
    pngs = sorted((out / "sfd").glob("*.png"))
    assert len(pngs) == 22 and Image.open(pngs[0]).size[0] > 800
    regency = table[(table["level"] == "regency") & (table["state"] == "now")].iloc[0]
    assert f"{regency['safely_managed_pct']:.1f}" in done.output


def test_a_districts_own_ssk_targets_replace_the_national_row_in_its_years(rollout, tmp_path):
    from gis_service.analysis import network as net
    from gis_service.analysis.rollout.store import build_rollout
    from gis_service.settings import get_settings

    runner = CliRunner()
    bad = tmp_path / "target_ssk_salah.csv"
    bad.write_text("indikator;tahun;nilai;kode_wilayah;sumber\naman_pct;2029;30;62.07;SSK Seruyan 2024-2028\n"
                   "aman_persen;2029;30;62.07;SSK\naman_pct;2030;130;62.07;SSK\nlayak_pct;2029;95;99.99;SSK\n"
                   "aman_pct;2029;35;62.07;SSK\n", encoding="utf-8")
    refused = runner.invoke(app, ["import", "targets", str(bad)])
    assert refused.exit_code == 2, refused.output
    for phrase in ("unknown indicator 'aman_persen'", "above 100", "unknown area code 99.99", "duplicate"):
        assert phrase in refused.output
    good = tmp_path / "target_ssk.csv"
    good.write_text("indikator;tahun;nilai;kode_wilayah;sumber\naman_pct;2029;30;62.07;SSK Seruyan 2024-2028\n"
                    "aman_pct;2031;40;62.07;SSK Seruyan 2024-2028\n", encoding="utf-8")
    done = runner.invoke(app, ["import", "targets", str(good)])
    assert done.exit_code == 0 and "inserted 2" in done.output, done.output
    national = tmp_path / "target_nasional.csv"  # a national row again: it replaces the stored one (NULL area)
    national.write_text("indicator,year,value,source\naman_pct,2030,100,SDG 6.2 (again)\n", encoding="utf-8")
    again_national = runner.invoke(app, ["import", "targets", str(national)])
    assert again_national.exit_code == 0 and "updated 1" in again_national.output, again_national.output
    settings = get_settings()
    with rollout["engine"].connect() as conn:
        rows = conn.execute(text("SELECT year, value, scope_code FROM target WHERE indicator = 'aman_pct' "
                                 "ORDER BY year, scope_code NULLS FIRST")).all()
        again = build_rollout(conn, rollout["plan"].run_id, metric=settings.region_config().metric_crs,
                              network_params=net.NetworkParams.from_config(settings.network_config()),
                              config_dir=settings.config_dir, start="2027-01")
    assert (2029, 30.0, "62.07") in rows and (2030, 100.0, None) in rows
    table = again.years.set_index("calendar_year")
    assert table.loc[2029, "aman_target_pct"] == 30 and "SSK Seruyan" in table.loc[2029, "aman_target_source"]
    assert table.loc[2030, "aman_target_pct"] == 100 and table.loc[2031, "aman_target_pct"] == 40
    assert pd.isna(table.loc[2027, "aman_target_pct"])


def test_the_plan_api_serves_the_roll_out_the_actions_and_the_sfd_report(rollout):
    from fastapi.testclient import TestClient

    from gis_service.api.app import create_app

    run = rollout["plan"].run_id
    assert CliRunner().invoke(app, ["coverage", "publish", str(rollout["coverage"].run_id)]).exit_code == 0
    with TestClient(create_app(base_url="http://testserver")) as client:
        plan = client.get(f"/api/plans/{run}").json()
        assert [y["year"] for y in plan["summary"]["rollout"]["year_table"]] == [1, 2, 3, 4, 5]
        assert plan["summary"]["iplt_load"] and plan["summary"]["treatment"]["overloaded"] == []
        csv = client.get(f"/api/plans/{run}/actions.csv?lang=en")
        assert csv.status_code == 200 and csv.text.splitlines()[0] == \
            "agency,agency_name,action,year,calendar_year,budget_line,budget_idr,indicator"
        assert "Bappeda (planning agency)" in csv.text
        report = client.get(f"/api/plans/{run}/report.html")
        assert report.status_code == 200
        (rollout["out"] / "rencana.html").write_text(report.text, encoding="utf-8")
        assert page_fits(rollout["out"] / "rencana.html") == (1280, 680)  # a 1,280 px window and an A4 page
        for section in ("Jadwal penyedotan terjadwal", "Anggaran per tahun menurut sumber", "Matriks aksi per OPD",
                        "Diagram aliran tinja (SFD)", "Beban IPLT terhadap kapasitas per tahap"):
            assert section in report.text, section
        missing = client.get(f"/api/plans/{rollout['plan'].run_id + 999}/actions.csv")
        assert missing.status_code == 404


def test_trucks_that_hold_two_tanks_make_ordered_trips_to_one_plant(rollout):
    """With 6 m3 trucks and ~2.7 m3 tanks a trip empties two tanks: both go to one plant, the stops
    are numbered in the route's order, and a truck makes no more trips a day than its trip model
    allows (each tank adds its service minutes)."""
    from gis_service.analysis import network as net
    from gis_service.analysis.rollout.calendar import build_calendar
    from gis_service.settings import get_settings

    settings = get_settings()
    run = rollout["plan"].run_id
    with rollout["engine"].connect() as conn, conn.begin() as trans:
        conn.execute(text("UPDATE scaleup_run SET parameters = jsonb_set(parameters, '{truck_volume,value}', "
                          "'6') WHERE id = :r"), {"r": run})
        cal = build_calendar(conn, run, metric=settings.region_config().metric_crs,
                             network_params=net.NetworkParams.from_config(settings.network_config()),
                             config_dir=settings.config_dir, start="2027-01", years=2)
        trans.rollback()
    e = cal.emptyings
    assert set(cal.bases["tanks_per_trip"]) == {2}
    trips = e.groupby(["date", "truck", "trip"])
    assert trips.size().max() == 2 and (trips.size() == 2).mean() > 0.8
    assert (trips["facility_id"].nunique() == 1).all() and (trips["trip_minutes"].nunique() == 1).all()
    assert (trips["stop"].apply(lambda s: sorted(s.tolist())) .apply(lambda s: s == list(range(1, len(s) + 1)))).all()
    per_day = e.groupby(["date", "truck"])["trip"].max()
    allowed = dict(zip(cal.bases["base"], cal.bases["trips_per_truck_day"]))
    for (day, truck), n in per_day.items():
        share = 0.5 if pd.Timestamp(day).day_of_week == 5 else 1.0
        assert n <= int(allowed[truck.rsplit(" #", 1)[0]] * share + 1e-9)
