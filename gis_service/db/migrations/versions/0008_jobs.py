"""Background jobs of the planning API: a coverage or scale-up run asked for over HTTP, its state,
progress and result, run by a worker process so that it outlives the request (and the client).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 11:50:00
"""
from typing import Sequence, Union

from alembic import op

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('job',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('scenario', sa.Text(), nullable=True, comment='Scenario name (none: existing and pilot facilities)'),
    sa.Column('options', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.Text(), server_default='queued', nullable=False),
    sa.Column('step', sa.Text(), nullable=True, comment='The step running now'),
    sa.Column('progress', sa.Float(), server_default='0', nullable=False, comment='0..1'),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment='Run id and headline'),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('user_name', sa.Text(), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=True, comment='Worker process while running'),
    sa.Column('cancel_requested', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('coverage', 'scaleup')", name=op.f('ck_job_kind_vocab')),
    sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
                       name=op.f('ck_job_status_vocab')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job')),
    comment='Coverage and scale-up runs asked for through the planning API, run in the background'
    )
    op.create_index('ix_job_status', 'job', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_job_status', table_name='job')
    op.drop_table('job')
