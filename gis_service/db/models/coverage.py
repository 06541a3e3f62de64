"""Coverage runs and their results (per household, facility, area, gap, service area, demand point)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    REAL,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis_service.db.models.base import (
    PUBLISHED_AT,
    Base,
    geom,
    valid_geom,
)


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
