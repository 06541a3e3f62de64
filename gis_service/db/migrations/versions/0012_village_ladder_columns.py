"""Every share a person reads is the same stored number rounded once: the coverage layers give
``coverage_pct`` to three decimals like the planning API and the gaps (they had two, so a share
could round differently on the map and in the tables). The village layers also give every rung
of the access ladder now and projected (``layak_only_*``: basic but not safely managed,
``belum_layak_*``, ``unknown_*``), so a popup's ladder adds up to the village's households.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 23:40:00
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0012'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PUBLISHED = "(SELECT id FROM coverage_run WHERE published_at IS NOT NULL ORDER BY published_at DESC, id DESC LIMIT 1)"
DEPENDENTS = {"layer_coverage_village": "level = 'village'", "layer_coverage_district": "level = 'district'"}


def _rung(ladder: str, rung: str) -> str:
    return f"COALESCE((c.{ladder} ->> '{rung}')::int, 0)"


def _base(digits: int, extra: bool) -> str:
    columns = ""
    if extra:
        columns = ", " + ", ".join(
            f"{_rung(ladder, 'layak_sendiri')} + {_rung(ladder, 'layak_bersama')} AS layak_only_{when}, "
            f"{_rung(ladder, 'belum_layak')} AS belum_layak_{when}, {_rung(ladder, 'unknown')} AS unknown_{when}"
            for ladder, when in (("ladder", "now"), ("ladder_projected", "projected")))
    return f"""
        SELECT c.run_id || ':' || c.area_code AS id, c.run_id, r.started_at, r.scenario_name, r.method,
               c.area_code, a.name, c.level, c.households, c.people, c.served_households, c.served_people,
               c.households - c.served_households AS unserved_households,
               round(100.0 * c.served_households / NULLIF(c.households, 0), {digits}) AS coverage_pct,
               (c.ladder ->> 'aman')::int AS aman_now,
               (c.ladder_projected ->> 'aman')::int AS aman_projected,
               (c.ladder ->> 'layak_sendiri')::int + (c.ladder ->> 'layak_bersama')::int
                 + (c.ladder ->> 'aman')::int AS layak_now,
               (c.ladder_projected ->> 'layak_sendiri')::int + (c.ladder_projected ->> 'layak_bersama')::int
                 + (c.ladder_projected ->> 'aman')::int AS layak_projected,
               (c.ladder ->> 'babs')::int AS babs_now, (c.ladder_projected ->> 'babs')::int AS babs_projected,
               r.illustrative, a.geom{columns}
        FROM coverage_area c JOIN coverage_run r ON r.id = c.run_id
        JOIN admin_area a ON a.code = c.area_code WHERE c.service = 'all'"""


def upgrade() -> None:
    # appended columns: CREATE OR REPLACE keeps the grants; the published-run views that select *
    # from it are replaced too, so that they carry the new columns
    op.execute(f"CREATE OR REPLACE VIEW layer_coverage_area_all_runs AS {_base(3, True)}")
    for name, where in DEPENDENTS.items():
        op.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM layer_coverage_area_all_runs "
                   f"WHERE run_id = {PUBLISHED} AND {where}")


def downgrade() -> None:
    # a view cannot drop columns in place: the dependents go first, then come back as before
    for name in DEPENDENTS:
        op.execute(f"DROP VIEW {name}")
    op.execute("DROP VIEW layer_coverage_area_all_runs")
    op.execute(f"CREATE VIEW layer_coverage_area_all_runs AS {_base(2, False)}")
    for name, where in DEPENDENTS.items():
        op.execute(f"CREATE VIEW {name} AS SELECT * FROM layer_coverage_area_all_runs "
                   f"WHERE run_id = {PUBLISHED} AND {where}")
