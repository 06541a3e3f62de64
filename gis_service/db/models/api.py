"""The planning API's own tables: users and keys, edit logs, background jobs."""

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
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis_service.db.models.base import (
    Base,
)


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
