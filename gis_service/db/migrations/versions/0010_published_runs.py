"""Publishing is explicit: the default layers (``coverage_villages``, ``coverage_gaps``,
``scaleup_villages``…), the web map's first view and the QGIS project show the coverage run and the
scale-up plan an editor published last (``gis-service coverage publish RUN``, ``scaleup publish
RUN`` or ``POST /api/runs/{id}/publish``), no longer whatever run happened to be started last.
Every run stays reachable by id through the ``*_all_runs`` layers.

The upgrade publishes each table's latest run, so a deployment shows after it what it showed
before.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 20:40:00
"""
from typing import Sequence, Union

from alembic import op

import sqlalchemy as sa

revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PUBLISHED = "(SELECT id FROM {table} WHERE published_at IS NOT NULL ORDER BY published_at DESC, id DESC LIMIT 1)"
LATEST = "(SELECT max(id) FROM {table})"
COVERAGE_VIEWS = {  # the views of 0004 and 0005 showing one coverage run
    "layer_coverage_village": ("layer_coverage_area_all_runs", "level = 'village'"),
    "layer_coverage_district": ("layer_coverage_area_all_runs", "level = 'district'"),
    "layer_service_area": ("layer_service_area_all_runs", "TRUE"),
    "layer_coverage_gap": ("layer_coverage_gap_all_runs", "TRUE"),
}
SCALEUP_VIEWS = {name: (f"{name}_all_runs", "TRUE") for name in ("layer_scaleup_facility", "layer_scaleup_village")}


def _views(which: str) -> None:
    for views, table in ((COVERAGE_VIEWS, "coverage_run"), (SCALEUP_VIEWS, "scaleup_run")):
        run = (PUBLISHED if which == "published" else LATEST).format(table=table)
        for name, (base, where) in views.items():
            op.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {base} WHERE run_id = {run} AND {where}")
            kind = "coverage run" if table == "coverage_run" else "scale-up plan"
            op.execute(f"COMMENT ON VIEW {name} IS 'Published layer (layers/*.yml): {name.removeprefix('layer_')} "
                       f"of the {which} {kind}'")


def upgrade() -> None:
    for table in ("coverage_run", "scaleup_run"):
        op.add_column(table, sa.Column('published_at', sa.DateTime(timezone=True), nullable=True,
                                       comment='When an editor published it; the default layers show the run '
                                               'published last'))
        op.add_column(table, sa.Column('published_by', sa.Text(), nullable=True, comment='Who published it'))
        op.execute(f"UPDATE {table} SET published_at = now(), published_by = 'migration 0010 (was the latest)' "
                   f"WHERE id = (SELECT max(id) FROM {table})")
        op.create_index(f'ix_{table}_published_at', table, ['published_at'], unique=False,
                        postgresql_where=sa.text('published_at IS NOT NULL'))
    _views("published")


def downgrade() -> None:
    _views("latest")
    for table in ("coverage_run", "scaleup_run"):
        op.drop_index(f'ix_{table}_published_at', table_name=table)
        op.drop_column(table, 'published_by')
        op.drop_column(table, 'published_at')
