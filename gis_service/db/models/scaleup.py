"""Scale-up plans and their results (facilities, villages, requirements, phases)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
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


class ScaleupDesludgingFlow(Base):
    __tablename__ = "scaleup_desludging_flow"
    __table_args__ = {"comment": "Households of each village a plan's desludging facility serves after each phase "
                                 "(the input of gis-service scaleup schedule)"}
    run_id: Mapped[int] = mapped_column(ForeignKey("scaleup_run.id", ondelete="CASCADE"), primary_key=True)
    facility_key: Mapped[int] = mapped_column(Integer, primary_key=True, comment="scaleup_facility.key of the run")
    village_code: Mapped[str] = mapped_column(Text, primary_key=True)
    phase: Mapped[int] = mapped_column(Integer, primary_key=True, comment="0 now, 1 short term, 2 medium term")
    households: Mapped[float] = mapped_column(Float, nullable=False, comment="Households on scheduled desludging")
