"""Coverage runs on real PostGIS: buffer counts equal ST_DWithin, capacity limits hold, village
sums equal district and regency totals, runs are stored, exported and compared."""

from __future__ import annotations

import pandas as pd
import pyogrio
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gis_service.analysis.coverage import CoverageOptions, run_coverage
from gis_service.analysis.export import diff_runs, export_run
from gis_service.analysis.parameters import capacity_households, load_parameter_values
from gis_service.cli import app
from gis_service.ingest.importer import import_file
from gis_service.settings import get_settings
from tests.helpers import households, write_csv


@pytest.fixture
def small_region(admin_loaded, tmp_path):
    """1,000 households in the west village, 500 in the east; a depot with 1 truck in the west,
    an MCK in the east, an IPAL komunal for 40 households."""
    west = households(1000)
    east = [dict(r, id=f"E{i}", lon=f"{float(r['lon']) + 0.2:.6f}") for i, r in enumerate(households(500))]
    import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", west + east))
    facilities = [
        {"id": "D1", "nama": "Depot", "jenis": "depot", "status": "pilot", "kapasitas": "1",
         "satuan": "truk", "lon": "112.10", "lat": "-2.90"},
        {"id": "M1", "nama": "MCK", "jenis": "mck", "status": "existing", "kapasitas": "50", "satuan": "kk",
         "lon": "112.30", "lat": "-2.90"},
        {"id": "K1", "nama": "IPAL", "jenis": "ipal komunal", "status": "existing", "kapasitas": "40",
         "satuan": "kk", "lon": "112.05", "lat": "-2.90"},
    ]
    import_file(admin_loaded, "facilities", write_csv(tmp_path / "f.csv", facilities))
    return admin_loaded


def _dwithin(engine, facility: str, metres: float) -> int:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM household h JOIN facility f ON f.source_id = :f AND "
            "ST_DWithin(ST_Transform(h.geom, 32749), ST_Transform(f.geom, 32749), :m)"),
            {"f": facility, "m": metres}).scalar()


def test_buffer_without_capacity_equals_st_dwithin(small_region):
    result = run_coverage(small_region, CoverageOptions(method="buffer", distance_m=3000, capacity=False))
    s = result.summary
    assert s["households"] == 1500
    assert s["served_lltt_households"] == _dwithin(small_region, "D1", 3000)
    assert s["served_offsite_households"] == _dwithin(small_region, "K1", 300)  # ipal_komunal_radius_m


def test_capacity_limits_and_conversion(small_region):
    with small_region.connect() as conn:
        params = load_parameter_values(conn, parameter_set_id=None, config_dir=get_settings().config_dir)
    truck = capacity_households(1, "trucks", params)
    # 1 truck x 2.5 trips x 3 m3 x 260 days x 3 years / 2.5 m3 = 2,340 households (docs/domain.md §5)
    assert truck == pytest.approx(2340)
    result = run_coverage(small_region, CoverageOptions(method="buffer", distance_m=50_000))
    with small_region.connect() as conn:
        served = dict(conn.execute(text(
            "SELECT f.source_id, c.served_households FROM coverage_facility c JOIN facility f "
            "ON f.id = c.facility_id WHERE c.run_id = :r"), {"r": result.run_id}).all())
    assert served["K1"] <= 40 and served["M1"] <= 50
    assert served["D1"] == min(1500, 2340)


def test_village_sums_equal_district_and_regency(small_region):
    result = run_coverage(small_region, CoverageOptions(method="buffer", distance_m=8000))
    areas = result.areas
    for service in areas.service.unique():
        rows = areas[areas.service == service]
        village = rows[rows.level == "village"][["households", "people", "served_households"]].sum()
        district = rows[rows.level == "district"][["households", "people", "served_households"]].sum()
        regency = rows[rows.level == "regency"][["households", "people", "served_households"]].sum()
        assert (village == district).all() and (district == regency).all()
    ladder = areas[(areas.level == "village") & (areas.service == "all")]["ladder"]
    assert sum(sum(d.values()) for d in ladder) == 1500


def test_projection_rules_are_explicit(small_region):
    result = run_coverage(small_region, CoverageOptions(method="buffer", distance_m=50_000, capacity=False))
    now, later = result.summary["ladder"], result.summary["ladder_projected"]
    # every layak_sendiri household with a tank is within reach of the depot -> aman
    assert later["layak_sendiri"] == 0
    assert later["aman"] >= now["aman"] + now["layak_sendiri"]
    assert later["babs"] <= now["babs"]


