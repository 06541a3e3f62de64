"""The trial's scorecard from its operation log, on a real PostGIS: a log written with the
operators' Indonesian column names is imported, every indicator equals its value computed by hand
below, each is judged against config/pilot_evaluation.yml, the order of the rows changes nothing,
and bad rows are refused by row with nothing written."""

from __future__ import annotations

import json
from pathlib import Path
import shutil

import pandas as pd
import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from gis_service.analysis.pilot_evaluation import ALL, evaluate, indicators
from gis_service.cli import app as cli
from gis_service.ingest.report import ImportRejected
from gis_service.settings import get_settings
from tests.helpers import page_fits, write_csv

WEST = "62.07.01.2001"
PILOT = [{"pilot": "Uji LLTT", "operator": "UPTD PAL", "institution_type": "uptd", "village_codes": WEST,
          "period_start": "2026-01-01", "period_end": "2026-03-31", "emptyings": "5", "opex_idr": "1000000",
          "wtp_idr": "150000", "households_served": "4"}]
IPLT = [{"id": "IPLT1", "nama": "IPLT uji", "jenis": "iplt", "status": "pilot", "lon": "112.1", "lat": "-2.9",
         "kapasitas": "5 m3/hari"}]
HEAD = ["event_id", "nama_pilot", "tanggal", "status", "id_pelanggan", "kode_desa", "no_polisi", "volume_sedot_m3",
        "volume_diterima_iplt_m3", "waktu_tempuh_menit", "tarif", "dibayar", "keluhan", "hari_penyelesaian"]
LOG = [  # what each row adds is worked out in EXPECTED
    ["E1", "Uji LLTT", "2026-01-05", "selesai", "H1", WEST, "KH 1", "3.0", "3.0", "90", "200000", "200000", "tidak", ""],
    ["E2", "Uji LLTT", "2026-01-05", "selesai", "H2", WEST, "KH 1", "2.5", "2.5", "110", "200000", "150000", "ya", "2"],
    ["E3", "Uji LLTT", "2026-01-06", "selesai", "H3", WEST, "KH 2", "3.5", "", "150", "200000", "200000", "tidak", ""],
    ["E4", "Uji LLTT", "2026-01-06", "batal", "H4", WEST, "KH 2", "", "", "", "", "", "", ""],
    ["E5", "Uji LLTT", "2026-02-10", "gagal", "H5", WEST, "KH 1", "", "", "", "", "", "", ""],
    ["E6", "Uji LLTT", "2026-02-11", "selesai", "H1", WEST, "KH 1", "2.0", "1.0", "", "200000", "0", "ya", "6"],
    ["E7", "Uji LLTT", "2026-02-11", "selesai", "H6", WEST, "KH 1", "3.0", "3.0", "100", "", "", "tidak", ""],
]
EXPECTED = {
    "events_total": 7,
    "emptyings_done": 5,                      # E1 E2 E3 E6 E7
    "cancelled_share": 2 / 7,                 # E4 batal, E5 gagal
    "truck_days": 3,                          # (KH 1, 01-05), (KH 2, 01-06), (KH 1, 02-11)
    "emptyings_per_truck_day": 5 / 3,
    "pumped_m3": 14.0,                        # 3 + 2.5 + 3.5 + 2 + 3
    "m3_per_emptying": 2.8,
    "delivered_share": 9.5 / 14,              # E3 blank counts as 0; E6 delivered 1 of 2
    "mean_trip_minutes": 112.5,               # (90 + 110 + 150 + 100) / 4; E6 has none
    "revenue_idr": 550000.0,
    "collection_rate": 550000 / 800000,       # E7 billed nothing
    "complaints_per_100": 40.0,               # E2, E6 of 5 done
    "median_resolve_days": 4.0,               # 2 and 6
    "households_served": 4,                   # H1 (twice) H2 H3 H6
    # where their inputs exist
    "iplt_utilisation": 9.5 / 3 / 5,          # 9.5 m3 received on 3 working days, IPLT of 5 m3/day
    "cost_recovery": 550000 / 1000000,        # revenue / the record's opex
    "fee_vs_wtp": 200000 / 150000,            # mean fee billed / the record's willingness to pay
    # against the trial's plan (TARGET)
    "households_vs_target": 4 / 5,
    "emptyings_vs_target": 5 / (90 / (365.25 / 12)) / 2,  # 5 in 90 days, 2 a month planned
    "budget_use": 1000000 / 800000,           # the record's opex / the budget (the whole period)
}
TARGET = {"households": 5, "emptyings_per_month": 2, "budget_idr": 800000, "source": "test"}
STATUS = {"cancelled_share": "poor", "emptyings_per_truck_day": "watch", "delivered_share": "poor",
          "mean_trip_minutes": "good", "collection_rate": "poor", "complaints_per_100": "poor",
          "median_resolve_days": "watch", "events_total": "info", "iplt_utilisation": "good",
          "cost_recovery": "poor", "fee_vs_wtp": "watch", "households_vs_target": "watch",
          "emptyings_vs_target": "watch", "budget_use": "poor"}


