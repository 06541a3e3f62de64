"""Planning inputs: the pilot and its records, parameter sets, scenarios, targets, village risk."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gis_service.db.models.base import (
    Base,
    geom,
    one_of,
    source_fk,
    valid_geom,
)
from gis_service.vocabulary import (
    EventStatus,
    InstitutionType,
)


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


class PilotEvent(Base):
    __tablename__ = "pilot_event"
    __table_args__ = (
        UniqueConstraint("pilot_id", "source_id", name="uq_pilot_event_id"),
        one_of("status", EventStatus),
        CheckConstraint("status <> 'done' OR pumped_m3 IS NOT NULL", name="done_has_volume"),
        CheckConstraint("pumped_m3 IS NULL OR pumped_m3 >= 0", name="pumped_nonneg"),
        CheckConstraint("delivered_m3 IS NULL OR (delivered_m3 >= 0 AND delivered_m3 <= pumped_m3)",
                        name="delivered_within_pumped"),
        CheckConstraint("trip_minutes IS NULL OR trip_minutes >= 0", name="trip_nonneg"),
        CheckConstraint("fee_billed_idr IS NULL OR fee_billed_idr >= 0", name="billed_nonneg"),
        CheckConstraint("fee_paid_idr IS NULL OR fee_paid_idr >= 0", name="paid_nonneg"),
        CheckConstraint("resolved_days IS NULL OR resolved_days >= 0", name="resolved_nonneg"),
        valid_geom(),
        {"comment": "A pilot's operation log: one row per emptying attempt (gis-service import pilot_events)"},
    )
    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    pilot_id: Mapped[int] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), nullable=False, index=True)
    source_id: Mapped[str] = mapped_column(Text, nullable=False, comment="The attempt's id in the log (event_id)")
    event_date: Mapped[date] = mapped_column(Date, nullable=False, comment="Day of the attempt")
    status: Mapped[str] = mapped_column(Text, nullable=False, comment="done, cancelled or failed")
    reason: Mapped[str | None] = mapped_column(Text, comment="Why it was cancelled or failed")
    household_id: Mapped[str | None] = mapped_column(Text)
    village_code: Mapped[str | None] = mapped_column(Text, comment="Kemendagri code of the household's village")
    truck: Mapped[str | None] = mapped_column(Text, comment="Plate or fleet number")
    pumped_m3: Mapped[float | None] = mapped_column(Float, comment="Volume pumped (done rows)")
    delivered_m3: Mapped[float | None] = mapped_column(
        Float, comment="Volume received at the IPLT; NULL: not received or not recorded (counts as 0)")
    trip_minutes: Mapped[float | None] = mapped_column(Float, comment="Round trip")
    fee_billed_idr: Mapped[float | None] = mapped_column(Numeric)
    fee_paid_idr: Mapped[float | None] = mapped_column(Numeric)
    complaint: Mapped[bool | None] = mapped_column(Boolean)
    resolved_days: Mapped[float | None] = mapped_column(Float, comment="Days to resolve the complaint")
    source: Mapped[str] = source_fk()
    geom = geom("POINT", nullable=True)


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
