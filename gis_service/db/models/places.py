"""Places and people: administrative areas and their population, settlements, households."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Text,
    UniqueConstraint,
    func,
)
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
    AdminLevel,
    Disposal,
    LadderRung,
    ToiletType,
    UrbanRural,
    VillageKind,
)


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
        {"comment": "Households or buildings as points with their sanitation access (docs/domain.md §2)"},
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


class HouseholdVillageCount(Base):
    """Households per village for the households_by_village layer (``db.household_counts``)."""

    __tablename__ = "household_village_count"
    __table_args__ = {"comment": "Households and their surveyed ladder rung per village code, refreshed by "
                                 "every household import (the households_by_village layer)"}
    village_code: Mapped[str] = mapped_column(Text, primary_key=True)
    households: Mapped[int] = mapped_column(BigInteger, nullable=False)
    people_recorded: Mapped[int | None] = mapped_column(BigInteger, comment="Sum of the recorded household members")
    aman: Mapped[int] = mapped_column(BigInteger, nullable=False)
    layak_sendiri: Mapped[int] = mapped_column(BigInteger, nullable=False)
    layak_bersama: Mapped[int] = mapped_column(BigInteger, nullable=False)
    belum_layak: Mapped[int] = mapped_column(BigInteger, nullable=False)
    babs: Mapped[int] = mapped_column(BigInteger, nullable=False)
