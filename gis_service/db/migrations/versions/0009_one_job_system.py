"""One job system: OGC API – Processes executions are rows of ``job`` too. A job records the OGC
request's wishes (raw or document response, subscriber callbacks) and a heartbeat, the lease by
which a worker that died on any host is found and its job marked failed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 20:10:00
"""
from typing import Sequence, Union

from alembic import op

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('job', sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True,
                                   comment='Last sign of life of its worker while running (the lease)'))
    op.add_column('job', sa.Column('ogc', postgresql.JSONB(astext_type=sa.Text()), nullable=True,
                                   comment='Started through OGC API - Processes: its response kind and subscriber'))
    op.create_index('ix_job_user_name_status', 'job', ['user_name', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_job_user_name_status', table_name='job')
    op.drop_column('job', 'ogc')
    op.drop_column('job', 'heartbeat_at')
