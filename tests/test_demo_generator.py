"""The illustrative demo regency: deterministic, plausible, internally consistent (no database)."""

from __future__ import annotations

from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from gis_service.demo.generator import DISTRICTS, METRIC_CRS, generate_region, write_files
from gis_service.vocabulary import (
    FacilityStatus, FacilityType, InstitutionType, LadderRung, NetworkMode, values,
)

KINDS = ["admin", "population", "settlements", "households", "facilities", "service_areas", "network",
         "pilots", "pilot_events"]
COLUMNS = {
    "admin": ["code", "name", "level", "village_kind", "urban_rural", "bps_code", "geometry"],
    "population": ["code", "year", "population", "households"],
    "settlements": ["source_id", "name", "village_code", "population", "households", "year",
                    "geometry"],
    "households": ["source_id", "village_code", "ladder_rung", "has_septic_tank", "shared_toilet",
                   "toilet_type", "disposal", "last_desludged", "members", "survey_source", "survey_date", "geometry"],
    "facilities": ["source_id", "name", "type", "status", "capacity", "capacity_unit", "operator",
                   "institution_type", "year", "capex_idr", "opex_idr_per_year", "service_modes",
                   "feeds", "village_code", "geometry"],
    "service_areas": ["source_id", "facility", "name", "geometry"],
    "network": ["source_id", "mode", "class", "name", "speed_kmh", "oneway", "geometry"],
    "pilots": ["pilot", "programme", "operator", "institution_type", "village_codes",
               "period_start", "period_end", "households_served", "emptyings", "sludge_m3",
               "truck_trips", "mean_trip_minutes", "working_days", "trucks", "opex_idr", "revenue_idr",
               "households_paying", "wtp_idr"],
    "pilot_events": ["event_id", "pilot", "date", "status", "reason", "household_id", "village_code", "truck",
                     "pumped_m3", "delivered_m3", "trip_minutes", "fee_billed_idr", "fee_paid_idr", "complaint",
                     "resolved_days"],
}


@pytest.fixture(scope="module")
def region():
    return generate_region()


@pytest.fixture(scope="module")
def metric(region):
    """Spatial frames in the metric CRS, where areas and distances are measured."""
    return {k: f.to_crs(METRIC_CRS) for k, f in region.items() if isinstance(f, gpd.GeoDataFrame)}


