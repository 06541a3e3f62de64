"""Counts a planner checks after loading: areas, people, households, facilities."""

from __future__ import annotations

from sqlalchemy import Engine, text

COUNTS = {
    "districts (kecamatan)": "SELECT count(*) FROM admin_area WHERE level = 'district'",
    "villages (desa/kelurahan)": "SELECT count(*) FROM admin_area WHERE level = 'village'",
    "population (latest year per village)": """
        SELECT COALESCE(sum(population), 0) FROM (
            SELECT DISTINCT ON (p.admin_code) p.population FROM admin_population p
            JOIN admin_area a ON a.code = p.admin_code AND a.level = 'village'
            ORDER BY p.admin_code, p.year DESC) latest""",
    "households (points)": "SELECT count(*) FROM household",
    "settlements": "SELECT count(*) FROM settlement",
    "network edges": "SELECT count(*) FROM network_edge",
    "facilities": "SELECT count(*) FROM facility",
    "pilot records": "SELECT count(*) FROM pilot_record",
    "pilot log (emptying attempts)": "SELECT count(*) FROM pilot_event",
}


def database_summary(engine: Engine) -> dict:
    with engine.connect() as conn:
        counts = {label: int(conn.execute(text(sql)).scalar()) for label, sql in COUNTS.items()}
        facilities = conn.execute(text(
            "SELECT type, status, count(*) FROM facility GROUP BY 1, 2 ORDER BY 1, 2")).all()
        illustrative = bool(conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM data_source WHERE illustrative)")).scalar())
    return {"counts": counts, "facilities": [tuple(r) for r in facilities], "illustrative": illustrative}
