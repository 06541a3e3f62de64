"""Scale-up plans: a scenario's plan (what to site, limits, phases), the trucks a pilot ran, EHRA
risk classes per village, and the results of each scale-up run (facilities, villages, requirements
per target, phases), keyed by run so plans can be compared.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 09:06:10.072668
"""
from typing import Sequence, Union

from alembic import op

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

FACILITY_VIEW = """CREATE VIEW layer_scaleup_facility_all_runs AS
SELECT f.run_id || ':' || f.key AS id, f.run_id, r.scenario_name, r.region_code, f.name, f.type, f.role,
       f.origin, f.phase, f.pick_order, f.capacity, f.capacity_unit, round(f.served_households) AS served_households,
       round(f.capex_idr) AS capex_idr, round(f.opex_idr_per_year) AS opex_idr_per_year, f.institution_type,
       f.staff, f.trucks, r.started_at, f.geom
FROM scaleup_facility f JOIN scaleup_run r ON r.id = f.run_id"""
VILLAGE_VIEW = """CREATE VIEW layer_scaleup_village_all_runs AS
SELECT v.run_id || ':' || v.village_code AS id, v.run_id, r.scenario_name, v.village_code, a.name,
       a.parent_code AS district_code, v.households, v.people, v.need_tank, v.need_lltt, v.need_offsite,
       round(v.covered_now) AS covered_now, round(v.covered_phase1) AS covered_phase1,
       round(v.covered_phase2) AS covered_phase2,
       CASE WHEN v.households > 0 THEN round((100.0 * v.covered_phase2 / v.households)::numeric, 1) END
           AS coverage_plan_pct,
       round(v.reachable_share::numeric, 3) AS reachable_share, v.risk_class,
       round(v.cost_per_person_idr) AS cost_per_person_idr, v.score, v.rank, v.phase, r.started_at, a.geom
FROM scaleup_village v JOIN scaleup_run r ON r.id = v.run_id JOIN admin_area a ON a.code = v.village_code"""
COMMENT = "Published layer (layers/*.yml): scale-up plan {}"
LATEST = "CREATE VIEW {name} AS SELECT * FROM {name}_all_runs WHERE run_id = (SELECT max(id) FROM scaleup_run)"


def _views() -> None:
    op.execute(FACILITY_VIEW)
    op.execute(VILLAGE_VIEW)
    for name, what in (("layer_scaleup_facility", "facilities"), ("layer_scaleup_village", "villages")):
        op.execute(LATEST.format(name=name))
        op.execute(f"COMMENT ON VIEW {name}_all_runs IS '{COMMENT.format(what + ' of every run')}'")
        op.execute(f"COMMENT ON VIEW {name} IS '{COMMENT.format(what + ' (latest run)')}'")


