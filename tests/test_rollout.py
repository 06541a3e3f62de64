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

from gis_service.analysis.scaleup.plan import ScaleupOptions, run_scaleup
from gis_service.cli import app
from gis_service.demo.load import load_demo
from tests.helpers import create_database, drop_database

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
        runner = CliRunner()
        done = runner.invoke(app, ["scaleup", "schedule", "--run", str(plan.run_id), "--start", "2027-01",
                                   "--csv", str(out / "calendar.csv"), "--gpkg", str(out / "calendar.gpkg")])
        assert done.exit_code == 0, done.output
        as_json = runner.invoke(app, ["scaleup", "schedule", "--run", str(plan.run_id), "--start", "2027-01",
                                      "--json"])
        assert as_json.exit_code == 0, as_json.output
        yield {"engine": engine, "plan": plan, "csv": out / "calendar.csv", "gpkg": out / "calendar.gpkg",
               "json": json.loads(as_json.stdout), "printed": done.output}
        engine.dispose()
    drop_database(pg_cluster, name)


def test_the_calendar_keeps_every_rule_checked_from_its_csv_alone(rollout):
    cal = pd.read_csv(rollout["csv"], dtype={"household_id": str, "village_code": str, "facility_id": str},
                      parse_dates=["date", "enrolled"])
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
    first = cal.groupby("household_id").agg(first=("date", "min"), enrolled=("enrolled", "first"))
    assert (first["first"] <= first["enrolled"] + timedelta(days=params["interval_days"])).all()
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
    years = rollout["json"]["per_year"]
    assert [y["year"] for y in years] == [1, 2, 3, 4, 5]
    counted = cal.groupby(cal["date"].dt.year).size()
    assert [y["emptyings"] for y in years] == [int(counted.get(2027 + k, 0)) for k in range(5)]
    assert sum(y["emptyings"] for y in years) == len(cal)
    for y in years:  # the aman count can only grow while households are emptied on schedule
        assert 0 < y["households_aman_5y"] <= y["households_enrolled"]
    assert [y["households_aman_5y"] for y in years] == sorted(y["households_aman_5y"] for y in years)
    printed = rollout["printed"]
    assert f"{years[0]['emptyings']:,}" in printed and f"{len(cal):,} emptyings" in printed


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