@pytest.fixture
def logged(admin_loaded, tmp_path):
    from gis_service.ingest.importer import import_file

    import_file(admin_loaded, "pilots", write_csv(tmp_path / "pilots.csv", PILOT))
    import_file(admin_loaded, "facilities", write_csv(tmp_path / "iplt.csv", IPLT))
    import_file(admin_loaded, "pilot_events", write_csv(tmp_path / "log.csv", [dict(zip(HEAD, r)) for r in LOG]))
    return admin_loaded


@pytest.fixture
def config_dir(tmp_path):
    """The shipped config with the test pilot's plan added."""
    folder = tmp_path / "config"
    shutil.copytree(get_settings().config_dir, folder)
    rules = yaml.safe_load((folder / "pilot_evaluation.yml").read_text(encoding="utf-8"))
    rules["targets"] = {"Uji LLTT": TARGET}
    (folder / "pilot_evaluation.yml").write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    return folder


def test_every_indicator_equals_its_hand_computed_value(logged, config_dir):
    with logged.connect() as conn:
        card = evaluate(conn, config_dir=config_dir, by="month")
    assert card["pilot"] == "Uji LLTT" and card["period"] == ["2026-01-01", "2026-03-31"]
    assert set(card["indicators"]) == set(ALL) == set(EXPECTED) and card["target"] == TARGET
    for name, value in EXPECTED.items():
        assert card["indicators"][name] == pytest.approx(value), name
    assert {k: card["status"][k] for k in STATUS} == STATUS
    delivered = next(r for r in card["scorecard"] if r["id"] == "delivered_share")
    assert "pembuangan liar" in delivered["recommendation"]["id"] and "GPS" in delivered["recommendation"]["en"]
    assert next(r for r in card["scorecard"] if r["id"] == "mean_trip_minutes")["recommendation"] is None
    months = {g["month"]: g["indicators"] for g in card["by"]}
    assert (months["2026-01"]["events_total"], months["2026-01"]["emptyings_done"]) == (4, 3)
    assert months["2026-02"]["delivered_share"] == pytest.approx(4 / 5)
    assert card["checklist_complete"] == 0 and len(card["checklist"]) == 8  # shipped as "none": the district fills it
    # a shorter period: January only
    with logged.connect() as conn:
        january = evaluate(conn, config_dir=get_settings().config_dir, start=pd.Timestamp("2026-01-01").date(),
                           end=pd.Timestamp("2026-01-31").date())
    assert january["indicators"]["events_total"] == 4 and january["indicators"]["pumped_m3"] == 9.0


def test_the_order_of_the_rows_changes_nothing(logged):
    with logged.connect() as conn:
        events = pd.read_sql(text("SELECT * FROM pilot_event"), conn)
    once = indicators(events)
    for seed in range(5):
        assert indicators(events.sample(frac=1, random_state=seed)) == once


