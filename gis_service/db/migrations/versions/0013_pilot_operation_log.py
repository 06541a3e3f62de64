"""The pilot's operation log: one row per emptying attempt (``gis-service import pilot_events``),
from which ``gis-service pilot evaluate`` judges the trial (technical, institutional, financial).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 00:10:00
"""
from typing import Sequence, Union

from alembic import op

import sqlalchemy as sa
from geoalchemy2 import Geometry

revision: str = '0013'
down_revision: Union[str, None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COMMENT = "A pilot's operation log: one row per emptying attempt (gis-service import pilot_events)"


def upgrade() -> None:
    op.create_geospatial_table('pilot_event',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('pilot_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Text(), nullable=False, comment="The attempt's id in the log (event_id)"),
    sa.Column('event_date', sa.Date(), nullable=False, comment='Day of the attempt'),
    sa.Column('status', sa.Text(), nullable=False, comment='done, cancelled or failed'),
    sa.Column('reason', sa.Text(), nullable=True, comment='Why it was cancelled or failed'),
    sa.Column('household_id', sa.Text(), nullable=True),
    sa.Column('village_code', sa.Text(), nullable=True, comment="Kemendagri code of the household's village"),
    sa.Column('truck', sa.Text(), nullable=True, comment='Plate or fleet number'),
    sa.Column('pumped_m3', sa.Float(), nullable=True, comment='Volume pumped (done rows)'),
    sa.Column('delivered_m3', sa.Float(), nullable=True,
              comment='Volume received at the IPLT; NULL: not received or not recorded (counts as 0)'),
    sa.Column('trip_minutes', sa.Float(), nullable=True, comment='Round trip'),
    sa.Column('fee_billed_idr', sa.Numeric(), nullable=True),
    sa.Column('fee_paid_idr', sa.Numeric(), nullable=True),
    sa.Column('complaint', sa.Boolean(), nullable=True),
    sa.Column('resolved_days', sa.Float(), nullable=True, comment='Days to resolve the complaint'),
    sa.Column('source', sa.Text(), nullable=False, comment='Data source this row was loaded from'),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False,
                               from_text='ST_GeomFromEWKT', name='geometry'), nullable=True,
              comment='Point, EPSG:4326 (lon/lat)'),
    sa.CheckConstraint("status IS NULL OR status IN ('done', 'cancelled', 'failed')",
                       name=op.f('ck_pilot_event_status_vocab')),
    sa.CheckConstraint("status <> 'done' OR pumped_m3 IS NOT NULL", name=op.f('ck_pilot_event_done_has_volume')),
    sa.CheckConstraint('pumped_m3 IS NULL OR pumped_m3 >= 0', name=op.f('ck_pilot_event_pumped_nonneg')),
    sa.CheckConstraint('delivered_m3 IS NULL OR (delivered_m3 >= 0 AND delivered_m3 <= pumped_m3)',
                       name=op.f('ck_pilot_event_delivered_within_pumped')),
    sa.CheckConstraint('trip_minutes IS NULL OR trip_minutes >= 0', name=op.f('ck_pilot_event_trip_nonneg')),
    sa.CheckConstraint('fee_billed_idr IS NULL OR fee_billed_idr >= 0', name=op.f('ck_pilot_event_billed_nonneg')),
    sa.CheckConstraint('fee_paid_idr IS NULL OR fee_paid_idr >= 0', name=op.f('ck_pilot_event_paid_nonneg')),
    sa.CheckConstraint('resolved_days IS NULL OR resolved_days >= 0', name=op.f('ck_pilot_event_resolved_nonneg')),
    sa.CheckConstraint('geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))',
                       name=op.f('ck_pilot_event_geom_valid')),
    sa.ForeignKeyConstraint(['pilot_id'], ['pilot.id'], name=op.f('fk_pilot_event_pilot_id_pilot'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source'], ['data_source.name'], name=op.f('fk_pilot_event_source_data_source'),
                            onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pilot_event')),
    sa.UniqueConstraint('pilot_id', 'source_id', name='uq_pilot_event_id'),
    )
    op.create_table_comment('pilot_event', COMMENT)
    op.create_index(op.f('ix_pilot_event_pilot_id'), 'pilot_event', ['pilot_id'], unique=False)
    op.create_geospatial_index('idx_pilot_event_geom', 'pilot_event', ['geom'], unique=False,
                               postgresql_using='gist', postgresql_ops={})


def downgrade() -> None:
    op.drop_geospatial_index('idx_pilot_event_geom', table_name='pilot_event', postgresql_using='gist',
                             column_name='geom')
    op.drop_index(op.f('ix_pilot_event_pilot_id'), table_name='pilot_event')
    op.drop_geospatial_table('pilot_event')
