"""Background jobs of the planning API: a coverage or scale-up run asked for over HTTP, its state,
progress and result, run by a worker process so that it outlives the request (and the client).
And the log of scenario edits (who, when, before and after, undo) with a version on every scenario
for optimistic locking, as facilities have since 0007.

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
    sa.Column('scenario_id', sa.Integer(), nullable=True, comment='The scenario run (none: existing and pilot facilities)'),
    sa.Column('scenario', sa.Text(), nullable=True, comment='Its name when the job was submitted'),
    sa.Column('options', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.Text(), server_default='queued', nullable=False),
    sa.Column('step', sa.Text(), nullable=True, comment='The step running now'),
    sa.Column('progress', sa.Float(), server_default='0', nullable=False, comment='0..1'),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment='Run id and headline'),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('user_name', sa.Text(), nullable=False),
    sa.Column('host', sa.Text(), nullable=True, comment='Host of the worker while running'),
    sa.Column('pid', sa.Integer(), nullable=True, comment='Worker process while running'),
    sa.Column('cancel_requested', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('coverage', 'scaleup')", name=op.f('ck_job_kind_vocab')),
    sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
                       name=op.f('ck_job_status_vocab')),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenario.id'], name=op.f('fk_job_scenario_id_scenario'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job')),
    comment='Coverage and scale-up runs asked for through the planning API, run in the background'
    )
    op.create_index('ix_job_status', 'job', ['status'], unique=False)
    op.create_table('scenario_edit',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('scenario_id', sa.Integer(), nullable=False),
    sa.Column('user_name', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment='The scenario before (null for a create)'),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment='The scenario after (null for a delete)'),
    sa.Column('undoes', sa.BigInteger(), nullable=True, comment='The edit an undo reverted'),
    sa.Column('undone_by', sa.BigInteger(), nullable=True, comment='The undo that reverted this edit'),
    sa.CheckConstraint("action IN ('create', 'update', 'delete', 'include', 'exclude', 'undo')",
                       name=op.f('ck_scenario_edit_action_vocab')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scenario_edit')),
    comment='Every edit of a scenario through the planning API: who, when, the scenario before and after'
    )
    op.create_index(op.f('ix_scenario_edit_scenario_id'), 'scenario_edit', ['scenario_id'], unique=False)
    op.add_column('scenario', sa.Column('version', sa.Integer(), server_default='1', nullable=False, comment='Raised by every edit; a stale version is refused (optimistic locking)'))


def downgrade() -> None:
    op.drop_column('scenario', 'version')
    op.drop_index(op.f('ix_scenario_edit_scenario_id'), table_name='scenario_edit')
    op.drop_table('scenario_edit')
    op.drop_index('ix_job_status', table_name='job')
    op.drop_table('job')
