"""Sanitation facilities, their drawn service areas and the road/river/path network."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis_service.db.models.base import (
    Base,
    _Sourced,
    geom,
    one_of,
    source_fk,
    valid_geom,
)
from gis_service.vocabulary import (
    CapacityUnit,
    FacilityStatus,
    FacilityType,
    InstitutionType,
    NetworkMode,
)


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