def _villages(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame[frame.level == "village"]


def test_frames_in_load_order_with_canonical_columns(region):
    assert list(region) == KINDS
    for kind, frame in region.items():
        assert list(frame.columns) == COLUMNS[kind], kind
        if "geometry" in COLUMNS[kind]:
            assert isinstance(frame, gpd.GeoDataFrame) and frame.crs.to_epsg() == 4326
        else:
            assert not isinstance(frame, gpd.GeoDataFrame)


def test_same_seed_same_frames_other_seed_differs(region):
    again = generate_region()
    for kind in KINDS:
        pd.testing.assert_frame_equal(region[kind], again[kind], obj=kind)
    other = generate_region(seed=1)
    assert not region["admin"].geometry.geom_equals(other["admin"].geometry).iloc[1:].all()
    assert not region["households"].ladder_rung.equals(other["households"].ladder_rung)


def test_counts(region):
    admin = region["admin"]
    assert admin.level.value_counts().to_dict() == {
        "regency": 1, "district": 10, "village": len(_villages(admin))}  # province: from the importer
    assert 95 <= len(_villages(admin)) <= 105
    assert (admin.village_kind == "kelurahan").sum() == 3
    kelurahan = admin[admin.village_kind == "kelurahan"]
    assert kelurahan.code.str.startswith("62.07.01.").all()
    assert (kelurahan.urban_rural == "urban").all()
    assert (_villages(admin).urban_rural == "rural").mean() > 0.9
    assert 40_000 <= len(region["households"]) <= 50_000
    settlements = region["settlements"].village_code.value_counts()
    assert settlements.index.nunique() == len(_villages(admin))
    assert settlements.between(1, 3).all()


def test_real_districts_and_codes(region):
    admin = region["admin"]
    districts = admin[admin.level == "district"].set_index("code")
    for d in DISTRICTS:
        assert districts.loc[d.code, ["name", "bps_code"]].tolist() == [d.name, d.bps_code]
    assert admin.loc[admin.level == "regency", ["code", "bps_code"]].values.tolist() == [
        ["62.07", "6208"]]
    assert districts.loc["62.07.01", "name"] == "Seruyan Hilir"
    assert districts.loc["62.07.06", "bps_code"] == "6208011"


def test_codes_unique_and_hierarchical(region):
    admin = region["admin"]
    assert admin.code.is_unique and admin.bps_code.is_unique
    villages = _villages(admin)
    assert villages.code.str.fullmatch(r"62\.07\.\d{2}\.\d{4}").all()
    assert villages.bps_code.str.fullmatch(r"\d{10}").all()
    assert villages.name.is_unique
    district_bps = admin[admin.level == "district"].set_index("code").bps_code
    parent = villages.code.str[:8]
    assert parent.isin(district_bps.index).all()
    assert (villages.bps_code.str[:7].to_numpy() == district_bps[parent].to_numpy()).all()
    assert ((villages.village_kind == "kelurahan") == villages.code.str[9].eq("1")).all()
    codes = set(villages.code)
    for kind in ("settlements", "households", "facilities"):
        assert set(region[kind].village_code) <= codes, kind
    assert list(region["population"].code) == list(villages.code)
    for kind in ("settlements", "households", "facilities", "network"):
        assert region[kind].source_id.is_unique, kind


def test_geometries_valid_typed_and_in_bbox(region):
    expected = {"admin": "MultiPolygon", "settlements": "Polygon", "households": "Point",
                "facilities": "Point", "network": "LineString"}
    for kind, geom_type in expected.items():
        geoms = region[kind].geometry.dropna()
        assert (geoms.geom_type == geom_type).all(), kind
        assert geoms.is_valid.all(), kind
        xmin, ymin, xmax, ymax = geoms.total_bounds
        assert 111.4 <= xmin and xmax <= 112.9 and -3.6 <= ymin and ymax <= -0.6, kind
    admin = region["admin"]
    assert admin.geometry.notna().all()  # every area has its outline (the province is not generated)


def test_regency_area_and_tiling(metric):
    admin = metric["admin"].set_index("code")
    area = admin.area / 1e6
    assert 12_000 <= area["62.07"] <= 18_000
    districts = admin[admin.level == "district"]
    assert area[districts.index].sum() == pytest.approx(area["62.07"], rel=0.005)
    villages = admin[admin.level == "village"]
    by_district = area[villages.index].groupby(villages.index.str[:8]).sum()
    assert np.allclose(by_district[districts.index], area[districts.index], rtol=0.005)
    for frame in (districts, villages):
        geoms = frame.geometry.to_numpy()
        left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        pairs = left < right
        overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
        assert overlap.max(initial=0.0) < 0.01e6


def test_households_inside_their_village(region):
    villages = _villages(region["admin"]).set_index("code").geometry
    hh = region["households"]
    polygons = villages[hh.village_code].to_numpy()
    shapely.prepare(polygons)
    assert shapely.contains(polygons, hh.geometry.to_numpy()).all()
    settlements = region["settlements"]
    own = villages[settlements.village_code].to_numpy()
    assert shapely.contains(own, settlements.geometry.to_numpy()).all()


def test_population_consistent_with_households(region):
    hh = region["households"]
    pop = region["population"].set_index("code")
    assert (pop.year == 2024).all()
    grouped = hh.groupby("village_code").agg(households=("members", "size"),
                                             population=("members", "sum"))
    grouped = grouped.reindex(pop.index, fill_value=0)
    assert (grouped == pop[["households", "population"]]).all().all()
    assert 150_000 <= pop.population.sum() <= 166_000
    assert 3.6 <= pop.population.sum() / pop.households.sum() <= 4.2
    assert hh.members.between(1, 9).all() and 3.6 <= hh.members.mean() <= 4.2
    settlements = region["settlements"]
    assert settlements.households.sum() == len(hh)
    assert settlements.population.sum() == hh.members.sum()


def test_ladder_mix_and_consistency(region):
    hh = region["households"]
    assert set(hh.ladder_rung) <= set(values(LadderRung))
    share = hh.ladder_rung.value_counts(normalize=True)
    assert 0.70 <= share[["aman", "layak_sendiri", "layak_bersama"]].sum() <= 0.80
    assert 0.03 <= share["aman"] <= 0.08
    assert 0.05 <= share["babs"] <= 0.12
    aman = hh[hh.ladder_rung == "aman"]
    assert aman.has_septic_tank.all()
    age = [(s - d).days for s, d in zip(aman.survey_date, aman.last_desludged, strict=True)]
    assert 0 < min(age) and max(age) < 5 * 365
    assert not hh.loc[hh.ladder_rung == "babs", "has_septic_tank"].any()
    assert hh.loc[hh.ladder_rung == "layak_bersama", "shared_toilet"].all()
    emptied = hh.last_desludged.dropna()
    assert all(isinstance(d, date) for d in emptied.iloc[:100])
    recent = hh.loc[emptied.index]
    recent = recent[[(s - d) < timedelta(days=5 * 365)
                     for s, d in zip(recent.survey_date, recent.last_desludged, strict=True)]]
    assert (recent.ladder_rung == "aman").all()  # emptied within 5 years => counted safely managed
    assert all(d.year == 2024 for d in hh.survey_date.iloc[::97])
    assert (hh.survey_source == "demo (illustrative)").all()
    urban = _villages(region["admin"]).query("urban_rural == 'urban'").code
    layak = hh.ladder_rung.isin(["aman", "layak_sendiri", "layak_bersama"])
    assert layak[hh.village_code.isin(urban)].mean() > layak[~hh.village_code.isin(urban)].mean()


def test_facilities(region, metric):
    fac = region["facilities"]
    assert set(fac["type"]) <= set(values(FacilityType))  # .type is the geometry type
    assert set(fac.status) <= set(values(FacilityStatus))
    assert set(fac.institution_type) <= set(values(InstitutionType))
    assert fac.name.str.contains("ilustrasi").all()
    assert fac.capex_idr.isna().all() and fac.opex_idr_per_year.isna().all()
    assert all(set(m) <= set(values(NetworkMode)) and m for m in fac.service_modes)
    kinds = fac.groupby(["type", "status"]).size()
    assert kinds[("iplt", "pilot")] == 1 and kinds[("desludging_depot", "pilot")] == 1
    assert kinds[("mck", "existing")] >= 2 and kinds[("ipal_komunal", "existing")] == 1
    assert 4 <= kinds.xs("candidate", level="status").sum() <= 6
    transfer = fac[fac["type"] == "transfer_station"]
    assert transfer.service_modes.tolist() == [["river"]]
    ipal = fac[fac["type"] == "ipal_komunal"]
    assert ipal.capacity.between(50, 100).all() and (ipal.capacity_unit == "households").all()

    iplt = metric["facilities"].loc[fac.name == "IPLT Kuala Pembuang (ilustrasi)"].geometry
    assert len(iplt) == 1
    settlements = metric["settlements"].geometry
    assert settlements.distance(iplt.iloc[0]).min() >= 2_000.0
    roads = metric["network"].loc[region["network"]["mode"] == "road"].geometry
    assert roads.distance(iplt.iloc[0]).min() < 50.0  # its access track starts there


def test_network_connected(region):
    net = region["network"]
    assert set(net["mode"]) == {"road", "river", "path"}
    assert net.speed_kmh.isna().all() and not net.oneway.any()
    assert (net.loc[net["mode"] == "river", "class"] == "river").all()
    assert (net.loc[net["mode"] == "path", "class"] == "footway").all()
    assert {"primary", "secondary", "track"} <= set(net.loc[net["mode"] == "road", "class"])
    coords = shapely.get_coordinates(shapely.get_point(
        np.repeat(net.geometry.to_numpy(), 2), np.tile([0, -1], len(net))))
    _, node = np.unique(np.round(coords, 7), axis=0, return_inverse=True)
    parent = np.arange(node.max() + 1)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in node.reshape(-1, 2):
        parent[find(a)] = find(b)
    assert len({find(i) for i in range(len(parent))}) == 1
    # roads reach only part of the villages; the rest walk to a landing or a road
    villages = _villages(region["admin"])
    road_lines = shapely.union_all(net.loc[net["mode"] == "road"].geometry.to_numpy())
    reached = villages.geometry.intersects(road_lines).mean()
    assert 0.2 <= reached <= 0.8


def test_pilots(region):
    pilots = region["pilots"]
    assert len(pilots) == 12 and pilots.pilot.nunique() == 1
    assert pilots.period_start.tolist() == [date(2024, m, 1) for m in range(1, 13)]
    assert all(e >= s for s, e in zip(pilots.period_start, pilots.period_end, strict=True))
    assert pilots.emptyings.between(25, 45).all()
    assert (pilots.sludge_m3 / pilots.emptyings).between(2.5, 3.0).all()
    assert pilots.mean_trip_minutes.between(40, 90).all()
    assert pilots.working_days.between(20, 24).all()
    assert (pilots.revenue_idr == pilots.households_paying * 150_000).all()
    assert pilots.wtp_idr.between(100_000, 200_000).all()
    kelurahan = set(region["admin"].query("village_kind == 'kelurahan'").code)
    assert all(2 <= len(v) <= 4 and set(v) <= kelurahan for v in pilots.village_codes)


def test_the_pilot_log_agrees_with_the_records_and_has_a_logbook_s_gaps(region):
    from gis_service.analysis.pilot_evaluation import LOGGED, records_with_log

    events = region["pilot_events"].rename(columns={"date": "event_date"})
    events["status"] = events["status"].map({"selesai": "done", "batal": "cancelled", "gagal": "failed"})
    records = region["pilots"]
    merged = records_with_log(records.drop(columns="pilot"), events, start=None, end=None)
    assert (merged[LOGGED].astype(float) == records[LOGGED].astype(float)).all().all()  # the same calibration
    months = pd.to_datetime(events["event_date"]).dt.month
    assert sorted(months.unique()) == list(range(1, 11))  # November and December not logged yet
    done = events[events["status"] == "done"]
    assert 0.85 < done["delivered_m3"].astype(float).fillna(0).sum() / done["pumped_m3"].sum() < 0.97
    assert done["trip_minutes"].isna().any() and (done["trip_minutes"].dropna() > 0).all()
    assert {"cancelled", "failed"} <= set(events["status"]) and done["complaint"].any()
    may = done[(months[done.index] == 5) & pd.to_datetime(done["event_date"]).dt.day.between(6, 19)]
    assert set(may["truck"]) == {"KH 8451 AB"}  # the second truck in the workshop
    villages = set(records["village_codes"].iat[0])
    assert set(events["village_code"]) <= villages and events["event_id"].is_unique


def test_scale_multiplies_households(region):
    big = generate_region(scale=3)
    assert len(big["households"]) == pytest.approx(3 * len(region["households"]), rel=0.01)
    assert big["households"].source_id.is_unique
    pd.testing.assert_frame_equal(big["admin"], region["admin"])
    with pytest.raises(ValueError):
        generate_region(scale=0)


def test_write_files(region, tmp_path):
    paths = write_files(region, tmp_path)
    assert list(paths) == KINDS
    for kind, path in paths.items():
        if isinstance(region[kind], gpd.GeoDataFrame):
            assert path.suffix == ".gpkg"
            assert pyogrio.read_info(path)["features"] == len(region[kind])
        else:
            assert path.suffix == ".csv"
    fac = pyogrio.read_dataframe(paths["facilities"])
    assert "river" in fac.service_modes.tolist()
    pilots = pd.read_csv(paths["pilots"], encoding="utf-8")
    assert pilots.period_start.iloc[0] == "2024-01-01"
    codes = region["pilots"].village_codes.iloc[0]
    assert pilots.village_codes.iloc[0] == ";".join(codes)


def test_toilet_facts_give_back_the_surveyed_rung(region):
    """rungs.classify on the generated toilet type and disposal agrees with the generated rung,
    except urban layak households over a pit (the pit rule says belum layak; the survey wins)."""
    from gis_service.analysis.rungs import classify

    hh = region["households"]
    admin = region["admin"].set_index("code")
    frame = pd.DataFrame({"rung": "unknown", "toilet_type": hh.toilet_type, "disposal": hh.disposal,
                          "has_septic_tank": hh.has_septic_tank.astype(object),
                          "shared_toilet": hh.shared_toilet.astype(object), "last_desludged": hh.last_desludged,
                          "urban": admin.loc[hh.village_code, "urban_rural"].eq("urban").to_numpy()})
    derived = classify(frame, as_of=date(2024, 9, 1), aman_years=5)
    agree = derived == hh.ladder_rung.to_numpy(dtype=object)
    assert agree.mean() > 0.97
    assert (derived[hh.ladder_rung.eq("babs").to_numpy()] == "babs").all()