def test_runs_are_stored_exported_and_compared(small_region, tmp_path):
    a = run_coverage(small_region, CoverageOptions(method="buffer", distance_m=2000))
    b = run_coverage(small_region, CoverageOptions(method="buffer", distance_m=8000))
    with small_region.connect() as conn:
        run = conn.execute(text("SELECT method, distance_m, parameters -> 'truck_volume' ->> 'source', "
                                "seconds FROM coverage_run WHERE id = :r"), {"r": b.run_id}).one()
        assert run[0] == "buffer" and run[1] == 8000 and "truck" in run[2] and "write" in run[3]
        csv = export_run(conn, b.run_id, tmp_path / "v.csv")
        gpkg = export_run(conn, b.run_id, tmp_path / "v.gpkg")
        diff = diff_runs(conn, a.run_id, b.run_id)
    table = pd.read_csv(csv, dtype={"code": str})
    assert sorted(table.code) == ["62.07.01.2001", "62.07.01.2002"]
    assert (table.lltt_served_households + table.lltt_unserved_households == table.households).all()
    assert set(pyogrio.list_layers(gpkg)[:, 0]) == {"coverage_village", "coverage_facility",
                                                   "coverage_service_area"}
    assert (diff.any_served_households_change >= 0).all() and diff.any_served_households_change.sum() > 0


def test_cli_coverage_run_and_diff(small_region, tmp_path):
    runner = CliRunner()
    first = runner.invoke(app, ["coverage", "run", "--method", "buffer", "--distance", "2000",
                                "--export", str(tmp_path / "a.csv")])
    assert first.exit_code == 0, first.output
    assert "regency summary" in first.stdout and "Gap to targets" not in first.stdout  # no targets loaded
    second = runner.invoke(app, ["coverage", "run", "--method", "buffer", "--distance", "9000"])
    assert second.exit_code == 0
    diff = runner.invoke(app, ["coverage", "diff", "1", "2"])
    assert diff.exit_code == 0 and "villages change" in diff.stdout
    bad = runner.invoke(app, ["coverage", "run", "--scenario", "nope"])
    assert bad.exit_code == 1 and "unknown scenario 'nope'" in bad.output


def test_service_areas_are_stored_and_contain_the_served(small_region):
    result = run_coverage(small_region, CoverageOptions(method="buffer", distance_m=3000, capacity=False))
    with small_region.connect() as conn:
        rows = conn.execute(text(
            "SELECT f.source_id, a.unit, a.threshold, ST_IsValid(a.geom), "
            "(SELECT count(*) FROM household h WHERE ST_Intersects(a.geom, h.geom)) "
            "FROM coverage_service_area a JOIN facility f ON f.id = a.facility_id WHERE a.run_id = :r "
            "ORDER BY 1"), {"r": result.run_id}).all()
    by_id = {r[0]: r for r in rows}
    assert by_id["D1"][1:4] == ("m", 3000.0, True)
    # the drawn disc holds the households counted within 3 km (a 16-segment disc: within 1%)
    assert by_id["D1"][4] == pytest.approx(result.summary["served_lltt_households"], rel=0.01)
    assert by_id["K1"][2] == 300.0


def test_deleting_a_run_deletes_its_results(small_region):
    result = run_coverage(small_region, CoverageOptions(method="buffer", distance_m=2000))
    with small_region.begin() as conn:
        conn.execute(text("DELETE FROM coverage_run WHERE id = :r"), {"r": result.run_id})
        left = [conn.execute(text(f"SELECT count(*) FROM {t} WHERE run_id = :r"), {"r": result.run_id}).scalar()
                for t in ("coverage_household", "coverage_area", "coverage_facility", "coverage_gap",
                          "coverage_service_area")]
    assert left == [0, 0, 0, 0, 0]


def test_a_household_without_septic_tank_does_not_become_aman(admin_loaded, tmp_path):
    rows = [{"id": "T1", "lon": "112.05", "lat": "-2.9", "akses_sanitasi": "layak sendiri", "tangki_septik": "ya"},
            {"id": "T2", "lon": "112.05", "lat": "-2.9", "akses_sanitasi": "layak sendiri",
             "tangki_septik": "tidak"}]
    import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", rows))
    depot = [{"id": "D", "nama": "Depot", "jenis": "depot", "lon": "112.05", "lat": "-2.9"}]
    import_file(admin_loaded, "facilities", write_csv(tmp_path / "f.csv", depot))
    result = run_coverage(admin_loaded, CoverageOptions(method="buffer", distance_m=1000, capacity=False))
    assert result.summary["served_lltt_households"] == 2
    assert result.summary["ladder_projected"]["aman"] == 1
    assert result.summary["ladder_projected"]["layak_sendiri"] == 1
