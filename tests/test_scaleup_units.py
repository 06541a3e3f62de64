"""Scale-up arithmetic checked against hand calculations: finance, requirements, calibration,
phasing and the scenario spec (no database)."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gis_service.analysis.parameters import capacity_households
from gis_service.analysis.scaleup import finance, phasing
from gis_service.analysis.scaleup.calibration import TripModel, calibrate
from gis_service.analysis.scaleup.cells import Cells
from gis_service.analysis.scaleup.requirements import requirements
from gis_service.analysis.scaleup.spec import read_scenarios

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def params() -> dict:
    with open(ROOT / "config" / "parameters" / "default.yml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["values"]


def _set(params: dict, **values) -> dict:
    out = copy.deepcopy(params)
    for k, v in values.items():
        out[k]["value"] = v
    return out


def _facility(**kw) -> dict:
    row = {"type": "desludging_depot", "role": "new", "origin": "settlement", "capacity": 2.0, "capacity_unit": "trucks",
           "capacity_households": 1000.0, "served_households": 900.0, "mean_minutes": 30.0}
    row.update(kw)
    return row


def test_depot_costs_by_hand(params):
    p = _set(params, capex_depot=100.0, capex_truck=10.0, opex_depot=5.0, opex_truck_fixed=2.0,
             opex_per_trip=1.0, opex_per_km=0.5, desludging_interval=3, sludge_per_emptying=2.5,
             truck_volume=3, travel_speed_kmh=30, staff_per_depot=2, staff_per_truck=3)
    out = finance.facility_costs(pd.DataFrame([_facility()]), p).iloc[0]
    trips = 900 / 3 * 2.5 / 3  # by volume, as docs/domain.md §5 capacity model sizes the depot
    km = trips * 2 * 30 * 30 / 60  # 15 km each way
    assert out["capex_idr"] == 100 + 2 * 10
    assert out["opex_idr_per_year"] == pytest.approx(5 + 2 * 2 + trips * 1 + km * 0.5)
    assert out["staff"] == 2 + 2 * 3 and out["trucks"] == 2


def test_an_enlargement_is_priced_per_m3_day_and_adds_no_staff(params):
    p = _set(params, capex_iplt_per_m3_day=7.0, opex_iplt_per_m3_day=2.0, staff_per_iplt=6)
    rows = [_facility(type="iplt", origin=origin, capacity=20.0, capacity_unit="m3_per_day", served_households=0.0)
            for origin in ("grid", "enlargement")]
    out = finance.facility_costs(pd.DataFrame(rows), p)
    assert out["capex_idr"].tolist() == [140.0, 140.0] and out["opex_idr_per_year"].tolist() == [40.0, 40.0]
    assert out["staff"].tolist() == [6, 0]  # the enlarged plant keeps its own staff


def test_fixed_facilities_cost_nothing_to_build_but_run(params):
    out = finance.facility_costs(pd.DataFrame([_facility(role="fixed")]), params).iloc[0]
    assert out["capex_idr"] == 0 and out["opex_idr_per_year"] > 0


def test_iplt_costs_follow_its_capacity_in_m3_per_day(params):
    p = _set(params, capex_iplt_per_m3_day=7.0, opex_iplt_per_m3_day=3.0)
    plant = _facility(type="iplt", capacity=20.0, capacity_unit="m3_per_day", served_households=0.0)
    out = finance.facility_costs(pd.DataFrame([plant]), p).iloc[0]
    assert (out["capex_idr"], out["opex_idr_per_year"], out["m3_per_day"]) == (140.0, 60.0, 20.0)
    # households its own trucks serve pay their trips and kilometres, as at a depot
    served = finance.facility_costs(pd.DataFrame([{**plant, "served_households": 900.0}]), p).iloc[0]
    depot = finance.facility_costs(pd.DataFrame([_facility()]), p).iloc[0]
    assert served["opex_idr_per_year"] - 60.0 == pytest.approx(
        depot["opex_idr_per_year"] - p["opex_depot"]["value"] - 2 * p["opex_truck_fixed"]["value"])


def test_a_unit_cost_changes_only_what_it_prices(params):
    frame = pd.DataFrame([_facility(), _facility(type="iplt", capacity=10.0, capacity_unit="m3_per_day"),
                          _facility(type="ipal_komunal", capacity=80.0, capacity_unit="households",
                                    capacity_households=80.0, served_households=70.0)])
    before = finance.facility_costs(frame, params)
    after = finance.facility_costs(frame, _set(params, capex_truck=2 * params["capex_truck"]["value"]))
    changed = (before["capex_idr"] != after["capex_idr"]).tolist()
    assert changed == [True, False, False]
    assert (before["opex_idr_per_year"] == after["opex_idr_per_year"]).all()
    assert after["capex_idr"].iat[0] - before["capex_idr"].iat[0] == 2 * params["capex_truck"]["value"]


def test_tariffs_by_hand(params):
    p = _set(params, desludging_interval=2, collection_rate=0.5, travel_speed_kmh=60, opex_per_km=10.0,
             tariff_band_distance=15, tariff_band_near=100.0, tariff_band_far=200.0, sludge_per_emptying=2.5,
             truck_volume=3)
    # 200 households at 10 min (10 km, near), 100 at 30 min (30 km, far): 100 + 50 emptyings a year
    out = finance.tariffs(annual_cost=30_000.0, lltt_households=np.array([200.0, 100.0]),
                          one_way_minutes=np.array([10.0, 30.0]), params=p)
    assert out["emptyings_per_year"] == 150
    assert out["flat_tariff_idr"] == pytest.approx(30_000 / 150 / 0.5)
    driving = {"near": 2 * 10 * 10.0 * 2.5 / 3, "far": 2 * 30 * 10.0 * 2.5 / 3}  # per emptying, by volume
    base = (30_000 - (100 * driving["near"] + 50 * driving["far"])) / 150
    bands = {b["band"]: b for b in out["bands"]}
    assert bands["near"]["tariff_idr"] == pytest.approx((base + driving["near"]) / 0.5)
    assert bands["far"]["tariff_idr"] == pytest.approx((base + driving["far"]) / 0.5)
    assert out["revenue_at_configured_idr"] == pytest.approx((100 * 100 + 50 * 200) * 0.5)
    assert out["subsidy_gap_idr_per_year"] == pytest.approx(30_000 - 10_000)
    # the bands recover the same cost as the flat tariff
    recovered = sum(b["tariff_idr"] * b["emptyings_per_year"] * 0.5 for b in out["bands"])
    assert recovered == pytest.approx(30_000)


def test_funding_split_sums_to_the_investment_and_refuses_bad_rows(params):
    out = finance.funding({"iplt": 1000.0, "trucks": 500.0, "mck": 0.0}, params)
    assert sum(out["iplt"].values()) == pytest.approx(1000) and "mck" not in out
    assert sum(out["total"].values()) == pytest.approx(1500)
    bad = copy.deepcopy(params)
    bad["funding_split"]["value"]["iplt"]["apbn"] = 0.9
    with pytest.raises(ValueError, match="iplt"):
        finance.funding({"iplt": 1.0}, bad)
    with pytest.raises(KeyError, match="boats"):
        finance.funding({"boats": 1.0}, params)


def test_fleet_needed_by_hand(params):
    p = _set(params, desludging_interval=3, working_days_per_year=250, sludge_per_emptying=2.5, truck_volume=3)
    model = TripModel(working_minutes=400, service_minutes=60, max_trips=3)
    # 40-minute round trip: 400 / 100 = 4 trips, capped at 3: 9 m3 a day, 900 emptyings a truck-year
    assert finance.fleet_needed(2250.0, 40.0, model, p) == pytest.approx(2250 / 3 / 900)
    # the fleet that sustains a depot's households is the depot's own: sizing and fleet agree
    one_truck = capacity_households(1.0, "trucks", _set(p, trips_per_truck_day=3.0))
    assert finance.fleet_needed(one_truck, 40.0, model, p) == pytest.approx(1.0)


def _cells(rows: list[dict]) -> Cells:
    base = {"x": 0.0, "y": 0.0, "people": 0, "with_tank": 0, "aman": 0, "layak_sendiri": 0, "layak_bersama": 0,
            "belum_layak": 0, "babs": 0, "unknown": 0, "offsite": 0, "lltt": 0, "tank": 0}
    return Cells(pd.DataFrame([{**base, **r} for r in rows]), 500.0)


def test_requirements_by_hand(params):
    p = _set(params, desludging_interval=3, working_days_per_year=250, sludge_per_emptying=2.5, truck_volume=3,
             ipal_komunal_households=50, truck_sizes_m3=[1, 3])
    c = _cells([{"village_code": "62.07.01.2001", "households": 1000, "aman": 100, "layak_sendiri": 500,
                 "babs": 100, "offsite": 180, "lltt": 720, "tank": 360}])
    villages = pd.DataFrame({"code": ["62.07.01.2001"], "district_code": ["62.07.01"]})
    fac = pd.DataFrame({"role": ["fixed"], "type": ["iplt"], "village_code": ["62.07.01.2001"],
                        "m3_per_day": [4.0]})
    targets = pd.DataFrame({"indicator": ["aman_pct", "layak_pct", "babs_pct"], "year": [2030, 2024, 2024],
                            "value": [55.0, 90.0, 0.0]})
    model = TripModel(working_minutes=420, service_minutes=60, max_trips=3)
    out = requirements(c, villages, fac, targets, p, model, mean_round_trip=60.0, region="62.07.01",
                       region_level="district").set_index("indicator")
    aman = out.loc["aman_pct"]
    assert aman["households_needed"] == 550 - 100
    assert aman["offsite_households"] == round(450 * 180 / 900) == 90
    assert aman["new_tanks"] == round(360 * 360 / 720) == 180
    assert aman["lltt_households"] == 360 + 100
    per_day = 460 / 3 / 250
    assert aman["sludge_m3_per_day"] == pytest.approx(round(per_day * 2.5, 3))
    assert aman["trucks"] == {"1": math.ceil(per_day * 2.5 / (1 * 3)), "3": math.ceil(per_day * 2.5 / (3 * 3))}
    assert aman["trips_per_day"] == pytest.approx(round(per_day * 2.5 / 3, 3))
    assert aman["ipal_units_needed"] == 2 and aman["iplt_m3_per_day_existing"] == 4.0
    assert out.loc["layak_pct", "households_needed"] == 900 - 600 == out.loc["layak_pct", "new_tanks"]
    assert out.loc["babs_pct", "households_needed"] == 100


def _records(trips: list[float], minutes: list[float]) -> pd.DataFrame:
    n = len(trips)
    return pd.DataFrame({
        "pilot": "P", "period_start": pd.date_range("2024-01-01", periods=n, freq="MS").date,
        "period_end": (pd.date_range("2024-02-01", periods=n, freq="MS") - pd.Timedelta(days=1)).date,
        "households_served": 30, "emptyings": 30, "sludge_m3": 75.0, "truck_trips": trips,
        "mean_trip_minutes": minutes, "working_days": 20, "trucks": 1, "capex_idr": None,
        "opex_idr": 3_000_000.0, "revenue_idr": 2_700_000.0, "households_paying": 27, "wtp_idr": 120_000.0})


def test_calibration_observes_the_pilot_and_replaces_only_what_it_calibrates(params):
    r = _records([30.0] * 6, [40, 50, 60, 70, 80, 90])
    c = calibrate(r, params)
    observed = {row.key: row.observed for row in c.rows}
    assert observed["sludge_per_emptying"] == pytest.approx(2.5)
    assert observed["collection_rate"] == pytest.approx(0.9)
    assert observed["opex_per_trip"] == pytest.approx(100_000)
    assert observed["trips_per_truck_day"] == pytest.approx(1.5)
    applied = c.apply(params)
    assert applied["sludge_per_emptying"]["value"] == pytest.approx(2.5)
    assert "observed in pilot 'P'" in applied["collection_rate"]["source"]
    assert applied["truck_volume"] == params["truck_volume"]
    assert not c.trip_model.fitted  # constant trips whatever the trip time: demand-limited


def test_calibration_keeps_the_configured_rate_when_nobody_paid(params):
    r = _records([30.0] * 6, [40, 50, 60, 70, 80, 90]).assign(households_paying=0, revenue_idr=0.0)
    c = calibrate(r, params)
    row = next(x for x in c.rows if x.key == "collection_rate")
    assert row.observed == 0 and not row.calibrates and "outside (0, 1]" in row.note
    assert c.apply(params)["collection_rate"] == params["collection_rate"]
    with pytest.raises(ValueError, match="collection_rate must be above 0"):
        finance.tariffs(annual_cost=1.0, lltt_households=np.array([1.0]), one_way_minutes=np.array([1.0]),
                        params=_set(params, collection_rate=0.0))


def test_offsite_share_is_rounded_per_village_not_per_cell(params):
    from gis_service.analysis.scaleup.cells import cells

    # a kelurahan of 10 cells with 2 non-aman households each: 20 x 0.2 = 4 connections
    hh = pd.DataFrame({"id": range(20), "village_code": "62.07.01.1001", "rung": "babs",
                       "has_septic_tank": False, "people": 4, "x": np.repeat(np.arange(10) * 1000.0, 2),
                       "y": 0.0})
    out = cells(hh, {"62.07.01.1001"}, _set(params, offsite_share_urban=0.2), cell_m=500.0).frame
    assert len(out) == 10 and out["offsite"].sum() == 4


def test_calibration_fits_trips_that_follow_travel_time(params):
    minutes = np.array([30.0, 45, 60, 75, 90, 120])
    per_day = 1.0 / (0.1 + 0.004 * minutes)  # truck-days per trip grow with the drive
    c = calibrate(_records(list(per_day * 20), list(minutes)), params)
    assert c.trip_model.fitted
    assert c.trip_model.intercept == pytest.approx(0.1) and c.trip_model.slope == pytest.approx(0.004)
    assert c.trip_model.trips_per_day(60.0) == pytest.approx(min(params["max_trips_per_truck_day"]["value"],
                                                                 1 / 0.34))


def test_no_pilot_records_keeps_the_defaults(params):
    c = calibrate(_records([], []).iloc[:0], params)
    assert c.rows == [] and c.apply(params) == params


def test_priority_scores_and_phases_by_hand(params):
    villages = pd.DataFrame({"gap": [100.0, 50.0, 0.0], "risk_class": [np.nan] * 3,
                             "cost_per_person_idr": [1000.0, 500.0, np.nan], "reachable_share": [0.2, 1.0, 0.0]})
    score, weights, notes = phasing.scores(villages, params)
    assert set(weights) == {"gap", "cost", "reach"} and notes == ["no_risk"]
    w = {k: v / 0.8 for k, v in {"gap": 0.4, "cost": 0.2, "reach": 0.2}.items()}
    assert score[0] == pytest.approx(w["gap"] * 1 + w["cost"] * 0 + w["reach"] * 0.2)
    assert score[1] == pytest.approx(w["gap"] * 0.5 + w["cost"] * 0.5 + w["reach"] * 1)
    assert phasing.ranks(score, villages["gap"].to_numpy()).tolist() == [2, 1, 3]
    # three new facilities: the most worth per rupiah goes first; short term until 40% of the gain
    phase = phasing.facility_phases(np.array([100.0, 100.0, 100.0]), np.array([10.0, 90.0, 50.0]),
                                    np.array([1.0, 1.0, 1.0]), params)
    assert phase.tolist() == [2, 1, 1]
    assert phasing.village_phases(np.array([0.0, 2.0, np.inf])).tolist() == [1, 2, 3]


def test_scenario_files_are_validated(tmp_path):
    assert [s.name for s in read_scenarios(ROOT / "config" / "scenarios" / "demo.yml")][0] == "Pilot only (demo)"
    bad = tmp_path / "s.yml"
    bad.write_text("scenarios:\n  - name: A\n    plan: {siting: [{type: iplt, max_neww: 1}]}\n")
    with pytest.raises(ValueError, match=r"scenario 'A'.*max_neww"):
        read_scenarios(bad)
    bad.write_text("scenarios:\n  - name: A\n    plan: {siting: [{type: iplt}]}\n")
    with pytest.raises(ValueError, match="max_new, budget_idr or both"):
        read_scenarios(bad)
    bad.write_text("scenarios:\n  - {name: A}\n  - {name: A}\n")
    with pytest.raises(ValueError, match="repeat"):
        read_scenarios(bad)


def _candidate_inputs():
    import geopandas as gpd
    import shapely

    region = shapely.box(0, 0, 10_000, 10_000)
    settlements = gpd.GeoDataFrame({"label": ["A"], "village_code": ["62.07.01.2001"]},
                                   geometry=[shapely.box(4_000, 4_000, 5_000, 5_000)], crs="EPSG:32749")
    stored = pd.DataFrame(columns=["id", "name", "type", "x", "y", "capacity", "capacity_unit", "village_code"])
    return region, settlements, stored


def test_iplt_grid_candidates_keep_two_km_from_settlements_and_leave_excluded_areas(params, tmp_path):
    import geopandas as gpd
    import shapely

    from gis_service.analysis.scaleup.candidates import candidates
    from gis_service.analysis.scaleup.spec import SitingStep

    region, settlements, stored = _candidate_inputs()
    step = SitingStep(type="iplt", max_new=1, candidates=["grid", "settlements"], grid_m=1000)
    out, removed = candidates(step, region=region, stored=stored, settlements=settlements, params=params,
                              metric_crs="EPSG:32749")
    assert len(out) and removed["closer to a settlement than the minimum distance"] > 0
    distance = shapely.distance(shapely.points(out[["x", "y"]].to_numpy()), settlements.geometry.iat[0])
    assert (distance >= 2000).all() and "settlement" not in set(out["origin"])
    flood = tmp_path / "banjir.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 10_000, 2_000)], crs="EPSG:32749").to_crs(4326).to_file(flood)
    wet, removed = candidates(step.model_copy(update={"exclude_file": flood}), region=region, stored=stored,
                              settlements=settlements, params=params, metric_crs="EPSG:32749")
    assert len(wet) < len(out) and (wet["y"] > 2_000).all() and any("banjir" in k for k in removed)
    table = tmp_path / "table.csv"
    table.write_text("x,y\n1,1\n")
    no_crs = tmp_path / "no_crs.shp"
    gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]).to_file(no_crs)  # no .prj
    for path, message in ((table, "no geometry"), (no_crs, "no CRS")):
        with pytest.raises(ValueError, match=message):
            candidates(step.model_copy(update={"exclude_file": path}), region=region, stored=stored,
                       settlements=settlements, params=params, metric_crs="EPSG:32749")


def test_user_candidates_must_be_points(params, tmp_path):
    import geopandas as gpd
    import shapely

    from gis_service.analysis.scaleup.candidates import candidates
    from gis_service.analysis.scaleup.spec import SitingStep

    region, settlements, stored = _candidate_inputs()
    good = tmp_path / "calon.geojson"
    gpd.GeoDataFrame({"name": ["Depo A"]}, geometry=[shapely.Point(1_000, 9_000)], crs="EPSG:32749").to_file(good)
    step = SitingStep(type="desludging_depot", max_new=1, candidates=[], candidate_file=good)
    out, _ = candidates(step, region=region, stored=stored, settlements=settlements, params=params,
                        metric_crs="EPSG:32749")
    assert out["name"].tolist() == ["Depo A"] and out["x"].iat[0] == pytest.approx(1_000)
    bad = tmp_path / "garis.geojson"
    gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])], crs="EPSG:32749").to_file(bad)
    with pytest.raises(ValueError, match="row 1 is not a point"):
        candidates(step.model_copy(update={"candidate_file": bad}), region=region, stored=stored,
                   settlements=settlements, params=params, metric_crs="EPSG:32749")


def test_depot_sludge_goes_to_the_nearest_plant_with_room():
    from gis_service.analysis.scaleup.treatment import _transport

    # depots at x = 0 km and x = 10 km; plants at x = 1 km (room 5) and x = 12 km (room 20)
    supply_xy = np.array([[0.0, 0.0], [10_000.0, 0.0]])
    plant_xy = np.array([[1_000.0, 0.0], [12_000.0, 0.0]])
    got = _transport(np.array([8.0, 4.0]), supply_xy, plant_xy, np.array([5.0, 20.0]))
    # the first depot fills the near plant (5) and sends 3 on; the second goes to the far plant
    assert got == pytest.approx([5.0, 7.0], abs=1e-4)  # within the solver slack
    # an unlimited plant (no capacity recorded) takes whatever is nearest to it
    assert _transport(np.array([8.0, 4.0]), supply_xy, plant_xy, np.array([np.inf, 0.0])) == pytest.approx([12.0, 0.0], abs=1e-4)
    with pytest.raises(RuntimeError, match="capacity left"):
        _transport(np.array([8.0, 4.0]), supply_xy, plant_xy, np.array([1.0, 1.0]))