def test_the_cli_prints_the_scorecard_json_and_a_report(logged, tmp_path):
    out = CliRunner().invoke(cli, ["pilot", "evaluate", "--json"])
    assert out.exit_code == 0, out.output
    card = json.loads(out.stdout)
    assert card["indicators"]["emptyings_done"] == 5 and card["period"] == ["2026-01-01", "2026-03-31"]
    report = tmp_path / "uji_coba.html"
    written = CliRunner().invoke(cli, ["pilot", "evaluate", "--report", str(report)])
    assert written.exit_code == 0, written.output
    html = report.read_text(encoding="utf-8")
    assert "Hasil uji coba" in html and all(i in html for i in card["indicators"]) and "pembuangan liar" in html
    assert page_fits(report) == (1280, 680)  # a 1,280 px window and an A4 page
    table = CliRunner().invoke(cli, ["pilot", "evaluate", "--lang", "en", "--by", "truck"])
    assert table.exit_code == 0, table.output
    text_ = " ".join(table.output.split())
    assert "delivered_share (poor): Not all the sludge pumped reaches the IPLT" in text_
    assert "truck KH 1:" in text_ and "ILLUSTRATIVE" in text_
    assert CliRunner().invoke(cli, ["pilot", "evaluate", "--pilot", "Tidak ada"]).exit_code == 2


def test_bad_rows_are_refused_by_row_and_nothing_is_written(logged, tmp_path):
    from gis_service.ingest.importer import import_file

    bad = [
        ["B1", "Uji LLTT", "2026-01-07", "selesai", "H7", WEST, "KH 1", "2.0", "2.5", "", "", "", "", ""],
        ["B2", "Uji LLTT", "2026-01-07", "selesai", "H8", WEST, "KH 1", "2.0", "", "", "200000", "-5", "", ""],
        ["B3", "Uji LLTT", "2025-12-30", "selesai", "H9", WEST, "KH 1", "2.0", "", "", "", "", "", ""],
        ["B4", "Uji LLTT", "2026-01-07", "selesai", "H10", WEST, "KH 1", "", "", "", "", "", "", ""],
        ["B5", "Lain", "2026-01-07", "selesai", "H11", WEST, "KH 1", "2.0", "", "", "", "", "", ""],
        ["B6", "Uji LLTT", "2026-01-07", "batal", "H12", "", "KH 1", "", "", "", "", "", "", ""],
    ]
    with pytest.raises(ImportRejected) as info:
        import_file(logged, "pilot_events", write_csv(tmp_path / "bad.csv", [dict(zip(HEAD, r)) for r in bad]))
    found = {p.record: p.reason for p in info.value.report.rejected}
    assert "more than pumped" in found["B1"]
    assert found["B2"] == "column 'dibayar' value '-5' is negative"  # the file's own column name
    assert "outside the pilot's period 2026-01-01 to 2026-03-31" in found["B3"]
    assert "without pumped_m3" in found["B4"]
    assert "unknown pilot 'Lain'" in found["B5"]
    assert found["B6"] == "no village"
    rows = {p.record: p.row for p in info.value.report.rejected}
    assert rows["B1"] == 1 and rows["B6"] == 6  # the records in the file, first = 1
    with logged.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pilot_event")).scalar() == len(LOG)


