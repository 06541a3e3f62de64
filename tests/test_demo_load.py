"""The demo region loads through the importers, is marked illustrative, reloads idempotently and
never overwrites real areas."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gis_service.db.summary import database_summary
from gis_service.demo.load import DEMO_SCENARIO, RealDataPresent, load_demo


def test_demo_loads_summarises_and_reloads_unchanged(engine):
    reports = load_demo(engine)
    assert [r.kind for r in reports] == ["admin", "population", "settlements", "households", "facilities",
                                         "service_areas", "network", "pilots", "pilot_events"]
    assert all(not r.rejected for r in reports)
    summary = database_summary(engine)
    counts = summary["counts"]
    assert counts["districts (kecamatan)"] == 10 and 95 <= counts["villages (desa/kelurahan)"] <= 105
    assert 40_000 <= counts["households (points)"] <= 50_000
    assert 140_000 <= counts["population (latest year per village)"] <= 175_000
    assert summary["illustrative"] is True
    assert ("iplt", "pilot", 1) in summary["facilities"]
    with engine.connect() as conn:
        scenario = conn.execute(text(
            "SELECT count(*) FROM scenario_facility sf JOIN scenario s ON s.id = sf.scenario_id "
            "WHERE s.name = :n"), {"n": DEMO_SCENARIO}).scalar()
        targets = conn.execute(text("SELECT value FROM target WHERE indicator = 'layak_pct' AND year = 2024"))
        params = conn.execute(text("SELECT values -> 'desludging_interval' ->> 'source' FROM parameter_set"))
        assert scenario >= 2 and targets.scalar() == 90
        assert "LLTT" in params.scalar()
        feeds = conn.execute(text("SELECT count(*) FROM facility d JOIN facility p ON p.id = d.feeds_facility_id "
                                  "WHERE p.type = 'iplt'")).scalar()
        assert feeds == 5  # four depots and the transfer station
        log = conn.execute(text("SELECT count(*), count(*) FILTER (WHERE status = 'done') FROM pilot_event")).one()
        records = conn.execute(text("SELECT sum(emptyings) FROM pilot_record WHERE period_start < '2024-11-01'")).scalar()
        assert log[0] > log[1] == records  # the log's done rows are the logged months' emptyings
    again = load_demo(engine)
    assert all(r.inserted == 0 and r.updated == 0 for r in again)


def test_demo_refuses_to_overwrite_real_areas(admin_loaded):
    with pytest.raises(RealDataPresent) as info:
        load_demo(admin_loaded)
    assert "GIS_SERVICE_DB_NAME" in str(info.value)
