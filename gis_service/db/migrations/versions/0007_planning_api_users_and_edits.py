"""The planning API: its users (a role and the hash of an API key), the log of facility edits
(who, when, before and after, undo), and a version on every facility for optimistic locking.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 10:27:37.788649
"""
from typing import Sequence, Union

from alembic import op

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('api_user',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('key_hash', sa.Text(), nullable=False, comment='sha256 hex of the API key'),
    sa.Column('key_prefix', sa.Text(), nullable=False, comment='First characters, to tell keys apart'),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('viewer', 'editor', 'admin')", name=op.f('ck_api_user_role_vocab')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_user')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_user_key_hash')),
    sa.UniqueConstraint('name', name=op.f('uq_api_user_name')),
    comment='Who may call the planning API: a role and the SHA-256 of an API key (the key itself is never stored)'
    )
    op.create_table('facility_edit',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('facility_id', sa.BigInteger(), nullable=False),
    sa.Column('user_name', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment='The row before (null for a create)'),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment='The row after (null for a delete)'),
    sa.Column('undoes', sa.BigInteger(), nullable=True, comment='The edit an undo reverted'),
    sa.Column('undone_by', sa.BigInteger(), nullable=True, comment='The undo that reverted this edit'),
    sa.CheckConstraint("action IN ('create', 'update', 'delete', 'undo')", name=op.f('ck_facility_edit_action_vocab')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facility_edit')),
    comment='Every edit of a facility through the planning API: who, when, the row before and after'
    )
    op.create_index(op.f('ix_facility_edit_facility_id'), 'facility_edit', ['facility_id'], unique=False)
    op.add_column('facility', sa.Column('version', sa.Integer(), server_default='1', nullable=False, comment='Raised by every edit; a stale version is refused (optimistic locking)'))



def downgrade() -> None:
    op.drop_column('facility', 'version')
    op.drop_index(op.f('ix_facility_edit_facility_id'), table_name='facility_edit')
    op.drop_table('facility_edit')
    op.drop_table('api_user')