def test_calibration_takes_the_log_as_it_takes_the_same_totals_imported(logged, tmp_path):
    """A record whose period the log covers takes the log's totals; importing those totals
    directly instead gives the same calibration, and so does the log in any order. A record the
    log covers only in part stays as imported."""
    from gis_service.analysis.parameters import load_parameter_values
    from gis_service.analysis.pilot_evaluation import records_with_log
    from gis_service.analysis.scaleup.calibration import calibrate, pilot_records
    from gis_service.ingest.importer import import_file

    params = load_parameter_values(None, parameter_set_id=None, config_dir=get_settings().config_dir)
    with logged.connect() as conn:  # the quarter's record: March is not logged, so it stays as imported
        quarter = pilot_records(conn, region_codes=["62.07"], pilot="Uji LLTT")
    assert len(quarter) == 1 and quarter.iloc[0]["emptyings"] == 5 and pd.isna(quarter.iloc[0]["sludge_m3"])

    two_months = [dict(PILOT[0], pilot="Uji Dua", period_end="2026-02-28")]
    import_file(logged, "pilots", write_csv(tmp_path / "two.csv", two_months))
    log = [dict(zip(HEAD, [f"D{r[0]}", "Uji Dua", *r[2:]])) for r in LOG]
    import_file(logged, "pilot_events", write_csv(tmp_path / "two_log.csv", log))
    with logged.connect() as conn:
        from_log = pilot_records(conn, region_codes=["62.07"], pilot="Uji Dua")
        events = pd.read_sql(text("SELECT e.* FROM pilot_event e JOIN pilot p ON p.id = e.pilot_id "
                                  "WHERE p.name = 'Uji Dua'"), conn)
    record = from_log.iloc[0]
    assert len(from_log) == 1 and (record["emptyings"], record["sludge_m3"], record["truck_trips"]) == (5, 14.0, 6)
    assert (record["working_days"], record["trucks"], record["households_paying"]) == (3, 2, 3)
    assert float(record["opex_idr"]) == 1000000  # the imported cost stays
    shuffled = records_with_log(from_log.drop(columns="pilot"), events.sample(frac=1, random_state=7),
                                start=record["period_start"], end=record["period_end"])
    assert shuffled[["emptyings", "sludge_m3", "mean_trip_minutes"]].equals(from_log[["emptyings", "sludge_m3",
                                                                                       "mean_trip_minutes"]])
    logged_calibration = calibrate(from_log, params).as_dict()

    with logged.begin() as conn:
        conn.execute(text("DELETE FROM pilot_event"))
    totals = dict(two_months[0], households_served="4", emptyings="5", sludge_m3="14.0", truck_trips="6",
                  mean_trip_minutes="112.5", working_days="3", trucks="2", revenue_idr="550000",
                  households_paying="3")
    import_file(logged, "pilots", write_csv(tmp_path / "totals.csv", [totals]))
    with logged.connect() as conn:
        imported = pilot_records(conn, region_codes=["62.07"], pilot="Uji Dua")
    assert calibrate(imported, params).as_dict() == logged_calibration


def test_what_the_log_does_not_record_is_no_data_not_zero(logged):
    """A log without trucks, fees, household ids or complaint answers judges nothing it lacks, and
    leaves the records' own values for them."""
    from gis_service.analysis.pilot_evaluation import records_with_log

    with logged.connect() as conn:
        events = pd.read_sql(text("SELECT * FROM pilot_event"), conn)
        records = pd.read_sql(text("SELECT * FROM pilot_record"), conn).assign(
            period_end=pd.Timestamp("2026-02-28").date(), trucks=2, revenue_idr=300000.0)
    bare = events.assign(truck=None, fee_billed_idr=None, fee_paid_idr=None, household_id=None, complaint=None)
    values = indicators(bare)
    for name in ("truck_days", "emptyings_per_truck_day", "revenue_idr", "collection_rate", "complaints_per_100",
                 "households_served"):
        assert values[name] is None, name
    merged = records_with_log(records, bare, start=None, end=None)
    assert (merged.iloc[0]["trucks"], merged.iloc[0]["revenue_idr"], merged.iloc[0]["emptyings"]) == (2, 300000.0, 5)
    # paid without a bill is not collection
    half = events.assign(fee_billed_idr=[100.0, None, None, None, None, None, None],
                         fee_paid_idr=[100.0, 100.0, None, None, None, None, None])
    assert indicators(half)["collection_rate"] == 1.0


def test_a_pilot_without_a_log_is_refused_not_scored(logged, tmp_path):
    from gis_service.analysis.pilot_evaluation import NoLog
    from gis_service.ingest.importer import import_file

    import_file(logged, "pilots", write_csv(tmp_path / "p.csv", [dict(PILOT[0], pilot="Tanpa log")]))
    with logged.connect() as conn, pytest.raises(NoLog, match="'Tanpa log' has no operation log"):
        evaluate(conn, config_dir=get_settings().config_dir, pilot="Tanpa log")


def test_log_days_outside_every_record_become_monthly_records(logged):
    from gis_service.analysis.pilot_evaluation import records_with_log

    with logged.connect() as conn:
        events = pd.read_sql(text("SELECT * FROM pilot_event"), conn)
        records = pd.read_sql(text("SELECT * FROM pilot_record WHERE false"), conn)
    months = records_with_log(records, events, start=pd.Timestamp("2026-01-03").date(), end=None)
    assert [str(d) for d in months["period_start"]] == ["2026-01-03", "2026-02-01"]  # clipped to the pilot's start
    assert [str(d) for d in months["period_end"]] == ["2026-01-31", "2026-02-28"]
    assert list(months["emptyings"]) == [3, 2] and list(months["sludge_m3"]) == [9.0, 5.0]
    assert list(months["working_days"]) == [2, 1] and list(months["households_paying"]) == [3, 0]


