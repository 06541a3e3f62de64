"""Coverage runs and their results (per household, facility, admin area, target gap).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 02:35:01.139029
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('coverage_run',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('scenario_id', sa.Integer(), nullable=True),
    sa.Column('scenario_name', sa.Text(), nullable=False),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('thresholds_min', postgresql.ARRAY(sa.Float()), nullable=True, comment='Travel-time bands'),
    sa.Column('distance_m', sa.Float(), nullable=True, comment='Buffer radius, metres'),
    sa.Column('capacity_limited', sa.Boolean(), nullable=False),
    sa.Column('demand', sa.Text(), nullable=False, comment='How demand was represented'),
    sa.Column('parameters', postgresql.JSONB(astext_type=sa.Text()), nullable=False, comment='Parameter values used'),
    sa.Column('illustrative', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('seconds', postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment='Timings by step'),
    sa.Column('summary', postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment='Regency totals'),
    sa.CheckConstraint("method IN ('buffer', 'network', 'polygon')", name=op.f('ck_coverage_run_method_vocab')),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenario.id'], name=op.f('fk_coverage_run_scenario_id_scenario'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coverage_run')),
    comment='One coverage analysis: scenario, method, thresholds, parameters used, timings'
    )
    op.create_table('coverage_area',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.Text(), nullable=False),
    sa.Column('service', sa.Text(), nullable=False, comment="Service type or 'all'"),
    sa.Column('level', sa.Text(), nullable=False),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('served_households', sa.Integer(), nullable=False),
    sa.Column('served_people', sa.Integer(), nullable=False),
    sa.Column('ladder', postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment="Households by rung now ('all' rows only)"),
    sa.Column('ladder_projected', postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment="Households by rung if the scenario runs ('all' rows only)"),
    sa.CheckConstraint('served_households <= households', name=op.f('ck_coverage_area_served_le_total')),
    sa.ForeignKeyConstraint(['run_id'], ['coverage_run.id'], name=op.f('fk_coverage_area_run_id_coverage_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'area_code', 'service', name=op.f('pk_coverage_area')),
    comment='Per admin area (village, district, regency) and service: households and people served and unserved, ladder counts now and projected under the scenario'
    )
    op.create_table('coverage_facility',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.BigInteger(), nullable=False),
    sa.Column('service', sa.Text(), nullable=False),
    sa.Column('capacity_households', sa.Float(), nullable=True, comment='NULL = no capacity limit'),
    sa.Column('households_in_reach', sa.Integer(), nullable=False),
    sa.Column('served_households', sa.Integer(), nullable=False),
    sa.Column('served_people', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['coverage_run.id'], name=op.f('fk_coverage_facility_run_id_coverage_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'facility_id', name=op.f('pk_coverage_facility')),
    comment='Per facility: capacity in households, demand in reach, households served'
    )
    op.create_table('coverage_gap',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.Text(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('indicator', sa.Text(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False, comment='Target year'),
    sa.Column('target_pct', sa.Float(), nullable=False),
    sa.Column('current_pct', sa.Float(), nullable=False),
    sa.Column('projected_pct', sa.Float(), nullable=False),
    sa.Column('gap_households', sa.Integer(), nullable=False, comment='Households still needed'),
    sa.Column('gap_people', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['coverage_run.id'], name=op.f('fk_coverage_gap_run_id_coverage_run'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['target.id'], name=op.f('fk_coverage_gap_target_id_target'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'area_code', 'target_id', name=op.f('pk_coverage_gap')),
    comment='Gap to each target row per admin area, now and projected'
    )
    op.create_table('coverage_household',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('lltt_facility_id', sa.BigInteger(), nullable=True, comment='Serving LLTT facility'),
    sa.Column('lltt_nearest_id', sa.BigInteger(), nullable=True, comment='Nearest reachable'),
    sa.Column('lltt_cost', sa.Float(), nullable=True, comment='To the nearest reachable LLTT facility: minutes (network) or metres (buffer)'),
    sa.Column('offsite_facility_id', sa.BigInteger(), nullable=True, comment='Serving IPAL'),
    sa.Column('offsite_nearest_id', sa.BigInteger(), nullable=True),
    sa.Column('offsite_cost', sa.Float(), nullable=True, comment='Metres to the nearest IPAL'),
    sa.Column('mck_facility_id', sa.BigInteger(), nullable=True, comment='Serving MCK'),
    sa.Column('mck_nearest_id', sa.BigInteger(), nullable=True),
    sa.Column('mck_cost', sa.Float(), nullable=True, comment='Walking minutes (or metres)'),
    sa.PrimaryKeyConstraint('run_id', 'household_id', name=op.f('pk_coverage_household')),
    comment='Per household: for each service the serving facility, the nearest reachable one and the cost to it (one row per household and run)'
    )

    op.create_geospatial_table('coverage_service_area',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.BigInteger(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False, comment='Band edge'),
    sa.Column('unit', sa.Text(), nullable=False, comment='min (network) or m (radius)'),
    sa.Column('service', sa.Text(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=False, comment='Multipolygon, EPSG:4326 (lon/lat)'),
    sa.CheckConstraint('geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))', name=op.f('ck_coverage_service_area_geom_valid')),
    sa.ForeignKeyConstraint(['run_id'], ['coverage_run.id'], name=op.f('fk_coverage_service_area_run_id_coverage_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'facility_id', 'threshold', name=op.f('pk_coverage_service_area'))
    )
    op.create_geospatial_index('idx_coverage_service_area_geom', 'coverage_service_area', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table_comment('coverage_service_area', 'Service area of each facility per band: a network isochrone (minutes) or a radius (metres)')
    # Deleting a run deletes its household rows (they carry no per-row foreign key: see models.py).
    op.execute("""
        CREATE FUNCTION coverage_run_delete_households() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM coverage_household WHERE run_id = OLD.id;
            RETURN OLD;
        END $$""")
    op.execute("CREATE TRIGGER coverage_run_delete_households AFTER DELETE ON coverage_run "
               "FOR EACH ROW EXECUTE FUNCTION coverage_run_delete_households()")

def downgrade() -> None:
    op.execute('DROP TRIGGER coverage_run_delete_households ON coverage_run')
    op.execute('DROP FUNCTION coverage_run_delete_households()')
    op.drop_geospatial_index('idx_coverage_service_area_geom', table_name='coverage_service_area', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('coverage_service_area')
    op.drop_table('coverage_household')
    op.drop_table('coverage_gap')
    op.drop_table('coverage_facility')
    op.drop_table('coverage_area')
    op.drop_table('coverage_run')
