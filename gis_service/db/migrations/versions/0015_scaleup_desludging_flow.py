"""Which households of each village a plan's desludging facilities serve after each phase, so a
stored plan can be turned into a desludging calendar (``gis-service scaleup schedule``).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 02:20:00
"""
from typing import Sequence, Union

from alembic import op

import sqlalchemy as sa

revision: str = '0015'
down_revision: Union[str, None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('scaleup_desludging_flow',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('facility_key', sa.Integer(), nullable=False, comment='scaleup_facility.key of the run'),
    sa.Column('village_code', sa.Text(), nullable=False),
    sa.Column('phase', sa.Integer(), nullable=False, comment='0 now, 1 short term, 2 medium term'),
    sa.Column('households', sa.Float(), nullable=False, comment='Households on scheduled desludging'),
    sa.ForeignKeyConstraint(['run_id'], ['scaleup_run.id'], name=op.f('fk_scaleup_desludging_flow_run_id_scaleup_run'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'facility_key', 'village_code', 'phase', name=op.f('pk_scaleup_desludging_flow')),
    comment='Households of each village a plan\'s desludging facility serves after each phase '
            '(the input of gis-service scaleup schedule)'
    )


def downgrade() -> None:
    op.drop_table('scaleup_desludging_flow')
