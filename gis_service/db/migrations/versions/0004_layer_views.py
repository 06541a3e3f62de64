"""Views published as OGC API layers (layers/*.yml): admin areas per level, settlements, facilities,
the network, and the results of the latest coverage run (per village and district, service areas,
gaps) next to the same results of every run (filter by run_id). Household points are sensitive and
are only published aggregated per village.

Revision ID: 0004
Revises: 0003
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

LATEST = "(SELECT max(id) FROM coverage_run)"

VIEWS = {
    **{f"layer_{level}": f"""
        SELECT a.code, a.name, a.parent_code, a.bps_code, a.village_kind, a.urban_rural, a.area_km2,
               a.source, a.geom
        FROM admin_area a WHERE a.level = '{level}'""" for level in ("province", "regency", "district",
                                                                    "village")},
    "layer_settlement": """
        SELECT s.id, s.source_id, s.name, s.village_code, s.population, s.households, s.year, s.source,
               s.geom
        FROM settlement s""",
    "layer_facility": """
        SELECT f.id, f.source_id, f.name, f.type, f.status, f.capacity, f.capacity_unit, f.operator,
               f.institution_type, f.year, f.village_code, array_to_string(f.service_modes, ',') AS service_modes,
               f.feeds_facility_id, f.source, f.geom
        FROM facility f""",
    "layer_network": """
        SELECT e.id, e.mode, e.class, e.name, e.speed_kmh, e.oneway, e.length_m, e.source, e.geom
        FROM network_edge e""",
    "layer_household_village": """
        SELECT a.code, a.name, count(h.id) AS households, sum(h.members) AS people_recorded,
               count(*) FILTER (WHERE h.ladder_rung = 'aman') AS aman,
               count(*) FILTER (WHERE h.ladder_rung = 'layak_sendiri') AS layak_sendiri,
               count(*) FILTER (WHERE h.ladder_rung = 'layak_bersama') AS layak_bersama,
               count(*) FILTER (WHERE h.ladder_rung = 'belum_layak') AS belum_layak,
               count(*) FILTER (WHERE h.ladder_rung = 'babs') AS babs, a.geom
        FROM admin_area a LEFT JOIN household h ON h.village_code = a.code
        WHERE a.level = 'village' GROUP BY a.code, a.name, a.geom""",
    "layer_coverage_area_all_runs": """
        SELECT c.run_id || ':' || c.area_code AS id, c.run_id, r.started_at, r.scenario_name, r.method,
               c.area_code, a.name, c.level, c.households, c.people, c.served_households, c.served_people,
               c.households - c.served_households AS unserved_households,
               round(100.0 * c.served_households / NULLIF(c.households, 0), 2) AS coverage_pct,
               (c.ladder ->> 'aman')::int AS aman_now,
               (c.ladder_projected ->> 'aman')::int AS aman_projected,
               (c.ladder ->> 'layak_sendiri')::int + (c.ladder ->> 'layak_bersama')::int
                 + (c.ladder ->> 'aman')::int AS layak_now,
               (c.ladder_projected ->> 'layak_sendiri')::int + (c.ladder_projected ->> 'layak_bersama')::int
                 + (c.ladder_projected ->> 'aman')::int AS layak_projected,
               (c.ladder ->> 'babs')::int AS babs_now, (c.ladder_projected ->> 'babs')::int AS babs_projected,
               r.illustrative, a.geom
        FROM coverage_area c JOIN coverage_run r ON r.id = c.run_id
        JOIN admin_area a ON a.code = c.area_code WHERE c.service = 'all'""",
    "layer_service_area_all_runs": """
        SELECT s.run_id || ':' || s.facility_id || ':' || s.threshold AS id, s.run_id, s.facility_id,
               f.name AS facility_name, f.type AS facility_type, s.service, s.threshold, s.unit, s.geom
        FROM coverage_service_area s JOIN facility f ON f.id = s.facility_id""",
    "layer_coverage_gap_all_runs": """
        SELECT g.run_id || ':' || g.area_code || ':' || g.target_id AS id, g.run_id, g.area_code, a.name,
               a.level, g.indicator, g.year, g.target_pct, g.current_pct, g.projected_pct, g.gap_households,
               g.gap_people, a.geom
        FROM coverage_gap g JOIN admin_area a ON a.code = g.area_code""",
}
LATEST_VIEWS = {
    "layer_coverage_village": ("layer_coverage_area_all_runs", "level = 'village'"),
    "layer_coverage_district": ("layer_coverage_area_all_runs", "level = 'district'"),
    "layer_service_area": ("layer_service_area_all_runs", "TRUE"),
    "layer_coverage_gap": ("layer_coverage_gap_all_runs", "TRUE"),
}


def upgrade() -> None:
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")
        op.execute(f"COMMENT ON VIEW {name} IS 'Published layer (layers/*.yml): {_about(name)}'")
    for name, (base, where) in LATEST_VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS SELECT * FROM {base} WHERE run_id = {LATEST} AND {where}")
        op.execute(f"COMMENT ON VIEW {name} IS 'Published layer (layers/*.yml): {_about(name)} "
                   "(latest coverage run)'")


def _about(view: str) -> str:
    return view.removeprefix("layer_").replace("_all_runs", " of every coverage run").replace("_", " ")


def downgrade() -> None:
    for name in reversed(list(LATEST_VIEWS)):
        op.execute(f"DROP VIEW {name}")
    for name in reversed(list(VIEWS)):
        op.execute(f"DROP VIEW {name}")