def upgrade() -> None:
    op.create_table('village_risk',
    sa.Column('village_code', sa.Text(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('risk_class', sa.Integer(), nullable=False, comment='4 amat tinggi, 3 tinggi, 2 sedang, 1 rendah'),
    sa.Column('risk_index', sa.Float(), nullable=True, comment='Indeks risiko sanitasi (IRS)'),
    sa.Column('source', sa.Text(), nullable=False, comment='Data source this row was loaded from'),
    sa.CheckConstraint('risk_class BETWEEN 1 AND 4', name=op.f('ck_village_risk_risk_class_range')),
    sa.ForeignKeyConstraint(['source'], ['data_source.name'], name=op.f('fk_village_risk_source_data_source'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['village_code'], ['admin_area.code'], name=op.f('fk_village_risk_village_code_admin_area'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('village_code', 'year', name=op.f('pk_village_risk')),
    comment='EHRA sanitation risk per village: class 4 amat tinggi .. 1 rendah, and the index (IRS)'
    )
    op.create_table('scaleup_run',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('scenario_id', sa.Integer(), nullable=True),
    sa.Column('scenario_name', sa.Text(), nullable=False),
    sa.Column('region_code', sa.Text(), nullable=False, comment='Planned area (Kemendagri code)'),
    sa.Column('plan', postgresql.JSONB(astext_type=sa.Text()), nullable=False, comment="The scenario's plan as run"),
    sa.Column('parameters', postgresql.JSONB(astext_type=sa.Text()), nullable=False, comment='Parameter values used, with sources'),
    sa.Column('calibration', postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment='Observed pilot parameters beside the defaults'),
    sa.Column('illustrative', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('seconds', postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment='Timings by step'),
    sa.Column('summary', postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment='Headline, siting, finance, institutions'),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenario.id'], name=op.f('fk_scaleup_run_scenario_id_scenario'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scaleup_run')),
    comment='One scale-up plan: scenario, region, parameters and calibration used, totals'
    )
    op.create_geospatial_table('scaleup_facility',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.Integer(), nullable=False, comment='Row number within the run'),
    sa.Column('facility_id', sa.BigInteger(), nullable=True, comment='Stored facility (fixed or stored candidate)'),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('type', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('origin', sa.Text(), nullable=False, comment='existing, pilot, stored candidate, generated'),
    sa.Column('phase', sa.Integer(), nullable=False, comment='0 = in place; 1 short term; 2 medium term'),
    sa.Column('pick_order', sa.Integer(), nullable=True, comment='Order in which siting chose it'),
    sa.Column('capacity', sa.Float(), nullable=True),
    sa.Column('capacity_unit', sa.Text(), nullable=True),
    sa.Column('capacity_households', sa.Float(), nullable=True),
    sa.Column('served_households', sa.Float(), nullable=False),
    sa.Column('capex_idr', sa.Float(), nullable=False),
    sa.Column('opex_idr_per_year', sa.Float(), nullable=False),
    sa.Column('institution_type', sa.Text(), nullable=True),
    sa.Column('staff', sa.Float(), nullable=True, comment='Staff implied (parameters)'),
    sa.Column('trucks', sa.Float(), nullable=True, comment='Vacuum trucks or boats implied'),
    sa.Column('service_modes', postgresql.ARRAY(sa.Text()), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False, comment='Point, EPSG:4326 (lon/lat)'),
    sa.CheckConstraint("role IN ('fixed', 'new')", name=op.f('ck_scaleup_facility_role_vocab')),
    sa.CheckConstraint('geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))', name=op.f('ck_scaleup_facility_geom_valid')),
    sa.ForeignKeyConstraint(['run_id'], ['scaleup_run.id'], name=op.f('fk_scaleup_facility_run_id_scaleup_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'key', name=op.f('pk_scaleup_facility'))
    )
    # geoalchemy2's create_geospatial_table drops the table comment
    op.create_table_comment('scaleup_facility', 'Facilities of a scale-up plan: the fixed (existing, pilot) and '
                            'the newly sited, with phase and cost')
    op.create_geospatial_index('idx_scaleup_facility_geom', 'scaleup_facility', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('scaleup_phase',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('phase', sa.Integer(), nullable=False, comment='0 now, 1 short term, 2 medium term'),
    sa.Column('until_year', sa.Integer(), nullable=False),
    sa.Column('new_facilities', sa.Integer(), nullable=False),
    sa.Column('households_covered', sa.Float(), nullable=False),
    sa.Column('people_covered', sa.Float(), nullable=False),
    sa.Column('coverage_pct', sa.Float(), nullable=False),
    sa.Column('aman_pct', sa.Float(), nullable=False, comment='Households aman if the phase runs'),
    sa.Column('layak_pct', sa.Float(), nullable=False),
    sa.Column('capex_idr', sa.Float(), nullable=False, comment='Investment in this phase'),
    sa.Column('capex_cumulative_idr', sa.Float(), nullable=False),
    sa.Column('opex_idr_per_year', sa.Float(), nullable=False, comment='Running cost once the phase is built'),
    sa.ForeignKeyConstraint(['run_id'], ['scaleup_run.id'], name=op.f('fk_scaleup_phase_run_id_scaleup_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'phase', name=op.f('pk_scaleup_phase')),
    comment='Coverage and cost after each phase of a scale-up plan'
    )
    op.create_table('scaleup_requirement',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.Text(), nullable=False),
    sa.Column('indicator', sa.Text(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('level', sa.Text(), nullable=False),
    sa.Column('target_pct', sa.Float(), nullable=False),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('households_needed', sa.Integer(), nullable=False, comment='More households the target needs'),
    sa.Column('new_tanks', sa.Integer(), nullable=False),
    sa.Column('lltt_households', sa.Integer(), nullable=False, comment='On scheduled desludging at the target'),
    sa.Column('offsite_households', sa.Integer(), nullable=False),
    sa.Column('sludge_m3_per_day', sa.Float(), nullable=False),
    sa.Column('trips_per_day', sa.Float(), nullable=False),
    sa.Column('trucks', postgresql.JSONB(astext_type=sa.Text()), nullable=False, comment='Trucks needed by size (m3)'),
    sa.Column('iplt_m3_per_day_needed', sa.Float(), nullable=False),
    sa.Column('iplt_m3_per_day_existing', sa.Float(), nullable=False),
    sa.Column('ipal_units_needed', sa.Integer(), nullable=False),
    sa.Column('ipal_units_existing', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['scaleup_run.id'], name=op.f('fk_scaleup_requirement_run_id_scaleup_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'area_code', 'indicator', 'year', name=op.f('pk_scaleup_requirement')),
    comment='What reaching each target needs per area: households, sludge, trucks, plants'
    )
    op.create_table('scaleup_village',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('village_code', sa.Text(), nullable=False),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('need_tank', sa.Integer(), nullable=False, comment='Households needing a septic tank or toilet'),
    sa.Column('need_lltt', sa.Integer(), nullable=False, comment='Households to bring onto scheduled desludging'),
    sa.Column('need_offsite', sa.Integer(), nullable=False, comment='Households to connect off-site'),
    sa.Column('covered_now', sa.Float(), nullable=False, comment='Households in reach of a service now'),
    sa.Column('covered_phase1', sa.Float(), nullable=False),
    sa.Column('covered_phase2', sa.Float(), nullable=False),
    sa.Column('reachable_share', sa.Float(), nullable=False, comment='Share within the travel limit at the end'),
    sa.Column('risk_class', sa.Integer(), nullable=True, comment='EHRA class when loaded'),
    sa.Column('cost_per_person_idr', sa.Float(), nullable=True),
    sa.Column('score', sa.Float(), nullable=False, comment='Priority score (weights are parameters)'),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('phase', sa.Integer(), nullable=False, comment='1 short term, 2 medium term, 3 later'),
    sa.ForeignKeyConstraint(['run_id'], ['scaleup_run.id'], name=op.f('fk_scaleup_village_run_id_scaleup_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'village_code', name=op.f('pk_scaleup_village')),
    comment='Per-village plan: needs, priority score, phase, coverage after each phase'
    )
    op.add_column('pilot_record', sa.Column('trucks', sa.Integer(), nullable=True, comment='Vacuum trucks in service'))
    op.add_column('scenario', sa.Column('plan', postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment='Scale-up plan: which facilities to site, limits, phases (config/scenarios/*.yml)'))
    _views()


def downgrade() -> None:
    for name in ("layer_scaleup_facility", "layer_scaleup_village"):
        op.execute(f"DROP VIEW IF EXISTS {name}")
        op.execute(f"DROP VIEW IF EXISTS {name}_all_runs")
    op.drop_column('scenario', 'plan')
    op.drop_column('pilot_record', 'trucks')
    op.drop_table('scaleup_village')
    op.drop_table('scaleup_requirement')
    op.drop_table('scaleup_phase')
    op.drop_geospatial_index('idx_scaleup_facility_geom', table_name='scaleup_facility', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('scaleup_facility')
    op.drop_table('scaleup_run')
    op.drop_table('village_risk')
