"""Planning data model: admin areas, settlements, households, facilities, network, pilots,
scenarios, parameter sets, targets and provenance.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 01:39:38.840993
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # PostGIS for geometry; pgRouting (network topology, travel-time oracle) where the server has it,
    # so a plain postgis/postgis container works too.
    op.execute('CREATE EXTENSION IF NOT EXISTS postgis')
    op.execute("""DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting') THEN
            CREATE EXTENSION IF NOT EXISTS pgrouting;
        END IF; END $$""")
    op.create_table('data_source',
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('licence', sa.Text(), nullable=True),
    sa.Column('illustrative', sa.Boolean(), server_default='false', nullable=False, comment='True for generated demo data: never present it as real'),
    sa.Column('loaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_data_source')),
    comment='Provenance of every loaded dataset; illustrative marks demo data'
    )
    op.create_table('import_log',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('file', sa.Text(), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('report', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_log')),
    comment='Every import with its report (read, inserted, updated, repaired, rejected)'
    )
    op.create_table('parameter_set',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('values', postgresql.JSONB(astext_type=sa.Text()), nullable=False, comment='{name: {value, unit, source, verified}}'),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parameter_set')),
    sa.UniqueConstraint('name', name=op.f('uq_parameter_set_name')),
    comment='Named parameter values, each with unit and source (config/parameters)'
    )
    op.create_geospatial_table('admin_area',
    sa.Column('code', sa.Text(), nullable=False, comment='Kemendagri code, e.g. 62.07.01.2005'),
    sa.Column('level', sa.Text(), nullable=False),
    sa.Column('parent_code', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('village_kind', sa.Text(), nullable=True, comment='desa or kelurahan (villages only)'),
    sa.Column('urban_rural', sa.Text(), nullable=True, comment='urban/rural status; changes how pit latrines count on the ladder'),
    sa.Column('bps_code', sa.Text(), nullable=True, comment='BPS code from a crosswalk; never derived from the Kemendagri code'),
    sa.Column('area_km2', sa.Float(), nullable=True, comment="Area in the region's metric CRS"),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True, comment='Multipolygon, EPSG:4326 (lon/lat)'),
    sa.Column('source', sa.Text(), nullable=False, comment='Data source this row was loaded from'),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(level = 'province' AND code ~ '^\\d{2}$') OR (level = 'regency' AND code ~ '^\\d{2}\\.\\d{2}$') OR (level = 'district' AND code ~ '^\\d{2}\\.\\d{2}\\.\\d{2}$') OR (level = 'village' AND code ~ '^\\d{2}\\.\\d{2}\\.\\d{2}\\.\\d{4}$')", name=op.f('ck_admin_area_code_pattern')),
    sa.CheckConstraint("(level = 'province') = (parent_code IS NULL)", name=op.f('ck_admin_area_parent_required')),
    sa.CheckConstraint("level IS NULL OR level IN ('province', 'regency', 'district', 'village')", name=op.f('ck_admin_area_level_vocab')),
    sa.CheckConstraint("parent_code IS NULL OR starts_with(code, parent_code || '.')", name=op.f('ck_admin_area_parent_prefix')),
    sa.CheckConstraint("urban_rural IS NULL OR urban_rural IN ('urban', 'rural')", name=op.f('ck_admin_area_urban_rural_vocab')),
    sa.CheckConstraint("village_kind IS NULL OR level = 'village'", name=op.f('ck_admin_area_kind_village_only')),
    sa.CheckConstraint("village_kind IS NULL OR village_kind IN ('desa', 'kelurahan')", name=op.f('ck_admin_area_village_kind_vocab')),
    sa.CheckConstraint('geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))', name=op.f('ck_admin_area_geom_valid')),
    sa.ForeignKeyConstraint(['parent_code'], ['admin_area.code'], name=op.f('fk_admin_area_parent_code_admin_area'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['source'], ['data_source.name'], name=op.f('fk_admin_area_source_data_source'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_admin_area')),
    sa.UniqueConstraint('bps_code', name=op.f('uq_admin_area_bps_code'))
    )
    op.create_geospatial_index('idx_admin_area_geom', 'admin_area', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_admin_area_level'), 'admin_area', ['level'], unique=False)
    op.create_index(op.f('ix_admin_area_parent_code'), 'admin_area', ['parent_code'], unique=False)
    op.create_geospatial_table('network_edge',
    sa.Column('source', sa.Text(), nullable=False, comment='Data source this row was loaded from'),
    sa.Column('mode', sa.Text(), nullable=False),
    sa.Column('class', sa.Text(), nullable=True, comment='Road class or waterway type, e.g. primary, track, river'),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('speed_kmh', sa.Float(), nullable=True, comment='Speed; NULL = from the class table'),
    sa.Column('oneway', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('length_m', sa.Float(), nullable=True, comment="Length in the region's metric CRS"),
    sa.Column('geom', Geometry(geometry_type='LINESTRING', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False, comment='Linestring, EPSG:4326 (lon/lat)'),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('source_id', sa.Text(), nullable=False, comment='Identifier in the source'),
    sa.CheckConstraint("mode IS NULL OR mode IN ('road', 'river', 'path')", name=op.f('ck_network_edge_mode_vocab')),
    sa.CheckConstraint('geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))', name=op.f('ck_network_edge_geom_valid')),
    sa.CheckConstraint('speed_kmh IS NULL OR speed_kmh > 0', name=op.f('ck_network_edge_speed_positive')),
    sa.ForeignKeyConstraint(['source'], ['data_source.name'], name=op.f('fk_network_edge_source_data_source'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_edge')),
    sa.UniqueConstraint('source', 'source_id', name='uq_network_edge_source_id')
    )
    op.create_geospatial_index('idx_network_edge_geom', 'network_edge', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_network_edge_mode'), 'network_edge', ['mode'], unique=False)
    op.create_geospatial_table('pilot',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('programme', sa.Text(), nullable=True),
    sa.Column('operator', sa.Text(), nullable=True),
    sa.Column('institution_type', sa.Text(), nullable=True),
    sa.Column('village_codes', postgresql.ARRAY(sa.Text()), nullable=True, comment='Villages served'),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('area', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True, comment='Pilot area, EPSG:4326'),
    sa.Column('source', sa.Text(), nullable=False, comment='Data source this row was loaded from'),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.CheckConstraint("institution_type IS NULL OR institution_type IN ('uptd', 'dinas', 'bumd', 'kpp', 'private', 'other')", name=op.f('ck_pilot_institution_type_vocab')),
    sa.CheckConstraint('area IS NULL OR (ST_IsValid(area) AND NOT ST_IsEmpty(area))', name=op.f('ck_pilot_area_valid')),
    sa.CheckConstraint('end_date IS NULL OR start_date IS NULL OR end_date >= start_date', name=op.f('ck_pilot_dates')),
    sa.ForeignKeyConstraint(['source'], ['data_source.name'], name=op.f('fk_pilot_source_data_source'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pilot')),
    sa.UniqueConstraint('name', name=op.f('uq_pilot_name'))
    )
    op.create_geospatial_index('idx_pilot_area', 'pilot', ['area'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('admin_population',
    sa.Column('admin_code', sa.Text(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('population', sa.BigInteger(), nullable=True),
    sa.Column('households', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('households IS NULL OR households >= 0', name=op.f('ck_admin_population_households_nonneg')),
    sa.CheckConstraint('population IS NOT NULL OR households IS NOT NULL', name=op.f('ck_admin_population_has_value')),
    sa.CheckConstraint('population IS NULL OR population >= 0', name=op.f('ck_admin_population_population_nonneg')),
    sa.ForeignKeyConstraint(['admin_code'], ['admin_area.code'], name=op.f('fk_admin_population_admin_code_admin_area'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source'], ['data_source.name'], name=op.f('fk_admin_population_source_data_source'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('admin_code', 'year', 'source', name=op.f('pk_admin_population')),
    comment='Population and households of an admin area by year and source (BPS, Dukcapil, ...)'
    )
    op.create_geospatial_table('facility',
    sa.Column('source', sa.Text(), nullable=False, comment='Data source this row was loaded from'),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('type', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('capacity', sa.Numeric(), nullable=True),
    sa.Column('capacity_unit', sa.Text(), nullable=True, comment='m3_per_day, households, persons, trucks'),
    sa.Column('operator', sa.Text(), nullable=True, comment='Operating body, e.g. UPTD PAL Seruyan'),
    sa.Column('institution_type', sa.Text(), nullable=True, comment='uptd, dinas, bumd, kpp, private'),
    sa.Column('year', sa.Integer(), nullable=True, comment='Year built or planned'),
    sa.Column('capex_idr', sa.Numeric(), nullable=True, comment='Investment cost, Rupiah'),
    sa.Column('opex_idr_per_year', sa.Numeric(), nullable=True, comment='Operating cost, Rupiah/year'),
    sa.Column('service_modes', postgresql.ARRAY(sa.Text()), nullable=True, comment='Transport modes its service uses: road, river, path'),
    sa.Column('village_code', sa.Text(), nullable=True),
    sa.Column('attributes', postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment='Other source attributes'),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False, comment='Point, EPSG:4326 (lon/lat)'),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('source_id', sa.Text(), nullable=False, comment='Identifier in the source'),
    sa.CheckConstraint("capacity_unit IS NULL OR capacity_unit IN ('m3_per_day', 'households', 'persons', 'trucks')", name=op.f('ck_facility_capacity_unit_vocab')),
    sa.CheckConstraint("institution_type IS NULL OR institution_type IN ('uptd', 'dinas', 'bumd', 'kpp', 'private', 'other')", name=op.f('ck_facility_institution_type_vocab')),
    sa.CheckConstraint("status IS NULL OR status IN ('existing', 'pilot', 'planned', 'candidate')", name=op.f('ck_facility_status_vocab')),
    sa.CheckConstraint("type IS NULL OR type IN ('iplt', 'ipal_kota', 'ipal_kawasan', 'ipal_komunal', 'mck', 'desludging_depot', 'transfer_station')", name=op.f('ck_facility_type_vocab')),
    sa.CheckConstraint('capacity IS NULL OR (capacity >= 0 AND capacity_unit IS NOT NULL)', name=op.f('ck_facility_capacity_with_unit')),
    sa.ForeignKeyConstraint(['source'], ['data_source.name'], name=op.f('fk_facility_source_data_source'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['village_code'], ['admin_area.code'], name=op.f('fk_facility_village_code_admin_area'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facility')),
    sa.UniqueConstraint('source', 'source_id', name='uq_facility_source_id')
    )
    op.create_geospatial_index('idx_facility_geom', 'facility', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_facility_status'), 'facility', ['status'], unique=False)
    op.create_index(op.f('ix_facility_type'), 'facility', ['type'], unique=False)
    op.create_index(op.f('ix_facility_village_code'), 'facility', ['village_code'], unique=False)
    op.create_geospatial_table('household',
    sa.Column('source', sa.Text(), nullable=False, comment='Data source this row was loaded from'),
    sa.Column('village_code', sa.Text(), nullable=True),
    sa.Column('ladder_rung', sa.Text(), nullable=True, comment='aman, layak_sendiri, layak_bersama, belum_layak or babs'),
    sa.Column('has_septic_tank', sa.Boolean(), nullable=True),
    sa.Column('shared_toilet', sa.Boolean(), nullable=True, comment='Toilet shared with other households'),
    sa.Column('last_desludged', sa.Date(), nullable=True, comment='Last septic tank emptying'),
    sa.Column('members', sa.Integer(), nullable=True, comment='Persons in the household'),
    sa.Column('survey_source', sa.Text(), nullable=True, comment='e.g. EHRA 2024, Kobo form id'),
    sa.Column('survey_date', sa.Date(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False, comment='Point, EPSG:4326 (lon/lat)'),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('source_id', sa.Text(), nullable=False, comment='Identifier in the source'),
    sa.CheckConstraint("ladder_rung IS NULL OR ladder_rung IN ('aman', 'layak_sendiri', 'layak_bersama', 'belum_layak', 'babs')", name=op.f('ck_household_ladder_rung_vocab')),
    sa.CheckConstraint('members IS NULL OR members > 0', name=op.f('ck_household_members_positive')),
    sa.ForeignKeyConstraint(['source'], ['data_source.name'], name=op.f('fk_household_source_data_source'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['village_code'], ['admin_area.code'], name=op.f('fk_household_village_code_admin_area'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household')),
    sa.UniqueConstraint('source', 'source_id', name='uq_household_source_id')
    )
    op.create_geospatial_index('idx_household_geom', 'household', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_household_village_code'), 'household', ['village_code'], unique=False)
    op.create_table('pilot_record',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('pilot_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('households_served', sa.Integer(), nullable=True),
    sa.Column('emptyings', sa.Integer(), nullable=True, comment='Septic tanks emptied'),
    sa.Column('sludge_m3', sa.Float(), nullable=True, comment='Sludge delivered to treatment, m3'),
    sa.Column('truck_trips', sa.Integer(), nullable=True),
    sa.Column('mean_trip_minutes', sa.Float(), nullable=True, comment='Mean round-trip time'),
    sa.Column('working_days', sa.Integer(), nullable=True),
    sa.Column('capex_idr', sa.Numeric(), nullable=True),
    sa.Column('opex_idr', sa.Numeric(), nullable=True),
    sa.Column('revenue_idr', sa.Numeric(), nullable=True, comment='Fees collected'),
    sa.Column('households_paying', sa.Integer(), nullable=True),
    sa.Column('wtp_idr', sa.Numeric(), nullable=True, comment='Mean stated willingness to pay per emptying, Rupiah'),
    sa.Column('source', sa.Text(), nullable=False, comment='Data source this row was loaded from'),
    sa.CheckConstraint('households_served IS NULL OR households_served >= 0', name=op.f('ck_pilot_record_households_nonneg')),
    sa.CheckConstraint('period_end >= period_start', name=op.f('ck_pilot_record_period_order')),
    sa.CheckConstraint('sludge_m3 IS NULL OR sludge_m3 >= 0', name=op.f('ck_pilot_record_sludge_nonneg')),
    sa.ForeignKeyConstraint(['pilot_id'], ['pilot.id'], name=op.f('fk_pilot_record_pilot_id_pilot'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source'], ['data_source.name'], name=op.f('fk_pilot_record_source_data_source'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pilot_record')),
    sa.UniqueConstraint('pilot_id', 'period_start', 'period_end', name='uq_pilot_record_period'),
    comment='What a pilot measured in one period: service, desludging, trips, money'
    )
    op.create_table('scenario',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('region_code', sa.Text(), nullable=True),
    sa.Column('parameter_set_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['parameter_set_id'], ['parameter_set.id'], name=op.f('fk_scenario_parameter_set_id_parameter_set')),
    sa.ForeignKeyConstraint(['region_code'], ['admin_area.code'], name=op.f('fk_scenario_region_code_admin_area'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scenario')),
    sa.UniqueConstraint('name', name=op.f('uq_scenario_name')),
    comment='A planning scenario: region, parameters and the facilities it includes'
    )
    op.create_geospatial_table('settlement',
    sa.Column('source', sa.Text(), nullable=False, comment='Data source this row was loaded from'),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('village_code', sa.Text(), nullable=True),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('households', sa.Integer(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False, comment='Point, Polygon or MultiPolygon, EPSG:4326'),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('source_id', sa.Text(), nullable=False, comment='Identifier in the source'),
    sa.CheckConstraint("GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON')", name=op.f('ck_settlement_geom_type')),
    sa.CheckConstraint('geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))', name=op.f('ck_settlement_geom_valid')),
    sa.CheckConstraint('population IS NULL OR population >= 0', name=op.f('ck_settlement_population_nonneg')),
    sa.ForeignKeyConstraint(['source'], ['data_source.name'], name=op.f('fk_settlement_source_data_source'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['village_code'], ['admin_area.code'], name=op.f('fk_settlement_village_code_admin_area'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement')),
    sa.UniqueConstraint('source', 'source_id', name='uq_settlement_source_id')
    )
    op.create_geospatial_index('idx_settlement_geom', 'settlement', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_settlement_village_code'), 'settlement', ['village_code'], unique=False)
    op.create_table('target',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('indicator', sa.Text(), nullable=False, comment='e.g. layak_pct, aman_pct, babs_pct'),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('unit', sa.Text(), server_default='percent_households', nullable=False),
    sa.Column('scope_code', sa.Text(), nullable=True, comment='NULL = national target'),
    sa.Column('source', sa.Text(), nullable=False, comment='Regulation or plan'),
    sa.CheckConstraint('value >= 0', name=op.f('ck_target_value_nonneg')),
    sa.ForeignKeyConstraint(['scope_code'], ['admin_area.code'], name=op.f('fk_target_scope_code_admin_area'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_target')),
    sa.UniqueConstraint('indicator', 'year', 'scope_code', name='uq_target_indicator_year_scope', postgresql_nulls_not_distinct=True),
    comment='Targets such as RPJMN 2020-2024: 90% layak, 15% aman, 0% BABS'
    )
    op.create_table('scenario_facility',
    sa.Column('scenario_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_scenario_facility_facility_id_facility'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenario.id'], name=op.f('fk_scenario_facility_scenario_id_scenario'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('scenario_id', 'facility_id', name=op.f('pk_scenario_facility')),
    comment='Facilities that take part in a scenario'
    )
    # GeoAlchemy2's create_geospatial_table drops table comments: set them here.
    op.create_table_comment('admin_area', 'Administrative areas by official Kemendagri code: province > regency > district (kecamatan) > village (desa/kelurahan)')
    op.create_table_comment('settlement', 'Settlements (kampung, dusun, permukiman) as polygons or points')
    op.create_table_comment('household', 'Households or buildings as points with their sanitation access (DOMAIN.md 2)')
    op.create_table_comment('facility', 'Sanitation facilities: IPLT, IPAL kota/kawasan/komunal, MCK, desludging depots')
    op.create_table_comment('network_edge', 'Transport network: roads, navigable rivers and walking paths')
    op.create_table_comment('pilot', 'A pilot service (e.g. SERUYAN BARASIH scheduled desludging) and where it ran')


def downgrade() -> None:
    # Extensions stay: other databases objects may use them.
    op.drop_table('scenario_facility')
    op.drop_table('target')
    op.drop_index(op.f('ix_settlement_village_code'), table_name='settlement')
    op.drop_geospatial_index('idx_settlement_geom', table_name='settlement', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('settlement')
    op.drop_table('scenario')
    op.drop_table('pilot_record')
    op.drop_index(op.f('ix_household_village_code'), table_name='household')
    op.drop_geospatial_index('idx_household_geom', table_name='household', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('household')
    op.drop_index(op.f('ix_facility_village_code'), table_name='facility')
    op.drop_index(op.f('ix_facility_type'), table_name='facility')
    op.drop_index(op.f('ix_facility_status'), table_name='facility')
    op.drop_geospatial_index('idx_facility_geom', table_name='facility', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('facility')
    op.drop_table('admin_population')
    op.drop_geospatial_index('idx_pilot_area', table_name='pilot', postgresql_using='gist', column_name='area')
    op.drop_geospatial_table('pilot')
    op.drop_index(op.f('ix_network_edge_mode'), table_name='network_edge')
    op.drop_geospatial_index('idx_network_edge_geom', table_name='network_edge', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('network_edge')
    op.drop_index(op.f('ix_admin_area_parent_code'), table_name='admin_area')
    op.drop_index(op.f('ix_admin_area_level'), table_name='admin_area')
    op.drop_geospatial_index('idx_admin_area_geom', table_name='admin_area', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('admin_area')
    op.drop_table('parameter_set')
    op.drop_table('import_log')
    op.drop_table('data_source')
