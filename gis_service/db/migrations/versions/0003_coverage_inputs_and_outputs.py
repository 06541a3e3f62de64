"""Coverage inputs and outputs: drawn service areas, toilet type and disposal (for the ladder
rules), the IPLT a depot feeds, the k nearest facilities per household (arrays), non-household demand points.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 03:59:41.160378
"""
from typing import Sequence, Union

from alembic import op

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_geospatial_table('service_area',
    sa.Column('source', sa.Text(), nullable=False, comment='Data source this row was loaded from'),
    sa.Column('facility_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False, comment='Multipolygon, EPSG:4326 (lon/lat)'),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('source_id', sa.Text(), nullable=False, comment='Identifier in the source'),
    sa.CheckConstraint('geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))', name=op.f('ck_service_area_geom_valid')),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_service_area_facility_id_facility'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source'], ['data_source.name'], name=op.f('fk_service_area_source_data_source'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_area')),
    sa.UniqueConstraint('source', 'source_id', name='uq_service_area_source_id')
    )
    op.create_geospatial_index('idx_service_area_geom', 'service_area', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_service_area_facility_id'), 'service_area', ['facility_id'], unique=False)
    op.create_geospatial_table('coverage_demand_point',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.Text(), nullable=False),
    sa.Column('origin_ref', sa.Text(), nullable=True, comment='Settlement id, village code or cell row/col'),
    sa.Column('village_code', sa.Text(), nullable=True),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('lltt_served', sa.Integer(), nullable=False, comment='Households served'),
    sa.Column('offsite_served', sa.Integer(), nullable=False),
    sa.Column('mck_served', sa.Integer(), nullable=False),
    sa.Column('any_served', sa.Integer(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False, comment='Point, EPSG:4326 (lon/lat)'),
    sa.CheckConstraint("origin IN ('settlement', 'village', 'raster')", name=op.f('ck_coverage_demand_point_origin_vocab')),
    sa.ForeignKeyConstraint(['run_id'], ['coverage_run.id'], name=op.f('fk_coverage_demand_point_run_id_coverage_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'point_id', name=op.f('pk_coverage_demand_point'))
    )
    op.create_geospatial_index('idx_coverage_demand_point_geom', 'coverage_demand_point', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.add_column('facility', sa.Column('feeds_facility_id', sa.BigInteger(), nullable=True, comment='The IPLT a depot or transfer station delivers its sludge to (shares its capacity)'))
    op.create_foreign_key(op.f('fk_facility_feeds_facility_id_facility'), 'facility', 'facility', ['feeds_facility_id'], ['id'], ondelete='SET NULL')
    op.add_column('household', sa.Column('toilet_type', sa.Text(), nullable=True, comment='gooseneck, non_gooseneck, public or none: derives the rung when none is given'))
    op.add_column('household', sa.Column('disposal', sa.Text(), nullable=True, comment='septic_tank, pit, offsite or open'))
    op.create_check_constraint(op.f('ck_household_toilet_type_vocab'), 'household',
                               "toilet_type IS NULL OR toilet_type IN ('gooseneck', 'non_gooseneck', 'public', 'none')")
    op.create_check_constraint(op.f('ck_household_disposal_vocab'), 'household',
                               "disposal IS NULL OR disposal IN ('septic_tank', 'pit', 'offsite', 'open')")
    op.create_table_comment('service_area', 'Service areas drawn by planners, e.g. the piped area of an IPAL komunal (coverage --method polygon)')
    op.create_table_comment('coverage_demand_point', 'Demand points of a run that did not use household points: settlements, village totals spread onto settlements, or population raster cells; served counts per service')
    for service in ('lltt', 'offsite', 'mck'):
        op.add_column('coverage_household', sa.Column(f'{service}_near_ids', postgresql.ARRAY(sa.BigInteger()), nullable=True, comment='The k nearest reachable facilities, nearest first'))
        op.add_column('coverage_household', sa.Column(f'{service}_near_costs', postgresql.ARRAY(sa.REAL()), nullable=True, comment='Cost to each of them: minutes (network) or metres'))


def downgrade() -> None:
    for service in ('lltt', 'offsite', 'mck'):
        op.drop_column('coverage_household', f'{service}_near_costs')
        op.drop_column('coverage_household', f'{service}_near_ids')
    op.drop_constraint(op.f('ck_household_disposal_vocab'), 'household', type_='check')
    op.drop_constraint(op.f('ck_household_toilet_type_vocab'), 'household', type_='check')
    op.drop_column('household', 'disposal')
    op.drop_column('household', 'toilet_type')
    op.drop_constraint(op.f('fk_facility_feeds_facility_id_facility'), 'facility', type_='foreignkey')
    op.drop_column('facility', 'feeds_facility_id')
    op.drop_geospatial_index('idx_coverage_demand_point_geom', table_name='coverage_demand_point', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('coverage_demand_point')
    op.drop_index(op.f('ix_service_area_facility_id'), table_name='service_area')
    op.drop_geospatial_index('idx_service_area_geom', table_name='service_area', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('service_area')