FORM = Path(__file__).resolve().parents[1] / "forms" / "logbook_lltt.xlsx"


def test_the_logbook_form_is_a_valid_xlsform_whose_kobo_export_imports_without_mapping(admin_loaded, tmp_path):
    """forms/logbook_lltt.xlsx converts to an XForm (pyxform, as KoboToolbox and ODK do), and an
    export of its submissions, in the columns Kobo writes for it, imports as it is: every field found."""
    from openpyxl import load_workbook
    from pyxform.xls2xform import convert

    from gis_service.ingest.importer import import_file

    xform = convert(xlsform=str(FORM), validate=False).xform
    survey = list(load_workbook(FORM)["survey"].iter_rows(values_only=True))
    names = [row[1] for row in survey[1:]]
    assert len(names) == 16 and all(f'nodeset="/data/{name}"' in xform for name in names)
    # Kobo's CSV export: one column per question (a geopoint also as _NAME_latitude, ...), its meta columns
    columns = [c for n in names for c in ([n, f"_{n}_latitude", f"_{n}_longitude", f"_{n}_altitude",
                                           f"_{n}_precision"] if n == "lokasi" else [n])]
    columns += ["_id", "_uuid", "_submission_time", "_validation_status", "_index"]
    answers = {"event_id": "LOG-1", "nama_pilot": "Uji LLTT", "tanggal": "2026-01-05", "status": "selesai",
               "alasan": "", "id_pelanggan": "H1", "kode_desa": WEST, "lokasi": "-2.9 112.06 0 5",
               "_lokasi_latitude": "-2.9", "_lokasi_longitude": "112.06", "_lokasi_altitude": "0",
               "_lokasi_precision": "5", "no_polisi": "KH 1", "volume_sedot_m3": "3", "volume_diterima_iplt_m3": "3",
               "waktu_tempuh_menit": "90", "tarif": "200000", "dibayar": "200000", "keluhan": "tidak",
               "hari_penyelesaian": "", "_id": "101", "_uuid": "7f0c", "_submission_time": "2026-01-05T10:00:00",
               "_validation_status": "", "_index": "1"}
    assert set(answers) == set(columns)
    import_file(admin_loaded, "pilots", write_csv(tmp_path / "pilots.csv", PILOT))
    report = import_file(admin_loaded, "pilot_events", write_csv(tmp_path / "kobo.csv", [answers]))
    from gis_service.ingest.pilots import EVENT_FIELDS

    assert report.inserted == 1 and not report.rejected
    assert set(report.columns) == {f.name for f in EVENT_FIELDS} | {"geometry"}, report.columns
    # the same export as an Excel workbook
    xlsx = tmp_path / "kobo.xlsx"
    pd.DataFrame([dict(answers, event_id="LOG-2")]).to_excel(xlsx, index=False)
    assert import_file(admin_loaded, "pilot_events", xlsx).inserted == 1
    with admin_loaded.connect() as conn:
        rows = conn.execute(text("SELECT source_id, event_date, pumped_m3, ST_X(geom) FROM pilot_event ORDER BY 1")).all()
    assert [(r[0], str(r[1]), r[2], r[3]) for r in rows] == [("LOG-1", "2026-01-05", 3.0, 112.06),
                                                              ("LOG-2", "2026-01-05", 3.0, 112.06)]


def test_the_ogc_layer_gives_the_log_per_village_and_month(logged):
    with logged.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, month, attempts, emptyings, pumped_m3, delivered_m3, delivered_share, complaints, "
            "ST_GeometryType(geom) FROM layer_pilot_evaluation ORDER BY month")).all()
    assert [(r.id.split(":", 1)[1], str(r.month), r.attempts, r.emptyings, float(r.pumped_m3), float(r.delivered_m3),
             float(r.delivered_share), r.complaints, r[8]) for r in rows] == [
        (f"{WEST}:2026-01", "2026-01-01", 4, 3, 9.0, 5.5, 0.611, 1, "ST_MultiPolygon"),  # E3 not received
        (f"{WEST}:2026-02", "2026-02-01", 3, 2, 5.0, 4.0, 0.8, 1, "ST_MultiPolygon")]
