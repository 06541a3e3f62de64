"""What a run changed and which facilities serve nobody, with the reason, on a real PostGIS: the
reasons are checked against facilities placed to have each one, the gain against PostGIS's own
count; the CLI prints the same warning; the village table for Excel rounds half up like the map."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pandas as pd
from sqlalchemy import text
from typer.testing import CliRunner

from gis_service.analysis.coverage import CoverageOptions, run_coverage
from gis_service.analysis.results import village_csv, village_rows
from gis_service.analysis.rounding import half_up, number_text
from gis_service.analysis.run_changes import run_changes
from gis_service.cli import app as cli
from gis_service.settings import get_settings
from tests.helpers import write_csv

ROOT = Path(__file__).resolve().parents[1]
FACILITIES = [  # D1, the pilot depot at (112.10, -2.90), is already there
    {"id": "EAST", "nama": "Depo timur", "jenis": "depot", "status": "existing", "lon": "112.15", "lat": "-2.899",
     "kapasitas": "", "satuan_kapasitas": ""},
    {"id": "TWIN", "nama": "Depo kembar", "jenis": "depot", "status": "existing", "lon": "112.10", "lat": "-2.90",
     "kapasitas": "", "satuan_kapasitas": ""},
    {"id": "FAR", "nama": "Depo jauh", "jenis": "depot", "status": "existing", "lon": "112.35", "lat": "-2.70",
     "kapasitas": "", "satuan_kapasitas": ""},
    {"id": "ZERO", "nama": "Depo nol", "jenis": "depot", "status": "existing", "lon": "112.12", "lat": "-2.899",
     "kapasitas": "0", "satuan_kapasitas": "households"},
    {"id": "MCKF", "nama": "MCK jauh", "jenis": "mck", "status": "existing", "lon": "112.30", "lat": "-2.70",
     "kapasitas": "", "satuan_kapasitas": ""},
    {"id": "OUT", "nama": "Depo luar", "jenis": "depot", "status": "existing", "lon": "112.45", "lat": "-2.80",
     "kapasitas": "", "satuan_kapasitas": ""},
]


def _changes(engine, run_id, against=None):
    with engine.connect() as conn:
        return run_changes(conn, run_id, against, metric_crs=get_settings().region_config().metric_crs,
                           max_snap_m=500.0)


def _ids(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT source_id, id FROM facility")).all())


def test_a_run_says_what_it_changed_and_why_a_facility_serves_nobody(published_region, tmp_path):
    from gis_service.ingest.importer import import_file

    engine = published_region
    with engine.connect() as conn:
        base = conn.execute(text("SELECT max(id) FROM coverage_run")).scalar()
    import_file(engine, "facilities", write_csv(tmp_path / "more.csv", FACILITIES))
    ids = _ids(engine)
    run = run_coverage(engine, CoverageOptions(method="buffer", distance_m=3000)).run_id

    changes = _changes(engine, run)
    assert changes["against"] == base  # the last earlier run of the same scenario
    srid = int(get_settings().region_config().metric_crs.split(":")[1])
    with engine.connect() as conn:  # what the east depot adds, counted by PostGIS
        gain = conn.execute(text(
            "SELECT count(*) FROM household h, facility e, facility p WHERE e.source_id = 'EAST' "
            "AND p.source_id = 'D1' AND ST_DWithin(ST_Transform(h.geom, :s), ST_Transform(e.geom, :s), 3000) "
            "AND NOT ST_DWithin(ST_Transform(h.geom, :s), ST_Transform(p.geom, :s), 3000)"), {"s": srid}).scalar()
    assert gain > 0
    assert changes["served_households_after"] - changes["served_households_before"] == gain
    assert (changes["villages_gained"], changes["households_gained"], changes["villages_lost"]) == (1, gain, 0)
    assert changes["villages"] == [{"code": "62.07.01.2001", "name": "Desa Barat", "households": 300,
                                    "served_before": changes["served_households_before"],
                                    "served_after": changes["served_households_after"], "difference": gain}]
    assert changes["facilities_added"] == sorted(ids[k] for k in ("EAST", "TWIN", "FAR", "ZERO", "MCKF", "OUT"))
    assert changes["facilities_removed"] == []

    reasons = {f["id"]: f["reason"] for f in changes["idle_facilities"]}
    twins = {ids["D1"], ids["TWIN"]}  # at one place, without capacity: one of the two serves them all
    assert len(twins & set(reasons)) == 1 and reasons[(twins & set(reasons)).pop()] == "served_by_others"
    assert {k: reasons[ids[k]] for k in ("FAR", "ZERO", "OUT")} == {
        "FAR": "nobody_in_reach", "ZERO": "capacity_zero", "OUT": "outside_region"}
    far = next(f for f in changes["idle_facilities"] if f["id"] == ids["FAR"])
    assert far["reach"] == "3000 m" and far["households_in_reach"] == 0
    toilet = next(f for f in changes["idle_facilities"] if f["id"] == ids["MCKF"])  # a walk, not the depot's radius
    assert (toilet["reason"], toilet["reach"]) == ("nobody_in_reach", "10 min")

    # compared the other way round, the gain is a loss
    back = _changes(engine, base, run)
    assert (back["villages_lost"], back["households_lost"], back["villages_gained"]) == (1, gain, 0)


def test_a_facility_off_the_road_network_or_left_out_of_the_scenario_is_named(published_region, tmp_path):
    from gis_service.ingest.importer import import_file

    engine = published_region
    import_file(engine, "facilities", write_csv(tmp_path / "far.csv", [FACILITIES[2]]))
    with engine.begin() as conn:  # a road along the households, a node every ~220 m
        conn.execute(text(
            "INSERT INTO network_edge (source, source_id, mode, class, geom) "
            "SELECT (SELECT source FROM facility LIMIT 1), 'road-' || i, 'road', 'residential', "
            "ST_SetSRID(ST_MakeLine(ST_MakePoint(112.04 + i * 0.002, -2.9), ST_MakePoint(112.042 + i * 0.002, -2.9)), 4326) "
            "FROM generate_series(0, 60) i"))
        # a facility saved through the map after this run, in no scenario (as the planning API logs it),
    # its name with what rich would read as markup: printed as it is
        new = conn.execute(text(
            "INSERT INTO facility (source, source_id, name, type, status, geom) SELECT source, 'MAP', 'Depo [/dari] peta', "
            "'desludging_depot', 'planned', ST_SetSRID(ST_MakePoint(112.13, -2.899), 4326) FROM facility LIMIT 1 "
            "RETURNING id")).scalar()
        conn.execute(text("INSERT INTO facility_edit (facility_id, user_name, action, after) "
                          "VALUES (:f, 'ed', 'create', '{}'::jsonb)"), {"f": new})
    out = CliRunner().invoke(cli, ["coverage", "run", "--method", "network", "--threshold", "15", "--nearest-k", "0"])
    assert out.exit_code == 0, out.output
    ids = _ids(engine)
    text_ = " ".join(out.output.split())
    assert (f"warning: facility {ids['FAR']} 'Depo jauh' (desludging_depot) serves nobody: no road or river lies "
            "within the joining distance (500 m)") in text_
    assert (f"warning: facility {new} 'Depo [/dari] peta' (desludging_depot) serves nobody: it was saved or changed "
            "since the last run but is not in the scenario 'existing and pilot facilities'") in text_
    assert "against run" in text_


def test_shares_round_half_up_the_same_in_python_and_in_the_web_map():
    values = [0.15, 5.25, 5.147, 74.35, 2.675, 0.05, 99.95, 12.345, -0.25, 0.0]
    assert [half_up(v) for v in values] == [0.2, 5.3, 5.1, 74.4, 2.7, 0.1, 100.0, 12.3, -0.3, 0.0]
    assert number_text(1234.25, 1, lang="id") == "1.234,3" and number_text(None) == "–"
    script = ("import('./web/app/i18n.js').then(m => console.log(JSON.stringify("
              f"{json.dumps(values)}.map(v => m.halfUp(v, 1)))))")
    node = subprocess.run(["node", "--experimental-default-type=module", "-e", script], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    assert json.loads(node.stdout) == [half_up(v) for v in values]


def test_the_village_table_for_excel_has_indonesian_headers_semicolons_and_decimal_commas(published_region):
    with published_region.connect() as conn:
        run = conn.execute(text("SELECT max(id) FROM coverage_run")).scalar()
        rows = village_rows(conn, run)
    csv = village_csv(rows, lang="id")
    assert csv.startswith("\ufeff")  # Excel reads it as UTF-8
    table = pd.read_csv(io.StringIO(csv.lstrip("\ufeff")), sep=";", decimal=",", dtype={"Kode desa": str})
    west = table.set_index("Kode desa").loc["62.07.01.2001"]
    village = next(r for r in rows if r["code"] == "62.07.01.2001")
    assert west["Rumah tangga"] == 300 and west["RT terlayani"] == village["served_households"]
    assert west["Terlayani (%)"] == half_up(village["coverage_pct"])
    assert west["RT aman sekarang"] == village["ladder"]["aman"]
    assert west["RT terlayani LLTT"] == village["served_by_service"]["lltt"]
    line = csv.splitlines()[0]
    assert line.count(";") == len(table.columns) - 1 and "Layak termasuk aman sekarang (%)" in line
    english = pd.read_csv(io.StringIO(village_csv(rows, lang="en").lstrip("\ufeff")))
    assert {"Village code", "Households served", "Served (%)"} <= set(english.columns)
    assert not [c for c in list(table.columns) + list(english.columns) if "_" in c]  # no code left untranslated
