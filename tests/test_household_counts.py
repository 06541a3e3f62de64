"""The households_by_village layer reads counts kept per village (migration 0016): every
household import refreshes them in its transaction, and they equal a count of the table."""

from __future__ import annotations

from sqlalchemy import text

from gis_service.ingest.importer import import_file
from tests.helpers import households, write_csv

DIRECT = """
    SELECT a.code, count(h.id), sum(h.members),
           count(*) FILTER (WHERE h.ladder_rung = 'aman'), count(*) FILTER (WHERE h.ladder_rung = 'babs')
    FROM admin_area a LEFT JOIN household h ON h.village_code = a.code
    WHERE a.level = 'village' GROUP BY a.code ORDER BY a.code"""
LAYER = "SELECT code, households, people_recorded, aman, babs FROM layer_household_village ORDER BY code"


def _both(engine):
    with engine.connect() as conn:
        return ([tuple(r) for r in conn.execute(text(LAYER))],
                [tuple(r) for r in conn.execute(text(DIRECT))])


def test_counts_follow_every_household_import(admin_loaded, tmp_path):
    layer, direct = _both(admin_loaded)
    assert layer == direct and all(r[1] == 0 for r in layer) and len(layer) >= 2  # no households yet

    rows = households(50)  # the west village; rungs cycle aman, layak sendiri, ..., BABS
    import_file(admin_loaded, "households", write_csv(tmp_path / "a.csv", rows))
    layer, direct = _both(admin_loaded)
    assert layer == direct
    west = next(r for r in layer if r[1])
    assert west[1:] == (50, sum(1 + i % 7 for i in range(50)), 10, 10)

    for row in rows[:5]:  # the same source surveyed again: five households move up to aman, one is new
        row["akses_sanitasi"] = "aman"
    rows.append({**rows[0], "id": "H99999"})
    import_file(admin_loaded, "households", write_csv(tmp_path / "a.csv", rows))
    layer, direct = _both(admin_loaded)
    assert layer == direct
    west = next(r for r in layer if r[1])
    assert west[1] == 51 and west[3] == 10 + 4 + 1 and west[4] == 10 - 1  # 4 moved up, 1 new aman
