"""The planning data model (GeoAlchemy2). Alembic migrations create it; nothing calls create_all.

Geometries are stored in EPSG:4326 with the SRID and type enforced by the column type, and a CHECK
keeps invalid geometries out. Vocabularies are CHECK constraints over text (see ``vocabulary``), so a
migration can extend them without the pain of PostgreSQL enum types.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Date, DateTime, Float, ForeignKey, Identity, Index, Integer,
    REAL, MetaData, Numeric, Text, UniqueConstraint, func, text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from gis_service.vocabulary import (
    AdminLevel, CapacityUnit, Disposal, FacilityStatus, FacilityType, InstitutionType, LadderRung,
    NetworkMode, ToiletType, UrbanRural, VillageKind,
)

SRID = 4326
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


PUBLISHED_AT = "When an editor published it; the default layers show the run published last"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def one_of(column: str, vocab: type[StrEnum], name: str | None = None) -> CheckConstraint:
    allowed = ", ".join(f"'{m.value}'" for m in vocab)
    return CheckConstraint(f"{column} IS NULL OR {column} IN ({allowed})", name=name or f"{column}_vocab")


def valid_geom(column: str = "geom") -> CheckConstraint:
    return CheckConstraint(f"{column} IS NULL OR (ST_IsValid({column}) AND NOT ST_IsEmpty({column}))",
                           name=f"{column}_valid")


def geom(kind: str, nullable: bool = False, comment: str = "") -> Mapped:
    return mapped_column(Geometry(kind, srid=SRID, spatial_index=True), nullable=nullable,
                         comment=comment or f"{kind.title()}, EPSG:4326 (lon/lat)")


def source_fk() -> Mapped[str]:
    return mapped_column(Text, ForeignKey("data_source.name", onupdate="CASCADE"), nullable=False,
                         comment="Data source this row was loaded from")


class DataSource(Base):
    __tablename__ = "data_source"
    __table_args__ = {"comment": "Provenance of every loaded dataset; illustrative marks demo data"}

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    licence: Mapped[str | None] = mapped_column(Text)
    illustrative: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default="false",
        comment="True for generated demo data: never present it as real")
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AdminArea(Base):
    __tablename__ = "admin_area"
    __table_args__ = (
        one_of("level", AdminLevel),
        one_of("village_kind", VillageKind),
        one_of("urban_rural", UrbanRural),
        CheckConstraint(
            r"(level = 'province' AND code ~ '^\d{2}$') OR (level = 'regency' AND code ~ '^\d{2}\.\d{2}$')"
            r" OR (level = 'district' AND code ~ '^\d{2}\.\d{2}\.\d{2}$')"
            r" OR (level = 'village' AND code ~ '^\d{2}\.\d{2}\.\d{2}\.\d{4}$')", name="code_pattern"),
        CheckConstraint("(level = 'province') = (parent_code IS NULL)", name="parent_required"),
        CheckConstraint("parent_code IS NULL OR starts_with(code, parent_code || '.')", name="parent_prefix"),
        CheckConstraint("village_kind IS NULL OR level = 'village'", name="kind_village_only"),
        valid_geom(),
        {"comment": "Administrative areas by official Kemendagri code: province > regency > district "
                    "(kecamatan) > village (desa/kelurahan)"},
    )

    code: Mapped[str] = mapped_column(Text, primary_key=True, comment="Kemendagri code, e.g. 62.07.01.2005")
    level: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    parent_code: Mapped[str | None] = mapped_column(
        Text, ForeignKey("admin_area.code", onupdate="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    village_kind: Mapped[str | None] = mapped_column(Text, comment="desa or kelurahan (villages only)")
    urban_rural: Mapped[str | None] = mapped_column(
        Text, comment="urban/rural status; changes how pit latrines count on the ladder")
    bps_code: Mapped[str | None] = mapped_column(
        Text, unique=True, comment="BPS code from a crosswalk; never derived from the Kemendagri code")
    area_km2: Mapped[float | None] = mapped_column(Float, comment="Area in the region's metric CRS")
    geom = geom("MULTIPOLYGON", nullable=True)
    source: Mapped[str] = source_fk()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AdminPopulation(Base):
    __tablename__ = "admin_population"
    __table_args__ = (
        CheckConstraint("population IS NOT NULL OR households IS NOT NULL", name="has_value"),
        CheckConstraint("population IS NULL OR population >= 0", name="population_nonneg"),
        CheckConstraint("households IS NULL OR households >= 0", name="households_nonneg"),
        {"comment": "Population and households of an admin area by year and source (BPS, Dukcapil, ...)"},
    )

    admin_code: Mapped[str] = mapped_column(
        Text, ForeignKey("admin_area.code", onupdate="CASCADE", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(
        Text, ForeignKey("data_source.name", onupdate="CASCADE"), primary_key=True)
    population: Mapped[int | None] = mapped_column(BigInteger)
    households: Mapped[int | None] = mapped_column(BigInteger)


class _Sourced:
    """Rows keyed by (source, source_id) so that re-importing a file updates instead of duplicating."""

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source_id: Mapped[str] = mapped_column(Text, nullable=False, comment="Identifier in the source")


class Settlement(_Sourced, Base):
    __tablename__ = "settlement"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_settlement_source_id"),
        CheckConstraint("GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON')", name="geom_type"),
        CheckConstraint("population IS NULL OR population >= 0", name="population_nonneg"),
        valid_geom(),
        {"comment": "Settlements (kampung, dusun, permukiman) as polygons or points"},
    )
    source: Mapped[str] = source_fk()
    name: Mapped[str | None] = mapped_column(Text)
    village_code: Mapped[str | None] = mapped_column(
        Text, ForeignKey("admin_area.code", onupdate="CASCADE"), index=True)
    population: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    year: Mapped[int | None] = mapped_column(Integer)
    geom = geom("GEOMETRY", comment="Point, Polygon or MultiPolygon, EPSG:4326")


class Household(_Sourced, Base):
    __tablename__ = "household"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_household_source_id"),
        one_of("ladder_rung", LadderRung),
        one_of("toilet_type", ToiletType),
        one_of("disposal", Disposal),
        CheckConstraint("members IS NULL OR members > 0", name="members_positive"),
        {"comment": "Households or buildings as points with their sanitation access (DOMAIN.md 2)"},
    )
    source: Mapped[str] = source_fk()
    village_code: Mapped[str | None] = mapped_column(
        Text, ForeignKey("admin_area.code", onupdate="CASCADE"), index=True)
    ladder_rung: Mapped[str | None] = mapped_column(
        Text, comment="aman, layak_sendiri, layak_bersama, belum_layak or babs")
    has_septic_tank: Mapped[bool | None] = mapped_column(Boolean)
    toilet_type: Mapped[str | None] = mapped_column(
        Text, comment="gooseneck, non_gooseneck, public or none: derives the rung when none is given")
    disposal: Mapped[str | None] = mapped_column(Text, comment="septic_tank, pit, offsite or open")
    shared_toilet: Mapped[bool | None] = mapped_column(Boolean, comment="Toilet shared with other households")
    last_desludged: Mapped[date | None] = mapped_column(Date, comment="Last septic tank emptying")
    members: Mapped[int | None] = mapped_column(Integer, comment="Persons in the household")
    survey_source: Mapped[str | None] = mapped_column(Text, comment="e.g. EHRA 2024, Kobo form id")
    survey_date: Mapped[date | None] = mapped_column(Date)
    geom = geom("POINT")


class Facility(_Sourced, Base):
    __tablename__ = "facility"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_facility_source_id"),
        one_of("type", FacilityType),
        one_of("status", FacilityStatus),
        one_of("capacity_unit", CapacityUnit),
        one_of("institution_type", InstitutionType),
        CheckConstraint("capacity IS NULL OR (capacity >= 0 AND capacity_unit IS NOT NULL)",
                        name="capacity_with_unit"),
        {"comment": "Sanitation facilities: IPLT, IPAL kota/kawasan/komunal, MCK, desludging depots"},
    )
    source: Mapped[str] = source_fk()
    name: Mapped[str] = mapped_column(Text, nullable=False)
    type: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    status: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    capacity: Mapped[float | None] = mapped_column(Numeric)
    capacity_unit: Mapped[str | None] = mapped_column(Text, comment="m3_per_day, households, persons, trucks")
    operator: Mapped[str | None] = mapped_column(Text, comment="Operating body, e.g. UPTD PAL Seruyan")
    institution_type: Mapped[str | None] = mapped_column(Text, comment="uptd, dinas, bumd, kpp, private")
    year: Mapped[int | None] = mapped_column(Integer, comment="Year built or planned")
    capex_idr: Mapped[float | None] = mapped_column(Numeric, comment="Investment cost, Rupiah")
    opex_idr_per_year: Mapped[float | None] = mapped_column(Numeric, comment="Operating cost, Rupiah/year")
    service_modes: Mapped[list[str] | None] = mapped_column(
        ARRAY(Text), comment="Transport modes its service uses: road, river, path")
    village_code: Mapped[str | None] = mapped_column(
        Text, ForeignKey("admin_area.code", onupdate="CASCADE"), index=True)
    feeds_facility_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("facility.id", ondelete="SET NULL"),
        comment="The IPLT a depot or transfer station delivers its sludge to (shares its capacity)")
    attributes: Mapped[dict | None] = mapped_column(JSONB, comment="Other source attributes")
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1",
                                         comment="Raised by every edit; a stale version is refused (optimistic locking)")
    geom = geom("POINT")


class ServiceArea(_Sourced, Base):
    __tablename__ = "service_area"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_service_area_source_id"),
        valid_geom(),
        {"comment": "Service areas drawn by planners, e.g. the piped area of an IPAL komunal "
                    "(coverage --method polygon)"},
    )
    source: Mapped[str] = source_fk()
    facility_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("facility.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str | None] = mapped_column(Text)
    geom = geom("MULTIPOLYGON")


class NetworkEdge(_Sourced, Base):
    __tablename__ = "network_edge"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_network_edge_source_id"),
        one_of("mode", NetworkMode),
        CheckConstraint("speed_kmh IS NULL OR speed_kmh > 0", name="speed_positive"),
        valid_geom(),
        {"comment": "Transport network: roads, navigable rivers and walking paths"},
    )
    source: Mapped[str] = source_fk()
    mode: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    edge_class: Mapped[str | None] = mapped_column(
        "class", Text, comment="Road class or waterway type, e.g. primary, track, river")
    name: Mapped[str | None] = mapped_column(Text)
    speed_kmh: Mapped[float | None] = mapped_column(Float, comment="Speed; NULL = from the class table")
    oneway: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    length_m: Mapped[float | None] = mapped_column(Float, comment="Length in the region's metric CRS")
    geom = geom("LINESTRING")


class Pilot(Base):
    __tablename__ = "pilot"
    __table_args__ = (
        one_of("institution_type", InstitutionType),
        CheckConstraint("end_date IS NULL OR start_date IS NULL OR end_date >= start_date", name="dates"),
        valid_geom("area"),
        {"comment": "A pilot service (e.g. SERUYAN BARASIH scheduled desludging) and where it ran"},
    )
    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    programme: Mapped[str | None] = mapped_column(Text)
    operator: Mapped[str | None] = mapped_column(Text)
    institution_type: Mapped[str | None] = mapped_column(Text)
    village_codes: Mapped[list[str] | None] = mapped_column(ARRAY(Text), comment="Villages served")
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    area = geom("MULTIPOLYGON", nullable=True, comment="Pilot area, EPSG:4326")
    source: Mapped[str] = source_fk()
    notes: Mapped[str | None] = mapped_column(Text)
    records: Mapped[list[PilotRecord]] = relationship(back_populates="pilot", cascade="all, delete-orphan")


class PilotRecord(Base):
    __tablename__ = "pilot_record"
    __table_args__ = (
        UniqueConstraint("pilot_id", "period_start", "period_end", name="uq_pilot_record_period"),
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint("households_served IS NULL OR households_served >= 0", name="households_nonneg"),
        CheckConstraint("sludge_m3 IS NULL OR sludge_m3 >= 0", name="sludge_nonneg"),
        {"comment": "What a pilot measured in one period: service, desludging, trips, money"},
    )
    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    pilot_id: Mapped[int] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), nullable=False)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    households_served: Mapped[int | None] = mapped_column(Integer)
    emptyings: Mapped[int | None] = mapped_column(Integer, comment="Septic tanks emptied")
    sludge_m3: Mapped[float | None] = mapped_column(Float, comment="Sludge delivered to treatment, m3")
    truck_trips: Mapped[int | None] = mapped_column(Integer)
    mean_trip_minutes: Mapped[float | None] = mapped_column(Float, comment="Mean round-trip time")
    working_days: Mapped[int | None] = mapped_column(Integer)
    trucks: Mapped[int | None] = mapped_column(Integer, comment="Vacuum trucks in service")
    capex_idr: Mapped[float | None] = mapped_column(Numeric)
    opex_idr: Mapped[float | None] = mapped_column(Numeric)
    revenue_idr: Mapped[float | None] = mapped_column(Numeric, comment="Fees collected")
    households_paying: Mapped[int | None] = mapped_column(Integer)
    wtp_idr: Mapped[float | None] = mapped_column(
        Numeric, comment="Mean stated willingness to pay per emptying, Rupiah")
    source: Mapped[str] = source_fk()
    pilot: Mapped[Pilot] = relationship(back_populates="records")


class ParameterSet(Base):
    __tablename__ = "parameter_set"
    __table_args__ = {"comment": "Named parameter values, each with unit and source (config/parameters)"}
    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    values: Mapped[dict] = mapped_column(
        JSONB, nullable=False, comment="{name: {value, unit, source, verified}}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Scenario(Base):
    __tablename__ = "scenario"
    __table_args__ = {"comment": "A planning scenario: region, parameters and the facilities it includes"}
    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    region_code: Mapped[str | None] = mapped_column(Text, ForeignKey("admin_area.code", onupdate="CASCADE"))
    parameter_set_id: Mapped[int | None] = mapped_column(ForeignKey("parameter_set.id"))
    plan: Mapped[dict | None] = mapped_column(
        JSONB, comment="Scale-up plan: which facilities to site, limits, phases (config/scenarios/*.yml)")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1", comment="Raised by "
                                         "every edit; a stale version is refused (optimistic locking)")


class ScenarioFacility(Base):
    __tablename__ = "scenario_facility"
    __table_args__ = {"comment": "Facilities that take part in a scenario"}
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenario.id", ondelete="CASCADE"), primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id", ondelete="CASCADE"), primary_key=True)


class Target(Base):
    __tablename__ = "target"
    __table_args__ = (
        UniqueConstraint("indicator", "year", "scope_code", name="uq_target_indicator_year_scope",
                         postgresql_nulls_not_distinct=True),
        CheckConstraint("value >= 0", name="value_nonneg"),
        {"comment": "Targets such as RPJMN 2020-2024: 90% layak, 15% aman, 0% BABS"},
    )
    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    indicator: Mapped[str] = mapped_column(Text, nullable=False, comment="e.g. layak_pct, aman_pct, babs_pct")
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    unit: Mapped[str] = mapped_column(Text, nullable=False, server_default="percent_households")
    scope_code: Mapped[str | None] = mapped_column(
        Text, ForeignKey("admin_area.code", onupdate="CASCADE"), comment="NULL = national target")
    source: Mapped[str] = mapped_column(Text, nullable=False, comment="Regulation or plan")


class ImportLog(Base):
    __tablename__ = "import_log"
    __table_args__ = {"comment": "Every import with its report (read, inserted, updated, repaired, rejected)"}
    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    file: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    report: Mapped[dict] = mapped_column(JSONB, nullable=False)


# ---- coverage runs (the coverage engine writes these; every run is kept) ------------------------

class CoverageRun(Base):
    __tablename__ = "coverage_run"
    __table_args__ = (
        CheckConstraint("method IN ('buffer', 'network', 'polygon')", name="method_vocab"),
        Index("ix_coverage_run_published_at", "published_at", postgresql_where=text("published_at IS NOT NULL")),
        {"comment": "One coverage analysis: scenario, method, thresholds, parameters used, timings"},
    )
    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    scenario_id: Mapped[int | None] = mapped_column(ForeignKey("scenario.id", ondelete="SET NULL"))
    scenario_name: Mapped[str] = mapped_column(Text, nullable=False)
    method: Mapped[str] = mapped_column(Text, nullable=False)
    thresholds_min: Mapped[list[float] | None] = mapped_column(ARRAY(Float), comment="Travel-time bands")
    distance_m: Mapped[float | None] = mapped_column(Float, comment="Buffer radius, metres")
    capacity_limited: Mapped[bool] = mapped_column(Boolean, nullable=False)
    demand: Mapped[str] = mapped_column(Text, nullable=False, comment="How demand was represented")
    parameters: Mapped[dict] = mapped_column(JSONB, nullable=False, comment="Parameter values used")
    illustrative: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    seconds: Mapped[dict | None] = mapped_column(JSONB, comment="Timings by step")
    summary: Mapped[dict | None] = mapped_column(JSONB, comment="Regency totals")
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), comment=PUBLISHED_AT)
    published_by: Mapped[str | None] = mapped_column(Text, comment="Who published it")


class CoverageHousehold(Base):
    __tablename__ = "coverage_household"
    __table_args__ = {"comment": "Per household: for each service the serving facility, the nearest "
                                 "reachable one and the cost to it (one row per household and run)"}
    # No foreign key: a run writes a million of these rows and a per-row key check doubled the
    # write. The run row is written in the same transaction, and a trigger on coverage_run
    # deletes a run's households with it (migration 0002).
    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    lltt_facility_id: Mapped[int | None] = mapped_column(BigInteger, comment="Serving LLTT facility")
    lltt_nearest_id: Mapped[int | None] = mapped_column(BigInteger, comment="Nearest reachable")
    lltt_cost: Mapped[float | None] = mapped_column(
        Float, comment="To the nearest reachable LLTT facility: minutes (network) or metres (buffer)")
    offsite_facility_id: Mapped[int | None] = mapped_column(BigInteger, comment="Serving IPAL")
    offsite_nearest_id: Mapped[int | None] = mapped_column(BigInteger)
    offsite_cost: Mapped[float | None] = mapped_column(Float, comment="Metres to the nearest IPAL")
    mck_facility_id: Mapped[int | None] = mapped_column(BigInteger, comment="Serving MCK")
    mck_nearest_id: Mapped[int | None] = mapped_column(BigInteger)
    mck_cost: Mapped[float | None] = mapped_column(Float, comment="Walking minutes (or metres)")
    # The k nearest reachable facilities per service, nearest first (arrays: one row per household
    # keeps a province run's write at a million rows instead of k million).
    lltt_near_ids: Mapped[list[int] | None] = mapped_column(
        ARRAY(BigInteger), comment="The k nearest reachable facilities, nearest first")
    lltt_near_costs: Mapped[list[float] | None] = mapped_column(
        ARRAY(REAL), comment="Cost to each of them: minutes (network) or metres")
    offsite_near_ids: Mapped[list[int] | None] = mapped_column(
        ARRAY(BigInteger), comment="The k nearest reachable facilities, nearest first")
    offsite_near_costs: Mapped[list[float] | None] = mapped_column(
        ARRAY(REAL), comment="Cost to each of them: minutes (network) or metres")
    mck_near_ids: Mapped[list[int] | None] = mapped_column(
        ARRAY(BigInteger), comment="The k nearest reachable facilities, nearest first")
    mck_near_costs: Mapped[list[float] | None] = mapped_column(
        ARRAY(REAL), comment="Cost to each of them: minutes (network) or metres")


class CoverageFacility(Base):
    __tablename__ = "coverage_facility"
    __table_args__ = {"comment": "Per facility: capacity in households, demand in reach, households served"}
    run_id: Mapped[int] = mapped_column(ForeignKey("coverage_run.id", ondelete="CASCADE"), primary_key=True)
    facility_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    service: Mapped[str] = mapped_column(Text, nullable=False)
    capacity_households: Mapped[float | None] = mapped_column(Float, comment="NULL = no capacity limit")
    households_in_reach: Mapped[int] = mapped_column(Integer, nullable=False)
    served_households: Mapped[int] = mapped_column(Integer, nullable=False)
    served_people: Mapped[int] = mapped_column(Integer, nullable=False)


class CoverageArea(Base):
    __tablename__ = "coverage_area"
    __table_args__ = (
        CheckConstraint("served_households <= households", name="served_le_total"),
        {"comment": "Per admin area (village, district, regency) and service: households and people "
                    "served and unserved, ladder counts now and projected under the scenario"},
    )
    run_id: Mapped[int] = mapped_column(ForeignKey("coverage_run.id", ondelete="CASCADE"), primary_key=True)
    area_code: Mapped[str] = mapped_column(Text, primary_key=True)
    service: Mapped[str] = mapped_column(Text, primary_key=True, comment="Service type or 'all'")
    level: Mapped[str] = mapped_column(Text, nullable=False)
    households: Mapped[int] = mapped_column(Integer, nullable=False)
    people: Mapped[int] = mapped_column(Integer, nullable=False)
    served_households: Mapped[int] = mapped_column(Integer, nullable=False)
    served_people: Mapped[int] = mapped_column(Integer, nullable=False)
    ladder: Mapped[dict | None] = mapped_column(JSONB, comment="Households by rung now ('all' rows only)")
    ladder_projected: Mapped[dict | None] = mapped_column(
        JSONB, comment="Households by rung if the scenario runs ('all' rows only)")


class CoverageGap(Base):
    __tablename__ = "coverage_gap"
    __table_args__ = {"comment": "Gap to each target row per admin area, now and projected"}
    run_id: Mapped[int] = mapped_column(ForeignKey("coverage_run.id", ondelete="CASCADE"), primary_key=True)
    area_code: Mapped[str] = mapped_column(Text, primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("target.id", ondelete="CASCADE"), primary_key=True)
    indicator: Mapped[str] = mapped_column(Text, nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False, comment="Target year")
    target_pct: Mapped[float] = mapped_column(Float, nullable=False)
    current_pct: Mapped[float] = mapped_column(Float, nullable=False)
    projected_pct: Mapped[float] = mapped_column(Float, nullable=False)
    gap_households: Mapped[int] = mapped_column(Integer, nullable=False, comment="Households still needed")
    gap_people: Mapped[int] = mapped_column(Integer, nullable=False)


class CoverageServiceArea(Base):
    __tablename__ = "coverage_service_area"
    __table_args__ = (valid_geom(), {"comment": "Service area of each facility per band: a network "
                                               "isochrone (minutes) or a radius (metres)"})
    run_id: Mapped[int] = mapped_column(ForeignKey("coverage_run.id", ondelete="CASCADE"), primary_key=True)
    facility_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    threshold: Mapped[float] = mapped_column(Float, primary_key=True, comment="Band edge")
    unit: Mapped[str] = mapped_column(Text, nullable=False, comment="min (network) or m (radius)")
    service: Mapped[str] = mapped_column(Text, nullable=False)
    geom = geom("MULTIPOLYGON")


class CoverageDemandPoint(Base):
    __tablename__ = "coverage_demand_point"
    __table_args__ = (
        CheckConstraint("origin IN ('settlement', 'village', 'raster')", name="origin_vocab"),
        {"comment": "Demand points of a run that did not use household points: settlements, village "
                    "totals spread onto settlements, or population raster cells; served counts per service"},
    )
    run_id: Mapped[int] = mapped_column(ForeignKey("coverage_run.id", ondelete="CASCADE"), primary_key=True)
    point_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin: Mapped[str] = mapped_column(Text, nullable=False)
    origin_ref: Mapped[str | None] = mapped_column(Text, comment="Settlement id, village code or cell row/col")
    village_code: Mapped[str | None] = mapped_column(Text)
    households: Mapped[int] = mapped_column(Integer, nullable=False)
    people: Mapped[int] = mapped_column(Integer, nullable=False)
    lltt_served: Mapped[int] = mapped_column(Integer, nullable=False, comment="Households served")
    offsite_served: Mapped[int] = mapped_column(Integer, nullable=False)
    mck_served: Mapped[int] = mapped_column(Integer, nullable=False)
    any_served: Mapped[int] = mapped_column(Integer, nullable=False)
    geom = geom("POINT")


class VillageRisk(Base):
    __tablename__ = "village_risk"
    __table_args__ = (
        CheckConstraint("risk_class BETWEEN 1 AND 4", name="risk_class_range"),
        {"comment": "EHRA sanitation risk per village: class 4 amat tinggi .. 1 rendah, and the index (IRS)"},
    )
    village_code: Mapped[str] = mapped_column(
        Text, ForeignKey("admin_area.code", onupdate="CASCADE", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_class: Mapped[int] = mapped_column(Integer, nullable=False, comment="4 amat tinggi, 3 tinggi, 2 sedang, 1 rendah")
    risk_index: Mapped[float | None] = mapped_column(Float, comment="Indeks risiko sanitasi (IRS)")
    source: Mapped[str] = source_fk()


class ScaleupRun(Base):
    __tablename__ = "scaleup_run"
    __table_args__ = (
        Index("ix_scaleup_run_published_at", "published_at", postgresql_where=text("published_at IS NOT NULL")),
        {"comment": "One scale-up plan: scenario, region, parameters and calibration used, totals"},
    )
    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    scenario_id: Mapped[int | None] = mapped_column(ForeignKey("scenario.id", ondelete="SET NULL"))
    scenario_name: Mapped[str] = mapped_column(Text, nullable=False)
    region_code: Mapped[str] = mapped_column(Text, nullable=False, comment="Planned area (Kemendagri code)")
    plan: Mapped[dict] = mapped_column(JSONB, nullable=False, comment="The scenario's plan as run")
    parameters: Mapped[dict] = mapped_column(JSONB, nullable=False, comment="Parameter values used, with sources")
    calibration: Mapped[dict | None] = mapped_column(JSONB, comment="Observed pilot parameters beside the defaults")
    illustrative: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    seconds: Mapped[dict | None] = mapped_column(JSONB, comment="Timings by step")
    summary: Mapped[dict | None] = mapped_column(JSONB, comment="Headline, siting, finance, institutions")
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), comment=PUBLISHED_AT)
    published_by: Mapped[str | None] = mapped_column(Text, comment="Who published it")


class ScaleupFacility(Base):
    __tablename__ = "scaleup_facility"
    __table_args__ = (
        CheckConstraint("role IN ('fixed', 'new')", name="role_vocab"),
        valid_geom(),
        {"comment": "Facilities of a scale-up plan: the fixed (existing, pilot) and the newly sited, with phase and cost"},
    )
    run_id: Mapped[int] = mapped_column(ForeignKey("scaleup_run.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[int] = mapped_column(Integer, primary_key=True, comment="Row number within the run")
    facility_id: Mapped[int | None] = mapped_column(BigInteger, comment="Stored facility (fixed or stored candidate)")
    name: Mapped[str] = mapped_column(Text, nullable=False)
    type: Mapped[str] = mapped_column(Text, nullable=False)
    role: Mapped[str] = mapped_column(Text, nullable=False)
    origin: Mapped[str] = mapped_column(Text, nullable=False, comment="existing, pilot, stored candidate, generated")
    phase: Mapped[int] = mapped_column(Integer, nullable=False, comment="0 = in place; 1 short term; 2 medium term")
    pick_order: Mapped[int | None] = mapped_column(Integer, comment="Order in which siting chose it")
    capacity: Mapped[float | None] = mapped_column(Float)
    capacity_unit: Mapped[str | None] = mapped_column(Text)
    capacity_households: Mapped[float | None] = mapped_column(Float)
    served_households: Mapped[float] = mapped_column(Float, nullable=False)
    capex_idr: Mapped[float] = mapped_column(Float, nullable=False)
    opex_idr_per_year: Mapped[float] = mapped_column(Float, nullable=False)
    institution_type: Mapped[str | None] = mapped_column(Text)
    staff: Mapped[float | None] = mapped_column(Float, comment="Staff implied (parameters)")
    trucks: Mapped[float | None] = mapped_column(Float, comment="Vacuum trucks or boats implied")
    service_modes: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    geom = geom("POINT")


class ScaleupVillage(Base):
    __tablename__ = "scaleup_village"
    __table_args__ = {"comment": "Per-village plan: needs, priority score, phase, coverage after each phase"}
    run_id: Mapped[int] = mapped_column(ForeignKey("scaleup_run.id", ondelete="CASCADE"), primary_key=True)
    village_code: Mapped[str] = mapped_column(Text, primary_key=True)
    households: Mapped[int] = mapped_column(Integer, nullable=False)
    people: Mapped[int] = mapped_column(Integer, nullable=False)
    need_tank: Mapped[int] = mapped_column(Integer, nullable=False, comment="Households needing a septic tank or toilet")
    need_lltt: Mapped[int] = mapped_column(Integer, nullable=False, comment="Households to bring onto scheduled desludging")
    need_offsite: Mapped[int] = mapped_column(Integer, nullable=False, comment="Households to connect off-site")
    covered_now: Mapped[float] = mapped_column(Float, nullable=False, comment="Households in reach of a service now")
    covered_phase1: Mapped[float] = mapped_column(Float, nullable=False)
    covered_phase2: Mapped[float] = mapped_column(Float, nullable=False)
    reachable_share: Mapped[float] = mapped_column(Float, nullable=False, comment="Share within the travel limit at the end")
    risk_class: Mapped[int | None] = mapped_column(Integer, comment="EHRA class when loaded")
    cost_per_person_idr: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float, nullable=False, comment="Priority score (weights are parameters)")
    rank: Mapped[int] = mapped_column(Integer, nullable=False)
    phase: Mapped[int] = mapped_column(Integer, nullable=False, comment="1 short term, 2 medium term, 3 later")


class ScaleupRequirement(Base):
    __tablename__ = "scaleup_requirement"
    __table_args__ = {"comment": "What reaching each target needs per area: households, sludge, trucks, plants"}
    run_id: Mapped[int] = mapped_column(ForeignKey("scaleup_run.id", ondelete="CASCADE"), primary_key=True)
    area_code: Mapped[str] = mapped_column(Text, primary_key=True)
    indicator: Mapped[str] = mapped_column(Text, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(Text, nullable=False)
    target_pct: Mapped[float] = mapped_column(Float, nullable=False)
    households: Mapped[int] = mapped_column(Integer, nullable=False)
    households_needed: Mapped[int] = mapped_column(Integer, nullable=False, comment="More households the target needs")
    new_tanks: Mapped[int] = mapped_column(Integer, nullable=False)
    lltt_households: Mapped[int] = mapped_column(Integer, nullable=False, comment="On scheduled desludging at the target")
    offsite_households: Mapped[int] = mapped_column(Integer, nullable=False)
    sludge_m3_per_day: Mapped[float] = mapped_column(Float, nullable=False)
    trips_per_day: Mapped[float] = mapped_column(Float, nullable=False)
    trucks: Mapped[dict] = mapped_column(JSONB, nullable=False, comment="Trucks needed by size (m3)")
    iplt_m3_per_day_needed: Mapped[float] = mapped_column(Float, nullable=False)
    iplt_m3_per_day_existing: Mapped[float] = mapped_column(Float, nullable=False)
    ipal_units_needed: Mapped[int] = mapped_column(Integer, nullable=False)
    ipal_units_existing: Mapped[int] = mapped_column(Integer, nullable=False)


class ScaleupPhase(Base):
    __tablename__ = "scaleup_phase"
    __table_args__ = {"comment": "Coverage and cost after each phase of a scale-up plan"}
    run_id: Mapped[int] = mapped_column(ForeignKey("scaleup_run.id", ondelete="CASCADE"), primary_key=True)
    phase: Mapped[int] = mapped_column(Integer, primary_key=True, comment="0 now, 1 short term, 2 medium term")
    until_year: Mapped[int] = mapped_column(Integer, nullable=False)
    new_facilities: Mapped[int] = mapped_column(Integer, nullable=False)
    households_covered: Mapped[float] = mapped_column(Float, nullable=False)
    people_covered: Mapped[float] = mapped_column(Float, nullable=False)
    coverage_pct: Mapped[float] = mapped_column(Float, nullable=False)
    aman_pct: Mapped[float] = mapped_column(Float, nullable=False, comment="Households aman if the phase runs")
    layak_pct: Mapped[float] = mapped_column(Float, nullable=False)
    capex_idr: Mapped[float] = mapped_column(Float, nullable=False, comment="Investment in this phase")
    capex_cumulative_idr: Mapped[float] = mapped_column(Float, nullable=False)
    opex_idr_per_year: Mapped[float] = mapped_column(Float, nullable=False, comment="Running cost once the phase is built")


class ApiUser(Base):
    __tablename__ = "api_user"
    __table_args__ = (
        CheckConstraint("role IN ('viewer', 'editor', 'admin')", name="role_vocab"),
        {"comment": "Who may call the planning API: a role and the SHA-256 of an API key (the key itself is never stored)"},
    )
    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    role: Mapped[str] = mapped_column(Text, nullable=False)
    key_hash: Mapped[str] = mapped_column(Text, nullable=False, unique=True, comment="sha256 hex of the API key")
    key_prefix: Mapped[str] = mapped_column(Text, nullable=False, comment="First characters, to tell keys apart")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FacilityEdit(Base):
    __tablename__ = "facility_edit"
    __table_args__ = (
        CheckConstraint("action IN ('create', 'update', 'delete', 'undo')", name="action_vocab"),
        {"comment": "Every edit of a facility through the planning API: who, when, the row before and after"},
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    facility_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    user_name: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    action: Mapped[str] = mapped_column(Text, nullable=False)
    before: Mapped[dict | None] = mapped_column(JSONB, comment="The row before (null for a create)")
    after: Mapped[dict | None] = mapped_column(JSONB, comment="The row after (null for a delete)")
    undoes: Mapped[int | None] = mapped_column(BigInteger, comment="The edit an undo reverted")
    undone_by: Mapped[int | None] = mapped_column(BigInteger, comment="The undo that reverted this edit")


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint("kind IN ('coverage', 'scaleup')", name="kind_vocab"),
        CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')", name="status_vocab"),
        Index("ix_job_status", "status"),
        Index("ix_job_user_name_status", "user_name", "status"),
        {"comment": "Coverage and scale-up runs asked for through the planning API, run in the background"},
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    scenario_id: Mapped[int | None] = mapped_column(
        ForeignKey("scenario.id", ondelete="SET NULL"), comment="The scenario run (none: existing and pilot facilities)")
    scenario: Mapped[str | None] = mapped_column(Text, comment="Its name when the job was submitted")
    options: Mapped[dict] = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="queued")
    step: Mapped[str | None] = mapped_column(Text, comment="The step running now")
    progress: Mapped[float] = mapped_column(Float, nullable=False, server_default="0", comment="0..1")
    result: Mapped[dict | None] = mapped_column(JSONB, comment="Run id and headline")
    error: Mapped[str | None] = mapped_column(Text)
    user_name: Mapped[str] = mapped_column(Text, nullable=False)
    host: Mapped[str | None] = mapped_column(Text, comment="Host of the worker while running")
    pid: Mapped[int | None] = mapped_column(Integer, comment="Worker process while running")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    heartbeat_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="Last sign of life of its worker while running (the lease)")
    ogc: Mapped[dict | None] = mapped_column(
        JSONB, comment="Started through OGC API - Processes: its response kind and subscriber")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ScenarioEdit(Base):
    __tablename__ = "scenario_edit"
    __table_args__ = (
        CheckConstraint("action IN ('create', 'update', 'delete', 'include', 'exclude', 'undo')", name="action_vocab"),
        {"comment": "Every edit of a scenario through the planning API: who, when, the scenario before and after"},
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    scenario_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    user_name: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    action: Mapped[str] = mapped_column(Text, nullable=False)
    before: Mapped[dict | None] = mapped_column(JSONB, comment="The scenario before (null for a create)")
    after: Mapped[dict | None] = mapped_column(JSONB, comment="The scenario after (null for a delete)")
    undoes: Mapped[int | None] = mapped_column(BigInteger, comment="The edit an undo reverted")
    undone_by: Mapped[int | None] = mapped_column(BigInteger, comment="The undo that reverted this edit")
