"""The declarative base of the planning data model, its naming convention and column helpers, and
where rows come from (data sources, the import log)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    MetaData,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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


class _Sourced:
    """Rows keyed by (source, source_id) so that re-importing a file updates instead of duplicating."""

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source_id: Mapped[str] = mapped_column(Text, nullable=False, comment="Identifier in the source")


class ImportLog(Base):
    __tablename__ = "import_log"
    __table_args__ = {"comment": "Every import with its report (read, inserted, updated, repaired, rejected)"}
    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    file: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    report: Mapped[dict] = mapped_column(JSONB, nullable=False)
