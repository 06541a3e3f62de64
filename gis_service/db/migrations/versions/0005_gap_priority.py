"""The coverage gap layers rank areas by how many households they lack: ``priority`` 1 is the
largest gap to a target among the areas of the same level, run, indicator and year — the order in
which closing gaps helps most, for planners reading the gap map.

Revision ID: 0005
Revises: 0004
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = """g.run_id || ':' || g.area_code || ':' || g.target_id AS id, g.run_id, g.area_code, a.name,
               a.level, g.indicator, g.year, g.target_pct, g.current_pct, g.projected_pct, g.gap_households,
               g.gap_people, a.geom"""
PRIORITY = """, rank() OVER (PARTITION BY g.run_id, a.level, g.indicator, g.year
                            ORDER BY g.gap_households DESC) AS priority"""
LATEST = ("CREATE VIEW layer_coverage_gap AS SELECT * FROM layer_coverage_gap_all_runs "
          "WHERE run_id = (SELECT max(id) FROM coverage_run)")
COMMENT = "Published layer (layers/*.yml): coverage gap{} (priority 1: the largest gap of its level)"


def _views(columns: str) -> None:
    op.execute("DROP VIEW layer_coverage_gap")
    op.execute(f"CREATE OR REPLACE VIEW layer_coverage_gap_all_runs AS SELECT {columns} "
               "FROM coverage_gap g JOIN admin_area a ON a.code = g.area_code")
    op.execute(LATEST)
    op.execute(f"COMMENT ON VIEW layer_coverage_gap_all_runs IS '{COMMENT.format(' of every coverage run')}'")
    op.execute(f"COMMENT ON VIEW layer_coverage_gap IS '{COMMENT.format(' (latest coverage run)')}'")


def upgrade() -> None:
    _views(COLUMNS + PRIORITY)


def downgrade() -> None:
    op.execute("DROP VIEW layer_coverage_gap")
    op.execute("DROP VIEW layer_coverage_gap_all_runs")
    op.execute(f"CREATE VIEW layer_coverage_gap_all_runs AS SELECT {COLUMNS} "
               "FROM coverage_gap g JOIN admin_area a ON a.code = g.area_code")
    op.execute(LATEST)
