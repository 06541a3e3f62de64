"""Households per village kept in a table, so the ``households_by_village`` layer no longer counts a
million households for every page and tile (662 ms a page at province size). The table is
refreshed by every household import (``gis_service.db.household_counts``); the layer's view keeps
its columns and types.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 05:40:00
"""
from typing import Sequence, Union

from alembic import op

import sqlalchemy as sa

revision: str = '0016'
down_revision: Union[str, None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

RUNGS = ("aman", "layak_sendiri", "layak_bersama", "belum_layak", "babs")
COUNTED = """
    SELECT village_code, count(*) AS households, sum(members) AS people_recorded,
           {rungs}
    FROM household WHERE village_code IS NOT NULL GROUP BY village_code"""
VIEW_BEFORE = """
    SELECT a.code, a.name, count(h.id) AS households, sum(h.members) AS people_recorded,
           {rungs}, a.geom
    FROM admin_area a LEFT JOIN household h ON h.village_code = a.code
    WHERE a.level = 'village' GROUP BY a.code, a.name, a.geom"""
VIEW_AFTER = """
    SELECT a.code, a.name, coalesce(c.households, 0) AS households, c.people_recorded,
           {rungs}, a.geom
    FROM admin_area a LEFT JOIN household_village_count c ON c.village_code = a.code
    WHERE a.level = 'village'"""


def upgrade() -> None:
    op.create_table(
        'household_village_count',
        sa.Column('village_code', sa.Text(), nullable=False),
        sa.Column('households', sa.BigInteger(), nullable=False),
        sa.Column('people_recorded', sa.BigInteger(), nullable=True, comment='Sum of the recorded household members'),
        *[sa.Column(rung, sa.BigInteger(), nullable=False) for rung in RUNGS],
        sa.PrimaryKeyConstraint('village_code', name=op.f('pk_household_village_count')),
        comment='Households and their surveyed ladder rung per village code, refreshed by every household '
                'import (the households_by_village layer)')
    rungs = ", ".join(f"count(*) FILTER (WHERE ladder_rung = '{r}') AS {r}" for r in RUNGS)
    op.execute(f"INSERT INTO household_village_count {COUNTED.format(rungs=rungs)}")
    op.execute("CREATE OR REPLACE VIEW layer_household_village AS " + VIEW_AFTER.format(
        rungs=", ".join(f"coalesce(c.{r}, 0) AS {r}" for r in RUNGS)))


def downgrade() -> None:
    op.execute("CREATE OR REPLACE VIEW layer_household_village AS " + VIEW_BEFORE.format(
        rungs=", ".join(f"count(*) FILTER (WHERE h.ladder_rung = '{r}') AS {r}" for r in RUNGS)))
    op.drop_table('household_village_count')
